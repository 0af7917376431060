"""Module 04, evaluation metrics: the confusion matrix, precision, recall and F1, ROC AUC,
RMSE, the expected calibration error and the Brier score, each from scratch with numpy.

The references agree with scikit-learn's ``confusion_matrix``,
``precision_recall_fscore_support``, ``roc_auc_score``, ``root_mean_squared_error``,
``calibration_curve`` and ``brier_score_loss`` on the inputs the exercises accept. The
module's tests compare each reference with scikit-learn on inputs drawn by hypothesis.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import (
    Mistake,
    Tolerance,
    fastest_run,
    matches_reference,
    raises_value_error,
    random_regression_cases,
    satisfies,
    value_matches,
)
from autograder.checks.imports import from_scratch
from autograder.checks.seeds import learner_seed
from autograder.exercises import Exercise, register

TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
PUBLIC_SEED = 0
LARGE_SIZE = 1_000_000
TIME_LIMIT_SECONDS = 0.1
# Counting classes, bins or ranks takes several passes over the data. For a million samples on
# a 2-core x86_64 VM, vectorised confusion matrices took 4-70 ms and np.histogram2d 130 ms.
# A Python loop over the samples took 0.37 s, or 0.11 s over lists from .tolist().
COUNTING_TIME_LIMIT_SECONDS = 0.2
TIMING_ATTEMPTS = 5
CLASS_NAMES = ("ham", "spam", "promo", "phish", "news")


def _paired(first: Any, second: Any, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Return both inputs as 1-D arrays, raising ``ValueError`` unless they are non-empty and of equal length."""
    first, second = np.asarray(first), np.asarray(second)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError(f"{names[0]} has shape {first.shape} but {names[1]} has shape {second.shape}; pass two 1-D arrays of the same length")
    if first.size == 0:
        raise ValueError(f"{names[0]} and {names[1]} are empty")
    return first, second


def _with_hint(group: CaseGroup, hint: str) -> CaseGroup:
    return replace(group, hint=hint)


def _from_scratch(*probe: Any) -> CaseGroup:
    """Build the from-scratch group, failing also for a function that is not implemented yet.

    ``from_scratch()`` alone passes the released stub, which raises ``NotImplementedError``
    and uses no library, so an unchanged notebook would earn points. The stub is called
    once on ``probe``, and only ``NotImplementedError`` escapes: any other error is left to
    the groups that check results.
    """
    scratch = from_scratch()

    def run(function: Callable[..., Any]) -> None:
        scratch.run(function)
        if callable(function):
            try:
                function(*probe)
            except NotImplementedError:
                raise
            except Exception:  # noqa: BLE001 - wrong results and errors are graded by the other groups
                pass

    return CaseGroup(scratch.name, run)


def _runs_within(name: str, cases: Callable[[], list], seconds: float) -> CaseGroup:
    """Build a timing group like ``runs_within`` that keeps the fastest of a few runs per case.

    A correct answer slowed down by another process on the grading machine gets up to
    ``TIMING_ATTEMPTS`` runs, while a Python loop stays slow on every run. A run that takes
    more than three times the limit is not repeated, because load does not explain it.
    """

    def run(function: Callable[..., Any]) -> None:
        if not callable(function):
            raise AssertionError(f"expected a function, got {type(function).__name__}: pass the function itself, without calling it")
        for inputs in cases():
            fastest = fastest_run(function, inputs, TIMING_ATTEMPTS, seconds)
            if fastest > seconds:
                size = max((np.size(a) for a in inputs if isinstance(a, np.ndarray)), default=0)
                raise AssertionError(
                    f"took {fastest:.2f} s on {size:,} elements, limit {seconds:g} s: "
                    "replace Python loops with vectorised numpy operations"
                )

    return CaseGroup(name, run)


# --- Confusion matrix ----------------------------------------------------------------------------


def _label_indices(values: np.ndarray, labels: list) -> np.ndarray:
    """Map each value to the position of its label in ``labels``, or -1 when it has none."""
    indices = np.full(values.shape, -1)
    for position, label in enumerate(labels):
        indices[values == label] = position
    return indices


def reference_confusion_matrix(y_true, y_pred, labels):
    y_true, y_pred = _paired(y_true, y_pred, ("y_true", "y_pred"))
    labels = list(labels)
    if not labels:
        raise ValueError("labels is empty")
    k = len(labels)
    true_index, pred_index = _label_indices(y_true, labels), _label_indices(y_pred, labels)
    # Samples whose true or predicted label is not in `labels` are left out, as scikit-learn does.
    kept = (true_index >= 0) & (pred_index >= 0)
    return np.bincount(true_index[kept] * k + pred_index[kept], minlength=k * k).reshape(k, k)


def _labels_from_data(y_true, y_pred, labels):
    return reference_confusion_matrix(y_true, y_pred, list(np.unique(np.concatenate([y_true, y_pred]))))


CONFUSION_MISTAKES = (
    Mistake("rows and columns are swapped: rows are the true labels, columns the predicted labels",
            lambda t, p, labels: reference_confusion_matrix(t, p, labels).T),
    Mistake("the rows and columns follow the sorted labels: keep the order given in `labels`",
            lambda t, p, labels: reference_confusion_matrix(t, p, sorted(labels))),
    Mistake("the classes come from the data instead of `labels`: a label absent from the data still gets a row and a column of zeros",
            _labels_from_data),
    Mistake("the matrix contains fractions of all samples: count the samples instead",
            lambda t, p, labels: reference_confusion_matrix(t, p, labels) / reference_confusion_matrix(t, p, labels).sum()),
    Mistake("each row is normalised to sum to 1: count the samples instead",
            lambda t, p, labels: _row_normalised(reference_confusion_matrix(t, p, labels))),
)


def _row_normalised(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=1, keepdims=True)
    return np.where(totals > 0, matrix / np.maximum(totals, 1), 0.0)


def _cat_dog_pig() -> tuple[np.ndarray, np.ndarray]:
    return (np.array(["cat", "dog", "pig", "cat", "dog", "pig"]), np.array(["cat", "pig", "dog", "cat", "cat", "dog"]))


def _confusion_reference_cases():
    y_true, y_pred = _cat_dog_pig()
    return [
        (y_true, y_pred, ["pig", "cat", "dog"]),
        (y_true, y_pred, ["cat", "dog", "pig"]),
        (np.array([0, 1, 1, 0, 1, 1]), np.array([0, 1, 0, 1, 1, 1]), [0, 1]),
    ]


def _label_case(rng: np.random.Generator, n_classes: int, *, names: bool, unseen: bool):
    """Draw an imbalanced ``(y_true, y_pred, labels)`` case with about 40-90 % accuracy."""
    classes = list(rng.permutation(CLASS_NAMES)[:n_classes]) if names else list(rng.permutation(n_classes))
    classes = [str(c) if names else int(c) for c in classes]
    n = int(rng.integers(10, 120))
    y_true = rng.choice(len(classes), size=n, p=rng.dirichlet(np.ones(len(classes))))
    y_pred = np.where(rng.random(n) < rng.uniform(0.4, 0.9), y_true, rng.integers(0, len(classes), n))
    labels = list(classes)
    if unseen:
        labels.insert(int(rng.integers(0, len(labels) + 1)), "other" if names else n_classes)
    order = [labels[i] for i in rng.permutation(len(labels))]
    values = np.array(classes)
    return values[y_true], values[y_pred], order


def _random_label_cases(seed: int, count: int = 6):
    rng = np.random.default_rng(seed)
    return [_label_case(rng, int(rng.integers(2, 6)), names=bool(i % 2), unseen=i % 3 == 0) for i in range(count)]


def _large_label_case(seed: int):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 3, LARGE_SIZE)
    y_pred = np.where(rng.random(LARGE_SIZE) < 0.7, y_true, rng.integers(0, 3, LARGE_SIZE))
    return y_true, y_pred, [2, 0, 1]


def _integer_counts(function: Callable) -> None:
    result = np.asarray(function(np.array(["cat", "dog", "dog"]), np.array(["dog", "dog", "cat"]), ["cat", "dog", "pig"]))
    if result.shape != (3, 3):
        raise AssertionError(f"expected a 2-D array of shape (len(labels), len(labels)) = (3, 3), got shape {result.shape}")
    if not np.issubdtype(result.dtype, np.integer):
        raise AssertionError(f"expected integer counts, got dtype {result.dtype}: start from np.zeros((k, k), dtype=int)")


def _leaves_out_other_labels(function: Callable) -> None:
    y_true = np.array(["cat", "dog", "pig", "cat", "pig", "dog"])
    y_pred = np.array(["cat", "pig", "dog", "dog", "cat", "dog"])
    expected = reference_confusion_matrix(y_true, y_pred, ["dog", "cat"])
    result = np.asarray(function(y_true, y_pred, ["dog", "cat"]))
    if result.shape == expected.shape and np.array_equal(result, expected):
        return
    if result.shape == expected.shape and result.sum() > expected.sum():
        raise AssertionError("your matrix counts samples whose true or predicted label is not in `labels`: leave those samples out")
    raise AssertionError("with labels that leave out a class of the data your matrix differs: count only samples whose true and predicted labels are both in `labels`")


def _confusion_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    y_true, y_pred = _cat_dog_pig()
    groups = [
        matches_reference("reference vectors", reference_confusion_matrix, _confusion_reference_cases,
                          tolerance=TOLERANCE, mistakes=CONFUSION_MISTAKES),
        matches_reference("generated vectors", reference_confusion_matrix, lambda: _random_label_cases(seed),
                          tolerance=TOLERANCE, mistakes=CONFUSION_MISTAKES),
        matches_reference("labels absent from the data", reference_confusion_matrix,
                          lambda: [(y_true, y_pred, ["cow", "cat", "dog", "pig"]), (np.array([1, 1]), np.array([1, 1]), [0, 1, 2])],
                          tolerance=TOLERANCE, mistakes=CONFUSION_MISTAKES),
        satisfies("data labels missing from labels", _leaves_out_other_labels),
        satisfies("integer counts", _integer_counts),
        raises_value_error("length mismatch", [(np.array([0, 1, 1]), np.array([0, 1]), [0, 1])],
                           why="y_true and y_pred have different lengths"),
        raises_value_error("empty input", [(np.array([]), np.array([]), [0, 1])], why="there are no samples to count"),
        _from_scratch(*_cat_dog_pig(), ["cat", "dog", "pig"]),
    ]
    if timed:
        groups.append(_runs_within("vectorised", lambda: [_large_label_case(seed)], COUNTING_TIME_LIMIT_SECONDS))
    return groups


# --- Precision, recall and F1 -----------------------------------------------------------------------

AVERAGES = ("binary", "macro", "micro", None)


def _divide(numerator, denominator, zero_division: float) -> np.ndarray:
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), zero_division)


def reference_precision_recall_f1(y_true, y_pred, labels, average, zero_division=0.0):
    if average not in AVERAGES:
        raise ValueError(f"invalid average {average!r}; use one of {AVERAGES}")
    if average == "binary" and len(labels) != 2:
        raise ValueError(f"average='binary' needs exactly two labels, got {len(labels)}")
    y_true, y_pred = _paired(y_true, y_pred, ("y_true", "y_pred"))
    tp = np.diag(reference_confusion_matrix(y_true, y_pred, labels)).astype(float)
    # Counted over all samples, as scikit-learn does: a sample of class c predicted as a class
    # outside `labels` is still a false negative of c.
    fp = np.array([np.sum(y_pred == label) for label in labels]) - tp
    fn = np.array([np.sum(y_true == label) for label in labels]) - tp
    if average == "binary":
        tp, fp, fn = tp[-1], fp[-1], fn[-1]
    elif average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    # F1 = 2 TP / (2 TP + FP + FN) equals 2PR / (P + R) whenever P + R > 0.
    scores = (_divide(tp, tp + fp, zero_division), _divide(tp, tp + fn, zero_division),
              _divide(2 * tp, 2 * tp + fp + fn, zero_division))
    if average is None:
        return scores
    if average == "macro":
        return tuple(float(np.mean(score)) for score in scores)
    return tuple(float(score) for score in scores)


def _per_class(t, p, labels, zero_division):
    return [np.asarray(s) for s in reference_precision_recall_f1(t, p, labels, None, zero_division)]


def _macro_micro_swapped(t, p, labels, average, zero_division=0.0):
    other = {"macro": "micro", "micro": "macro"}.get(average)
    if other is None:
        raise ValueError("this mistake applies to macro and micro averages only")
    return reference_precision_recall_f1(t, p, labels, other, zero_division)


def _precision_recall_swapped(t, p, labels, average, zero_division=0.0):
    precision, recall, f1 = reference_precision_recall_f1(t, p, labels, average, zero_division)
    return recall, precision, f1


def _arithmetic_f1(t, p, labels, average, zero_division=0.0):
    if average == "macro":
        precision, recall, _ = _per_class(t, p, labels, zero_division)
        return float(precision.mean()), float(recall.mean()), float(((precision + recall) / 2).mean())
    precision, recall, _ = reference_precision_recall_f1(t, p, labels, average, zero_division)
    return precision, recall, (np.asarray(precision) + np.asarray(recall)) / 2


def _support_weighted(t, p, labels, average, zero_division=0.0):
    if average != "macro":
        raise ValueError("this mistake applies to the macro average only")
    support = np.array([np.sum(t == label) for label in labels])
    return tuple(float(np.average(s, weights=support)) for s in _per_class(t, p, labels, zero_division))


def _f1_of_macro_averages(t, p, labels, average, zero_division=0.0):
    if average != "macro":
        raise ValueError("this mistake applies to the macro average only")
    precision, recall, _ = reference_precision_recall_f1(t, p, labels, "macro", zero_division)
    return precision, recall, 2 * precision * recall / (precision + recall)


def _first_label_positive(t, p, labels, average, zero_division=0.0):
    if average != "binary":
        raise ValueError("this mistake applies to the binary average only")
    return reference_precision_recall_f1(t, p, list(labels)[::-1], "binary", zero_division)


def _macro_over_seen_classes(t, p, labels, average, zero_division=0.0):
    if average != "macro":
        raise ValueError("this mistake applies to the macro average only")
    seen = [label for label in labels if np.any(t == label) or np.any(p == label)]
    return reference_precision_recall_f1(t, p, seen, "macro", zero_division)


PRF_MISTAKES = (
    Mistake("macro and micro averaging are swapped: macro averages the per-class scores, micro pools TP, FP and FN over classes first",
            _macro_micro_swapped),
    Mistake("precision and recall are swapped: precision divides TP by TP + FP (the predicted positives), recall by TP + FN (the true positives)",
            _precision_recall_swapped),
    Mistake("F1 looks like the arithmetic mean of precision and recall: it is their harmonic mean, 2PR / (P + R)",
            _arithmetic_f1),
    Mistake("looks like an average weighted by class support: the macro average gives every class the same weight",
            _support_weighted),
    Mistake("macro F1 looks like the harmonic mean of macro precision and macro recall: average the per-class F1 scores instead",
            _f1_of_macro_averages),
    Mistake("the positive class looks like labels[0]: for average='binary' the positive class is the last label, labels[-1]",
            _first_label_positive),
    Mistake("the macro average skips classes absent from the data: average over every class in `labels`, using zero_division where a score is 0/0",
            _macro_over_seen_classes),
    Mistake("zero_division is ignored: a score whose denominator is zero must take the value of zero_division",
            lambda t, p, labels, average, zero_division=0.0: reference_precision_recall_f1(t, p, labels, average, 0.0)),
)


def _prf_reference_cases():
    y_true, y_pred = _cat_dog_pig()
    labels = ["cat", "dog", "pig"]
    spam_true = np.array(["spam", "ham", "spam", "spam", "ham", "ham", "spam"])
    spam_pred = np.array(["spam", "spam", "ham", "spam", "ham", "spam", "spam"])
    return [
        (y_true, y_pred, labels, "macro", 0.0),
        (y_true, y_pred, labels, "micro", 0.0),
        (y_true, y_pred, labels, None, 0.0),
        (spam_true, spam_pred, ["ham", "spam"], "binary", 0.0),
    ]


def _random_prf_cases(seed: int):
    rng = np.random.default_rng(seed)
    cases = []
    for i, average in enumerate(["macro", "micro", None, "binary"] * 2):
        n_classes = 2 if average == "binary" else int(rng.integers(3, 6))
        y_true, y_pred, labels = _label_case(rng, n_classes, names=bool(i % 2), unseen=average == "macro" and i >= 4)
        cases.append((y_true, y_pred, labels, average, float(rng.integers(0, 2))))
    return cases


# Class 1 is never predicted (precision 0/0) and class 2 is absent from both vectors (all three 0/0).
ZERO_DIVISION_CASES = [
    (np.array([0, 0, 1, 1, 0]), np.array([0, 0, 0, 0, 0]), [0, 1, 2], average, zero_division)
    for average in (None, "macro", "micro") for zero_division in (0.0, 1.0)
]


def _zero_division_handled(function: Callable) -> None:
    for y_true, y_pred, labels, average, zero_division in ZERO_DIVISION_CASES:
        result = function(y_true.copy(), y_pred.copy(), list(labels), average, zero_division)
        expected = reference_precision_recall_f1(y_true, y_pred, labels, average, zero_division)
        try:
            values = np.asarray(result, dtype=float)
        except (TypeError, ValueError):
            raise AssertionError(f"expected (precision, recall, f1), got {type(result).__name__}") from None
        if np.isnan(values).any():
            raise AssertionError("a class with no predicted or no true samples gave nan (0/0): return zero_division for that score")
        if values.shape != np.shape(np.asarray(expected, float)) or not np.allclose(values, np.asarray(expected, float)):
            ignored = np.asarray(reference_precision_recall_f1(y_true, y_pred, labels, average, 0.0), float)
            if zero_division and values.shape == ignored.shape and np.allclose(values, ignored):
                raise AssertionError("zero_division=1.0 gave the same scores as 0.0: use the zero_division argument for every 0/0 score")
            raise AssertionError(
                f"with average={average!r} and a class that is never predicted or absent, your scores differ: "
                "precision is zero_division when TP + FP = 0, recall when TP + FN = 0, F1 when 2TP + FP + FN = 0"
            )


def _prf_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference vectors", reference_precision_recall_f1, _prf_reference_cases,
                          tolerance=TOLERANCE, mistakes=PRF_MISTAKES),
        matches_reference("generated vectors", reference_precision_recall_f1, lambda: _random_prf_cases(seed),
                          tolerance=TOLERANCE, mistakes=PRF_MISTAKES),
        satisfies("zero division", _zero_division_handled),
        raises_value_error("length mismatch", [(np.array([0, 1, 1]), np.array([0, 1]), [0, 1], "macro", 0.0)],
                           why="y_true and y_pred have different lengths"),
        raises_value_error("invalid average", [(np.array([0, 1]), np.array([0, 1]), [0, 1], "weighted", 0.0)],
                           why="average must be 'binary', 'macro', 'micro' or None"),
        raises_value_error("binary with three labels", [(np.array([0, 1, 2]), np.array([0, 1, 2]), [0, 1, 2], "binary", 0.0)],
                           why="average='binary' needs exactly two labels"),
        _from_scratch(*_cat_dog_pig(), ["cat", "dog", "pig"], "macro", 0.0),
    ]
    if timed:
        groups.append(_runs_within("vectorised", lambda: [(*_large_label_case(seed), "macro", 0.0)], COUNTING_TIME_LIMIT_SECONDS))
    return groups


# --- ROC AUC ------------------------------------------------------------------------------------------

ROC_TIME_LIMIT_SECONDS = 1.0


def _ordered_pairs(y_true, scores, pos_label) -> tuple[int, int, int, int]:
    """Count (positive, negative) pairs where the positive scores higher, and tied pairs."""
    y_true, scores = _paired(y_true, scores, ("y_true", "scores"))
    scores = scores.astype(float)
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    positive = y_true == pos_label
    if positive.all() or not positive.any():
        raise ValueError(f"ROC AUC needs positive and negative samples, but every label is {'' if positive.all() else 'not '}{pos_label!r}")
    negatives = np.sort(scores[~positive])
    below = np.searchsorted(negatives, scores[positive], side="left")
    not_above = np.searchsorted(negatives, scores[positive], side="right")
    return int(below.sum()), int((not_above - below).sum()), int(positive.sum()), int(negatives.size)


def reference_roc_auc(y_true, scores, pos_label):
    higher, tied, n_positive, n_negative = _ordered_pairs(y_true, scores, pos_label)
    return (higher + 0.5 * tied) / (n_positive * n_negative)


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank ``scores`` from 1, giving tied scores the mean of their ranks."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2)[inverse]


def _rank_sum_not_reduced(y, s, pos_label):
    positive = np.asarray(y) == pos_label
    return float(_average_ranks(np.asarray(s, float))[positive].sum() / (positive.sum() * (~positive).sum()))


def _ties_counted(weight: float):
    def compute(y, s, pos_label):
        higher, tied, n_positive, n_negative = _ordered_pairs(y, s, pos_label)
        return (higher + weight * tied) / (n_positive * n_negative)

    return compute


ROC_MISTAKES = (
    Mistake("tied scores count as 0: a tie between a positive and a negative counts 1/2", _ties_counted(0.0)),
    Mistake("tied scores count as 1: a tie between a positive and a negative counts 1/2", _ties_counted(1.0)),
    Mistake("your AUC is 1 - AUC: the positives are the samples equal to pos_label, and they should score higher than the others",
            lambda y, s, pos_label: 1 - reference_roc_auc(y, s, pos_label)),
    Mistake("looks like the accuracy at the threshold 0.5: AUC compares the scores of every positive with every negative, with no threshold",
            lambda y, s, pos_label: float(np.mean((np.asarray(s) >= 0.5) == (np.asarray(y) == pos_label)))),
    Mistake("looks like the rank sum of the positives over n_pos * n_neg: subtract n_pos (n_pos + 1) / 2 from the rank sum first",
            _rank_sum_not_reduced),
    Mistake("looks like ranks counted from 0: the rank-sum formula needs ranks starting at 1",
            lambda y, s, pos_label: reference_roc_auc(y, s, pos_label) - 1 / np.sum(np.asarray(y) != pos_label)),
)


def _roc_reference_cases():
    return [
        # Ties between classes, and every mistake of ROC_MISTAKES gives a different value.
        (np.array(["ok", "ok", "fraud", "fraud", "ok", "ok", "fraud"]), np.array([0.8, 0.8, 0.6, 0.8, 0.3, 0.4, 0.8]), "fraud"),
        (np.array([1, 1, 2, 2]), np.array([0.1, 0.4, 0.35, 0.8]), 2),
    ]


def _random_roc_cases(seed: int, count: int = 6):
    """Draw scores rounded to two decimals, so that ties occur, for labels of two or three classes."""
    rng = np.random.default_rng(seed)
    label_sets = [np.array([0, 1]), np.array([1, 2]), np.array(["ok", "fraud"]), np.array(["ham", "spam", "promo"])]
    cases = []
    for i in range(count):
        classes = label_sets[i % len(label_sets)]
        n = int(rng.integers(10, 200))
        codes = rng.integers(0, len(classes), n)
        codes[: len(classes)] = np.arange(len(classes))
        pos_code = int(rng.integers(0, len(classes)))
        logits = rng.normal(0, 1, n) + rng.uniform(0.2, 2.0) * (codes == pos_code)
        cases.append((classes[codes], np.round(1 / (1 + np.exp(-logits)), 2), classes[pos_code].item()))
    return cases


def _tied_cases():
    return [
        (np.array([0, 1, 0, 1, 0, 0]), np.full(6, 0.3), 1),
        (np.array([0, 1, 1, 0, 1, 0, 0]), np.array([0.5, 0.5, 0.9, 0.1, 0.5, 0.5, 0.3]), 1),
    ]


def _large_roc_cases(seed: int):
    rng = np.random.default_rng(seed)
    cases = []
    # A Python loop over all pairs fails the small case within seconds. The large case has
    # about 2.5e11 pairs, which such a loop would compare for hours.
    for size in (5_000, LARGE_SIZE):
        y = rng.integers(0, 2, size)
        cases.append((y, rng.normal(size=size) + y, 1))
    return cases


def _roc_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference vectors", reference_roc_auc, _roc_reference_cases, tolerance=TOLERANCE, mistakes=ROC_MISTAKES),
        matches_reference("generated vectors", reference_roc_auc, lambda: _random_roc_cases(seed),
                          tolerance=TOLERANCE, mistakes=ROC_MISTAKES),
        matches_reference("tied scores", reference_roc_auc, _tied_cases, tolerance=TOLERANCE, mistakes=ROC_MISTAKES),
        raises_value_error("one class only", [(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]), 1),
                                              (np.array([0, 0, 1]), np.array([0.2, 0.5, 0.9]), 2)],
                           why="AUC is undefined without both positive and negative samples"),
        raises_value_error("length mismatch", [(np.array([0, 1, 1]), np.array([0.2, 0.5]), 1)],
                           why="y_true and scores have different lengths"),
        raises_value_error("NaN score", [(np.array([0, 1, 1, 0]), np.array([0.2, np.nan, 0.7, 0.4]), 1)],
                           why="a NaN score cannot be ranked"),
        _from_scratch(np.array([1, 1, 2, 2]), np.array([0.1, 0.4, 0.35, 0.8]), 2),
    ]
    if timed:
        timing = _runs_within("n log n", lambda: _large_roc_cases(seed), ROC_TIME_LIMIT_SECONDS)
        groups.append(_with_hint(timing, "comparing every positive with every negative takes n_pos x n_neg steps and memory: sort the scores once"))
    return groups


# --- RMSE ---------------------------------------------------------------------------------------------


def reference_rmse(y, y_hat):
    y, y_hat = _paired(y, y_hat, ("y", "y_hat"))
    y, y_hat = y.astype(float), y_hat.astype(float)
    if np.isnan(y).any() or np.isnan(y_hat).any():
        raise ValueError("y or y_hat contains NaN")
    return float(np.sqrt(np.mean((y - y_hat) ** 2)))


def _errors(y, y_hat) -> np.ndarray:
    return np.asarray(y, float) - np.asarray(y_hat, float)


RMSE_MISTAKES = (
    Mistake("looks like the MSE: take the square root of the mean squared error", lambda y, p: np.mean(_errors(y, p) ** 2)),
    Mistake("looks like the square root of the sum of squared errors: divide the sum by n before the square root",
            lambda y, p: np.sqrt(np.sum(_errors(y, p) ** 2))),
    Mistake("looks like the square root of the sum divided by n: the division by n goes inside the square root",
            lambda y, p: np.sqrt(np.sum(_errors(y, p) ** 2)) / len(y)),
    Mistake("looks like the mean absolute error, which is also what the square root of each squared error gives: "
            "average the squared errors first, then take one square root",
            lambda y, p: np.mean(np.abs(_errors(y, p)))),
    Mistake("looks like a division by n - 1: the RMSE divides by n", lambda y, p: np.sqrt(np.sum(_errors(y, p) ** 2) / (len(y) - 1))),
    Mistake("looks like the absolute mean error: square each error before averaging, so errors of opposite sign do not cancel",
            lambda y, p: np.abs(np.mean(_errors(y, p)))),
)


def _large_regression_pair(seed: int):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=LARGE_SIZE)
    return y, y + rng.normal(size=LARGE_SIZE)


def _rmse_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference vectors", reference_rmse,
                          lambda: [(np.array([3, -0.5, 2, 7]), np.array([2.5, 0.0, 2, 8])),
                                   (np.array([200.0, 180.0, 240.0]), np.array([210.0, 150.0, 240.0]))],
                          tolerance=TOLERANCE, mistakes=RMSE_MISTAKES),
        matches_reference("generated vectors", reference_rmse, lambda: random_regression_cases(seed),
                          tolerance=TOLERANCE, mistakes=RMSE_MISTAKES),
        raises_value_error("shape mismatch", [(np.ones(3), np.ones(4))], why="y and y_hat have different lengths"),
        raises_value_error("empty input", [(np.array([]), np.array([]))], why="the mean of no errors is undefined"),
        raises_value_error("NaN input", [(np.array([1.0, np.nan]), np.array([1.0, 2.0])), (np.array([1.0, 2.0]), np.array([np.nan, 2.0]))],
                           why="a NaN target or prediction would make the metric NaN"),
        _from_scratch(np.array([3, -0.5, 2, 7]), np.array([2.5, 0.0, 2, 8])),
    ]
    if timed:
        groups.append(_runs_within("vectorised", lambda: [_large_regression_pair(seed)], TIME_LIMIT_SECONDS))
    return groups


# --- Probabilities of a binary classifier: shared validation and data -------------------------------------


def _binary_targets_and_probabilities(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_prob = _paired(y_true, y_prob, ("y_true", "y_prob"))
    y_prob = y_prob.astype(float)
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"y_true must contain only 0 and 1, got {np.unique(y_true)[:5]}")
    # NaN fails both comparisons, so the test is written to let only values inside [0, 1] pass.
    if not np.all((y_prob >= 0) & (y_prob <= 1)):
        raise ValueError("y_prob must lie in [0, 1] and contain no NaN")
    return y_true.astype(float), y_prob


def _random_probability_cases(seed: int, count: int = 5):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        n = int(rng.integers(5, 300))
        truth = rng.beta(2, 2, n)
        cases.append((rng.binomial(1, truth), np.clip(truth + rng.normal(0, 0.2, n), 0, 1)))
    return cases


def _large_probability_case(seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, LARGE_SIZE), rng.random(LARGE_SIZE)


PROBABILITY_ERRORS = [
    (np.array([0, 1, 2]), np.array([0.1, 0.8, 0.5])),
    (np.array([0, 1, 1]), np.array([0.1, 1.2, 0.5])),
    (np.array([0, 1, 1]), np.array([-0.1, 0.8, 0.5])),
    (np.array([0, 1, 1]), np.array([0.1, np.nan, 0.5])),
]


# --- Expected calibration error ----------------------------------------------------------------------------

CALIBRATION_NORMS = ("l1", "l2", "max")


def _bins(y_true, y_prob, n_bins: int, *, right_closed: bool = True, edges_count: int | None = None):
    """Return the count, mean target and mean probability of each non-empty bin.

    Bin k covers (k / n_bins, (k + 1) / n_bins], and bin 0 also contains 0. The arguments
    ``right_closed=False`` and ``edges_count`` build the wrong bins of the mistake catalogue.
    """
    edges = np.linspace(0.0, 1.0, edges_count if edges_count is not None else n_bins + 1)
    side = "left" if right_closed else "right"
    index = np.searchsorted(edges[1:-1], y_prob, side=side)
    counts = np.bincount(index, minlength=len(edges) - 1)
    target_sums = np.bincount(index, weights=y_true, minlength=len(edges) - 1)
    probability_sums = np.bincount(index, weights=y_prob, minlength=len(edges) - 1)
    filled = counts > 0
    return counts[filled], target_sums[filled] / counts[filled], probability_sums[filled] / counts[filled]


def _validated_calibration_inputs(y_true, y_prob, n_bins, norm):
    if norm not in CALIBRATION_NORMS:
        raise ValueError(f"invalid norm {norm!r}; use one of {CALIBRATION_NORMS}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return _binary_targets_and_probabilities(y_true, y_prob)


def _calibration_norm(counts, gaps, norm: str) -> float:
    weights = counts / counts.sum()
    if norm == "l1":
        return float(np.sum(weights * gaps))
    if norm == "l2":
        return float(np.sqrt(np.sum(weights * gaps**2)))
    return float(np.max(gaps))


def reference_calibration_error(y_true, y_prob, n_bins=10, norm="l1"):
    y_true, y_prob = _validated_calibration_inputs(y_true, y_prob, n_bins, norm)
    counts, accuracy, confidence = _bins(y_true, y_prob, n_bins)
    return _calibration_norm(counts, np.abs(accuracy - confidence), norm)


def _calibration_mistake(statistic):
    """Build a mistake from ``statistic(counts, signed_gaps, norm, y, p, n_bins)`` on validated inputs."""

    def compute(y_true, y_prob, n_bins=10, norm="l1"):
        y, p = _validated_calibration_inputs(y_true, y_prob, n_bins, norm)
        counts, accuracy, confidence = _bins(y, p, n_bins)
        return statistic(counts, accuracy - confidence, norm, y, p, n_bins)

    return compute


def _unweighted(counts, gaps, norm, *_):
    return _calibration_norm(np.ones_like(counts), np.abs(gaps), norm)


def _empty_bins_counted(counts, gaps, norm, y, p, n_bins):
    if norm == "max":
        raise ValueError("an empty bin does not change the maximum")
    padded = np.concatenate([np.abs(gaps), np.zeros(n_bins - len(gaps))])
    return _calibration_norm(np.ones(n_bins), padded, norm)


def _signed(sign: float):
    def statistic(counts, gaps, norm, *_):
        weights = counts / counts.sum()
        if norm == "l1":
            return float(np.sum(weights * sign * gaps))
        if norm == "max":
            return float(np.max(sign * gaps))
        raise ValueError("squaring hides the sign in the L2 norm")

    return statistic


def _other_bins(right_closed: bool, edges_offset: int):
    def compute(y_true, y_prob, n_bins=10, norm="l1"):
        y, p = _validated_calibration_inputs(y_true, y_prob, n_bins, norm)
        if n_bins + 1 + edges_offset < 2:
            raise ValueError("too few edges for a bin")
        counts, accuracy, confidence = _bins(y, p, n_bins, right_closed=right_closed, edges_count=n_bins + 1 + edges_offset)
        return _calibration_norm(counts, np.abs(accuracy - confidence), norm)

    return compute


def _only_for(only_norm: str, statistic):
    def only(counts, gaps, norm, *rest):
        if norm != only_norm:
            raise ValueError(f"this mistake applies to norm={only_norm!r} only")
        return statistic(counts, gaps, norm, *rest)

    return only


def _bin_centres(y_true, y_prob, n_bins=10, norm="l1"):
    y, p = _validated_calibration_inputs(y_true, y_prob, n_bins, norm)
    index = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p, side="left")
    counts = np.bincount(index, minlength=n_bins)
    accuracy = np.bincount(index, weights=y, minlength=n_bins)
    filled = counts > 0
    centres = (np.arange(n_bins) + 0.5) / n_bins
    return _calibration_norm(counts[filled], np.abs(accuracy[filled] / counts[filled] - centres[filled]), norm)


CALIBRATION_MISTAKES = (
    Mistake("looks like an unweighted mean over the bins: weight each bin's gap by its share of the samples, n_b / n",
            _calibration_mistake(_unweighted)),
    Mistake("empty bins are counted: leave bins that hold no sample out of the sum",
            _calibration_mistake(_empty_bins_counted)),
    Mistake("the gaps keep their sign: take the absolute difference between the mean target and the mean probability of each bin",
            _calibration_mistake(_signed(1.0))),
    Mistake("the gaps keep their sign: take the absolute difference between the mean target and the mean probability of each bin",
            _calibration_mistake(_signed(-1.0))),
    Mistake("a value on a bin edge went to the bin on its right: bins are closed on the right, so 0.5 belongs to [0, 0.5] when n_bins = 2",
            _other_bins(right_closed=False, edges_offset=0)),
    Mistake("looks like n_bins - 1 bins: n_bins equal-width bins need n_bins + 1 edges, np.linspace(0, 1, n_bins + 1)",
            _other_bins(right_closed=True, edges_offset=-1)),
    Mistake("looks like n_bins + 1 bins: n_bins equal-width bins need n_bins + 1 edges, np.linspace(0, 1, n_bins + 1)",
            _other_bins(right_closed=True, edges_offset=1)),
    Mistake("the L2 norm lacks its square root: take the square root of the weighted mean of squared gaps",
            _calibration_mistake(_only_for("l2", lambda counts, gaps, norm, *_: float(np.sum(counts / counts.sum() * gaps**2))))),
    Mistake("the max norm looks weighted by the bin's share of samples: the maximum calibration error is the largest unweighted gap",
            _calibration_mistake(_only_for("max", lambda counts, gaps, norm, *_: float(np.max(counts / counts.sum() * np.abs(gaps)))))),
    Mistake("each bin's mean probability looks replaced by the bin centre: compare the mean target with the mean predicted probability in the bin",
            _bin_centres),
    Mistake("looks like the mean absolute difference between each probability and its label, without bins: group the samples into bins first",
            lambda y, p, n_bins=10, norm="l1": float(np.mean(np.abs(np.asarray(p, float) - np.asarray(y, float))))),
)

CALIBRATION_REFERENCE = (np.array([0, 0, 1, 1, 1]), np.array([0.25, 0.25, 0.55, 0.75, 0.75]))


def _calibration_reference_cases():
    y, p = CALIBRATION_REFERENCE
    # Three bins first: with two, one bin too few gives the same L1 value as signed gaps.
    # On this case the mistakes that change the result give pairwise different values.
    three_bins = (np.array([1, 0, 1, 0, 0, 0, 1]), np.array([0.41, 0.74, 0.71, 0.02, 0.13, 0.92, 0.56]), 3, "l1")
    return [three_bins] + [(y, p, 2, norm) for norm in CALIBRATION_NORMS]


def _random_calibration_cases(seed: int):
    rng = np.random.default_rng(seed)
    return [(y, p, int(rng.integers(1, 16)), norm) for (y, p), norm in zip(_random_probability_cases(seed, 6), CALIBRATION_NORMS * 2)]


def _edge_cases():
    """Probabilities exactly on bin edges, for n_bins whose edges are exact in floating point.

    With 4 bins the mistakes that change the result give pairwise different values.
    """
    y = np.array([1, 1, 0, 0, 0, 1, 1])
    p = np.array([0.0, 0.9, 0.3, 0.0, 0.5, 1.0, 0.9])
    return [(y, p, n_bins, norm) for n_bins in (4, 2) for norm in ("l1", "max")]


def _empty_bin_cases():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.05, 0.12, 0.91, 0.97, 0.88, 0.93])
    return [(y, p, 10, norm) for norm in CALIBRATION_NORMS]


def validation_set(seed: int) -> dict[str, np.ndarray]:
    """Generate a learner's validation labels and the probabilities of an overconfident classifier."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1500, 2500))
    truth = rng.beta(2, 2, n)
    y_true = rng.binomial(1, truth)
    # Stretching the log-odds by more than 1 pushes probabilities towards 0 and 1: overconfidence.
    log_odds = rng.uniform(1.5, 2.5) * np.log(truth / (1 - truth)) + rng.uniform(-0.3, 0.3)
    y_prob = 1 / (1 + np.exp(-log_odds))
    return {"y_true": y_true, "y_prob": y_prob}


CALIBRATION_ID = "m04.calibration_error"


def _on_key(key: str, group: CaseGroup) -> CaseGroup:
    def run(answer: Any) -> None:
        if not isinstance(answer, dict) or key not in answer:
            raise AssertionError(f"expected a dict with the key {key!r}")
        group.run(answer[key])

    return CaseGroup(f"{key}: {group.name}", run, group.hint, group.weight)


def _on_validation_set(norm: str):
    def inputs():
        data = validation_set(learner_seed(CALIBRATION_ID))
        return data["y_true"], data["y_prob"], 10, norm

    return inputs


def _calibration_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    function_groups = [
        matches_reference("reference vectors", reference_calibration_error, _calibration_reference_cases,
                          tolerance=TOLERANCE, mistakes=CALIBRATION_MISTAKES),
        matches_reference("generated vectors", reference_calibration_error, lambda: _random_calibration_cases(seed),
                          tolerance=TOLERANCE, mistakes=CALIBRATION_MISTAKES),
        matches_reference("probabilities on bin edges", reference_calibration_error, _edge_cases,
                          tolerance=TOLERANCE, mistakes=CALIBRATION_MISTAKES),
        matches_reference("empty bins", reference_calibration_error, _empty_bin_cases,
                          tolerance=TOLERANCE, mistakes=CALIBRATION_MISTAKES),
        raises_value_error("invalid inputs", [(y, p, 10, "l1") for y, p in PROBABILITY_ERRORS],
                           why="labels must be 0 or 1 and probabilities in [0, 1], without NaN"),
        raises_value_error("shape mismatch or empty", [(np.array([0, 1]), np.array([0.5]), 10, "l1"), (np.array([]), np.array([]), 10, "l1")],
                           why="y_true and y_prob must be non-empty and of the same length"),
        raises_value_error("invalid n_bins or norm", [(np.array([0, 1]), np.array([0.2, 0.6]), 0, "l1"),
                                                     (np.array([0, 1]), np.array([0.2, 0.6]), 10, "l3")],
                           why="n_bins must be at least 1 and norm one of 'l1', 'l2', 'max'"),
        _from_scratch(*CALIBRATION_REFERENCE, 2, "l1"),
    ]
    if timed:
        function_groups.append(_runs_within("vectorised", lambda: [(*_large_probability_case(seed), 10, "l1")],
                                            COUNTING_TIME_LIMIT_SECONDS))
    value_groups = [
        _on_key("ece", value_matches("your validation set", reference_calibration_error, _on_validation_set("l1"),
                                     tolerance=TOLERANCE, mistakes=CALIBRATION_MISTAKES)),
        _on_key("mce", value_matches("your validation set", reference_calibration_error, _on_validation_set("max"),
                                     tolerance=TOLERANCE, mistakes=CALIBRATION_MISTAKES)),
    ]
    return [_on_key("calibration_error", group) for group in function_groups] + value_groups


# --- Brier score ----------------------------------------------------------------------------------------


def reference_brier_score(y_true, y_prob):
    y_true, y_prob = _binary_targets_and_probabilities(y_true, y_prob)
    return float(np.mean((y_prob - y_true) ** 2))


def _brier_gaps(y, p) -> np.ndarray:
    return np.asarray(p, float) - np.asarray(y, float)


BRIER_MISTAKES = (
    Mistake("looks like a sum of squared errors: divide by the number of samples (take the mean)",
            lambda y, p: np.sum(_brier_gaps(y, p) ** 2)),
    Mistake("looks like the square root of the Brier score: the Brier score is the mean squared difference, with no root",
            lambda y, p: np.sqrt(np.mean(_brier_gaps(y, p) ** 2))),
    Mistake("the probability is compared with the wrong class: y_prob is the probability of class 1, so compare it with y_true, not 1 - y_true",
            lambda y, p: np.mean((np.asarray(p, float) - (1 - np.asarray(y, float))) ** 2)),
    Mistake("looks like the mean absolute difference: square the differences instead",
            lambda y, p: np.mean(np.abs(_brier_gaps(y, p)))),
    Mistake("looks like the mean signed difference: square each difference so over- and underconfidence both cost",
            lambda y, p: np.mean(_brier_gaps(y, p))),
    Mistake("the probabilities look rounded to 0 or 1 first, which gives the error rate: score the probabilities themselves",
            lambda y, p: np.mean((np.round(np.asarray(p, float)) - np.asarray(y, float)) ** 2)),
)


def _brier_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference vectors", reference_brier_score,
                          lambda: [(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])),
                                   (np.array([1, 1, 0, 0, 1]), np.array([0.6, 0.3, 0.2, 0.7, 0.95]))],
                          tolerance=TOLERANCE, mistakes=BRIER_MISTAKES),
        matches_reference("generated vectors", reference_brier_score, lambda: _random_probability_cases(seed),
                          tolerance=TOLERANCE, mistakes=BRIER_MISTAKES),
        matches_reference("probabilities 0 and 1", reference_brier_score,
                          lambda: [(np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 1.0, 0.0])),
                                   (np.array([0, 1, 1, 1]), np.array([1.0, 0.0, 0.0, 0.0])),
                                   (np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 0.0, 0.5]))],
                          tolerance=TOLERANCE, mistakes=BRIER_MISTAKES),
        raises_value_error("invalid inputs", PROBABILITY_ERRORS, why="labels must be 0 or 1 and probabilities in [0, 1], without NaN"),
        raises_value_error("shape mismatch or empty", [(np.array([0, 1]), np.array([0.5])), (np.array([]), np.array([]))],
                           why="y_true and y_prob must be non-empty and of the same length"),
        _from_scratch(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])),
    ]
    if timed:
        groups.append(_runs_within("vectorised", lambda: [_large_probability_case(seed)], TIME_LIMIT_SECONDS))
    return groups


def _exercise(exercise_id: str, title: str, groups: Callable[..., list[CaseGroup]], **extra: Any) -> Exercise:
    return Exercise(exercise_id, "math", title,
                    lambda: groups(PUBLIC_SEED, timed=False),
                    lambda *, seed: groups(seed, timed=True), **extra)


register(_exercise("m04.confusion_matrix", "Confusion matrix", _confusion_groups))
register(_exercise("m04.precision_recall_f1", "Precision, recall and F1", _prf_groups))
register(_exercise("m04.roc_auc", "ROC AUC", _roc_groups))
register(_exercise("m04.rmse", "Root mean squared error", _rmse_groups))
register(_exercise(CALIBRATION_ID, "Expected calibration error", _calibration_groups, data=validation_set))
register(_exercise("m04.brier_score", "Brier score", _brier_groups))
