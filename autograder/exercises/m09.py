"""Module 09, MLOps and safe rollout: the error budget of a canary deployment and the burn-rate
rule that decides a rollback."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import Inputs, Mistake, Tolerance, matches_reference, raises_value_error
from autograder.checks.seeds import learner_seed
from autograder.exercises import Exercise, register, seeded

TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
PUBLIC_SEED = 0


# --- Canary error budget ------------------------------------------------------------------------------
# Arguments, in this order: slo_percent, canary_percent, requests_per_minute, window_minutes,
# canary_failures and burn_rate_threshold. slo_percent is 99.5 for 99.5 % of requests succeeding.
# canary_percent is the canary deployment's share of endpoint traffic, written as Azure ML's
# endpoint traffic split writes it. requests_per_minute counts the whole endpoint, and
# canary_failures the failed canary requests in the window.
#
#   canary requests  N = requests_per_minute * window_minutes * canary_percent / 100
#   error budget     B = (1 - slo_percent / 100) * N          failed requests the SLO allows
#   burn rate        r = canary_failures / B = error rate / (1 - slo_percent / 100)
#   rollback         r > burn_rate_threshold
#
# The function returns the tuple (B, r, rollback).


def reference_canary_budget(slo_percent, canary_percent, requests_per_minute, window_minutes, canary_failures,
                            burn_rate_threshold):
    if not 0 < slo_percent < 100:
        raise ValueError(f"invalid slo_percent {slo_percent}; expected a percentage strictly between 0 and 100")
    if not 0 < canary_percent <= 100:
        raise ValueError(f"invalid canary_percent {canary_percent}; expected a percentage in (0, 100]")
    if requests_per_minute <= 0 or window_minutes <= 0:
        raise ValueError("requests_per_minute and window_minutes must be greater than 0")
    if canary_failures < 0 or burn_rate_threshold <= 0:
        raise ValueError("canary_failures must be 0 or more and burn_rate_threshold greater than 0")
    canary_requests = requests_per_minute * window_minutes * canary_percent / 100
    if canary_failures > canary_requests:
        raise ValueError(f"{canary_failures} failures exceed the {canary_requests:g} requests the canary served")
    budget = (100 - slo_percent) / 100 * canary_requests
    burn_rate = canary_failures / budget
    return budget, burn_rate, burn_rate > burn_rate_threshold


def _canary_with(*, requests=None, error_fraction=None, burn=None, rollback=None):
    """Build a mistaken result that replaces the request count, the allowed error fraction, the burn rate
    or the rollback comparison."""

    def compute(slo, canary, rate, window, failures, threshold):
        count = requests(rate, window, canary) if requests else rate * window * canary / 100
        allowed = error_fraction(slo) if error_fraction else (100 - slo) / 100
        budget = allowed * count
        burn_rate = burn(failures, budget, count, allowed) if burn else failures / budget
        decision = rollback(burn_rate, threshold) if rollback else burn_rate > threshold
        return budget, burn_rate, decision

    return compute


CANARY_MISTAKES = (
    Mistake("the budget counts every request of the endpoint: only canary_percent of the traffic reaches the canary",
            _canary_with(requests=lambda rate, window, canary: rate * window)),
    Mistake("canary_percent is a percentage: divide it by 100 to get the canary's share of requests",
            _canary_with(requests=lambda rate, window, canary: rate * window * canary)),
    Mistake("slo_percent is a percentage: the allowed error fraction is 1 - slo_percent / 100",
            _canary_with(error_fraction=lambda slo: 1 - slo)),
    Mistake("the budget uses the success rate: the error budget is the failure share the SLO allows, 1 - slo_percent / 100",
            _canary_with(error_fraction=lambda slo: slo / 100)),
    Mistake("the burn rate is inverted: it is the observed error rate divided by the allowed error rate, "
            "so more failures give a higher burn rate",
            _canary_with(burn=lambda failures, budget, count, allowed: budget / failures)),
    Mistake("the burn rate looks like the raw error rate: divide it by the allowed error rate 1 - slo_percent / 100",
            _canary_with(burn=lambda failures, budget, count, allowed: failures / count)),
    Mistake("the burn rate looks like the error rate in percent: divide the error rate by the allowed error rate",
            _canary_with(burn=lambda failures, budget, count, allowed: 100 * failures / count)),
    Mistake("the canary rolls back at exactly the threshold: roll back only when the burn rate is strictly greater",
            _canary_with(rollback=lambda burn_rate, threshold: burn_rate >= threshold)),
    # Strictly below, so that on a burn rate exactly at the threshold only ">=" fits.
    Mistake("the rollback decision is inverted: roll back when the burn rate exceeds the threshold",
            _canary_with(rollback=lambda burn_rate, threshold: burn_rate < threshold)),
)

CANARY_REFERENCE_CASES: list[Inputs] = [
    # 99.5 % SLO, 10 % canary, 1200 requests/min, one hour, 90 failures:
    # 7200 canary requests, budget 36 failures, burn rate 2.5, rollback at threshold 2.
    (99.5, 10, 1200, 60, 90, 2.0),
    # The same canary with 54 failures burns at 1.5: it stays.
    (99.5, 10, 1200, 60, 54, 2.0),
    # A 99.9 % SLO, 5 % canary, 30 min: 2400 canary requests, budget 2.4, no failure.
    (99.9, 5, 1600, 30, 0, 14.4),
    # Exactly at the threshold, with numbers that binary floating point represents exactly: it stays.
    (87.5, 25, 64, 2, 8, 2.0),
]


def _clear_of_threshold(slo, canary, rate, window, failures, threshold) -> float:
    """Move ``failures`` by one when the burn rate lands on the threshold.

    Near the threshold, rounding decides the rollback: 1 - 0.999 and (100 - 99.9) / 100 differ
    in the last bits, so two correct implementations could disagree.
    """
    budget, burn_rate, _ = reference_canary_budget(slo, canary, rate, window, failures, threshold)
    if abs(burn_rate - threshold) <= 1e-6 * threshold:
        return failures + 1 if failures + 1 <= budget / (1 - slo / 100) else failures - 1
    return failures


def _random_canaries(seed: int, count: int = 10) -> list[Inputs]:
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        slo = float(rng.choice([95.0, 99.0, 99.5, 99.9, 99.95]))
        # No 1 % canary: there, forgetting to divide canary_percent by 100 equals counting all traffic.
        canary = int(rng.choice([2, 5, 10, 20, 25, 50]))
        rate = float(rng.uniform(50, 5000))
        window = float(rng.choice([5, 15, 30, 60, 360]))
        requests = rate * window * canary / 100
        budget = (100 - slo) / 100 * requests
        failures = float(min(requests, np.floor(budget * rng.uniform(0, 20))))
        threshold = float(rng.choice([1.0, 2.0, 6.0, 14.4]))
        failures = _clear_of_threshold(slo, canary, rate, window, failures, threshold)
        cases.append((slo, canary, rate, window, failures, threshold))
    return cases


def rollout_snapshot(seed: int) -> dict[str, Any]:
    """Generate a learner's canary rollout: traffic, SLO and the failures seen in one window."""
    rng = np.random.default_rng(seed)
    slo = float(rng.choice([99.0, 99.5, 99.9]))
    canary = int(rng.choice([5, 10, 20]))
    rate = int(rng.integers(400, 3000))
    window = int(rng.choice([30, 60]))
    requests = rate * window * canary / 100
    burn = float(rng.choice([rng.uniform(0.2, 1.8), rng.uniform(2.2, 8.0)]))
    failures = int(round(burn * (100 - slo) / 100 * requests))
    return {
        "slo_percent": slo,
        "canary_percent": canary,
        "requests_per_minute": rate,
        "window_minutes": window,
        "canary_failures": int(_clear_of_threshold(slo, canary, rate, window, failures, 2.0)),
        "burn_rate_threshold": 2.0,
    }


ROLLOUT_KEYS = ("slo_percent", "canary_percent", "requests_per_minute", "window_minutes", "canary_failures",
                "burn_rate_threshold")


def _learner_rollout() -> list[Inputs]:
    rollout = rollout_snapshot(learner_seed("m09.canary_budget"))
    return [tuple(rollout[key] for key in ROLLOUT_KEYS)]


def _canary_groups(seed: int) -> list[CaseGroup]:
    base = CANARY_REFERENCE_CASES[0]
    return [
        matches_reference("reference rollouts", reference_canary_budget, CANARY_REFERENCE_CASES,
                          tolerance=TOLERANCE, mistakes=CANARY_MISTAKES),
        matches_reference("generated rollouts", reference_canary_budget, lambda: _random_canaries(seed),
                          tolerance=TOLERANCE, mistakes=CANARY_MISTAKES),
        matches_reference("your rollout", reference_canary_budget, _learner_rollout,
                          tolerance=TOLERANCE, mistakes=CANARY_MISTAKES),
        matches_reference("all traffic on the canary", reference_canary_budget, [(99.0, 100, 500, 10, 40, 2.0)],
                          tolerance=TOLERANCE, mistakes=CANARY_MISTAKES),
        raises_value_error("SLO outside (0, 100)", [(100.0, *base[1:]), (0.0, *base[1:]), (150.0, *base[1:])],
                           why="an SLO of 100 % leaves no error budget, and one outside [0, 100] is not a percentage"),
        raises_value_error("no canary traffic", [(base[0], 0, *base[2:]), (base[0], 120, *base[2:])],
                           why="canary_percent must be in (0, 100]"),
        raises_value_error("more failures than requests", [(*base[:4], 7201, base[5])],
                           why="the canary cannot fail more requests than it served"),
        raises_value_error("invalid traffic or threshold",
                           [(*base[:2], 0, *base[3:]), (*base[:3], 0, *base[4:]), (*base[:4], -1, base[5]), (*base[:5], 0.0)],
                           why="requests_per_minute, window_minutes and burn_rate_threshold must be greater than 0, "
                               "and canary_failures 0 or more"),
    ]


register(Exercise("m09.canary_budget", "math", "Canary error budget and rollback",
                  lambda: _canary_groups(PUBLIC_SEED), seeded(_canary_groups), data=rollout_snapshot))
