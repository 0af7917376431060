"""Module 06 decisions: pick the best trial of a sweep under a latency and a size budget.

Each learner gets their own table of five trials, and the generator plants the traps a hasty
choice falls into. The trial with the highest AUC breaks at least one budget. The runner-up
breaks the budget that the top trial meets, so a learner who checks one budget only picks a
trial that is not allowed. The rubric's conditions compute the answer from the table itself,
so they stay right for any table.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

TRIALS = ("trial_1", "trial_2", "trial_3", "trial_4", "trial_5")
LATENCY_BUDGETS_MS = (40, 50, 60, 80, 100)
SIZE_BUDGETS_MB = (40, 60, 80, 120)


class BestRun(BaseModel):
    """Answer to: which trial to deploy, and why not the one with the highest AUC."""

    best_run: Literal["trial_1", "trial_2", "trial_3", "trial_4", "trial_5", "none of them"] = Field(
        description="the trial with the highest AUC among those within both budgets"
    )
    top_auc_run_breaks: Literal["the latency budget", "the size budget", "both budgets", "neither budget"] = Field(
        description="which budget the trial with the highest AUC of all breaks"
    )


def _within(rng: np.random.Generator, budget: int, at_budget: bool = False) -> int:
    return budget if at_budget else budget - int(rng.integers(1, budget // 2))


def _over(rng: np.random.Generator, budget: int) -> int:
    return budget + int(rng.integers(5, budget // 2 + 6))


def run_table_scenario(seed: int) -> dict[str, Any]:
    """Generate a learner's sweep: AUC, p95 latency (ms) and model size (MB) of five trials, and the budgets.

    The five roles, from the highest AUC to the lowest, are dealt to the trial ids at random:

    1. the top trial, which breaks one budget or both;
    2. a runner-up that breaks the other budget, or one of them when the top breaks both;
    3. the expected pick, within both budgets and sometimes exactly at one of them;
    4. a trial within both budgets;
    5. a trial that breaks one budget or both.
    """
    rng = np.random.default_rng(seed)
    max_p95_ms = int(rng.choice(LATENCY_BUDGETS_MS))
    max_size_mb = int(rng.choice(SIZE_BUDGETS_MB))
    top_breaks = str(rng.choice(["latency", "size", "both"]))
    runner_up_breaks = {"latency": "size", "size": "latency"}.get(top_breaks) or str(rng.choice(["latency", "size"]))
    low_breaks = str(rng.choice(["latency", "size", "both"]))
    broken = [top_breaks, runner_up_breaks, "neither", "neither", low_breaks]

    aucs = sorted((rng.choice(np.arange(800, 951), size=len(TRIALS), replace=False) / 1000).tolist(), reverse=True)
    pick_at_budget = str(rng.choice(["no", "latency", "size"], p=[0.6, 0.2, 0.2]))
    role_of_trial = rng.permutation(len(TRIALS))
    numbers: dict[str, Any] = {"max_p95_ms": max_p95_ms, "max_size_mb": max_size_mb}
    for trial, role in enumerate(role_of_trial.tolist(), start=1):
        breaks = broken[role]
        is_expected_pick = role == 2
        numbers[f"auc_{trial}"] = aucs[role]
        numbers[f"p95_ms_{trial}"] = (
            _over(rng, max_p95_ms) if breaks in ("latency", "both")
            else _within(rng, max_p95_ms, at_budget=is_expected_pick and pick_at_budget == "latency")
        )
        numbers[f"size_mb_{trial}"] = (
            _over(rng, max_size_mb) if breaks in ("size", "both")
            else _within(rng, max_size_mb, at_budget=is_expected_pick and pick_at_budget == "size")
        )
    return numbers


register(decision_exercise("m06.best_run", "Pick the best run under a budget", BestRun, scenario=run_table_scenario))
