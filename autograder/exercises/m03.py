"""Module 03, losses and risk: MSE, binary cross-entropy, L1 and L2 penalties, the ridge
gradient, one gradient-descent step, the choice between L1 and L2, the empirical risk of any
per-sample loss and the regularised objective."""

from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, Field

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import (
    Inputs,
    Mistake,
    Tolerance,
    matches_reference,
    raises_value_error,
    random_regression_cases,
    runs_within,
    satisfies,
)
from autograder.exercises import Exercise, decision_exercise, register, seeded

TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
PUBLIC_SEED = 0
LARGE_SIZE = 1_000_000
TIME_LIMIT_SECONDS = 0.1


# --- MSE -------------------------------------------------------------------------------


def reference_mse(y, y_hat):
    return float(np.mean((np.asarray(y, float) - np.asarray(y_hat, float)) ** 2))


MSE_MISTAKES = (
    Mistake("looks like a sum of squared errors: divide by the number of samples (take the mean)",
            lambda y, p: np.sum((np.asarray(y) - np.asarray(p)) ** 2)),
    Mistake("looks like the RMSE: the MSE has no square root",
            lambda y, p: np.sqrt(np.mean((np.asarray(y) - np.asarray(p)) ** 2))),
    Mistake("looks like the mean absolute error: square the errors instead of taking their absolute value",
            lambda y, p: np.mean(np.abs(np.asarray(y) - np.asarray(p)))),
    Mistake("looks like the square of the mean error: square each error first, then average",
            lambda y, p: np.mean(np.asarray(y) - np.asarray(p)) ** 2),
    Mistake("your MSE is not symmetric in its error sign: the errors are not squared",
            lambda y, p: np.mean(np.asarray(y) - np.asarray(p))),
    Mistake("looks like a division by n - 1: the MSE divides by n",
            lambda y, p: np.sum((np.asarray(y) - np.asarray(p)) ** 2) / (len(y) - 1)),
)

MSE_REFERENCE_CASES = [(np.array([3, -0.5, 2, 7]), np.array([2.5, 0.0, 2, 8]))]


def _mse_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference vectors", reference_mse, MSE_REFERENCE_CASES, tolerance=TOLERANCE, mistakes=MSE_MISTAKES),
        matches_reference("generated vectors", reference_mse, lambda: random_regression_cases(seed),
                          tolerance=TOLERANCE, mistakes=MSE_MISTAKES),
        satisfies("symmetric in the error sign", _symmetric_in_sign,
                  hint="squaring makes an error of -2 cost as much as +2"),
        raises_value_error("shape mismatch", [(np.ones(3), np.ones(4))], why="y and y_hat have different lengths"),
        raises_value_error("empty input", [(np.array([]), np.array([]))], why="the mean of no errors is undefined"),
    ]
    if timed:
        groups.append(runs_within("vectorised", lambda: [_large_pair(seed)], TIME_LIMIT_SECONDS))
    return groups


def _large_pair(seed: int):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=LARGE_SIZE)
    return y, y + rng.normal(size=LARGE_SIZE)


def _symmetric_in_sign(function: Callable) -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    errors = np.array([0.5, -1.0, 2.0, -0.25])
    if not np.isclose(function(y, y + errors), function(y, y - errors)):
        raise AssertionError("flipping the sign of every error changed your MSE: square the errors")


# --- Binary cross-entropy ---------------------------------------------------------------

BCE_EPS = 1e-15


def reference_bce(y, p, eps=BCE_EPS):
    y = np.asarray(y, float)
    p = np.clip(np.asarray(p, float), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _unclipped(log):
    def compute(y, p, eps=BCE_EPS):
        y, p = np.asarray(y, float), np.clip(np.asarray(p, float), eps, 1 - eps)
        return -np.mean(y * log(p) + (1 - y) * log(1 - p))

    return compute


BCE_MISTAKES = (
    Mistake("looks like log base 10 instead of the natural log", _unclipped(np.log10)),
    Mistake("looks like log base 2 instead of the natural log", _unclipped(np.log2)),
    Mistake("looks like a sum over samples: take the mean",
            lambda y, p, eps=BCE_EPS: reference_bce(y, p, eps) * len(y)),
    Mistake("the sign is flipped: cross-entropy is the negative mean log-likelihood, so it is never negative",
            lambda y, p, eps=BCE_EPS: -reference_bce(y, p, eps)),
    Mistake("the (1 - y) * log(1 - p) term is missing, so negative samples cost nothing",
            lambda y, p, eps=BCE_EPS: float(-np.mean(np.asarray(y) * np.log(np.clip(np.asarray(p, float), eps, 1 - eps))))),
    Mistake("y and p play swapped roles: y is the label, p the predicted probability",
            lambda y, p, eps=BCE_EPS: reference_bce(p, y, eps)),
)

# Labels spam = 1, ham = 0, and the predicted probability of spam.
BCE_REFERENCE_CASES = [(np.array([1, 0, 0, 1]), np.array([0.9, 0.1, 0.2, 0.65]))]


def _random_bce_cases(seed: int, count: int = 5):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        n = int(rng.integers(2, 60))
        cases.append((rng.integers(0, 2, n), rng.uniform(0.01, 0.99, n)))
    return cases


def _finite_at_certainty(function: Callable) -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([1.0, 0.0, 0.0, 1.0])
    value = function(y, p)
    if not np.isfinite(value):
        raise AssertionError("probabilities of exactly 0 and 1 make the loss infinite: clip them to [eps, 1 - eps]")
    if not np.isclose(value, reference_bce(y, p), rtol=1e-6):
        raise AssertionError("with probabilities of exactly 0 and 1 your loss differs: clip p to [eps, 1 - eps] before the log")


def _bce_groups(seed: int) -> list[CaseGroup]:
    return [
        matches_reference("reference vectors", reference_bce, BCE_REFERENCE_CASES, tolerance=TOLERANCE, mistakes=BCE_MISTAKES),
        matches_reference("generated vectors", reference_bce, lambda: _random_bce_cases(seed),
                          tolerance=TOLERANCE, mistakes=BCE_MISTAKES),
        satisfies("stable at probabilities 0 and 1", _finite_at_certainty),
        raises_value_error("shape mismatch", [(np.ones(3), np.full(4, 0.5))], why="y and p have different lengths"),
    ]


# --- L1 and L2 penalties ------------------------------------------------------------------


def reference_l1(w, lam):
    return float(lam * np.sum(np.abs(w)))


def reference_l2(w, lam):
    return float(lam * np.sum(np.asarray(w, float) ** 2))


L1_MISTAKES = (
    Mistake("the L1 penalty sums absolute values: negative weights must not lower it", lambda w, lam: lam * np.sum(w)),
    Mistake("that is the L2 penalty: L1 uses absolute values, not squares", reference_l2),
    Mistake("lambda is missing: scale the norm by lam", lambda w, lam: np.sum(np.abs(w))),
    Mistake("looks like the mean of absolute weights: the L1 norm is their sum", lambda w, lam: lam * np.mean(np.abs(w))),
)

L2_MISTAKES = (
    Mistake("missing square: the L2 penalty is lam times the squared L2 norm", lambda w, lam: lam * np.linalg.norm(w)),
    Mistake("extra factor 1/2: this exercise defines the penalty as lam * sum(w**2)", lambda w, lam: lam / 2 * np.sum(np.square(w))),
    Mistake("that is the L1 penalty: L2 squares the weights", reference_l1),
    Mistake("lambda is missing: scale the squared norm by lam", lambda w, lam: np.sum(np.square(w))),
)


def _random_weights(seed: int, count: int = 5):
    rng = np.random.default_rng(seed)
    return [(rng.normal(0, 3, int(rng.integers(1, 20))), float(rng.uniform(0.01, 5))) for _ in range(count)]


def _on_key(key: str, group: CaseGroup) -> CaseGroup:
    def run(answer: Any) -> None:
        if not isinstance(answer, dict) or key not in answer:
            raise AssertionError(f"expected a dict with the key {key!r} mapped to your function")
        group.run(answer[key])

    return CaseGroup(f"{key}: {group.name}", run, group.hint, group.weight)


def _penalty_groups(seed: int) -> list[CaseGroup]:
    fixed = [(np.array([0.5, -1.0, 2.0]), 0.1)]
    return [
        _on_key("l1", matches_reference("reference weights", reference_l1, fixed, tolerance=TOLERANCE, mistakes=L1_MISTAKES)),
        _on_key("l1", matches_reference("generated weights", reference_l1, lambda: _random_weights(seed), mistakes=L1_MISTAKES)),
        _on_key("l2", matches_reference("reference weights", reference_l2, fixed, tolerance=TOLERANCE, mistakes=L2_MISTAKES)),
        _on_key("l2", matches_reference("generated weights", reference_l2, lambda: _random_weights(seed), mistakes=L2_MISTAKES)),
    ]


# --- Ridge gradient and a gradient-descent step ------------------------------------------------


def ridge_loss(X, y, w, lam):
    residual = X @ w - y
    return float(np.mean(residual**2) + lam * np.sum(w**2))


def reference_ridge_gradient(X, y, w, lam):
    return 2 / len(y) * X.T @ (X @ w - y) + 2 * lam * w


RIDGE_MISTAKES = (
    Mistake("the factor 2 from differentiating the square is missing in both terms",
            lambda X, y, w, lam: X.T @ (X @ w - y) / len(y) + lam * w),
    Mistake("the data term is not divided by the number of samples n",
            lambda X, y, w, lam: 2 * X.T @ (X @ w - y) + 2 * lam * w),
    Mistake("the sign of the data term is flipped: the residual is X @ w - y",
            lambda X, y, w, lam: 2 / len(y) * X.T @ (y - X @ w) + 2 * lam * w),
    Mistake("the penalty term 2 * lam * w is missing",
            lambda X, y, w, lam: 2 / len(y) * X.T @ (X @ w - y)),
    Mistake("the penalty gradient is 2 * lam * w, not lam * w",
            lambda X, y, w, lam: 2 / len(y) * X.T @ (X @ w - y) + lam * w),
)


def _random_regression_problems(seed: int, count: int = 4):
    rng = np.random.default_rng(seed)
    problems = []
    for _ in range(count):
        n, d = int(rng.integers(5, 40)), int(rng.integers(1, 6))
        X = rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + rng.normal(0, 0.1, n)
        problems.append((X, y, rng.normal(size=d), float(rng.uniform(0.01, 1))))
    return problems


RIDGE_FIXED = [(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([1.0, 2.0, 3.0]), np.array([0.1, -0.2]), 0.5)]


def _agrees_with_finite_differences(function: Callable) -> None:
    for X, y, w, lam in _random_regression_problems(11, 2):
        step = 1e-6
        numeric = np.array([
            (ridge_loss(X, y, w + step * e, lam) - ridge_loss(X, y, w - step * e, lam)) / (2 * step)
            for e in np.eye(len(w))
        ])
        if not np.allclose(function(X, y, w, lam), numeric, rtol=1e-4, atol=1e-6):
            raise AssertionError("your gradient disagrees with central finite differences of the ridge loss")


def _ridge_groups(seed: int) -> list[CaseGroup]:
    return [
        matches_reference("reference problem", reference_ridge_gradient, RIDGE_FIXED, tolerance=TOLERANCE, mistakes=RIDGE_MISTAKES),
        matches_reference("generated problems", reference_ridge_gradient, lambda: _random_regression_problems(seed),
                          tolerance=TOLERANCE, mistakes=RIDGE_MISTAKES),
        satisfies("agrees with finite differences", _agrees_with_finite_differences),
    ]


def reference_gradient_step(X, y, w, lam, lr):
    return w - lr * reference_ridge_gradient(X, y, w, lam)


STEP_MISTAKES = (
    Mistake("the step goes uphill: subtract the gradient, do not add it",
            lambda X, y, w, lam, lr: w + lr * reference_ridge_gradient(X, y, w, lam)),
    Mistake("the learning rate is missing: scale the gradient by lr",
            lambda X, y, w, lam, lr: w - reference_ridge_gradient(X, y, w, lam)),
    Mistake("looks like the new weights are the scaled gradient alone: start from w",
            lambda X, y, w, lam, lr: -lr * reference_ridge_gradient(X, y, w, lam)),
)


def _with_learning_rate(problems, lr=0.01):
    return [(*problem, lr) for problem in problems]


def _lowers_the_loss(function: Callable) -> None:
    for X, y, w, lam in _random_regression_problems(23, 3):
        before = ridge_loss(X, y, w, lam)
        after = ridge_loss(X, y, np.asarray(function(X, y, w.copy(), lam, 0.01), float), lam)
        if not after < before:
            raise AssertionError("one step with a small learning rate did not lower the ridge loss")


def _leaves_weights_unchanged(function: Callable) -> None:
    X, y, w, lam = _random_regression_problems(5, 1)[0]
    original = w.copy()
    function(X, y, w, lam, 0.01)
    if not np.array_equal(w, original):
        raise AssertionError("your step changed the array w in place: return new weights, e.g. w - lr * grad")


def _step_groups(seed: int) -> list[CaseGroup]:
    return [
        matches_reference("generated problems", reference_gradient_step,
                          lambda: _with_learning_rate(_random_regression_problems(seed)),
                          tolerance=TOLERANCE, mistakes=STEP_MISTAKES),
        satisfies("lowers the loss", _lowers_the_loss),
        satisfies("leaves the input weights unchanged", _leaves_weights_unchanged),
    ]


# --- L1 or L2: a decision ------------------------------------------------------------------


class PenaltyChoice(BaseModel):
    """Answer to: which penalty fits each scenario, and what does it do to the weights."""

    sensor_selection: Literal["L1", "L2"] = Field(description="penalty for the 400-sensor scenario")
    correlated_prices: Literal["L1", "L2"] = Field(description="penalty for the correlated-prices scenario")
    l1_effect: Literal["sets some weights exactly to zero", "shrinks all weights smoothly", "increases large weights"]
    l2_effect: Literal["sets some weights exactly to zero", "shrinks all weights smoothly", "increases large weights"]


register(Exercise("m03.mse", "math", "Mean squared error",
                  lambda: _mse_groups(PUBLIC_SEED, timed=False),
                  lambda *, seed: _mse_groups(seed, timed=True)))
register(Exercise("m03.bce", "math", "Binary cross-entropy, stable near 0 and 1",
                  lambda: _bce_groups(PUBLIC_SEED), seeded(_bce_groups)))
register(Exercise("m03.penalties", "math", "L1 and L2 penalties",
                  lambda: _penalty_groups(PUBLIC_SEED), seeded(_penalty_groups)))
register(Exercise("m03.ridge_gradient", "math", "Gradient of the ridge loss",
                  lambda: _ridge_groups(PUBLIC_SEED), seeded(_ridge_groups)))
register(Exercise("m03.gradient_step", "math", "One gradient-descent step",
                  lambda: _step_groups(PUBLIC_SEED), seeded(_step_groups)))
register(decision_exercise("m03.l1_or_l2", "L1 or L2 for a scenario", PenaltyChoice))


# --- Empirical risk of a per-sample loss -------------------------------------------------------
# The losses handed to the learner's function are vectorised: they take arrays of targets and
# predictions and return one loss per sample. They also accept scalars, so a learner's loop that
# calls them sample by sample still gets right numbers and loses only the timing group.


def squared_loss(y, y_hat):
    return (np.asarray(y, float) - np.asarray(y_hat, float)) ** 2


def absolute_loss(y, y_hat):
    return np.abs(np.asarray(y, float) - np.asarray(y_hat, float))


def zero_one_loss(y, y_hat):
    return np.not_equal(y, y_hat).astype(float)


def pinball_loss_90(y, y_hat):
    """Return the pinball loss of the 0.9 quantile: predicting too low costs nine times more than too high."""
    error = np.asarray(y, float) - np.asarray(y_hat, float)
    return np.maximum(0.9 * error, -0.1 * error)


def averaged_squared_loss(y, y_hat):
    """Return one number for all samples: a broken loss that a correct empirical risk rejects."""
    return float(np.mean(squared_loss(y, y_hat)))


def reference_empirical_risk(loss, y, y_hat):
    y, y_hat = np.asarray(y), np.asarray(y_hat)
    if y.shape != y_hat.shape:
        raise ValueError(f"y has shape {y.shape} but y_hat has shape {y_hat.shape}")
    if y.size == 0:
        raise ValueError("y and y_hat are empty")
    losses = np.asarray(loss(y, y_hat), dtype=float)
    if losses.shape != y.shape:
        raise ValueError(f"the loss returned shape {losses.shape}, expected one value per sample {y.shape}")
    return float(np.mean(losses))


RISK_MISTAKES = (
    Mistake("looks like the total loss: the empirical risk divides it by the number of samples (the mean)",
            lambda loss, y, p: np.sum(loss(y, p))),
    Mistake("looks like a division by n - 1: the empirical risk divides by n",
            lambda loss, y, p: np.sum(loss(y, p)) / (len(y) - 1)),
    Mistake("looks like the loss of the mean target and mean prediction: apply the loss to each sample, then average",
            lambda loss, y, p: np.mean(loss(np.mean(y), np.mean(p)))),
    Mistake("looks like the median of the losses: the empirical risk is their mean",
            lambda loss, y, p: np.median(loss(y, p))),
    Mistake("y and y_hat play swapped roles: call loss(y, y_hat) in that order, because a loss such as the "
            "pinball loss is not symmetric",
            lambda loss, y, p: np.mean(loss(p, y))),
    Mistake("your result does not depend on the loss you were given: call loss(y, y_hat) instead of a fixed formula",
            lambda loss, y, p: np.mean((np.asarray(y, float) - np.asarray(p, float)) ** 2)),
)

RISK_REFERENCE_CASES = [
    (squared_loss, np.array([3, -0.5, 2, 7]), np.array([2.5, 0.0, 2, 8])),
    (absolute_loss, np.array([3, -0.5, 2, 7]), np.array([2.5, 0.0, 2, 8])),
    (zero_one_loss, np.array(["cat", "dog", "pig", "cat", "dog", "pig"]), np.array(["cat", "pig", "dog", "cat", "cat", "dog"])),
    (pinball_loss_90, np.array([10.0, 12.0, 8.0]), np.array([11.0, 11.0, 11.0])),
]


def _random_risk_cases(seed: int) -> list[Inputs]:
    rng = np.random.default_rng(seed)
    cases: list[Inputs] = []
    for loss in (squared_loss, absolute_loss, pinball_loss_90) * 2:
        # At least three samples: with two, dividing by n - 1 equals the sum.
        n = int(rng.integers(3, 60))
        scale = 10.0 ** rng.uniform(-2, 3)
        y = rng.normal(0, scale, n)
        cases.append((loss, y, y + rng.normal(0, scale / 3, n)))
    names = np.array(["ham", "spam", "promo"])
    for as_text in (False, True):
        n = int(rng.integers(5, 60))
        y, y_hat = rng.integers(0, 3, n), rng.integers(0, 3, n)
        cases.append((zero_one_loss, names[y], names[y_hat]) if as_text else (zero_one_loss, y, y_hat))
    return cases


def _risk_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference vectors", reference_empirical_risk, RISK_REFERENCE_CASES,
                          tolerance=TOLERANCE, mistakes=RISK_MISTAKES),
        matches_reference("generated vectors", reference_empirical_risk, lambda: _random_risk_cases(seed),
                          tolerance=TOLERANCE, mistakes=RISK_MISTAKES),
        raises_value_error("shape mismatch", [(squared_loss, np.ones(1), np.ones(4)), (squared_loss, np.ones(3), np.ones(4))],
                           why="y and y_hat have different lengths"),
        raises_value_error("empty input", [(squared_loss, np.array([]), np.array([]))],
                           why="the mean of no losses is undefined"),
        raises_value_error("loss not per sample", [(averaged_squared_loss, np.ones(3), np.zeros(3))],
                           why="the loss returned one number instead of one loss per sample"),
    ]
    if timed:
        groups.append(runs_within("vectorised", lambda: [(squared_loss, *_large_pair(seed))], TIME_LIMIT_SECONDS))
    return groups


# --- Regularised objective ----------------------------------------------------------------------
# J(w) = MSE(Xw, y) + lam * penalty(w), with no factor 1/2 in either term. w contains no bias term.


def _penalty_term(w, penalty):
    return np.sum(np.abs(w)) if penalty == "l1" else np.sum(np.square(w))


def _data_term(X, y, w):
    return np.mean((X @ w - y) ** 2)


def reference_regularised_objective(X, y, w, lam, penalty):
    X, y, w = np.asarray(X, float), np.asarray(y, float), np.asarray(w, float)
    if penalty not in ("l1", "l2"):
        raise ValueError(f"invalid penalty {penalty!r}; expected 'l1' or 'l2'")
    if lam < 0:
        raise ValueError(f"invalid lam {lam}; the penalty strength must be >= 0")
    if X.ndim != 2 or X.shape != (y.size, w.size):
        raise ValueError(f"X has shape {X.shape}, but y has {y.size} values and w {w.size}")
    if y.size == 0:
        raise ValueError("X and y hold no samples")
    return float(_data_term(X, y, w) + lam * _penalty_term(w, penalty))


OBJECTIVE_MISTAKES = (
    Mistake("the data term is a sum of squared residuals: divide it by n (take the mean)",
            lambda X, y, w, lam, pen: np.sum((X @ w - y) ** 2) + lam * _penalty_term(w, pen)),
    Mistake("the data term has a factor 1/2, as in scikit-learn's Lasso: this exercise uses the plain MSE",
            lambda X, y, w, lam, pen: _data_term(X, y, w) / 2 + lam * _penalty_term(w, pen)),
    Mistake("the data term looks like the RMSE: the MSE has no square root",
            lambda X, y, w, lam, pen: np.sqrt(_data_term(X, y, w)) + lam * _penalty_term(w, pen)),
    Mistake("lambda is missing: scale the penalty by lam",
            lambda X, y, w, lam, pen: _data_term(X, y, w) + _penalty_term(w, pen)),
    Mistake("lam scales the whole objective: multiply only the penalty by lam",
            lambda X, y, w, lam, pen: lam * (_data_term(X, y, w) + _penalty_term(w, pen))),
    Mistake("the penalty is subtracted: regularisation adds lam * penalty(w) to the data loss",
            lambda X, y, w, lam, pen: _data_term(X, y, w) - lam * _penalty_term(w, pen)),
    Mistake("'l1' and 'l2' are swapped: L1 sums |w_j|, L2 sums w_j**2",
            lambda X, y, w, lam, pen: _data_term(X, y, w) + lam * _penalty_term(w, "l2" if pen == "l1" else "l1")),
    Mistake("extra factor 1/2 on the L2 penalty: this course defines it as lam * sum(w**2)",
            lambda X, y, w, lam, pen: _data_term(X, y, w) + lam * _penalty_term(w, pen) / (2 if pen == "l2" else 1)),
    Mistake("the L2 penalty is the squared norm of w, not the norm",
            lambda X, y, w, lam, pen: _data_term(X, y, w) + lam * (np.linalg.norm(w) if pen == "l2" else np.sum(np.abs(w)))),
    Mistake("the penalty averages over the weights: sum them",
            lambda X, y, w, lam, pen: _data_term(X, y, w) + lam * _penalty_term(w, pen) / len(w)),
)


def _both_penalties(problems) -> list[Inputs]:
    return [(*problem, penalty) for problem in problems for penalty in ("l1", "l2")]


def _random_objective_problems(seed: int, count: int = 4) -> list[Inputs]:
    # At least three weights: with one, |w| equals the L2 norm, and with two, averaging the
    # penalty equals halving it, so those mistakes could not be distinguished.
    rng = np.random.default_rng(seed)
    problems = []
    for _ in range(count):
        n, d = int(rng.integers(5, 40)), int(rng.integers(3, 7))
        X = rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + rng.normal(0, 0.1, n)
        problems.append((X, y, rng.normal(size=d), float(rng.uniform(0.05, 2))))
    return _both_penalties(problems)


# Three weights and lam = 0.1 keep the mistakes apart: with two weights, averaging the penalty
# equals halving it, and with lam = 0.5, halving the data term equals scaling the whole objective.
OBJECTIVE_FIXED = [(np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 0.0], [5.0, 6.0, -1.0], [0.0, 1.0, 2.0]]),
                    np.array([1.0, 2.0, 3.0, 0.0]), np.array([0.1, -0.2, 0.3]), 0.1)]


def _objective_groups(seed: int) -> list[CaseGroup]:
    X, y, w, lam = OBJECTIVE_FIXED[0]
    return [
        matches_reference("reference problem", reference_regularised_objective, _both_penalties(OBJECTIVE_FIXED),
                          tolerance=TOLERANCE, mistakes=OBJECTIVE_MISTAKES),
        matches_reference("generated problems", reference_regularised_objective,
                          lambda: _random_objective_problems(seed),
                          tolerance=TOLERANCE, mistakes=OBJECTIVE_MISTAKES),
        raises_value_error("unknown penalty", [(X, y, w, lam, "l3"), (X, y, w, lam, "elasticnet")],
                           why="penalty must be 'l1' or 'l2'"),
        raises_value_error("negative lambda", [(X, y, w, -0.1, "l2")], why="a penalty strength below 0 rewards large weights"),
        raises_value_error("shape mismatch", [(X, y[:1], w, lam, "l2"), (X, y, np.append(w, 1.0), lam, "l1")],
                           why="X must have one row per value of y and one column per weight"),
        raises_value_error("empty input", [(np.empty((0, w.size)), np.array([]), w, lam, "l2")], why="there are no samples to average over"),
    ]


register(Exercise("m03.empirical_risk", "math", "Empirical risk of a per-sample loss",
                  lambda: _risk_groups(PUBLIC_SEED, timed=False),
                  lambda *, seed: _risk_groups(seed, timed=True)))
register(Exercise("m03.regularised_objective", "math", "Regularised objective with an L1 or L2 penalty",
                  lambda: _objective_groups(PUBLIC_SEED), seeded(_objective_groups)))
