"""Rubric criteria: matching modes, scenario cases and the condition interpreter."""

from __future__ import annotations

import pytest

from autograder.checks.core import PartialCredit
from autograder.checks.rubrics import Criterion, credit, evaluate_condition, grade_value, parse_rubric

SCENARIO = {"latency_ms": 120, "connected": True, "rows_per_night": 40_000_000}

TARGET_RUBRIC = """
criteria:
  - field: target
    points: 2
    cases:
      - when: "not connected"
        expected: edge
        reason: "no network at the site, so the model runs on the device"
      - when: "latency_ms <= 500"
        expected: online
        reason: "a reply within {latency_ms} ms needs an always-on endpoint"
      - expected: batch
        reason: "no latency requirement: score in bulk"
"""


def criterion(match: str, expected, tolerance: float = 0.0) -> Criterion:
    return Criterion(field="f", points=1, match=match, expected=expected, reason="r", tolerance=tolerance)


def test_credit_exact_ignores_case_and_spaces():
    assert credit(" Online ", "online", criterion("exact", "online")) == 1.0


def test_credit_set_jaccard():
    assert credit(["a", "b"], ["a", "b", "c"], criterion("set", [])) == pytest.approx(2 / 3)


def test_credit_order_one_swap():
    expected = ["a", "b", "c", "d"]

    assert credit(["a", "b", "d", "c"], expected, criterion("order", expected)) == pytest.approx(5 / 6)


def test_credit_order_reversed():
    expected = ["a", "b", "c"]

    assert credit(["c", "b", "a"], expected, criterion("order", expected)) == 0.0


def test_credit_number_within_tolerance():
    assert credit(0.665, 0.6667, criterion("number", 0.6667, tolerance=0.005)) == 1.0


def test_credit_number_outside_tolerance():
    assert credit(0.7, 0.6667, criterion("number", 0.6667, tolerance=0.005)) == 0.0


def test_credit_number_not_a_number():
    assert credit("high", 0.6667, criterion("number", 0.6667)) == 0.0


def test_cases_pick_first_true():
    rule = parse_rubric(TARGET_RUBRIC).criteria[0]

    assert rule.resolve(SCENARIO) == ("online", "a reply within 120 ms needs an always-on endpoint")
    assert rule.resolve({**SCENARIO, "connected": False})[0] == "edge"
    assert rule.resolve({**SCENARIO, "latency_ms": 5000})[0] == "batch"


def test_grade_value_returns_reason():
    rule = parse_rubric(TARGET_RUBRIC).criteria[0]

    assert grade_value("online", rule, SCENARIO) == "a reply within 120 ms needs an always-on endpoint"


def test_grade_value_wrong_raises_reason():
    rule = parse_rubric(TARGET_RUBRIC).criteria[0]

    with pytest.raises(AssertionError, match=r"^a reply within 120 ms needs an always-on endpoint$"):
        grade_value("batch", rule, SCENARIO)


def test_grade_value_partial():
    rule = criterion("set", ["a", "b"])

    with pytest.raises(PartialCredit, match=r"^partly right \(50%\): r$") as raised:
        grade_value(["a"], rule, {})
    assert raised.value.fraction == 0.5


def test_criterion_needs_expected_or_cases():
    with pytest.raises(ValueError, match="give `expected` and `reason`, or a list of `cases`"):
        parse_rubric("criteria:\n  - field: f\n    points: 1\n")


def test_criterion_rejects_both():
    text = "criteria:\n  - field: f\n    points: 1\n    expected: a\n    reason: r\n    cases: [{expected: b, reason: s}]\n"

    with pytest.raises(ValueError, match="give either `expected` with `reason`, or `cases`, not both"):
        parse_rubric(text)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("latency_ms <= 200 and connected", True),
        ("latency_ms > 200 or not connected", False),
        ("rows_per_night / 1000 > 1000", True),
        ("100 < latency_ms < 150", True),
        ("'x' in ['x', 'y']", True),
    ],
)
def test_condition_values(expression, value):
    assert evaluate_condition(expression, SCENARIO) is value


@pytest.mark.parametrize("expression", ["__import__('os').system('true')", "latency_ms.bit_length()", "[x for x in 'ab']"])
def test_condition_rejects_code(expression):
    with pytest.raises(ValueError, match=r"^invalid rubric condition "):
        evaluate_condition(expression, SCENARIO)


def test_condition_unknown_name():
    with pytest.raises(ValueError, match=r"unknown scenario name 'volume'; known names: connected, latency_ms, rows_per_night"):
        evaluate_condition("volume > 3", SCENARIO)


def test_condition_allows_min_max():
    assert evaluate_condition("max(latency_ms, 300) == 300 and abs(-2) == 2", SCENARIO) is True
