"""Tests of the formula-check building blocks: a learner's function against a reference."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from autograder.checks.core import run_groups
from autograder.checks.formulas import (
    Mistake,
    Tolerance,
    matches_reference,
    raises_value_error,
    random_regression_cases,
    runs_within,
    satisfies,
)

CASES = [(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]))]
GENERIC_MISMATCH = (
    "your result differs from the reference beyond the relative tolerance 1e-06, "
    "absolute tolerance 1e-09 on inputs of shape (3,), shape (3,)"
)
NOT_A_NUMBER = "expected a number or an array of numbers, got {}"
NOT_FINITE = "your result is not finite (inf or nan) on a case where the reference is finite"


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def mean_squared(y, p):
    return float(np.mean((np.asarray(y) - np.asarray(p)) ** 2))


def sum_squared(y, p):
    return float(np.sum((np.asarray(y) - np.asarray(p)) ** 2))


def mean_absolute(y, p):
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(p))))


MISTAKES = (
    Mistake("looks like a sum", sum_squared),
    Mistake("looks like absolute errors", mean_absolute),
)


def mse_group(**options):
    return matches_reference("values", mean_squared, CASES, **options)


# --- matches_reference ------------------------------------------------------------------


def test_matches_reference_accepts_reference():
    mse_group().run(mean_squared)


def test_matches_reference_accepts_equivalent_formula():
    mse_group().run(lambda y, p: float(np.dot(y - p, y - p) / len(y)))


def test_matches_reference_accepts_within_tolerance():
    mse_group(tolerance=Tolerance(rtol=1e-3)).run(lambda y, p: mean_squared(y, p) * (1 + 1e-4))


def test_matches_reference_rejects_beyond_tolerance():
    with pytest.raises(AssertionError, match=exact(GENERIC_MISMATCH)):
        mse_group().run(lambda y, p: mean_squared(y, p) * (1 + 1e-4))


def test_matches_reference_names_mistake():
    with pytest.raises(AssertionError, match=exact("looks like a sum")):
        mse_group(mistakes=MISTAKES).run(sum_squared)


def test_matches_reference_names_later_mistake():
    with pytest.raises(AssertionError, match=exact("looks like absolute errors")):
        mse_group(mistakes=MISTAKES).run(mean_absolute)


def test_matches_reference_unknown_mistake_generic():
    with pytest.raises(AssertionError, match=exact(GENERIC_MISMATCH)):
        mse_group(mistakes=MISTAKES).run(lambda y, p: 42.0)


def test_matches_reference_tied_mistakes_named():
    # Both mistakes compute the same number on these inputs, so neither alone can be named.
    twins = (Mistake("looks like a sum", sum_squared), Mistake("looks like a doubled mean", lambda y, p: 3 * mean_squared(y, p)))
    message = "your result fits more than one typical mistake on these inputs: looks like a sum OR looks like a doubled mean"

    with pytest.raises(AssertionError, match=exact(message)):
        mse_group(mistakes=twins).run(sum_squared)


def test_matches_reference_skips_failing_mistake():
    def broken(y, p):
        raise ZeroDivisionError("division by zero")

    mistakes = (Mistake("never shown", broken), Mistake("looks like a sum", sum_squared))

    with pytest.raises(AssertionError, match=exact("looks like a sum")):
        mse_group(mistakes=mistakes).run(sum_squared)


def test_matches_reference_rejects_non_callable():
    message = "expected a function, got float: pass the function itself, without calling it"

    with pytest.raises(AssertionError, match=exact(message)):
        mse_group().run(0.25)


def test_matches_reference_rejects_none_answer():
    message = "expected a function, got None (did you forget `return`?): pass the function itself, without calling it"

    with pytest.raises(AssertionError, match=exact(message)):
        mse_group().run(None)


def test_matches_reference_none_returned():
    def forgot_return(y, p):
        np.mean((y - p) ** 2)

    with pytest.raises(AssertionError, match=exact(NOT_A_NUMBER.format("None (did you forget `return`?)"))):
        mse_group(mistakes=MISTAKES).run(forgot_return)


def test_matches_reference_string_returned():
    with pytest.raises(AssertionError, match=exact(NOT_A_NUMBER.format("str"))):
        mse_group().run(lambda y, p: "n/a")


def test_matches_reference_nan_returned():
    with pytest.raises(AssertionError, match=exact(NOT_FINITE)):
        mse_group().run(lambda y, p: math.nan)


def test_matches_reference_inf_returned():
    with pytest.raises(AssertionError, match=exact(NOT_FINITE)):
        mse_group().run(lambda y, p: math.inf)


def test_matches_reference_wrong_shape():
    with pytest.raises(AssertionError, match=exact(GENERIC_MISMATCH)):
        mse_group().run(lambda y, p: (y - p) ** 2)


def test_matches_reference_generates_cases_when_run():
    calls = []

    def generate():
        calls.append("drawn")
        return CASES

    group = matches_reference("values", mean_squared, generate)
    assert calls == []

    group.run(mean_squared)
    assert calls == ["drawn"]


def test_matches_reference_checks_every_case():
    second = (np.array([0.0, 0.0, 0.0]), np.array([1.0, 2.0, 3.0]))
    group = matches_reference("values", mean_squared, [*CASES, second], mistakes=MISTAKES)

    def right_on_first_case_only(y, p):
        return mean_squared(y, p) if y[0] == 1.0 else sum_squared(y, p)

    with pytest.raises(AssertionError, match=exact("looks like a sum")):
        group.run(right_on_first_case_only)


def test_mutating_learner_leaves_inputs_unchanged():
    y, p = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0])
    original_y, original_p = y.copy(), p.copy()

    def mutating_mse(y, p):
        y -= p
        y **= 2
        p[:] = 0.0
        return float(np.mean(y))

    # The same arrays in two cases: a mutation during the first would change the second.
    matches_reference("values", mean_squared, [(y, p), (y, p)]).run(mutating_mse)

    assert np.array_equal(y, original_y)
    assert np.array_equal(p, original_p)


def test_tolerance_describe():
    assert Tolerance(rtol=1e-4, atol=0.0).describe() == "relative tolerance 0.0001, absolute tolerance 0"


# --- raises_value_error -------------------------------------------------------------------

SHAPE_CASES = [(np.ones(3), np.ones(4))]


def raise_on_mismatch(y, p):
    if len(y) != len(p):
        raise ValueError("y and p differ in length")
    return mean_squared(y, p)


def test_raises_value_error_passes():
    raises_value_error("shape mismatch", SHAPE_CASES, why="the lengths differ").run(raise_on_mismatch)


def test_raises_value_error_accepts_subclass():
    def raise_subclass(y, p):
        raise UnicodeError("shapes differ")

    raises_value_error("shape mismatch", SHAPE_CASES, why="the lengths differ").run(raise_subclass)


def test_raises_value_error_value_returned():
    message = "expected ValueError because the lengths differ, but your function returned float"

    with pytest.raises(AssertionError, match=exact(message)):
        raises_value_error("shape mismatch", SHAPE_CASES, why="the lengths differ").run(lambda y, p: 1.0)


def test_raises_value_error_none_returned():
    message = "expected ValueError because the lengths differ, but your function returned None (did you forget `return`?)"

    with pytest.raises(AssertionError, match=exact(message)):
        raises_value_error("shape mismatch", SHAPE_CASES, why="the lengths differ").run(lambda y, p: None)


def test_raises_value_error_nan_returned():
    message = "expected ValueError because the lengths differ, but your function returned nan"

    with pytest.raises(AssertionError, match=exact(message)):
        raises_value_error("shape mismatch", SHAPE_CASES, why="the lengths differ").run(lambda y, p: math.nan)


def test_raises_value_error_accepts_numpy_broadcast_error():
    raises_value_error("shape mismatch", SHAPE_CASES, why="the lengths differ").run(lambda y, p: y - p)


def test_raises_value_error_type_error_reported():
    def raise_type_error(y, p):
        raise TypeError("unsupported operand")

    group = raises_value_error("shape mismatch", SHAPE_CASES, why="the lengths differ")

    result = run_groups("ex.demo", [group], raise_type_error)

    assert result.messages == ["shape mismatch: your code raised TypeError: unsupported operand"]


def test_raises_value_error_checks_every_case():
    cases = [*SHAPE_CASES, (np.ones(2), np.ones(5))]

    def raise_on_first_only(y, p):
        if len(y) == 3:
            raise ValueError("first case")
        return 0.0

    with pytest.raises(AssertionError, match="^expected ValueError because"):
        raises_value_error("shape mismatch", cases, why="the lengths differ").run(raise_on_first_only)


# --- satisfies ------------------------------------------------------------------------------


def symmetric(function):
    y = np.array([1.0, 2.0])
    errors = np.array([0.5, -1.0])
    if not np.isclose(function(y, y + errors), function(y, y - errors)):
        raise AssertionError("not symmetric in the error sign")


def test_satisfies_passes():
    satisfies("symmetric", symmetric).run(mean_squared)


def test_satisfies_condition_message():
    with pytest.raises(AssertionError, match=exact("not symmetric in the error sign")):
        satisfies("symmetric", symmetric).run(lambda y, p: float(np.mean(y - p)))


def test_satisfies_hint_in_report():
    group = satisfies("symmetric", symmetric, hint="square the errors")

    result = run_groups("ex.demo", [group], lambda y, p: float(np.mean(y - p)))

    assert result.messages == ["symmetric: not symmetric in the error sign (hint: square the errors)"]


def test_satisfies_rejects_non_callable():
    with pytest.raises(AssertionError, match=exact("expected a function, got dict: pass the function itself, without calling it")):
        satisfies("symmetric", symmetric).run({})


def test_satisfies_keeps_weight():
    assert satisfies("symmetric", symmetric, weight=2.5).weight == 2.5


# --- runs_within ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def million_pair():
    rng = np.random.default_rng(0)
    y = rng.normal(size=1_000_000)
    return y, y + rng.normal(size=1_000_000)


def loop_mse(y, p):
    total = 0.0
    for a, b in zip(y, p):
        total += (a - b) ** 2
    return total / len(y)


def test_runs_within_numpy_passes(million_pair):
    runs_within("vectorised", [million_pair], 0.1).run(mean_squared)


def test_runs_within_python_loop_fails(million_pair):
    message = r"^took \d+\.\d\d s on 1,000,000 elements, limit 0\.1 s: replace Python loops with vectorised numpy operations$"

    with pytest.raises(AssertionError, match=message):
        runs_within("vectorised", [million_pair], 0.1).run(loop_mse)


def test_runs_within_generates_cases(million_pair):
    runs_within("vectorised", lambda: [million_pair], 0.1).run(mean_squared)


def test_runs_within_rejects_non_callable(million_pair):
    with pytest.raises(AssertionError, match="^expected a function, got float"):
        runs_within("vectorised", [million_pair], 0.1).run(1.5)


# --- random_regression_cases ----------------------------------------------------------------


def test_random_regression_cases_reproducible():
    first, second = random_regression_cases(7), random_regression_cases(7)

    for (y1, p1), (y2, p2) in zip(first, second, strict=True):
        assert np.array_equal(y1, y2)
        assert np.array_equal(p1, p2)


def test_random_regression_cases_seed_changes_data():
    assert not np.array_equal(random_regression_cases(7)[0][0], random_regression_cases(8)[0][0])


def test_random_regression_cases_count_and_sizes():
    cases = random_regression_cases(3, count=8, size=10)

    assert len(cases) == 8
    for y, p in cases:
        assert 2 <= len(y) < 10
        assert y.shape == p.shape
