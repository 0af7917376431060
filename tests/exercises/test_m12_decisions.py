"""Tests of the module 12 decision: the capstone's written-up release decision.

The grading data comes from the rubric file in ``solutions/m12/rubrics/``. The correct
answers come from executing the solution notebook's cells for a given learner, so the tests
also prove that the notebook's solution code is right for every learner's situation.
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
MODULE_DIR = REPO / "solutions" / "m12"
POINTS = {"m12.release_decision": 5}
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

    assert rubric_problems(REPO, "m12", name, code_cells()[f"{name}_tests"]) == []


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



# --- Release decision ----------------------------------------------------------------------------------

ADA_SITUATION = {
    "champion_auc": 0.764, "challenger_auc": 0.776, "canary_requests": 3088, "canary_errors": 23,
    "error_budget_pct": 1.0, "max_psi": 0.071, "psi_feature": "region", "null_pct": 0.4,
    "high_findings": 0, "high_finding": "none", "medium_findings": 0,
}
ADA_RELEASE = {
    "decision": "release behind a flag with more canary",
    "blocking_reason": "canary sample too small",
    "rollback_signal": "green 5xx error rate",
    "rollback_threshold_pct": 1.0,
    "monitoring_to_add": ["prediction drift"],
}
SAMPLE_REASON = "every gate holds, but 3,088 canary requests are fewer than the 10,000 the policy needs"
MONITORING_TYPE = ("a list of one of 'data drift', 'prediction drift', 'data quality', 'model performance', "
                   "'CPU utilisation' (model-monitoring signals to add to the endpoint)")


def test_release_scenario_pinned():
    assert exercise_data("m12.release_decision", "ada") == ADA_SITUATION


def test_release_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m12.release_decision")

    assert answer == ADA_RELEASE
    assert points("m12.release_decision", answer) == 5


@pytest.mark.parametrize(
    ("learner", "decision", "blocking_reason"),
    [
        ("edsger", "do not release", "open high-severity security finding"),
        ("bjarne", "do not release", "challenger below the offline margin"),
        ("barbara", "do not release", "canary error rate over budget"),
        ("grace", "release behind a flag with more canary", "significant drift since the evaluation data"),
        ("ada", "release behind a flag with more canary", "canary sample too small"),
        ("donald", "release", "none"),
    ],
)
def test_release_answers_differ_between_learners(as_learner, learner, decision, blocking_reason):
    as_learner(learner)
    answer = solution_answer("m12.release_decision")

    assert (answer["decision"], answer["blocking_reason"]) == (decision, blocking_reason)
    assert points("m12.release_decision", answer) == 5


def test_release_monitoring_differs_between_learners(as_learner):
    as_learner("grace")

    assert solution_answer("m12.release_decision")["monitoring_to_add"] == ["prediction drift", "data drift", "data quality"]


def test_release_ships_too_early(as_learner):
    as_learner("ada")
    answer = {**ADA_RELEASE, "decision": "release", "blocking_reason": "none"}

    result = graded("m12.release_decision", answer)

    assert points("m12.release_decision", answer) == 2.0
    assert failures(result) == {"decision (2 pt)": SAMPLE_REASON, "blocking_reason (1 pt)": SAMPLE_REASON}


def test_release_security_comes_first(as_learner):
    as_learner("edsger")
    answer = {**solution_answer("m12.release_decision"), "decision": "release behind a flag with more canary",
              "blocking_reason": "canary sample too small"}

    result = graded("m12.release_decision", answer)

    reason = ("an open high-severity finding (a storage account key is inlined in the scoring script) "
              "blocks any release until it is fixed")
    assert points("m12.release_decision", answer) == 2.0
    assert failures(result) == {"decision (2 pt)": reason, "blocking_reason (1 pt)": reason}


def test_release_monitoring_half_right(as_learner):
    as_learner("ada")
    answer = {**ADA_RELEASE, "monitoring_to_add": ["prediction drift", "model performance"]}

    result = graded("m12.release_decision", answer)

    assert points("m12.release_decision", answer) == 4.5
    assert failures(result) == {
        "monitoring_to_add (1 pt)": "partly right (50%): prediction drift needs no labels; the inputs do not drift "
        "(PSI 0.071) and the null rate of 0.4 % is normal",
    }


def test_release_endpoint_wide_trigger(as_learner):
    as_learner("ada")
    answer = {**ADA_RELEASE, "rollback_signal": "endpoint 5xx error rate", "rollback_threshold_pct": 0.5}

    result = graded("m12.release_decision", answer)

    assert points("m12.release_decision", answer) == 4.0
    assert failures(result) == {
        "rollback_signal (0.5 pt)": "green's own error rate shows a bad release at once, while the endpoint-wide rate "
        "dilutes it with blue's traffic and AUC waits for labels",
        "rollback_threshold_pct (0.5 pt)": "the error budget is 1.0 %: roll back as soon as green's own 5xx error rate passes it",
    }


def test_release_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    answer = {
        "decision": "do not release",
        "blocking_reason": "open high-severity security finding",
        "rollback_signal": "green AUC on labelled claims",
        "rollback_threshold_pct": 5,
        "monitoring_to_add": ["CPU utilisation"],
    }

    assert points("m12.release_decision", answer) == 0
    assert len(graded("m12.release_decision", answer).messages) == 5


def test_release_threshold_as_text():
    answer = {**ADA_RELEASE, "rollback_threshold_pct": "1 %"}

    assert check("m12.release_decision", answer).messages == [
        "field `rollback_threshold_pct`: invalid value '1 %' for `rollback_threshold_pct`: Input should be a valid number, "
        "unable to parse string as a number; `rollback_threshold_pct` takes a number (rollback threshold of the signal, in %)"
    ]


def test_release_unknown_signal():
    answer = {**ADA_RELEASE, "monitoring_to_add": ["prediction drift", "feature importance"]}

    assert check("m12.release_decision", answer).messages == [
        "field `monitoring_to_add`: invalid value ['prediction drift', 'feature importance'] for `monitoring_to_add`; "
        f"`monitoring_to_add` takes {MONITORING_TYPE}"
    ]


def test_release_missing_and_unknown_fields():
    answer = {key: value for key, value in ADA_RELEASE.items() if key != "blocking_reason"}

    assert check("m12.release_decision", {**answer, "summary": "ship it"}).messages == [
        "answer is a dict of the listed keys: unknown key(s) ['summary']; the allowed keys are decision, blocking_reason, "
        "rollback_signal, rollback_threshold_pct, monitoring_to_add",
        "field `blocking_reason`: missing key `blocking_reason`; `blocking_reason` takes one of 'none', "
        "'open high-severity security finding', 'challenger below the offline margin', 'canary error rate over budget', "
        "'significant drift since the evaluation data', 'canary sample too small' (the first policy rule that fails, or none)",
    ]
