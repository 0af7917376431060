"""Tests of the module 04 exercises: confusion matrix, precision/recall/F1, ROC AUC, RMSE,
expected calibration error and Brier score.

The correct answers and the grading data (``points=``, ``seed=``) come from the solution
notebooks: every code cell except the check and hidden-test cells is executed in order, and
the keyword values of the ``grade(...)`` call in each hidden-test cell are read with
``ast.literal_eval``. The references are compared with scikit-learn by hypothesis.
"""

from __future__ import annotations

import ast
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks.core import run_groups
from autograder.exercises import all_exercises, exercise_data, get_exercise, m04
from autograder.learner import check, grade

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions" / "m04"
NOTEBOOKS = ("classification_metrics.ipynb", "probabilities_and_errors.ipynb")
EXERCISE_IDS = [
    "m04.confusion_matrix",
    "m04.precision_recall_f1",
    "m04.roc_auc",
    "m04.rmse",
    "m04.calibration_error",
    "m04.brier_score",
]
FROM_SCRATCH = "from scratch with numpy"
SKLEARN_USED = (
    "your function uses sklearn; this exercise asks for an implementation from scratch "
    "with numpy, so write the formula with numpy operations"
)


@dataclass(frozen=True)
class NotebookExercise:
    """An exercise's solution and grading data, as stored in the solution notebook."""

    answer: Any
    points: float
    grading_data: dict[str, Any]
    cell_points: float


def read_notebook_exercises(path: Path) -> dict[str, NotebookExercise]:
    """Execute the code cells of ``path`` except check and test cells, and parse each ``grade`` call."""
    notebook = nbformat.read(path, as_version=4)
    namespace: dict[str, Any] = {}
    test_cells = []
    for cell in notebook.cells:
        grade_id = str(cell.metadata.get("nbgrader", {}).get("grade_id", ""))
        if cell.cell_type != "code" or grade_id.endswith("_check"):
            continue
        if grade_id.endswith("_tests"):
            test_cells.append(cell)
        else:
            exec(cell.source, namespace)
    exercises = {}
    for cell in test_cells:
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


def graded_failures(exercise_id: str, answer: Any, seed: int) -> dict[str, str]:
    """Run the graded groups as ``grade()`` does and return the message of each failed group."""
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(seed=seed), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_math_exercise(solutions):
    # The module's decision exercises live in their own file and notebook, with their own tests.
    registered = sorted(
        exercise_id for exercise_id, exercise in all_exercises().items()
        if exercise_id.startswith("m04.") and exercise.kind == "math"
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
def test_grading_adds_timing_group(exercise_id):
    exercise = get_exercise(exercise_id)
    public = [group.name for group in exercise.public_groups()]
    graded = [group.name for group in exercise.graded_groups(seed=1)]

    assert set(public) < set(graded)
    assert len(graded) == len(public) + 1


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_released_stub_scores_zero(solutions, exercise_id):
    # The released notebook keeps the function's signature but its body only raises.
    stub = not_implemented
    if exercise_id == "m04.calibration_error":
        stub = {"calibration_error": not_implemented, "ece": None, "mce": None}

    assert grade(exercise_id, stub, points=4, **solutions[exercise_id].grading_data) == 0


def test_timing_retries_run_slowed_by_load():
    calls = []

    def slow_once(values):
        calls.append(len(calls))
        time.sleep(0.03 if len(calls) == 1 else 0)

    group = m04._runs_within("vectorised", lambda: [(np.zeros(10),)], 0.02)
    group.run(slow_once)

    assert len(calls) == 2


def test_timing_skips_retry_far_over_limit():
    calls = []

    def very_slow(values):
        calls.append(len(calls))
        time.sleep(0.07)

    group = m04._runs_within("vectorised", lambda: [(np.zeros(10),)], 0.02)
    with pytest.raises(AssertionError, match=r"^took 0\.0\d s on 10 elements, limit 0\.02 s: replace Python loops"):
        group.run(very_slow)

    assert len(calls) == 1


def test_reference_values():
    cat_true, cat_pred = m04._cat_dog_pig()
    labels = ["cat", "dog", "pig"]
    calibration_y, calibration_p = m04.CALIBRATION_REFERENCE

    assert m04.reference_confusion_matrix(cat_true, cat_pred, labels).tolist() == [[2, 0, 0], [1, 0, 1], [0, 2, 0]]
    assert np.allclose(m04.reference_precision_recall_f1(cat_true, cat_pred, labels, "macro"), (2 / 9, 1 / 3, 4 / 15))
    assert np.allclose(m04.reference_precision_recall_f1(cat_true, cat_pred, labels, "micro"), (1 / 3, 1 / 3, 1 / 3))
    assert np.allclose(m04.reference_precision_recall_f1(cat_true, cat_pred, labels, None),
                       [(2 / 3, 0, 0), (1, 0, 0), (0.8, 0, 0)])
    assert m04.reference_roc_auc(np.array([1, 1, 2, 2]), np.array([0.1, 0.4, 0.35, 0.8]), 2) == 0.75
    assert m04.reference_rmse([3, -0.5, 2, 7], [2.5, 0, 2, 8]) == pytest.approx(0.612372, abs=1e-6)
    assert m04.reference_calibration_error(calibration_y, calibration_p, 2, "l1") == pytest.approx(0.2900, abs=1e-4)
    assert m04.reference_calibration_error(calibration_y, calibration_p, 2, "l2") == pytest.approx(0.2918, abs=1e-4)
    assert m04.reference_calibration_error(calibration_y, calibration_p, 2, "max") == pytest.approx(0.3167, abs=1e-4)
    assert m04.reference_brier_score([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) == pytest.approx(0.0375)


# --- Confusion matrix -------------------------------------------------------------------------------


def confusion_from(build: Callable[[np.ndarray, np.ndarray, int], Any]):
    """Wrap ``build(true_index, pred_index, k)`` in the validation and label lookup a correct answer has."""

    def confusion_matrix(y_true, y_pred, labels):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.shape != y_pred.shape or y_true.size == 0:
            raise ValueError("y_true and y_pred must be non-empty and of the same length")
        true_index, pred_index = np.full(y_true.shape, -1), np.full(y_pred.shape, -1)
        for position, label in enumerate(labels):
            true_index[y_true == label] = position
            pred_index[y_pred == label] = position
        kept = (true_index >= 0) & (pred_index >= 0)
        return build(true_index[kept], pred_index[kept], len(labels))

    return confusion_matrix


def counts(true_index, pred_index, k):
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (true_index, pred_index), 1)
    return matrix


CM_TRANSPOSED = "rows and columns are swapped: rows are the true labels, columns the predicted labels"
CM_SORTED = "the rows and columns follow the sorted labels: keep the order given in `labels`"
CM_FROM_DATA = (
    "the classes come from the data instead of `labels`: a label absent from the data still gets a row and a column of zeros"
)
CM_FRACTIONS = "the matrix contains fractions of all samples: count the samples instead"
CM_ROW_NORMALISED = "each row is normalised to sum to 1: count the samples instead"
CM_SUBSET = (
    "with labels that leave out a class of the data your matrix differs: "
    "count only samples whose true and predicted labels are both in `labels`"
)
CM_NOT_INTEGER = "expected integer counts, got dtype float64: start from np.zeros((k, k), dtype=int)"
CM_SORTED_OR_FROM_DATA = f"your result fits more than one typical mistake on these inputs: {CM_SORTED} OR {CM_FROM_DATA}"


def sorted_labels_matrix(y_true, y_pred, labels):
    return confusion_from(counts)(y_true, y_pred, sorted(labels))


def labels_from_data_matrix(y_true, y_pred, labels):
    return confusion_from(counts)(y_true, y_pred, list(np.unique(np.concatenate([y_true, y_pred]))))


def row_normalised(true_index, pred_index, k):
    matrix = counts(true_index, pred_index, k).astype(float)
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)


def test_confusion_transposed_named():
    assert failures("m04.confusion_matrix", confusion_from(lambda t, p, k: counts(p, t, k))) == {
        "reference vectors": CM_TRANSPOSED,
        "generated vectors": CM_TRANSPOSED,
        "labels absent from the data": CM_TRANSPOSED,
        "data labels missing from labels": CM_SUBSET,
    }


def test_confusion_sorted_labels_named():
    # With the classes of the data in `labels`, sorting the labels and taking them from the
    # data give the same matrix; an unseen label in the generated vectors tells them apart.
    assert failures("m04.confusion_matrix", sorted_labels_matrix) == {
        "reference vectors": CM_SORTED_OR_FROM_DATA,
        "generated vectors": CM_SORTED,
        "labels absent from the data": CM_SORTED,
        "data labels missing from labels": CM_SUBSET,
    }


def test_confusion_labels_from_data_named():
    assert failures("m04.confusion_matrix", labels_from_data_matrix) == {
        "reference vectors": CM_SORTED_OR_FROM_DATA,
        "generated vectors": CM_FROM_DATA,
        "labels absent from the data": CM_FROM_DATA,
        "data labels missing from labels": CM_SUBSET,
        "integer counts": "expected a 2-D array of shape (len(labels), len(labels)) = (3, 3), got shape (2, 2)",
    }


def test_confusion_fractions_named():
    assert failures("m04.confusion_matrix", confusion_from(lambda t, p, k: counts(t, p, k) / len(t))) == {
        "reference vectors": CM_FRACTIONS,
        "generated vectors": CM_FRACTIONS,
        "labels absent from the data": CM_FRACTIONS,
        "data labels missing from labels": CM_SUBSET,
        "integer counts": CM_NOT_INTEGER,
    }


def test_confusion_row_normalised_named():
    found = failures("m04.confusion_matrix", confusion_from(row_normalised))

    assert found["reference vectors"] == CM_ROW_NORMALISED
    assert found["generated vectors"] == CM_ROW_NORMALISED
    assert found["integer counts"] == CM_NOT_INTEGER
    assert set(found) == {"reference vectors", "generated vectors", "labels absent from the data",
                          "data labels missing from labels", "integer counts"}


def test_confusion_float_counts_named():
    assert failures("m04.confusion_matrix", confusion_from(lambda t, p, k: counts(t, p, k).astype(float))) == {
        "integer counts": CM_NOT_INTEGER,
    }


def test_confusion_counting_other_labels_named():
    def nearest_label(y_true, y_pred, labels):
        # np.searchsorted sends a value that is not in `labels` to a neighbouring label.
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.shape != y_pred.shape or y_true.size == 0:
            raise ValueError("y_true and y_pred must be non-empty and of the same length")
        order = np.argsort(labels)
        ordered = np.asarray(labels)[order]
        k = len(labels)
        true_index = order[np.clip(np.searchsorted(ordered, y_true), 0, k - 1)]
        pred_index = order[np.clip(np.searchsorted(ordered, y_pred), 0, k - 1)]
        return counts(true_index, pred_index, k)

    assert failures("m04.confusion_matrix", nearest_label) == {
        "data labels missing from labels": "your matrix counts samples whose true or predicted label is not in `labels`: leave those samples out",
    }


def test_confusion_no_validation_named():
    def unvalidated(y_true, y_pred, labels):
        n = min(len(y_true), len(y_pred))
        return confusion_from(counts)(np.asarray(y_true)[:n], np.asarray(y_pred)[:n], labels) if n else np.zeros((len(labels),) * 2, int)

    assert failures("m04.confusion_matrix", unvalidated) == {
        "length mismatch": "expected ValueError because y_true and y_pred have different lengths, but your function returned ndarray",
        "empty input": "expected ValueError because there are no samples to count, but your function returned ndarray",
    }


def test_confusion_mistake_loses_points():
    wrong = confusion_from(lambda t, p, k: counts(p, t, k))

    assert grade("m04.confusion_matrix", wrong, points=3, seed=40113) == round(5 / 9 * 3, 4)


def python_loop_confusion(y_true, y_pred, labels):
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError("y_true and y_pred must be non-empty and of the same length")
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for true, pred in zip(y_true, y_pred):
        if true in labels and pred in labels:
            matrix[labels.index(true), labels.index(pred)] += 1
    return matrix


@pytest.mark.parametrize(
    "build",
    [
        counts,
        lambda t, p, k: np.bincount(t * k + p, minlength=k * k).reshape(k, k),
        lambda t, p, k: np.array([[np.sum((t == i) & (p == j)) for j in range(k)] for i in range(k)]),
        lambda t, p, k: np.histogram2d(t, p, bins=[np.arange(k + 1), np.arange(k + 1)])[0].astype(np.int64),
    ],
    ids=["add_at", "bincount", "pairs_of_labels", "histogram2d"],
)
def test_confusion_alternative_accepted(build):
    assert grade("m04.confusion_matrix", confusion_from(build), points=3, seed=40113) == 3


def test_confusion_python_loop_too_slow_in_grading():
    assert check("m04.confusion_matrix", python_loop_confusion).passed
    found = graded_failures("m04.confusion_matrix", python_loop_confusion, seed=40113)

    assert list(found) == ["vectorised"]
    assert re.fullmatch(
        r"took \d+\.\d\d s on 1,000,000 elements, limit 0\.2 s: replace Python loops with vectorised numpy operations",
        found["vectorised"],
    )


def sklearn_confusion_matrix(y_true, y_pred, labels):
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=labels)


def test_confusion_sklearn_fails_from_scratch_only():
    assert failures("m04.confusion_matrix", sklearn_confusion_matrix) == {FROM_SCRATCH: SKLEARN_USED}


# --- Precision, recall and F1 -----------------------------------------------------------------------


def prf_from(combine: Callable[[np.ndarray, np.ndarray, np.ndarray, Any, float], Any]):
    """Wrap ``combine(tp, fp, fn, average, zero_division)`` in the checks and counts of a correct answer."""

    def precision_recall_f1(y_true, y_pred, labels, average, zero_division=0.0):
        if average not in ("binary", "macro", "micro", None):
            raise ValueError(f"invalid average {average!r}")
        if average == "binary" and len(labels) != 2:
            raise ValueError("average='binary' needs two labels")
        matrix = m04.reference_confusion_matrix(y_true, y_pred, labels)
        tp = np.diag(matrix).astype(float)
        return combine(tp, matrix.sum(axis=0) - tp, matrix.sum(axis=1) - tp, average, zero_division)

    return precision_recall_f1


def ratio(numerator, denominator, zero_division):
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), zero_division)


def scores(tp, fp, fn, zero_division, f1=None):
    precision, recall = ratio(tp, tp + fp, zero_division), ratio(tp, tp + fn, zero_division)
    f1 = ratio(2 * tp, 2 * tp + fp + fn, zero_division) if f1 is None else f1(precision, recall)
    return precision, recall, f1


def unweighted_mean(score, support):
    return np.mean(score)


def averaged(tp, fp, fn, average, zero_division, *, f1=None, macro=unweighted_mean, swap=False):
    """Score per average as a correct answer does, with hooks to put one mistake in."""
    if swap and average in ("macro", "micro"):
        average = {"macro": "micro", "micro": "macro"}[average]
    if average == "binary":
        return tuple(float(s) for s in scores(tp[-1], fp[-1], fn[-1], zero_division, f1))
    if average == "micro":
        return tuple(float(s) for s in scores(tp.sum(), fp.sum(), fn.sum(), zero_division, f1))
    per_class = scores(tp, fp, fn, zero_division, f1)
    if average is None:
        return per_class
    return tuple(float(macro(s, tp + fn)) for s in per_class)


PRF_SWAPPED_AVERAGES = (
    "macro and micro averaging are swapped: macro averages the per-class scores, micro pools TP, FP and FN over classes first"
)
PRF_SWAPPED_RATIOS = (
    "precision and recall are swapped: precision divides TP by TP + FP (the predicted positives), recall by TP + FN (the true positives)"
)
PRF_ARITHMETIC = "F1 looks like the arithmetic mean of precision and recall: it is their harmonic mean, 2PR / (P + R)"
PRF_WEIGHTED = "looks like an average weighted by class support: the macro average gives every class the same weight"
PRF_F1_OF_MACRO = (
    "macro F1 looks like the harmonic mean of macro precision and macro recall: average the per-class F1 scores instead"
)
PRF_FIRST_LABEL = (
    "the positive class looks like labels[0]: for average='binary' the positive class is the last label, labels[-1]"
)
PRF_SEEN_ONLY = (
    "the macro average skips classes absent from the data: average over every class in `labels`, "
    "using zero_division where a score is 0/0"
)


def zero_division_differs(average: Any) -> str:
    return (
        f"with average={average!r} and a class that is never predicted or absent, your scores differ: "
        "precision is zero_division when TP + FP = 0, recall when TP + FN = 0, F1 when 2TP + FP + FN = 0"
    )


def precision_recall_swapped(tp, fp, fn, average, zero_division):
    # Dividing TP by TP + FN for precision and by TP + FP for recall swaps FP and FN.
    return averaged(tp, fn, fp, average, zero_division)


def f1_of_macro_averages(tp, fp, fn, average, zero_division):
    result = averaged(tp, fp, fn, average, zero_division)
    if average != "macro":
        return result
    precision, recall, _ = result
    return precision, recall, 2 * precision * recall / (precision + recall)


def first_label_positive(tp, fp, fn, average, zero_division):
    if average == "binary":
        return tuple(float(s) for s in scores(tp[0], fp[0], fn[0], zero_division))
    return averaged(tp, fp, fn, average, zero_division)


def macro_over_seen_classes(tp, fp, fn, average, zero_division):
    if average != "macro":
        return averaged(tp, fp, fn, average, zero_division)
    seen = (tp + fp + fn) > 0
    return averaged(tp[seen], fp[seen], fn[seen], average, zero_division)


@pytest.mark.parametrize(
    ("combine", "expected"),
    [
        (lambda tp, fp, fn, a, z: averaged(tp, fp, fn, a, z, swap=True),
         {"reference vectors": PRF_SWAPPED_AVERAGES, "generated vectors": PRF_SWAPPED_AVERAGES,
          "zero division": zero_division_differs("macro")}),
        (precision_recall_swapped,
         {"reference vectors": PRF_SWAPPED_RATIOS, "generated vectors": PRF_SWAPPED_RATIOS,
          "zero division": zero_division_differs(None)}),
        (lambda tp, fp, fn, a, z: averaged(tp, fp, fn, a, z, f1=lambda p, r: (p + r) / 2),
         {"reference vectors": PRF_ARITHMETIC, "generated vectors": PRF_ARITHMETIC,
          "zero division": zero_division_differs(None)}),
        (lambda tp, fp, fn, a, z: averaged(tp, fp, fn, a, z, macro=lambda s, support: np.average(s, weights=support)),
         {"generated vectors": PRF_WEIGHTED, "zero division": zero_division_differs("macro")}),
        (f1_of_macro_averages,
         {"generated vectors": PRF_F1_OF_MACRO, "zero division": zero_division_differs("macro")}),
        (first_label_positive,
         {"reference vectors": PRF_FIRST_LABEL, "generated vectors": PRF_FIRST_LABEL}),
        (macro_over_seen_classes,
         {"generated vectors": PRF_SEEN_ONLY, "zero division": zero_division_differs("macro")}),
    ],
    ids=["macro_micro_swapped", "precision_recall_swapped", "arithmetic_f1", "weighted", "f1_of_macro",
         "first_label_positive", "macro_over_seen_classes"],
)
def test_prf_mistake_named(combine, expected):
    assert failures("m04.precision_recall_f1", prf_from(combine)) == expected


def test_prf_zero_division_ignored_named():
    ignored = prf_from(lambda tp, fp, fn, average, zero_division: averaged(tp, fp, fn, average, 0.0))

    assert failures("m04.precision_recall_f1", ignored) == {
        "zero division": "zero_division=1.0 gave the same scores as 0.0: use the zero_division argument for every 0/0 score",
    }


def test_prf_nan_on_zero_division_named():
    def plain_division(tp, fp, fn, average, zero_division):
        with np.errstate(invalid="ignore", divide="ignore"):
            return averaged(tp, fp, fn, average, zero_division, f1=lambda p, r: 2 * p * r / (p + r))

    found = failures("m04.precision_recall_f1", prf_from(plain_division))

    assert found["zero division"] == "a class with no predicted or no true samples gave nan (0/0): return zero_division for that score"
    assert set(found) <= {"zero division", "generated vectors", "reference vectors"}
    for group in set(found) - {"zero division"}:
        assert found[group] == "your result is not finite (inf or nan) on a case where the reference is finite"


def test_prf_missing_checks_named():
    def lenient(y_true, y_pred, labels, average, zero_division=0.0):
        if average == "binary":
            labels = labels[-2:]
        elif average not in ("macro", "micro", None):
            average = "macro"
        return m04.reference_precision_recall_f1(y_true, y_pred, labels, average, zero_division)

    assert failures("m04.precision_recall_f1", lenient) == {
        "invalid average": "expected ValueError because average must be 'binary', 'macro', 'micro' or None, but your function returned tuple",
        "binary with three labels": "expected ValueError because average='binary' needs exactly two labels, but your function returned tuple",
    }


def test_prf_mistake_loses_points():
    swapped = prf_from(lambda tp, fp, fn, a, z: averaged(tp, fp, fn, a, z, swap=True))

    assert grade("m04.precision_recall_f1", swapped, points=4, seed=40229) == round(5 / 8 * 4, 4)


def per_class_loop(tp, fp, fn, average, zero_division):
    """Score class by class with Python floats, as a learner might."""
    if average == "binary":
        tp, fp, fn = tp[-1:], fp[-1:], fn[-1:]
    elif average == "micro":
        tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
    precision, recall, f1 = [], [], []
    for t, p, n in zip(tp, fp, fn):
        precision.append(t / (t + p) if t + p else zero_division)
        recall.append(t / (t + n) if t + n else zero_division)
        f1.append(2 * t / (2 * t + p + n) if 2 * t + p + n else zero_division)
    if average is None:
        return np.array(precision), np.array(recall), np.array(f1)
    return sum(precision) / len(precision), sum(recall) / len(recall), sum(f1) / len(f1)


def harmonic_with_guard(tp, fp, fn, average, zero_division):
    def f1(precision, recall):
        total = precision + recall
        harmonic = 2 * precision * recall / np.where(total > 0, total, 1)
        return np.where(2 * tp + fp + fn > 0, harmonic, zero_division) if average in (None, "macro") else harmonic

    if average in ("binary", "micro"):
        return averaged(tp, fp, fn, average, zero_division)
    return averaged(tp, fp, fn, average, zero_division, f1=f1)


@pytest.mark.parametrize("combine", [per_class_loop, harmonic_with_guard], ids=["per_class_loop", "harmonic_with_guard"])
def test_prf_alternative_accepted(combine):
    assert grade("m04.precision_recall_f1", prf_from(combine), points=4, seed=40229) == 4


def test_prf_returns_lists_accepted():
    def as_lists(y_true, y_pred, labels, average, zero_division=0.0):
        result = m04.reference_precision_recall_f1(y_true, y_pred, labels, average, zero_division)
        return [np.asarray(score).tolist() for score in result]

    assert check("m04.precision_recall_f1", as_lists).passed


def sklearn_precision_recall_f1(y_true, y_pred, labels, average, zero_division=0.0):
    from sklearn.metrics import precision_recall_fscore_support

    if average == "binary":
        if len(labels) != 2:
            raise ValueError("average='binary' needs two labels")
        return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=labels[-1],
                                               average="binary", zero_division=zero_division)[:3]
    if average not in ("macro", "micro", None):
        raise ValueError(f"invalid average {average!r}")
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=zero_division)[:3]


def test_prf_sklearn_fails_from_scratch_only():
    assert failures("m04.precision_recall_f1", sklearn_precision_recall_f1) == {FROM_SCRATCH: SKLEARN_USED}


def precision_recall_f1_on_sklearn_matrix(y_true, y_pred, labels, average, zero_division=0.0):
    # The scikit-learn call sits in a helper, as when a learner's own confusion_matrix uses it.
    sklearn_confusion_matrix(y_true, y_pred, labels)
    return m04.reference_precision_recall_f1(y_true, y_pred, labels, average, zero_division)


def test_prf_helper_using_sklearn_detected():
    assert failures("m04.precision_recall_f1", precision_recall_f1_on_sklearn_matrix) == {FROM_SCRATCH: SKLEARN_USED}


# --- ROC AUC -------------------------------------------------------------------------------------------


def auc_from(statistic: Callable[[np.ndarray, np.ndarray, np.ndarray], float]):
    """Wrap ``statistic(scores, positive_mask, ranks)`` in the checks of a correct answer."""

    def roc_auc(y_true, scores, pos_label):
        y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
        if y_true.shape != scores.shape or np.isnan(scores).any():
            raise ValueError("y_true and scores must have the same length and no NaN")
        positive = y_true == pos_label
        if positive.all() or not positive.any():
            raise ValueError("need positive and negative samples")
        _, inverse, tie_counts = np.unique(scores, return_inverse=True, return_counts=True)
        ends = np.cumsum(tie_counts)
        ranks = ((ends - tie_counts + 1 + ends) / 2)[inverse]
        return float(statistic(scores, positive, ranks))

    return roc_auc


def mann_whitney(scores, positive, ranks):
    n_positive, n_negative = positive.sum(), (~positive).sum()
    return (ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)


def pairs(weight_of_tie):
    def statistic(scores, positive, ranks):
        difference = scores[positive][:, None] - scores[~positive][None, :]
        return np.mean((difference > 0) + weight_of_tie * (difference == 0))

    return statistic


ROC_TIES_ZERO = "tied scores count as 0: a tie between a positive and a negative counts 1/2"
ROC_TIES_ONE = "tied scores count as 1: a tie between a positive and a negative counts 1/2"
ROC_INVERTED = (
    "your AUC is 1 - AUC: the positives are the samples equal to pos_label, and they should score higher than the others"
)
ROC_ACCURACY = (
    "looks like the accuracy at the threshold 0.5: AUC compares the scores of every positive with every negative, with no threshold"
)
ROC_RANK_SUM = "looks like the rank sum of the positives over n_pos * n_neg: subtract n_pos (n_pos + 1) / 2 from the rank sum first"
ROC_ZERO_BASED = "looks like ranks counted from 0: the rank-sum formula needs ranks starting at 1"


@pytest.mark.parametrize(
    ("statistic", "explanation"),
    [
        (pairs(0.0), ROC_TIES_ZERO),
        (pairs(1.0), ROC_TIES_ONE),
        (lambda s, positive, ranks: 1 - mann_whitney(s, positive, ranks), ROC_INVERTED),
        (lambda s, positive, ranks: mann_whitney(s, ~positive, ranks), ROC_INVERTED),
        (lambda s, positive, ranks: np.mean((s >= 0.5) == positive), ROC_ACCURACY),
        (lambda s, positive, ranks: ranks[positive].sum() / (positive.sum() * (~positive).sum()), ROC_RANK_SUM),
        (lambda s, positive, ranks: mann_whitney(s, positive, ranks - 1), ROC_ZERO_BASED),
    ],
    ids=["ties_zero", "ties_one", "inverted", "negatives_as_positives", "accuracy", "rank_sum", "zero_based_ranks"],
)
def test_roc_mistake_named(statistic, explanation):
    assert failures("m04.roc_auc", auc_from(statistic)) == {
        "reference vectors": explanation,
        "generated vectors": explanation,
        "tied scores": explanation,
    }


def test_roc_missing_checks_named():
    def lenient(y_true, scores, pos_label):
        y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
        n = min(len(y_true), len(scores))
        positive = y_true[:n] == pos_label
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.nan_to_num(pairs(0.5)(scores[:n], positive, None), nan=0.5))

    assert failures("m04.roc_auc", lenient) == {
        "one class only": "expected ValueError because AUC is undefined without both positive and negative samples, but your function returned float",
        "length mismatch": "expected ValueError because y_true and scores have different lengths, but your function returned float",
        "NaN score": "expected ValueError because a NaN score cannot be ranked, but your function returned float",
    }


def test_roc_mistake_loses_points():
    def ties_count_zero(scores, positive, ranks):
        below = np.searchsorted(np.sort(scores[~positive]), scores[positive], side="left")
        return below.sum() / (positive.sum() * (~positive).sum())

    assert grade("m04.roc_auc", auc_from(ties_count_zero), points=3, seed=40357) == round(5 / 8 * 3, 4)


def test_roc_mann_whitney_accepted():
    assert grade("m04.roc_auc", auc_from(mann_whitney), points=3, seed=40357) == 3


def test_roc_trapezoid_over_roc_curve_accepted():
    def trapezoid(scores, positive, ranks):
        order = np.argsort(-scores, kind="stable")
        distinct = np.r_[np.flatnonzero(np.diff(scores[order])), positive.size - 1]
        true_positive_rate = np.r_[0, np.cumsum(positive[order])[distinct] / positive.sum()]
        false_positive_rate = np.r_[0, np.cumsum(~positive[order])[distinct] / (~positive).sum()]
        return np.sum(np.diff(false_positive_rate) * (true_positive_rate[1:] + true_positive_rate[:-1]) / 2)

    assert grade("m04.roc_auc", auc_from(trapezoid), points=3, seed=40357) == 3


def test_roc_all_pairs_fails_n_log_n_only():
    all_pairs = auc_from(pairs(0.5))

    assert check("m04.roc_auc", all_pairs).passed
    found = graded_failures("m04.roc_auc", all_pairs, seed=40357)
    assert list(found) == ["n log n"]
    assert re.fullmatch(
        r"your code raised MemoryError: .+ \(hint: comparing every positive with every negative takes "
        r"n_pos x n_neg steps and memory: sort the scores once\)",
        found["n log n"],
    )


def sklearn_roc_auc(y_true, scores, pos_label):
    from sklearn.metrics import roc_auc_score

    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    if y_true.shape != scores.shape:
        raise ValueError("y_true and scores must have the same length")
    # scikit-learn 1.9 warns and returns nan for a single class, so that check stays the learner's.
    if len(np.unique(y_true == pos_label)) < 2:
        raise ValueError("need positive and negative samples")
    return roc_auc_score(y_true == pos_label, scores)


def test_roc_sklearn_fails_from_scratch_only():
    assert failures("m04.roc_auc", sklearn_roc_auc) == {FROM_SCRATCH: SKLEARN_USED}


# --- RMSE ------------------------------------------------------------------------------------------------


def rmse_from(formula):
    """Wrap ``formula(e)`` of the errors ``e = y - y_hat`` in the checks a correct RMSE makes."""

    def rmse(y, y_hat):
        y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
        if y.shape != y_hat.shape or y.size == 0 or np.isnan(y).any() or np.isnan(y_hat).any():
            raise ValueError("y and y_hat must be non-empty, of the same shape and without NaN")
        return float(formula(y - y_hat))

    return rmse


@pytest.mark.parametrize(
    ("formula", "explanation"),
    [
        (lambda e: np.mean(e**2), "looks like the MSE: take the square root of the mean squared error"),
        (lambda e: np.sqrt(np.sum(e**2)),
         "looks like the square root of the sum of squared errors: divide the sum by n before the square root"),
        (lambda e: np.sqrt(np.sum(e**2)) / len(e),
         "looks like the square root of the sum divided by n: the division by n goes inside the square root"),
        (lambda e: np.mean(np.sqrt(e**2)),
         "looks like the mean absolute error, which is also what the square root of each squared error gives: "
         "average the squared errors first, then take one square root"),
        (lambda e: np.sqrt(np.sum(e**2) / (len(e) - 1)), "looks like a division by n - 1: the RMSE divides by n"),
        (lambda e: np.sqrt(np.mean(e) ** 2),
         "looks like the absolute mean error: square each error before averaging, so errors of opposite sign do not cancel"),
    ],
    ids=["mse", "sqrt_of_sum", "sqrt_of_sum_over_n", "sqrt_per_element", "n_minus_one", "abs_mean_error"],
)
def test_rmse_mistake_named(formula, explanation):
    assert failures("m04.rmse", rmse_from(formula)) == {"reference vectors": explanation, "generated vectors": explanation}


def test_rmse_nan_not_rejected_named():
    def no_nan_check(y, y_hat):
        y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
        if y.shape != y_hat.shape or y.size == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        return float(np.sqrt(np.mean((y - y_hat) ** 2)))

    assert failures("m04.rmse", no_nan_check) == {
        "NaN input": "expected ValueError because a NaN target or prediction would make the metric NaN, but your function returned nan",
    }


@pytest.mark.parametrize(
    "formula",
    [lambda e: np.sqrt(e @ e / e.size), lambda e: np.linalg.norm(e) / np.sqrt(len(e)), lambda e: np.mean(e**2) ** 0.5],
    ids=["dot", "norm", "power"],
)
def test_rmse_alternative_accepted(formula):
    assert grade("m04.rmse", rmse_from(formula), points=2, seed=40421) == 2


def test_rmse_mistake_loses_points():
    assert grade("m04.rmse", rmse_from(lambda e: np.mean(e**2)), points=2, seed=40421) == round(5 / 7 * 2, 4)


def test_rmse_sklearn_fails_from_scratch_only():
    from sklearn.metrics import root_mean_squared_error

    # Passed directly, scikit-learn's own function is recognised by its module.
    assert failures("m04.rmse", root_mean_squared_error) == {FROM_SCRATCH: SKLEARN_USED}


# --- Expected calibration error -----------------------------------------------------------------------------

CALIBRATION_KEYS = ("calibration_error", "ece", "mce")


def calibration_from(assign_bins, combine=None):
    """Build a calibration error from ``assign_bins(p, n_bins)`` and ``combine(counts, gaps, norm)``.

    The validation is that of a correct answer, so each test changes one step only.
    """

    def calibration_error(y_true, y_prob, n_bins=10, norm="l1"):
        if norm not in ("l1", "l2", "max") or n_bins < 1:
            raise ValueError("invalid norm or n_bins")
        y_true, y_prob = np.asarray(y_true), np.asarray(y_prob, dtype=float)
        if y_true.shape != y_prob.shape or y_true.size == 0 or not np.isin(y_true, (0, 1)).all():
            raise ValueError("invalid labels")
        if not np.all((y_prob >= 0) & (y_prob <= 1)):
            raise ValueError("invalid probabilities")
        bins = assign_bins(y_prob, n_bins)
        size = max(n_bins, int(bins.max()) + 1)
        counts = np.bincount(bins, minlength=size)
        filled = counts > 0
        accuracy = np.bincount(bins, weights=y_true, minlength=size)[filled] / counts[filled]
        confidence = np.bincount(bins, weights=y_prob, minlength=size)[filled] / counts[filled]
        return float((combine or weighted_norm)(counts[filled], accuracy - confidence, norm, n_bins))

    return calibration_error


def right_closed(p, n_bins):
    return np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p)


def weighted_norm(counts, gaps, norm, n_bins):
    weights = counts / counts.sum()
    if norm == "l1":
        return np.sum(weights * np.abs(gaps))
    if norm == "l2":
        return np.sqrt(np.sum(weights * gaps**2))
    return np.max(np.abs(gaps))


def with_answers(function) -> dict[str, Any]:
    """Answer the calibration exercise with ``function`` and the two numbers it gives on the learner's data."""
    data = exercise_data("m04.calibration_error")
    return {
        "calibration_error": function,
        "ece": function(data["y_true"], data["y_prob"], 10, "l1"),
        "mce": function(data["y_true"], data["y_prob"], 10, "max"),
    }


CAL_UNWEIGHTED = "looks like an unweighted mean over the bins: weight each bin's gap by its share of the samples, n_b / n"
CAL_EMPTY_BINS = "empty bins are counted: leave bins that hold no sample out of the sum"
# Without an empty bin, an unweighted mean over the filled bins equals one over all bins.
CAL_UNWEIGHTED_OR_EMPTY = f"your result fits more than one typical mistake on these inputs: {CAL_UNWEIGHTED} OR {CAL_EMPTY_BINS}"
CAL_SIGNED = (
    "the gaps keep their sign: take the absolute difference between the mean target and the mean probability of each bin"
)
CAL_LEFT_CLOSED = (
    "a value on a bin edge went to the bin on its right: bins are closed on the right, so 0.5 belongs to [0, 0.5] when n_bins = 2"
)
CAL_FEWER_BINS = "looks like n_bins - 1 bins: n_bins equal-width bins need n_bins + 1 edges, np.linspace(0, 1, n_bins + 1)"
CAL_MORE_BINS = "looks like n_bins + 1 bins: n_bins equal-width bins need n_bins + 1 edges, np.linspace(0, 1, n_bins + 1)"
CAL_L2_NO_ROOT = "the L2 norm lacks its square root: take the square root of the weighted mean of squared gaps"
CAL_MAX_WEIGHTED = (
    "the max norm looks weighted by the bin's share of samples: the maximum calibration error is the largest unweighted gap"
)
CAL_CENTRES = (
    "each bin's mean probability looks replaced by the bin centre: compare the mean target with the mean predicted probability in the bin"
)
CAL_NO_BINS = (
    "looks like the mean absolute difference between each probability and its label, without bins: group the samples into bins first"
)


def unweighted(counts, gaps, norm, n_bins):
    return weighted_norm(np.ones_like(counts), gaps, norm, n_bins)


def empty_bins_counted(counts, gaps, norm, n_bins):
    if norm == "max":
        return np.max(np.abs(gaps))
    padded = np.r_[gaps, np.zeros(n_bins - len(gaps))]
    return weighted_norm(np.ones(n_bins), padded, norm, n_bins)


def signed(counts, gaps, norm, n_bins):
    if norm == "max":
        return np.max(gaps)
    if norm == "l1":
        return np.sum(counts / counts.sum() * gaps)
    return weighted_norm(counts, gaps, norm, n_bins)


def l2_without_root(counts, gaps, norm, n_bins):
    return np.sum(counts / counts.sum() * gaps**2) if norm == "l2" else weighted_norm(counts, gaps, norm, n_bins)


def weighted_max(counts, gaps, norm, n_bins):
    return np.max(counts / counts.sum() * np.abs(gaps)) if norm == "max" else weighted_norm(counts, gaps, norm, n_bins)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (calibration_from(right_closed, unweighted),
         {"reference vectors": CAL_UNWEIGHTED_OR_EMPTY, "generated vectors": CAL_UNWEIGHTED_OR_EMPTY,
          "probabilities on bin edges": CAL_UNWEIGHTED, "empty bins": CAL_UNWEIGHTED, "ece": CAL_UNWEIGHTED_OR_EMPTY}),
        (calibration_from(right_closed, empty_bins_counted),
         {"reference vectors": CAL_UNWEIGHTED_OR_EMPTY, "generated vectors": CAL_UNWEIGHTED_OR_EMPTY,
          "probabilities on bin edges": CAL_EMPTY_BINS, "empty bins": CAL_EMPTY_BINS, "ece": CAL_UNWEIGHTED_OR_EMPTY}),
        (calibration_from(right_closed, signed),
         {"reference vectors": CAL_SIGNED, "generated vectors": CAL_SIGNED, "probabilities on bin edges": CAL_SIGNED,
          "empty bins": CAL_SIGNED, "ece": CAL_SIGNED, "mce": CAL_SIGNED}),
        (calibration_from(lambda p, n: np.minimum((p * n).astype(int), n - 1)),
         {"probabilities on bin edges": CAL_LEFT_CLOSED}),
        (calibration_from(lambda p, n: np.searchsorted(np.linspace(0, 1, n)[1:-1], p)),
         {"reference vectors": CAL_FEWER_BINS, "generated vectors": CAL_FEWER_BINS,
          "probabilities on bin edges": CAL_FEWER_BINS, "ece": CAL_FEWER_BINS, "mce": CAL_FEWER_BINS}),
        (calibration_from(lambda p, n: np.searchsorted(np.linspace(0, 1, n + 2)[1:-1], p)),
         {"reference vectors": CAL_MORE_BINS, "generated vectors": CAL_MORE_BINS,
          "probabilities on bin edges": CAL_MORE_BINS, "ece": CAL_MORE_BINS, "mce": CAL_MORE_BINS}),
        (calibration_from(right_closed, l2_without_root),
         {"reference vectors": CAL_L2_NO_ROOT, "generated vectors": CAL_L2_NO_ROOT, "empty bins": CAL_L2_NO_ROOT}),
        (calibration_from(right_closed, weighted_max),
         {"reference vectors": CAL_MAX_WEIGHTED, "generated vectors": CAL_MAX_WEIGHTED,
          "probabilities on bin edges": CAL_MAX_WEIGHTED, "empty bins": CAL_MAX_WEIGHTED, "mce": CAL_MAX_WEIGHTED}),
    ],
    ids=["unweighted", "empty_bins_counted", "signed", "left_closed", "fewer_bins", "more_bins", "l2_no_root", "weighted_max"],
)
def test_calibration_mistake_named(function, expected):
    found = failures("m04.calibration_error", with_answers(function))

    # Function groups are reported as "calibration_error: <group>", values as "<key>: your validation set".
    renamed = {
        key if key in CALIBRATION_KEYS else f"calibration_error: {key}": message for key, message in expected.items()
    }
    renamed = {f"{key}: your validation set" if key in ("ece", "mce") else key: message for key, message in renamed.items()}
    assert found == renamed


def test_calibration_bin_centres_named():
    def bin_centres(y_true, y_prob, n_bins=10, norm="l1"):
        y_true, y_prob = np.asarray(y_true, dtype=float), np.asarray(y_prob, dtype=float)
        bins = right_closed(y_prob, n_bins)
        counts = np.bincount(bins, minlength=n_bins)
        filled = counts > 0
        accuracy = np.bincount(bins, weights=y_true, minlength=n_bins)[filled] / counts[filled]
        return float(weighted_norm(counts[filled], accuracy - (np.flatnonzero(filled) + 0.5) / n_bins, norm, n_bins))

    found = failures("m04.calibration_error", with_answers(bin_centres))

    for group in ("reference vectors", "generated vectors", "probabilities on bin edges", "empty bins"):
        assert found[f"calibration_error: {group}"] == CAL_CENTRES
    assert found["ece: your validation set"] == CAL_CENTRES
    assert found["mce: your validation set"] == CAL_CENTRES


def test_calibration_without_bins_named():
    def without_bins(y_true, y_prob, n_bins=10, norm="l1"):
        return float(np.mean(np.abs(np.asarray(y_prob, dtype=float) - np.asarray(y_true, dtype=float))))

    found = failures("m04.calibration_error", with_answers(without_bins))

    for group in ("calibration_error: reference vectors", "calibration_error: generated vectors",
                  "calibration_error: empty bins", "ece: your validation set", "mce: your validation set"):
        assert found[group] == CAL_NO_BINS


def test_calibration_missing_checks_named():
    def lenient(y_true, y_prob, n_bins=10, norm="l1"):
        return calibration_from(right_closed)(y_true, np.nan_to_num(np.clip(y_prob, 0, 1), nan=0.5), n_bins, norm)

    assert failures("m04.calibration_error", with_answers(lenient)) == {
        "calibration_error: invalid inputs": "expected ValueError because labels must be 0 or 1 and probabilities in [0, 1], "
        "without NaN, but your function returned float",
    }


def test_calibration_nan_probability_must_raise():
    def range_check_only(y_true, y_prob, n_bins=10, norm="l1"):
        y_prob = np.asarray(y_prob, dtype=float)
        if np.any(y_prob < 0) or np.any(y_prob > 1):
            raise ValueError("y_prob outside [0, 1]")
        return m04.reference_calibration_error(y_true, np.nan_to_num(y_prob), n_bins, norm)

    found = failures("m04.calibration_error", with_answers(range_check_only))

    assert list(found) == ["calibration_error: invalid inputs"]


def test_calibration_values_of_another_learner_fail(monkeypatch):
    monkeypatch.setenv("AZML_LEARNER_ID", "ada")
    answer = with_answers(calibration_from(right_closed))
    assert check("m04.calibration_error", answer).passed

    monkeypatch.setenv("AZML_LEARNER_ID", "grace")
    found = failures("m04.calibration_error", answer)

    assert set(found) == {"ece: your validation set", "mce: your validation set"}
    assert found["ece: your validation set"].startswith("your result differs from the reference beyond the relative tolerance 1e-06")


def test_calibration_data_differs_per_learner():
    ada = exercise_data("m04.calibration_error", learner="ada")
    grace = exercise_data("m04.calibration_error", learner="grace")

    assert not np.array_equal(ada["y_prob"][:50], grace["y_prob"][:50])
    assert np.array_equal(ada["y_prob"], exercise_data("m04.calibration_error", learner="ada")["y_prob"])
    assert set(np.unique(ada["y_true"])) == {0, 1}
    assert np.all((ada["y_prob"] > 0) & (ada["y_prob"] < 1))


def test_calibration_validation_set_is_overconfident():
    data = exercise_data("m04.calibration_error", learner="ada")
    counts, accuracy, confidence = m04._bins(data["y_true"].astype(float), data["y_prob"], 10)

    # Overconfidence: the lowest bins predict less than their fraction of positives, the highest more.
    assert confidence[0] < accuracy[0]
    assert confidence[-1] > accuracy[-1]
    assert m04.reference_calibration_error(data["y_true"], data["y_prob"]) > 0.05


def test_calibration_missing_value_keys():
    found = failures("m04.calibration_error", {"calibration_error": calibration_from(right_closed)})

    assert found == {
        "ece: your validation set": "expected a dict with the key 'ece'",
        "mce: your validation set": "expected a dict with the key 'mce'",
    }


def test_calibration_released_answer_values_none():
    answer = {"calibration_error": calibration_from(right_closed), "ece": None, "mce": None}

    found = failures("m04.calibration_error", answer)

    assert found == {
        "ece: your validation set": "expected a number or an array of numbers, got None (did you forget `return`?)",
        "mce: your validation set": "expected a number or an array of numbers, got None (did you forget `return`?)",
    }


def test_calibration_function_as_value_named():
    function = calibration_from(right_closed)
    answer = {"calibration_error": function, "ece": function, "mce": function}

    assert failures("m04.calibration_error", answer)["ece: your validation set"] == (
        "expected a number, got a function: call your function on the data and pass the result"
    )


def test_calibration_mistake_loses_points():
    answer = with_answers(calibration_from(right_closed, signed))

    assert grade("m04.calibration_error", answer, points=4, seed=40567) == round(5 / 11 * 4, 4)


def mask_per_bin(y_true, y_prob, n_bins=10, norm="l1"):
    """Loop over the bins with boolean masks, as a learner might."""
    y_true, y_prob = np.asarray(y_true, dtype=float), np.asarray(y_prob, dtype=float)
    if norm not in ("l1", "l2", "max") or n_bins < 1 or y_true.shape != y_prob.shape or y_true.size == 0:
        raise ValueError("invalid input")
    if not np.isin(y_true, (0, 1)).all() or not np.all((y_prob >= 0) & (y_prob <= 1)):
        raise ValueError("invalid labels or probabilities")
    edges = np.linspace(0, 1, n_bins + 1)
    shares, gaps = [], []
    for k in range(n_bins):
        in_bin = (y_prob > edges[k]) & (y_prob <= edges[k + 1])
        if k == 0:
            in_bin |= y_prob == 0
        if in_bin.any():
            shares.append(in_bin.mean())
            gaps.append(abs(y_true[in_bin].mean() - y_prob[in_bin].mean()))
    shares, gaps = np.array(shares), np.array(gaps)
    if norm == "l1":
        return float(shares @ gaps)
    if norm == "l2":
        return float(np.sqrt(shares @ gaps**2))
    return float(gaps.max())


@pytest.mark.parametrize(
    "function",
    [
        mask_per_bin,
        calibration_from(lambda p, n: np.digitize(p, np.linspace(0, 1, n + 1)[1:-1], right=True)),
        calibration_from(lambda p, n: np.maximum(np.ceil(p * n).astype(int) - 1, 0)),
    ],
    ids=["mask_per_bin", "digitize_right", "ceil"],
)
def test_calibration_alternative_accepted(function):
    assert grade("m04.calibration_error", with_answers(function), points=4, seed=40567) == 4


def calibration_error_with_sklearn(y_true, y_prob, n_bins=10, norm="l1"):
    from sklearn.calibration import calibration_curve

    reference = m04.reference_calibration_error(y_true, y_prob, n_bins, norm)
    calibration_curve(y_true, y_prob, n_bins=n_bins)
    return reference


def test_calibration_sklearn_fails_from_scratch_only():
    assert failures("m04.calibration_error", with_answers(calibration_error_with_sklearn)) == {
        f"calibration_error: {FROM_SCRATCH}": SKLEARN_USED
    }


# --- Brier score ---------------------------------------------------------------------------------------------


def brier_from(formula):
    """Wrap ``formula(y, p)`` in the checks a correct Brier score makes."""

    def brier_score(y_true, y_prob):
        y_true, y_prob = np.asarray(y_true), np.asarray(y_prob, dtype=float)
        if y_true.shape != y_prob.shape or y_true.size == 0 or not np.isin(y_true, (0, 1)).all():
            raise ValueError("invalid labels")
        if not np.all((y_prob >= 0) & (y_prob <= 1)):
            raise ValueError("invalid probabilities")
        return float(formula(y_true.astype(float), y_prob))

    return brier_score


@pytest.mark.parametrize(
    ("formula", "explanation"),
    [
        (lambda y, p: np.sum((p - y) ** 2), "looks like a sum of squared errors: divide by the number of samples (take the mean)"),
        (lambda y, p: np.sqrt(np.mean((p - y) ** 2)),
         "looks like the square root of the Brier score: the Brier score is the mean squared difference, with no root"),
        (lambda y, p: np.mean((p - (1 - y)) ** 2),
         "the probability is compared with the wrong class: y_prob is the probability of class 1, so compare it with y_true, not 1 - y_true"),
        (lambda y, p: np.mean(np.abs(p - y)), "looks like the mean absolute difference: square the differences instead"),
        (lambda y, p: np.mean(p - y),
         "looks like the mean signed difference: square each difference so over- and underconfidence both cost"),
        (lambda y, p: np.mean((np.round(p) - y) ** 2),
         "the probabilities look rounded to 0 or 1 first, which gives the error rate: score the probabilities themselves"),
    ],
    ids=["sum", "sqrt", "wrong_class", "absolute", "signed", "rounded"],
)
def test_brier_mistake_named(formula, explanation):
    assert failures("m04.brier_score", brier_from(formula)) == {
        "reference vectors": explanation,
        "generated vectors": explanation,
        "probabilities 0 and 1": explanation,
    }


def test_brier_nan_probability_must_raise():
    def range_check_only(y_true, y_prob):
        y_prob = np.asarray(y_prob, dtype=float)
        if np.isin(y_true, (0, 1), invert=True).any() or np.any(y_prob < 0) or np.any(y_prob > 1):
            raise ValueError("invalid labels or probabilities")
        if len(y_true) != len(y_prob) or len(y_prob) == 0:
            raise ValueError("lengths differ or empty")
        return float(np.mean((y_prob - np.asarray(y_true)) ** 2))

    assert failures("m04.brier_score", range_check_only) == {
        "invalid inputs": "expected ValueError because labels must be 0 or 1 and probabilities in [0, 1], "
        "without NaN, but your function returned nan",
    }


@pytest.mark.parametrize(
    "formula",
    [lambda y, p: (p - y) @ (p - y) / len(y), lambda y, p: np.mean(np.square(y - p)), lambda y, p: np.var(p - y) + np.mean(p - y) ** 2],
    ids=["dot", "square", "bias_variance"],
)
def test_brier_alternative_accepted(formula):
    assert grade("m04.brier_score", brier_from(formula), points=2, seed=40639) == 2


def test_brier_mistake_loses_points():
    assert grade("m04.brier_score", brier_from(lambda y, p: np.mean(np.abs(p - y))), points=2, seed=40639) == round(4 / 7 * 2, 4)


def sklearn_brier_score(y_true, y_prob):
    from sklearn.metrics import brier_score_loss

    y_true, y_prob = np.asarray(y_true), np.asarray(y_prob, dtype=float)
    if y_true.shape != y_prob.shape or y_true.size == 0 or np.isnan(y_prob).any():
        raise ValueError("y_true and y_prob must be non-empty, of the same length and without NaN")
    return brier_score_loss(y_true, y_prob, labels=[0, 1])


def test_brier_sklearn_fails_from_scratch_only():
    assert failures("m04.brier_score", sklearn_brier_score) == {FROM_SCRATCH: SKLEARN_USED}


# --- References against scikit-learn ---------------------------------------------------------------------------

CLASSES = ["a", "b", "c", "d"]


@st.composite
def classification_data(draw, classes=CLASSES, min_size=1):
    """Draw ``(y_true, y_pred, labels)`` where at least one label occurs in y_true, as scikit-learn requires."""
    n = draw(st.integers(min_size, 40))
    y_true = np.array(draw(st.lists(st.sampled_from(classes), min_size=n, max_size=n)))
    y_pred = np.array(draw(st.lists(st.sampled_from(classes), min_size=n, max_size=n)))
    pool = list(classes) + ["e"]
    labels = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
    if not set(labels) & set(y_true.tolist()):
        labels.append(str(y_true[0]))
    return y_true, y_pred, labels


@settings(max_examples=100, deadline=None)
@given(classification_data())
def test_confusion_reference_matches_sklearn(data):
    from sklearn.metrics import confusion_matrix

    y_true, y_pred, labels = data
    with warnings.catch_warnings():
        # scikit-learn warns when the data holds a single label, which the drawn vectors may.
        warnings.simplefilter("ignore", UserWarning)
        expected = confusion_matrix(y_true, y_pred, labels=labels)

    assert np.array_equal(m04.reference_confusion_matrix(y_true, y_pred, labels), expected)


@settings(max_examples=100, deadline=None)
@given(classification_data(), st.sampled_from(["macro", "micro", None]), st.sampled_from([0.0, 1.0]))
def test_prf_reference_matches_sklearn(data, average, zero_division):
    from sklearn.metrics import precision_recall_fscore_support

    y_true, y_pred, labels = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=zero_division)[:3]

    actual = m04.reference_precision_recall_f1(y_true, y_pred, labels, average, zero_division)

    assert np.allclose(np.asarray(actual, float), np.asarray(expected, float))


@settings(max_examples=100, deadline=None)
@given(classification_data(classes=["neg", "pos"]), st.booleans(), st.sampled_from([0.0, 1.0]))
def test_prf_binary_reference_matches_sklearn(data, positive_last, zero_division):
    from sklearn.metrics import precision_recall_fscore_support

    y_true, y_pred, _ = data
    labels = ["neg", "pos"] if positive_last else ["pos", "neg"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=labels[-1],
                                                   average="binary", zero_division=zero_division)[:3]

    assert np.allclose(m04.reference_precision_recall_f1(y_true, y_pred, labels, "binary", zero_division), expected)


@st.composite
def scored_labels(draw):
    n = draw(st.integers(2, 60))
    y = draw(st.lists(st.sampled_from(["ham", "spam", "promo"]), min_size=n, max_size=n))
    pos_label = draw(st.sampled_from(y))
    if all(label == pos_label for label in y):
        y[0] = next(label for label in ("ham", "spam") if label != pos_label)
    tie_prone = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0])
    any_float = st.floats(-1e6, 1e6, allow_nan=False)
    scores = draw(st.lists(st.one_of(tie_prone, any_float), min_size=n, max_size=n))
    return np.array(y), np.array(scores), pos_label


@settings(max_examples=100, deadline=None)
@given(scored_labels())
def test_roc_reference_matches_sklearn(data):
    from sklearn.metrics import roc_auc_score

    y, scores, pos_label = data

    assert m04.reference_roc_auc(y, scores, pos_label) == pytest.approx(roc_auc_score(y == pos_label, scores), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 50).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n), st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))))
def test_rmse_reference_matches_sklearn(data):
    from sklearn.metrics import root_mean_squared_error

    y, y_hat = (np.array(values) for values in data)

    assert m04.reference_rmse(y, y_hat) == pytest.approx(root_mean_squared_error(y, y_hat), rel=1e-9, abs=1e-9)


@st.composite
def labelled_probabilities(draw, on_edges=False):
    n = draw(st.integers(1, 60))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    values = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) if on_edges else st.floats(0, 1)
    return y, np.array(draw(st.lists(values, min_size=n, max_size=n)))


@settings(max_examples=100, deadline=None)
@given(labelled_probabilities())
def test_brier_reference_matches_sklearn(data):
    from sklearn.metrics import brier_score_loss

    y, p = data

    assert m04.reference_brier_score(y, p) == pytest.approx(brier_score_loss(y, p, labels=[0, 1]), rel=1e-9, abs=1e-12)


def masked_bins(y, p, n_bins):
    """Count, mean label and mean probability per non-empty bin, with one boolean mask per bin."""
    edges = np.linspace(0, 1, n_bins + 1)
    rows = []
    for k in range(n_bins):
        in_bin = (p > edges[k]) & (p <= edges[k + 1]) | ((p == 0) if k == 0 else False)
        if in_bin.any():
            rows.append((in_bin.sum(), y[in_bin].mean(), p[in_bin].mean()))
    return np.array(rows).T


@settings(max_examples=100, deadline=None)
@given(st.one_of(labelled_probabilities(), labelled_probabilities(on_edges=True)), st.sampled_from([1, 2, 4, 8]))
def test_calibration_bins_match_sklearn_calibration_curve(data, n_bins):
    from sklearn.calibration import calibration_curve

    y, p = data
    counts, accuracy, confidence = m04._bins(y.astype(float), p, n_bins)
    expected_counts, expected_accuracy, expected_confidence = masked_bins(y.astype(float), p, n_bins)

    assert np.array_equal(counts, expected_counts)
    assert np.allclose(accuracy, expected_accuracy) and np.allclose(confidence, expected_confidence)
    if len(np.unique(y)) == 2:
        prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins)
        assert np.allclose(accuracy, prob_true) and np.allclose(confidence, prob_pred)


@settings(max_examples=100, deadline=None)
@given(labelled_probabilities())
def test_calibration_one_bin_is_mean_gap(data):
    y, p = data
    gap = abs(y.mean() - p.mean())

    for norm in ("l1", "l2", "max"):
        assert m04.reference_calibration_error(y, p, 1, norm) == pytest.approx(gap, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(labelled_probabilities(), st.integers(1, 20))
def test_calibration_norms_ordered(data, n_bins):
    y, p = data
    l1, l2, worst = (m04.reference_calibration_error(y, p, n_bins, norm) for norm in ("l1", "l2", "max"))

    # A weighted mean is at most the weighted root mean square (Jensen), which is at most the maximum.
    assert l1 <= l2 + 1e-12
    assert l2 <= worst + 1e-12
