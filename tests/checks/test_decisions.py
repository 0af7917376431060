"""Tests of decision checks: rubric parsing, form validation and rubric grading."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from autograder.checks.core import run_groups
from autograder.checks.decisions import Criterion, describe_type, form_groups, parse_rubric, rubric_groups

FIX_RUBRIC = "; fix the rubric file$"
ALLOWED_KEYS = "task, budget, stages, produces, owner"


class Plan(BaseModel):
    task: Literal["regression", "classification"]
    budget: int = Field(description="dollars per month")
    stages: list[Literal["train", "deploy", "monitor"]]
    produces: dict[Literal["train", "deploy"], Literal["job", "endpoint"]]
    owner: str


GOOD_PLAN = {
    "task": "regression",
    "budget": 200,
    "stages": ["train", "deploy", "monitor"],
    "produces": {"train": "job", "deploy": "endpoint"},
    "owner": "Data Team",
}

RUBRIC = """
criteria:
  - field: task
    expected: regression
    points: 2
    reason: "a fare is a continuous amount, so the task is regression"
  - field: stages
    expected: [train, deploy, monitor]
    points: 1
    reason: "train before you deploy, and monitor what is deployed"
  - field: produces.deploy
    expected: endpoint
    points: 0.5
    reason: "a deployment serves predictions from an endpoint"
  - field: owner
    expected: data team
    points: 0.5
    reason: "the data team owns the model"
"""


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def grade_plan(answer, rubric: str = RUBRIC):
    return run_groups("ex.plan", rubric_groups(Plan, parse_rubric(rubric)), answer)


def check_plan(answer):
    return run_groups("ex.plan", form_groups(Plan), answer)


def with_fields(**changes):
    return {**GOOD_PLAN, **changes}


def one_criterion(field: str, expected: str, match: str = "exact") -> str:
    return f"criteria:\n  - field: {field}\n    expected: {expected}\n    points: 1\n    reason: r\n    match: {match}\n"


# --- parse_rubric ---------------------------------------------------------------------------


def test_parse_rubric_reads_criteria():
    rubric = parse_rubric(RUBRIC)

    assert [c.field for c in rubric.criteria] == ["task", "stages", "produces.deploy", "owner"]
    assert [c.points for c in rubric.criteria] == [2, 1, 0.5, 0.5]
    assert rubric.criteria[1].expected == ["train", "deploy", "monitor"]


def test_parse_rubric_match_defaults_to_exact():
    assert parse_rubric(RUBRIC).criteria[0].match == "exact"


def test_parse_rubric_invalid_yaml():
    with pytest.raises(ValueError, match=r"(?s)^invalid rubric YAML: while parsing a flow node\n.*line 1, column 12:.*" + FIX_RUBRIC):
        parse_rubric("criteria: [")


def test_parse_rubric_invalid_yaml_keeps_cause():
    with pytest.raises(ValueError) as caught:
        parse_rubric("criteria: [")

    assert type(caught.value.__cause__).__name__ == "ParserError"


def test_parse_rubric_unknown_key():
    text = "criteria:\n  - field: task\n    expected: regression\n    points: 1\n    reason: r\n    weight: 2\n"

    with pytest.raises(ValueError, match=r"(?s)^invalid rubric YAML: .*\ncriteria\.0\.weight\n  Extra inputs are not permitted .*" + FIX_RUBRIC):
        parse_rubric(text)


def test_parse_rubric_missing_points():
    text = "criteria:\n  - field: task\n    expected: regression\n    reason: r\n"

    with pytest.raises(ValueError, match=r"(?s)^invalid rubric YAML: .*\ncriteria\.0\.points\n  Field required .*" + FIX_RUBRIC):
        parse_rubric(text)


def test_parse_rubric_zero_points():
    text = "criteria:\n  - field: task\n    expected: regression\n    points: 0\n    reason: r\n"

    with pytest.raises(ValueError, match=r"(?s)\ncriteria\.0\.points\n  Input should be greater than 0 "):
        parse_rubric(text)


def test_parse_rubric_unknown_match():
    with pytest.raises(ValueError, match=r"(?s)\ncriteria\.0\.match\n  Input should be 'exact', 'set', 'order' or 'number' "):
        parse_rubric(one_criterion("task", "regression", match="fuzzy"))


def test_parse_rubric_no_criteria():
    with pytest.raises(ValueError, match=r"(?s)\ncriteria\n  List should have at least 1 item after validation, not 0 "):
        parse_rubric("criteria: []")


def test_parse_rubric_not_a_mapping():
    with pytest.raises(ValueError, match=r"(?s)^invalid rubric YAML: .*Input should be a valid dictionary or instance of Rubric "):
        parse_rubric("- task")


# --- form_groups ----------------------------------------------------------------------------


def test_form_groups_names():
    names = [group.name for group in form_groups(Plan)]

    assert names == [
        "answer is a dict of the listed keys",
        "field `task`",
        "field `budget`",
        "field `stages`",
        "field `produces`",
        "field `owner`",
    ]


def test_form_groups_accept_good_answer():
    result = check_plan(GOOD_PLAN)

    assert result.passed is True


def test_form_groups_wrong_literal():
    result = check_plan(with_fields(task="clustering"))

    assert result.messages == [
        "field `task`: invalid value 'clustering' for `task`; "
        "`task` takes one of 'regression', 'classification'"
    ]


def test_form_groups_wrong_type_names_description():
    result = check_plan(with_fields(budget="lots"))

    assert result.messages == [
        "field `budget`: invalid value 'lots' for `budget`: Input should be a valid integer, unable to parse string as an integer; "
        "`budget` takes an integer (dollars per month)"
    ]


def test_form_groups_wrong_list_item():
    result = check_plan(with_fields(stages=["train", "test"]))

    assert result.messages == [
        "field `stages`: invalid value ['train', 'test'] for `stages`; "
        "`stages` takes a list of one of 'train', 'deploy', 'monitor'"
    ]


def test_form_groups_wrong_dict_value():
    result = check_plan(with_fields(produces={"train": "job", "deploy": 3}))

    assert result.messages == [
        "field `produces`: invalid value {'train': 'job', 'deploy': 3} for `produces`; "
        "`produces` takes a dict mapping one of 'train', 'deploy' to one of 'job', 'endpoint'"
    ]


def test_form_groups_missing_field():
    answer = dict(GOOD_PLAN)
    del answer["task"]

    result = check_plan(answer)

    assert result.messages == ["field `task`: missing key `task`; `task` takes one of 'regression', 'classification'"]


def test_form_groups_unknown_field():
    result = check_plan(with_fields(colour="blue"))

    assert result.messages == [f"answer is a dict of the listed keys: unknown key(s) ['colour']; the allowed keys are {ALLOWED_KEYS}"]


def test_form_groups_not_a_dict():
    result = check_plan(["regression"])

    assert result.score == 0.0
    assert result.messages[0] == f"answer is a dict of the listed keys: expected a dict with keys {ALLOWED_KEYS}, got list"
    assert result.messages[1] == f"field `task`: expected a dict with keys {ALLOWED_KEYS}, got list"


def test_form_groups_wrong_field_fails_one():
    result = check_plan(with_fields(task="clustering"))

    assert [outcome.passed for outcome in result.outcomes] == [True, False, True, True, True, True]


def test_form_groups_report_has_no_traceback():
    answer = {"task": 3, "budget": None, "stages": "train", "produces": ["job"], "colour": object()}

    report = check_plan(answer).report()

    assert "Traceback" not in report
    assert "your code raised" not in report


# --- describe_type --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "description"),
    [
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (bool, "True or False"),
        (Literal["L1", "L2"], "one of 'L1', 'L2'"),
        (list[str], "a list of a string"),
        (dict[str, int], "a dict mapping a string to an integer"),
        (Plan, f"a dict with keys {ALLOWED_KEYS}"),
    ],
)
def test_describe_type(annotation, description):
    assert describe_type(annotation) == description


# --- rubric_groups --------------------------------------------------------------------------


def test_rubric_groups_names_and_weights():
    groups = rubric_groups(Plan, parse_rubric(RUBRIC))

    assert [group.name for group in groups] == ["task (2 pt)", "stages (1 pt)", "produces.deploy (0.5 pt)", "owner (0.5 pt)"]
    assert [group.weight for group in groups] == [2, 1, 0.5, 0.5]


def test_rubric_groups_full_credit():
    result = grade_plan(GOOD_PLAN)

    assert result.score == 1.0
    assert result.messages == []


def test_rubric_groups_half_credit():
    # task is worth 2 of the 4 points.
    result = grade_plan(with_fields(task="classification"))

    assert result.score == 0.5
    assert result.messages == ["task (2 pt): a fare is a continuous amount, so the task is regression"]


def test_rubric_groups_partial_credit_sums_weights():
    result = grade_plan(with_fields(stages=["deploy", "train", "monitor"], owner="ops"))

    assert result.score == pytest.approx(2.5 / 4)
    assert result.messages == [
        "stages (1 pt): train before you deploy, and monitor what is deployed",
        "owner (0.5 pt): the data team owns the model",
    ]


def test_rubric_groups_string_case_and_spaces_ignored():
    result = grade_plan(with_fields(owner="  DATA team "))

    assert result.score == 1.0


def test_rubric_groups_invalid_field_fails_its_criteria_only():
    result = grade_plan(with_fields(task="clustering"))

    assert result.score == 0.5
    assert result.messages == [
        "task (2 pt): invalid value 'clustering' for `task`; "
        "`task` takes one of 'regression', 'classification'"
    ]


def test_rubric_groups_missing_field():
    answer = dict(GOOD_PLAN)
    del answer["owner"]

    result = grade_plan(answer)

    assert result.messages == ["owner (0.5 pt): missing key `owner`; `owner` takes a string"]


def test_rubric_groups_dotted_path():
    result = grade_plan(with_fields(produces={"train": "job", "deploy": "job"}))

    assert result.score == pytest.approx(3.5 / 4)
    assert result.messages == ["produces.deploy (0.5 pt): a deployment serves predictions from an endpoint"]


def test_rubric_groups_dotted_path_missing_entry():
    result = grade_plan(with_fields(produces={"train": "job"}))

    assert result.messages == ["produces.deploy (0.5 pt): missing entry `deploy` in `produces`"]


def test_rubric_groups_dotted_path_with_spaces():
    class Stages(BaseModel):
        produces: dict[str, str]

    rubric = parse_rubric(one_criterion("produces.data preparation", "Data asset"))

    result = run_groups("ex.stages", rubric_groups(Stages, rubric), {"produces": {"data preparation": "data asset"}})

    assert result.score == 1.0


def test_rubric_groups_exact_match_keeps_order():
    result = grade_plan(with_fields(stages=["monitor", "train", "deploy"]))

    assert result.messages == ["stages (1 pt): train before you deploy, and monitor what is deployed"]


def test_rubric_groups_set_match_ignores_order():
    rubric = one_criterion("stages", "[train, deploy, monitor]", match="set")

    result = grade_plan(with_fields(stages=["monitor", "train", "deploy"]), rubric)

    assert result.score == 1.0


def test_rubric_groups_set_match_missing_item():
    rubric = one_criterion("stages", "[train, deploy, monitor]", match="set")

    result = grade_plan(with_fields(stages=["train", "deploy"]), rubric)

    assert result.messages == ["stages (1 pt): partly right (67%): r"]
    assert result.score == pytest.approx(2 / 3)


def test_rubric_groups_set_match_extra_item():
    rubric = one_criterion("stages", "[train, deploy]", match="set")

    result = grade_plan(with_fields(stages=["train", "deploy", "monitor"]), rubric)

    assert result.score == pytest.approx(2 / 3)


def test_rubric_groups_set_match_single_value():
    rubric = one_criterion("task", "[Regression]", match="set")

    result = grade_plan(GOOD_PLAN, rubric)

    assert result.score == 1.0


def test_criterion_rejects_negative_points():
    with pytest.raises(ValueError, match="greater than 0"):
        Criterion(field="task", expected="regression", points=-1, reason="r")
