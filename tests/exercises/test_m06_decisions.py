"""Tests of the module 06 decision: the best trial of a sweep under a latency and a size budget.

The answers come from executing the solution notebook's code cells as a given learner, and the
grading data from the rubric file, which must equal the copy in the hidden-test cell. The
rubric's conditions are compared with a plain Python selection on many generated tables.
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
from autograder.exercises.m06_decisions import TRIALS, run_table_scenario
from autograder.learner import check, grade

MODULE = Path(__file__).resolve().parents[2] / "solutions" / "m06"
NOTEBOOK = MODULE / "decisions.ipynb"
RUBRIC = (MODULE / "rubrics" / "best_run.yaml").read_text(encoding="utf-8")
CRITERIA = parse_rubric(RUBRIC).criteria
EXERCISE = "m06.best_run"
POINTS = 3
# For LEARNER_A, trial_3 is the best run and the top trial_5 breaks the latency budget. For
# LEARNER_B, trial_1 is the best run and the top trial_5 breaks both budgets.
LEARNER_A, LEARNER_B = "ada", "bob"
BREAKS = {(True, False): "the latency budget", (False, True): "the size budget", (True, True): "both budgets",
          (False, False): "neither budget"}


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


def hidden_cell() -> nbformat.NotebookNode:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    return next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "best_run_tests")


def graded(answer: Any) -> tuple[float, dict[str, str]]:
    """Grade ``answer`` as the current learner, and return the points and the message of each group not fully passed."""
    result = run_groups(EXERCISE, get_exercise(EXERCISE).graded_groups(rubric=RUBRIC), answer)
    messages = {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}
    return grade(EXERCISE, answer, points=POINTS, rubric=RUBRIC), messages


def over_budgets(table: dict[str, Any], number: int) -> tuple[bool, bool]:
    return table[f"p95_ms_{number}"] > table["max_p95_ms"], table[f"size_mb_{number}"] > table["max_size_mb"]


def select(table: dict[str, Any]) -> dict[str, str]:
    """Return the right answer for ``table``, computed without the rubric."""
    numbers = range(1, len(TRIALS) + 1)
    allowed = [n for n in numbers if over_budgets(table, n) == (False, False)]
    top = max(numbers, key=lambda n: table[f"auc_{n}"])
    best = f"trial_{max(allowed, key=lambda n: table[f'auc_{n}'])}" if allowed else "none of them"
    return {"best_run": best, "top_auc_run_breaks": BREAKS[over_budgets(table, top)]}


def rubric_answer(table: dict[str, Any]) -> dict[str, str]:
    return {c.field: c.resolve(table)[0] for c in CRITERIA}


def table(*trials: tuple[float, int, int], max_p95_ms: int = 50, max_size_mb: int = 100) -> dict[str, Any]:
    """Build a table from (AUC, p95 ms, size MB) of each of the five trials."""
    numbers: dict[str, Any] = {"max_p95_ms": max_p95_ms, "max_size_mb": max_size_mb}
    for number, (auc, p95_ms, size_mb) in enumerate(trials, start=1):
        numbers.update({f"auc_{number}": auc, f"p95_ms_{number}": p95_ms, f"size_mb_{number}": size_mb})
    return numbers


@pytest.fixture
def learner_a(monkeypatch):
    return run_notebook(LEARNER_A, monkeypatch)


# --- Notebook and rubric file ---------------------------------------------------------------


def test_rubric_file_matches_hidden_cell():
    assert embedded_rubric(hidden_cell().source) == RUBRIC


def test_rubric_points_match_cell():
    cell = hidden_cell()
    call = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "grade")
    points = next(ast.literal_eval(k.value) for k in call.keywords if k.arg == "points")

    assert parse_rubric(RUBRIC).points == points == cell.metadata["nbgrader"]["points"] == POINTS


def test_scenario_cell_prints_table(monkeypatch):
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER_A)
    cell = next(c for c in nbformat.read(NOTEBOOK, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "best_run_scenario")
    namespace: dict[str, Any] = {}
    exec("from autograder import exercise_data", namespace)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(cell.source, namespace)

    assert output.getvalue().splitlines()[:3] == [
        "budgets: p95 latency <= 80 ms, model size <= 60 MB",
        "trial       AUC  p95 ms  size MB",
        "trial_1   0.909      42       87",
    ]


# --- Scenario and rubric conditions ---------------------------------------------------------------


def test_rubric_agrees_with_selection_on_generated_tables():
    for seed in range(400):
        numbers = run_table_scenario(seed)
        assert rubric_answer(numbers) == select(numbers), seed


def test_generated_tables_plant_the_traps():
    for seed in range(400):
        numbers = run_table_scenario(seed)
        ranked = sorted(range(1, 6), key=lambda n: numbers[f"auc_{n}"], reverse=True)
        top, runner_up = over_budgets(numbers, ranked[0]), over_budgets(numbers, ranked[1])
        assert top != (False, False), seed
        assert runner_up in ((True, False), (False, True)), seed
        # The runner-up breaks a budget the top trial meets, unless the top breaks both.
        assert top == (True, True) or not any(t and r for t, r in zip(top, runner_up)), seed
        assert over_budgets(numbers, ranked[2]) == (False, False), seed


def test_generated_aucs_distinct():
    for seed in range(400):
        numbers = run_table_scenario(seed)
        assert len({numbers[f"auc_{n}"] for n in range(1, 6)}) == 5, seed


def test_generated_answer_sometimes_at_budget():
    at_budget = 0
    for seed in range(200):
        numbers = run_table_scenario(seed)
        best = int(select(numbers)["best_run"].removeprefix("trial_"))
        at_budget += numbers[f"p95_ms_{best}"] == numbers["max_p95_ms"] or numbers[f"size_mb_{best}"] == numbers["max_size_mb"]

    assert 20 <= at_budget <= 140


def test_rubric_no_trial_within_budgets():
    numbers = table((0.9, 60, 10), (0.8, 10, 200), (0.85, 70, 300), (0.7, 51, 50), (0.75, 5, 101))

    assert rubric_answer(numbers) == {"best_run": "none of them", "top_auc_run_breaks": "the latency budget"}


def test_rubric_top_trial_within_budgets():
    numbers = table((0.8, 60, 10), (0.95, 50, 100), (0.85, 10, 300), (0.7, 10, 50), (0.75, 5, 10))

    assert rubric_answer(numbers) == {"best_run": "trial_2", "top_auc_run_breaks": "neither budget"}


def test_learners_get_different_answers():
    first, second = exercise_data(EXERCISE, LEARNER_A), exercise_data(EXERCISE, LEARNER_B)

    assert select(first) == {"best_run": "trial_3", "top_auc_run_breaks": "the latency budget"}
    assert select(second) == {"best_run": "trial_1", "top_auc_run_breaks": "both budgets"}


# --- Grading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("learner", [LEARNER_A, LEARNER_B])
def test_solution_full_marks_per_learner(monkeypatch, learner):
    answer = run_notebook(learner, monkeypatch)["best_run"]

    assert check(EXERCISE, answer).passed
    assert graded(answer) == (POINTS, {})


def test_solution_follows_learner(monkeypatch):
    first = run_notebook(LEARNER_A, monkeypatch)["best_run"]
    second = run_notebook(LEARNER_B, monkeypatch)["best_run"]

    assert first == {"best_run": "trial_3", "top_auc_run_breaks": "the latency budget"}
    assert second == {"best_run": "trial_1", "top_auc_run_breaks": "both budgets"}


def test_other_learners_answer_scores_zero(monkeypatch):
    copied = run_notebook(LEARNER_B, monkeypatch)["best_run"]
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER_A)

    assert graded(copied)[0] == 0.0


def test_template_scores_zero(learner_a):
    assert graded({"best_run": None, "top_auc_run_breaks": None})[0] == 0.0


def test_top_auc_trial_chosen(learner_a):
    answer = {"best_run": "trial_5", "top_auc_run_breaks": "the latency budget"}

    assert graded(answer) == (1.0, {
        "best_run (2 pt)": "trial_3 has the highest AUC (0.878) of the trials within both budgets: 44 ms of at most "
        "80, and 53 MB of at most 60",
    })


def test_latency_budget_only_checked(learner_a):
    # trial_1 is the best trial within the latency budget, but its 87 MB break the size budget.
    answer = {"best_run": "trial_1", "top_auc_run_breaks": "the latency budget"}

    assert graded(answer)[0] == 1.0


def test_wrong_budget_named(learner_a):
    answer = {"best_run": "trial_3", "top_auc_run_breaks": "both budgets"}

    assert graded(answer) == (2.0, {
        "top_auc_run_breaks (1 pt)": "trial_5 has the highest AUC (0.934) and fits in 60 MB, but its p95 latency of "
        "91 ms is over the 80 ms budget",
    })


def test_nothing_right_scores_zero(learner_a):
    assert graded({"best_run": "none of them", "top_auc_run_breaks": "neither budget"})[0] == 0.0


# --- Form ------------------------------------------------------------------------------------------


def test_trial_number_rejected(learner_a):
    answer = {**learner_a["best_run"], "best_run": 3}
    found = {o.group: o.message for o in check(EXERCISE, answer).outcomes if not o.passed}

    assert found == {
        "field `best_run`": "invalid value 3 for `best_run`; `best_run` takes one of 'trial_1', 'trial_2', 'trial_3', 'trial_4', 'trial_5', "
        "'none of them' (the trial with the highest AUC among those within both budgets)",
    }


def test_missing_field_named(learner_a):
    answer = {"best_run": learner_a["best_run"]["best_run"]}

    assert graded(answer) == (2.0, {
        "top_auc_run_breaks (1 pt)": "missing key `top_auc_run_breaks`; `top_auc_run_breaks` takes one of "
        "'the latency budget', 'the size budget', 'both budgets', 'neither budget' "
        "(which budget the trial with the highest AUC of all breaks)",
    })


def test_unknown_field_named(learner_a):
    result = check(EXERCISE, {**learner_a["best_run"], "runner_up": "trial_1"})

    assert result.messages == [
        "answer is a dict of the listed keys: unknown key(s) ['runner_up']; the allowed keys are best_run, "
        "top_auc_run_breaks",
    ]
