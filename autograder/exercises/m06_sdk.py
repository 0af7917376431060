"""Module 06, experiments and tuning: a sweep job over the fare regressor's hyperparameters,
with a search space, a sampling algorithm, an objective, limits and a Bandit policy."""

from __future__ import annotations

import math
import re
from typing import Any

from autograder.checks.core import CaseGroup
from autograder.checks.specs import field_value, passes_spec_check, to_spec
from autograder.exercises import Exercise, register

LEARNING_RATE_RANGE = (0.001, 0.3)
DEPTHS = [4, 6, 8, 10]
MAX_TOTAL_TRIALS = 40
MAX_CONCURRENT_TRIALS = 4
TIMEOUT_S = 2 * 60 * 60
SLACK_FACTOR = 0.1
EVALUATION_INTERVAL = 1
DELAY_EVALUATION = 5

_SWEEP_CLASSES = ("Sweep", "SweepJob")
# In the standalone sweep job, azure-ai-ml rewrites ${{inputs.x}} of a swept input as ${{search_space.x}}.
_SEARCH_SPACE_BINDING = re.compile(r"\$\{\{\s*search_space\.(\w+)\s*\}\}")


def _sweep_spec(answer: Any) -> dict[str, Any]:
    """Return the spec of the standalone sweep job, whose trial command binds ``${{search_space.x}}``."""
    if type(answer).__name__ == "Sweep" and hasattr(answer, "_to_job"):
        # .sweep() returns a pipeline node; `az ml job create` takes the job it stands for.
        answer = answer._to_job()
    return to_spec(answer)


def _is_sweep(answer: Any) -> None:
    # NOTE: is_entity("sweep_job") of autograder.checks.specs lists only the entity classes of
    # modules 01 and 02, so this group checks the class names itself.
    if type(answer).__name__ not in _SWEEP_CLASSES:
        raise AssertionError(
            f"expected the azure-ai-ml Sweep that command(...)(...).sweep(...) returns, or a SweepJob, got {type(answer).__name__}"
        )


def _parameter(spec: dict[str, Any], name: str) -> dict[str, Any]:
    value = field_value(spec, f"search_space.{name}")
    if value is None:
        raise AssertionError(f"`{name}` is not in the search space: pass it to the trial as a sweep distribution")
    if not isinstance(value, dict):
        raise AssertionError(f"`search_space.{name}` = {value!r} is not a distribution such as Choice(...) or Uniform(...)")
    return value


def _learning_rate(answer: Any) -> None:
    space = _parameter(_sweep_spec(answer), "learning_rate")
    low, high = LEARNING_RATE_RANGE
    kind = space.get("type")
    if kind == "uniform":
        raise AssertionError(
            "`learning_rate` is uniform, so about nine in ten draws fall above 0.03 and the small rates are hardly tried; "
            "draw the exponent uniformly instead, with loguniform"
        )
    if kind != "loguniform":
        raise AssertionError(f"`search_space.learning_rate.type` = {kind!r}: search a rate that spans orders of magnitude on a log scale")
    start, stop = space.get("min_value"), space.get("max_value")
    if not all(isinstance(bound, (int, float)) for bound in (start, stop)):
        raise AssertionError("`learning_rate` needs numeric min_value and max_value")
    if math.isclose(start, low) and math.isclose(stop, high):
        raise AssertionError(
            "loguniform takes natural-log exponents and draws exp(uniform(min_value, max_value)), so these bounds "
            f"draw rates from {math.exp(start):.3g} to {math.exp(stop):.3g}; pass math.log of each bound"
        )
    if math.isclose(start, math.log10(low), abs_tol=0.01) and math.isclose(stop, math.log10(high), abs_tol=0.01):
        raise AssertionError("these are base-10 exponents; loguniform uses natural logarithms, math.log")
    if not (math.isclose(start, math.log(low), abs_tol=0.01) and math.isclose(stop, math.log(high), abs_tol=0.01)):
        raise AssertionError(
            f"these bounds draw learning rates from {math.exp(start):.3g} to {math.exp(stop):.3g}, "
            f"not from {low} to {high}"
        )


def _depths(answer: Any) -> None:
    space = _parameter(_sweep_spec(answer), "max_depth")
    if space.get("type") != "choice":
        raise AssertionError(f"`search_space.max_depth.type` = {space.get('type')!r}: the exercise lists the depths to try, so choose among them")
    values = space.get("values")
    if not isinstance(values, list) or sorted(values) != DEPTHS:
        raise AssertionError(f"`search_space.max_depth.values` = {values!r}: try exactly the depths the exercise lists")


def _l2_penalty(answer: Any) -> None:
    space = _parameter(_sweep_spec(answer), "l2_regularization")
    if space.get("type") != "uniform":
        raise AssertionError(f"`search_space.l2_regularization.type` = {space.get('type')!r}: draw the penalty evenly over its range")
    if (space.get("min_value"), space.get("max_value")) != (0, 1):
        raise AssertionError(
            f"`l2_regularization` runs from {space.get('min_value')!r} to {space.get('max_value')!r}; use the range the exercise gives"
        )


def _search_space_bound(answer: Any) -> None:
    spec = _sweep_spec(answer)
    command = field_value(spec, "trial.command")
    bound = set(_SEARCH_SPACE_BINDING.findall(command if isinstance(command, str) else ""))
    for name in spec.get("search_space") or {}:
        if name not in bound:
            raise AssertionError(
                f"the trial command never passes `{name}` to train.py, so every trial trains with the same value: "
                f"bind it as ${{{{inputs.{name}}}}} in the command() of the trial, or as ${{{{search_space.{name}}}}} in YAML"
            )


def _sampling(answer: Any) -> None:
    algorithm = _sweep_spec(answer).get("sampling_algorithm")
    name = algorithm.get("type") if isinstance(algorithm, dict) else algorithm
    if name is None:
        raise AssertionError("`sampling_algorithm` is not set")
    if name == "grid":
        raise AssertionError("grid sampling takes only choice parameters, but the learning rate and the L2 penalty are continuous")
    if name == "bayesian":
        raise AssertionError("Bayesian sampling supports no early-termination policy, and this sweep needs a Bandit policy")
    if name != "random":
        raise AssertionError(f"`sampling_algorithm` = {name!r}: use a sampling algorithm that draws continuous values and allows early termination")


def _objective(answer: Any) -> None:
    spec = _sweep_spec(answer)
    metric, goal = field_value(spec, "objective.primary_metric"), field_value(spec, "objective.goal")
    if metric != "val_rmse":
        raise AssertionError(
            f"`objective.primary_metric` = {metric!r}: the sweep ranks trials by a metric that train.py logs, "
            "and the script logs the validation RMSE as val_rmse"
        )
    if str(goal).lower() != "minimize":
        raise AssertionError(f"`objective.goal` = {goal!r}: a lower RMSE is a better model")


def _limits(answer: Any) -> None:
    limits = _sweep_spec(answer).get("limits") or {}
    total, concurrent, timeout = (limits.get(key) for key in ("max_total_trials", "max_concurrent_trials", "timeout"))
    if total != MAX_TOTAL_TRIALS:
        raise AssertionError(f"`limits.max_total_trials` = {total!r}: the budget is the number of trials the exercise gives")
    if concurrent != MAX_CONCURRENT_TRIALS:
        raise AssertionError(
            f"`limits.max_concurrent_trials` = {concurrent!r}: run as many trials at once as cpu-cluster has nodes"
        )
    if timeout == TIMEOUT_S / 60:
        raise AssertionError(f"`limits.timeout` = {timeout!r}: the timeout is in seconds, so this stops the sweep after two minutes")
    if timeout != TIMEOUT_S:
        raise AssertionError(f"`limits.timeout` = {timeout!r}: stop the whole sweep after the time the exercise gives, in seconds")


def _bandit(answer: Any) -> None:
    policy = _sweep_spec(answer).get("early_termination")
    if not isinstance(policy, dict):
        raise AssertionError("`early_termination` is not set, so every trial runs to the end however badly it does")
    if policy.get("type") != "bandit":
        raise AssertionError(
            f"`early_termination.type` = {policy.get('type')!r}: use a BanditPolicy, which compares each trial with the best one so far"
        )
    if policy.get("slack_amount"):
        raise AssertionError("slack_amount is an absolute distance in RMSE units; the exercise gives the slack as a ratio, slack_factor")
    checks = (("slack_factor", SLACK_FACTOR, "the allowed ratio to the best trial"),
              ("evaluation_interval", EVALUATION_INTERVAL, "how often, in logged values, the policy runs"),
              ("delay_evaluation", DELAY_EVALUATION, "how many logged values the policy waits before its first check"))
    for key, expected, meaning in checks:
        if policy.get(key) != expected:
            raise AssertionError(f"`early_termination.{key}` = {policy.get(key)!r}: it sets {meaning}; use the value the exercise gives")


def _sweep_groups() -> list[CaseGroup]:
    return [
        CaseGroup("azure-ai-ml Sweep or SweepJob entity", _is_sweep),
        passes_spec_check("sweep_job"),
        CaseGroup("learning rate on a log scale", _learning_rate),
        CaseGroup("depths from a list", _depths),
        CaseGroup("range of the L2 penalty", _l2_penalty),
        CaseGroup("search space bound in the command", _search_space_bound),
        CaseGroup("sampling algorithm", _sampling),
        CaseGroup("primary metric and goal", _objective),
        CaseGroup("limits", _limits),
        CaseGroup("Bandit policy", _bandit),
    ]


register(Exercise("m06.sweep_job", "sdk", "A sweep job with a Bandit policy", _sweep_groups, lambda: _sweep_groups()))
