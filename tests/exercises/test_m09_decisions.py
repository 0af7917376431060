"""Tests of the module 09 decisions: the promotion gate, the canary schedule with its rollback
trigger, and MLOps maturity levels.

The grading data comes from the rubric files in ``solutions/m09/rubrics/``. The correct
answers come from executing the solution notebook's cells for a given learner, so the tests
also prove that the notebook's solution code is right for every learner's numbers.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.authoring import rubric_problems
from autograder.checks.core import CheckResult, run_groups
from autograder.checks.rubrics import parse_rubric
from autograder.exercises import exercise_data, get_exercise
from autograder.learner import check, grade

REPO = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO / "solutions" / "m09"
POINTS = {"m09.promotion_gate": 4, "m09.rollback_plan": 4, "m09.maturity": 4}
MANY_LEARNERS = [f"learner-{i}" for i in range(60)]


@functools.cache
def code_cells() -> dict[str, str]:
    notebook = nbformat.read(MODULE_DIR / "decisions.ipynb", as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells if cell.cell_type == "code"}


def rubric(exercise_id: str) -> str:
    return (MODULE_DIR / "rubrics" / f"{exercise_id.split('.')[1]}.yaml").read_text(encoding="utf-8")


def solution_answer(exercise_id: str) -> Any:
    """Run the notebook's setup, data and solution cells for the current learner and return the answer."""
    name = exercise_id.split(".")[1]
    cells = code_cells()
    variable = ast.parse(cells[f"{name}_check"]).body[0].value.args[1].id
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for grade_id in ("setup", f"{name}_data", f"{name}_solution"):
            if grade_id in cells:
                exec(cells[grade_id], namespace)
    return namespace[variable]


def graded(exercise_id: str, answer: Any) -> CheckResult:
    groups = get_exercise(exercise_id).graded_groups(rubric=rubric(exercise_id))
    return run_groups(exercise_id, groups, answer)


def failures(result: CheckResult) -> dict[str, str]:
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


def points(exercise_id: str, answer: Any) -> float:
    return grade(exercise_id, answer, points=POINTS[exercise_id], rubric=rubric(exercise_id))


@pytest.fixture
def as_learner(monkeypatch: pytest.MonkeyPatch):
    def use(learner: str) -> None:
        monkeypatch.setenv("AZML_LEARNER_ID", learner)

    return use


# --- Notebook and rubric files -------------------------------------------------------------------


@pytest.mark.parametrize("exercise_id", POINTS)
def test_hidden_cell_rubric_matches_file(exercise_id):
    name = exercise_id.split(".")[1]

    assert rubric_problems(REPO, "m09", name, code_cells()[f"{name}_tests"]) == []


@pytest.mark.parametrize("exercise_id", POINTS)
def test_points_agree(exercise_id):
    name = exercise_id.split(".")[1]
    notebook = nbformat.read(MODULE_DIR / "decisions.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")
    call = next(node for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "grade")
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}

    assert keywords["points"] == POINTS[exercise_id]
    assert cell.metadata["nbgrader"]["points"] == POINTS[exercise_id]
    assert parse_rubric(rubric(exercise_id)).points == POINTS[exercise_id]


@pytest.mark.parametrize("exercise_id", POINTS)
def test_solution_passes_check(exercise_id, as_learner):
    as_learner("ada")

    result = check(exercise_id, solution_answer(exercise_id))

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", POINTS)
def test_solution_full_marks_every_learner(exercise_id, as_learner):
    for learner in MANY_LEARNERS:
        as_learner(learner)

        assert points(exercise_id, solution_answer(exercise_id)) == POINTS[exercise_id], learner


@pytest.mark.parametrize("exercise_id", POINTS)
def test_template_fails_check_without_traceback(exercise_id, as_learner):
    as_learner("ada")
    template = ast.literal_eval(code_cells()[f"{exercise_id.split('.')[1]}_solution"].split("### BEGIN SOLUTION")[0].split("=", 1)[1])

    report = check(exercise_id, template).report()

    assert "not passed yet" in report
    assert "Traceback" not in report
    assert "your code raised" not in report



# --- Promotion gate --------------------------------------------------------------------------------

ADA_GATE = {"champion_auc": 0.835, "challenger_auc": 0.849, "canary_pct": 20,
            "canary_requests": 3554, "canary_errors": 89, "canary_p95_ms": 130}
ADA_PROMOTION = {
    "rules": {"offline margin": "pass", "canary error rate": "fail", "canary p95 latency": "pass", "canary sample size": "fail"},
    "decision": "keep champion",
    "green_traffic_pct": 0,
}
KEEP_REASON = "a hard rule failed (margin, error rate or latency), which more canary time cannot fix: blue keeps all traffic"


def test_gate_scenario_pinned():
    assert exercise_data("m09.promotion_gate", "ada") == ADA_GATE


def test_gate_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m09.promotion_gate")

    assert answer == ADA_PROMOTION
    assert points("m09.promotion_gate", answer) == 4


@pytest.mark.parametrize(
    ("learner", "decision", "traffic"),
    [("grace", "promote", 100), ("barbara", "extend the canary", 5), ("alan", "keep champion", 0)],
)
def test_gate_answers_differ_between_learners(as_learner, learner, decision, traffic):
    as_learner(learner)
    answer = solution_answer("m09.promotion_gate")

    assert (answer["decision"], answer["green_traffic_pct"]) == (decision, traffic)
    assert points("m09.promotion_gate", answer) == 4


def test_gate_small_sample_outranks_errors(as_learner):
    as_learner("ada")
    answer = {**ADA_PROMOTION, "decision": "extend the canary", "green_traffic_pct": 20}

    result = graded("m09.promotion_gate", answer)

    assert points("m09.promotion_gate", answer) == 2.0
    assert failures(result) == {
        "decision (1.5 pt)": KEEP_REASON,
        "green_traffic_pct (0.5 pt)": "keeping the champion sends all traffic back to blue, so green gets 0 %",
    }


def test_gate_error_rate_misread(as_learner):
    as_learner("ada")
    answer = {**ADA_PROMOTION, "rules": {**ADA_PROMOTION["rules"], "canary error rate": "pass"}}

    result = graded("m09.promotion_gate", answer)

    assert points("m09.promotion_gate", answer) == 3.5
    assert failures(result) == {"rules.canary error rate (0.5 pt)": "89 errors in 3,554 requests is a rate above the 0.5 % budget"}


def test_gate_extend_keeps_current_share(as_learner):
    as_learner("barbara")
    answer = {**solution_answer("m09.promotion_gate"), "green_traffic_pct": 10}

    assert failures(graded("m09.promotion_gate", answer)) == {
        "green_traffic_pct (0.5 pt)": "extending the canary keeps green at its current 5 % while it gathers requests",
    }


def test_gate_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    answer = {
        "rules": {"offline margin": "fail", "canary error rate": "pass", "canary p95 latency": "fail", "canary sample size": "pass"},
        "decision": "promote",
        "green_traffic_pct": 100,
    }

    assert points("m09.promotion_gate", answer) == 0
    assert len(graded("m09.promotion_gate", answer).messages) == 6


def test_gate_traffic_as_text():
    result = check("m09.promotion_gate", {**ADA_PROMOTION, "green_traffic_pct": "all"})

    assert result.messages == [
        "field `green_traffic_pct`: invalid value 'all' for `green_traffic_pct`: Input should be a valid integer, "
        "unable to parse string as an integer; `green_traffic_pct` takes an integer (percent of live traffic on green after the decision)"
    ]


def test_gate_missing_and_unknown_fields():
    answer = {key: value for key, value in ADA_PROMOTION.items() if key != "decision"}

    assert check("m09.promotion_gate", {**answer, "verdict": "promote"}).messages == [
        "answer is a dict of the listed keys: unknown key(s) ['verdict']; the allowed keys are rules, decision, green_traffic_pct",
        "field `decision`: missing key `decision`; `decision` takes one of 'promote', 'keep champion', 'extend the canary'",
    ]


# --- Rollback plan ---------------------------------------------------------------------------------

ADA_ROLLOUT = {"requests_per_hour": 49_700, "min_step_requests": 3_000, "slo": "p95 latency", "slo_target": 500}
ADA_PLAN = {
    "steps": {"step_1": {"blue": 90, "green": 10}, "step_2": {"blue": 50, "green": 50}, "step_3": {"blue": 0, "green": 100}},
    "rollback_signal": "green p95 latency",
    "rollback_threshold": 500,
    "rollback_traffic": {"blue": 100, "green": 0},
}
STEP_ONE_REASON = "5 % of 49,700 requests an hour is fewer than 3,000 and 10 % is enough: blue 90, green 10"


def test_rollout_scenario_pinned():
    assert exercise_data("m09.rollback_plan", "ada") == ADA_ROLLOUT


def test_rollout_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m09.rollback_plan")

    assert answer == ADA_PLAN
    assert points("m09.rollback_plan", answer) == 4


def test_rollout_answers_differ_between_learners(as_learner):
    as_learner("edsger")
    edsger = solution_answer("m09.rollback_plan")

    assert edsger["steps"]["step_1"] == {"blue": 95, "green": 5}
    assert (edsger["rollback_signal"], edsger["rollback_threshold"]) == ("green 5xx error rate", 0.2)
    assert points("m09.rollback_plan", edsger) == 4


def test_rollout_largest_canary_for_grace(as_learner):
    as_learner("grace")

    assert solution_answer("m09.rollback_plan")["steps"]["step_1"] == {"blue": 75, "green": 25}


def test_rollout_step_without_blue(as_learner):
    as_learner("ada")
    answer = {**ADA_PLAN, "steps": {**ADA_PLAN["steps"], "step_1": {"green": 10}}}

    result = graded("m09.rollback_plan", answer)

    assert points("m09.rollback_plan", answer) == 3.0
    assert failures(result) == {"steps.step_1 (1 pt)": STEP_ONE_REASON}


def test_rollout_endpoint_wide_signal(as_learner):
    as_learner("ada")
    answer = {**ADA_PLAN, "rollback_signal": "endpoint p95 latency", "rollback_threshold": 450}

    result = graded("m09.rollback_plan", answer)

    assert points("m09.rollback_plan", answer) == 2.5
    assert failures(result) == {
        "rollback_signal (1 pt)": "the SLO is a p95 latency, measured on green alone so that blue's fast replies cannot hide a slow canary",
        "rollback_threshold (0.5 pt)": "the objective is a p95 of at most 500 ms: roll back when green is slower",
    }


def test_rollout_error_budget_threshold(as_learner):
    as_learner("edsger")
    answer = {**solution_answer("m09.rollback_plan"), "rollback_threshold": 99.8}

    assert failures(graded("m09.rollback_plan", answer)) == {
        "rollback_threshold (0.5 pt)": "a 99.8 % success objective leaves an error budget of 0.2 %: roll back when green fails more",
    }


def test_rollout_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    answer = {
        "steps": {"step_1": {"blue": 50, "green": 50}, "step_2": {"blue": 0, "green": 100}, "step_3": {"blue": 100, "green": 0}},
        "rollback_signal": "green CPU utilisation",
        "rollback_threshold": 80,
        "rollback_traffic": {"blue": 50, "green": 50},
    }

    assert points("m09.rollback_plan", answer) == 0
    assert len(graded("m09.rollback_plan", answer).messages) == 6


def test_rollout_step_as_number():
    answer = {**ADA_PLAN, "steps": {**ADA_PLAN["steps"], "step_1": 10}}

    assert check("m09.rollback_plan", answer).messages == [
        "field `steps`: invalid value {'step_1': 10, 'step_2': {'blue': 50, 'green': 50}, 'step_3': {'blue': 0, 'green': 100}} "
        "for `steps`: Input should be a valid dictionary; `steps` takes a dict mapping one of 'step_1', 'step_2', 'step_3' "
        "to a dict mapping one of 'blue', 'green' to an integer (percent of live traffic on each deployment at each step)"
    ]


def test_rollout_missing_and_unknown_fields():
    answer = {key: value for key, value in ADA_PLAN.items() if key != "rollback_traffic"}

    assert check("m09.rollback_plan", {**answer, "rollback": {"blue": 100}}).messages == [
        "answer is a dict of the listed keys: unknown key(s) ['rollback']; the allowed keys are steps, rollback_signal, "
        "rollback_threshold, rollback_traffic",
        "field `rollback_traffic`: missing key `rollback_traffic`; `rollback_traffic` takes a dict mapping one of 'blue', "
        "'green' to an integer (percent of live traffic on each deployment after a rollback)",
    ]


# --- Maturity ---------------------------------------------------------------------------------------

MATURITY = {
    "level": {"ledger": 0, "parcel": 1, "harbor": 2, "meadow": 3, "summit": 4, "quarry": 2},
    "next_step_for_harbor": "deploy each registered model with a release pipeline, tests and an approval",
}


def test_maturity_solution(as_learner):
    as_learner("ada")
    answer = solution_answer("m09.maturity")

    assert answer == MATURITY
    assert points("m09.maturity", answer) == 4


def test_maturity_dashboard_is_no_trigger():
    answer = {**MATURITY, "level": {**MATURITY["level"], "quarry": 4}}

    result = graded("m09.maturity", answer)

    assert points("m09.maturity", answer) == 3.5
    assert failures(result) == {
        "level.quarry (0.5 pt)": "a dashboard someone reads is no retraining trigger, and deployment is manual: "
        "automated training only, level 2",
    }


def test_maturity_skipped_level():
    answer = {**MATURITY, "next_step_for_harbor": "trigger retraining from drift alerts and promote by policy"}

    result = graded("m09.maturity", answer)

    assert points("m09.maturity", answer) == 3.0
    assert failures(result) == {
        "next_step_for_harbor (1 pt)": "harbor's gap to level 3 is its manual deployment, "
        "which a release pipeline with tests and an approval closes",
    }


def test_maturity_all_wrong_scores_zero():
    answer = {
        "level": {"ledger": 1, "parcel": 2, "harbor": 3, "meadow": 4, "summit": 3, "quarry": 3},
        "next_step_for_harbor": "put the scoring code in Git with a CI pipeline",
    }

    assert points("m09.maturity", answer) == 0
    assert len(graded("m09.maturity", answer).messages) == 7


def test_maturity_level_as_text():
    answer = {**MATURITY, "level": {**MATURITY["level"], "ledger": "0"}}

    assert check("m09.maturity", answer).messages == [
        "field `level`: invalid value {'ledger': '0', 'parcel': 1, 'harbor': 2, 'meadow': 3, 'summit': 4, 'quarry': 2} "
        "for `level`; `level` takes a dict mapping one of 'ledger', 'parcel', 'harbor', "
        "'meadow', 'summit', 'quarry' to one of 0, 1, 2, 3, 4 (maturity level of each team)"
    ]


def test_maturity_missing_team_graded():
    level = {team: value for team, value in MATURITY["level"].items() if team != "summit"}

    assert failures(graded("m09.maturity", {**MATURITY, "level": level})) == {
        "level.summit (0.5 pt)": "missing entry `summit` in `level`",
    }
