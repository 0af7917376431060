"""Module 12 decision: the release decision of the capstone, written up as a structured answer.

Each learner gets their own situation: offline AUCs of the champion and the challenger, the
canary's requests and errors, a drift report, and the open security findings. The rubric in
``solutions/m12/rubrics/`` applies the release policy the notebook states, in its order:
an open high-severity finding, a challenger short of the offline margin or a canary over its
error budget block the release; significant drift or too small a canary sample hold it behind
a flag with more canary; otherwise it ships.
"""

from __future__ import annotations

import random
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

Decision = Literal["release", "release behind a flag with more canary", "do not release"]
BlockingReason = Literal[
    "none",
    "open high-severity security finding",
    "challenger below the offline margin",
    "canary error rate over budget",
    "significant drift since the evaluation data",
    "canary sample too small",
]
# The policy's rules in the order it applies them, named by the blocking reason each gives.
POLICY_ORDER: tuple[str, ...] = get_args(BlockingReason)[1:]
Signal = Literal["green 5xx error rate", "endpoint 5xx error rate", "green CPU utilisation", "green AUC on labelled claims"]
MonitoringSignal = Literal["data drift", "prediction drift", "data quality", "model performance", "CPU utilisation"]

ERROR_BUDGETS_PCT = (0.2, 0.5, 1.0)
PASSING_GAPS = (6, 9, 12, 17, 24)
FAILING_GAPS = (-12, -5, -1, 2, 4)
FEATURES = ("claim_amount", "policy_age_days", "vehicle_age", "region", "repair_shop_type")
HIGH_FINDINGS = (
    "the endpoint accepts key authentication from the public internet",
    "a storage account key is inlined in the scoring script",
    "the scoring image runs a web server with a critical CVE",
)


class ReleaseDecision(BaseModel):
    """Answer to: the release decision, its blocking reason, the rollback trigger and the signals to add."""

    decision: Decision
    blocking_reason: BlockingReason = Field(description="the first policy rule that fails, or none")
    rollback_signal: Signal
    rollback_threshold_pct: float = Field(description="rollback threshold of the signal, in %")
    monitoring_to_add: list[MonitoringSignal] = Field(description="model-monitoring signals to add to the endpoint")


def _fails(rule: str, first_failing: str | None, rng: random.Random) -> bool:
    """Decide whether ``rule`` fails: rules before the first failing one pass, later ones fail at random."""
    if first_failing is None:
        return False
    position, first = POLICY_ORDER.index(rule), POLICY_ORDER.index(first_failing)
    return position == first or (position > first and rng.random() < 0.3)


def release_scenario(seed: int) -> dict[str, Any]:
    """Generate a release situation whose first failing rule is drawn at random, or none."""
    rng = random.Random(seed)
    first_failing = rng.choice((*POLICY_ORDER, None, None))
    fails = {rule: _fails(rule, first_failing, rng) for rule in POLICY_ORDER}

    champion_auc = rng.randrange(760, 880) / 1000
    gap = rng.choice(FAILING_GAPS if fails["challenger below the offline margin"] else PASSING_GAPS)
    budget = rng.choice(ERROR_BUDGETS_PCT)
    requests = rng.randrange(3_000, 8_500) if fails["canary sample too small"] else rng.randrange(12_000, 60_000)
    # Error rates at most 0.8 of the budget to pass, at least 1.2 of it to fail.
    error_pct = budget * (rng.uniform(1.2, 4) if fails["canary error rate over budget"] else rng.uniform(0, 0.8))
    if fails["significant drift since the evaluation data"]:
        psi = rng.uniform(0.27, 0.8)
    else:
        psi = rng.uniform(0.02, 0.09) if rng.random() < 0.5 else rng.uniform(0.11, 0.24)
    high_findings = rng.choice((1, 1, 2)) if fails["open high-severity security finding"] else 0
    return {
        "champion_auc": champion_auc,
        "challenger_auc": round(champion_auc + gap / 1000, 3),
        "canary_requests": requests,
        "canary_errors": round(requests * error_pct / 100),
        "error_budget_pct": budget,
        "max_psi": round(psi, 3),
        "psi_feature": rng.choice(FEATURES),
        "null_pct": round(rng.uniform(2, 12) if rng.random() < 0.4 else rng.uniform(0, 0.8), 1),
        "high_findings": high_findings,
        "high_finding": rng.choice(HIGH_FINDINGS) if high_findings else "none",
        "medium_findings": rng.randrange(0, 4),
    }


register(decision_exercise("m12.release_decision", "The release decision", ReleaseDecision, scenario=release_scenario))
