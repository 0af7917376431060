"""Tests of the module 10 decision: triage of drift incidents.

The grading data comes from the rubric file in ``solutions/m10/rubrics/``. The correct
answers come from executing the solution notebook's cells for a given learner, so the tests
also prove that the notebook's solution code is right for every learner's incidents.
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
MODULE_DIR = REPO / "solutions" / "m10"
POINTS = {"m10.drift_triage": 5}
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

    assert rubric_problems(REPO, "m10", name, code_cells()[f"{name}_tests"]) == []


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



# --- Drift triage -----------------------------------------------------------------------------------

INCIDENTS = ("incident_1", "incident_2", "incident_3", "incident_4")
ADA_INCIDENTS = {
    "i1_feature": "delivery_km", "i1_psi": 0.797, "i1_accuracy_drop": 4.5,
    "i1_null_pct": 0.5, "i1_out_of_range_pct": 0.8, "i1_change": "nothing",
    "i2_feature": "device_type", "i2_psi": 0.035, "i2_accuracy_drop": 5.8,
    "i2_null_pct": 0.7, "i2_out_of_range_pct": 0.3, "i2_change": "nothing",
    "i3_feature": "session_minutes", "i3_psi": 2.667, "i3_accuracy_drop": 14.7,
    "i3_null_pct": 60.0, "i3_out_of_range_pct": 0.1, "i3_change": "upstream schema change",
    "i4_feature": "basket_value", "i4_psi": 0.011, "i4_accuracy_drop": 6.0,
    "i4_null_pct": 0.1, "i4_out_of_range_pct": 0.4, "i4_change": "nothing",
}
ADA_TRIAGE = {
    "psi_level": {"incident_1": "significant", "incident_2": "little", "incident_3": "significant", "incident_4": "little"},
    "kind": {"incident_1": "covariate drift", "incident_2": "concept drift",
             "incident_3": "data-quality bug", "incident_4": "concept drift"},
    "action": {"incident_1": "retrain", "incident_2": "retrain", "incident_3": "fix the pipeline", "incident_4": "retrain"},
}
TRIAGE_TYPE = ("a dict mapping one of 'incident_1', 'incident_2', 'incident_3', 'incident_4' to one of "
               "'covariate drift', 'concept drift', 'data-quality bug' (kind of each incident)")


def with_entry(answer: dict, field: str, incident: str, value: str) -> dict:
    return {**answer, field: {**answer[field], incident: value}}


def test_triage_scenario_pinned():
    assert exercise_data("m10.drift_triage", "ada") == ADA_INCIDENTS


def test_triage_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m10.drift_triage")

    assert answer == ADA_TRIAGE
    assert points("m10.drift_triage", answer) == 5


def test_triage_answers_differ_between_learners(as_learner):
    as_learner("barbara")
    barbara = solution_answer("m10.drift_triage")

    assert barbara["action"] == {"incident_1": "retrain", "incident_2": "roll back",
                                 "incident_3": "keep monitoring", "incident_4": "retrain"}
    assert barbara["psi_level"]["incident_3"] == "moderate"
    assert points("m10.drift_triage", barbara) == 5


def test_triage_ada_answer_wrong_for_barbara(as_learner):
    as_learner("barbara")

    assert points("m10.drift_triage", ADA_TRIAGE) == 1.75


def test_triage_scenarios_reach_every_answer(as_learner):
    seen: dict[str, set[str]] = {"psi_level": set(), "kind": set(), "action": set()}
    for learner in MANY_LEARNERS:
        as_learner(learner)
        for field, choices in solution_answer("m10.drift_triage").items():
            seen[field].update(choices.values())

    assert seen == {
        "psi_level": {"little", "moderate", "significant"},
        "kind": {"covariate drift", "concept drift", "data-quality bug"},
        "action": {"retrain", "roll back", "fix the pipeline", "keep monitoring"},
    }


def test_triage_bug_taken_for_drift(as_learner):
    as_learner("ada")
    answer = with_entry(with_entry(ADA_TRIAGE, "kind", "incident_3", "covariate drift"), "action", "incident_3", "retrain")

    result = graded("m10.drift_triage", answer)

    assert points("m10.drift_triage", answer) == 4.0
    assert failures(result) == {
        "kind.incident_3 (0.5 pt)": "session_minutes is null in 60.0 % and out of range in 0.1 % of rows: "
        "broken inputs, a data-quality bug, whatever the PSI says",
        "action.incident_3 (0.5 pt)": "an upstream schema change broke session_minutes: fix the pipeline to read and "
        "validate the new schema, because retraining would learn the bug",
    }


def test_triage_concept_taken_for_covariate(as_learner):
    as_learner("ada")
    answer = with_entry(ADA_TRIAGE, "kind", "incident_2", "covariate drift")

    result = graded("m10.drift_triage", answer)

    assert points("m10.drift_triage", answer) == 4.5
    assert failures(result) == {
        "kind.incident_2 (0.5 pt)": "the inputs are stable (PSI 0.035) but accuracy fell 5.8 points: "
        "the link from inputs to labels changed, concept drift",
    }


def test_triage_psi_level_misread(as_learner):
    as_learner("ada")
    answer = with_entry(ADA_TRIAGE, "psi_level", "incident_1", "moderate")

    result = graded("m10.drift_triage", answer)

    assert points("m10.drift_triage", answer) == 4.75
    assert failures(result) == {"psi_level.incident_1 (0.25 pt)": "a PSI of 0.797 is above 0.25: significant change"}


def test_triage_own_release_and_moderate_drift(as_learner):
    as_learner("barbara")
    barbara = solution_answer("m10.drift_triage")
    answer = with_entry(with_entry(barbara, "action", "incident_2", "fix the pipeline"), "action", "incident_3", "retrain")

    result = graded("m10.drift_triage", answer)

    assert points("m10.drift_triage", answer) == 4.0
    assert failures(result) == {
        "action.incident_2 (0.5 pt)": "our own pipeline release broke store_region: rolling it back restores valid "
        "inputs fastest, then fix it before releasing again",
        "action.incident_3 (0.5 pt)": "moderate drift (PSI 0.216) that costs only 2.2 points of accuracy: keep monitoring",
    }


def test_triage_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    answer = {
        "psi_level": dict.fromkeys(INCIDENTS, "moderate"),
        "kind": {"incident_1": "concept drift", "incident_2": "data-quality bug",
                 "incident_3": "covariate drift", "incident_4": "covariate drift"},
        "action": dict.fromkeys(INCIDENTS, "keep monitoring"),
    }

    assert points("m10.drift_triage", answer) == 0
    assert len(graded("m10.drift_triage", answer).messages) == 12


def test_triage_unknown_kind():
    answer = with_entry(ADA_TRIAGE, "kind", "incident_1", "label shift")

    assert check("m10.drift_triage", answer).messages == [
        "field `kind`: invalid value {'incident_1': 'label shift', 'incident_2': 'concept drift', "
        "'incident_3': 'data-quality bug', 'incident_4': 'concept drift'} for `kind`; "
        f"`kind` takes {TRIAGE_TYPE}"
    ]


def test_triage_kind_as_list():
    answer = {**ADA_TRIAGE, "kind": ["covariate drift"]}

    assert check("m10.drift_triage", answer).messages == [
        "field `kind`: invalid value ['covariate drift'] for `kind`: Input should be a valid dictionary; "
        f"`kind` takes {TRIAGE_TYPE}"
    ]


def test_triage_missing_and_unknown_fields():
    answer = {key: value for key, value in ADA_TRIAGE.items() if key != "action"}

    assert check("m10.drift_triage", {**answer, "actions": {}}).messages == [
        "answer is a dict of the listed keys: unknown key(s) ['actions']; the allowed keys are psi_level, kind, action",
        "field `action`: missing key `action`; `action` takes a dict mapping one of 'incident_1', 'incident_2', "
        "'incident_3', 'incident_4' to one of 'retrain', 'roll back', 'fix the pipeline', 'keep monitoring' "
        "(action for each incident)",
    ]


def test_triage_missing_incident_graded(as_learner):
    as_learner("ada")
    kind = {incident: value for incident, value in ADA_TRIAGE["kind"].items() if incident != "incident_4"}

    assert failures(graded("m10.drift_triage", {**ADA_TRIAGE, "kind": kind})) == {
        "kind.incident_4 (0.5 pt)": "missing entry `incident_4` in `kind`",
    }
