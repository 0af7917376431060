"""Module 09 decisions: a champion/challenger promotion gate, a canary schedule with its
rollback trigger, and the MLOps maturity level of six teams.

The champion serves from the deployment ``blue`` and the challenger from ``green``. The
promotion gate and the rollout plan give each learner their own numbers; the rubrics in
``solutions/m09/rubrics/`` apply the rules the notebook states to them.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

# --- Promotion gate ------------------------------------------------------------------------------

GateRule = Literal["offline margin", "canary error rate", "canary p95 latency", "canary sample size"]
HARD_RULES = ("offline margin", "canary error rate", "canary p95 latency")

# Challenger AUC minus champion AUC, in thousandths. The gate requires at least 5, which no gap equals.
PASSING_GAPS = (6, 8, 11, 14, 19, 25, 32)
FAILING_GAPS = (-15, -8, -3, 0, 2, 4)


class PromotionGate(BaseModel):
    """Answer to: which gate rules the challenger passes, the decision, and green's traffic after it."""

    rules: dict[GateRule, Literal["pass", "fail"]] = Field(description="outcome of each gate rule")
    decision: Literal["promote", "keep champion", "extend the canary"]
    green_traffic_pct: int = Field(description="percent of live traffic on green after the decision")


def promotion_scenario(seed: int) -> dict[str, Any]:
    """Generate offline AUCs and canary results, with every rule passing or failing by a clear margin."""
    rng = random.Random(seed)
    outcome = rng.choice(("promote", "promote", "keep champion", "keep champion", "keep champion",
                          "extend the canary", "extend the canary"))
    failing: set[str] = set()
    if outcome == "keep champion":
        failing = set(rng.sample(HARD_RULES, rng.choice((1, 1, 2))))
    small_sample = outcome == "extend the canary" or (outcome == "keep champion" and rng.random() < 0.4)

    champion_auc = rng.randrange(780, 900) / 1000
    gap = rng.choice(FAILING_GAPS if "offline margin" in failing else PASSING_GAPS)
    requests = rng.randrange(2_000, 8_500) if small_sample else rng.randrange(12_000, 60_000)
    # Error rates in percent: at most 0.4 to pass the 0.5 budget, at least 0.6 to fail it.
    error_pct = rng.uniform(0.6, 2.5) if "canary error rate" in failing else rng.uniform(0.0, 0.4)
    return {
        "champion_auc": champion_auc,
        "challenger_auc": round(champion_auc + gap / 1000, 3),
        "canary_pct": rng.choice((5, 10, 20)),
        "canary_requests": requests,
        "canary_errors": round(requests * error_pct / 100),
        "canary_p95_ms": rng.randrange(330, 610, 10) if "canary p95 latency" in failing else rng.randrange(120, 280, 10),
    }


# --- Rollout plan --------------------------------------------------------------------------------

Deployment = Literal["blue", "green"]
Step = Literal["step_1", "step_2", "step_3"]
Signal = Literal[
    "green 5xx error rate",
    "endpoint 5xx error rate",
    "green p95 latency",
    "endpoint p95 latency",
    "green CPU utilisation",
    "green AUC on labelled requests",
]
FIRST_STEP_SHARES = (5, 10, 20, 25)
SUCCESS_TARGETS_PCT = (99.0, 99.5, 99.8, 99.9)
LATENCY_TARGETS_MS = (250, 300, 400, 500)


class RollbackPlan(BaseModel):
    """Answer to: the traffic of each canary step, and the rollback trigger and its traffic."""

    steps: dict[Step, dict[Deployment, int]] = Field(description="percent of live traffic on each deployment at each step")
    rollback_signal: Signal
    rollback_threshold: float = Field(description="in % for an error rate, in ms for a latency")
    rollback_traffic: dict[Deployment, int] = Field(description="percent of live traffic on each deployment after a rollback")


def rollout_scenario(seed: int) -> dict[str, Any]:
    """Generate the endpoint's hourly requests, the evidence each step needs, and the SLO.

    The requests per hour make one share of ``FIRST_STEP_SHARES`` the smallest that reaches
    ``min_step_requests`` in one hour, at least 5 % away from either neighbouring share's limit.
    """
    rng = random.Random(seed)
    min_requests = rng.choice((1_000, 2_000, 3_000))
    index = rng.randrange(len(FIRST_STEP_SHARES))
    lowest = min_requests * 100 / FIRST_STEP_SHARES[index]
    highest = min_requests * 100 / FIRST_STEP_SHARES[index - 1] if index else 3 * lowest
    slo = rng.choice(("success rate", "p95 latency"))
    return {
        "requests_per_hour": int(round(rng.uniform(1.05 * lowest, 0.95 * highest), -2)),
        "min_step_requests": min_requests,
        "slo": slo,
        "slo_target": rng.choice(SUCCESS_TARGETS_PCT if slo == "success rate" else LATENCY_TARGETS_MS),
    }


# --- Maturity ------------------------------------------------------------------------------------

Team = Literal["ledger", "parcel", "harbor", "meadow", "summit", "quarry"]
NextStep = Literal[
    "put the scoring code in Git with a CI pipeline",
    "retrain on a schedule with a pipeline that registers the model",
    "deploy each registered model with a release pipeline, tests and an approval",
    "trigger retraining from drift alerts and promote by policy",
]


class Maturity(BaseModel):
    """Answer to: the MLOps maturity level of each team, and the next step for team harbor."""

    level: dict[Team, Literal[0, 1, 2, 3, 4]] = Field(description="maturity level of each team")
    next_step_for_harbor: NextStep


register(decision_exercise("m09.promotion_gate", "Champion or challenger: the promotion gate", PromotionGate,
                           scenario=promotion_scenario))
register(decision_exercise("m09.rollback_plan", "A canary schedule and its rollback trigger", RollbackPlan,
                           scenario=rollout_scenario))
register(decision_exercise("m09.maturity", "MLOps maturity levels", Maturity))
