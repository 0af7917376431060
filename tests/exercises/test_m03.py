"""Tests of the module 03 exercises: MSE, cross-entropy, empirical risk, penalties, ridge
gradient, a step, and the regularised objective.

The correct answers and the grading data (``points=``, ``seed=``, ``rubric=``) come from
the solution notebooks: each solution cell is executed, and the keyword values of the
``grade(...)`` call in the hidden-test cell are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import re
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
from autograder.checks.decisions import parse_rubric
from autograder.exercises import all_exercises, get_exercise
from autograder.exercises.m03 import (
    absolute_loss,
    pinball_loss_90,
    reference_empirical_risk,
    reference_regularised_objective,
    squared_loss,
    zero_one_loss,
)
from autograder.learner import check, grade

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions" / "m03"
NOTEBOOKS = ("losses.ipynb", "regularisation.ipynb")
EXERCISE_IDS = [
    "m03.mse", "m03.bce", "m03.empirical_risk", "m03.penalties", "m03.ridge_gradient", "m03.gradient_step",
    "m03.l1_or_l2", "m03.regularised_objective",
]
MSE_SEED = 30117
BCE_SEED = 30241
RISK_SEED = 30613
OBJECTIVE_SEED = 30727


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
    exercises: dict[str, NotebookExercise] = {}
    for name in NOTEBOOKS:
        exercises.update(read_notebook_exercises(SOLUTIONS / name))
    return exercises


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


def graded_failures(exercise_id: str, answer: Any, **grading_data: Any) -> dict[str, str]:
    """Run the graded groups as ``grade()`` does and return the message of each failed group."""
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(**grading_data), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_exercise(solutions):
    registered = sorted(exercise_id for exercise_id in all_exercises() if exercise_id.startswith("m03."))

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


def test_rubric_points_total_cell_points(solutions):
    exercise = solutions["m03.l1_or_l2"]

    assert sum(c.points for c in parse_rubric(exercise.grading_data["rubric"]).criteria) == exercise.points


# --- MSE ---------------------------------------------------------------------------------------


def validated(formula):
    """Wrap ``formula(e)`` of the errors ``e = y - y_hat`` in the checks a correct MSE makes."""

    def mse(y, y_hat):
        y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
        if y.shape != y_hat.shape or y.size == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        return float(formula(y - y_hat))

    return mse


MSE_SUM = "looks like a sum of squared errors: divide by the number of samples (take the mean)"
MSE_RMSE = "looks like the RMSE: the MSE has no square root"
MSE_ABSOLUTE = "looks like the mean absolute error: square the errors instead of taking their absolute value"
MSE_SQUARED_MEAN = "looks like the square of the mean error: square each error first, then average"
MSE_NOT_SQUARED = "your MSE is not symmetric in its error sign: the errors are not squared"
MSE_N_MINUS_ONE = "looks like a division by n - 1: the MSE divides by n"
MSE_SYMMETRY = (
    "flipping the sign of every error changed your MSE: square the errors "
    "(hint: squaring makes an error of -2 cost as much as +2)"
)


@pytest.mark.parametrize(
    ("formula", "explanation"),
    [
        (lambda e: np.sum(e**2), MSE_SUM),
        (lambda e: np.sqrt(np.mean(e**2)), MSE_RMSE),
        (lambda e: np.mean(e) ** 2, MSE_SQUARED_MEAN),
    ],
    ids=["sum", "rmse", "squared_mean"],
)
def test_mse_mistake_named(formula, explanation):
    assert failures("m03.mse", validated(formula)) == {"reference vectors": explanation, "generated vectors": explanation}


def test_mse_missing_square_named():
    assert failures("m03.mse", validated(np.mean)) == {
        "reference vectors": MSE_NOT_SQUARED,
        "generated vectors": MSE_NOT_SQUARED,
        "symmetric in the error sign": MSE_SYMMETRY,
    }


# On the reference vectors the mean absolute error and a division by n - 1 both give 0.5,
# so that group names both mistakes and the generated vectors tell them apart.
MSE_ABSOLUTE_OR_N_MINUS_ONE = (
    f"your result fits more than one typical mistake on these inputs: {MSE_ABSOLUTE} OR {MSE_N_MINUS_ONE}"
)


@pytest.mark.parametrize(
    ("formula", "explanation"),
    [
        (lambda e: np.mean(np.abs(e)), MSE_ABSOLUTE),
        (lambda e: np.sum(e**2) / (len(e) - 1), MSE_N_MINUS_ONE),
    ],
    ids=["absolute", "n_minus_one"],
)
def test_mse_tied_mistake_named(formula, explanation):
    assert failures("m03.mse", validated(formula)) == {
        "reference vectors": MSE_ABSOLUTE_OR_N_MINUS_ONE,
        "generated vectors": explanation,
    }


@pytest.mark.parametrize(
    "formula",
    [lambda e: np.sum(e**2), lambda e: np.sqrt(np.mean(e**2)), lambda e: np.mean(np.abs(e)), np.mean],
    ids=["sum", "rmse", "absolute", "not_squared"],
)
def test_mse_mistake_loses_points(formula):
    assert grade("m03.mse", validated(formula), points=3, seed=MSE_SEED) < 3


def test_mse_no_validation_fails_empty_input():
    def unvalidated(y, y_hat):
        return float(np.mean((np.asarray(y) - np.asarray(y_hat)) ** 2))

    assert failures("m03.mse", unvalidated) == {
        "empty input": "expected ValueError because the mean of no errors is undefined, but your function returned nan"
    }


@pytest.mark.parametrize(
    "formula",
    [
        lambda e: np.dot(e, e) / len(e),
        lambda e: np.mean(np.square(e)),
        lambda e: e @ e / e.size,
        lambda e: np.sum(e * e) / len(e),
    ],
    ids=["dot", "square", "matmul", "product"],
)
def test_mse_alternative_accepted(formula):
    assert grade("m03.mse", validated(formula), points=3, seed=MSE_SEED) == 3


def test_mse_sklearn_accepted():
    from sklearn.metrics import mean_squared_error

    assert grade("m03.mse", mean_squared_error, points=3, seed=MSE_SEED) == 3


def test_mse_in_place_subtraction_accepted():
    def mse(y, y_hat):
        y = np.asarray(y, dtype=float)
        if y.shape != np.shape(y_hat) or y.size == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        y -= y_hat
        return float(np.mean(y**2))

    assert grade("m03.mse", mse, points=3, seed=MSE_SEED) == 3


def python_loop_mse(y, y_hat):
    if len(y) != len(y_hat) or len(y) == 0:
        raise ValueError("y and y_hat must be non-empty and of the same length")
    total = 0.0
    for target, prediction in zip(y, y_hat):
        total += (target - prediction) ** 2
    return total / len(y)


def test_mse_python_loop_passes_check():
    assert check("m03.mse", python_loop_mse).passed


def test_mse_python_loop_too_slow_in_grading():
    found = graded_failures("m03.mse", python_loop_mse, seed=MSE_SEED)

    assert list(found) == ["vectorised"]
    assert re.fullmatch(
        r"took \d+\.\d\d s on 1,000,000 elements, limit 0\.1 s: replace Python loops with vectorised numpy operations",
        found["vectorised"],
    )


def test_mse_python_loop_loses_one_group():
    # Five of six groups pass: 5/6 of 3 points.
    assert grade("m03.mse", python_loop_mse, points=3, seed=MSE_SEED) == 2.5


# --- Binary cross-entropy ------------------------------------------------------------------------


def bce_from(loss):
    """Build a BCE with the shape check, clipping ``p`` and handing arrays to ``loss(y, p)``."""

    def bce(y, p, eps=1e-15):
        y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
        if y.shape != p.shape:
            raise ValueError("y and p must have the same shape")
        return float(loss(y, np.clip(p, eps, 1 - eps)))

    return bce


BCE_CERTAINTY = "with probabilities of exactly 0 and 1 your loss differs: clip p to [eps, 1 - eps] before the log"


@pytest.mark.parametrize(
    ("loss", "explanation"),
    [
        (lambda y, p: -np.mean(y * np.log10(p) + (1 - y) * np.log10(1 - p)),
         "looks like log base 10 instead of the natural log"),
        (lambda y, p: -np.mean(y * np.log2(p) + (1 - y) * np.log2(1 - p)),
         "looks like log base 2 instead of the natural log"),
        (lambda y, p: -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)),
         "looks like a sum over samples: take the mean"),
        (lambda y, p: np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)),
         "the sign is flipped: cross-entropy is the negative mean log-likelihood, so it is never negative"),
        (lambda y, p: -np.mean(y * np.log(p)),
         "the (1 - y) * log(1 - p) term is missing, so negative samples cost nothing"),
    ],
    ids=["log10", "log2", "sum", "flipped_sign", "missing_negative_term"],
)
def test_bce_mistake_named(loss, explanation):
    assert failures("m03.bce", bce_from(loss)) == {
        "reference vectors": explanation,
        "generated vectors": explanation,
        "stable at probabilities 0 and 1": BCE_CERTAINTY,
    }


def test_bce_swapped_arguments_named():
    explanation = "y and p play swapped roles: y is the label, p the predicted probability"

    def swapped(y, p, eps=1e-15):
        y, p = np.clip(np.asarray(y, dtype=float), eps, 1 - eps), np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
        if y.shape != p.shape:
            raise ValueError("y and p must have the same shape")
        return float(-np.mean(p * np.log(y) + (1 - p) * np.log(1 - y)))

    assert failures("m03.bce", swapped) == {"reference vectors": explanation, "generated vectors": explanation}


def test_bce_no_clipping_named():
    def unclipped(y, p, eps=1e-15):
        y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
        if y.shape != p.shape:
            raise ValueError("y and p must have the same shape")
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    assert failures("m03.bce", unclipped) == {
        "stable at probabilities 0 and 1": "probabilities of exactly 0 and 1 make the loss infinite: clip them to [eps, 1 - eps]"
    }


def test_bce_mistake_loses_points():
    log10 = bce_from(lambda y, p: -np.mean(y * np.log10(p) + (1 - y) * np.log10(1 - p)))

    assert grade("m03.bce", log10, points=3, seed=BCE_SEED) == 0.75


@pytest.mark.parametrize(
    "loss",
    [
        lambda y, p: -np.mean(np.log(np.where(y == 1, p, 1 - p))),
        lambda y, p: -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)),
        lambda y, p: -(y @ np.log(p) + (1 - y) @ np.log(1 - p)) / len(y),
    ],
    ids=["where", "log1p", "dot"],
)
def test_bce_alternative_accepted(loss):
    assert grade("m03.bce", bce_from(loss), points=3, seed=BCE_SEED) == 3


def test_bce_sklearn_log_loss_accepted():
    from sklearn.metrics import log_loss

    def bce(y, p, eps=1e-15):
        p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
        return float(log_loss(y, p, labels=[0, 1]))

    assert grade("m03.bce", bce, points=3, seed=BCE_SEED) == 3


# --- L1 and L2 penalties --------------------------------------------------------------------------


def l1(w, lam):
    return float(lam * np.sum(np.abs(w)))


def l2(w, lam):
    return float(lam * np.sum(np.square(w)))


@pytest.mark.parametrize(
    ("wrong_l1", "explanation"),
    [
        (lambda w, lam: lam * np.sum(w), "the L1 penalty sums absolute values: negative weights must not lower it"),
        (l2, "that is the L2 penalty: L1 uses absolute values, not squares"),
        (lambda w, lam: np.sum(np.abs(w)), "lambda is missing: scale the norm by lam"),
        (lambda w, lam: lam * np.mean(np.abs(w)), "looks like the mean of absolute weights: the L1 norm is their sum"),
    ],
    ids=["no_abs", "squares", "no_lambda", "mean"],
)
def test_l1_mistake_named(wrong_l1, explanation):
    assert failures("m03.penalties", {"l1": wrong_l1, "l2": l2}) == {
        "l1: reference weights": explanation,
        "l1: generated weights": explanation,
    }


@pytest.mark.parametrize(
    ("wrong_l2", "explanation"),
    [
        (lambda w, lam: lam * np.linalg.norm(w), "missing square: the L2 penalty is lam times the squared L2 norm"),
        (lambda w, lam: lam / 2 * np.sum(w**2), "extra factor 1/2: this exercise defines the penalty as lam * sum(w**2)"),
        (l1, "that is the L1 penalty: L2 squares the weights"),
        (lambda w, lam: np.sum(w**2), "lambda is missing: scale the squared norm by lam"),
    ],
    ids=["no_square", "half", "absolute", "no_lambda"],
)
def test_l2_mistake_named(wrong_l2, explanation):
    assert failures("m03.penalties", {"l1": l1, "l2": wrong_l2}) == {
        "l2: reference weights": explanation,
        "l2: generated weights": explanation,
    }


def test_penalty_mistake_loses_half_points():
    assert grade("m03.penalties", {"l1": l1, "l2": lambda w, lam: lam * np.linalg.norm(w)}, points=2, seed=30353) == 1.0


@pytest.mark.parametrize(
    "answer",
    [
        {"l1": lambda w, lam: lam * np.linalg.norm(w, 1), "l2": lambda w, lam: lam * (w @ w)},
        {"l1": lambda w, lam: lam * np.abs(w).sum(), "l2": lambda w, lam: lam * np.linalg.norm(w) ** 2},
        {"l1": l1, "l2": lambda w, lam: lam * np.dot(w, w)},
    ],
    ids=["norm_and_matmul", "method_and_norm_squared", "dot"],
)
def test_penalty_alternative_accepted(answer):
    assert grade("m03.penalties", answer, points=2, seed=30353) == 2


def test_penalties_missing_key():
    message = "expected a dict with the key 'l2' mapped to your function"

    assert failures("m03.penalties", {"l1": l1}) == {"l2: reference weights": message, "l2: generated weights": message}


def test_penalties_tuple_answer_fails_all():
    assert check("m03.penalties", (l1, l2)).score == 0.0


# --- Ridge gradient ------------------------------------------------------------------------------

FINITE_DIFFERENCES = "your gradient disagrees with central finite differences of the ridge loss"


@pytest.mark.parametrize(
    ("gradient", "explanation"),
    [
        (lambda X, y, w, lam: X.T @ (X @ w - y) / len(y) + lam * w,
         "the factor 2 from differentiating the square is missing in both terms"),
        (lambda X, y, w, lam: 2 * X.T @ (X @ w - y) + 2 * lam * w,
         "the data term is not divided by the number of samples n"),
        (lambda X, y, w, lam: 2 / len(y) * X.T @ (y - X @ w) + 2 * lam * w,
         "the sign of the data term is flipped: the residual is X @ w - y"),
        (lambda X, y, w, lam: 2 / len(y) * X.T @ (X @ w - y),
         "the penalty term 2 * lam * w is missing"),
        (lambda X, y, w, lam: 2 / len(y) * X.T @ (X @ w - y) + lam * w,
         "the penalty gradient is 2 * lam * w, not lam * w"),
    ],
    ids=["no_factor_2", "no_division_by_n", "flipped_sign", "no_penalty", "lambda_not_2_lambda"],
)
def test_ridge_mistake_named(gradient, explanation):
    assert failures("m03.ridge_gradient", gradient) == {
        "reference problem": explanation,
        "generated problems": explanation,
        "agrees with finite differences": FINITE_DIFFERENCES,
    }


def test_ridge_mistake_loses_all_points():
    def no_penalty(X, y, w, lam):
        return 2 / len(y) * X.T @ (X @ w - y)

    assert grade("m03.ridge_gradient", no_penalty, points=3, seed=30467) == 0.0


@pytest.mark.parametrize(
    "gradient",
    [
        lambda X, y, w, lam: 2 / len(y) * (X.T @ X @ w - X.T @ y) + 2 * lam * w,
        lambda X, y, w, lam: 2 * (np.dot(X.T, np.dot(X, w) - y) / X.shape[0] + lam * w),
        lambda X, y, w, lam: np.mean(2 * (X @ w - y)[:, None] * X, axis=0) + 2 * lam * w,
    ],
    ids=["expanded", "dot", "mean_of_rows"],
)
def test_ridge_alternative_accepted(gradient):
    assert grade("m03.ridge_gradient", gradient, points=3, seed=30467) == 3


# --- Gradient-descent step -------------------------------------------------------------------------


def ridge_gradient(X, y, w, lam):
    return 2 / len(y) * X.T @ (X @ w - y) + 2 * lam * w


NOT_LOWER = "one step with a small learning rate did not lower the ridge loss"


def test_step_uphill_named():
    def uphill(X, y, w, lam, lr):
        return w + lr * ridge_gradient(X, y, w, lam)

    assert failures("m03.gradient_step", uphill) == {
        "generated problems": "the step goes uphill: subtract the gradient, do not add it",
        "lowers the loss": NOT_LOWER,
    }


def test_step_no_learning_rate_named():
    def no_learning_rate(X, y, w, lam, lr):
        return w - ridge_gradient(X, y, w, lam)

    assert failures("m03.gradient_step", no_learning_rate) == {
        "generated problems": "the learning rate is missing: scale the gradient by lr",
        "lowers the loss": NOT_LOWER,
    }


def test_step_gradient_alone_named():
    def gradient_alone(X, y, w, lam, lr):
        return -lr * ridge_gradient(X, y, w, lam)

    assert failures("m03.gradient_step", gradient_alone) == {
        "generated problems": "looks like the new weights are the scaled gradient alone: start from w",
    }


def test_step_in_place_update_named():
    def in_place(X, y, w, lam, lr):
        w -= lr * ridge_gradient(X, y, w, lam)
        return w

    assert failures("m03.gradient_step", in_place) == {
        "leaves the input weights unchanged": "your step changed the array w in place: return new weights, e.g. w - lr * grad",
    }


def test_step_in_place_update_loses_one_group():
    def in_place(X, y, w, lam, lr):
        w -= lr * ridge_gradient(X, y, w, lam)
        return w

    assert grade("m03.gradient_step", in_place, points=2, seed=30559) == round(2 / 3 * 2, 4)


def test_step_copy_then_update_accepted():
    def copy_then_update(X, y, w, lam, lr):
        new_w = w.copy()
        new_w -= lr * ridge_gradient(X, y, w, lam)
        return new_w

    assert grade("m03.gradient_step", copy_then_update, points=2, seed=30559) == 2


# --- L1 or L2 --------------------------------------------------------------------------------------


def test_l1_or_l2_check_notes_form_only(solutions):
    result = check("m03.l1_or_l2", solutions["m03.l1_or_l2"].answer)

    assert result.notes == ["this check validates the form only; the rubric grades your choices when the notebook is graded"]


def test_l1_or_l2_swapped_scenarios(solutions):
    exercise = solutions["m03.l1_or_l2"]
    answer = {**exercise.answer, "sensor_selection": "L2", "correlated_prices": "L1"}

    assert grade("m03.l1_or_l2", answer, points=4, **exercise.grading_data) == 2.0


def test_l1_or_l2_swapped_effects_messages(solutions):
    exercise = solutions["m03.l1_or_l2"]
    answer = {**exercise.answer, "l1_effect": "shrinks all weights smoothly", "l2_effect": "sets some weights exactly to zero"}

    assert graded_failures("m03.l1_or_l2", answer, **exercise.grading_data) == {
        "l1_effect (1 pt)": "the L1 penalty has a corner at zero, so the optimum often puts weights exactly there",
        "l2_effect (1 pt)": "the L2 penalty is smooth at zero: it pulls every weight towards zero but rarely onto it",
    }


def test_l1_or_l2_invalid_choice(solutions):
    answer = {**solutions["m03.l1_or_l2"].answer, "sensor_selection": "L3"}

    assert failures("m03.l1_or_l2", answer) == {
        "field `sensor_selection`": "invalid value 'L3' for `sensor_selection`; "
        "`sensor_selection` takes one of 'L1', 'L2' (penalty for the 400-sensor scenario)"
    }


# --- Empirical risk ---------------------------------------------------------------------------------


def risk_from(aggregate):
    """Build an empirical risk with a correct one's checks that reduces the per-sample losses with ``aggregate``."""

    def empirical_risk(loss, y, y_hat):
        y, y_hat = np.asarray(y), np.asarray(y_hat)
        if y.shape != y_hat.shape or y.size == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        losses = np.asarray(loss(y, y_hat), dtype=float)
        if losses.shape != y.shape:
            raise ValueError("the loss must return one value per sample")
        return float(aggregate(losses))

    return empirical_risk


def risk_calling(call):
    """Build an empirical risk with a correct one's checks whose value is ``call(loss, y, y_hat)``."""

    def empirical_risk(loss, y, y_hat):
        y, y_hat = np.asarray(y), np.asarray(y_hat)
        if y.shape != y_hat.shape or y.size == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        if np.shape(loss(y, y_hat)) != y.shape:
            raise ValueError("the loss must return one value per sample")
        return float(call(loss, y, y_hat))

    return empirical_risk


RISK_SUM = "looks like the total loss: the empirical risk divides it by the number of samples (the mean)"
RISK_N_MINUS_ONE = "looks like a division by n - 1: the empirical risk divides by n"
RISK_MEDIAN = "looks like the median of the losses: the empirical risk is their mean"
RISK_OF_MEANS = (
    "looks like the loss of the mean target and mean prediction: apply the loss to each sample, then average"
)
RISK_SWAPPED = (
    "y and y_hat play swapped roles: call loss(y, y_hat) in that order, because a loss such as the "
    "pinball loss is not symmetric"
)
RISK_FIXED_FORMULA = (
    "your result does not depend on the loss you were given: call loss(y, y_hat) instead of a fixed formula"
)


@pytest.mark.parametrize(
    ("aggregate", "explanation"),
    [
        (np.sum, RISK_SUM),
        (lambda losses: np.sum(losses) / (len(losses) - 1), RISK_N_MINUS_ONE),
        (np.median, RISK_MEDIAN),
    ],
    ids=["sum", "n_minus_one", "median"],
)
def test_risk_mistake_named(aggregate, explanation):
    assert failures("m03.empirical_risk", risk_from(aggregate)) == {
        "reference vectors": explanation,
        "generated vectors": explanation,
    }


def test_risk_loss_of_means_named():
    wrong = risk_calling(lambda loss, y, y_hat: np.mean(loss(np.mean(y), np.mean(y_hat))))

    found = failures("m03.empirical_risk", wrong)

    assert found["reference vectors"] == RISK_OF_MEANS
    assert found["generated vectors"] == RISK_OF_MEANS


def test_risk_swapped_arguments_named():
    # The squared, absolute and 0-1 losses are symmetric, so only the pinball cases fail.
    wrong = risk_calling(lambda loss, y, y_hat: np.mean(loss(y_hat, y)))

    assert failures("m03.empirical_risk", wrong) == {"reference vectors": RISK_SWAPPED, "generated vectors": RISK_SWAPPED}


def test_risk_fixed_formula_named():
    wrong = risk_calling(lambda loss, y, y_hat: np.mean((y - y_hat) ** 2))

    assert failures("m03.empirical_risk", wrong) == {
        "reference vectors": RISK_FIXED_FORMULA,
        "generated vectors": RISK_FIXED_FORMULA,
    }


def test_risk_float_conversion_fails_labels():
    def as_float(loss, y, y_hat):
        return risk_from(np.mean)(loss, np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float))

    found = failures("m03.empirical_risk", as_float)

    assert list(found) == ["reference vectors", "generated vectors"]
    assert found["reference vectors"].startswith("your code raised ValueError: could not convert string to float")


def test_risk_no_validation_fails_edge_cases():
    def unvalidated(loss, y, y_hat):
        return float(np.mean(loss(np.asarray(y), np.asarray(y_hat))))

    assert failures("m03.empirical_risk", unvalidated) == {
        "shape mismatch": "expected ValueError because y and y_hat have different lengths, but your function returned float",
        "empty input": "expected ValueError because the mean of no losses is undefined, but your function returned nan",
        "loss not per sample": "expected ValueError because the loss returned one number instead of one loss per sample, "
        "but your function returned float",
    }


@pytest.mark.parametrize(
    "aggregate",
    [np.sum, np.median, lambda losses: np.sum(losses) / (len(losses) - 1)],
    ids=["sum", "median", "n_minus_one"],
)
def test_risk_mistake_loses_points(aggregate):
    assert grade("m03.empirical_risk", risk_from(aggregate), points=3, seed=RISK_SEED) == 2.0


@pytest.mark.parametrize(
    "aggregate",
    [np.average, lambda losses: losses.sum() / losses.size, lambda losses: np.add.reduce(losses) / len(losses)],
    ids=["average", "sum_over_size", "reduce"],
)
def test_risk_alternative_accepted(aggregate):
    assert grade("m03.empirical_risk", risk_from(aggregate), points=3, seed=RISK_SEED) == 3


def test_risk_sample_loop_too_slow_in_grading():
    def sample_loop(loss, y, y_hat):
        y, y_hat = np.asarray(y), np.asarray(y_hat)
        if y.shape != y_hat.shape or y.size == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        if np.shape(loss(y, y_hat)) != y.shape:
            raise ValueError("the loss must return one value per sample")
        return float(np.mean([loss(target, prediction) for target, prediction in zip(y[:200_000], y_hat[:200_000])]))

    # Only the first 200,000 samples are looped over, to keep this test short; even so the loop
    # takes far longer than the limit. The truncation changes the value on the large case only,
    # which the timing group does not compare.
    assert check("m03.empirical_risk", sample_loop).passed
    assert list(graded_failures("m03.empirical_risk", sample_loop, seed=RISK_SEED)) == ["vectorised"]


finite_floats = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(arrays(float, n, elements=finite_floats), arrays(float, n, elements=finite_floats))))
def test_risk_reference_matches_sklearn_regression(pair):
    from sklearn.metrics import mean_absolute_error, mean_pinball_loss, mean_squared_error

    y, y_hat = pair

    assert reference_empirical_risk(squared_loss, y, y_hat) == pytest.approx(mean_squared_error(y, y_hat), rel=1e-9, abs=1e-9)
    assert reference_empirical_risk(absolute_loss, y, y_hat) == pytest.approx(mean_absolute_error(y, y_hat), rel=1e-9, abs=1e-9)
    assert reference_empirical_risk(pinball_loss_90, y, y_hat) == pytest.approx(
        mean_pinball_loss(y, y_hat, alpha=0.9), rel=1e-9, abs=1e-9
    )


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    arrays(np.int64, n, elements=st.integers(0, 3)), arrays(np.int64, n, elements=st.integers(0, 3))
)))
def test_risk_zero_one_matches_sklearn(pair):
    from sklearn.metrics import zero_one_loss as sklearn_zero_one_loss

    y, y_hat = pair

    assert reference_empirical_risk(zero_one_loss, y, y_hat) == pytest.approx(sklearn_zero_one_loss(y, y_hat))


# --- Regularised objective -------------------------------------------------------------------------


def objective_from(formula):
    """Build an objective with a correct one's checks whose value is ``formula(X, y, w, lam, penalty)``."""

    def regularised_objective(X, y, w, lam, penalty):
        X, y, w = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(w, dtype=float)
        if penalty not in ("l1", "l2") or lam < 0:
            raise ValueError("penalty must be 'l1' or 'l2' and lam at least 0")
        if X.ndim != 2 or X.shape != (y.size, w.size) or y.size == 0:
            raise ValueError("X, y and w must fit together and hold samples")
        return float(formula(X, y, w, lam, penalty))

    return regularised_objective


def mse_term(X, y, w):
    return np.mean((X @ w - y) ** 2)


def penalty_term(w, penalty):
    return np.sum(np.abs(w)) if penalty == "l1" else np.sum(w**2)


@pytest.mark.parametrize(
    ("formula", "explanation"),
    [
        (lambda X, y, w, lam, pen: np.sum((X @ w - y) ** 2) + lam * penalty_term(w, pen),
         "the data term is a sum of squared residuals: divide it by n (take the mean)"),
        (lambda X, y, w, lam, pen: mse_term(X, y, w) / 2 + lam * penalty_term(w, pen),
         "the data term has a factor 1/2, as in scikit-learn's Lasso: this exercise uses the plain MSE"),
        (lambda X, y, w, lam, pen: np.sqrt(mse_term(X, y, w)) + lam * penalty_term(w, pen),
         "the data term looks like the RMSE: the MSE has no square root"),
        (lambda X, y, w, lam, pen: mse_term(X, y, w) + penalty_term(w, pen),
         "lambda is missing: scale the penalty by lam"),
        (lambda X, y, w, lam, pen: lam * (mse_term(X, y, w) + penalty_term(w, pen)),
         "lam scales the whole objective: multiply only the penalty by lam"),
        (lambda X, y, w, lam, pen: mse_term(X, y, w) - lam * penalty_term(w, pen),
         "the penalty is subtracted: regularisation adds lam * penalty(w) to the data loss"),
        (lambda X, y, w, lam, pen: mse_term(X, y, w) + lam * penalty_term(w, "l2" if pen == "l1" else "l1"),
         "'l1' and 'l2' are swapped: L1 sums |w_j|, L2 sums w_j**2"),
        (lambda X, y, w, lam, pen: mse_term(X, y, w) + lam * (np.mean(np.abs(w)) if pen == "l1" else np.mean(w**2)),
         "the penalty averages over the weights: sum them"),
    ],
    ids=["sum", "half_data", "rmse", "no_lambda", "lambda_everywhere", "subtracted", "swapped", "mean_penalty"],
)
def test_objective_mistake_named(formula, explanation):
    assert failures("m03.regularised_objective", objective_from(formula)) == {
        "reference problem": explanation,
        "generated problems": explanation,
    }


@pytest.mark.parametrize(
    ("l2_term", "explanation"),
    [
        (lambda w: np.sum(w**2) / 2, "extra factor 1/2 on the L2 penalty: this course defines it as lam * sum(w**2)"),
        (np.linalg.norm, "the L2 penalty is the squared norm of w, not the norm"),
    ],
    ids=["half", "norm"],
)
def test_objective_l2_mistake_named(l2_term, explanation):
    def formula(X, y, w, lam, pen):
        return mse_term(X, y, w) + lam * (np.sum(np.abs(w)) if pen == "l1" else l2_term(w))

    assert failures("m03.regularised_objective", objective_from(formula)) == {
        "reference problem": explanation,
        "generated problems": explanation,
    }


def test_objective_no_validation_fails_edge_cases():
    def unvalidated(X, y, w, lam, penalty):
        size = np.sum(np.abs(w)) if penalty == "l1" else np.sum(np.square(w))
        return float(np.mean((X @ w - y) ** 2) + lam * size)

    assert failures("m03.regularised_objective", unvalidated) == {
        "unknown penalty": "expected ValueError because penalty must be 'l1' or 'l2', but your function returned float",
        "negative lambda": "expected ValueError because a penalty strength below 0 rewards large weights, "
        "but your function returned float",
        "shape mismatch": "expected ValueError because X must have one row per value of y and one column per weight, "
        "but your function returned float",
        "empty input": "expected ValueError because there are no samples to average over, but your function returned nan",
    }


def test_objective_mistake_loses_points():
    wrong = objective_from(lambda X, y, w, lam, pen: mse_term(X, y, w) / 2 + lam * penalty_term(w, pen))

    assert grade("m03.regularised_objective", wrong, points=3, seed=OBJECTIVE_SEED) == 2.0


@pytest.mark.parametrize(
    "formula",
    [
        lambda X, y, w, lam, pen: (X @ w - y) @ (X @ w - y) / len(y) + lam * np.linalg.norm(w, 1 if pen == "l1" else 2) ** (
            1 if pen == "l1" else 2
        ),
        lambda X, y, w, lam, pen: np.mean(np.square(y - X @ w)) + lam * (np.abs(w).sum() if pen == "l1" else w @ w),
        lambda X, y, w, lam, pen: np.linalg.norm(X @ w - y) ** 2 / X.shape[0] + lam * {"l1": np.abs(w), "l2": w * w}[pen].sum(),
    ],
    ids=["norms", "flipped_residual", "dict_of_penalties"],
)
def test_objective_alternative_accepted(formula):
    assert grade("m03.regularised_objective", objective_from(formula), points=3, seed=OBJECTIVE_SEED) == 3


def regression_problem(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + rng.normal(0, 0.5, n)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 40), st.integers(1, 6), st.floats(0, 10))
def test_objective_data_term_matches_sklearn(seed, n, d, lam):
    from sklearn.metrics import mean_squared_error

    X, y = regression_problem(seed, n, d)
    w = np.random.default_rng(seed + 1).normal(size=d)

    assert reference_regularised_objective(X, y, w, lam, "l2") == pytest.approx(
        mean_squared_error(y, X @ w) + lam * np.linalg.norm(w) ** 2, rel=1e-9
    )
    assert reference_regularised_objective(X, y, w, lam, "l1") == pytest.approx(
        mean_squared_error(y, X @ w) + lam * np.linalg.norm(w, 1), rel=1e-9
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 40), st.integers(1, 5), st.floats(0.01, 5))
def test_objective_minimised_by_sklearn_ridge(seed, n, d, lam):
    from sklearn.linear_model import Ridge

    X, y = regression_problem(seed, n, d)
    # Ridge minimises ||Xw - y||^2 + alpha ||w||^2, which is n times the objective when alpha = n * lam.
    w = Ridge(alpha=n * lam, fit_intercept=False, solver="cholesky").fit(X, y).coef_
    closed_form = np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)
    best = reference_regularised_objective(X, y, w, lam, "l2")

    assert np.allclose(w, closed_form, rtol=1e-6, atol=1e-9)
    for step in np.eye(d) * 1e-3:
        assert best <= reference_regularised_objective(X, y, w + step, lam, "l2")
        assert best <= reference_regularised_objective(X, y, w - step, lam, "l2")


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(10, 40), st.integers(1, 5), st.floats(0.01, 1))
def test_objective_minimised_by_sklearn_lasso(seed, n, d, lam):
    from sklearn.linear_model import Lasso

    X, y = regression_problem(seed, n, d)
    # Lasso minimises ||Xw - y||^2 / (2n) + alpha ||w||_1, half the objective when alpha = lam / 2.
    w = Lasso(alpha=lam / 2, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_
    best = reference_regularised_objective(X, y, w, lam, "l1")

    for step in np.eye(d) * 1e-3:
        assert best <= reference_regularised_objective(X, y, w + step, lam, "l1") + 1e-9
        assert best <= reference_regularised_objective(X, y, w - step, lam, "l1") + 1e-9
