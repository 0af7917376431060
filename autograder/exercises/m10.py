"""Module 10, monitoring, drift and model risk: p95 latency, error rate, data-quality rates,
two PSI conventions, Jensen-Shannon distance and normalised Wasserstein distance.

Every answer is a dict that holds the learner's function and the value it returns on the
learner's own data from ``exercise_data``. The function is checked on fixed vectors,
generated inputs and edge cases. The value is checked against data regenerated from the
learner's seed, so two learners report different numbers.

The Azure ML conventions follow the model-monitoring components of Azure ML
(``assets/model_monitoring`` in the Azure/azureml-assets repository): data-quality rates
divide by the row count, PSI uses ceil(log2(n) + 1) equal-width bins over the joint range
with +1 per bin, and the normalised Wasserstein distance divides by the baseline's sample
standard deviation, floored at 0.001.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any, Callable

import numpy as np

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import (
    Mistake,
    Tolerance,
    matches_reference,
    raises_value_error,
    runs_within,
    satisfies,
    value_matches,
)
from autograder.checks.imports import from_scratch
from autograder.checks.seeds import learner_seed
from autograder.exercises import Exercise, register

TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
PUBLIC_SEED = 0
LARGE_SIZE = 1_000_000
# A vectorised expression over a million elements takes about 5 ms, a Python loop 0.2-0.3 s
# (2-core x86_64 VM), so 0.1 s separates them.
TIME_LIMIT_SECONDS = 0.1
# Exercises that sort or bin are timed against the reference on the same inputs instead. On the
# same VM np.sort of a million floats took 0.05-0.09 s, and up to four times longer while other
# test suites ran, so a fixed limit fails correct answers on a loaded machine.
REFERENCE_TIME_FACTOR = 10.0
MINIMUM_TIME_LIMIT_SECONDS = 0.25
# Two samples of 200,000 values take the Wasserstein reference about 0.07 s on an idle VM.
WASSERSTEIN_SIZE = 200_000


# --- Dict answers ---------------------------------------------------------------------------


def _on_key(key: str, group: CaseGroup, form: str) -> CaseGroup:
    """Run ``group`` on ``answer[key]``. ``form`` shows the dict the exercise expects."""

    def run(answer: Any) -> None:
        if not isinstance(answer, dict) or key not in answer:
            raise AssertionError(f"expected a dict with the key {key!r}, such as {form}")
        group.run(answer[key])

    return CaseGroup(f"{key}: {group.name}", run, group.hint, group.weight)


def _learner_value(exercise_id: str, make_data: Callable[[int], Any], unpack: Callable[[Any], tuple],
                   reference: Callable[..., Any], mistakes) -> CaseGroup:
    """Build the group that checks the learner's value on data regenerated from their seed."""
    return value_matches(
        "computed on your data", reference,
        lambda: unpack(make_data(learner_seed(exercise_id))),
        tolerance=TOLERANCE, mistakes=mistakes,
    )


def _with_key(key: str, form: str, groups: list[CaseGroup]) -> list[CaseGroup]:
    return [_on_key(key, group, form) for group in groups]


def _runs_near_reference(name: str, cases: Callable[[], list[tuple]], reference: Callable[..., Any]) -> CaseGroup:
    """Build a group that times the learner's function against ``reference`` on the same inputs.

    The limit is ``REFERENCE_TIME_FACTOR`` times the reference's time, and at least
    ``MINIMUM_TIME_LIMIT_SECONDS``. Both run in the same process a moment apart, so a loaded
    machine slows both alike.
    """

    def run(function: Callable[..., Any]) -> None:
        if not callable(function):
            raise AssertionError(f"expected a function, got {type(function).__name__}: pass the function itself, without calling it")
        for inputs in cases():
            start = time.perf_counter()
            reference(*inputs)
            limit = max(MINIMUM_TIME_LIMIT_SECONDS, REFERENCE_TIME_FACTOR * (time.perf_counter() - start))
            start = time.perf_counter()
            function(*inputs)
            elapsed = time.perf_counter() - start
            if elapsed > limit:
                size = sum(np.size(a) for a in inputs if isinstance(a, np.ndarray))
                raise AssertionError(
                    f"took {elapsed:.2f} s on {size:,} elements, limit {limit:.2f} s ({REFERENCE_TIME_FACTOR:g} times "
                    "a numpy reference on the same data): replace Python loops with vectorised numpy operations"
                )

    return CaseGroup(name, run)


def _fresh(cases: list[tuple]) -> Callable[[], list[tuple]]:
    """Build a function that returns a deep copy of ``cases`` for each run.

    The shared builders copy numpy arrays but not lists, so a learner's function that sorts a
    list in place would otherwise change this module's reference cases for every later check.
    """
    return lambda: copy.deepcopy(cases)


def _unchanged_input(function: Callable, inputs: tuple) -> None:
    originals = [np.array(a, copy=True) for a in inputs]
    function(*inputs)
    for original, argument in zip(originals, inputs):
        if not np.array_equal(original, argument, equal_nan=True):
            raise AssertionError(
                "your function changed its input array in place (for example with x.sort()): "
                "work on a copy, such as np.sort(x), so the caller's data keeps its order"
            )


# --- p95 latency, nearest rank ---------------------------------------------------------------

P95_ID = "m10.p95_latency"
P95_FORM = '{"p95_latency": p95_latency, "value": p95_ms}'


def reference_p95(latencies):
    ordered = np.sort(np.asarray(latencies, dtype=float))
    rank = math.ceil(0.95 * ordered.size)
    return float(ordered[rank - 1])


def _ordered(latencies):
    return np.sort(np.asarray(latencies, dtype=float))


P95_MEAN_STD = ("looks like mean + 2 standard deviations, which assumes normal latencies without a long tail: "
                "take the nearest-rank value of the sorted latencies")

P95_MISTAKES = (
    Mistake("looks like np.percentile's default linear interpolation: the nearest-rank p95 is an observed value, "
            "the one at rank ceil(0.95 * n) of the sorted latencies",
            lambda x: np.percentile(np.asarray(x, dtype=float), 95)),
    Mistake("looks like floor(0.95 * n) instead of ceil(0.95 * n): the rank rounds up",
            lambda x: _ordered(x)[math.floor(0.95 * len(x)) - 1]),
    Mistake("off by one: the rank ceil(0.95 * n) is 1-based, so the value sits at index rank - 1",
            lambda x: _ordered(x)[math.ceil(0.95 * len(x))]),
    Mistake(P95_MEAN_STD, lambda x: np.mean(x) + 2 * np.std(x)),
    Mistake(P95_MEAN_STD, lambda x: np.mean(x) + 2 * np.std(x, ddof=1)),
    Mistake("looks like the p90: the rank is ceil(0.95 * n), not ceil(0.90 * n)",
            lambda x: _ordered(x)[math.ceil(0.9 * len(x)) - 1]),
    Mistake("the latencies are not sorted: the rank counts from the fastest request, so sort them first",
            lambda x: float(np.asarray(x, dtype=float)[math.ceil(0.95 * len(x)) - 1])),
)

# Thirty requests to an online endpoint, in arrival order, with a slow tail.
P95_REFERENCE = (112.0, 98.0, 105.0, 131.0, 97.0, 88.0, 120.0, 101.0, 94.0, 143.0, 99.0, 102.0, 410.0, 95.0, 108.0,
                 117.0, 91.0, 125.0, 100.0, 96.0, 180.0, 104.0, 93.0, 110.0, 138.0, 890.0, 103.0, 115.0, 106.0, 260.0)
P95_REFERENCE_CASES = [
    (np.array(P95_REFERENCE),),
    (list(P95_REFERENCE),),
    # Twenty values: 0.95 * 20 is exactly 19, so the rank is 19.
    (np.array([45.0, 52.0, 38.0, 61.0, 47.0, 300.0, 49.0, 55.0, 41.0, 58.0,
               44.0, 50.0, 39.0, 120.0, 53.0, 46.0, 42.0, 57.0, 48.0, 51.0]),),
]


def latency_window(seed: int) -> np.ndarray:
    """Generate the latencies in ms of one window of requests to an online endpoint, with a slow tail."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(900, 1600))
    latencies = rng.lognormal(math.log(rng.uniform(60, 120)), 0.25, n)
    slow = rng.random(n) < rng.uniform(0.02, 0.06)
    latencies[slow] *= rng.uniform(3, 8, int(slow.sum()))
    return np.round(latencies, 1)


def _random_latencies(seed: int, count: int = 8):
    rng = np.random.default_rng(seed)
    # Sizes 20 and 101 come early: they tell a floor, a p90 and an off-by-one rank apart.
    sizes = [1, 2, 20, 101, 19, 21] + [int(n) for n in rng.integers(3, 400, count)]
    return [(rng.lognormal(4.5, 0.6, n),) for n in sizes]


def _p95_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference latencies", reference_p95, _fresh(P95_REFERENCE_CASES), tolerance=TOLERANCE, mistakes=P95_MISTAKES),
        matches_reference("generated latencies", reference_p95, lambda: _random_latencies(seed),
                          tolerance=TOLERANCE, mistakes=P95_MISTAKES),
        satisfies("leaves the input unchanged", lambda f: _unchanged_input(f, (np.array(P95_REFERENCE),))),
        raises_value_error("empty window", [(np.array([]),), ([],)], why="a window without requests has no p95"),
        raises_value_error("NaN latency", [(np.array([120.0, np.nan, 95.0]),)],
                           why="a missing latency is a logging bug, not a number to rank"),
        from_scratch(),
    ]
    if timed:
        groups.append(_runs_near_reference("vectorised", lambda: [(np.random.default_rng(seed).lognormal(4.5, 0.6, LARGE_SIZE),)],
                                           reference_p95))
    return [
        *_with_key("p95_latency", P95_FORM, groups),
        _on_key("value", _learner_value(P95_ID, latency_window, lambda data: (data,), reference_p95, P95_MISTAKES), P95_FORM),
    ]


# --- Error rate --------------------------------------------------------------------------------

ERROR_RATE_ID = "m10.error_rate"
ERROR_RATE_FORM = '{"error_rate": error_rate, "value": window_error_rate}'


def reference_error_rate(status_codes):
    codes = np.asarray(status_codes)
    if codes.size == 0:
        return 0.0
    return float(np.mean(codes >= 500))


def _share(condition):
    def compute(status_codes):
        codes = np.asarray(status_codes)
        return float(np.mean(condition(codes)))

    return compute


def _failures_per_success(status_codes):
    codes = np.asarray(status_codes)
    failed = np.sum(codes >= 500)
    return failed / (codes.size - failed)


ERROR_RATE_MISTAKES = (
    Mistake("4xx responses are counted as failures: a 4xx is the client's error (a bad request, a missing key), "
            "so only status >= 500 counts against the endpoint", _share(lambda c: c >= 400)),
    Mistake("looks like failures divided by successes: divide by all requests in the window", _failures_per_success),
    Mistake("looks like a percentage: return a fraction between 0 and 1",
            lambda codes: 100 * reference_error_rate(codes)),
    Mistake("only status 500 is counted: every 5xx (502, 503, 504 ...) is a failure", _share(lambda c: c == 500)),
    Mistake("status 500 itself is missed: failures are status >= 500, not > 500", _share(lambda c: c > 500)),
    Mistake("looks like the success rate: return the share of failed requests", _share(lambda c: c < 500)),
    Mistake("every non-2xx response is counted as a failure: redirects and 4xx are not failures of the endpoint",
            _share(lambda c: (c < 200) | (c >= 300))),
)

ERROR_RATE_REFERENCE_CASES = [
    (np.array([200, 301, 404, 500, 503, 200, 201, 429, 502, 200, 200, 204]),),
    ([200, 200, 500, 200],),
]

STATUS_CODES = np.array([200, 201, 204, 301, 304, 400, 401, 404, 429, 500, 502, 503, 504])


def status_window(seed: int) -> np.ndarray:
    """Generate the HTTP status codes of the requests in one window of an online endpoint."""
    rng = np.random.default_rng(seed)
    weights = np.concatenate([
        rng.dirichlet([8, 2, 1]) * rng.uniform(0.85, 0.93),
        rng.dirichlet([1, 1]) * 0.02,
        rng.dirichlet([3, 1, 2, 2]) * rng.uniform(0.02, 0.06),
        rng.dirichlet([3, 2, 2, 1]) * rng.uniform(0.005, 0.05),
    ])
    return rng.choice(STATUS_CODES, size=int(rng.integers(2000, 5000)), p=weights / weights.sum())


def _random_status_windows(seed: int, count: int = 6):
    rng = np.random.default_rng(seed + 1)
    return [(status_window(int(s))[: int(rng.integers(1, 300))],) for s in rng.integers(0, 2**31, count)]


def _empty_window_is_zero(function: Callable) -> None:
    for empty in (np.array([], dtype=int), []):
        value = function(empty)
        if value is None or not np.isfinite(value) or value != 0:
            raise AssertionError(
                f"an empty window must give an error rate of 0.0, got {value!r}: no request failed, "
                "and a missing-traffic alert watches the request count instead"
            )


def _error_rate_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference status codes", reference_error_rate, _fresh(ERROR_RATE_REFERENCE_CASES),
                          tolerance=TOLERANCE, mistakes=ERROR_RATE_MISTAKES),
        matches_reference("generated windows", reference_error_rate, lambda: _random_status_windows(seed),
                          tolerance=TOLERANCE, mistakes=ERROR_RATE_MISTAKES),
        matches_reference("all requests failed", reference_error_rate, _fresh([(np.array([500, 503, 502]),)]),
                          tolerance=TOLERANCE, mistakes=ERROR_RATE_MISTAKES),
        satisfies("empty window", _empty_window_is_zero),
        raises_value_error("invalid status code", [(np.array([200, 0]),), (np.array([200, 600]),), (np.array([99, 200]),)],
                           why="HTTP status codes lie between 100 and 599, so the log was parsed wrongly"),
        from_scratch(),
    ]
    if timed:
        groups.append(runs_within("vectorised", lambda: [(np.random.default_rng(seed).choice(STATUS_CODES, LARGE_SIZE),)],
                                  TIME_LIMIT_SECONDS))
    return [
        *_with_key("error_rate", ERROR_RATE_FORM, groups),
        _on_key("value", _learner_value(ERROR_RATE_ID, status_window, lambda data: (data,), reference_error_rate,
                                        ERROR_RATE_MISTAKES), ERROR_RATE_FORM),
    ]


# --- Data-quality rates ------------------------------------------------------------------------

QUALITY_ID = "m10.data_quality_rates"
QUALITY_FORM = '{"data_quality_rates": data_quality_rates, "value": quality_rates}'


def reference_quality_rates(values, low, high):
    v = np.asarray(values, dtype=float)
    # Comparisons with NaN are False, so a null value is never out of bounds.
    out_of_bounds = (v < low) | (v > high)
    return float(np.mean(np.isnan(v))), float(np.mean(out_of_bounds))


def _rates(null, out_of_bounds):
    def compute(values, low, high):
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return null(v), out_of_bounds(v, low, high)

    return compute


def _null_rate(v):
    return float(np.mean(np.isnan(v)))


QUALITY_MISTAKES = (
    Mistake("null values are counted as out of bounds: test `x < low or x > high`, which is False for NaN, "
            "instead of `not (low <= x <= high)`",
            _rates(_null_rate, lambda v, lo, hi: float(np.mean(~((v >= lo) & (v <= hi)))))),
    Mistake("the bounds are exclusive: a value equal to low or high is within bounds",
            _rates(_null_rate, lambda v, lo, hi: float(np.mean((v <= lo) | (v >= hi))))),
    Mistake("the out-of-bounds rate is divided by the non-null values only: divide both rates by all rows",
            _rates(_null_rate, lambda v, lo, hi: float(np.sum((v < lo) | (v > hi)) / np.sum(~np.isnan(v))))),
    Mistake("looks like percentages: return both rates as fractions between 0 and 1",
            lambda v, lo, hi: tuple(100 * r for r in reference_quality_rates(v, lo, hi))),
    Mistake("infinite values are counted as null: only NaN (or None) is null, and +-inf is out of bounds",
            _rates(lambda v: float(np.mean(~np.isfinite(v))),
                   lambda v, lo, hi: float(np.mean(np.isfinite(v) & ((v < lo) | (v > hi)))))),
    Mistake("the two rates are swapped: return (null_rate, out_of_bounds_rate)",
            lambda v, lo, hi: reference_quality_rates(v, lo, hi)[::-1]),
    Mistake("only values above high are counted: values below low are out of bounds too",
            _rates(_null_rate, lambda v, lo, hi: float(np.mean(v > hi)))),
    Mistake("looks like counts: divide each count by the number of rows",
            _rates(lambda v: float(np.sum(np.isnan(v))), lambda v, lo, hi: float(np.sum((v < lo) | (v > hi))))),
)

QUALITY_REFERENCE_CASES = [
    (np.array([3.2, np.nan, 7.5, -1.0, 10.0, 0.0, 8.8, 12.4, np.inf, 5.5,
               10.0, np.nan, 4.1, 9.9, 2.2, -0.5, 6.0, 1.0, 3.3, 7.7]), 0.0, 10.0),
    ([1.5, None, 2.5, 99.0], 1.0, 3.0),
]


def feature_column(seed: int) -> dict[str, Any]:
    """Generate a production feature column with nulls and outliers, and its bounds from the baseline."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3000, 6000))
    low, high = 0.0, float(rng.choice([60.0, 80.0, 100.0]))
    values = np.round(rng.lognormal(math.log(rng.uniform(4, 9)), 0.8, n), 2)
    at_bounds = rng.random(n) < 0.01
    values[at_bounds] = rng.choice([low, high], int(at_bounds.sum()))
    negative = rng.random(n) < rng.uniform(0.002, 0.01)
    values[negative] = -np.round(rng.uniform(0.1, 5, int(negative.sum())), 2)
    # A division by zero upstream leaves a few infinite values, which are out of bounds, not null.
    values[rng.random(n) < 0.004] = np.inf
    values[rng.random(n) < rng.uniform(0.01, 0.06)] = np.nan
    return {"values": values, "low": low, "high": high}


def _unpack_column(data):
    return data["values"], data["low"], data["high"]


def _random_columns(seed: int, count: int = 5):
    rng = np.random.default_rng(seed + 2)
    cases = []
    for s in rng.integers(0, 2**31, count):
        data = feature_column(int(s))
        size = int(rng.integers(1, 400))
        cases.append((data["values"][:size], data["low"], data["high"]))
    return cases


def _quality_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference column", reference_quality_rates, _fresh(QUALITY_REFERENCE_CASES),
                          tolerance=TOLERANCE, mistakes=QUALITY_MISTAKES),
        matches_reference("generated columns", reference_quality_rates, lambda: _random_columns(seed),
                          tolerance=TOLERANCE, mistakes=QUALITY_MISTAKES),
        matches_reference("only nulls", reference_quality_rates, _fresh([(np.array([np.nan, np.nan]), 0.0, 1.0)]),
                          tolerance=TOLERANCE, mistakes=QUALITY_MISTAKES),
        raises_value_error("empty column", [(np.array([]), 0.0, 1.0)], why="a column without rows has no rates"),
        raises_value_error("low above high", [(np.array([1.0, 2.0]), 5.0, 1.0)],
                           why="the bounds are [low, high], so low > high describes no valid value"),
        from_scratch(),
    ]
    if timed:
        groups.append(runs_within("vectorised", lambda: [(np.random.default_rng(seed).normal(size=LARGE_SIZE), -2.0, 2.0)],
                                  TIME_LIMIT_SECONDS))
    return [
        *_with_key("data_quality_rates", QUALITY_FORM, groups),
        _on_key("value", _learner_value(QUALITY_ID, feature_column, _unpack_column, reference_quality_rates,
                                        QUALITY_MISTAKES), QUALITY_FORM),
    ]


# --- PSI from proportions, and with quantile bins ----------------------------------------------

PSI_QUANTILE_ID = "m10.psi_quantile"
PSI_QUANTILE_FORM = '{"psi": psi, "psi_quantile": psi_quantile, "value": psi_quantile_value}'
PSI_FLOOR = 1e-4


def reference_psi(expected, actual, floor=PSI_FLOOR):
    e = np.maximum(np.asarray(expected, dtype=float), floor)
    a = np.maximum(np.asarray(actual, dtype=float), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def _psi_terms(e, a):
    return (a - e) * np.log(a / e)


PSI_MISTAKES = (
    Mistake("looks like the KL divergence sum(a * ln(a / e)): PSI weighs the log ratio by (a - e)",
            lambda e, a, floor=PSI_FLOOR: float(np.sum(np.maximum(a, floor) * np.log(np.maximum(a, floor) / np.maximum(e, floor))))),
    Mistake("looks like log base 10 instead of the natural log",
            lambda e, a, floor=PSI_FLOOR: reference_psi(e, a, floor) / math.log(10)),
    Mistake("looks like log base 2 instead of the natural log",
            lambda e, a, floor=PSI_FLOOR: reference_psi(e, a, floor) / math.log(2)),
    Mistake("looks like a mean over bins: PSI sums the terms of all bins",
            lambda e, a, floor=PSI_FLOOR: reference_psi(e, a, floor) / len(e)),
    Mistake("the sign is flipped: (a - e) and ln(a / e) always have the same sign, so PSI is never negative",
            lambda e, a, floor=PSI_FLOOR: -reference_psi(e, a, floor)),
    Mistake("only empty bins get the floor: raise every proportion below the floor to the floor, np.maximum(p, floor)",
            lambda e, a, floor=PSI_FLOOR: float(np.sum(_psi_terms(np.where(np.asarray(e) == 0, floor, e),
                                                                  np.where(np.asarray(a) == 0, floor, a))))),
    Mistake("the proportions are renormalised after the floor: apply the floor and use the proportions as they are",
            lambda e, a, floor=PSI_FLOOR: reference_psi(np.maximum(e, floor) / np.maximum(e, floor).sum(),
                                                        np.maximum(a, floor) / np.maximum(a, floor).sum(), 0.0)),
)

PSI_REFERENCE_CASES = [
    (np.array([0.4, 0.3, 0.3]), np.array([0.35, 0.25, 0.40])),
    (np.full(10, 0.1), np.array([5, 5, 5, 10, 10, 10, 10, 15, 15, 15]) / 100),
    # An empty production bin and a bin below the floor: both use the floor 1e-4.
    (np.array([0.25, 0.25, 0.25, 0.25]), np.array([0.6, 0.39995, 0.0, 0.00005])),
]


def _random_proportions(seed: int, count: int = 6):
    rng = np.random.default_rng(seed + 3)
    cases = []
    for _ in range(count):
        k = int(rng.integers(2, 15))
        expected = rng.dirichlet(np.ones(k))
        actual = rng.dirichlet(np.ones(k) * rng.uniform(0.3, 3))
        cases.append((expected, actual))
    return cases


def quantile_bin_proportions(baseline, production, n_bins=10):
    """Return the proportions of both samples in bins cut at the baseline's quantiles, left-closed, open-ended."""
    b = np.asarray(baseline, dtype=float)
    p = np.asarray(production, dtype=float)
    inner_edges = np.quantile(b, np.arange(1, n_bins) / n_bins)
    expected = np.bincount(np.digitize(b, inner_edges), minlength=n_bins) / b.size
    actual = np.bincount(np.digitize(p, inner_edges), minlength=n_bins) / p.size
    return expected, actual


def reference_psi_quantile(baseline, production, n_bins=10, floor=PSI_FLOOR):
    return reference_psi(*quantile_bin_proportions(baseline, production, n_bins), floor)


def _binned_psi(edges_of, closed_right=False, floor=PSI_FLOOR):
    """Build a PSI whose inner bin edges come from ``edges_of(baseline, production, n_bins)``."""

    def compute(baseline, production, n_bins=10, floor=floor):
        b, p = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
        inner = edges_of(b, p, n_bins)
        k = len(inner) + 1
        e = np.bincount(np.digitize(b, inner, right=closed_right), minlength=k) / b.size
        a = np.bincount(np.digitize(p, inner, right=closed_right), minlength=k) / p.size
        return reference_psi(e, a, floor)

    return compute


def _histogram_psi(baseline, production, n_bins=10, floor=PSI_FLOOR):
    # np.histogram over the baseline's quantile edges drops production values outside them.
    b, p = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
    edges = np.quantile(b, np.linspace(0, 1, n_bins + 1))
    e = np.histogram(b, edges)[0] / b.size
    a = np.histogram(p, edges)[0] / p.size
    return reference_psi(e, a, floor)


def _floored_counts_psi(baseline, production, n_bins=10, floor=PSI_FLOOR):
    b, p = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
    inner = np.quantile(b, np.arange(1, n_bins) / n_bins)
    e = np.maximum(np.bincount(np.digitize(b, inner), minlength=n_bins), floor) / b.size
    a = np.maximum(np.bincount(np.digitize(p, inner), minlength=n_bins), floor) / p.size
    return reference_psi(e, a, 0.0)


PSI_QUANTILE_MISTAKES = (
    Mistake("the bins are cut at the production sample's quantiles: cut them at the baseline's",
            lambda b, p, n_bins=10, floor=PSI_FLOOR: reference_psi_quantile(p, b, n_bins, floor)),
    Mistake("looks like equal-width bins over the baseline's range: cut the bins at the baseline's quantiles",
            _binned_psi(lambda b, p, k: np.linspace(b.min(), b.max(), k + 1)[1:-1])),
    Mistake("production values outside the baseline's range are dropped, as np.histogram does: "
            "the first and last bins are open-ended",
            _histogram_psi),
    Mistake("looks like n_bins - 1 bins: n_bins bins need the quantiles at 1/n_bins, ..., (n_bins - 1)/n_bins",
            _binned_psi(lambda b, p, k: np.quantile(b, np.linspace(0, 1, k)[1:-1]))),
    Mistake("the bins are closed on the right: a value equal to an edge belongs to the bin that starts at that edge",
            _binned_psi(lambda b, p, k: np.quantile(b, np.arange(1, k) / k), closed_right=True)),
    Mistake("the floor is applied to counts: apply it to the proportions, count / n",
            _floored_counts_psi),
    *(Mistake(m.explanation, lambda b, p, n_bins=10, floor=PSI_FLOOR, m=m: m.compute(*quantile_bin_proportions(b, p, n_bins), floor))
      for m in PSI_MISTAKES),
)

# One hundred baseline values fill ten quantile bins with ten each. The production counts per
# bin are 5, 5, 5, 10, 10, 10, 10, 15, 15, 15.
PSI_QUANTILE_BASELINE = np.arange(100.0)
PSI_QUANTILE_PRODUCTION = np.repeat(np.arange(10) * 9.9 + 4.0, [5, 5, 5, 10, 10, 10, 10, 15, 15, 15])
# Edges fall on baseline values: with n_bins=4 the inner edges of these nine values are 1.5, 3 and 6.
PSI_EDGE_CASES = [(np.array([0.0, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 7.0, 10.0]),
                   np.array([1.5, 1.5, 3.0, 3.0, 3.0, 6.0, 0.5, 8.0, 9.0, 2.0]), 4)]


def drift_samples(seed: int, *, baseline_size: int, production_size: int) -> dict[str, np.ndarray]:
    """Generate a baseline sample of a feature and a production sample with some drift."""
    rng = np.random.default_rng(seed)
    shape = rng.uniform(2, 6)
    baseline = rng.gamma(shape, 10, baseline_size)
    production = rng.gamma(shape * rng.uniform(0.8, 1.2), 10 * rng.uniform(0.9, 1.3), production_size)
    return {"baseline": baseline, "production": production}


def _quantile_sizes(rng) -> int:
    # With n - 1 coprime to 10, no decile of the baseline falls on a sample value, so the
    # edge convention and the rounding of 0.1 * i cannot change a bin count.
    n = int(rng.integers(200, 3000))
    while math.gcd(n - 1, 10) != 1:
        n += 1
    return n


def basket_values(seed: int) -> dict[str, np.ndarray]:
    """Generate basket values in EUR of a training baseline and of one week of production."""
    rng = np.random.default_rng(seed)
    return drift_samples(seed, baseline_size=_quantile_sizes(rng) + 3000, production_size=int(rng.integers(1500, 3000)))


def _random_quantile_cases(seed: int, count: int = 5):
    rng = np.random.default_rng(seed + 4)
    cases = []
    for s in rng.integers(0, 2**31, count):
        data = drift_samples(int(s), baseline_size=_quantile_sizes(rng), production_size=int(rng.integers(50, 2000)))
        cases.append((data["baseline"], data["production"]))
    # A production sample far to the right of the baseline leaves most bins empty.
    cases.append((rng.normal(0, 1, 1002), rng.normal(3, 0.3, 500)))
    return cases


def _finite_with_empty_bins(cases, fix: str):
    def condition(function: Callable) -> None:
        for inputs in cases:
            value = function(*inputs)
            if value is None or not np.isfinite(value):
                raise AssertionError(f"an empty bin made your PSI {value!r}: {fix}")

    return condition


def _unpack_drift(data):
    return data["baseline"], data["production"]


def _psi_quantile_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    psi_groups = [
        matches_reference("reference proportions", reference_psi, _fresh(PSI_REFERENCE_CASES), tolerance=TOLERANCE, mistakes=PSI_MISTAKES),
        matches_reference("generated proportions", reference_psi, lambda: _random_proportions(seed),
                          tolerance=TOLERANCE, mistakes=PSI_MISTAKES),
        satisfies("empty bins", _finite_with_empty_bins(
            [(np.array([0.5, 0.5, 0.0]), np.array([0.2, 0.3, 0.5]))], "raise every proportion below the floor to the floor before the log")),
        raises_value_error("shape mismatch", [(np.full(3, 1 / 3), np.full(4, 0.25))],
                           why="expected and actual need one proportion per bin"),
        from_scratch(),
    ]
    quantile_groups = [
        matches_reference("reference samples", reference_psi_quantile, _fresh([(PSI_QUANTILE_BASELINE, PSI_QUANTILE_PRODUCTION)]),
                          tolerance=TOLERANCE, mistakes=PSI_QUANTILE_MISTAKES),
        matches_reference("generated samples", reference_psi_quantile, lambda: _random_quantile_cases(seed),
                          tolerance=TOLERANCE, mistakes=PSI_QUANTILE_MISTAKES),
        matches_reference("values on bin edges", reference_psi_quantile, _fresh(PSI_EDGE_CASES),
                          tolerance=TOLERANCE, mistakes=PSI_QUANTILE_MISTAKES),
        satisfies("empty bins", _finite_with_empty_bins(
            [(np.linspace(-2.0, 2.0, 1001), np.full(200, 5.0))],
            "raise every proportion below the floor to the floor before the log")),
        raises_value_error("empty sample", [(np.array([]), np.ones(5)), (np.arange(20.0), np.array([]))],
                           why="a PSI needs values in both samples"),
        raises_value_error("NaN value", [(np.array([1.0, np.nan, 3.0, 4.0]), np.arange(5.0))],
                           why="a NaN has no bin: count nulls with the data-quality rates instead"),
        from_scratch(),
    ]
    if timed:
        quantile_groups.append(_runs_near_reference("vectorised", lambda: [_large_drift_pair(seed)], reference_psi_quantile))
    return [
        *_with_key("psi", PSI_QUANTILE_FORM, psi_groups),
        *_with_key("psi_quantile", PSI_QUANTILE_FORM, quantile_groups),
        _on_key("value", _learner_value(PSI_QUANTILE_ID, basket_values, _unpack_drift, reference_psi_quantile,
                                        PSI_QUANTILE_MISTAKES), PSI_QUANTILE_FORM),
    ]


def _large_drift_pair(seed: int, size: int = LARGE_SIZE):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, size), rng.normal(0.2, 1.1, size)


# --- PSI as Azure ML's monitor computes it -------------------------------------------------------

PSI_AZURE_ID = "m10.psi_azure"
PSI_AZURE_FORM = '{"psi_azure": psi_azure, "value": psi_azure_value}'


def azure_bin_count(baseline_size: int, production_size: int) -> int:
    """Return the bin count of Azure ML's drift monitor: Sturges' rule on the smaller sample, rounded up."""
    return math.ceil(math.log2(min(baseline_size, production_size)) + 1)


def reference_psi_azure(baseline, production, n_bins=None):
    b = np.asarray(baseline, dtype=float)
    p = np.asarray(production, dtype=float)
    k = n_bins if n_bins is not None else azure_bin_count(b.size, p.size)
    low, high = min(b.min(), p.min()), max(b.max(), p.max())
    if low == high:
        return 0.0
    edges = np.linspace(low, high, k + 1)
    e = (np.histogram(b, edges)[0] + 1) / (b.size + k)
    a = (np.histogram(p, edges)[0] + 1) / (p.size + k)
    return float(np.sum((a - e) * np.log(a / e)))


def _azure_variant(*, bins=None, edges_from="joint", smoothing=1, denominator_adds_bins=True, floor=0.0):
    """Build Azure ML's PSI with one convention changed, for the mistake catalogue."""

    def compute(baseline, production, n_bins=None):
        b, p = np.asarray(baseline, dtype=float), np.asarray(production, dtype=float)
        k = n_bins if n_bins is not None else (bins or azure_bin_count)(b.size, p.size)
        if edges_from == "quantiles":
            edges = np.quantile(b, np.linspace(0, 1, k + 1))
            edges[0], edges[-1] = min(b.min(), p.min()), max(b.max(), p.max())
        elif edges_from == "baseline":
            edges = np.linspace(b.min(), b.max(), k + 1)
        else:
            edges = np.linspace(min(b.min(), p.min()), max(b.max(), p.max()), k + 1)
        added = k * smoothing if denominator_adds_bins else 0
        e = (np.histogram(b, edges)[0] + smoothing) / (b.size + added)
        a = (np.histogram(p, edges)[0] + smoothing) / (p.size + added)
        return reference_psi(e, a, floor)

    return compute


PSI_AZURE_MISTAKES = (
    Mistake("no +1 smoothing: add 1 to every bin count of both samples before dividing",
            _azure_variant(smoothing=0)),
    Mistake("looks like quantile bins: Azure ML's monitor uses equal-width bins", _azure_variant(edges_from="quantiles")),
    Mistake("the bins span only the baseline's range: take the min and max over both samples together",
            _azure_variant(edges_from="baseline")),
    # int(log2(n) + 1) and ceil(log2(n)) agree unless n is a power of 2, so one entry names both.
    Mistake("the bin count is one too small: Sturges' rule rounds up, ceil(log2(n) + 1), "
            "which is neither int(log2(n) + 1) nor ceil(log2(n))",
            _azure_variant(bins=lambda nb, np_: math.ceil(math.log2(min(nb, np_))))),
    Mistake("the bin count is computed from the larger sample: use the smaller one",
            _azure_variant(bins=lambda nb, np_: math.ceil(math.log2(max(nb, np_)) + 1))),
    Mistake("the bin count uses the natural log: Sturges' rule uses log2",
            _azure_variant(bins=lambda nb, np_: math.ceil(math.log(min(nb, np_)) + 1))),
    Mistake("the smoothed counts are divided by n: divide by n + n_bins, so the proportions sum to 1",
            _azure_variant(denominator_adds_bins=False)),
    Mistake("a floor of 1e-4 is applied on top of the +1 smoothing: smoothing alone keeps every bin above zero",
            _azure_variant(floor=PSI_FLOOR)),
    Mistake("the sign is flipped: (a - e) and ln(a / e) always have the same sign, so PSI is never negative",
            lambda b, p, n_bins=None: -reference_psi_azure(b, p, n_bins)),
)

# The quantile exercise's ten bins, rebuilt for equal-width binning: baseline values 0.5 ... 99.5
# put ten values in each of ten bins of width 9.9, and the production values sit at bin centres.
PSI_AZURE_BASELINE = np.arange(100.0) + 0.5
PSI_AZURE_PRODUCTION = np.repeat(0.5 + 9.9 * (np.arange(10) + 0.5), [5, 5, 5, 10, 10, 10, 10, 15, 15, 15])


def session_minutes(seed: int) -> dict[str, np.ndarray]:
    """Generate session lengths in minutes of a training baseline and of one day of production."""
    rng = np.random.default_rng(seed)
    return drift_samples(seed, baseline_size=int(rng.integers(2000, 6000)), production_size=int(rng.integers(300, 1200)))


def _random_azure_cases(seed: int, count: int = 5):
    rng = np.random.default_rng(seed + 5)
    cases = []
    for s in rng.integers(0, 2**31, count):
        data = drift_samples(int(s), baseline_size=int(rng.integers(20, 3000)), production_size=int(rng.integers(20, 3000)))
        cases.append((data["baseline"], data["production"]))
    # Fifty thousand production values crowded into a few bins: smoothed proportions of 1 / 50,000.
    cases.append((rng.uniform(0, 10, 60_000), rng.normal(2, 0.05, 50_000)))
    # Production values beyond both ends of the baseline.
    cases.append((rng.normal(0, 1, 500), rng.normal(0, 3, 400)))
    return cases


def _constant_samples_give_zero(function: Callable) -> None:
    value = function(np.full(50, 7.0), np.full(30, 7.0))
    if value is None or not np.isfinite(value) or abs(value) > 1e-12:
        raise AssertionError(
            f"two samples of the same constant gave {value!r}: when min == max there is one bin and no drift, so return 0.0"
        )


def _psi_azure_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference samples, ten bins", reference_psi_azure,
                          _fresh([(PSI_AZURE_BASELINE, PSI_AZURE_PRODUCTION, 10)]), tolerance=TOLERANCE, mistakes=PSI_AZURE_MISTAKES),
        matches_reference("generated samples", reference_psi_azure, lambda: _random_azure_cases(seed),
                          tolerance=TOLERANCE, mistakes=PSI_AZURE_MISTAKES),
        satisfies("empty bins", _finite_with_empty_bins(
            [(np.arange(100.0), np.full(40, 3.0))], "add 1 to every bin count of both samples before dividing")),
        satisfies("all values equal", _constant_samples_give_zero),
        raises_value_error("empty sample", [(np.array([]), np.ones(5)), (np.arange(20.0), np.array([]))],
                           why="a PSI needs values in both samples"),
        raises_value_error("NaN value", [(np.array([1.0, np.nan, 3.0, 4.0]), np.arange(5.0))],
                           why="a NaN has no bin: count nulls with the data-quality rates instead"),
        from_scratch(),
    ]
    if timed:
        groups.append(_runs_near_reference("vectorised", lambda: [_large_drift_pair(seed)], reference_psi_azure))
    return [
        *_with_key("psi_azure", PSI_AZURE_FORM, groups),
        _on_key("value", _learner_value(PSI_AZURE_ID, session_minutes, _unpack_drift, reference_psi_azure,
                                        PSI_AZURE_MISTAKES), PSI_AZURE_FORM),
    ]


# --- Jensen-Shannon distance ---------------------------------------------------------------------

JS_ID = "m10.js_distance"
JS_FORM = '{"js_distance": js_distance, "value": js_value}'


def _kl(p, q):
    # 0 * ln(0 / q) is 0, so only categories with p > 0 contribute.
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def _proportions(counts):
    counts = np.asarray(counts, dtype=float)
    return counts / counts.sum()


def reference_js_divergence(baseline_counts, production_counts):
    p, q = _proportions(baseline_counts), _proportions(production_counts)
    m = (p + q) / 2
    return max((_kl(p, m) + _kl(q, m)) / 2, 0.0)


def reference_js_distance(baseline_counts, production_counts):
    return math.sqrt(reference_js_divergence(baseline_counts, production_counts))


def _kl_of_counts(b, p):
    with np.errstate(divide="ignore"):
        return _kl(_proportions(b), _proportions(p))


def _unnormalised_js(b, p):
    b, p = np.asarray(b, dtype=float), np.asarray(p, dtype=float)
    m = (b + p) / 2
    return math.sqrt((_kl(b, m) + _kl(p, m)) / 2)


def _js_of(p, q):
    m = (p + q) / 2
    return math.sqrt(max((_kl(p, m) + _kl(q, m)) / 2, 0.0))


def _unaveraged_js(b, p):
    pb, pp = _proportions(b), _proportions(p)
    m = (pb + pp) / 2
    return math.sqrt(_kl(pb, m) + _kl(pp, m))


JS_MISTAKES = (
    Mistake("looks like the JS divergence: the distance is its square root", reference_js_divergence),
    Mistake("looks like log base 2: this exercise uses the natural log, as scipy's jensenshannon does by default",
            lambda b, p: reference_js_distance(b, p) / math.sqrt(math.log(2))),
    Mistake("looks like the KL divergence KL(P || Q): JS compares each distribution with their mixture M = (P + Q) / 2",
            _kl_of_counts),
    Mistake("looks like the square root of the KL divergence KL(P || Q): JS compares each distribution with "
            "their mixture M = (P + Q) / 2",
            lambda b, p: math.sqrt(_kl_of_counts(b, p))),
    Mistake("the counts are not normalised: divide each sample's counts by its own total first", _unnormalised_js),
    Mistake("both samples are divided by the total of the two: divide each sample's counts by its own total",
            lambda b, p: _js_of(np.asarray(b, float) / (np.sum(b) + np.sum(p)), np.asarray(p, float) / (np.sum(b) + np.sum(p)))),
    Mistake("the two KL terms are summed: JS is their average, (KL(P || M) + KL(Q || M)) / 2", _unaveraged_js),
    Mistake("only one side of the mixture: JS averages KL(P || M) and KL(Q || M)",
            lambda b, p: math.sqrt(max(_kl(_proportions(b), (_proportions(b) + _proportions(p)) / 2), 0.0))),
)

JS_REFERENCE_CASES = [
    (np.array([50, 30, 20]), np.array([30, 30, 40])),
    ([120, 80, 0, 40], [100, 60, 25, 15]),
]

PAYMENT_TYPES = ["card", "cash", "mobile_wallet", "voucher", "bank_transfer", "buy_now_pay_later"]


def payment_counts(seed: int) -> dict[str, Any]:
    """Generate the counts of a categorical feature in the baseline and in one week of production.

    The last category is new: it has no baseline count and 2-10 % of production.
    """
    rng = np.random.default_rng(seed)
    known = len(PAYMENT_TYPES) - 1
    baseline_share = np.append(rng.dirichlet(np.full(known, 2.0)), 0.0)
    new_share = rng.uniform(0.02, 0.1)
    mixed = 0.7 * baseline_share[:known] + 0.3 * rng.dirichlet(np.full(known, 2.0))
    production_share = np.append(mixed * (1 - new_share), new_share)
    return {
        "categories": list(PAYMENT_TYPES),
        "baseline_counts": rng.multinomial(int(rng.integers(5000, 20000)), baseline_share),
        "production_counts": rng.multinomial(int(rng.integers(800, 4000)), production_share),
    }


def _random_count_pairs(seed: int, count: int = 6):
    rng = np.random.default_rng(seed + 6)
    cases = []
    for _ in range(count):
        k = int(rng.integers(2, 12))
        b = rng.multinomial(int(rng.integers(20, 2000)), rng.dirichlet(np.ones(k)))
        p = rng.multinomial(int(rng.integers(20, 2000)), rng.dirichlet(np.ones(k)))
        cases.append((b, p))
    return cases


def _js_closed_forms(function: Callable) -> None:
    same = function(np.array([10, 20, 30]), np.array([30, 60, 90]))
    if not np.isclose(same, 0.0, atol=1e-7):
        raise AssertionError("the same proportions with different totals must give 0: normalise each sample's counts first")
    disjoint = function(np.array([5, 5, 0, 0]), np.array([0, 0, 7, 3]))
    if not np.isclose(disjoint, math.sqrt(math.log(2)), rtol=1e-6):
        raise AssertionError(
            "two samples with no category in common must give the maximum, sqrt(ln 2): "
            "treat 0 * ln(0) as 0 and use the natural log"
        )


def _js_symmetric(function: Callable) -> None:
    b, p = np.array([40, 25, 20, 15]), np.array([10, 30, 35, 25])
    if not np.isclose(function(b, p), function(p, b), rtol=1e-9):
        raise AssertionError("swapping baseline and production changed your distance: JS is symmetric, unlike KL")


def _js_groups(seed: int) -> list[CaseGroup]:
    groups = [
        matches_reference("reference counts", reference_js_distance, _fresh(JS_REFERENCE_CASES), tolerance=TOLERANCE, mistakes=JS_MISTAKES),
        matches_reference("generated counts", reference_js_distance, lambda: _random_count_pairs(seed),
                          tolerance=TOLERANCE, mistakes=JS_MISTAKES),
        satisfies("closed forms", _js_closed_forms),
        satisfies("symmetric", _js_symmetric),
        raises_value_error("shape mismatch", [(np.array([1, 2, 3]), np.array([1, 2]))],
                           why="both samples need one count per category"),
        raises_value_error("negative count", [(np.array([5, -1, 3]), np.array([1, 2, 3]))], why="a count cannot be negative"),
        raises_value_error("no counts", [(np.array([0, 0, 0]), np.array([1, 2, 3])), (np.array([]), np.array([]))],
                           why="a sample without counts has no distribution"),
        from_scratch(),
    ]
    return [
        *_with_key("js_distance", JS_FORM, groups),
        _on_key("value", _learner_value(JS_ID, payment_counts, lambda d: (d["baseline_counts"], d["production_counts"]),
                                        reference_js_distance, JS_MISTAKES), JS_FORM),
    ]


# --- Normalised Wasserstein distance -------------------------------------------------------------

WASSERSTEIN_ID = "m10.wasserstein_normalised"
WASSERSTEIN_FORM = '{"wasserstein_normalised": wasserstein_normalised, "value": wasserstein_value}'
STD_FLOOR = 0.001


def reference_wasserstein(u, v):
    """Return the first Wasserstein distance of two samples, the area between their empirical CDFs."""
    u = np.sort(np.asarray(u, dtype=float))
    v = np.sort(np.asarray(v, dtype=float))
    points = np.sort(np.concatenate([u, v]))
    u_cdf = np.searchsorted(u, points[:-1], side="right") / u.size
    v_cdf = np.searchsorted(v, points[:-1], side="right") / v.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * np.diff(points)))


def reference_wasserstein_normalised(baseline, production):
    baseline = np.asarray(baseline, dtype=float)
    return reference_wasserstein(baseline, production) / max(float(np.std(baseline, ddof=1)), STD_FLOOR)


def _divided_by(scale):
    def compute(baseline, production):
        return reference_wasserstein(baseline, production) / scale(np.asarray(baseline, float), np.asarray(production, float))

    return compute


WASSERSTEIN_MISTAKES = (
    Mistake("not normalised: divide the Wasserstein distance by the baseline's standard deviation",
            lambda b, p: reference_wasserstein(b, p)),
    Mistake("looks like the difference of means: the Wasserstein distance compares whole distributions, "
            "the area between the two empirical CDFs",
            lambda b, p: abs(np.mean(b) - np.mean(p)) / max(np.std(b, ddof=1), STD_FLOOR)),
    Mistake("divided by the baseline's range (max - min): divide by its standard deviation",
            _divided_by(lambda b, p: b.max() - b.min())),
    Mistake("looks like the population standard deviation (ddof=0): use the sample standard deviation, ddof=1",
            _divided_by(lambda b, p: max(np.std(b), STD_FLOOR))),
    Mistake("divided by the production sample's standard deviation: the baseline sets the scale",
            _divided_by(lambda b, p: max(np.std(p, ddof=1), STD_FLOOR))),
    Mistake("divided by the standard deviation of both samples pooled: use the baseline's alone",
            _divided_by(lambda b, p: max(np.std(np.concatenate([b, p]), ddof=1), STD_FLOOR))),
    Mistake("divided by the variance: divide by the standard deviation",
            _divided_by(lambda b, p: max(np.var(b, ddof=1), STD_FLOOR))),
)

WASSERSTEIN_REFERENCE_CASES = [
    (np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([0.0, 3.0, 3.5, 7.0])),
    ([10.0, 12.0, 9.0, 11.0, 13.0, 10.5], [8.0, 11.0, 15.5, 10.0]),
]


def payload_sizes(seed: int) -> dict[str, np.ndarray]:
    """Generate request payload sizes in KB of a training baseline and of one day of production."""
    rng = np.random.default_rng(seed)
    baseline = rng.normal(rng.uniform(20, 60), rng.uniform(4, 12), int(rng.integers(2000, 5000)))
    shift = rng.uniform(0.0, 0.6) * np.std(baseline)
    production = rng.normal(np.mean(baseline) + shift, np.std(baseline) * rng.uniform(0.8, 1.4), int(rng.integers(500, 2000)))
    return {"baseline": np.round(baseline, 2), "production": np.round(production, 2)}


def _random_wasserstein_cases(seed: int, count: int = 6):
    rng = np.random.default_rng(seed + 7)
    cases = []
    for _ in range(count):
        scale = 10.0 ** rng.uniform(-2, 3)
        b = rng.normal(0, scale, int(rng.integers(2, 300)))
        p = rng.normal(rng.uniform(-1, 1) * scale, scale * rng.uniform(0.5, 2), int(rng.integers(1, 300)))
        cases.append((b, p))
    return cases


def _wasserstein_closed_forms(function: Callable) -> None:
    baseline = np.array([3.0, 7.0, 1.0, 9.0, 4.0, 6.0])
    std = float(np.std(baseline, ddof=1))
    if not np.isclose(function(baseline, baseline.copy()), 0.0, atol=1e-12):
        raise AssertionError("a production sample equal to the baseline must give 0")
    shifted = function(baseline, baseline + 2.5)
    if not np.isclose(shifted, 2.5 / std, rtol=1e-6):
        raise AssertionError(
            "shifting the baseline by 2.5 must give 2.5 / std(baseline, ddof=1): the Wasserstein distance of a "
            "shift is the shift itself"
        )


def _constant_baseline_floor(function: Callable) -> None:
    value = function(np.full(10, 4.0), np.array([4.0, 4.0, 4.5, 5.0]))
    expected = reference_wasserstein_normalised(np.full(10, 4.0), np.array([4.0, 4.0, 4.5, 5.0]))
    if value is None or not np.isfinite(value):
        raise AssertionError(f"a constant baseline gave {value!r}: its standard deviation is 0, so divide by max(std, 0.001)")
    if not np.isclose(value, expected, rtol=1e-6):
        raise AssertionError("with a constant baseline, divide by the floor 0.001: max(std(baseline, ddof=1), 0.001)")


def _wasserstein_groups(seed: int, *, timed: bool) -> list[CaseGroup]:
    groups = [
        matches_reference("reference samples", reference_wasserstein_normalised, _fresh(WASSERSTEIN_REFERENCE_CASES),
                          tolerance=TOLERANCE, mistakes=WASSERSTEIN_MISTAKES),
        matches_reference("generated samples", reference_wasserstein_normalised, lambda: _random_wasserstein_cases(seed),
                          tolerance=TOLERANCE, mistakes=WASSERSTEIN_MISTAKES),
        satisfies("closed forms", _wasserstein_closed_forms),
        satisfies("constant baseline", _constant_baseline_floor),
        raises_value_error("empty sample", [(np.array([]), np.ones(3)), (np.arange(5.0), np.array([]))],
                           why="a distance needs values in both samples"),
        raises_value_error("baseline of one value", [(np.array([2.0]), np.arange(5.0))],
                           why="the sample standard deviation needs at least two values"),
        raises_value_error("NaN value", [(np.array([1.0, np.nan, 3.0]), np.arange(5.0))],
                           why="a NaN has no place in a CDF: count nulls with the data-quality rates instead"),
        from_scratch(),
    ]
    if timed:
        groups.append(_runs_near_reference("vectorised", lambda: [_large_drift_pair(seed, WASSERSTEIN_SIZE)],
                                           reference_wasserstein_normalised))
    return [
        *_with_key("wasserstein_normalised", WASSERSTEIN_FORM, groups),
        _on_key("value", _learner_value(WASSERSTEIN_ID, payload_sizes, _unpack_drift, reference_wasserstein_normalised,
                                        WASSERSTEIN_MISTAKES), WASSERSTEIN_FORM),
    ]


def _exercise(exercise_id: str, title: str, groups: Callable[..., list[CaseGroup]], data: Callable[[int], Any],
              *, timed: bool = True) -> Exercise:
    if timed:
        return Exercise(exercise_id, "math", title, lambda: groups(PUBLIC_SEED, timed=False),
                        lambda *, seed: groups(seed, timed=True), data=data)
    return Exercise(exercise_id, "math", title, lambda: groups(PUBLIC_SEED), lambda *, seed: groups(seed), data=data)


register(_exercise(P95_ID, "p95 latency by nearest rank", _p95_groups, latency_window))
register(_exercise(ERROR_RATE_ID, "Error rate of a window of requests", _error_rate_groups, status_window))
register(_exercise(QUALITY_ID, "Null and out-of-bounds rates", _quality_groups, feature_column))
register(_exercise(PSI_QUANTILE_ID, "PSI with quantile bins", _psi_quantile_groups, basket_values))
register(_exercise(PSI_AZURE_ID, "PSI as Azure ML's monitor computes it", _psi_azure_groups, session_minutes))
register(_exercise(JS_ID, "Jensen-Shannon distance of categorical counts", _js_groups, payment_counts, timed=False))
register(_exercise(WASSERSTEIN_ID, "Normalised Wasserstein distance", _wasserstein_groups, payload_sizes))
