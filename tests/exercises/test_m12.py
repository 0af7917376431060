"""Tests of the module 12 math exercises: training and evaluating the claims-triage model, and
the drift report of its production traffic.

The correct answers and the grading data (``points=``, ``seed=``) come from the solution
notebook: each solution cell is executed, and the keyword values of the ``grade(...)`` call
in the hidden-test cell are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import collections
import copy
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import brier_score_loss, get_scorer, log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autograder.checks.core import run_groups
from autograder.checks.seeds import LEARNER_ID_VARIABLE
from autograder.exercises import all_exercises, exercise_data, get_exercise, m12
from autograder.learner import check, grade

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions" / "m12"
NOTEBOOK = "capstone_math.ipynb"
TRAIN, DRIFT = "m12.train_evaluate", "m12.drift_report"
EXERCISE_IDS = [TRAIN, DRIFT]


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_notebook_exercises(SOLUTIONS / NOTEBOOK)


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


def graded_failures(exercise_id: str, answer: Any, **grading_data: Any) -> dict[str, str]:
    """Run the graded groups as ``grade()`` does and return the message of each failed group."""
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(**grading_data), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


def named(explanation: str, *groups: str) -> dict[str, str]:
    return {group: explanation for group in groups}


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_exercise(solutions):
    # Module 12's decision exercise lives in m12_decisions.py, with its own tests.
    registered = sorted(
        exercise_id for exercise_id, exercise in all_exercises().items()
        if exercise.public_groups.__module__ == m12.__name__
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


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_hidden_seed_differs_from_public(solutions, exercise_id):
    assert solutions[exercise_id].grading_data["seed"] != m12.PUBLIC_SEED


# --- Per-learner data ----------------------------------------------------------------------------


def same_data(first: Any, second: Any) -> bool:
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(same_data(first[key], second[key]) for key in first)
    if isinstance(first, list):
        return first == second
    return np.array_equal(np.asarray(first), np.asarray(second))


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_learners_get_different_data(exercise_id):
    assert not same_data(exercise_data(exercise_id, "ada"), exercise_data(exercise_id, "grace"))


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_learner_data_reproducible(exercise_id):
    assert same_data(exercise_data(exercise_id, "ada"), exercise_data(exercise_id, "ada"))


@pytest.mark.parametrize("learner", ["ada", "grace", "linus"])
def test_claims_split_disjoint_and_complete(learner):
    claims = exercise_data(TRAIN, learner)
    train, test = claims["train_rows"], claims["test_rows"]

    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(claims["y"].size))
    assert test.size == round(m12.TEST_SHARE * claims["y"].size)
    assert claims["X"].shape == (claims["y"].size, len(claims["feature_names"]))


@pytest.mark.parametrize("learner", ["ada", "grace", "linus"])
def test_traffic_has_new_shop_type(learner):
    traffic = exercise_data(DRIFT, learner)

    assert "mobile" not in traffic["baseline"]["repair_shop_type"]
    assert "mobile" in traffic["production"]["repair_shop_type"]
    assert traffic["baseline"]["policy_age_days"].dtype.kind == "i"


def test_traffic_verdicts_vary_between_learners():
    verdicts = []
    for i in range(40):
        traffic = exercise_data(DRIFT, f"learner{i}")
        verdicts.append(m12.reference_drift_report(traffic["baseline"], traffic["production"])["drift_detected"])

    assert 0.3 < np.mean(verdicts) < 0.9


# --- Train and evaluate: answers --------------------------------------------------------------------


def claims_of(learner: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    claims = exercise_data(TRAIN, learner)
    return claims["X"], claims["y"], claims["train_rows"], claims["test_rows"]


def scaled_logistic():
    return make_pipeline(StandardScaler(), LogisticRegression())


def sklearn_evaluate(model, X, y):
    y = np.asarray(y)
    if len(X) != len(y) or np.unique(y).size < 2:
        raise ValueError("X and y must have the same length and both classes")
    p = model.predict_proba(X)[:, 1]
    return {"auc": roc_auc_score(y, p), "brier": brier_score_loss(y, p)}


def trained(model, *, fit_rows: str = "train", learner: str | None = None, evaluate: Callable = sklearn_evaluate,
            **metric_overrides: Any) -> dict[str, Any]:
    """Fit ``model`` on the rows named by ``fit_rows`` and build the answer with its test-row metrics."""
    X, y, train, test = claims_of(learner)
    rows = {"train": train, "test": test, "all": np.arange(y.size)}[fit_rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[rows], y[rows])
    return {"model": model, "evaluate": evaluate, **sklearn_evaluate(model, X[test], y[test]), **metric_overrides}


MODEL_GROUPS = ("model: predicts probabilities", "model: beats today's triage rule", "model: beats the base-rate forecast",
                "model: fit on the training rows only")
METRIC_GROUPS = ("auc: computed on the test rows", "brier: computed on the test rows")
FIT_GROUP = "model: fit on the training rows only"


def test_train_model_fit_on_all_rows_named():
    assert failures(TRAIN, trained(scaled_logistic(), fit_rows="all")) == {
        FIT_GROUP: "your model predicts exactly like a copy of it fitted on all rows: fit it on X[train_rows] and "
                   "y[train_rows] only, so the test rows stay unseen until the evaluation",
    }


def test_train_model_fit_on_test_rows_named():
    assert failures(TRAIN, trained(scaled_logistic(), fit_rows="test")) == {
        FIT_GROUP: "your model predicts exactly like a copy of it fitted on the test rows: fit it on X[train_rows] and "
                   "y[train_rows], and keep the test rows for the evaluation",
    }


LEAK_BOUND = ("on the test rows, your model's AUC is more than 0.02 above that of the probabilities that generated "
              "the labels, which no model reaches without having seen those rows: fit it on X[train_rows] only")


def test_train_random_forest_on_all_rows_named():
    # Without random_state a refit differs, so only the AUC bound can tell the leak.
    found = failures(TRAIN, trained(RandomForestClassifier(n_estimators=30), fit_rows="all"))

    assert found == {FIT_GROUP: LEAK_BOUND}


def test_train_regressor_named():
    X, y, train, _ = claims_of()
    answer = {"model": LinearRegression().fit(X[train], y[train]), "evaluate": sklearn_evaluate, "auc": 0.8, "brier": 0.15}
    message = ("your model (LinearRegression) has no predict_proba: AUC and the Brier score need probabilities, "
               "so fit a classifier such as LogisticRegression")

    assert failures(TRAIN, answer) == named(message, *MODEL_GROUPS, *METRIC_GROUPS)


def test_train_unfitted_model_named():
    answer = {"model": scaled_logistic(), "evaluate": sklearn_evaluate, "auc": 0.8, "brier": 0.15}
    message = "your model is not fitted: call model.fit(X[train_rows], y[train_rows]) before returning it"

    assert failures(TRAIN, answer) == named(message, *MODEL_GROUPS, *METRIC_GROUPS)


TRIAGE_RULE = "on the test rows, your model's AUC is less than 0.05 above the AUC of ranking claims by claim_amount alone"
BASE_RATE = ("on the test rows, your model's Brier skill score against the base-rate forecast is below 0.1: its "
             "probabilities are too far from the observed outcomes, as happens when a model overfits or when "
             "class_weight='balanced' or resampling shifts them")


def test_train_base_rate_model_fails_both_baselines():
    found = failures(TRAIN, trained(DummyClassifier()))

    assert found == {"model: beats today's triage rule": TRIAGE_RULE, "model: beats the base-rate forecast": BASE_RATE}


def test_train_unconverged_model_gets_hint():
    found = failures(TRAIN, trained(LogisticRegression(max_iter=2)))
    hint = ("; your model stopped at max_iter before converging, so scale the features in a Pipeline with "
            "StandardScaler, or raise max_iter")

    assert found["model: beats today's triage rule"] == TRIAGE_RULE + hint
    assert found["model: beats the base-rate forecast"] == BASE_RATE + hint


def test_train_converged_model_has_no_hint():
    assert not m12._not_converged(trained(scaled_logistic())["model"])


@pytest.mark.parametrize(
    "model",
    [
        lambda: RandomForestClassifier(n_estimators=60, min_samples_leaf=10, random_state=0),
        lambda: RandomForestClassifier(n_estimators=60, min_samples_leaf=10),
        lambda: GradientBoostingClassifier(n_estimators=60, random_state=0),
        lambda: GridSearchCV(scaled_logistic(), {"logisticregression__C": [0.1, 1.0]}, cv=3),
    ],
    ids=["forest_seeded", "forest_unseeded", "boosting", "grid_search"],
)
def test_train_alternative_model_accepted(solutions, model):
    assert grade(TRAIN, trained(model()), points=6, **solutions[TRAIN].grading_data) == 6


@pytest.mark.parametrize("learner", [f"learner{i}" for i in range(8)])
def test_train_solution_model_passes_for_many_learners(learner, monkeypatch):
    monkeypatch.setenv(LEARNER_ID_VARIABLE, learner)

    assert failures(TRAIN, trained(scaled_logistic(), learner=learner)) == {}


def test_train_boolean_mask_split_accepted():
    X, y, train, test = claims_of()
    mask = np.zeros(y.size, dtype=bool)
    mask[train] = True
    model = scaled_logistic().fit(X[mask], y[mask])
    answer = {"model": model, "evaluate": sklearn_evaluate, **sklearn_evaluate(model, X[~mask], y[~mask])}

    assert failures(TRAIN, answer) == {}


def test_train_value_from_other_learner_rejected(monkeypatch):
    monkeypatch.setenv(LEARNER_ID_VARIABLE, "ada")
    copied = trained(scaled_logistic(), learner="grace")

    found = failures(TRAIN, copied)

    assert found == named(
        "your result differs from the metric of the model's probabilities on the test rows, "
        "predict_proba(X[test_rows])[:, 1], beyond the relative tolerance 1e-06, absolute tolerance 1e-09",
        *METRIC_GROUPS,
    )


# --- Train and evaluate: reported metrics -----------------------------------------------------------------


def metrics_on(rows: str, score: Callable = lambda model, X: model.predict_proba(X)[:, 1]) -> dict[str, float]:
    """Fit the solution's model on the training rows and compute both metrics on ``rows`` with ``score``."""
    X, y, train, test = claims_of()
    model = scaled_logistic().fit(X[train], y[train])
    index = {"train": train, "test": test, "all": np.arange(y.size)}[rows]
    scores = score(model, X[index])
    return {"model": model, "auc": roc_auc_score(y[index], scores), "brier": float(np.mean((scores - y[index]) ** 2))}


def answer_from(metrics: dict[str, Any]) -> dict[str, Any]:
    return {"evaluate": sklearn_evaluate, **metrics}


@pytest.mark.parametrize(
    ("rows", "score", "auc_message", "brier_message"),
    [
        ("train", lambda m, X: m.predict_proba(X)[:, 1],
         "looks like the AUC computed on the training rows: evaluate on X[test_rows] and y[test_rows], which the model "
         "has not seen",
         "looks like the Brier score computed on the training rows: evaluate on X[test_rows] and y[test_rows], which "
         "the model has not seen"),
        ("all", lambda m, X: m.predict_proba(X)[:, 1],
         "looks like the AUC computed on all rows: evaluate on X[test_rows] and y[test_rows] only, because the "
         "training rows flatter the model",
         "looks like the Brier score computed on all rows: evaluate on X[test_rows] and y[test_rows] only, because "
         "the training rows flatter the model"),
        ("test", lambda m, X: m.predict(X),
         "looks like the AUC of hard labels from predict(): AUC ranks scores, so pass the probabilities "
         "predict_proba(X)[:, 1]",
         "looks like the error rate, the Brier score of hard labels from predict(): score the probabilities "
         "predict_proba(X)[:, 1]"),
        ("test", lambda m, X: m.predict_proba(X)[:, 0],
         "looks like the AUC of column 0 of predict_proba, the probability of class 0: take the column of class 1, "
         "predict_proba(X)[:, 1]",
         "looks like the Brier score of column 0 of predict_proba, the probability of class 0: take the column of "
         "class 1, predict_proba(X)[:, 1]"),
    ],
    ids=["training_rows", "all_rows", "hard_labels", "class_0_column"],
)
def test_train_metric_mistake_named(rows, score, auc_message, brier_message):
    found = failures(TRAIN, answer_from(metrics_on(rows, score)))

    assert found == {"auc: computed on the test rows": auc_message, "brier: computed on the test rows": brier_message}


def test_train_swapped_metric_keys_named():
    metrics = metrics_on("test")
    swapped = {**metrics, "auc": metrics["brier"], "brier": metrics["auc"]}

    assert failures(TRAIN, answer_from(swapped)) == {
        "auc: computed on the test rows": "looks like the Brier score: the values of 'auc' and 'brier' are swapped",
        "brier: computed on the test rows": "looks like the AUC: the values of 'auc' and 'brier' are swapped",
    }


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (np.sqrt, "looks like the square root of the Brier score: the Brier score is the mean squared difference, "
                  "with no root"),
        (lambda brier: brier * m12._learner_claims().test_rows.size,
         "looks like a sum of squared differences: divide by the number of rows (take the mean)"),
    ],
    ids=["square_root", "sum"],
)
def test_train_brier_mistake_named(transform, message):
    metrics = metrics_on("test")

    assert failures(TRAIN, answer_from({**metrics, "brier": transform(metrics["brier"])})) == {
        "brier: computed on the test rows": message,
    }


def test_train_log_loss_as_brier_named():
    metrics = metrics_on("test")
    X, y, _, test = claims_of()
    metrics["brier"] = log_loss(y[test], metrics["model"].predict_proba(X[test])[:, 1])

    assert failures(TRAIN, answer_from(metrics)) == {
        "brier: computed on the test rows": "looks like the log loss: the Brier score is the mean squared difference "
                                            "between probability and label",
    }


def test_train_decision_function_brier_named():
    metrics = metrics_on("test", lambda m, X: m.decision_function(X))

    assert failures(TRAIN, answer_from(metrics)) == {
        "brier: computed on the test rows": "looks like the Brier score of decision_function values, which are log "
                                            "odds: score the probabilities predict_proba(X)[:, 1]",
    }


def test_train_accuracy_as_auc_named():
    metrics = metrics_on("test")
    X, y, _, test = claims_of()
    metrics["auc"] = float(np.mean(metrics["model"].predict(X[test]) == y[test]))

    assert failures(TRAIN, answer_from(metrics)) == {
        "auc: computed on the test rows": "looks like the accuracy: AUC compares the scores of every positive with "
                                          "every negative, with no threshold",
    }


def test_train_metric_not_a_number_named():
    metrics = metrics_on("test")

    assert failures(TRAIN, answer_from({**metrics, "auc": sklearn_evaluate})) == {
        "auc: computed on the test rows": "expected a number, got function",
    }


def test_train_missing_key_named():
    metrics = metrics_on("test")
    del metrics["brier"]

    assert failures(TRAIN, answer_from(metrics)) == {
        "brier: computed on the test rows": "expected a dict with the keys 'model' and 'brier', such as "
                                            '{"model": model, "evaluate": evaluate, "auc": auc, "brier": brier}',
    }


# --- Train and evaluate: the evaluate function -------------------------------------------------------------

EVALUATE_GROUPS = ("evaluate: reference probabilities", "evaluate: generated probabilities", "evaluate: probabilities 0 and 1")


def validated(metrics: Callable[[Any, np.ndarray, np.ndarray], dict[str, float]]) -> Callable:
    """Wrap ``metrics(model, X, y)`` in the checks a correct evaluate makes."""

    def evaluate(model, X, y):
        y = np.asarray(y)
        if len(X) != len(y) or np.unique(y).size < 2:
            raise ValueError("X and y must have the same length and both classes")
        return metrics(model, X, y)

    return evaluate


def with_evaluate(evaluate: Callable) -> dict[str, Any]:
    return {**metrics_on("test"), "evaluate": evaluate}


def evaluate_failures(evaluate: Callable) -> dict[str, str]:
    return {group: message for group, message in failures(TRAIN, with_evaluate(evaluate)).items() if group.startswith("evaluate")}


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        (lambda m, X, y: {"auc": roc_auc_score(y, m.predict(X)), "brier": brier_score_loss(y, m.predict(X))},
         "auc: looks like the AUC of hard labels from predict(): AUC ranks scores, so pass the probabilities "
         "predict_proba(X)[:, 1]"),
        (lambda m, X, y: {"auc": roc_auc_score(y, m.predict_proba(X)[:, 0]), "brier": brier_score_loss(y, m.predict_proba(X)[:, 0])},
         "auc: looks like the AUC of column 0 of predict_proba, the probability of class 0: take the column of class 1, "
         "predict_proba(X)[:, 1]"),
        (lambda m, X, y: {"auc": roc_auc_score(y, m.predict_proba(X)[:, 1]),
                          "brier": np.sqrt(brier_score_loss(y, m.predict_proba(X)[:, 1]))},
         "brier: looks like the square root of the Brier score: the Brier score is the mean squared difference, with no root"),
        (lambda m, X, y: {"auc": brier_score_loss(y, m.predict_proba(X)[:, 1]), "brier": roc_auc_score(y, m.predict_proba(X)[:, 1])},
         "auc: looks like the Brier score: the values of 'auc' and 'brier' are swapped"),
    ],
    ids=["hard_labels", "class_0_column", "square_root", "swapped_keys"],
)
def test_evaluate_mistake_named(metrics, message):
    assert evaluate_failures(validated(metrics)) == named(message, *EVALUATE_GROUPS)


def test_evaluate_refit_named():
    def refits(model, X, y):
        model.fit(X, y)
        return sklearn_evaluate(model, X, y)

    message = ("your evaluate called model.fit: an evaluation only predicts with the fitted model, because refitting "
               "would train it on the rows it is evaluated on")

    assert evaluate_failures(refits) == named(message, *EVALUATE_GROUPS, "evaluate: one class only", "evaluate: length mismatch")


def test_evaluate_sklearn_nan_for_one_class_named():
    def unchecked(model, X, y):
        p = model.predict_proba(X)[:, 1]
        return {"auc": roc_auc_score(y, p), "brier": brier_score_loss(y, p)}

    found = evaluate_failures(unchecked)

    assert found == {
        "evaluate: one class only": "expected ValueError because AUC is undefined without both classes in y, "
                                    "but your function returned dict",
    }


def test_evaluate_not_a_dict_named():
    message = "expected a dict with the keys 'auc' and 'brier', got tuple"

    assert evaluate_failures(validated(lambda m, X, y: tuple(sklearn_evaluate(m, X, y).values()))) == named(message, *EVALUATE_GROUPS)


def test_evaluate_called_function_named():
    answer = with_evaluate(sklearn_evaluate)
    answer["evaluate"] = {"auc": 0.8, "brier": 0.1}

    found = failures(TRAIN, answer)

    assert found["evaluate: reference probabilities"] == (
        "expected a function, got dict: pass evaluate itself, without calling it"
    )


def numpy_metrics(model, X, y):
    """Compute AUC by average ranks and the Brier score with numpy, as a learner who skips sklearn.metrics would."""
    p = model.predict_proba(X)[:, list(model.classes_).index(1)]
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = ((ends - counts + 1 + ends) / 2)[inverse]
    n_pos = int(np.sum(y == 1))
    n_neg = y.size - n_pos
    auc = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return {"auc": float(auc), "brier": float(np.mean((p - y) ** 2))}


@pytest.mark.parametrize(
    "metrics",
    [
        numpy_metrics,
        lambda m, X, y: {"auc": get_scorer("roc_auc")(m, X, y), "brier": -get_scorer("neg_brier_score")(m, X, y)},
    ],
    ids=["numpy_ranks", "sklearn_scorers"],
)
def test_evaluate_alternative_accepted(solutions, metrics):
    answer = with_evaluate(validated(metrics))

    assert grade(TRAIN, answer, points=6, **solutions[TRAIN].grading_data) == 6


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 80).flatmap(lambda n: st.tuples(
    hnp.arrays(np.int64, n, elements=st.integers(0, 1)),
    hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]) | st.floats(0, 1)),
)))
def test_reference_evaluate_matches_sklearn(pair):
    y, p = pair
    if np.unique(y).size < 2:
        with pytest.raises(ValueError):
            m12.reference_evaluate(*m12.scored_rows(y, p))
        return

    result = m12.reference_evaluate(*m12.scored_rows(y, p))

    assert result["auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-12, abs=1e-12)
    assert result["brier"] == pytest.approx(brier_score_loss(y, p), rel=1e-12, abs=1e-12)


def test_evaluate_reference_values():
    first, curriculum, _ = m12.EVALUATE_REFERENCE_CASES

    assert m12.reference_evaluate(*first) == pytest.approx({"auc": 5 / 6, "brier": 0.2})
    assert m12.reference_evaluate(*curriculum) == pytest.approx({"auc": 1.0, "brier": 0.0375})


def test_train_only_models_stay_below_leak_bound():
    # The leak bound must not fail an honest model; check it on fresh data sets.
    for seed in range(5):
        data = m12._generate_claims(1000 + seed)
        X_test, y_test = data.X[data.test_rows], data.y[data.test_rows]
        bound = m12._auc(y_test, data.true_probability[data.test_rows]) + m12.LEAK_AUC_MARGIN
        for model in (scaled_logistic(), GradientBoostingClassifier(n_estimators=40, random_state=0)):
            model.fit(data.X[data.train_rows], data.y[data.train_rows])
            assert m12._auc(y_test, model.predict_proba(X_test)[:, 1]) < bound


# --- Drift report ----------------------------------------------------------------------------------------


def variant(numerical: Callable | None = None, categorical: Callable | None = None, *,
            breaches: Callable = lambda value, threshold: value > threshold, verdict: Callable = any,
            is_numerical: Callable = lambda values: values.dtype.kind in "iuf", swap_thresholds: bool = False,
            categories: str = "union", metric_names: tuple[str, str] = ("normalized_wasserstein_distance", "jensen_shannon_distance"),
            validate: bool = True) -> Callable:
    """Build a drift_report that uses scipy, with one choice changed to reproduce a mistake."""

    def wasserstein_normalised(b, p):
        return wasserstein_distance(b, p) / max(np.std(b, ddof=1), 0.001)

    def js(b_counts, p_counts):
        return jensenshannon(b_counts / b_counts.sum(), p_counts / p_counts.sum())

    numerical = numerical or wasserstein_normalised
    categorical = categorical or js

    def drift_report(baseline, production, numerical_threshold=0.1, categorical_threshold=0.1):
        if validate:
            if set(baseline) != set(production):
                raise ValueError("baseline and production have different features")
            if not (numerical_threshold > 0 and categorical_threshold > 0):
                raise ValueError("thresholds must be greater than 0")
        thresholds = (categorical_threshold, numerical_threshold) if swap_thresholds else (numerical_threshold, categorical_threshold)
        features = {}
        for name in baseline:
            b, p = np.asarray(baseline[name]), np.asarray(production[name])
            if validate and (b.size == 0 or p.size == 0):
                raise ValueError("empty sample")
            if is_numerical(b):
                b, p = b.astype(float), p.astype(float)
                if validate and (b.size < 2 or np.isnan(b).any() or np.isnan(p).any()):
                    raise ValueError("invalid numerical sample")
                kind, metric, threshold, value = "numerical", metric_names[0], thresholds[0], numerical(b, p)
            else:
                known = np.unique(np.concatenate([b, p]) if categories == "union" else b)
                counts = [np.array([np.sum(s == c) for c in known], dtype=float) for s in (b, p)]
                kind, metric, threshold, value = "categorical", metric_names[1], thresholds[1], categorical(*counts)
            features[name] = {"data_type": kind, "metric": metric, "value": float(value), "threshold": threshold,
                              "breached": bool(breaches(float(value), threshold))}
        return {"features": features, "drift_detected": verdict(f["breached"] for f in features.values())}

    return drift_report


def drift_answer(function: Callable, learner: str | None = None) -> dict[str, Any]:
    traffic = exercise_data(DRIFT, learner)
    try:
        report = function(copy.deepcopy(traffic["baseline"]), copy.deepcopy(traffic["production"]))
    except (ValueError, ArithmeticError):
        report = None
    return {"drift_report": function, "value": report}


REFERENCE = "drift_report: reference samples"
GENERATED = "drift_report: generated samples"
STRICT = "drift_report: strict threshold"
PER_TYPE = "drift_report: thresholds per data type"
UNCHANGED = "drift_report: leaves the samples unchanged"
INVALID = "drift_report: invalid input"
VALUE = "value: computed on your data"
VALUE_GROUPS = (REFERENCE, GENERATED, STRICT, PER_TYPE, VALUE)


def test_drift_scipy_variant_accepted(solutions):
    assert grade(DRIFT, drift_answer(variant()), points=5, **solutions[DRIFT].grading_data) == 5


def test_drift_counter_variant_accepted(solutions):
    def counter_js(baseline, production, numerical_threshold=0.1, categorical_threshold=0.1):
        report = variant()(baseline, production, numerical_threshold, categorical_threshold)
        for name, values in baseline.items():
            if np.asarray(values).dtype.kind not in "iuf":
                b, p = collections.Counter(values.tolist()), collections.Counter(production[name].tolist())
                keys = sorted(set(b) | set(p))
                value = float(jensenshannon([b[k] / sum(b.values()) for k in keys], [p[k] / sum(p.values()) for k in keys]))
                report["features"][name].update(value=value, breached=value > categorical_threshold)
        report["drift_detected"] = any(f["breached"] for f in report["features"].values())
        return report

    assert grade(DRIFT, drift_answer(counter_js), points=5, **solutions[DRIFT].grading_data) == 5


def test_drift_numpy_bools_accepted(solutions):
    def numpy_bools(*args, **kwargs):
        report = variant()(*args, **kwargs)
        for feature in report["features"].values():
            feature["breached"] = np.bool_(feature["breached"])
        report["drift_detected"] = np.bool_(report["drift_detected"])
        return report

    assert grade(DRIFT, drift_answer(numpy_bools), points=5, **solutions[DRIFT].grading_data) == 5


def test_drift_greater_or_equal_named():
    found = failures(DRIFT, drift_answer(variant(breaches=lambda value, threshold: value >= threshold)))

    assert found == {
        STRICT: "claim_amount: breached is True for a value equal to the threshold: a feature breaches when its value "
                "is greater than the threshold (>, not >=), as in Azure ML's monitor",
    }


def test_drift_inverted_comparison_named():
    found = failures(DRIFT, drift_answer(variant(breaches=lambda value, threshold: value < threshold)))

    assert found[REFERENCE] == (
        "claim_amount: breached should be True exactly when the value is greater than the threshold"
    )


def test_drift_all_instead_of_any_named():
    found = failures(DRIFT, drift_answer(variant(verdict=all)))
    message = ("drift_detected is False although a feature breached its threshold: drift is detected when any "
               "feature breaches, not only when all do")

    assert found[REFERENCE] == message
    assert found[PER_TYPE] == message


@pytest.mark.parametrize(
    ("numerical", "message"),
    [
        (lambda b, p: wasserstein_distance(b, p),
         "not normalised: divide the Wasserstein distance by the baseline's standard deviation"),
        (lambda b, p: wasserstein_distance(b, p) / np.std(b),
         "looks like the population standard deviation (ddof=0): use the sample standard deviation, ddof=1"),
        (lambda b, p: wasserstein_distance(b, p) / max(np.std(p, ddof=1), 0.001),
         "divided by the production sample's standard deviation: the baseline sets the scale"),
        (lambda b, p: abs(np.mean(b) - np.mean(p)) / max(np.std(b, ddof=1), 0.001),
         "looks like the difference of means: the Wasserstein distance compares whole distributions, the area "
         "between the two empirical CDFs"),
        (lambda b, p: m12.reference_psi_azure(b, p),
         "looks like a PSI: Azure ML's default metric for a numerical feature is the normalised Wasserstein distance"),
    ],
    ids=["unnormalised", "population_std", "production_std", "mean_difference", "psi"],
)
def test_drift_numerical_mistake_named(numerical, message):
    found = failures(DRIFT, drift_answer(variant(numerical=numerical)))

    assert found[REFERENCE] == f"claim_amount: value: {message}"
    assert found[VALUE] == f"claim_amount: value: {message}"


def counts_js(base: float | None = None, squared: bool = False) -> Callable:
    def js(b, p):
        value = jensenshannon(b / b.sum(), p / p.sum(), base=base)
        return value**2 if squared else value

    return js


@pytest.mark.parametrize(
    ("categorical", "message"),
    [
        (counts_js(base=2), "looks like log base 2: this exercise uses the natural log, as scipy's jensenshannon does by default"),
        (counts_js(squared=True), "looks like the JS divergence: the distance is its square root"),
        (lambda b, p: np.sum(np.where(b > 0, b / b.sum() * np.log(np.maximum(b / b.sum(), 1e-300) / (p / p.sum())), 0.0)),
         "looks like the KL divergence KL(P || Q): JS compares each distribution with their mixture M = (P + Q) / 2"),
    ],
    ids=["log_base_2", "divergence", "kl"],
)
def test_drift_categorical_mistake_named(categorical, message):
    found = failures(DRIFT, drift_answer(variant(categorical=categorical)))

    assert found[REFERENCE] == f"repair_shop_type: value: {message}"


def test_drift_baseline_categories_only_named():
    found = failures(DRIFT, drift_answer(variant(categories="baseline")))
    message = ("repair_shop_type: value: the categories that appear only in production are dropped: count every "
               "category of either sample, with a count of 0 where it is missing")

    assert found[REFERENCE] == message
    assert found[VALUE] == message


def test_drift_integers_as_categorical_named():
    found = failures(DRIFT, drift_answer(variant(is_numerical=lambda values: values.dtype.kind == "f")))

    assert found[VALUE] == (
        "policy_age_days: data_type should be 'numerical', because its values have the numpy dtype int64: "
        "numbers are numerical, strings and booleans categorical"
    )


def test_drift_wrong_metric_name_named():
    found = failures(DRIFT, drift_answer(variant(metric_names=("wasserstein_distance", "jensen_shannon_distance"))))
    message = "metric should be 'normalized_wasserstein_distance', Azure ML's default drift metric for numerical features"

    assert set(found) == set(VALUE_GROUPS)
    assert found[REFERENCE] == f"claim_amount: {message}"
    assert all(text.endswith(f": {message}") for text in found.values())


def test_drift_swapped_thresholds_named():
    found = failures(DRIFT, drift_answer(variant(swap_thresholds=True)))

    assert found[PER_TYPE] == "claim_amount: threshold is categorical_threshold: a numerical feature uses numerical_threshold"
    assert REFERENCE not in found


def test_drift_one_threshold_for_both_types_named():
    def one_threshold(baseline, production, numerical_threshold=0.1, categorical_threshold=0.1):
        return variant()(baseline, production, numerical_threshold, numerical_threshold)

    found = failures(DRIFT, drift_answer(one_threshold))

    assert found[PER_TYPE] == ("repair_shop_type: threshold is numerical_threshold: a categorical feature uses "
                               "categorical_threshold")


def test_drift_no_validation_named():
    found = failures(DRIFT, drift_answer(variant(validate=False)))

    # The first invalid case lacks a production feature, so the unvalidated loop fails on its name.
    assert found == {INVALID: "your code raised KeyError: 'repair_shop_type'"}


def test_drift_zero_threshold_accepted_named():
    def accepts_zero(baseline, production, numerical_threshold=0.1, categorical_threshold=0.1):
        if set(baseline) != set(production):
            raise ValueError("baseline and production have different features")
        return variant(validate=False)(baseline, production, numerical_threshold, categorical_threshold)

    found = failures(DRIFT, drift_answer(accepts_zero))

    assert list(found) == [INVALID]
    assert found[INVALID].startswith("expected ValueError because the feature names differ, a sample is empty")


def test_drift_in_place_sort_named():
    def sorts_inputs(baseline, production, *args, **kwargs):
        for values in baseline.values():
            values.sort()
        return variant()(baseline, production, *args, **kwargs)

    assert failures(DRIFT, drift_answer(sorts_inputs)) == {
        UNCHANGED: "your function changed an input array in place (for example with x.sort()): work on a copy, "
                   "such as np.sort(x)",
    }


def test_drift_in_place_sort_keeps_references():
    def sorts_inputs(baseline, production, *args, **kwargs):
        for values in baseline.values():
            values.sort()
        return variant()(baseline, production, *args, **kwargs)

    check(DRIFT, drift_answer(sorts_inputs))

    assert m12._reference_drift_cases()[0][0]["claim_amount"][0] == 3000.0


def test_drift_report_without_features_named():
    answer = drift_answer(variant())
    answer["value"] = answer["value"]["features"]

    assert failures(DRIFT, answer) == {
        VALUE: "expected a report dict with the keys 'features' (a dict per feature) and 'drift_detected'",
    }


def test_drift_value_from_other_learner_rejected(monkeypatch):
    monkeypatch.setenv(LEARNER_ID_VARIABLE, "ada")

    found = failures(DRIFT, drift_answer(variant(), "grace"))

    assert list(found) == [VALUE]
    assert re.fullmatch(
        r"claim_amount: value: your result differs from the reference beyond the relative tolerance 1e-06, "
        r"absolute tolerance 1e-09 on inputs of shape \(\d+,\), shape \(\d+,\)",
        found[VALUE],
    )


def test_drift_function_as_value_named():
    answer = {"drift_report": variant(), "value": variant()}

    assert failures(DRIFT, answer) == {
        VALUE: "expected a report, got a function: call drift_report on your data and pass the result",
    }


def test_drift_reference_values():
    (baseline, production, _), (constant, new_category, _) = m12._reference_drift_cases()

    first = m12.reference_drift_report(baseline, production)["features"]
    second = m12.reference_drift_report(constant, new_category)["features"]

    assert first["claim_amount"]["value"] == pytest.approx(0.711512, abs=1e-6)
    assert first["policy_age_days"]["value"] == pytest.approx(0.071675, abs=1e-6)
    assert first["repair_shop_type"]["value"] == pytest.approx(0.172115, abs=1e-6)
    assert [f["breached"] for f in first.values()] == [True, False, True]
    assert second["vehicle_age"]["value"] == pytest.approx(375.0)


def test_drift_per_type_cases_change_verdicts():
    # Swapping the two thresholds must change a breach, or a learner who swaps them would pass.
    (baseline, production, first), (_, _, swapped) = m12._thresholds_per_type_cases()

    one = m12.reference_drift_report(baseline, production, **first)["features"]
    other = m12.reference_drift_report(baseline, production, **swapped)["features"]

    assert [f["breached"] for f in one.values()] != [f["breached"] for f in other.values()]


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 60), elements=st.floats(-1e3, 1e3)),
       hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(-1e3, 1e3)))
def test_reference_numerical_matches_scipy(baseline, production):
    expected = wasserstein_distance(baseline, production) / max(np.std(baseline, ddof=1), 0.001)

    assert m12.reference_drift_value(baseline, production) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=80),
       st.lists(st.sampled_from(["a", "b", "c", "e"]), min_size=1, max_size=80))
def test_reference_categorical_matches_scipy(baseline, production):
    keys = sorted(set(baseline) | set(production))
    b = np.array([baseline.count(k) for k in keys]) / len(baseline)
    p = np.array([production.count(k) for k in keys]) / len(production)

    value = m12.reference_drift_value(np.array(baseline), np.array(production))

    assert value == pytest.approx(jensenshannon(b, p), rel=1e-9, abs=1e-9)
    assert 0 <= value <= np.sqrt(np.log(2)) + 1e-12


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31))
def test_solution_report_matches_reference(solutions, seed):
    traffic = m12.claims_traffic(seed)
    function = solutions[DRIFT].answer["drift_report"]

    report = function(traffic["baseline"], traffic["production"])
    expected = m12.reference_drift_report(traffic["baseline"], traffic["production"])

    for name, feature in expected["features"].items():
        assert report["features"][name]["value"] == pytest.approx(feature["value"], rel=1e-9)
        assert report["features"][name]["breached"] == feature["breached"]
    assert report["drift_detected"] == expected["drift_detected"]
