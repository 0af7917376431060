"""Module 12, capstone (math track): train and evaluate a claims-triage classifier, and write
the drift report of its production traffic.

Both answers are dicts. ``m12.train_evaluate`` holds the learner's fitted scikit-learn model,
their ``evaluate`` function and the AUC and Brier score it reports on the test rows of the
learner's own data. ``m12.drift_report`` holds the learner's ``drift_report`` function and the
report it returns on the learner's own baseline and production samples.

The drift metrics follow module 10's conventions: the normalised Wasserstein distance divides
by the baseline's sample standard deviation floored at 0.001, and the Jensen-Shannon distance
uses the natural log. A feature breaches its threshold when its value is greater than the
threshold, as in the threshold evaluation of Azure ML's model-monitoring components
(``assets/model_monitoring`` in the Azure/azureml-assets repository).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import Mistake, Tolerance, raises_value_error, satisfies, value_matches
from autograder.checks.seeds import learner_seed
from autograder.exercises import Exercise, register
from autograder.exercises.m04 import reference_roc_auc
from autograder.exercises.m10 import (
    JS_MISTAKES,
    WASSERSTEIN_MISTAKES,
    reference_js_distance,
    reference_psi_azure,
    reference_wasserstein_normalised,
)

TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
PUBLIC_SEED = 0


def _on_key(key: str, group: CaseGroup, form: str) -> CaseGroup:
    """Run ``group`` on ``answer[key]``. ``form`` shows the dict the exercise expects."""

    def run(answer: Any) -> None:
        if not isinstance(answer, dict) or key not in answer:
            raise AssertionError(f"expected a dict with the key {key!r}, such as {form}")
        group.run(answer[key])

    return CaseGroup(f"{key}: {group.name}", run, group.hint, group.weight)


# --- Claims data ------------------------------------------------------------------------------------

TRAIN_EVALUATE_ID = "m12.train_evaluate"
TRAIN_EVALUATE_FORM = '{"model": model, "evaluate": evaluate, "auc": auc, "brier": brier}'
CLAIM_FEATURES = ("claim_amount", "policy_age_days", "vehicle_age", "previous_claims", "days_to_report",
                  "repair_estimate_ratio", "police_report", "injury_reported", "driver_age")
TEST_SHARE = 0.25
# Today's triage rule ranks claims by amount. A model must beat its AUC by this margin, and
# lower the Brier score of the base-rate forecast by this share (its Brier skill score).
AUC_MARGIN = 0.05
MIN_BRIER_SKILL = 0.10
# A model fitted on the training rows alone is not expected to rank the test rows better than the
# probabilities that generated their labels. Measured with scikit-learn 1.9 on 100 data sets of
# _generate_claims: logistic regression, forests, gradient boosting and 25 nearest neighbours
# fitted on the training rows stayed at or below those probabilities' test AUC, while forests and
# boosting fitted on all rows rose 0.03 to 0.25 above it.
LEAK_AUC_MARGIN = 0.02
SAME_PREDICTIONS_ATOL = 1e-9


@dataclass(frozen=True)
class ClaimsData:
    """A claims data set with the probabilities that generated its labels, which the checks use and learners never get."""

    X: np.ndarray
    y: np.ndarray
    true_probability: np.ndarray
    train_rows: np.ndarray
    test_rows: np.ndarray


def _generate_claims(seed: int) -> ClaimsData:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3000, 5000))
    log_amount = rng.normal(7.6, 0.8, n)
    policy_age = rng.integers(20, 3650, n).astype(float)
    previous = rng.poisson(0.5, n).astype(float)
    days_to_report = np.round(rng.exponential(6, n))
    ratio = np.round(rng.beta(2, 5, n), 3)
    police = (rng.random(n) < 0.35).astype(float)
    injury = (rng.random(n) < 0.15).astype(float)
    X = np.column_stack([
        np.round(np.exp(log_amount), 2), policy_age, rng.integers(0, 21, n).astype(float), previous,
        days_to_report, ratio, police, injury, rng.integers(18, 86, n).astype(float),
    ])
    # The log odds of needing an adjuster are nonlinear in the claim amount, the report delay and
    # the policy age. Vehicle age and driver age carry no signal.
    scale = rng.uniform(0.8, 1.2, 7)
    log_odds = (-1.5 + 0.8 * scale[0] * (log_amount - 7.6) + 0.8 * scale[1] * previous + 1.8 * scale[2] * injury
                + 1.4 * scale[3] * (days_to_report > 14) + 4.0 * scale[4] * (ratio - 0.29)
                - 1.0 * scale[5] * police - 0.7 * scale[6] * (policy_age < 180))
    probability = 1 / (1 + np.exp(-log_odds))
    y = (rng.random(n) < probability).astype(int)
    order = rng.permutation(n)
    n_test = int(round(TEST_SHARE * n))
    return ClaimsData(X, y, probability, np.sort(order[n_test:]), np.sort(order[:n_test]))


def claims_training_set(seed: int) -> dict[str, Any]:
    """Generate a learner's claims: features, labels (1 = needs an adjuster) and a fixed split."""
    data = _generate_claims(seed)
    return {"X": data.X, "y": data.y, "feature_names": list(CLAIM_FEATURES),
            "train_rows": data.train_rows, "test_rows": data.test_rows}


# --- Predictions of the learner's model -------------------------------------------------------------


def _auc(y, scores) -> float:
    return reference_roc_auc(np.asarray(y), np.asarray(scores, dtype=float), 1)


def _brier(y, p) -> float:
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def positive_probabilities(model: Any, X: np.ndarray) -> np.ndarray:
    """Return the model's probabilities of class 1 on ``X``, or raise ``AssertionError`` naming the problem."""
    if not hasattr(model, "predict_proba"):
        raise AssertionError(
            f"your model ({type(model).__name__}) has no predict_proba: AUC and the Brier score need probabilities, "
            "so fit a classifier such as LogisticRegression"
        )
    try:
        proba = np.asarray(model.predict_proba(X), dtype=float)
    except NotFittedError:
        raise AssertionError("your model is not fitted: call model.fit(X[train_rows], y[train_rows]) before returning it") from None
    classes = list(getattr(model, "classes_", []))
    if sorted(classes) != [0, 1]:
        raise AssertionError(f"your model has the classes {classes}, expected 0 and 1: fit it on the labels y")
    if proba.shape != (len(X), 2):
        raise AssertionError(f"predict_proba returned shape {proba.shape}, expected one row of two probabilities per claim")
    if not np.all((proba >= 0) & (proba <= 1)):
        raise AssertionError("predict_proba returned values outside [0, 1] or NaN")
    return proba[:, classes.index(1)]


def _hard_labels(model: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(X), dtype=float)


def _decision_values(model: Any, X: np.ndarray) -> np.ndarray | None:
    if not hasattr(model, "decision_function"):
        return None
    try:
        return np.asarray(model.decision_function(X), dtype=float)
    except (AttributeError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Predictions:
    """A model's outputs on the rows it is evaluated on, and on other rows for the mistakes that use them."""

    y: np.ndarray
    p: np.ndarray
    labels: np.ndarray
    decision: np.ndarray | None = None
    y_train: np.ndarray | None = None
    p_train: np.ndarray | None = None
    y_all: np.ndarray | None = None
    p_all: np.ndarray | None = None

    @classmethod
    def of(cls, model: Any, X: np.ndarray, y: np.ndarray) -> Predictions:
        return cls(np.asarray(y), positive_probabilities(model, X), _hard_labels(model, X), _decision_values(model, X))

    @classmethod
    def on_split(cls, model: Any, data: ClaimsData) -> Predictions:
        test = cls.of(model, data.X[data.test_rows], data.y[data.test_rows])
        return cls(test.y, test.p, test.labels, test.decision,
                   data.y[data.train_rows], positive_probabilities(model, data.X[data.train_rows]),
                   data.y, positive_probabilities(model, data.X))


def _no_decision_values(preds: Predictions) -> np.ndarray:
    if preds.decision is None:
        raise ValueError("the model has no decision_function")
    return preds.decision


AUC_MISTAKES = (
    Mistake("looks like the AUC of hard labels from predict(): AUC ranks scores, so pass the probabilities "
            "predict_proba(X)[:, 1]", lambda preds: _auc(preds.y, preds.labels)),
    Mistake("looks like the AUC of column 0 of predict_proba, the probability of class 0: take the column of class 1, "
            "predict_proba(X)[:, 1]", lambda preds: _auc(preds.y, 1 - preds.p)),
    Mistake("looks like the accuracy: AUC compares the scores of every positive with every negative, with no threshold",
            lambda preds: float(np.mean(preds.labels == preds.y))),
    Mistake("looks like the Brier score: the values of 'auc' and 'brier' are swapped", lambda preds: _brier(preds.y, preds.p)),
)
BRIER_MISTAKES = (
    Mistake("looks like the error rate, the Brier score of hard labels from predict(): score the probabilities "
            "predict_proba(X)[:, 1]", lambda preds: _brier(preds.y, preds.labels)),
    Mistake("looks like the Brier score of column 0 of predict_proba, the probability of class 0: take the column of "
            "class 1, predict_proba(X)[:, 1]", lambda preds: _brier(preds.y, 1 - preds.p)),
    Mistake("looks like the square root of the Brier score: the Brier score is the mean squared difference, with no root",
            lambda preds: np.sqrt(_brier(preds.y, preds.p))),
    Mistake("looks like a sum of squared differences: divide by the number of rows (take the mean)",
            lambda preds: _brier(preds.y, preds.p) * len(preds.y)),
    Mistake("looks like the log loss: the Brier score is the mean squared difference between probability and label",
            lambda preds: float(-np.mean(preds.y * np.log(np.clip(preds.p, 1e-15, 1))
                                         + (1 - preds.y) * np.log(np.clip(1 - preds.p, 1e-15, 1))))),
    Mistake("looks like the Brier score of decision_function values, which are log odds: score the probabilities "
            "predict_proba(X)[:, 1]", lambda preds: _brier(preds.y, _no_decision_values(preds))),
    Mistake("looks like the AUC: the values of 'auc' and 'brier' are swapped", lambda preds: _auc(preds.y, preds.p)),
)
TRAINING_ROWS = "computed on the training rows: evaluate on X[test_rows] and y[test_rows], which the model has not seen"
ALL_ROWS = "computed on all rows: evaluate on X[test_rows] and y[test_rows] only, because the training rows flatter the model"
AUC_SPLIT_MISTAKES = (
    Mistake(f"looks like the AUC {TRAINING_ROWS}", lambda preds: _auc(preds.y_train, preds.p_train)),
    Mistake(f"looks like the AUC {ALL_ROWS}", lambda preds: _auc(preds.y_all, preds.p_all)),
)
BRIER_SPLIT_MISTAKES = (
    Mistake(f"looks like the Brier score {TRAINING_ROWS}", lambda preds: _brier(preds.y_train, preds.p_train)),
    Mistake(f"looks like the Brier score {ALL_ROWS}", lambda preds: _brier(preds.y_all, preds.p_all)),
)


# --- The learner's model -----------------------------------------------------------------------------


def _learner_claims() -> ClaimsData:
    return _generate_claims(learner_seed(TRAIN_EVALUATE_ID))


def _predicts_probabilities(model: Any) -> None:
    data = _learner_claims()
    positive_probabilities(model, data.X[data.test_rows])


def _not_converged(model: Any) -> bool:
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    n_iter, max_iter = getattr(final, "n_iter_", None), getattr(final, "max_iter", None)
    return n_iter is not None and isinstance(max_iter, int) and int(np.max(n_iter)) >= max_iter


CONVERGENCE_HINT = ("; your model stopped at max_iter before converging, so scale the features in a Pipeline with "
                    "StandardScaler, or raise max_iter")


def _beats_triage_rule(model: Any) -> None:
    data = _learner_claims()
    y, X = data.y[data.test_rows], data.X[data.test_rows]
    amount = X[:, CLAIM_FEATURES.index("claim_amount")]
    if _auc(y, positive_probabilities(model, X)) < _auc(y, amount) + AUC_MARGIN:
        raise AssertionError(
            f"on the test rows, your model's AUC is less than {AUC_MARGIN} above the AUC of ranking claims by "
            "claim_amount alone" + (CONVERGENCE_HINT if _not_converged(model) else "")
        )


def _beats_base_rate(model: Any) -> None:
    data = _learner_claims()
    y = data.y[data.test_rows]
    base_rate_brier = _brier(y, np.full(y.size, data.y[data.train_rows].mean()))
    skill = 1 - _brier(y, positive_probabilities(model, data.X[data.test_rows])) / base_rate_brier
    if skill < MIN_BRIER_SKILL:
        raise AssertionError(
            f"on the test rows, your model's Brier skill score against the base-rate forecast is below {MIN_BRIER_SKILL}: "
            "its probabilities are too far from the observed outcomes, as happens when a model overfits or when "
            "class_weight='balanced' or resampling shifts them"
            + (CONVERGENCE_HINT if _not_converged(model) else "")
        )


def _refit_predictions(model: Any, data: ClaimsData, rows: np.ndarray) -> np.ndarray | None:
    """Return the test-row probabilities of a copy of ``model`` refit on ``rows``, or None if it cannot be refit."""
    try:
        refit = clone(model).fit(data.X[rows], data.y[rows])
        return positive_probabilities(refit, data.X[data.test_rows])
    except Exception:  # noqa: BLE001 - a model that cannot be cloned or refit leaves only the AUC bound
        return None


def _same(first: np.ndarray | None, second: np.ndarray) -> bool:
    return first is not None and bool(np.allclose(first, second, rtol=0, atol=SAME_PREDICTIONS_ATOL))


def _fit_on_training_rows(model: Any) -> None:
    # A deterministic model refit on the training rows reproduces the learner's predictions
    # exactly. When it does not, refits on all rows and on the test rows name the leak, and the
    # AUC bound catches a random model (a forest without random_state) that memorised test rows.
    # NOTE: a random model that cannot memorise, such as an SGDClassifier without random_state,
    # fitted on all rows passes: its refits differ and its test AUC stays below the bound.
    data = _learner_claims()
    X_test, y_test = data.X[data.test_rows], data.y[data.test_rows]
    p = positive_probabilities(model, X_test)
    if _same(_refit_predictions(model, data, data.train_rows), p):
        return
    if _same(_refit_predictions(model, data, np.arange(data.y.size)), p):
        raise AssertionError("your model predicts exactly like a copy of it fitted on all rows: fit it on X[train_rows] "
                             "and y[train_rows] only, so the test rows stay unseen until the evaluation")
    if _same(_refit_predictions(model, data, data.test_rows), p):
        raise AssertionError("your model predicts exactly like a copy of it fitted on the test rows: fit it on "
                             "X[train_rows] and y[train_rows], and keep the test rows for the evaluation")
    if _auc(y_test, p) > _auc(y_test, data.true_probability[data.test_rows]) + LEAK_AUC_MARGIN:
        raise AssertionError(
            f"on the test rows, your model's AUC is more than {LEAK_AUC_MARGIN} above that of the probabilities that "
            "generated the labels, which no model reaches without having seen those rows: fit it on X[train_rows] only"
        )


def _close(actual: Any, expected: float) -> bool:
    return bool(np.isclose(float(actual), expected, rtol=TOLERANCE.rtol, atol=TOLERANCE.atol))


def _check_metric(actual: Any, expected: float, preds: Predictions, mistakes: tuple[Mistake, ...], rows: str) -> None:
    """Raise ``AssertionError`` naming the mistake when ``actual`` is not ``expected`` within ``TOLERANCE``."""
    if callable(actual) or actual is None or isinstance(actual, (str, bytes, dict)) or np.ndim(actual) != 0:
        raise AssertionError(f"expected a number, got {type(actual).__name__}")
    if not np.isfinite(float(actual)):
        raise AssertionError(f"your result is {float(actual)}, but the metric is finite on these rows")
    if _close(actual, expected):
        return
    matched = []
    for mistake in mistakes:
        try:
            mistaken = float(mistake.compute(preds))
        except (ArithmeticError, ValueError, TypeError, IndexError):
            continue
        if _close(actual, mistaken):
            matched.append(mistake.explanation)
    if matched:
        raise AssertionError(matched[0] if len(matched) == 1 else
                             "your result fits more than one typical mistake: " + " OR ".join(matched))
    raise AssertionError(f"your result differs from the metric of the model's probabilities {rows} beyond the "
                         f"{TOLERANCE.describe()}")


def _reported_metric(key: str, mistakes: tuple[Mistake, ...]) -> CaseGroup:
    """Build the group that checks ``answer[key]`` against the metric of ``answer["model"]`` on the test rows."""
    metric = _auc if key == "auc" else _brier

    def run(answer: Any) -> None:
        if not isinstance(answer, dict) or "model" not in answer or key not in answer:
            raise AssertionError(f"expected a dict with the keys 'model' and {key!r}, such as {TRAIN_EVALUATE_FORM}")
        preds = Predictions.on_split(answer["model"], _learner_claims())
        _check_metric(answer[key], metric(preds.y, preds.p), preds, mistakes,
                      "on the test rows, predict_proba(X[test_rows])[:, 1],")

    return CaseGroup(f"{key}: computed on the test rows", run)


# --- The learner's evaluate function -------------------------------------------------------------------


class FixedProbabilityModel(ClassifierMixin, BaseEstimator):
    """A fitted binary classifier whose probability of class 1 for a row is the row's first value.

    ``fit`` raises ``AssertionError``: an evaluation only predicts, so refitting the model it
    evaluates is a mistake the check names.
    """

    def __init__(self) -> None:
        self.classes_ = np.array([0, 1])

    def fit(self, X, y):
        raise AssertionError("your evaluate called model.fit: an evaluation only predicts with the fitted model, "
                             "because refitting would train it on the rows it is evaluated on")

    def predict_proba(self, X):
        p = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def decision_function(self, X):
        p = np.clip(self.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))


def scored_rows(y, p) -> tuple[FixedProbabilityModel, np.ndarray, np.ndarray]:
    """Return the arguments ``(model, X, y)`` of an evaluation whose probabilities of class 1 are ``p``."""
    return FixedProbabilityModel(), np.asarray(p, dtype=float).reshape(-1, 1), np.asarray(y)


def reference_evaluate(model, X, y) -> dict[str, float]:
    y = np.asarray(y)
    if len(X) != y.size:
        raise ValueError(f"X has {len(X)} rows but y has {y.size} labels")
    p = positive_probabilities(model, X)
    if np.unique(y).size < 2:
        raise ValueError("AUC is undefined when y holds a single class")
    return {"auc": _auc(y, p), "brier": _brier(y, p)}


EVALUATE_REFERENCE_CASES = [
    # Every mistake of AUC_MISTAKES and BRIER_MISTAKES gives a different value on this case. With
    # as many positives as negatives, the AUC of hard labels would equal the accuracy.
    scored_rows([0, 1, 0, 0, 1], [0.1, 0.9, 0.3, 0.8, 0.5]),
    scored_rows([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]),
    # Ties between a positive and a negative count 1/2 in the AUC.
    scored_rows([0, 0, 1, 1, 0, 0, 1], [0.8, 0.8, 0.6, 0.8, 0.3, 0.4, 0.8]),
]
CERTAIN_CASES = [
    scored_rows([0, 1, 1, 0, 1], [0.0, 1.0, 0.0, 0.4, 1.0]),
    scored_rows([0, 1, 1, 1], [1.0, 0.0, 0.0, 0.6]),
    # A perfect model: AUC 1 and Brier score 0, where several mistakes coincide.
    scored_rows([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0]),
]


def _random_scored_rows(seed: int, count: int = 6):
    """Draw labels and probabilities rounded to two decimals, so that ties occur."""
    rng = np.random.default_rng(seed + 12)
    cases = []
    for _ in range(count):
        n = int(rng.integers(10, 300))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        logits = rng.normal(0, 1, n) + rng.uniform(0.3, 2.0) * y
        cases.append(scored_rows(y, np.round(1 / (1 + np.exp(-logits)), 2)))
    return cases


def _matches_evaluation(name: str, cases: Callable[[], list[tuple]]) -> CaseGroup:
    def run(function: Any) -> None:
        if not callable(function):
            raise AssertionError(f"expected a function, got {type(function).__name__}: pass evaluate itself, without calling it")
        for model, X, y in cases():
            result = function(model, X.copy(), y.copy())
            if not isinstance(result, dict) or not {"auc", "brier"} <= set(result):
                raise AssertionError(f"expected a dict with the keys 'auc' and 'brier', got {type(result).__name__}")
            preds, expected = Predictions.of(model, X, y), reference_evaluate(model, X, y)
            for key, mistakes in (("auc", AUC_MISTAKES), ("brier", BRIER_MISTAKES)):
                try:
                    _check_metric(result[key], expected[key], preds, mistakes, "on these rows")
                except AssertionError as error:
                    raise AssertionError(f"{key}: {error}") from None

    return CaseGroup(name, run)


def _train_evaluate_groups(seed: int) -> list[CaseGroup]:
    # A model is not callable, so these groups are plain CaseGroups rather than `satisfies`.
    model_groups = [
        CaseGroup("predicts probabilities", _predicts_probabilities),
        CaseGroup("beats today's triage rule", _beats_triage_rule),
        CaseGroup("beats the base-rate forecast", _beats_base_rate),
        CaseGroup("fit on the training rows only", _fit_on_training_rows),
    ]
    evaluate_groups = [
        _matches_evaluation("reference probabilities", lambda: copy.deepcopy(EVALUATE_REFERENCE_CASES)),
        _matches_evaluation("generated probabilities", lambda: _random_scored_rows(seed)),
        _matches_evaluation("probabilities 0 and 1", lambda: copy.deepcopy(CERTAIN_CASES)),
        raises_value_error("one class only", [scored_rows([1, 1, 1], [0.2, 0.5, 0.9]), scored_rows([0, 0], [0.3, 0.1])],
                           why="AUC is undefined without both classes in y"),
        raises_value_error("length mismatch", [(FixedProbabilityModel(), np.array([[0.2], [0.7]]), np.array([0, 1, 1]))],
                           why="X and y have different numbers of rows"),
    ]
    return [
        *(_on_key("model", group, TRAIN_EVALUATE_FORM) for group in model_groups),
        _reported_metric("auc", AUC_MISTAKES + AUC_SPLIT_MISTAKES),
        _reported_metric("brier", BRIER_MISTAKES + BRIER_SPLIT_MISTAKES),
        *(_on_key("evaluate", group, TRAIN_EVALUATE_FORM) for group in evaluate_groups),
    ]


# --- Drift report ---------------------------------------------------------------------------------------

DRIFT_REPORT_ID = "m12.drift_report"
DRIFT_REPORT_FORM = '{"drift_report": drift_report, "value": report}'
DEFAULT_THRESHOLD = 0.1
DEFAULT_THRESHOLDS = {"numerical": DEFAULT_THRESHOLD, "categorical": DEFAULT_THRESHOLD}
METRIC_OF_TYPE = {"numerical": "normalized_wasserstein_distance", "categorical": "jensen_shannon_distance"}
SHOP_TYPES = ("partner", "independent", "dealer", "mobile")


def data_type(values) -> str:
    """Return ``"numerical"`` for numbers (numpy dtype kind i, u or f), else ``"categorical"``."""
    return "numerical" if np.asarray(values).dtype.kind in "iuf" else "categorical"


def category_counts(baseline, production) -> tuple[np.ndarray, np.ndarray]:
    """Count each category of the union of both samples, in the same order for both."""
    baseline, production = np.asarray(baseline), np.asarray(production)
    categories = np.unique(np.concatenate([baseline, production]))
    return ((baseline[:, None] == categories).sum(axis=0), (production[:, None] == categories).sum(axis=0))


def reference_drift_value(baseline, production) -> float:
    if data_type(baseline) == "numerical":
        return reference_wasserstein_normalised(baseline, production)
    return reference_js_distance(*category_counts(baseline, production))


def _validate_drift_inputs(baseline: dict, production: dict, thresholds: tuple[float, float]) -> None:
    if not isinstance(baseline, dict) or not isinstance(production, dict) or set(baseline) != set(production):
        raise ValueError("baseline and production must be dicts with the same feature names")
    for threshold in thresholds:
        if not threshold > 0:
            raise ValueError(f"invalid threshold {threshold!r}: a drift threshold must be greater than 0")
    for name in baseline:
        base, prod = np.asarray(baseline[name]), np.asarray(production[name])
        if base.size == 0 or prod.size == 0:
            raise ValueError(f"feature {name!r} has an empty sample")
        if data_type(base) == "numerical" and (base.size < 2 or np.isnan(base).any() or np.isnan(prod.astype(float)).any()):
            raise ValueError(f"numerical feature {name!r} needs two baseline values or more, and no NaN")


def reference_drift_report(baseline, production, numerical_threshold=DEFAULT_THRESHOLD,
                           categorical_threshold=DEFAULT_THRESHOLD) -> dict[str, Any]:
    _validate_drift_inputs(baseline, production, (numerical_threshold, categorical_threshold))
    features = {}
    for name in baseline:
        kind = data_type(baseline[name])
        threshold = numerical_threshold if kind == "numerical" else categorical_threshold
        value = reference_drift_value(baseline[name], production[name])
        features[name] = {"data_type": kind, "metric": METRIC_OF_TYPE[kind], "value": value,
                          "threshold": threshold, "breached": value > threshold}
    return {"features": features, "drift_detected": any(f["breached"] for f in features.values())}


def _baseline_categories_only(baseline, production) -> float:
    known = np.isin(production, np.unique(baseline))
    return reference_js_distance(*category_counts(baseline, np.asarray(production)[known]))


def _on_counts(mistake: Mistake) -> Mistake:
    return Mistake(mistake.explanation, lambda b, p: mistake.compute(*category_counts(b, p)))


NUMERICAL_MISTAKES = (
    *WASSERSTEIN_MISTAKES,
    Mistake("looks like a PSI: Azure ML's default metric for a numerical feature is the normalised Wasserstein distance",
            lambda b, p: reference_psi_azure(b, p)),
)
CATEGORICAL_MISTAKES = (
    *(_on_counts(mistake) for mistake in JS_MISTAKES),
    Mistake("the categories that appear only in production are dropped: count every category of either sample, "
            "with a count of 0 where it is missing", _baseline_categories_only),
)


def _check_feature(name: str, entry: Any, baseline, production, thresholds: dict[str, float]) -> None:
    kind = data_type(baseline)
    if not isinstance(entry, dict):
        raise AssertionError(f"{name}: expected a dict with data_type, metric, value, threshold and breached, "
                             f"got {type(entry).__name__}")
    if entry.get("data_type") != kind:
        dtype = np.asarray(baseline).dtype
        raise AssertionError(f"{name}: data_type should be {kind!r}, because its values have the numpy dtype {dtype}: "
                             "numbers are numerical, strings and booleans categorical")
    if entry.get("metric") != METRIC_OF_TYPE[kind]:
        raise AssertionError(f"{name}: metric should be {METRIC_OF_TYPE[kind]!r}, Azure ML's default drift metric "
                             f"for {kind} features")
    mistakes = NUMERICAL_MISTAKES if kind == "numerical" else CATEGORICAL_MISTAKES
    try:
        value_matches("", reference_drift_value, lambda: (baseline, production), tolerance=TOLERANCE,
                      mistakes=mistakes).run(entry.get("value"))
    except AssertionError as error:
        raise AssertionError(f"{name}: value: {error}") from None
    _check_threshold(name, entry, kind, thresholds)


def _check_threshold(name: str, entry: dict, kind: str, thresholds: dict[str, float]) -> None:
    other = "categorical" if kind == "numerical" else "numerical"
    if entry.get("threshold") != thresholds[kind]:
        if entry.get("threshold") == thresholds[other] and thresholds[kind] != thresholds[other]:
            raise AssertionError(f"{name}: threshold is {other}_threshold: a {kind} feature uses {kind}_threshold")
        raise AssertionError(f"{name}: threshold should be {kind}_threshold, the threshold you compared the value with")
    value, threshold, breached = entry["value"], entry["threshold"], entry.get("breached")
    if not isinstance(breached, (bool, np.bool_)):
        raise AssertionError(f"{name}: breached should be True or False, got {type(breached).__name__}")
    if bool(breached) != (value > threshold):
        if value == threshold:
            raise AssertionError(f"{name}: breached is True for a value equal to the threshold: a feature breaches "
                                 "when its value is greater than the threshold (>, not >=), as in Azure ML's monitor")
        raise AssertionError(f"{name}: breached should be True exactly when the value is greater than the threshold")


def _check_report(report: Any, baseline: dict, production: dict, thresholds: dict[str, float]) -> None:
    if not isinstance(report, dict) or not isinstance(report.get("features"), dict) or "drift_detected" not in report:
        raise AssertionError("expected a report dict with the keys 'features' (a dict per feature) and 'drift_detected'")
    features = report["features"]
    if set(features) != set(baseline):
        raise AssertionError(f"the report's features {sorted(features)} differ from the input's {sorted(baseline)}: "
                             "report every feature once")
    for name in baseline:
        _check_feature(name, features[name], baseline[name], production[name], thresholds)
    breached = [bool(features[name]["breached"]) for name in baseline]
    detected = report["drift_detected"]
    if not isinstance(detected, (bool, np.bool_)):
        raise AssertionError(f"drift_detected should be True or False, got {type(detected).__name__}")
    if bool(detected) != any(breached):
        if any(breached) and not all(breached):
            raise AssertionError("drift_detected is False although a feature breached its threshold: drift is detected "
                                 "when any feature breaches, not only when all do")
        raise AssertionError("drift_detected should be True exactly when at least one feature breached its threshold")


def _drift_case(baseline: dict, production: dict, numerical_threshold: float = DEFAULT_THRESHOLD,
                categorical_threshold: float = DEFAULT_THRESHOLD) -> tuple:
    return baseline, production, {"numerical_threshold": numerical_threshold, "categorical_threshold": categorical_threshold}


def _thresholds_of(kwargs: dict[str, float]) -> dict[str, float]:
    return {"numerical": kwargs["numerical_threshold"], "categorical": kwargs["categorical_threshold"]}


def _run_report(function: Any, baseline: dict, production: dict, kwargs: dict[str, float]) -> Any:
    if not callable(function):
        raise AssertionError(f"expected a function, got {type(function).__name__}: pass drift_report itself, without calling it")
    return function(copy.deepcopy(baseline), copy.deepcopy(production), **kwargs)


def _matches_report(name: str, cases: Callable[[], list[tuple]]) -> CaseGroup:
    def run(function: Any) -> None:
        for baseline, production, kwargs in cases():
            report = _run_report(function, baseline, production, kwargs)
            _check_report(report, baseline, production, _thresholds_of(kwargs))

    return CaseGroup(name, run)


def _shuffled(counts: dict[str, int], seed: int) -> np.ndarray:
    values = np.repeat(np.array(list(counts)), list(counts.values()))
    return np.random.default_rng(seed).permutation(values)


def _reference_drift_cases() -> list[tuple]:
    baseline = {
        "claim_amount": np.array([3000.0, 1000.0, 5000.0, 2000.0, 4000.0]),
        "policy_age_days": np.array([365, 1460, 30, 730, 2190, 90, 1095, 180]),
        "repair_shop_type": _shuffled({"partner": 50, "independent": 30, "dealer": 20}, 1),
    }
    production = {
        "claim_amount": np.array([3500.0, 0.0, 7000.0, 3000.0]),
        "policy_age_days": np.array([1140, 75, 2235, 410, 155, 795, 1505, 225, 95, 2255, 430, 1160, 135, 775, 1525, 245]),
        "repair_shop_type": _shuffled({"partner": 30, "independent": 30, "dealer": 40}, 2),
    }
    new_category = {
        "vehicle_age": np.full(10, 4.0),
        "repair_shop_type": _shuffled({"partner": 120, "independent": 80, "dealer": 40}, 3),
    }
    # A constant baseline divides by the floor 0.001, and "mobile" appears only in production.
    new_category_production = {
        "vehicle_age": np.array([4.0, 4.0, 4.5, 5.0]),
        "repair_shop_type": _shuffled({"partner": 100, "independent": 60, "mobile": 25, "dealer": 15}, 4),
    }
    return [_drift_case(baseline, production), _drift_case(new_category, new_category_production)]


NUMERICAL_POOL = ("claim_amount", "policy_age_days", "vehicle_age", "days_to_report", "driver_age")
CATEGORICAL_POOL = ("repair_shop_type", "region", "channel", "police_report")


def _random_feature(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_base, n_prod = int(rng.integers(2, 400)), int(rng.integers(1, 400))
    if name == "police_report":
        return rng.random(n_base) < 0.4, rng.random(n_prod) < rng.uniform(0.2, 0.6)
    if name in CATEGORICAL_POOL:
        k = int(rng.integers(2, 6))
        categories = np.array([f"{name}_{i}" for i in range(k + 1)])
        # The last category is missing from the baseline, and appears in production half the time.
        base = rng.choice(categories[:k], n_base, p=rng.dirichlet(np.ones(k)))
        prod = rng.choice(categories[: k + int(rng.random() < 0.5)], n_prod)
        return base, prod
    scale = 10.0 ** rng.uniform(-1, 3)
    base = rng.normal(0, scale, n_base)
    prod = rng.normal(rng.uniform(-0.5, 0.5) * scale, scale * rng.uniform(0.7, 1.5), n_prod)
    if scale > 5 and rng.random() < 0.4:
        return np.round(base).astype(int), np.round(prod).astype(int)
    return base, prod


def _random_drift_cases(seed: int, count: int = 5) -> list[tuple]:
    rng = np.random.default_rng(seed + 13)
    cases = []
    for _ in range(count):
        names = [*rng.choice(NUMERICAL_POOL, int(rng.integers(1, 4)), replace=False),
                 *rng.choice(CATEGORICAL_POOL, int(rng.integers(1, 3)), replace=False)]
        samples = {str(name): _random_feature(str(name), rng) for name in names}
        thresholds = [float(t) for t in rng.choice([0.05, 0.1, 0.2, 0.3], 2)]
        cases.append(_drift_case({n: s[0] for n, s in samples.items()}, {n: s[1] for n, s in samples.items()}, *thresholds))
    return cases


def _strict_threshold(function: Callable) -> None:
    # Each threshold is set to the learner's own value of one feature, which must then not breach.
    baseline, production, _ = _reference_drift_cases()[0]
    first = _run_report(function, baseline, production, {})
    _check_report(first, baseline, production, DEFAULT_THRESHOLDS)
    kwargs = {"numerical_threshold": first["features"]["claim_amount"]["value"],
              "categorical_threshold": first["features"]["repair_shop_type"]["value"]}
    _check_report(_run_report(function, baseline, production, kwargs), baseline, production, _thresholds_of(kwargs))


def _thresholds_per_type_cases() -> list[tuple]:
    # The values are 0.7115 (claim_amount), 0.0717 (policy_age_days) and 0.1721 (repair_shop_type),
    # so swapping the thresholds 0.05 and 0.2 changes whether policy_age_days and repair_shop_type breach.
    baseline, production, _ = _reference_drift_cases()[0]
    return [_drift_case(baseline, production, 0.05, 0.2), _drift_case(baseline, production, 0.2, 0.05)]


def _leaves_samples_unchanged(function: Callable) -> None:
    baseline, production, _ = _reference_drift_cases()[0]
    originals = copy.deepcopy((baseline, production))
    function(baseline, production)
    for sample, original in zip((baseline, production), originals):
        if any(not np.array_equal(sample[name], original[name]) for name in original):
            raise AssertionError("your function changed an input array in place (for example with x.sort()): "
                                 "work on a copy, such as np.sort(x)")


def _invalid_drift_cases() -> list[tuple]:
    baseline, production, _ = _reference_drift_cases()[0]
    without_shop = {name: values for name, values in production.items() if name != "repair_shop_type"}
    return [
        (baseline, without_shop),
        (baseline, {**production, "claim_amount": np.array([])}),
        ({**baseline, "repair_shop_type": np.array([], dtype=str)}, production),
        ({**baseline, "claim_amount": np.array([1000.0])}, production),
        ({**baseline, "claim_amount": np.array([1000.0, np.nan, 3000.0])}, production),
        (baseline, production, 0.0),
        (baseline, production, 0.1, -0.1),
    ]


def claims_traffic(seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Generate a learner's baseline (the evaluation data) and one week of production traffic."""
    rng = np.random.default_rng(seed)
    n_base, n_prod = int(rng.integers(4000, 8000)), int(rng.integers(1000, 2500))
    base_share = np.append(rng.dirichlet([5.0, 3.0, 2.0]), 0.0)
    mobile = rng.uniform(0.005, 0.03)
    prod_share = np.append((0.9 * base_share[:3] + 0.1 * rng.dirichlet([3.0, 3.0, 3.0])) * (1 - mobile), mobile)
    # Claim amounts grow with repair-cost inflation, and a campaign may bring in new policies.
    inflation = rng.uniform(1.0, 1.12)
    young = rng.random(n_prod) < rng.uniform(0.0, 0.06)
    policy_age = rng.integers(20, 3650, n_prod)
    policy_age[young] = rng.integers(1, 120, int(young.sum()))
    baseline = {
        "claim_amount": np.round(rng.lognormal(7.6, 0.8, n_base), 2),
        "policy_age_days": rng.integers(20, 3650, n_base),
        "repair_shop_type": rng.choice(SHOP_TYPES, n_base, p=base_share),
    }
    production = {
        "claim_amount": np.round(inflation * rng.lognormal(7.6, rng.uniform(0.8, 0.86), n_prod), 2),
        "policy_age_days": policy_age,
        "repair_shop_type": rng.choice(SHOP_TYPES, n_prod, p=prod_share),
    }
    return {"baseline": baseline, "production": production}


def _computed_on_learner_data(report: Any) -> None:
    data = claims_traffic(learner_seed(DRIFT_REPORT_ID))
    if callable(report):
        raise AssertionError("expected a report, got a function: call drift_report on your data and pass the result")
    _check_report(report, data["baseline"], data["production"], DEFAULT_THRESHOLDS)


def _drift_report_groups(seed: int) -> list[CaseGroup]:
    function_groups = [
        _matches_report("reference samples", lambda: _reference_drift_cases()),
        _matches_report("generated samples", lambda: _random_drift_cases(seed)),
        satisfies("strict threshold", _strict_threshold),
        _matches_report("thresholds per data type", _thresholds_per_type_cases),
        satisfies("leaves the samples unchanged", _leaves_samples_unchanged),
        raises_value_error("invalid input", _invalid_drift_cases(),
                           why="the feature names differ, a sample is empty, a numerical baseline has fewer than two "
                               "values or a NaN, or a threshold is not greater than 0"),
    ]
    return [
        *(_on_key("drift_report", group, DRIFT_REPORT_FORM) for group in function_groups),
        _on_key("value", CaseGroup("computed on your data", _computed_on_learner_data), DRIFT_REPORT_FORM),
    ]


register(Exercise(TRAIN_EVALUATE_ID, "math", "Train and evaluate the claims-triage model",
                  lambda: _train_evaluate_groups(PUBLIC_SEED), lambda *, seed: _train_evaluate_groups(seed),
                  data=claims_training_set))
register(Exercise(DRIFT_REPORT_ID, "math", "Drift report of the production traffic",
                  lambda: _drift_report_groups(PUBLIC_SEED), lambda *, seed: _drift_report_groups(seed),
                  data=claims_traffic))
