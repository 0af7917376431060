"""Module 08 decisions: the serving pattern of each plant, and the side of each deployment trade-off.

Both exercises give each learner their own numbers, so the right answer differs between
learners. The rules the notebook states and the rubrics apply:

- serving pattern, first rule that applies: the site's link is down part of the day -> edge;
  the latency budget is below the network round trip -> edge; the photos of a day are more
  data than the uplink carries in 24 hours -> edge; a verdict within 1,000 ms -> online;
  otherwise batch;
- trade-offs: latency when a reply is due within 2,000 ms, else throughput; availability
  (three or more instances) for an online service with an SLA of at least 99.9 %, else cost;
  interpretability when each decision must be explained or the complex model gains less than
  0.02 AUC, else accuracy.
"""

from __future__ import annotations

import random
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

# --- Serving pattern -------------------------------------------------------------------------

PLANTS = ("a", "b", "c")
SECONDS_PER_DAY = 86_400

Plant = Literal["plant_a", "plant_b", "plant_c"]
Pattern = Literal["online", "batch", "edge"]
Driver = Literal[
    "site offline part of the day",
    "latency budget below the network round trip",
    "daily data exceeds the uplink",
    "a caller waits for each prediction",
    "results can wait for a scheduled run",
]
DRIVERS: tuple[str, ...] = get_args(Driver)

# Standard link speeds in Mbit/s, and verdict deadlines: interactive ones in milliseconds,
# scheduled ones of 2, 8, 12 and 24 hours.
UPLINKS_MBPS = (2, 5, 10, 20, 50, 100, 200, 500, 1000)
INTERACTIVE_MS = (200, 300, 500, 800, 1000)
SCHEDULED_MS = (7_200_000, 28_800_000, 43_200_000, 86_400_000)


class ServingPattern(BaseModel):
    """Answer to: the serving pattern of each plant, and the rule that decides it."""

    pattern: dict[Plant, Pattern] = Field(description="serving pattern of each plant")
    driver: dict[Plant, Driver] = Field(description="first rule that applies to each plant")


def needed_mbps(photos_per_day: int, photo_kb: int) -> float:
    """Return the uplink, in Mbit/s, that carries a day of photos in 24 hours (1 kB = 8 kbit)."""
    return photos_per_day * photo_kb * 8 / 1000 / SECONDS_PER_DAY


def _uplink(rng: random.Random, photos_per_day: int, photo_kb: int, *, fits: bool) -> int:
    """Draw a link speed at least twice the needed one when ``fits``, at most half of it otherwise."""
    needed = needed_mbps(photos_per_day, photo_kb)
    speeds = [s for s in UPLINKS_MBPS if (s >= 2 * needed if fits else s <= needed / 2)]
    return rng.choice(speeds)


def _plant(rng: random.Random, driver: str) -> dict[str, Any]:
    """Draw one plant's numbers for which ``driver`` is the first rule that applies, and the only one."""
    round_trip = rng.choice((40, 60, 90, 140, 180))
    if driver == "latency budget below the network round trip":
        latency = rng.choice((10, 15, 20, 25, 30))
    elif driver == "a caller waits for each prediction":
        latency = rng.choice([ms for ms in INTERACTIVE_MS if ms >= round_trip + 100])
    elif driver == "results can wait for a scheduled run":
        latency = rng.choice(SCHEDULED_MS)
    else:
        latency = rng.choice([ms for ms in INTERACTIVE_MS if ms >= round_trip + 100] + list(SCHEDULED_MS))

    exceeds = driver == "daily data exceeds the uplink"
    photo_kb = rng.choice((400, 800, 1200) if exceeds else (60, 120, 250, 400, 800))
    photos = rng.randrange(300, 2001) * 1000 if exceeds else rng.randrange(5, 2001) * 1000
    return {
        "latency_ms": latency,
        "round_trip_ms": round_trip,
        "offline_hours": rng.randrange(2, 11) if driver == "site offline part of the day" else 0,
        "photos_per_day": photos,
        "photo_kb": photo_kb,
        "uplink_mbps": _uplink(rng, photos, photo_kb, fits=not exceeds),
    }


def serving_scenario(seed: int) -> dict[str, Any]:
    """Generate three plants whose deciding rules are three different ones of the five."""
    rng = random.Random(seed)
    numbers: dict[str, Any] = {}
    for plant, driver in zip(PLANTS, rng.sample(DRIVERS, len(PLANTS))):
        numbers.update({f"{plant}_{key}": value for key, value in _plant(rng, driver).items()})
    return numbers


# --- Trade-offs --------------------------------------------------------------------------------

Service = Literal["card_checks", "churn_scores", "loan_offers"]

# AUC gains of the boosted model over the scorecard. No gain equals the 0.02 threshold.
AUC_GAINS = (0.004, 0.008, 0.012, 0.015, 0.024, 0.031, 0.045, 0.06)
SLA_PERCENTS = (99.0, 99.5, 99.9, 99.95)


class Tradeoffs(BaseModel):
    """Answer to: the side each service takes on each of the three trade-offs."""

    latency_or_throughput: dict[Service, Literal["latency", "throughput"]]
    cost_or_availability: dict[Service, Literal["cost", "availability"]]
    accuracy_or_interpretability: dict[Service, Literal["accuracy", "interpretability"]]


def tradeoff_scenario(seed: int) -> dict[str, Any]:
    """Generate the reply budgets, SLAs and AUC gains of the three services."""
    rng = random.Random(seed)
    return {
        "card_reply_ms": rng.choice((150, 200, 250, 300)),
        "card_sla_pct": rng.choice(SLA_PERCENTS),
        "card_auc_gain": rng.choice(AUC_GAINS),
        "churn_rows": rng.choice((12_000_000, 30_000_000, 45_000_000)),
        "churn_deadline_hours": rng.choice((6, 8)),
        "churn_auc_gain": rng.choice(AUC_GAINS),
        "loan_reply_ms": rng.choice((800, 1500, 86_400_000)),
        "loan_sla_pct": rng.choice(SLA_PERCENTS),
        "loan_auc_gain": rng.choice(AUC_GAINS),
    }


register(decision_exercise("m08.serving_pattern", "Online, batch or edge for each plant", ServingPattern,
                           scenario=serving_scenario))
register(decision_exercise("m08.tradeoffs", "Pick the side of each deployment trade-off", Tradeoffs,
                           scenario=tradeoff_scenario))
