"""Module 06, experiments and tuning: the cutoff of a Bandit early-termination policy and the
runs it cancels at an evaluation interval."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import Inputs, Mistake, Tolerance, matches_reference, raises_value_error, satisfies
from autograder.checks.seeds import learner_seed
from autograder.exercises import Exercise, register, seeded

TOLERANCE = Tolerance(rtol=1e-9, atol=1e-12)
PUBLIC_SEED = 0
GOALS = ("maximize", "minimize")


_GENERIC_MISMATCH = "your result differs from the reference beyond the "


def _compared_exactly(group: CaseGroup, subject: str) -> CaseGroup:
    """Reword the tolerance in ``group``'s message for a mismatch that no typical mistake explains.

    Results compared exactly have no tolerance to speak of, so the message names ``subject``
    (such as "some flags") and the inputs instead.
    """

    def run(answer: Any) -> None:
        try:
            group.run(answer)
        except AssertionError as error:
            message = str(error)
            if not message.startswith(_GENERIC_MISMATCH):
                raise
            inputs = message.split(" on ", 1)[1]
            raise AssertionError(f"{subject} differ from the reference on {inputs}") from None

    return CaseGroup(group.name, run, group.hint, group.weight)


# --- Bandit cutoff ------------------------------------------------------------------------------------
# Azure ML's BanditPolicy cancels a run whose primary metric is not within the slack of the best
# run. With slack_factor s and a metric to maximise, the documented rule keeps a run while
# metric * (1 + s) >= best, so the cutoff is best / (1 + s). With slack_amount a it is best - a.
# The BanditPolicy reference of azureml-train-core gives only the maximise case, so for a metric
# to minimise this course mirrors it: best * (1 + s) and best + a.


def _goal(goal: Any) -> str:
    if not isinstance(goal, str) or goal.lower() not in GOALS:
        raise ValueError(f"invalid goal {goal!r}; expected 'maximize' or 'minimize'")
    return goal.lower()


def reference_bandit_cutoff(best, goal, slack_factor=None, slack_amount=None):
    goal = _goal(goal)
    if (slack_factor is None) == (slack_amount is None):
        raise ValueError("give exactly one of slack_factor and slack_amount")
    if slack_factor is not None:
        if slack_factor < 0:
            raise ValueError(f"invalid slack_factor {slack_factor}; expected 0 or more")
        if best <= 0:
            raise ValueError(f"slack_factor is a ratio, so the best metric must be positive, got {best}")
        return float(best / (1 + slack_factor) if goal == "maximize" else best * (1 + slack_factor))
    if slack_amount < 0:
        raise ValueError(f"invalid slack_amount {slack_amount}; expected 0 or more")
    return float(best - slack_amount if goal == "maximize" else best + slack_amount)


def _cutoff_with(*, maximize_factor=None, minimize_factor=None, maximize_amount=None, minimize_amount=None):
    """Build a mistaken cutoff that replaces one or more of the four rules and keeps the others."""
    rules = {
        ("maximize", "factor"): maximize_factor or (lambda best, s: best / (1 + s)),
        ("minimize", "factor"): minimize_factor or (lambda best, s: best * (1 + s)),
        ("maximize", "amount"): maximize_amount or (lambda best, a: best - a),
        ("minimize", "amount"): minimize_amount or (lambda best, a: best + a),
    }

    def compute(best, goal, slack_factor=None, slack_amount=None):
        kind, slack = ("factor", slack_factor) if slack_factor is not None else ("amount", slack_amount)
        return rules[(goal.lower(), kind)](best, slack)

    return compute


CUTOFF_MISTAKES = (
    Mistake("looks like best * (1 - slack_factor): Bandit keeps a run while metric * (1 + slack_factor) >= best, "
            "so the cutoff is best / (1 + slack_factor)",
            _cutoff_with(maximize_factor=lambda best, s: best * (1 - s), minimize_factor=lambda best, s: best / (1 - s))),
    Mistake("the cutoff is above the best run for a metric to maximise: divide by (1 + slack_factor)",
            _cutoff_with(maximize_factor=lambda best, s: best * (1 + s))),
    Mistake("for a metric to minimise the cutoff lies above the best run: best * (1 + slack_factor)",
            _cutoff_with(minimize_factor=lambda best, s: best / (1 + s))),
    Mistake("for a metric to minimise the cutoff lies above the best run: best * (1 + slack_factor), "
            "not best * (1 - slack_factor)",
            _cutoff_with(minimize_factor=lambda best, s: best * (1 - s))),
    Mistake("for a metric to minimise the cutoff lies above the best run: best + slack_amount",
            _cutoff_with(minimize_amount=lambda best, a: best - a)),
    Mistake("for a metric to maximise the cutoff lies below the best run: best - slack_amount",
            _cutoff_with(maximize_amount=lambda best, a: best + a)),
    Mistake("slack_factor is a ratio, not an amount: divide the best metric by (1 + slack_factor)",
            _cutoff_with(maximize_factor=lambda best, s: best - s, minimize_factor=lambda best, s: best + s)),
    Mistake("slack_amount is an absolute distance, not a ratio: subtract it from the best metric",
            _cutoff_with(maximize_amount=lambda best, a: best / (1 + a), minimize_amount=lambda best, a: best * (1 + a))),
)

CUTOFF_REFERENCE_CASES: list[Inputs] = [
    (0.8, "maximize", 0.2, None),        # AUC 0.8: cutoff 0.8 / 1.2 = 0.6667
    (0.8, "Maximize", None, 0.2),        # 0.6
    (0.25, "minimize", 0.2, None),       # validation loss 0.25: cutoff 0.3
    (0.25, "Minimize", None, 0.05),      # 0.3
]


def _random_cutoff_cases(seed: int, count: int = 12) -> list[Inputs]:
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        goal = GOALS[i % 2]
        best = float(rng.uniform(0.5, 0.99)) if goal == "maximize" else float(10 ** rng.uniform(-2, 1))
        slack = float(rng.uniform(0.01, 0.5))
        cases.append((best, goal.capitalize() if i % 3 == 0 else goal, *((slack, None) if (i // 2) % 2 else (None, slack))))
    return cases


def _cutoff_groups(seed: int) -> list[CaseGroup]:
    return [
        matches_reference("reference values", reference_bandit_cutoff, CUTOFF_REFERENCE_CASES,
                          tolerance=TOLERANCE, mistakes=CUTOFF_MISTAKES),
        matches_reference("generated values", reference_bandit_cutoff, lambda: _random_cutoff_cases(seed),
                          tolerance=TOLERANCE, mistakes=CUTOFF_MISTAKES),
        matches_reference("zero slack", reference_bandit_cutoff,
                          [(0.9, "maximize", 0.0, None), (0.3, "minimize", None, 0.0)], tolerance=TOLERANCE),
        raises_value_error("slack given twice or not at all", [(0.8, "maximize", 0.2, 0.1), (0.8, "maximize", None, None)],
                           why="a Bandit policy takes exactly one of slack_factor and slack_amount"),
        raises_value_error("unknown goal", [(0.8, "max", 0.2, None), (0.8, "ascending", None, 0.1)],
                           why="goal is 'maximize' or 'minimize'"),
        raises_value_error("negative slack", [(0.8, "maximize", -0.1, None), (0.8, "minimize", None, -0.1)],
                           why="a negative slack puts the cutoff beyond the best run, so the policy would cancel every run"),
        raises_value_error("ratio of a non-positive best", [(0.0, "maximize", 0.2, None), (-1.5, "minimize", 0.2, None)],
                           why="slack_factor is a ratio, which needs a positive best metric"),
    ]


# --- Runs to cancel -----------------------------------------------------------------------------------
# metrics contains the primary metric of each run at one evaluation interval, and nan marks a run
# that has not logged it yet. The best run is the best finite value, and the policy cancels a run
# strictly worse than the cutoff (below it to maximise, above it to minimise).


def reference_runs_to_cancel(metrics, goal, slack_factor=None, slack_amount=None):
    metrics = np.asarray(metrics, dtype=float)
    goal = _goal(goal)
    if metrics.ndim != 1:
        raise ValueError(f"metrics must be a 1-D array with one value per run, got shape {metrics.shape}")
    reported = ~np.isnan(metrics)
    if not reported.any():
        # Validate the slack arguments even when there is nothing to compare.
        reference_bandit_cutoff(1.0, goal, slack_factor, slack_amount)
        return np.zeros(metrics.shape, dtype=bool)
    best = np.max(metrics[reported]) if goal == "maximize" else np.min(metrics[reported])
    cutoff = reference_bandit_cutoff(best, goal, slack_factor, slack_amount)
    return reported & (metrics < cutoff if goal == "maximize" else metrics > cutoff)


def _cancel_with(*, cutoff=reference_bandit_cutoff, compare=None, best=None):
    """Build a mistaken policy that replaces the cutoff rule, the comparison or the choice of the best run."""

    def compute(metrics, goal, slack_factor=None, slack_amount=None):
        metrics = np.asarray(metrics, dtype=float)
        reported = ~np.isnan(metrics)
        goal = goal.lower()
        finite = metrics[reported]
        if best is not None:
            chosen = best(finite, goal)
        else:
            chosen = np.max(finite) if goal == "maximize" else np.min(finite)
        limit = cutoff(chosen, goal, slack_factor, slack_amount)
        if compare is not None:
            worse = compare(metrics, limit, goal)
        else:
            worse = metrics < limit if goal == "maximize" else metrics > limit
        return reported & worse

    return compute


CANCEL_MISTAKES = (
    Mistake("a run exactly at the cutoff is cancelled: the policy cancels only runs strictly worse than the cutoff",
            _cancel_with(compare=lambda m, c, goal: m <= c if goal == "maximize" else m >= c)),
    Mistake("the comparison points the wrong way for a metric to minimise: cancel runs above the cutoff",
            _cancel_with(compare=lambda m, c, goal: m < c)),
    Mistake("the best run of a metric to minimise is the lowest value, not the highest",
            _cancel_with(best=lambda finite, goal: np.max(finite))),
    Mistake("the cutoff looks like best * (1 - slack_factor): it is best / (1 + slack_factor) to maximise",
            _cancel_with(cutoff=_cutoff_with(maximize_factor=lambda b, s: b * (1 - s), minimize_factor=lambda b, s: b / (1 - s)))),
    Mistake("for a metric to minimise the cutoff lies above the best run, at best * (1 + slack_factor) or best + slack_amount",
            _cancel_with(cutoff=_cutoff_with(minimize_factor=lambda b, s: b / (1 + s), minimize_amount=lambda b, a: b - a))),
    Mistake("the runs are compared with the median, as the median stopping policy does: Bandit compares with the best run",
            _cancel_with(best=lambda finite, goal: np.median(finite))),
    Mistake("the runs are compared with the mean: Bandit compares with the best run",
            _cancel_with(best=lambda finite, goal: np.mean(finite))),
    Mistake("the result is inverted: True must mark the runs to cancel, not the runs to keep",
            lambda metrics, goal, slack_factor=None, slack_amount=None:
            ~np.isnan(np.asarray(metrics, float)) & ~reference_runs_to_cancel(metrics, goal, slack_factor, slack_amount)),
)

NAN = float("nan")
# Each typical mistake gives its own flags on the first case where it goes wrong, so the
# feedback names one mistake.
CANCEL_REFERENCE_CASES: list[Inputs] = [
    # AUC of seven runs, slack_factor 0.2: best 0.8, cutoff 0.6667, runs 3, 4 and 5 cancelled.
    (np.array([0.80, 0.68, 0.79, 0.57, 0.65, 0.62, 0.69]), "maximize", 0.2, None),
    # RMSE of seven runs, slack_amount 0.5: best 1.25, cutoff 1.75. Run 6 sits on the cutoff and stays.
    (np.array([1.25, 2.25, 3.25, 4.25, 3.75, 4.75, 1.75]), "minimize", None, 0.5),
    # Runs exactly at the cutoff 0.5 = 0.75 / 1.5 and 1.5 = 1.0 * 1.5 stay. The values are
    # binary fractions, so the cutoff is exact in floating point.
    (np.array([0.75, 0.5, 0.4999, 0.6]), "maximize", 0.5, None),
    (np.array([1.0, 1.5, 1.5001, 1.2]), "minimize", 0.5, None),
]


def _random_sweep(rng: np.random.Generator, goal: str) -> Inputs:
    """Draw one sweep on a grid of 1/1024, so that a run can sit exactly on the cutoff.

    Every value is then a short binary fraction, and best - a, best + a and best * (1 + s)
    are exact in floating point however a learner orders the arithmetic. best / (1 + s) is
    not exact when computed as best * (1 / (1 + s)), so a maximise sweep with slack_factor
    gets no run on the cutoff.
    """
    n = int(rng.integers(8, 30))
    # Diverged runs, far worse than the others, pull the mean away from the median, so that a
    # comparison with the mean and one with the median give different flags.
    if goal == "maximize":
        metrics = rng.uniform(0.4, 0.95, n)
        metrics[1:3] = rng.uniform(0.01, 0.05, 2)
    else:
        metrics = rng.uniform(0.2, 2.0, n)
        metrics[1:3] = rng.uniform(5, 20, 2)
    metrics = np.round(metrics * 1024) / 1024
    metrics[rng.permutation(np.arange(3, n))[: int(rng.integers(0, 3))]] = np.nan
    by_factor = bool(rng.random() < 0.5)
    slack_factor = int(rng.integers(4, 26)) / 64 if by_factor else None
    slack_amount = None if by_factor else int(rng.integers(20, 200)) / 1024
    if not (by_factor and goal == "maximize"):
        others = metrics[1:]
        best = np.nanmax(others) if goal == "maximize" else np.nanmin(others)
        metrics[0] = reference_bandit_cutoff(best, goal, slack_factor, slack_amount)
    return metrics, goal, slack_factor, slack_amount


def _random_sweeps(seed: int, count: int = 8) -> list[Inputs]:
    rng = np.random.default_rng(seed)
    # Minimise first: its diverged runs move the mean far from the median, and its run on the
    # cutoff distinguishes inverted flags from a comparison that points the wrong way.
    return [_random_sweep(rng, GOALS[(i + 1) % 2]) for i in range(count)]


def sweep_snapshot(seed: int) -> dict[str, Any]:
    """Generate a learner's sweep: the primary metric of each run at one evaluation interval."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(16, 25))
    if rng.random() < 0.5:
        name, goal, metrics = "val_accuracy", "maximize", rng.normal(0.8, 0.04, n).clip(0.6, 0.97)
    else:
        name, goal, metrics = "val_loss", "minimize", rng.normal(0.4, 0.05, n).clip(0.25, 0.8)
    metrics = np.round(metrics, 3)
    metrics[rng.choice(n, 2, replace=False)] = np.nan
    by_factor = bool(rng.random() < 0.5)
    return {
        "primary_metric": name,
        "goal": goal,
        "metrics": metrics,
        "slack_factor": float(rng.choice([0.1, 0.15, 0.2])) if by_factor else None,
        "slack_amount": None if by_factor else float(rng.choice([0.05, 0.08, 0.1])),
    }


def _learner_sweep() -> list[Inputs]:
    sweep = sweep_snapshot(learner_seed("m06.runs_to_cancel"))
    return [(sweep["metrics"], sweep["goal"], sweep["slack_factor"], sweep["slack_amount"])]


def _one_flag_per_run(function) -> None:
    metrics, goal, slack_factor, slack_amount = CANCEL_REFERENCE_CASES[0]
    result = np.asarray(function(metrics.copy(), goal, slack_factor, slack_amount))
    if result.dtype != bool or result.shape != metrics.shape:
        raise AssertionError(
            f"expected a boolean array of shape {metrics.shape}, one flag per run, got dtype {result.dtype} "
            f"and shape {result.shape}: return True for each run to cancel, not the run indices"
        )


def _cancel_groups(seed: int) -> list[CaseGroup]:
    fixed = CANCEL_REFERENCE_CASES[0][0]
    return [
        _compared_exactly(matches_reference("reference sweeps", reference_runs_to_cancel, CANCEL_REFERENCE_CASES,
                                            tolerance=TOLERANCE, mistakes=CANCEL_MISTAKES), "some flags"),
        _compared_exactly(matches_reference("generated sweeps", reference_runs_to_cancel, lambda: _random_sweeps(seed),
                                            tolerance=TOLERANCE, mistakes=CANCEL_MISTAKES), "some flags"),
        _compared_exactly(matches_reference("your sweep", reference_runs_to_cancel, _learner_sweep,
                                            tolerance=TOLERANCE, mistakes=CANCEL_MISTAKES), "some flags"),
        _compared_exactly(matches_reference("runs without a metric", reference_runs_to_cancel,
                          [(np.array([NAN, 0.9, 0.5, NAN, 0.7]), "maximize", 0.1, None),
                           (np.array([NAN, NAN]), "minimize", 0.1, None),
                           (np.array([0.42]), "maximize", None, 0.05),
                           (np.array([]), "maximize", 0.2, None)],
                          tolerance=TOLERANCE, mistakes=CANCEL_MISTAKES,
                          hint="a run whose metric is nan has not reported yet: it is neither the best run nor cancelled"),
                          "some flags"),
        satisfies("one flag per run", _one_flag_per_run),
        raises_value_error("invalid policy", [(fixed, "maximize", 0.2, 0.1), (fixed, "best", 0.2, None)],
                           why="the policy needs a goal of 'maximize' or 'minimize' and exactly one slack"),
    ]


register(Exercise("m06.bandit_cutoff", "math", "Bandit early-termination cutoff",
                  lambda: _cutoff_groups(PUBLIC_SEED), seeded(_cutoff_groups)))
register(Exercise("m06.runs_to_cancel", "math", "Runs a Bandit policy cancels",
                  lambda: _cancel_groups(PUBLIC_SEED), seeded(_cancel_groups), data=sweep_snapshot))
