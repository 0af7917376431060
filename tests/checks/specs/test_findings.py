"""Tests of findings, their paths and lines, and the catalogue of codes and its documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder.checks.specs import CODES, TEACHING_RULES
from autograder.checks.specs.findings import Finding, format_path, has_errors, make_finding

DOCS = Path(__file__).resolve().parents[3] / "docs" / "spec-codes.md"


@pytest.mark.parametrize(
    ("parts", "path"),
    [((), ""), (("traffic", "blue"), "traffic.blue"), (("alert_notification", "emails", 0), "alert_notification.emails[0]"), ((0, "name"), "[0].name")],
)
def test_format_path(parts, path):
    assert format_path(parts) == path


def test_line_of_nearest_parent():
    lines = {("jobs",): 10, ("jobs", "train"): 12}

    finding = make_finding("AML063", ("jobs", "train", "inputs", "trips"), "message", "fix", lines)

    assert (finding.path, finding.line) == ("jobs.train.inputs.trips", 12)


def test_no_line_for_missing_top_level_field():
    assert make_finding("AML010", ("endpoint_name",), "message", "fix", {("name",): 2}).line is None


def test_severity_from_catalogue():
    assert make_finding("AML070", (), "m", "f").severity == "warning"
    assert make_finding("AML040", (), "m", "f").severity == "error"


def test_finding_text_and_dict():
    finding = Finding("AML040", "error", "traffic", "traffic totals 90 %", "add up to 100", 7)

    assert str(finding) == "line 7: traffic: AML040 error: traffic totals 90 % Fix: add up to 100"
    assert finding.to_dict() == {
        "code": "AML040",
        "severity": "error",
        "path": "traffic",
        "message": "traffic totals 90 %",
        "fix": "add up to 100",
        "line": 7,
    }


def test_has_errors():
    warning = make_finding("AML021", ("$schema",), "m", "f")

    assert not has_errors([warning])
    assert has_errors([warning, make_finding("AML010", ("name",), "m", "f")])


def test_codes_well_formed():
    for code, info in CODES.items():
        assert re.fullmatch(r"AML\d{3}", code)
        assert info.code == code
        assert info.severity in ("error", "warning")


def test_teaching_rules_have_teaching_codes():
    for name, rule in TEACHING_RULES.items():
        assert CODES[rule.code].layer == "teaching"
        assert CODES[rule.code].summary.startswith(f"`{name}`")


def test_every_code_documented():
    documented = dict(re.findall(r"^\| (AML\d{3}) \| (error|warning) \|", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))

    assert documented == {code: info.severity for code, info in CODES.items()}


def test_every_teaching_rule_documented():
    text = DOCS.read_text(encoding="utf-8")

    for name, rule in TEACHING_RULES.items():
        assert f"| {rule.code} | error | `{name}` |" in text
