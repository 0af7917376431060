"""Module 04 decisions: choose an evaluation metric from what each kind of error costs.

Three of the scenarios give each learner their own costs of a false negative and a false
positive, so the right metric differs between learners. The rule the notebook states and
the rubric applies: recall when a false negative costs at least 3 times a false positive,
precision when a false positive costs at least 3 times a false negative, F1 in between.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

Metric = Literal["accuracy", "precision", "recall", "F1", "ROC AUC", "Brier score", "RMSE"]

# Range of the smaller of the two costs, in whole dollars, for each scenario with costs.
COST_RANGES = {"fraud": (10, 40), "invoice": (20, 80), "pump": (200, 900)}


class MetricChoice(BaseModel):
    """Answer to: which metric to report for each scenario."""

    fraud_alerts: Metric = Field(description="metric for the card-fraud alerts")
    invoice_quarantine: Metric = Field(description="metric for the mail quarantine")
    pump_maintenance: Metric = Field(description="metric for the pump-failure alerts")
    cancer_screening: Metric = Field(description="metric for the screening model")
    call_list: Metric = Field(description="metric for the weekly call list")
    premium_pricing: Metric = Field(description="metric for the insurance premium model")


def _costs(rng: np.random.Generator, metric: str, low: int, high: int) -> tuple[int, int]:
    """Draw (false-negative cost, false-positive cost) in dollars for which ``metric`` is right.

    The ratios stay clear of the thresholds 3 and 1/3: at least 4 for recall and precision,
    and about 0.6 to 1.6 for F1 (the cost is rounded to whole dollars).
    """
    smaller = int(rng.integers(low, high + 1))
    if metric == "recall":
        return smaller * int(rng.integers(4, 21)), smaller
    if metric == "precision":
        return smaller, smaller * int(rng.integers(4, 21))
    return max(1, round(smaller * float(rng.uniform(0.6, 1.6)))), smaller


def metric_scenario(seed: int) -> dict[str, Any]:
    """Generate a learner's costs: each of recall, precision and F1 is right for one scenario."""
    rng = np.random.default_rng(seed)
    metrics = rng.permutation(["recall", "precision", "F1"])
    numbers: dict[str, Any] = {}
    for (name, (low, high)), metric in zip(COST_RANGES.items(), metrics):
        false_negative, false_positive = _costs(rng, str(metric), low, high)
        numbers[f"{name}_fn_cost"] = false_negative
        numbers[f"{name}_fp_cost"] = false_positive
    return numbers


register(decision_exercise("m04.metric_choice", "Choose a metric from a cost statement", MetricChoice,
                           scenario=metric_scenario))
