"""Tests of the module 10 exercises: p95 latency, error rate, data-quality rates, PSI with
quantile bins and as Azure ML computes it, Jensen-Shannon and normalised Wasserstein distance.

The correct answers and the grading data (``points=``, ``seed=``) come from the solution
notebooks: each solution cell is executed, and the keyword values of the ``grade(...)``
call in the hidden-test cell are read with ``ast.literal_eval``. Every answer is a dict of
the learner's functions and the value they return on the learner's own data.
"""

from __future__ import annotations

import ast
import bisect
import math
import re
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
from scipy.special import rel_entr
from scipy.stats import wasserstein_distance

from autograder.checks.core import run_groups
from autograder.checks.seeds import LEARNER_ID_VARIABLE
from autograder.exercises import all_exercises, exercise_data, get_exercise, m10
from autograder.learner import check, grade

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions" / "m10"
NOTEBOOKS = ("operational_metrics.ipynb", "drift.ipynb")
P95, ERROR_RATE, QUALITY = "m10.p95_latency", "m10.error_rate", "m10.data_quality_rates"
PSI_QUANTILE, PSI_AZURE = "m10.psi_quantile", "m10.psi_azure"
JS, WASSERSTEIN = "m10.js_distance", "m10.wasserstein_normalised"
EXERCISE_IDS = [P95, ERROR_RATE, QUALITY, PSI_QUANTILE, PSI_AZURE, JS, WASSERSTEIN]

# The function whose value on the learner's data the answer reports, and how that data
# becomes its arguments.
MAIN_KEY = {
    P95: "p95_latency", ERROR_RATE: "error_rate", QUALITY: "data_quality_rates", PSI_QUANTILE: "psi_quantile",
    PSI_AZURE: "psi_azure", JS: "js_distance", WASSERSTEIN: "wasserstein_normalised",
}
UNPACK: dict[str, Callable[[Any], tuple]] = {
    P95: lambda data: (data,),
    ERROR_RATE: lambda data: (data,),
    QUALITY: lambda data: (data["values"], data["low"], data["high"]),
    PSI_QUANTILE: lambda data: (data["baseline"], data["production"]),
    PSI_AZURE: lambda data: (data["baseline"], data["production"]),
    JS: lambda data: (data["baseline_counts"], data["production_counts"]),
    WASSERSTEIN: lambda data: (data["baseline"], data["production"]),
}
VALUE = "value: computed on your data"


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


def answer_with(exercise_id: str, learner: str | None = None, **functions: Callable) -> dict[str, Any]:
    """Build the answer dict a learner submits: the functions, and the main one's value on their data."""
    inputs = UNPACK[exercise_id](exercise_data(exercise_id, learner))
    try:
        value = functions[MAIN_KEY[exercise_id]](*inputs)
    except (ArithmeticError, ValueError, IndexError):
        value = None
    return {**functions, "value": value}


def named(explanation: str, *groups: str) -> dict[str, str]:
    return {group: explanation for group in groups}


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_exercise(solutions):
    # Module 10's decision exercises live in m10_decisions.py, with their own tests.
    registered = sorted(
        exercise_id for exercise_id, exercise in all_exercises().items()
        if exercise.public_groups.__module__ == m10.__name__
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
def test_solution_value_on_learner_data(solutions, exercise_id):
    reference = {
        P95: m10.reference_p95, ERROR_RATE: m10.reference_error_rate, QUALITY: m10.reference_quality_rates,
        PSI_QUANTILE: m10.reference_psi_quantile, PSI_AZURE: m10.reference_psi_azure,
        JS: m10.reference_js_distance, WASSERSTEIN: m10.reference_wasserstein_normalised,
    }[exercise_id]

    expected = reference(*UNPACK[exercise_id](exercise_data(exercise_id)))

    assert np.allclose(solutions[exercise_id].answer["value"], expected, rtol=1e-12)


# --- Per-learner data ----------------------------------------------------------------------------


def same_data(first: Any, second: Any) -> bool:
    """Compare two exercise data sets, arrays or dicts of arrays, with NaN equal to NaN."""
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(same_data(first[key], second[key]) for key in first)
    first, second = np.asarray(first), np.asarray(second)
    if first.dtype.kind in "fc" and second.dtype.kind in "fc":
        return np.array_equal(first, second, equal_nan=True)
    return np.array_equal(first, second)


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_learners_get_different_data(exercise_id):
    assert not same_data(exercise_data(exercise_id, "ada"), exercise_data(exercise_id, "grace"))


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_learner_data_reproducible(exercise_id):
    assert same_data(exercise_data(exercise_id, "ada"), exercise_data(exercise_id, "ada"))


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_value_from_other_learner_rejected(solutions, exercise_id, monkeypatch):
    monkeypatch.setenv(LEARNER_ID_VARIABLE, "ada")
    functions = {key: value for key, value in solutions[exercise_id].answer.items() if key != "value"}
    copied = answer_with(exercise_id, "grace", **functions)

    found = failures(exercise_id, copied)

    assert list(found) == [VALUE]
    assert re.fullmatch(
        r"your result differs from the reference beyond the relative tolerance 1e-06, absolute tolerance 1e-09 "
        r"on inputs of shape .*",
        found[VALUE],
    )


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_grading_learner_value_full_points(solutions, exercise_id, monkeypatch):
    monkeypatch.setenv(LEARNER_ID_VARIABLE, "grace")
    exercise = solutions[exercise_id]
    functions = {key: value for key, value in exercise.answer.items() if key != "value"}

    earned = grade(exercise_id, answer_with(exercise_id, "grace", **functions), points=exercise.points,
                   **exercise.grading_data)

    assert earned == exercise.points


def test_quantile_data_avoids_decile_ties():
    for learner in ("ada", "grace", "linus"):
        baseline = exercise_data(PSI_QUANTILE, learner)["baseline"]
        assert math.gcd(baseline.size - 1, 10) == 1


def test_payment_data_has_new_category():
    for learner in ("ada", "grace", "linus"):
        data = exercise_data(JS, learner)
        assert data["baseline_counts"][-1] == 0
        assert data["production_counts"][-1] > 0


# --- Answer form ----------------------------------------------------------------------------------


def test_bare_function_answer_named(solutions):
    found = failures(P95, solutions[P95].answer["p95_latency"])

    assert set(found.values()) == {
        "expected a dict with the key 'p95_latency', such as {\"p95_latency\": p95_latency, \"value\": p95_ms}",
        "expected a dict with the key 'value', such as {\"p95_latency\": p95_latency, \"value\": p95_ms}",
    }


def test_function_as_value_named(solutions):
    answer = {**solutions[ERROR_RATE].answer, "value": solutions[ERROR_RATE].answer["error_rate"]}

    assert failures(ERROR_RATE, answer) == {
        VALUE: "expected a number, got a function: call your function on the data and pass the result"
    }


def test_missing_value_named(solutions):
    answer = {**solutions[JS].answer, "value": None}

    assert failures(JS, answer) == {VALUE: "expected a number or an array of numbers, got None (did you forget `return`?)"}


# --- p95 latency ------------------------------------------------------------------------------------


def p95_from(pick: Callable[[np.ndarray], float]) -> Callable:
    """Wrap ``pick(latencies)`` in the checks a correct p95 makes."""

    def p95_latency(latencies_ms):
        latencies = np.asarray(latencies_ms, dtype=float)
        if latencies.size == 0 or np.isnan(latencies).any():
            raise ValueError("the window needs at least one latency, and no NaN")
        return float(pick(latencies))

    return p95_latency


def p95_answer(pick):
    return answer_with(P95, p95_latency=p95_from(pick))


P95_GROUPS = ("p95_latency: reference latencies", "p95_latency: generated latencies", VALUE)
NOT_FINITE = "your result is not finite (inf or nan) on a case where the reference is finite"
P95_MEAN_STD = ("looks like mean + 2 standard deviations, which assumes normal latencies without a long tail: "
                "take the nearest-rank value of the sorted latencies")


@pytest.mark.parametrize(
    ("pick", "explanation"),
    [
        (lambda x: np.percentile(x, 95),
         "looks like np.percentile's default linear interpolation: the nearest-rank p95 is an observed value, "
         "the one at rank ceil(0.95 * n) of the sorted latencies"),
        (lambda x: np.sort(x)[math.floor(0.95 * x.size) - 1],
         "looks like floor(0.95 * n) instead of ceil(0.95 * n): the rank rounds up"),
        (lambda x: np.sort(x)[min(math.ceil(0.95 * x.size), x.size - 1)],
         "off by one: the rank ceil(0.95 * n) is 1-based, so the value sits at index rank - 1"),
        (lambda x: np.mean(x) + 2 * np.std(x), P95_MEAN_STD),
        (lambda x: np.sort(x)[math.ceil(0.90 * x.size) - 1], "looks like the p90: the rank is ceil(0.95 * n), not ceil(0.90 * n)"),
        (lambda x: x[math.ceil(0.95 * x.size) - 1],
         "the latencies are not sorted: the rank counts from the fastest request, so sort them first"),
    ],
    ids=["linear_interpolation", "floor", "zero_based_off_by_one", "mean_2std", "p90", "unsorted"],
)
def test_p95_mistake_named(pick, explanation):
    assert failures(P95, p95_answer(pick)) == named(explanation, *P95_GROUPS)


def test_p95_mean_2std_sample_std_named():
    # The sample standard deviation of a single latency is nan, and the generated cases start with one.
    found = failures(P95, p95_answer(lambda x: np.mean(x) + 2 * np.std(x, ddof=1)))

    assert found == {**named(P95_MEAN_STD, *P95_GROUPS), "p95_latency: generated latencies": NOT_FINITE}


def test_p95_in_place_sort_named():
    def in_place(latencies_ms):
        if len(latencies_ms) == 0 or np.isnan(latencies_ms).any():
            raise ValueError("the window needs at least one latency, and no NaN")
        latencies_ms.sort()
        return float(latencies_ms[math.ceil(0.95 * len(latencies_ms)) - 1])

    answer = {"p95_latency": in_place, "value": m10.reference_p95(exercise_data(P95))}

    assert failures(P95, answer) == {
        "p95_latency: leaves the input unchanged": "your function changed its input array in place (for example "
        "with x.sort()): work on a copy, such as np.sort(x), so the caller's data keeps its order",
    }


def test_in_place_sort_keeps_references():
    def in_place(latencies_ms):
        latencies_ms.sort()
        return float(latencies_ms[math.ceil(0.95 * len(latencies_ms)) - 1])

    check(P95, {"p95_latency": in_place, "value": 0.0})
    unsorted = p95_answer(lambda x: x[math.ceil(0.95 * x.size) - 1])

    assert m10.P95_REFERENCE_CASES[1][0] == list(m10.P95_REFERENCE)
    assert "p95_latency: reference latencies" in failures(P95, unsorted)


@pytest.mark.parametrize(
    ("exercise_id", "answer"),
    [
        (P95, lambda: p95_answer(lambda x: np.percentile(x, 95))),
        (ERROR_RATE, lambda: answer_with(ERROR_RATE, error_rate=error_rate_from(lambda c: np.mean(c >= 400)))),
        (PSI_AZURE, lambda: answer_with(PSI_AZURE, psi_azure=psi_azure_variant(adds_bins=False))),
    ],
    ids=["p95_linear", "error_rate_4xx", "psi_azure_divided_by_n"],
)
def test_mistake_loses_points(solutions, exercise_id, answer):
    exercise = solutions[exercise_id]

    assert grade(exercise_id, answer(), points=exercise.points, **exercise.grading_data) < exercise.points


def test_p95_no_validation_named():
    def unvalidated(latencies_ms):
        ordered = np.sort(np.asarray(latencies_ms, dtype=float))
        return float(ordered[math.ceil(0.95 * ordered.size) - 1])

    assert failures(P95, answer_with(P95, p95_latency=unvalidated)) == {
        "p95_latency: empty window": "your code raised IndexError: index -1 is out of bounds for axis 0 with size 0",
        "p95_latency: NaN latency": "expected ValueError because a missing latency is a logging bug, not a number to "
        "rank, but your function returned nan",
    }


@pytest.mark.parametrize(
    "pick",
    [
        lambda x: np.percentile(x, 95, method="inverted_cdf"),
        lambda x: np.partition(x, math.ceil(0.95 * x.size) - 1)[math.ceil(0.95 * x.size) - 1],
        lambda x: -np.sort(-x)[x.size - math.ceil(0.95 * x.size)],
        lambda x: np.sort(x)[-(-95 * x.size // 100) - 1],
    ],
    ids=["inverted_cdf", "partition", "descending", "integer_rank"],
)
def test_p95_alternative_accepted(solutions, pick):
    assert grade(P95, p95_answer(pick), points=3, **solutions[P95].grading_data) == 3


def test_p95_slow_function_fails_timing(solutions):
    def twenty_sorts(latencies_ms):
        latencies = np.asarray(latencies_ms, dtype=float)
        if latencies.size == 0 or np.isnan(latencies).any():
            raise ValueError("the window needs at least one latency, and no NaN")
        for _ in range(20):
            ordered = np.sort(latencies)
        return float(ordered[math.ceil(0.95 * latencies.size) - 1])

    answer = answer_with(P95, p95_latency=twenty_sorts)
    found = graded_failures(P95, answer, **solutions[P95].grading_data)

    assert check(P95, answer).passed
    assert list(found) == ["p95_latency: vectorised"]
    assert re.fullmatch(
        r"took \d+\.\d\d s on 1,000,000 elements, limit \d+\.\d\d s \(10 times a numpy reference on the same data\): "
        r"replace Python loops with vectorised numpy operations",
        found["p95_latency: vectorised"],
    )


# --- Error rate ------------------------------------------------------------------------------------


def error_rate_from(share: Callable[[np.ndarray], float]) -> Callable:
    """Wrap ``share(codes)`` in the checks a correct error rate makes."""

    def error_rate(status_codes):
        codes = np.asarray(status_codes)
        if codes.size == 0:
            return 0.0
        if np.any((codes < 100) | (codes > 599)):
            raise ValueError("status codes must lie between 100 and 599")
        return float(share(codes))

    return error_rate


ERROR_RATE_GROUPS = ("error_rate: reference status codes", "error_rate: generated windows", VALUE)


@pytest.mark.parametrize(
    ("share", "explanation", "groups"),
    [
        (lambda c: np.mean(c >= 400),
         "4xx responses are counted as failures: a 4xx is the client's error (a bad request, a missing key), "
         "so only status >= 500 counts against the endpoint", ERROR_RATE_GROUPS),
        (lambda c: 100 * np.mean(c >= 500), "looks like a percentage: return a fraction between 0 and 1",
         (*ERROR_RATE_GROUPS, "error_rate: all requests failed")),
        (lambda c: np.mean(c == 500), "only status 500 is counted: every 5xx (502, 503, 504 ...) is a failure",
         (*ERROR_RATE_GROUPS, "error_rate: all requests failed")),
        (lambda c: np.mean(c > 500), "status 500 itself is missed: failures are status >= 500, not > 500",
         (*ERROR_RATE_GROUPS, "error_rate: all requests failed")),
        (lambda c: np.mean(c < 500), "looks like the success rate: return the share of failed requests",
         (*ERROR_RATE_GROUPS, "error_rate: all requests failed")),
        (lambda c: np.mean((c < 200) | (c >= 300)),
         "every non-2xx response is counted as a failure: redirects and 4xx are not failures of the endpoint",
         ERROR_RATE_GROUPS),
    ],
    ids=["counts_4xx", "percent", "only_500", "above_500", "success_rate", "non_2xx"],
)
def test_error_rate_mistake_named(share, explanation, groups):
    assert failures(ERROR_RATE, answer_with(ERROR_RATE, error_rate=error_rate_from(share))) == named(explanation, *groups)


def test_error_rate_per_success_named():
    found = failures(ERROR_RATE, answer_with(ERROR_RATE, error_rate=error_rate_from(lambda c: np.sum(c >= 500) / np.sum(c < 500))))

    explanation = "looks like failures divided by successes: divide by all requests in the window"
    # A window of failures only has no success to divide by.
    assert found == {**named(explanation, *ERROR_RATE_GROUPS), "error_rate: all requests failed": NOT_FINITE}


def test_error_rate_empty_window_nan_named():
    def nan_when_empty(status_codes):
        codes = np.asarray(status_codes)
        if np.any((codes < 100) | (codes > 599)):
            raise ValueError("status codes must lie between 100 and 599")
        return float(np.mean(codes >= 500)) if codes.size else float("nan")

    assert failures(ERROR_RATE, answer_with(ERROR_RATE, error_rate=nan_when_empty)) == {
        "error_rate: empty window": "an empty window must give an error rate of 0.0, got nan: no request failed, "
        "and a missing-traffic alert watches the request count instead",
    }


def test_error_rate_no_code_validation_named():
    def unvalidated(status_codes):
        codes = np.asarray(status_codes)
        return float(np.mean(codes >= 500)) if codes.size else 0.0

    assert failures(ERROR_RATE, answer_with(ERROR_RATE, error_rate=unvalidated)) == {
        "error_rate: invalid status code": "expected ValueError because HTTP status codes lie between 100 and 599, "
        "so the log was parsed wrongly, but your function returned float",
    }


@pytest.mark.parametrize(
    "share",
    [
        lambda c: np.count_nonzero(c >= 500) / c.size,
        lambda c: np.mean(c // 100 == 5),
        lambda c: np.sum(c >= 500) / len(c),
    ],
    ids=["count_nonzero", "status_class", "sum_over_len"],
)
def test_error_rate_alternative_accepted(solutions, share):
    answer = answer_with(ERROR_RATE, error_rate=error_rate_from(share))

    assert grade(ERROR_RATE, answer, points=2, **solutions[ERROR_RATE].grading_data) == 2


def test_error_rate_python_loop_too_slow_in_grading(solutions):
    def python_loop(status_codes):
        failed = total = 0
        for code in status_codes:
            if not 100 <= code <= 599:
                raise ValueError("status codes must lie between 100 and 599")
            total += 1
            failed += code >= 500
        return failed / total if total else 0.0

    answer = answer_with(ERROR_RATE, error_rate=python_loop)

    assert check(ERROR_RATE, answer).passed
    assert list(graded_failures(ERROR_RATE, answer, **solutions[ERROR_RATE].grading_data)) == ["error_rate: vectorised"]


# --- Data-quality rates -----------------------------------------------------------------------------


def quality_from(rates: Callable[[np.ndarray, float, float], tuple]) -> Callable:
    """Wrap ``rates(values, low, high)`` in the checks correct data-quality rates make."""

    def data_quality_rates(values, low, high):
        column = np.asarray(values, dtype=float)
        if column.size == 0 or low > high:
            raise ValueError("the column needs rows, and low must not exceed high")
        with np.errstate(invalid="ignore"):
            return tuple(float(rate) for rate in rates(column, low, high))

    return data_quality_rates


QUALITY_GROUPS = ("data_quality_rates: reference column", "data_quality_rates: generated columns", VALUE)


def _null(v):
    return np.mean(np.isnan(v))


@pytest.mark.parametrize(
    ("rates", "explanation", "groups"),
    [
        (lambda v, lo, hi: (_null(v), np.mean(~((v >= lo) & (v <= hi)))),
         "null values are counted as out of bounds: test `x < low or x > high`, which is False for NaN, "
         "instead of `not (low <= x <= high)`", (*QUALITY_GROUPS, "data_quality_rates: only nulls")),
        (lambda v, lo, hi: (_null(v), np.mean((v <= lo) | (v >= hi))),
         "the bounds are exclusive: a value equal to low or high is within bounds", QUALITY_GROUPS),
        (lambda v, lo, hi: (100 * _null(v), 100 * np.mean((v < lo) | (v > hi))),
         "looks like percentages: return both rates as fractions between 0 and 1",
         (*QUALITY_GROUPS, "data_quality_rates: only nulls")),
        (lambda v, lo, hi: (np.mean(~np.isfinite(v)), np.mean(np.isfinite(v) & ((v < lo) | (v > hi)))),
         "infinite values are counted as null: only NaN (or None) is null, and +-inf is out of bounds", QUALITY_GROUPS),
        (lambda v, lo, hi: (np.mean((v < lo) | (v > hi)), _null(v)),
         "the two rates are swapped: return (null_rate, out_of_bounds_rate)",
         (*QUALITY_GROUPS, "data_quality_rates: only nulls")),
        (lambda v, lo, hi: (_null(v), np.mean(v > hi)),
         "only values above high are counted: values below low are out of bounds too", QUALITY_GROUPS),
        (lambda v, lo, hi: (np.sum(np.isnan(v)), np.sum((v < lo) | (v > hi))),
         "looks like counts: divide each count by the number of rows", (*QUALITY_GROUPS, "data_quality_rates: only nulls")),
    ],
    ids=["nan_out_of_bounds", "exclusive_bounds", "percent", "inf_as_null", "swapped",
         "upper_bound_only", "counts"],
)
def test_quality_mistake_named(rates, explanation, groups):
    found = failures(QUALITY, answer_with(QUALITY, data_quality_rates=quality_from(rates)))

    assert found == named(explanation, *groups)


def test_quality_non_null_denominator_named():
    def non_null_denominator(v, lo, hi):
        return _null(v), np.sum((v < lo) | (v > hi)) / np.sum(~np.isnan(v))

    found = failures(QUALITY, answer_with(QUALITY, data_quality_rates=quality_from(non_null_denominator)))

    explanation = "the out-of-bounds rate is divided by the non-null values only: divide both rates by all rows"
    # A column of nulls only has no non-null value to divide by.
    assert found == {**named(explanation, *QUALITY_GROUPS), "data_quality_rates: only nulls": NOT_FINITE}


def test_quality_no_validation_named():
    def unvalidated(values, low, high):
        column = np.asarray(values, dtype=float)
        return float(np.mean(np.isnan(column))), float(np.mean((column < low) | (column > high)))

    assert failures(QUALITY, answer_with(QUALITY, data_quality_rates=unvalidated)) == {
        "data_quality_rates: empty column": "expected ValueError because a column without rows has no rates, "
        "but your function returned tuple",
        "data_quality_rates: low above high": "expected ValueError because the bounds are [low, high], so low > high "
        "describes no valid value, but your function returned tuple",
    }


@pytest.mark.parametrize(
    "rates",
    [
        lambda v, lo, hi: (np.count_nonzero(v != v) / v.size, np.count_nonzero((v < lo) | (v > hi)) / v.size),
        lambda v, lo, hi: (np.isnan(v).sum() / len(v), np.mean(~np.isnan(v) & ~((v >= lo) & (v <= hi)))),
        lambda v, lo, hi: (np.mean(np.isnan(v)), np.mean(~np.isnan(v) & (np.clip(v, lo, hi) != v))),
    ],
    ids=["count_nonzero", "mask_nulls_first", "clip"],
)
def test_quality_alternative_accepted(solutions, rates):
    answer = answer_with(QUALITY, data_quality_rates=quality_from(rates))

    assert grade(QUALITY, answer, points=3, **solutions[QUALITY].grading_data) == 3


def test_quality_list_with_none():
    assert m10.reference_quality_rates([1.5, None, 2.5, 99.0], 1.0, 3.0) == (0.25, 0.25)


# --- PSI with quantile bins --------------------------------------------------------------------------


def psi_from(formula: Callable[[np.ndarray, np.ndarray, float], float]) -> Callable:
    """Wrap ``formula(expected, actual, floor)`` in the shape check of a correct PSI."""

    def psi(expected, actual, floor=1e-4):
        e, a = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
        if e.shape != a.shape:
            raise ValueError("expected and actual need the same shape")
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(formula(e, a, floor))

    return psi


def correct_psi_formula(e, a, floor):
    e, a = np.maximum(e, floor), np.maximum(a, floor)
    return np.sum((a - e) * np.log(a / e))


def quantile_proportions(baseline, production, n_bins):
    inner = np.quantile(baseline, np.arange(1, n_bins) / n_bins)
    expected = np.bincount(np.digitize(baseline, inner), minlength=n_bins) / baseline.size
    actual = np.bincount(np.digitize(production, inner), minlength=n_bins) / production.size
    return expected, actual


def psi_quantile_from(proportions: Callable, psi: Callable = psi_from(correct_psi_formula)) -> Callable:
    """Build ``psi_quantile`` from ``proportions(baseline, production, n_bins)`` and a ``psi``."""

    def psi_quantile(baseline, production, n_bins=10, floor=1e-4):
        baseline, production = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
        if baseline.size == 0 or production.size == 0 or np.isnan(baseline).any() or np.isnan(production).any():
            raise ValueError("both samples need values, and no NaN")
        return psi(*proportions(baseline, production, n_bins), floor)

    return psi_quantile


def psi_answer(psi=psi_from(correct_psi_formula), proportions=quantile_proportions):
    return answer_with(PSI_QUANTILE, psi=psi, psi_quantile=psi_quantile_from(proportions, psi))


PSI_GROUPS = ("psi: reference proportions", "psi: generated proportions")
PSI_QUANTILE_GROUPS = ("psi_quantile: reference samples", "psi_quantile: generated samples",
                       "psi_quantile: values on bin edges", VALUE)


@pytest.mark.parametrize(
    ("formula", "explanation"),
    [
        (lambda e, a, f: np.sum(np.maximum(a, f) * np.log(np.maximum(a, f) / np.maximum(e, f))),
         "looks like the KL divergence sum(a * ln(a / e)): PSI weighs the log ratio by (a - e)"),
        (lambda e, a, f: correct_psi_formula(e, a, f) / np.log(10), "looks like log base 10 instead of the natural log"),
        (lambda e, a, f: correct_psi_formula(e, a, f) / np.log(2), "looks like log base 2 instead of the natural log"),
        (lambda e, a, f: correct_psi_formula(e, a, f) / e.size, "looks like a mean over bins: PSI sums the terms of all bins"),
        (lambda e, a, f: -correct_psi_formula(e, a, f),
         "the sign is flipped: (a - e) and ln(a / e) always have the same sign, so PSI is never negative"),
    ],
    ids=["kl", "log10", "log2", "mean", "flipped_sign"],
)
def test_psi_formula_mistake_named(formula, explanation):
    found = failures(PSI_QUANTILE, psi_answer(psi=psi_from(formula)))

    assert found == named(explanation, *PSI_GROUPS, *PSI_QUANTILE_GROUPS)


def test_psi_zero_bins_only_floor_named():
    def zeros_only(e, a, f):
        e, a = np.where(e == 0, f, e), np.where(a == 0, f, a)
        return np.sum((a - e) * np.log(a / e))

    explanation = "only empty bins get the floor: raise every proportion below the floor to the floor, np.maximum(p, floor)"

    # Only the reference proportions have a bin below the floor that is not empty.
    assert failures(PSI_QUANTILE, psi_answer(psi=psi_from(zeros_only))) == {"psi: reference proportions": explanation}


def test_psi_renormalised_floor_named():
    def renormalised(e, a, f):
        e, a = np.maximum(e, f), np.maximum(a, f)
        e, a = e / e.sum(), a / a.sum()
        return np.sum((a - e) * np.log(a / e))

    explanation = "the proportions are renormalised after the floor: apply the floor and use the proportions as they are"

    assert failures(PSI_QUANTILE, psi_answer(psi=psi_from(renormalised))) == named(
        explanation, "psi: reference proportions", "psi_quantile: generated samples")


def test_psi_no_floor_named():
    def no_floor(e, a, f):
        return np.sum((a - e) * np.log(a / e))

    found = failures(PSI_QUANTILE, psi_answer(psi=psi_from(no_floor)))

    fix = "raise every proportion below the floor to the floor before the log"
    assert found == {
        "psi: reference proportions": NOT_FINITE,
        "psi: empty bins": f"an empty bin made your PSI inf: {fix}",
        "psi_quantile: generated samples": NOT_FINITE,
        "psi_quantile: empty bins": f"an empty bin made your PSI inf: {fix}",
    }


def _equal_width(baseline, production, n_bins):
    inner = np.linspace(baseline.min(), baseline.max(), n_bins + 1)[1:-1]
    return (np.bincount(np.digitize(baseline, inner), minlength=n_bins) / baseline.size,
            np.bincount(np.digitize(production, inner), minlength=n_bins) / production.size)


def _histogram_drops_outside(baseline, production, n_bins):
    edges = np.quantile(baseline, np.linspace(0, 1, n_bins + 1))
    return np.histogram(baseline, edges)[0] / baseline.size, np.histogram(production, edges)[0] / production.size


def _one_bin_short(baseline, production, n_bins):
    inner = np.quantile(baseline, np.linspace(0, 1, n_bins)[1:-1])
    k = n_bins - 1
    return (np.bincount(np.digitize(baseline, inner), minlength=k) / baseline.size,
            np.bincount(np.digitize(production, inner), minlength=k) / production.size)


def _closed_right(baseline, production, n_bins):
    inner = np.quantile(baseline, np.arange(1, n_bins) / n_bins)
    return (np.bincount(np.digitize(baseline, inner, right=True), minlength=n_bins) / baseline.size,
            np.bincount(np.digitize(production, inner, right=True), minlength=n_bins) / production.size)


def _production_quantiles(baseline, production, n_bins):
    actual, expected = quantile_proportions(production, baseline, n_bins)
    return expected, actual


@pytest.mark.parametrize(
    ("proportions", "explanation", "groups"),
    [
        (_production_quantiles, "the bins are cut at the production sample's quantiles: cut them at the baseline's",
         PSI_QUANTILE_GROUPS),
        (_equal_width, "looks like equal-width bins over the baseline's range: cut the bins at the baseline's quantiles",
         PSI_QUANTILE_GROUPS[1:]),
        (_histogram_drops_outside, "production values outside the baseline's range are dropped, as np.histogram does: "
         "the first and last bins are open-ended", (PSI_QUANTILE_GROUPS[1], VALUE)),
        (_one_bin_short, "looks like n_bins - 1 bins: n_bins bins need the quantiles at 1/n_bins, ..., (n_bins - 1)/n_bins",
         PSI_QUANTILE_GROUPS),
        (_closed_right, "the bins are closed on the right: a value equal to an edge belongs to the bin that starts at that edge",
         ("psi_quantile: values on bin edges",)),
    ],
    ids=["production_quantiles", "equal_width", "histogram", "one_bin_short", "closed_right"],
)
def test_psi_quantile_binning_mistake_named(proportions, explanation, groups):
    found = failures(PSI_QUANTILE, psi_answer(proportions=proportions))

    assert found == named(explanation, *groups)


def test_psi_quantile_floor_on_counts_named():
    def floored_counts(baseline, production, n_bins=10, floor=1e-4):
        baseline, production = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
        if baseline.size == 0 or production.size == 0 or np.isnan(baseline).any() or np.isnan(production).any():
            raise ValueError("both samples need values, and no NaN")
        inner = np.quantile(baseline, np.arange(1, n_bins) / n_bins)
        e = np.maximum(np.bincount(np.digitize(baseline, inner), minlength=n_bins), floor) / baseline.size
        a = np.maximum(np.bincount(np.digitize(production, inner), minlength=n_bins), floor) / production.size
        return float(np.sum((a - e) * np.log(a / e)))

    answer = answer_with(PSI_QUANTILE, psi=psi_from(correct_psi_formula), psi_quantile=floored_counts)

    assert failures(PSI_QUANTILE, answer) == {
        "psi_quantile: generated samples": "the floor is applied to counts: apply it to the proportions, count / n",
    }


def _counted_with(edges_of, counter):
    """Build quantile-bin proportions with inner edges from ``edges_of(baseline, k)`` and bin indices from ``counter``."""

    def proportions(baseline, production, k):
        inner = edges_of(baseline, k)
        return (np.bincount(counter(inner, baseline), minlength=k) / baseline.size,
                np.bincount(counter(inner, production), minlength=k) / production.size)

    return proportions


@pytest.mark.parametrize(
    "proportions",
    [
        _counted_with(lambda b, k: np.quantile(b, np.arange(1, k) / k), lambda inner, x: np.searchsorted(inner, x, side="right")),
        _counted_with(lambda b, k: np.percentile(b, 100 * np.arange(1, k) / k), lambda inner, x: np.digitize(x, inner)),
        _counted_with(lambda b, k: np.quantile(b, np.linspace(0, 1, k + 1)[1:-1]), lambda inner, x: np.digitize(x, inner)),
    ],
    ids=["searchsorted", "percentile", "linspace_levels"],
)
def test_psi_quantile_alternative_accepted(solutions, proportions):
    answer = psi_answer(proportions=proportions)

    assert grade(PSI_QUANTILE, answer, points=4, **solutions[PSI_QUANTILE].grading_data) == 4


def test_psi_quantile_reference_values():
    assert m10.reference_psi([0.4, 0.3, 0.3], [0.35, 0.25, 0.40]) == pytest.approx(0.044561, abs=5e-7)
    assert m10.reference_psi_quantile(m10.PSI_QUANTILE_BASELINE, m10.PSI_QUANTILE_PRODUCTION) == pytest.approx(0.164792, abs=5e-7)


def test_psi_quantile_reference_bin_counts():
    expected, actual = m10.quantile_bin_proportions(m10.PSI_QUANTILE_BASELINE, m10.PSI_QUANTILE_PRODUCTION)

    assert expected.tolist() == [0.1] * 10
    assert (actual * 100).round().tolist() == [5, 5, 5, 10, 10, 10, 10, 15, 15, 15]


# --- PSI as Azure ML computes it -----------------------------------------------------------------------


def psi_azure_variant(*, bin_count=lambda nb, np_: math.ceil(math.log2(min(nb, np_)) + 1), span="joint",
                      smoothing=1, adds_bins=True, floor=0.0, sign=1) -> Callable:
    """Build a ``psi_azure`` with the validation of a correct one and the given conventions."""

    def psi_azure(baseline, production, n_bins=None):
        b, p = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
        if b.size == 0 or p.size == 0 or np.isnan(b).any() or np.isnan(p).any():
            raise ValueError("both samples need values, and no NaN")
        k = n_bins if n_bins is not None else bin_count(b.size, p.size)
        low, high = min(b.min(), p.min()), max(b.max(), p.max())
        if low == high:
            return 0.0
        if span == "joint":
            edges = np.linspace(low, high, k + 1)
        elif span == "baseline":
            edges = np.linspace(b.min(), b.max(), k + 1)
        else:
            edges = np.quantile(b, np.linspace(0, 1, k + 1))
            edges[0], edges[-1] = low, high
        e = (np.histogram(b, edges)[0] + smoothing) / (b.size + (k * smoothing if adds_bins else 0))
        a = (np.histogram(p, edges)[0] + smoothing) / (p.size + (k * smoothing if adds_bins else 0))
        e, a = np.maximum(e, floor), np.maximum(a, floor)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(sign * np.sum((a - e) * np.log(a / e)))

    return psi_azure


AZURE_GROUPS = ("psi_azure: reference samples, ten bins", "psi_azure: generated samples", VALUE)
AZURE_ONE_BIN_SHORT = ("the bin count is one too small: Sturges' rule rounds up, ceil(log2(n) + 1), "
                       "which is neither int(log2(n) + 1) nor ceil(log2(n))")


@pytest.mark.parametrize(
    ("variant", "explanation", "groups"),
    [
        (psi_azure_variant(span="quantiles"), "looks like quantile bins: Azure ML's monitor uses equal-width bins",
         AZURE_GROUPS[1:]),
        (psi_azure_variant(span="baseline"),
         "the bins span only the baseline's range: take the min and max over both samples together",
         ("psi_azure: generated samples",)),
        (psi_azure_variant(bin_count=lambda nb, np_: int(math.log2(min(nb, np_)) + 1)), AZURE_ONE_BIN_SHORT, AZURE_GROUPS[1:]),
        (psi_azure_variant(bin_count=lambda nb, np_: math.ceil(math.log2(max(nb, np_)) + 1)),
         "the bin count is computed from the larger sample: use the smaller one", AZURE_GROUPS[1:]),
        (psi_azure_variant(bin_count=lambda nb, np_: math.ceil(math.log2(min(nb, np_)))), AZURE_ONE_BIN_SHORT, AZURE_GROUPS[1:]),
        (psi_azure_variant(bin_count=lambda nb, np_: math.ceil(math.log(min(nb, np_)) + 1)),
         "the bin count uses the natural log: Sturges' rule uses log2", AZURE_GROUPS[1:]),
        (psi_azure_variant(adds_bins=False),
         "the smoothed counts are divided by n: divide by n + n_bins, so the proportions sum to 1", AZURE_GROUPS),
        (psi_azure_variant(floor=1e-4),
         "a floor of 1e-4 is applied on top of the +1 smoothing: smoothing alone keeps every bin above zero",
         ("psi_azure: generated samples",)),
        (psi_azure_variant(sign=-1),
         "the sign is flipped: (a - e) and ln(a / e) always have the same sign, so PSI is never negative", AZURE_GROUPS),
    ],
    ids=["quantile_bins", "baseline_range", "floor_bin_count", "larger_sample", "no_plus_one", "natural_log",
         "divided_by_n", "floor_on_top", "flipped_sign"],
)
def test_psi_azure_mistake_named(variant, explanation, groups):
    found = failures(PSI_AZURE, answer_with(PSI_AZURE, psi_azure=variant))

    assert found == named(explanation, *groups)


def test_psi_azure_no_smoothing_named():
    found = failures(PSI_AZURE, answer_with(PSI_AZURE, psi_azure=psi_azure_variant(smoothing=0)))

    assert found["psi_azure: reference samples, ten bins"] == "no +1 smoothing: add 1 to every bin count of both samples before dividing"
    assert found["psi_azure: empty bins"] == (
        "an empty bin made your PSI inf: add 1 to every bin count of both samples before dividing"
    )
    assert set(found) <= {"psi_azure: reference samples, ten bins", "psi_azure: generated samples", "psi_azure: empty bins", VALUE}


@pytest.mark.parametrize(
    "variant",
    [
        psi_azure_variant(),
        psi_azure_variant(bin_count=lambda nb, np_: int(np.ceil(np.log2(min(nb, np_)) + 1))),
    ],
    ids=["linspace", "numpy_ceil"],
)
def test_psi_azure_alternative_accepted(solutions, variant):
    answer = answer_with(PSI_AZURE, psi_azure=variant)

    assert grade(PSI_AZURE, answer, points=4, **solutions[PSI_AZURE].grading_data) == 4


def test_psi_azure_histogram_range_accepted(solutions):
    def psi_azure(baseline, production, n_bins=None):
        b, p = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
        if b.size == 0 or p.size == 0 or np.isnan(b).any() or np.isnan(p).any():
            raise ValueError("both samples need values, and no NaN")
        k = n_bins or math.ceil(math.log2(min(b.size, p.size)) + 1)
        span = (min(b.min(), p.min()), max(b.max(), p.max()))
        if span[0] == span[1]:
            return 0.0
        e = (np.histogram(b, bins=k, range=span)[0] + 1) / (b.size + k)
        a = (np.histogram(p, bins=k, range=span)[0] + 1) / (p.size + k)
        return float(np.dot(a - e, np.log(a) - np.log(e)))

    assert grade(PSI_AZURE, answer_with(PSI_AZURE, psi_azure=psi_azure), points=4,
                 **solutions[PSI_AZURE].grading_data) == 4


def test_psi_azure_reference_value():
    assert m10.reference_psi_azure(m10.PSI_AZURE_BASELINE, m10.PSI_AZURE_PRODUCTION, 10) == pytest.approx(0.133749, abs=5e-7)


def test_psi_azure_reference_bin_counts():
    edges = np.linspace(0.5, 99.5, 11)

    assert np.histogram(m10.PSI_AZURE_BASELINE, edges)[0].tolist() == [10] * 10
    assert np.histogram(m10.PSI_AZURE_PRODUCTION, edges)[0].tolist() == [5, 5, 5, 10, 10, 10, 10, 15, 15, 15]


@pytest.mark.parametrize(("sizes", "bins"), [((100, 100), 8), ((300, 5000), 10), ((257, 256), 9), ((1, 10), 1)])
def test_azure_bin_count(sizes, bins):
    assert m10.azure_bin_count(*sizes) == bins


# --- Jensen-Shannon distance ----------------------------------------------------------------------------


def js_from(distance: Callable[[np.ndarray, np.ndarray], float]) -> Callable:
    """Wrap ``distance(baseline, production)`` of count arrays in the checks a correct one makes."""

    def js_distance(baseline_counts, production_counts):
        b, p = np.asarray(baseline_counts, dtype=float), np.asarray(production_counts, dtype=float)
        if b.shape != p.shape or (b < 0).any() or (p < 0).any() or b.sum() == 0 or p.sum() == 0:
            raise ValueError("invalid counts")
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(distance(b, p))

    return js_distance


def kl(p, q):
    mask = p > 0
    return np.sum(p[mask] * np.log(p[mask] / q[mask]))


def js_parts(b, p):
    P, Q = b / b.sum(), p / p.sum()
    return P, Q, (P + Q) / 2


JS_GROUPS = ("js_distance: reference counts", "js_distance: generated counts", VALUE)
JS_CLOSED_FORM_DISJOINT = ("two samples with no category in common must give the maximum, sqrt(ln 2): "
                           "treat 0 * ln(0) as 0 and use the natural log")


def _jsd(b, p):
    P, Q, M = js_parts(b, p)
    return (kl(P, M) + kl(Q, M)) / 2


@pytest.mark.parametrize(
    ("distance", "explanation", "extra"),
    [
        (_jsd, "looks like the JS divergence: the distance is its square root", {"js_distance: closed forms": JS_CLOSED_FORM_DISJOINT}),
        (lambda b, p: np.sqrt(_jsd(b, p) / np.log(2)),
         "looks like log base 2: this exercise uses the natural log, as scipy's jensenshannon does by default",
         {"js_distance: closed forms": JS_CLOSED_FORM_DISJOINT}),
        (lambda b, p: np.sqrt(2 * _jsd(b, p)), "the two KL terms are summed: JS is their average, (KL(P || M) + KL(Q || M)) / 2",
         {"js_distance: closed forms": JS_CLOSED_FORM_DISJOINT}),
        (lambda b, p: np.sqrt(kl(js_parts(b, p)[0], js_parts(b, p)[2])),
         "only one side of the mixture: JS averages KL(P || M) and KL(Q || M)",
         {"js_distance: symmetric": "swapping baseline and production changed your distance: JS is symmetric, unlike KL"}),
    ],
    ids=["divergence", "log2", "summed_terms", "one_side"],
)
def test_js_mistake_named(distance, explanation, extra):
    found = failures(JS, answer_with(JS, js_distance=js_from(distance)))

    assert found == {**named(explanation, *JS_GROUPS), **extra}


def test_js_kl_named():
    def kl_distance(b, p):
        return kl(b / b.sum(), p / p.sum())

    found = failures(JS, answer_with(JS, js_distance=js_from(kl_distance)))

    assert found["js_distance: reference counts"] == (
        "looks like the KL divergence KL(P || Q): JS compares each distribution with their mixture M = (P + Q) / 2"
    )
    assert found["js_distance: symmetric"] == "swapping baseline and production changed your distance: JS is symmetric, unlike KL"
    # The learner's data has a category that the baseline lacks, so KL(P || Q) is finite there but KL(Q || P) is not.
    assert VALUE in found


def test_js_unnormalised_counts_named():
    def unnormalised(b, p):
        M = (b + p) / 2
        return np.sqrt((kl(b, M) + kl(p, M)) / 2)

    found = failures(JS, answer_with(JS, js_distance=js_from(unnormalised)))

    explanation = "the counts are not normalised: divide each sample's counts by its own total first"
    assert {group: found[group] for group in JS_GROUPS} == named(explanation, *JS_GROUPS)
    assert found["js_distance: closed forms"] == (
        "the same proportions with different totals must give 0: normalise each sample's counts first"
    )


def test_js_grand_total_named():
    def grand_total(b, p):
        total = b.sum() + p.sum()
        P, Q = b / total, p / total
        M = (P + Q) / 2
        return np.sqrt(max((kl(P, M) + kl(Q, M)) / 2, 0.0))

    found = failures(JS, answer_with(JS, js_distance=js_from(grand_total)))

    explanation = "both samples are divided by the total of the two: divide each sample's counts by its own total"
    assert {group: found[group] for group in JS_GROUPS} == named(explanation, *JS_GROUPS)


def test_js_no_zero_handling_named():
    def no_mask(b, p):
        P, Q, M = js_parts(b, p)
        return np.sqrt((np.sum(P * np.log(P / M)) + np.sum(Q * np.log(Q / M))) / 2)

    found = failures(JS, answer_with(JS, js_distance=js_from(no_mask)))

    assert found["js_distance: closed forms"] == JS_CLOSED_FORM_DISJOINT
    assert found["js_distance: reference counts"] == (
        "your result is not finite (inf or nan) on a case where the reference is finite"
    )


def _entropy(p):
    present = p[p > 0]
    return -np.sum(present * np.log(present))


def _js_by_entropy(b, p):
    # JSD(P, Q) = H(M) - (H(P) + H(Q)) / 2
    P, Q, M = js_parts(b, p)
    return np.sqrt(max(_entropy(M) - (_entropy(P) + _entropy(Q)) / 2, 0.0))


@pytest.mark.parametrize("distance", [lambda b, p: np.sqrt(max(_jsd(b, p), 0.0)), _js_by_entropy],
                         ids=["masked_kl", "entropy_identity"])
def test_js_alternative_accepted(solutions, distance):
    answer = answer_with(JS, js_distance=js_from(distance))

    assert grade(JS, answer, points=3, **solutions[JS].grading_data) == 3


def test_js_scipy_fails_from_scratch_only():
    def scipy_js(baseline_counts, production_counts):
        b, p = np.asarray(baseline_counts, dtype=float), np.asarray(production_counts, dtype=float)
        if b.shape != p.shape or (b < 0).any() or (p < 0).any() or b.sum() == 0 or p.sum() == 0:
            raise ValueError("invalid counts")
        return float(jensenshannon(b, p))

    assert failures(JS, answer_with(JS, js_distance=scipy_js)) == {
        "js_distance: from scratch with numpy": "your function uses scipy; this exercise asks for an implementation "
        "from scratch with numpy, so write the formula with numpy operations",
    }


# --- Normalised Wasserstein distance ---------------------------------------------------------------------


def w1(u, v):
    """Return the first Wasserstein distance of two samples, from their sorted union."""
    u, v = np.sort(u), np.sort(v)
    points = np.sort(np.concatenate([u, v]))
    cu = np.searchsorted(u, points[:-1], side="right") / u.size
    cv = np.searchsorted(v, points[:-1], side="right") / v.size
    return np.sum(np.abs(cu - cv) * np.diff(points))


def wasserstein_from(distance: Callable[[np.ndarray, np.ndarray], float]) -> Callable:
    """Wrap ``distance(baseline, production)`` in the checks a correct one makes."""

    def wasserstein_normalised(baseline, production):
        b, p = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
        if b.size < 2 or p.size == 0 or np.isnan(b).any() or np.isnan(p).any():
            raise ValueError("the baseline needs two values, production one, and no NaN")
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(distance(b, p))

    return wasserstein_normalised


W_GROUPS = ("wasserstein_normalised: reference samples", "wasserstein_normalised: generated samples", VALUE)
W_SHIFT = ("shifting the baseline by 2.5 must give 2.5 / std(baseline, ddof=1): the Wasserstein distance of a shift "
           "is the shift itself")
W_FLOOR = "with a constant baseline, divide by the floor 0.001: max(std(baseline, ddof=1), 0.001)"


def _floored_std(b):
    return max(np.std(b, ddof=1), 0.001)


@pytest.mark.parametrize(
    ("distance", "explanation", "extra"),
    [
        (w1, "not normalised: divide the Wasserstein distance by the baseline's standard deviation",
         {"wasserstein_normalised: closed forms": W_SHIFT, "wasserstein_normalised: constant baseline": W_FLOOR}),
        (lambda b, p: abs(b.mean() - p.mean()) / _floored_std(b),
         "looks like the difference of means: the Wasserstein distance compares whole distributions, "
         "the area between the two empirical CDFs", {}),
        (lambda b, p: w1(b, p) / max(np.std(b), 0.001),
         "looks like the population standard deviation (ddof=0): use the sample standard deviation, ddof=1",
         {"wasserstein_normalised: closed forms": W_SHIFT}),
        (lambda b, p: w1(b, p) / max(np.std(p, ddof=1), 0.001) if p.size > 1 else w1(b, p) / 0.001,
         "divided by the production sample's standard deviation: the baseline sets the scale",
         {"wasserstein_normalised: constant baseline": W_FLOOR}),
        (lambda b, p: w1(b, p) / max(np.std(np.concatenate([b, p]), ddof=1), 0.001),
         "divided by the standard deviation of both samples pooled: use the baseline's alone",
         {"wasserstein_normalised: closed forms": W_SHIFT, "wasserstein_normalised: constant baseline": W_FLOOR}),
        (lambda b, p: w1(b, p) / max(np.var(b, ddof=1), 0.001),
         "divided by the variance: divide by the standard deviation", {"wasserstein_normalised: closed forms": W_SHIFT}),
    ],
    ids=["unnormalised", "mean_difference", "ddof0", "production_std", "pooled_std", "variance"],
)
def test_wasserstein_mistake_named(distance, explanation, extra):
    found = failures(WASSERSTEIN, answer_with(WASSERSTEIN, wasserstein_normalised=wasserstein_from(distance)))

    assert found == {**named(explanation, *W_GROUPS), **extra}


def test_wasserstein_range_named():
    found = failures(WASSERSTEIN, answer_with(
        WASSERSTEIN, wasserstein_normalised=wasserstein_from(lambda b, p: w1(b, p) / (b.max() - b.min()))))

    explanation = "divided by the baseline's range (max - min): divide by its standard deviation"
    assert {group: found[group] for group in W_GROUPS} == named(explanation, *W_GROUPS)
    assert found["wasserstein_normalised: constant baseline"] == (
        "a constant baseline gave inf: its standard deviation is 0, so divide by max(std, 0.001)"
    )


def test_wasserstein_no_floor_named():
    found = failures(WASSERSTEIN, answer_with(
        WASSERSTEIN, wasserstein_normalised=wasserstein_from(lambda b, p: w1(b, p) / np.std(b, ddof=1))))

    assert found == {
        "wasserstein_normalised: constant baseline": "a constant baseline gave inf: its standard deviation is 0, "
        "so divide by max(std, 0.001)",
    }


def test_wasserstein_sorted_difference_shortcut():
    def sorted_differences(b, p):
        return np.mean(np.abs(np.sort(b) - np.sort(p))) / _floored_std(b)

    found = failures(WASSERSTEIN, answer_with(WASSERSTEIN, wasserstein_normalised=wasserstein_from(sorted_differences)))

    assert found["wasserstein_normalised: reference samples"].startswith("your code raised ValueError: operands could not be broadcast")


def _cumulative_weights(b, p):
    values = np.concatenate([b, p])
    weights = np.concatenate([np.full(b.size, 1 / b.size), np.full(p.size, -1 / p.size)])
    order = np.argsort(values, kind="stable")
    gaps = np.diff(values[order])
    return np.sum(np.abs(np.cumsum(weights[order])[:-1]) * gaps) / _floored_std(b)


@pytest.mark.parametrize("distance", [lambda b, p: w1(b, p) / _floored_std(b), _cumulative_weights], ids=["searchsorted", "cumsum"])
def test_wasserstein_alternative_accepted(solutions, distance):
    answer = answer_with(WASSERSTEIN, wasserstein_normalised=wasserstein_from(distance))

    assert grade(WASSERSTEIN, answer, points=3, **solutions[WASSERSTEIN].grading_data) == 3


def test_wasserstein_scipy_fails_from_scratch_only():
    def scipy_wasserstein(baseline, production):
        b = np.asarray(baseline, dtype=float)
        if b.size < 2 or len(production) == 0 or np.isnan(b).any() or np.isnan(production).any():
            raise ValueError("the baseline needs two values, production one, and no NaN")
        return float(wasserstein_distance(b, production) / max(np.std(b, ddof=1), 0.001))

    assert failures(WASSERSTEIN, answer_with(WASSERSTEIN, wasserstein_normalised=scipy_wasserstein)) == {
        "wasserstein_normalised: from scratch with numpy": "your function uses scipy; this exercise asks for an "
        "implementation from scratch with numpy, so write the formula with numpy operations",
    }


# --- References against scipy and closed forms -------------------------------------------------------------

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
positive = st.floats(1e-3, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 200), elements=positive))
def test_p95_reference_is_nearest_rank(latencies):
    p95 = m10.reference_p95(latencies)

    assert p95 == np.percentile(latencies, 95, method="inverted_cdf")
    assert np.sum(latencies <= p95) >= 0.95 * latencies.size
    assert np.sum(latencies < p95) < 0.95 * latencies.size


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 200), elements=positive))
def test_p95_solution_matches_reference(solutions, latencies):
    assert solutions[P95].answer["p95_latency"](latencies) == m10.reference_p95(latencies)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(m10.STATUS_CODES.tolist()), max_size=200))
def test_error_rate_reference_counts(codes):
    expected = sum(code >= 500 for code in codes) / len(codes) if codes else 0.0

    assert m10.reference_error_rate(codes) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(finite, st.just(float("nan")), st.sampled_from([float("inf"), -float("inf"), 0.0, 10.0])),
                min_size=1, max_size=200))
def test_quality_reference_matches_loop(values):
    nulls = sum(math.isnan(v) for v in values)
    out = sum((not math.isnan(v)) and (v < 0.0 or v > 10.0) for v in values)

    assert m10.reference_quality_rates(values, 0.0, 10.0) == pytest.approx((nulls / len(values), out / len(values)), abs=1e-12)


proportions = st.integers(2, 12).flatmap(
    lambda k: st.tuples(hnp.arrays(np.float64, k, elements=st.floats(0, 1)), hnp.arrays(np.float64, k, elements=st.floats(0, 1)))
)


@settings(max_examples=60, deadline=None)
@given(proportions)
def test_psi_reference_is_symmetrised_kl(pair):
    e, a = (np.maximum(x, 1e-4) for x in pair)

    assert m10.reference_psi(*pair) == pytest.approx(np.sum(rel_entr(a, e) + rel_entr(e, a)), rel=1e-9, abs=1e-12)


def psi_quantile_with_bisect(baseline, production, n_bins=10, floor=1e-4):
    """Compute PSI with quantile bins counted by bisect, independently of np.digitize."""
    edges = np.quantile(baseline, np.arange(1, n_bins) / n_bins).tolist()
    e, a = [0] * n_bins, [0] * n_bins
    for value in baseline:
        e[bisect.bisect_right(edges, value)] += 1
    for value in production:
        a[bisect.bisect_right(edges, value)] += 1
    return sum((max(x / len(production), floor) - max(y / len(baseline), floor))
               * math.log(max(x / len(production), floor) / max(y / len(baseline), floor)) for x, y in zip(a, e))


samples = st.tuples(hnp.arrays(np.float64, st.integers(2, 150), elements=finite),
                    hnp.arrays(np.float64, st.integers(1, 150), elements=finite))


@settings(max_examples=60, deadline=None)
@given(samples, st.integers(2, 12))
def test_psi_quantile_reference_matches_bisect(pair, n_bins):
    baseline, production = pair

    assert m10.reference_psi_quantile(baseline, production, n_bins) == pytest.approx(
        psi_quantile_with_bisect(baseline, production, n_bins), rel=1e-9, abs=1e-12)


def psi_azure_loop(baseline, production):
    """Compute Azure ML's PSI with edges at min + i * width and a loop that puts the max in the last bin."""
    k = math.ceil(math.log2(min(len(baseline), len(production))) + 1)
    low, high = min(min(baseline), min(production)), max(max(baseline), max(production))
    if low == high:
        return 0.0
    width = (high - low) / k
    edges = [low + i * width for i in range(k)] + [high]

    def counts(values):
        found = [0] * k
        for value in values:
            found[min(bisect.bisect_right(edges, value) - 1, k - 1)] += 1
        return found

    e = [(c + 1) / (len(baseline) + k) for c in counts(baseline)]
    a = [(c + 1) / (len(production) + k) for c in counts(production)]
    return sum((x - y) * math.log(x / y) for x, y in zip(a, e))


continuous = st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 3) + 0.0001234)


@settings(max_examples=60, deadline=None)
@given(st.lists(continuous, min_size=1, max_size=150, unique=True), st.lists(continuous, min_size=1, max_size=150, unique=True))
def test_psi_azure_reference_matches_loop(baseline, production):
    assert m10.reference_psi_azure(baseline, production) == pytest.approx(psi_azure_loop(baseline, production), rel=1e-9, abs=1e-12)


counts = st.integers(1, 12).flatmap(
    lambda k: st.tuples(hnp.arrays(np.int64, k, elements=st.integers(0, 1000)), hnp.arrays(np.int64, k, elements=st.integers(0, 1000)))
).filter(lambda pair: pair[0].sum() > 0 and pair[1].sum() > 0)


@settings(max_examples=50, deadline=None)
@given(counts)
def test_js_reference_matches_scipy(pair):
    assert m10.reference_js_distance(*pair) == pytest.approx(np.nan_to_num(jensenshannon(*pair)), abs=1e-7)


@settings(max_examples=50, deadline=None)
@given(counts)
def test_js_solution_matches_scipy(solutions, pair):
    assert solutions[JS].answer["js_distance"](*pair) == pytest.approx(np.nan_to_num(jensenshannon(*pair)), abs=1e-7)


@settings(max_examples=50, deadline=None)
@given(samples)
def test_wasserstein_reference_matches_scipy(pair):
    baseline, production = pair
    expected = wasserstein_distance(baseline, production) / max(np.std(baseline, ddof=1), 0.001)

    assert m10.reference_wasserstein_normalised(baseline, production) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(samples)
def test_wasserstein_solution_matches_scipy(solutions, pair):
    baseline, production = pair
    expected = wasserstein_distance(baseline, production) / max(np.std(baseline, ddof=1), 0.001)

    assert solutions[WASSERSTEIN].answer["wasserstein_normalised"](baseline, production) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_js_reference_value():
    assert m10.reference_js_distance([50, 30, 20], [30, 30, 40]) == pytest.approx(0.172115, abs=5e-7)
    assert jensenshannon([50, 30, 20], [30, 30, 40], base=2) == pytest.approx(0.206731, abs=5e-7)


def test_wasserstein_reference_value():
    assert m10.reference_wasserstein([1, 2, 3, 4, 5], [0, 3, 3.5, 7]) == pytest.approx(1.125)
    assert m10.reference_wasserstein_normalised([1.0, 2, 3, 4, 5], [0, 3, 3.5, 7]) == pytest.approx(0.711512, abs=5e-7)


# --- From scratch ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_functions_from_scratch(solutions, exercise_id):
    from autograder.checks.imports import forbidden_libraries

    for key, function in solutions[exercise_id].answer.items():
        if key != "value":
            assert forbidden_libraries(function) == set(), key
