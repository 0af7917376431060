"""Tests of `azml-course spec check`, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autograder.checks.specs import TEACHING_RULES
from autograder.cli import app

VALID = Path(__file__).resolve().parents[2] / "files" / "specs" / "valid"

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["spec", "check", *map(str, args)])


def test_valid_files_exit_0():
    result = invoke(VALID / "registry.yml", VALID / "managed-online-endpoint.yml")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{VALID / 'registry.yml'} (registry): ok",
        f"{VALID / 'managed-online-endpoint.yml'} (managed online endpoint): ok",
    ]


def test_error_exits_1(spec_files):
    mutated = spec_files.mutate("managed-online-endpoint-rollout.yml", ("set", "traffic", {"blue": 90, "green": 0}))

    result = invoke(VALID / "registry.yml", mutated)

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[1] == f"{mutated} (managed online endpoint): 1 error, 0 warnings"
    assert lines[2] == "  line 10: traffic: AML040 error: traffic totals 90 %; live traffic across deployments must total 0 or 100 %"
    assert lines[3] == "      fix: change the percentages so that they add up to 100"


def test_warning_only_exits_0(spec_files):
    mutated = spec_files.mutate("registry.yml", ("set", "$schema", "https://example.com/registry.json"))

    result = invoke(mutated)

    assert result.exit_code == 0
    assert "0 errors, 1 warning" in result.output


def test_json_lists_findings_per_file(spec_files):
    mutated = spec_files.mutate("managed-online-deployment.yml", ("set", "instance_count", "three"))

    result = invoke("--format", "json", VALID / "registry.yml", mutated)

    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["has_errors"] is True
    assert [entry["file"] for entry in report["files"]] == [str(VALID / "registry.yml"), str(mutated)]
    assert report["files"][0]["findings"] == []
    [finding] = report["files"][1]["findings"]
    assert (finding["code"], finding["path"], finding["line"]) == ("AML012", "instance_count", 11)
    assert report["files"][1]["kind"] == "managed_online_deployment"


def test_missing_file_exits_2(tmp_path):
    result = invoke(VALID / "registry.yml", tmp_path / "gone.yml")

    assert result.exit_code == 2
    assert result.output.strip() == f"error: spec file not found: {tmp_path / 'gone.yml'}"


def test_unreadable_yaml_exits_2(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: fare\ntraffic: [blue\n", encoding="utf-8")

    result = invoke(broken)

    assert result.exit_code == 2
    assert result.output.startswith(f"error: {broken} is not valid YAML:")


@pytest.mark.parametrize(("args", "message"), [(["--format", "xml"], "error: invalid --format 'xml'; use text or json"), (["--rule", "pinned"], "error: unknown teaching rule(s) pinned;")])
def test_invalid_option_exits_2(args, message):
    result = invoke(*args, VALID / "registry.yml")

    assert result.exit_code == 2
    assert result.output.startswith(message)


def test_rule_option(spec_files):
    result = invoke("--rule", "high_availability", "--rule", "probes_and_timeouts", VALID / "managed-online-deployment-inline.yml")

    assert result.exit_code == 1
    assert "AML104 error" in result.output
    assert result.output.count("AML105 error") == 3


def test_endpoint_name_option(spec_files):
    mutated = spec_files.mutate("managed-online-deployment.yml", ("delete", "endpoint_name"))

    assert invoke(mutated).exit_code == 1
    assert invoke("--endpoint-name", "fare-endpoint", mutated).exit_code == 0


def test_help_lists_every_rule():
    result = runner.invoke(app, ["spec", "check", "--help"], env={"COLUMNS": "400"})

    assert result.exit_code == 0
    for name in TEACHING_RULES:
        assert name in result.output
