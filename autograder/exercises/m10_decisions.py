"""Module 10 decisions: triage four monitoring incidents as covariate drift, concept drift or a
data-quality bug, and pick the action for each.

Each learner gets their own incidents. The rules the notebook states and the rubric applies:

- PSI level: below 0.10 little, 0.10 to 0.25 moderate, above 0.25 significant;
- kind, first rule that applies: a feature null or out of range in more than 5 % of rows ->
  data-quality bug; PSI of 0.10 or more -> covariate drift; accuracy down by 3 points or
  more -> concept drift;
- action: roll back a data-quality bug that came with our own pipeline release, and fix the
  pipeline for any other data-quality bug. Keep monitoring a moderate covariate drift that
  costs less than 3 points of accuracy, and retrain in every other case.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

INCIDENTS = ("i1", "i2", "i3", "i4")
Incident = Literal["incident_1", "incident_2", "incident_3", "incident_4"]
Kind = Literal["covariate drift", "concept drift", "data-quality bug"]
Action = Literal["retrain", "roll back", "fix the pipeline", "keep monitoring"]
PsiLevel = Literal["little", "moderate", "significant"]

FEATURES = ("basket_value", "customer_age", "delivery_km", "store_region", "session_minutes", "device_type")


class DriftTriage(BaseModel):
    """Answer to: the PSI level, the kind and the action of each incident."""

    psi_level: dict[Incident, PsiLevel] = Field(description="PSI rule of thumb applied to each incident")
    kind: dict[Incident, Kind] = Field(description="kind of each incident")
    action: dict[Incident, Action] = Field(description="action for each incident")


def _rate_pct(rng: random.Random, *, broken: bool) -> float:
    """Draw a null or out-of-range rate in percent: 8 to 100 when broken, below 1 otherwise."""
    if broken:
        return rng.choice((100.0, round(rng.uniform(8, 95), 1)))
    return round(rng.uniform(0, 0.9), 1)


def _incident(rng: random.Random, kind: str) -> dict[str, Any]:
    """Draw the numbers of one incident of ``kind``, each clear of the thresholds of the rules."""
    if kind == "data-quality bug":
        bug = rng.choice(("nulls", "out of range"))
        return {
            "feature": rng.choice(FEATURES),
            "psi": round(rng.uniform(0.12, 0.24) if rng.random() < 0.3 else rng.uniform(0.4, 3.5), 3),
            "accuracy_drop": round(rng.uniform(0, 15), 1),
            "null_pct": _rate_pct(rng, broken=bug == "nulls"),
            "out_of_range_pct": _rate_pct(rng, broken=bug == "out of range"),
            "change": rng.choice(("upstream schema change", "our pipeline release")),
        }
    if kind == "covariate drift":
        psi = rng.uniform(0.11, 0.24) if rng.random() < 0.5 else rng.uniform(0.26, 0.9)
        drop = rng.uniform(0, 2.5) if rng.random() < 0.6 else rng.uniform(3.5, 8)
    else:
        psi, drop = rng.uniform(0.01, 0.09), rng.uniform(3.5, 12)
    return {
        "feature": rng.choice(FEATURES),
        "psi": round(psi, 3),
        "accuracy_drop": round(drop, 1),
        "null_pct": _rate_pct(rng, broken=False),
        "out_of_range_pct": _rate_pct(rng, broken=False),
        "change": "nothing",
    }


def triage_scenario(seed: int) -> dict[str, Any]:
    """Generate four incidents in which each of the three kinds appears at least once."""
    rng = random.Random(seed)
    kinds = ["covariate drift", "concept drift", "data-quality bug"]
    kinds.append(rng.choice(kinds))
    rng.shuffle(kinds)
    numbers: dict[str, Any] = {}
    for incident, kind in zip(INCIDENTS, kinds):
        numbers.update({f"{incident}_{key}": value for key, value in _incident(rng, kind).items()})
    return numbers


register(decision_exercise("m10.drift_triage", "Triage drift incidents", DriftTriage, scenario=triage_scenario))
