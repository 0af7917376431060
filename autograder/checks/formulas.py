"""Building blocks of formula checks: a learner's function against a reference.

A formula exercise compares the learner's function with a reference implementation on
fixed vectors, on inputs generated from a seed and on edge cases. When a result is wrong,
the check tries a catalogue of typical mistakes (sum instead of mean, log base 10, no
clipping) and names the one that reproduces the learner's number, without ever showing
the expected value.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from autograder.checks.core import CaseGroup

Inputs = tuple[Any, ...]


@dataclass(frozen=True)
class Mistake:
    """A typical wrong implementation and the sentence that explains it to the learner."""

    explanation: str
    compute: Callable[..., Any]


@dataclass(frozen=True)
class Tolerance:
    """Closeness accepted between the learner's result and the reference."""

    rtol: float = 1e-6
    atol: float = 1e-9

    def describe(self) -> str:
        return f"relative tolerance {self.rtol:g}, absolute tolerance {self.atol:g}"


def matches_reference(
    name: str,
    reference: Callable[..., Any],
    cases: Sequence[Inputs] | Callable[[], Sequence[Inputs]],
    *,
    tolerance: Tolerance = Tolerance(),
    mistakes: Sequence[Mistake] = (),
    hint: str = "",
    weight: float = 1.0,
) -> CaseGroup:
    """Build a group that passes when the learner's function matches ``reference`` on every case.

    ``cases`` is a list of argument tuples, or a function that generates them (so generated
    inputs are drawn only when the group runs).
    """

    def run(function: Callable[..., Any]) -> None:
        _require_callable(function)
        for inputs in cases() if callable(cases) else cases:
            expected = reference(*_copy(inputs))
            actual = function(*_copy(inputs))
            if not _close(actual, expected, tolerance):
                raise AssertionError(_explain_mismatch(actual, inputs, mistakes, tolerance))

    return CaseGroup(name, run, hint, weight)


def value_matches(
    name: str,
    reference: Callable[..., Any],
    inputs: Callable[[], Inputs],
    *,
    tolerance: Tolerance = Tolerance(),
    mistakes: Sequence[Mistake] = (),
    hint: str = "",
    weight: float = 1.0,
) -> CaseGroup:
    """Build a group that passes when the learner's value equals ``reference(*inputs())``.

    For exercises whose answer is a number computed on the learner's own data rather than a
    function: ``inputs`` regenerates that data, and the mistake catalogue works as for
    :func:`matches_reference`.
    """

    def run(value: Any) -> None:
        data = inputs()
        if callable(value):
            raise AssertionError("expected a number, got a function: call your function on the data and pass the result")
        if not _close(value, reference(*_copy(data)), tolerance):
            raise AssertionError(_explain_mismatch(value, data, mistakes, tolerance))

    return CaseGroup(name, run, hint, weight)


def raises_value_error(name: str, cases: Sequence[Inputs], *, why: str, weight: float = 1.0) -> CaseGroup:
    """Build a group that passes when the learner's function raises ``ValueError`` on every case."""

    def run(function: Callable[..., Any]) -> None:
        _require_callable(function)
        for inputs in cases:
            try:
                result = function(*_copy(inputs))
            except ValueError:
                continue
            raise AssertionError(f"expected ValueError because {why}, but your function returned {_kind(result)}")

    return CaseGroup(name, run, "", weight)


def satisfies(name: str, condition: Callable[[Callable[..., Any]], None], *, hint: str = "", weight: float = 1.0) -> CaseGroup:
    """Build a group from a property of the learner's function; ``condition`` raises ``AssertionError``."""

    def run(function: Callable[..., Any]) -> None:
        _require_callable(function)
        condition(function)

    return CaseGroup(name, run, hint, weight)


def runs_within(
    name: str,
    cases: Sequence[Inputs] | Callable[[], Sequence[Inputs]],
    seconds: float,
    *,
    attempts: int = 5,
    weight: float = 1.0,
) -> CaseGroup:
    """Build a group that passes when the learner's function handles large inputs within ``seconds``.

    A loop in pure Python over a million elements took 0.2-0.3 s on a 2-core x86_64 VM, and
    the vectorised numpy expression 5 ms, so a limit of 0.1 s separates the two with margin
    for a loaded machine. A run over the limit but under three times it is repeated, up to
    ``attempts`` runs, and the fastest counts, so a busy grading machine does not fail a
    vectorised answer.
    """

    def run(function: Callable[..., Any]) -> None:
        _require_callable(function)
        for inputs in cases() if callable(cases) else cases:
            elapsed = fastest_run(function, inputs, attempts, seconds)
            if elapsed > seconds:
                size = max((np.size(a) for a in inputs if isinstance(a, np.ndarray)), default=0)
                raise AssertionError(
                    f"took {elapsed:.2f} s on {size:,} elements, limit {seconds:g} s: "
                    "replace Python loops with vectorised numpy operations"
                )

    return CaseGroup(name, run, "", weight)


def fastest_run(function: Callable[..., Any], inputs: Inputs, attempts: int, seconds: float) -> float:
    # A function replayed by the grader reports the time its call took in the learner's
    # kernel; looked up on the type, so a learner's object cannot supply it.
    """Return the fastest of up to ``attempts`` runs of ``function(*inputs)``, in seconds.

    A run under ``seconds`` or over three times it ends the attempts: load does not
    explain a run that slow.
    """
    timed_call = getattr(type(function), "timed_call", None)
    fastest = float("inf")
    for _ in range(max(attempts, 1)):
        if timed_call is not None:
            elapsed = timed_call(function, *inputs)
        else:
            start = time.perf_counter()
            function(*inputs)
            elapsed = time.perf_counter() - start
        fastest = min(fastest, elapsed)
        if fastest <= seconds or fastest > 3 * seconds:
            break
    return fastest


def on_key(key: str, group: CaseGroup) -> CaseGroup:
    """Run ``group`` on ``answer[key]``, for exercises whose answer is a dict of functions."""

    def run(answer: Any) -> Any:
        if not isinstance(answer, dict) or key not in answer:
            raise AssertionError(f"expected a dict with the key {key!r} mapped to your answer")
        return group.run(answer[key])

    return CaseGroup(f"{key}: {group.name}", run, group.hint, group.weight)


def random_regression_cases(seed: int, count: int = 5, size: int = 50) -> list[Inputs]:
    """Draw ``count`` pairs of targets and predictions of varied scale from ``seed``."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        n = int(rng.integers(2, size))
        scale = 10.0 ** rng.uniform(-2, 3)
        y = rng.normal(0, scale, n)
        cases.append((y, y + rng.normal(0, scale / 3, n)))
    return cases


def _require_callable(function: Any) -> None:
    if not callable(function):
        raise AssertionError(f"expected a function, got {_kind(function)}: pass the function itself, without calling it")


def _copy(inputs: Inputs) -> Inputs:
    # A learner's function that modifies its arguments in place must not change the
    # reference's inputs, nor the next case's.
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else copy.deepcopy(a) for a in inputs)


def _close(actual: Any, expected: Any, tolerance: Tolerance) -> bool:
    try:
        actual_array = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        return False
    expected_array = np.asarray(expected, dtype=float)
    if actual_array.shape != expected_array.shape:
        return False
    return bool(np.allclose(actual_array, expected_array, rtol=tolerance.rtol, atol=tolerance.atol, equal_nan=False))


def _explain_mismatch(actual: Any, inputs: Inputs, mistakes: Sequence[Mistake], tolerance: Tolerance) -> str:
    if actual is None:
        # Checked first, because np.asarray(None, dtype=float) is nan and would read as "not finite".
        return f"expected a number or an array of numbers, got {_kind(actual)}"
    try:
        actual_array = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        return f"expected a number or an array of numbers, got {_kind(actual)}"
    if not np.all(np.isfinite(actual_array)):
        return "your result is not finite (inf or nan) on a case where the reference is finite"
    matched = []
    for mistake in mistakes:
        try:
            mistaken = mistake.compute(*_copy(inputs))
        except (ArithmeticError, ValueError, TypeError, IndexError):
            continue
        if _close(actual, mistaken, Tolerance(rtol=1e-6, atol=1e-9)):
            matched.append(mistake.explanation)
    if len(matched) == 1:
        return matched[0]
    if matched:
        # Some inputs cannot tell two mistakes apart. On the MSE reference vectors, the mean
        # absolute error and a division by n - 1 both give 0.5, so naming only one would mislead.
        return "your result fits more than one typical mistake on these inputs: " + " OR ".join(matched)
    return f"your result differs from the reference beyond the {tolerance.describe()} on {_describe(inputs)}"


def _describe(inputs: Inputs) -> str:
    shapes = [f"shape {np.shape(a)}" if isinstance(a, (np.ndarray, list)) else type(a).__name__ for a in inputs]
    return "inputs of " + ", ".join(shapes)


def _kind(value: Any) -> str:
    if value is None:
        return "None (did you forget `return`?)"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return type(value).__name__
