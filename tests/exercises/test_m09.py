"""Tests of the module 09 math exercise: the error budget and burn rate of a canary.

The correct answer and the grading data (``points=``, ``seed=``) come from the solution
notebook: each solution cell is executed, and the keyword values of the ``grade(...)`` call
in the hidden-test cell are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks.core import run_groups
from autograder.checks.seeds import LEARNER_ID_VARIABLE
from autograder.exercises import all_exercises, exercise_data, get_exercise
from autograder.exercises.m09 import ROLLOUT_KEYS, reference_canary_budget, rollout_snapshot
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m09" / "rollout_math.ipynb"
EXERCISE_IDS = ["m09.canary_budget"]
CANARY_SEED = 90173


@dataclass(frozen=True)
class NotebookExercise:
    """An exercise's solution and grading data, as stored in the solution notebook."""

    answer: Any
    points: float
    grading_data: dict[str, Any]
    cell_points: float


def read_notebook_exercises(path: Path) -> dict[str, NotebookExercise]:
    """Execute the setup and solution cells of ``path`` and parse each hidden-test cell's ``grade`` call."""
    notebook = nbformat.read(path, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    namespace: dict[str, Any] = {}
    exec(cells["setup"].source, namespace)
    exercises = {}
    for grade_id, cell in cells.items():
        if not str(grade_id).endswith("_tests"):
            continue
        exec(cells[grade_id.removesuffix("_tests") + "_solution"].source, namespace)
        call = next(
            node for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grade"
        )
        exercise_id = ast.literal_eval(call.args[0])
        answer = eval(compile(ast.Expression(call.args[1]), str(path), "eval"), namespace)
        keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        points = keywords.pop("points")
        exercises[exercise_id] = NotebookExercise(answer, points, keywords, cell.metadata["nbgrader"]["points"])
    return exercises


@pytest.fixture(scope="module")
def solutions() -> dict[str, NotebookExercise]:
    return read_notebook_exercises(NOTEBOOK)


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


def graded_failures(exercise_id: str, answer: Any, **grading_data: Any) -> dict[str, str]:
    """Run the graded groups as ``grade()`` does and return the message of each failed group."""
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(**grading_data), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_math_exercise(solutions):
    # The module's decision exercises live in another notebook and have their own tests.
    registered = sorted(
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m09.") and exercise.kind == "math"
    )

    assert sorted(solutions) == registered
    assert sorted(EXERCISE_IDS) == registered


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_passes_check(solutions, exercise_id):
    result = check(exercise_id, solutions[exercise_id].answer)

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_gets_full_points(solutions, exercise_id):
    exercise = solutions[exercise_id]

    earned = grade(exercise_id, exercise.answer, points=exercise.points, **exercise.grading_data)

    assert earned == exercise.points


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_grade_points_match_cell(solutions, exercise_id):
    assert solutions[exercise_id].points == solutions[exercise_id].cell_points


def test_solution_full_points_for_other_learners(solutions, monkeypatch):
    exercise = solutions["m09.canary_budget"]
    for learner in ("ada", "grace", "linus"):
        monkeypatch.setenv(LEARNER_ID_VARIABLE, learner)

        assert grade("m09.canary_budget", exercise.answer, points=exercise.points, **exercise.grading_data) == exercise.points


# --- Canary budget -------------------------------------------------------------------------------------


def canary_from(*, requests=None, error_fraction=None, burn=None, rollback=None):
    """Build a canary function with the correct input checks that replaces one of its steps.

    ``requests(rate, window, canary_percent)``, ``error_fraction(slo_percent)``,
    ``burn(failures, budget, requests, error_fraction)`` and ``rollback(burn_rate, threshold)``.
    """

    def canary_budget(slo_percent, canary_percent, requests_per_minute, window_minutes, canary_failures, burn_rate_threshold):
        if not 0 < slo_percent < 100 or not 0 < canary_percent <= 100:
            raise ValueError("percentages out of range")
        if min(requests_per_minute, window_minutes, burn_rate_threshold) <= 0 or canary_failures < 0:
            raise ValueError("invalid traffic, failures or threshold")
        if canary_failures > requests_per_minute * window_minutes * canary_percent / 100:
            raise ValueError("more failures than canary requests")
        count = (requests or (lambda rate, window, canary: rate * window * canary / 100))(
            requests_per_minute, window_minutes, canary_percent
        )
        allowed = (error_fraction or (lambda slo: 1 - slo / 100))(slo_percent)
        budget = allowed * count
        burn_rate = burn(canary_failures, budget, count, allowed) if burn else canary_failures / budget
        decision = rollback(burn_rate, burn_rate_threshold) if rollback else burn_rate > burn_rate_threshold
        return budget, burn_rate, decision

    return canary_budget


@pytest.mark.parametrize(
    ("wrong", "explanation"),
    [
        (canary_from(requests=lambda rate, window, canary: rate * window),
         "the budget counts every request of the endpoint: only canary_percent of the traffic reaches the canary"),
        (canary_from(requests=lambda rate, window, canary: rate * window * canary),
         "canary_percent is a percentage: divide it by 100 to get the canary's share of requests"),
        (canary_from(error_fraction=lambda slo: 1 - slo),
         "slo_percent is a percentage: the allowed error fraction is 1 - slo_percent / 100"),
        (canary_from(error_fraction=lambda slo: slo / 100),
         "the budget uses the success rate: the error budget is the failure share the SLO allows, 1 - slo_percent / 100"),
        (canary_from(burn=lambda failures, budget, count, allowed: failures / count),
         "the burn rate looks like the raw error rate: divide it by the allowed error rate 1 - slo_percent / 100"),
        (canary_from(burn=lambda failures, budget, count, allowed: 100 * failures / count),
         "the burn rate looks like the error rate in percent: divide the error rate by the allowed error rate"),
        (canary_from(rollback=lambda burn_rate, threshold: burn_rate <= threshold),
         "the rollback decision is inverted: roll back when the burn rate exceeds the threshold"),
    ],
    ids=["all_traffic", "canary_percent", "slo_fraction", "success_rate", "raw_error_rate", "percent_error_rate",
         "inverted_rollback"],
)
def test_canary_mistake_named(wrong, explanation):
    found = failures("m09.canary_budget", wrong)

    assert found.pop("reference rollouts") == explanation
    assert found.pop("generated rollouts") == explanation
    assert set(found) <= {"your rollout", "all traffic on the canary"}
    for message in found.values():
        assert message == explanation


def test_canary_inverted_burn_rate_named():
    def inverted(*args):
        budget, burn_rate, _ = reference_canary_budget(*args)
        burn_rate = budget / args[4] if args[4] else float("inf")
        return budget, burn_rate, burn_rate > args[5]

    explanation = (
        "the burn rate is inverted: it is the observed error rate divided by the allowed error rate, "
        "so more failures give a higher burn rate"
    )

    assert failures("m09.canary_budget", inverted)["reference rollouts"] == explanation


def test_canary_rollback_at_threshold_named():
    wrong = canary_from(rollback=lambda burn_rate, threshold: burn_rate >= threshold)

    assert failures("m09.canary_budget", wrong) == {
        "reference rollouts": "the canary rolls back at exactly the threshold: roll back only when the burn rate is strictly greater",
    }


def test_canary_no_validation_fails_edge_groups():
    def unvalidated(slo_percent, canary_percent, requests_per_minute, window_minutes, canary_failures, burn_rate_threshold):
        budget = (1 - slo_percent / 100) * requests_per_minute * window_minutes * canary_percent / 100
        return budget, canary_failures / budget, canary_failures / budget > burn_rate_threshold

    assert sorted(failures("m09.canary_budget", unvalidated)) == [
        "SLO outside (0, 100)", "invalid traffic or threshold", "more failures than requests", "no canary traffic",
    ]


def test_canary_dict_answer_named():
    def as_dict(*args):
        budget, burn_rate, rollback = reference_canary_budget(*args)
        return {"budget": budget, "burn_rate": burn_rate, "rollback": rollback}

    assert failures("m09.canary_budget", as_dict)["reference rollouts"] == "expected a number or an array of numbers, got dict"


def test_canary_mistake_loses_points():
    wrong = canary_from(requests=lambda rate, window, canary: rate * window)

    # Five of eight groups pass: with all traffic on the canary the mistake gives the right numbers.
    assert grade("m09.canary_budget", wrong, points=3, seed=CANARY_SEED) == 1.875


@pytest.mark.parametrize(
    "alternative",
    [
        canary_from(burn=lambda failures, budget, count, allowed: (failures / count) / allowed),
        canary_from(error_fraction=lambda slo: (100 - slo) / 100),
        canary_from(rollback=lambda burn_rate, threshold: not burn_rate <= threshold),
        canary_from(requests=lambda rate, window, canary: canary / 100 * rate * window),
    ],
    ids=["error_rate_over_allowed", "hundred_minus_slo", "negated_at_most", "share_first"],
)
def test_canary_alternative_accepted(alternative):
    assert grade("m09.canary_budget", alternative, points=3, seed=CANARY_SEED) == 3


def test_canary_documented_example():
    assert reference_canary_budget(99.5, 10, 1200, 60, 90, 2.0) == pytest.approx((36.0, 2.5, True))
    assert reference_canary_budget(99.5, 10, 1200, 60, 54, 2.0) == pytest.approx((36.0, 1.5, False))


# --- Learner data --------------------------------------------------------------------------------------


def test_rollout_differs_between_learners():
    assert exercise_data("m09.canary_budget", learner="ada") != exercise_data("m09.canary_budget", learner="grace")


def test_rollout_matches_function_arguments(solutions):
    rollout = exercise_data("m09.canary_budget", learner="ada")

    assert tuple(rollout) == ROLLOUT_KEYS
    solutions["m09.canary_budget"].answer(**rollout)


@pytest.mark.parametrize("seed", range(50))
def test_rollout_burn_rate_clear_of_threshold(seed):
    rollout = rollout_snapshot(seed)
    _, burn_rate, _ = reference_canary_budget(*(rollout[key] for key in ROLLOUT_KEYS))

    assert abs(burn_rate - rollout["burn_rate_threshold"]) > 1e-6


def test_your_rollout_group_uses_learner_data(monkeypatch):
    monkeypatch.setenv(LEARNER_ID_VARIABLE, "ada")
    own = tuple(exercise_data("m09.canary_budget").values())

    def wrong_on_own_rollout(*args):
        budget, burn_rate, rollback = reference_canary_budget(*args)
        return (budget, burn_rate, not rollback) if args == own else (budget, burn_rate, rollback)

    assert list(failures("m09.canary_budget", wrong_on_own_rollout)) == ["your rollout"]


# --- Properties of the reference ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.floats(50, 99.99), st.floats(1, 100), st.floats(1, 1e4), st.floats(1, 1440), st.floats(0, 1), st.floats(0.1, 20)
)
def test_canary_closed_form(slo, canary, rate, window, failed_share, threshold):
    requests = rate * window * canary / 100
    failures = failed_share * requests
    budget, burn_rate, rollback = reference_canary_budget(slo, canary, rate, window, failures, threshold)
    error_rate = failures / requests

    assert budget == pytest.approx((100 - slo) / 100 * requests, rel=1e-9)
    assert burn_rate == pytest.approx(error_rate / (1 - slo / 100), rel=1e-9)
    assert burn_rate * budget == pytest.approx(failures, rel=1e-9, abs=1e-9)
    if not np.isclose(burn_rate, threshold, rtol=1e-9):
        assert rollback == (error_rate > threshold * (1 - slo / 100))


@settings(max_examples=100, deadline=None)
@given(st.floats(90, 99.9), st.floats(1, 50), st.floats(10, 1e4), st.floats(5, 120))
def test_canary_share_scales_budget(slo, canary, rate, window):
    small, _, _ = reference_canary_budget(slo, canary, rate, window, 0, 1.0)
    double, _, _ = reference_canary_budget(slo, 2 * canary, rate, window, 0, 1.0)

    assert double == pytest.approx(2 * small, rel=1e-9)
