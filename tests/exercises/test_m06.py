"""Tests of the module 06 math exercises: the Bandit cutoff and the runs the policy cancels.

The correct answers and the grading data (``points=``, ``seed=``) come from the solution
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
from hypothesis.extra.numpy import arrays

from autograder.checks.core import run_groups
from autograder.checks.seeds import LEARNER_ID_VARIABLE
from autograder.exercises import all_exercises, exercise_data, get_exercise
from autograder.exercises.m06 import reference_bandit_cutoff, reference_runs_to_cancel, sweep_snapshot
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m06" / "tuning_math.ipynb"
EXERCISE_IDS = ["m06.bandit_cutoff", "m06.runs_to_cancel"]
CUTOFF_SEED = 60157
CANCEL_SEED = 60271


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
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m06.") and exercise.kind == "math"
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
    exercise = solutions["m06.runs_to_cancel"]
    for learner in ("ada", "grace", "linus"):
        monkeypatch.setenv(LEARNER_ID_VARIABLE, learner)

        assert grade("m06.runs_to_cancel", exercise.answer, points=exercise.points, **exercise.grading_data) == exercise.points


# --- Bandit cutoff ---------------------------------------------------------------------------------


def cutoff_from(maximize_factor, minimize_factor, maximize_amount, minimize_amount):
    """Build a cutoff with the correct input checks and the four given rules."""

    def bandit_cutoff(best, goal, slack_factor=None, slack_amount=None):
        goal = goal.lower()
        if goal not in ("maximize", "minimize") or (slack_factor is None) == (slack_amount is None):
            raise ValueError("invalid goal or slack")
        if slack_factor is not None:
            if slack_factor < 0 or best <= 0:
                raise ValueError("invalid slack_factor or best")
            return (maximize_factor if goal == "maximize" else minimize_factor)(best, slack_factor)
        if slack_amount < 0:
            raise ValueError("invalid slack_amount")
        return (maximize_amount if goal == "maximize" else minimize_amount)(best, slack_amount)

    return bandit_cutoff


RULES = {
    "maximize_factor": lambda best, s: best / (1 + s),
    "minimize_factor": lambda best, s: best * (1 + s),
    "maximize_amount": lambda best, a: best - a,
    "minimize_amount": lambda best, a: best + a,
}


def cutoff_with(**rules):
    return cutoff_from(**{**RULES, **rules})


@pytest.mark.parametrize(
    ("rules", "explanation"),
    [
        ({"maximize_factor": lambda best, s: best * (1 - s), "minimize_factor": lambda best, s: best / (1 - s)},
         "looks like best * (1 - slack_factor): Bandit keeps a run while metric * (1 + slack_factor) >= best, "
         "so the cutoff is best / (1 + slack_factor)"),
        ({"maximize_factor": lambda best, s: best * (1 + s)},
         "the cutoff is above the best run for a metric to maximise: divide by (1 + slack_factor)"),
        ({"minimize_factor": lambda best, s: best / (1 + s)},
         "for a metric to minimise the cutoff lies above the best run: best * (1 + slack_factor)"),
        ({"minimize_factor": lambda best, s: best * (1 - s)},
         "for a metric to minimise the cutoff lies above the best run: best * (1 + slack_factor), "
         "not best * (1 - slack_factor)"),
        ({"minimize_amount": lambda best, a: best - a},
         "for a metric to minimise the cutoff lies above the best run: best + slack_amount"),
        ({"maximize_amount": lambda best, a: best + a},
         "for a metric to maximise the cutoff lies below the best run: best - slack_amount"),
        ({"maximize_factor": lambda best, s: best - s, "minimize_factor": lambda best, s: best + s},
         "slack_factor is a ratio, not an amount: divide the best metric by (1 + slack_factor)"),
        ({"maximize_amount": lambda best, a: best / (1 + a), "minimize_amount": lambda best, a: best * (1 + a)},
         "slack_amount is an absolute distance, not a ratio: subtract it from the best metric"),
    ],
    ids=["one_minus_slack", "maximise_upwards", "minimise_divides", "minimise_one_minus", "minimise_amount_down",
         "maximise_amount_up", "factor_as_amount", "amount_as_factor"],
)
def test_cutoff_mistake_named(rules, explanation):
    assert failures("m06.bandit_cutoff", cutoff_with(**rules)) == {
        "reference values": explanation,
        "generated values": explanation,
    }


def test_cutoff_case_sensitive_goal_fails():
    def case_sensitive(best, goal, slack_factor=None, slack_amount=None):
        if goal not in ("maximize", "minimize"):
            raise ValueError(f"invalid goal {goal!r}")
        return reference_bandit_cutoff(best, goal, slack_factor, slack_amount)

    found = failures("m06.bandit_cutoff", case_sensitive)

    assert found["reference values"] == "your code raised ValueError: invalid goal 'Maximize'"
    assert list(found) == ["reference values", "generated values"]


def test_cutoff_no_validation_fails_edge_groups():
    def unvalidated(best, goal, slack_factor=None, slack_amount=None):
        maximize = goal.lower() == "maximize"
        if slack_factor is not None:
            return best / (1 + slack_factor) if maximize else best * (1 + slack_factor)
        return best - slack_amount if maximize else best + slack_amount

    assert sorted(failures("m06.bandit_cutoff", unvalidated)) == [
        "negative slack", "ratio of a non-positive best", "slack given twice or not at all", "unknown goal",
    ]


def test_cutoff_mistake_loses_points():
    wrong = cutoff_with(maximize_factor=lambda best, s: best * (1 - s), minimize_factor=lambda best, s: best / (1 - s))

    assert grade("m06.bandit_cutoff", wrong, points=2, seed=CUTOFF_SEED) == round(5 / 7 * 2, 4)


@pytest.mark.parametrize(
    "rules",
    [
        {"maximize_factor": lambda best, s: best * (1 / (1 + s)), "minimize_factor": lambda best, s: best + best * s},
        {"maximize_amount": lambda best, a: -(a - best), "minimize_amount": lambda best, a: a + best},
    ],
    ids=["reciprocal", "rearranged_amounts"],
)
def test_cutoff_alternative_accepted(rules):
    assert grade("m06.bandit_cutoff", cutoff_with(**rules), points=2, seed=CUTOFF_SEED) == 2


def test_cutoff_documented_example():
    assert reference_bandit_cutoff(0.8, "maximize", slack_factor=0.2) == pytest.approx(0.6667, abs=1e-4)
    assert reference_bandit_cutoff(0.8, "maximize", slack_amount=0.2) == pytest.approx(0.6)


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-3, 1e3), st.floats(0, 5), st.floats(1e-3, 1e3))
def test_cutoff_matches_documented_comparison(best, slack_factor, metric):
    # Azure ML's documented rule keeps a run to maximise while metric * (1 + slack_factor) >= best.
    cutoff = reference_bandit_cutoff(best, "maximize", slack_factor=slack_factor)
    kept = metric * (1 + slack_factor) >= best

    if not np.isclose(metric * (1 + slack_factor), best, rtol=1e-12):
        assert kept == (metric >= cutoff)


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-3, 1e3), st.floats(0, 5))
def test_cutoff_mirrors_between_goals(best, slack):
    below = reference_bandit_cutoff(best, "maximize", slack_factor=slack)
    above = reference_bandit_cutoff(best, "minimize", slack_factor=slack)

    assert below <= best <= above
    assert below * above == pytest.approx(best**2, rel=1e-12)
    assert reference_bandit_cutoff(best, "maximize", slack_amount=slack) + reference_bandit_cutoff(
        best, "minimize", slack_amount=slack
    ) == pytest.approx(2 * best, rel=1e-12)


# --- Runs to cancel ------------------------------------------------------------------------------------


def cancel_from(*, cutoff=reference_bandit_cutoff, compare=None, best=None):
    """Build a policy with the correct input checks that replaces the cutoff, the comparison or the best run."""

    def runs_to_cancel(metrics, goal, slack_factor=None, slack_amount=None):
        metrics = np.asarray(metrics, dtype=float)
        reported = ~np.isnan(metrics)
        if not reported.any():
            reference_bandit_cutoff(1.0, goal, slack_factor, slack_amount)
            return np.zeros(metrics.shape, dtype=bool)
        maximize = goal.lower() == "maximize"
        finite = metrics[reported]
        if best is not None:
            chosen = best(finite, maximize)
        else:
            chosen = finite.max() if maximize else finite.min()
        limit = cutoff(chosen, goal, slack_factor, slack_amount)
        if compare is not None:
            worse = compare(metrics, limit, maximize)
        else:
            worse = metrics < limit if maximize else metrics > limit
        return reported & worse

    return runs_to_cancel


@pytest.mark.parametrize(
    ("wrong", "explanation"),
    [
        (cancel_from(compare=lambda m, c, maximize: m <= c if maximize else m >= c),
         "a run exactly at the cutoff is cancelled: the policy cancels only runs strictly worse than the cutoff"),
        (cancel_from(compare=lambda m, c, maximize: m < c),
         "the comparison points the wrong way for a metric to minimise: cancel runs above the cutoff"),
        (cancel_from(best=lambda finite, maximize: finite.max()),
         "the best run of a metric to minimise is the lowest value, not the highest"),
        (cancel_from(cutoff=cutoff_with(maximize_factor=lambda b, s: b * (1 - s), minimize_factor=lambda b, s: b / (1 - s))),
         "the cutoff looks like best * (1 - slack_factor): it is best / (1 + slack_factor) to maximise"),
        (cancel_from(best=lambda finite, maximize: np.median(finite)),
         "the runs are compared with the median, as the median stopping policy does: Bandit compares with the best run"),
        (cancel_from(best=lambda finite, maximize: np.mean(finite)),
         "the runs are compared with the mean: Bandit compares with the best run"),
    ],
    ids=["at_cutoff", "minimise_below", "minimise_max", "one_minus_slack", "median", "mean"],
)
def test_cancel_mistake_named(wrong, explanation):
    found = failures("m06.runs_to_cancel", wrong)

    # The flags of a random sweep can fit two mistakes at once. The reference sweeps are built so
    # that each mistake gives its own flags, and the other groups list it among the candidates.
    assert found.pop("reference sweeps") == explanation
    assert explanation in found.pop("generated sweeps")
    assert set(found) <= {"your sweep", "runs without a metric"}
    for message in found.values():
        assert explanation in message


def test_cancel_minimise_cutoff_below_named():
    wrong = cancel_from(cutoff=cutoff_with(minimize_factor=lambda b, s: b / (1 + s), minimize_amount=lambda b, a: b - a))
    explanation = "for a metric to minimise the cutoff lies above the best run, at best * (1 + slack_factor) or best + slack_amount"

    found = failures("m06.runs_to_cancel", wrong)

    assert found["reference sweeps"] == explanation
    assert explanation in found["generated sweeps"]


def test_cancel_inverted_flags_named():
    def inverted(metrics, goal, slack_factor=None, slack_amount=None):
        metrics = np.asarray(metrics, dtype=float)
        return ~np.isnan(metrics) & ~reference_runs_to_cancel(metrics, goal, slack_factor, slack_amount)

    explanation = "the result is inverted: True must mark the runs to cancel, not the runs to keep"
    found = failures("m06.runs_to_cancel", inverted)

    assert found["reference sweeps"] == explanation
    assert found["generated sweeps"] == explanation
    assert explanation in found["your sweep"]


def test_cancel_nan_as_best_fails_missing_metric_group():
    def nan_propagates(metrics, goal, slack_factor=None, slack_amount=None):
        metrics = np.asarray(metrics, dtype=float)
        if metrics.size == 0:
            return np.zeros(0, dtype=bool)
        maximize = goal.lower() == "maximize"
        cutoff = reference_bandit_cutoff(1.0, goal, slack_factor, slack_amount)  # validates the arguments
        best = metrics.max() if maximize else metrics.min()
        if not np.isnan(best):
            cutoff = reference_bandit_cutoff(best, goal, slack_factor, slack_amount)
        return metrics < cutoff if maximize else metrics > cutoff

    found = failures("m06.runs_to_cancel", nan_propagates)

    assert found["runs without a metric"].endswith(
        "(hint: a run whose metric is nan has not reported yet: it is neither the best run nor cancelled)"
    )


def test_cancel_indices_instead_of_flags_named():
    def indices(metrics, goal, slack_factor=None, slack_amount=None):
        return np.flatnonzero(reference_runs_to_cancel(metrics, goal, slack_factor, slack_amount))

    assert failures("m06.runs_to_cancel", indices)["one flag per run"] == (
        "expected a boolean array of shape (7,), one flag per run, got dtype int64 and shape (3,): "
        "return True for each run to cancel, not the run indices"
    )


def test_cancel_empty_sweep_needs_no_best():
    def max_of_nothing(metrics, goal, slack_factor=None, slack_amount=None):
        metrics = np.asarray(metrics, dtype=float)
        best = np.nanmax(metrics) if goal.lower() == "maximize" else np.nanmin(metrics)
        cutoff = reference_bandit_cutoff(best, goal, slack_factor, slack_amount)
        return ~np.isnan(metrics) & ((metrics < cutoff) if goal.lower() == "maximize" else (metrics > cutoff))

    found = failures("m06.runs_to_cancel", max_of_nothing)

    assert list(found) == ["runs without a metric"]
    assert found["runs without a metric"].startswith("your code raised ValueError")


def test_cancel_mistake_loses_points():
    wrong = cancel_from(compare=lambda m, c, maximize: m <= c if maximize else m >= c)

    assert grade("m06.runs_to_cancel", wrong, points=3, seed=CANCEL_SEED) < 3


@pytest.mark.parametrize(
    "alternative",
    [
        # Azure ML's documented form: keep a run while metric * (1 + slack_factor) >= best.
        cancel_from(compare=lambda m, c, maximize: ~(m >= c) if maximize else ~(m <= c)),
        cancel_from(best=lambda finite, maximize: np.nanmax(finite) if maximize else np.nanmin(finite)),
    ],
    ids=["negated_keep", "nan_aware_best"],
)
def test_cancel_alternative_accepted(alternative):
    assert grade("m06.runs_to_cancel", alternative, points=3, seed=CANCEL_SEED) == 3


def test_cancel_python_loop_accepted():
    def loop(metrics, goal, slack_factor=None, slack_amount=None):
        values = [float(m) for m in metrics]
        reported = [m for m in values if m == m]
        if not reported:
            reference_bandit_cutoff(1.0, goal, slack_factor, slack_amount)
            return np.zeros(len(values), dtype=bool)
        maximize = goal.lower() == "maximize"
        cutoff = reference_bandit_cutoff(max(reported) if maximize else min(reported), goal, slack_factor, slack_amount)
        return np.array([m == m and (m < cutoff if maximize else m > cutoff) for m in values], dtype=bool)

    assert grade("m06.runs_to_cancel", loop, points=3, seed=CANCEL_SEED) == 3


# --- Learner data -------------------------------------------------------------------------------------


def test_sweep_differs_between_learners():
    first = exercise_data("m06.runs_to_cancel", learner="ada")
    second = exercise_data("m06.runs_to_cancel", learner="grace")

    assert not np.array_equal(first["metrics"], second["metrics"], equal_nan=True)


def test_sweep_same_for_same_learner():
    first = exercise_data("m06.runs_to_cancel", learner="ada")
    second = exercise_data("m06.runs_to_cancel", learner="ada")

    assert np.array_equal(first["metrics"], second["metrics"], equal_nan=True)


@pytest.mark.parametrize("seed", range(20))
def test_sweep_is_a_valid_policy(seed):
    sweep = sweep_snapshot(seed)

    assert sweep["goal"] in ("maximize", "minimize")
    assert (sweep["slack_factor"] is None) != (sweep["slack_amount"] is None)
    assert np.isnan(sweep["metrics"]).sum() == 2
    reference_runs_to_cancel(sweep["metrics"], sweep["goal"], sweep["slack_factor"], sweep["slack_amount"])


def test_your_sweep_group_uses_learner_data(monkeypatch):
    # A function that is right on every sweep but the learner's own fails only that group.
    monkeypatch.setenv(LEARNER_ID_VARIABLE, "ada")
    own = exercise_data("m06.runs_to_cancel")

    def wrong_on_own_sweep(metrics, goal, slack_factor=None, slack_amount=None):
        result = reference_runs_to_cancel(metrics, goal, slack_factor, slack_amount)
        if np.array_equal(np.asarray(metrics, dtype=float), own["metrics"], equal_nan=True):
            result = ~result
        return result

    assert list(failures("m06.runs_to_cancel", wrong_on_own_sweep)) == ["your sweep"]


# --- Properties of the reference ----------------------------------------------------------------------

metric_arrays = arrays(float, st.integers(0, 30), elements=st.one_of(st.floats(0.01, 100), st.just(float("nan"))))


@settings(max_examples=100, deadline=None)
@given(metric_arrays, st.sampled_from(["maximize", "minimize"]), st.floats(0, 2))
def test_cancel_never_cancels_best_or_unreported(metrics, goal, slack):
    cancelled = reference_runs_to_cancel(metrics, goal, slack_factor=slack)

    assert cancelled.shape == metrics.shape
    assert not cancelled[np.isnan(metrics)].any()
    reported = metrics[~np.isnan(metrics)]
    if reported.size:
        best = reported.max() if goal == "maximize" else reported.min()
        assert not cancelled[metrics == best].any()


@settings(max_examples=100, deadline=None)
@given(metric_arrays, st.floats(0, 2))
def test_cancel_mirrors_under_negation(metrics, slack):
    # Negating a metric turns maximise into minimise; with slack_amount the cancelled set is the same.
    assert np.array_equal(
        reference_runs_to_cancel(metrics, "maximize", slack_amount=slack),
        reference_runs_to_cancel(-metrics, "minimize", slack_amount=slack),
    )


def test_cancel_unexplained_flags_message():
    def cancel_everything(metrics, goal, slack_factor=None, slack_amount=None):
        reference_bandit_cutoff(1.0, goal, slack_factor, slack_amount)
        return ~np.isnan(np.asarray(metrics, dtype=float))

    assert failures("m06.runs_to_cancel", cancel_everything)["reference sweeps"] == (
        "some flags differ from the reference on inputs of shape (7,), str, float, NoneType"
    )
