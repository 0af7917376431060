"""Tests of the module 04 decision: choosing a metric from the costs of the two errors.

The answers come from executing the solution notebook's code cells as a given learner, and the
grading data from the rubric file, which must equal the copy in the hidden-test cell.
"""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.authoring import embedded_rubric
from autograder.checks.core import run_groups
from autograder.checks.rubrics import parse_rubric
from autograder.exercises import exercise_data, get_exercise
from autograder.exercises.m04_decisions import COST_RANGES, metric_scenario
from autograder.learner import check, grade

MODULE = Path(__file__).resolve().parents[2] / "solutions" / "m04"
NOTEBOOK = MODULE / "decisions.ipynb"
RUBRIC = (MODULE / "rubrics" / "metric_choice.yaml").read_text(encoding="utf-8")
EXERCISE = "m04.metric_choice"
POINTS = 5
# Two learners whose costs call for different metrics in every scenario with costs.
LEARNER_A, LEARNER_B = "ada", "cy"


def run_notebook(learner: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute the notebook's code cells, except the check and hidden-test cells, as ``learner``."""
    monkeypatch.setenv("AZML_LEARNER_ID", learner)
    namespace: dict[str, Any] = {}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type == "code" and not grade_id.endswith(("_check", "_tests")):
            with contextlib.redirect_stdout(io.StringIO()):
                exec(cell.source, namespace)
    return namespace


def hidden_cell(name: str) -> nbformat.NotebookNode:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    return next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")


def graded_failures(answer: Any) -> dict[str, str]:
    """Grade ``answer`` as the current learner and return the message of each group not fully passed."""
    result = run_groups(EXERCISE, get_exercise(EXERCISE).graded_groups(rubric=RUBRIC), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


def expected_metric(false_negative: int, false_positive: int) -> str:
    if false_negative >= 3 * false_positive:
        return "recall"
    if false_positive >= 3 * false_negative:
        return "precision"
    return "F1"


@pytest.fixture
def learner_a(monkeypatch):
    return run_notebook(LEARNER_A, monkeypatch)


# --- Notebook and rubric file ---------------------------------------------------------------


def test_rubric_file_matches_hidden_cell():
    assert embedded_rubric(hidden_cell("metric_choice").source) == RUBRIC


def test_rubric_points_match_cell():
    cell = hidden_cell("metric_choice")
    call = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "grade")
    points = next(ast.literal_eval(k.value) for k in call.keywords if k.arg == "points")

    assert parse_rubric(RUBRIC).points == points == cell.metadata["nbgrader"]["points"] == POINTS


def test_scenario_cell_prints_costs(monkeypatch):
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER_A)
    cell = next(c for c in nbformat.read(NOTEBOOK, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "metric_scenario")
    namespace: dict[str, Any] = {}
    exec("from autograder import exercise_data", namespace)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(cell.source, namespace)
    costs = exercise_data(EXERCISE, LEARNER_A)

    assert f"a missed fraud costs {costs['fraud_fn_cost']} dollars" in output.getvalue()
    assert cell.metadata["nbgrader"]["locked"] is True


# --- Scenario ------------------------------------------------------------------------------------


def test_scenario_one_of_each_metric():
    for seed in range(500):
        costs = metric_scenario(seed)
        metrics = [expected_metric(costs[f"{name}_fn_cost"], costs[f"{name}_fp_cost"]) for name in COST_RANGES]

        assert sorted(metrics) == ["F1", "precision", "recall"], seed


def test_scenario_ratios_clear_of_thresholds():
    for seed in range(500):
        costs = metric_scenario(seed)
        for name in COST_RANGES:
            ratio = costs[f"{name}_fn_cost"] / costs[f"{name}_fp_cost"]
            assert ratio >= 4 or ratio <= 1 / 4 or 0.5 <= ratio <= 1.7, (seed, name, ratio)


def test_scenario_plain_positive_integers():
    costs = metric_scenario(7)

    assert all(type(value) is int and value > 0 for value in costs.values())


def test_learners_get_different_metrics():
    def metrics(learner):
        costs = exercise_data(EXERCISE, learner)
        return [expected_metric(costs[f"{name}_fn_cost"], costs[f"{name}_fp_cost"]) for name in COST_RANGES]

    assert all(a != b for a, b in zip(metrics(LEARNER_A), metrics(LEARNER_B)))


# --- Grading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("learner", [LEARNER_A, LEARNER_B])
def test_solution_full_marks_per_learner(monkeypatch, learner):
    answer = run_notebook(learner, monkeypatch)["metric_choice"]

    assert check(EXERCISE, answer).passed
    assert grade(EXERCISE, answer, points=POINTS, rubric=RUBRIC) == POINTS


def test_solutions_differ_between_learners(monkeypatch):
    first = run_notebook(LEARNER_A, monkeypatch)["metric_choice"]
    second = run_notebook(LEARNER_B, monkeypatch)["metric_choice"]

    assert first["fraud_alerts"] != second["fraud_alerts"]
    assert first["invoice_quarantine"] != second["invoice_quarantine"]
    assert first["pump_maintenance"] != second["pump_maintenance"]


def test_other_learners_answer_loses_cost_points(monkeypatch):
    copied = run_notebook(LEARNER_B, monkeypatch)["metric_choice"]
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER_A)

    assert grade(EXERCISE, copied, points=POINTS, rubric=RUBRIC) == 2.0


def test_accuracy_everywhere_scores_zero(learner_a):
    answer = dict.fromkeys(learner_a["metric_choice"], "accuracy")

    assert grade(EXERCISE, answer, points=POINTS, rubric=RUBRIC) == 0.0


def test_template_scores_zero(monkeypatch):
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER_A)
    template = dict.fromkeys(["fraud_alerts", "invoice_quarantine", "pump_maintenance", "cancer_screening",
                              "call_list", "premium_pricing"])

    assert grade(EXERCISE, template, points=POINTS, rubric=RUBRIC) == 0.0


def test_recall_for_every_cost_scenario(learner_a):
    costs = learner_a["costs"]
    answer = {**learner_a["metric_choice"], "invoice_quarantine": "recall", "pump_maintenance": "recall"}

    assert grade(EXERCISE, answer, points=POINTS, rubric=RUBRIC) == 3.0
    assert graded_failures(answer) == {
        "invoice_quarantine (1 pt)": f"a quarantined supplier invoice costs {costs['invoice_fp_cost']} dollars and a "
        f"phishing mail that reaches the team {costs['invoice_fn_cost']}: a false positive costs at least 3 times a "
        "false negative, so report precision, the share of alerts that are real",
        "pump_maintenance (1 pt)": f"a missed pump failure ({costs['pump_fn_cost']} dollars) and a crew sent to a "
        f"healthy pump ({costs['pump_fp_cost']} dollars) cost within a factor of 3 of each other, so report F1, "
        "which weighs precision and recall equally",
    }


def test_threshold_metrics_for_ranking_and_pricing(learner_a):
    answer = {**learner_a["metric_choice"], "call_list": "precision", "premium_pricing": "ROC AUC"}

    assert grade(EXERCISE, answer, points=POINTS, rubric=RUBRIC) == 3.5
    assert graded_failures(answer) == {
        "call_list (0.75 pt)": "the number of calls changes every week, so no single threshold exists: ROC AUC "
        "compares how well the models rank customers at every threshold",
        "premium_pricing (0.75 pt)": "the premium multiplies the predicted probability itself, so the probabilities "
        "must be calibrated: the Brier score measures how close they are to the outcomes",
    }


def test_accuracy_for_fraud(learner_a):
    costs = learner_a["costs"]
    answer = {**learner_a["metric_choice"], "fraud_alerts": "accuracy", "cancer_screening": "F1"}

    assert grade(EXERCISE, answer, points=POINTS, rubric=RUBRIC) == 3.5
    assert graded_failures(answer) == {
        "fraud_alerts (1 pt)": f"a missed fraud costs {costs['fraud_fn_cost']} dollars and a blocked honest purchase "
        f"{costs['fraud_fp_cost']}: a false negative costs at least 3 times a false positive, so report recall, "
        "the share of real cases the model catches",
        "cancer_screening (0.5 pt)": "a missed tumour delays treatment while a false alarm costs minutes of a second "
        "reading: the misses dominate, so recall",
    }


# --- Form ------------------------------------------------------------------------------------------

ALLOWED = "one of 'accuracy', 'precision', 'recall', 'F1', 'ROC AUC', 'Brier score', 'RMSE'"


def test_wrong_type_named(learner_a):
    answer = {**learner_a["metric_choice"], "call_list": 0.8}
    found = {o.group: o.message for o in check(EXERCISE, answer).outcomes if not o.passed}

    assert found == {
        "field `call_list`": f"invalid value 0.8 for `call_list`; `call_list` takes {ALLOWED} (metric for the weekly call list)",
    }


def test_lowercase_metric_rejected(learner_a):
    answer = {**learner_a["metric_choice"], "call_list": "roc auc"}

    assert graded_failures(answer)["call_list (0.75 pt)"].startswith("invalid value 'roc auc' for `call_list`; ")


def test_missing_field_named(learner_a):
    answer = dict(learner_a["metric_choice"])
    del answer["premium_pricing"]

    assert graded_failures(answer) == {
        "premium_pricing (0.75 pt)": f"missing key `premium_pricing`; `premium_pricing` takes {ALLOWED} "
        "(metric for the insurance premium model)",
    }
    assert grade(EXERCISE, answer, points=POINTS, rubric=RUBRIC) == 4.25


def test_unknown_field_named(learner_a):
    answer = {**learner_a["metric_choice"], "churn": "recall"}
    result = check(EXERCISE, answer)

    assert result.messages[0] == (
        "answer is a dict of the listed keys: unknown key(s) ['churn']; the allowed keys are fraud_alerts, "
        "invoice_quarantine, pump_maintenance, cancer_screening, call_list, premium_pricing"
    )


def test_not_a_dict_reported_without_traceback():
    result = check(EXERCISE, ["recall"])

    assert result.score == 0.0
    assert "Traceback" not in result.report()
    assert result.messages[0] == (
        "answer is a dict of the listed keys: expected a dict with keys fraud_alerts, invoice_quarantine, "
        "pump_maintenance, cancer_screening, call_list, premium_pricing, got list"
    )
