"""Rubrics: the YAML a course author writes to grade a decision exercise.

A rubric is a list of criteria. Each criterion names the answer field it grades, its
points, how a value is compared (``exact``, ``set``, ``order`` or ``number``) and a
one-line reason that teaches. The expected value is either fixed (``expected``) or chosen
from the learner's scenario numbers by ``cases``, each with a ``when`` condition such as
``latency_ms <= 200 and connected``, so the right answer can differ between learners:

.. code-block:: yaml

    criteria:
      - field: target
        points: 2
        cases:
          - when: "not connected"
            expected: edge
            reason: "the site has no network, so the model must run on the device"
          - when: "latency_ms <= 500"
            expected: online
            reason: "a reply within {latency_ms} ms needs an always-on endpoint"
          - expected: batch
            reason: "no latency requirement: score in bulk on a schedule"

Reasons may quote scenario values in braces. Conditions are evaluated by a small
interpreter that allows only comparisons, ``and``/``or``/``not``, arithmetic, ``min``,
``max``, ``abs``, ``round``, scenario names and constants, never arbitrary Python.
"""

from __future__ import annotations

import ast
import operator
from itertools import combinations
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from autograder.checks.core import PartialCredit


class Case(BaseModel):
    """One branch of a scenario-dependent criterion."""

    model_config = ConfigDict(extra="forbid")

    when: str = Field("True", description="Condition over the scenario's values; the first true case applies.")
    expected: Any
    reason: str


class Criterion(BaseModel):
    """One rubric line: the field it grades, its points, the expected value and the reason."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Answer key, or a dotted path such as `produces.deployment`.")
    points: float = Field(gt=0)
    match: Literal["exact", "set", "order", "number"] = "exact"
    tolerance: float = Field(0.0, ge=0, description="Absolute tolerance of a `number` match.")
    expected: Any = None
    reason: str = ""
    cases: list[Case] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source_of_truth(self) -> Criterion:
        if self.cases and (self.expected is not None or self.reason):
            raise ValueError("give either `expected` with `reason`, or `cases`, not both")
        if not self.cases and (self.expected is None or not self.reason):
            raise ValueError("give `expected` and `reason`, or a list of `cases`")
        return self

    def resolve(self, scenario: dict[str, Any]) -> tuple[Any, str]:
        """Return the expected value and the reason that apply to ``scenario``."""
        if not self.cases:
            return self.expected, self.reason.format(**scenario)
        for case in self.cases:
            if evaluate_condition(case.when, scenario):
                return case.expected, case.reason.format(**scenario)
        raise ValueError(f"no case of the criterion on `{self.field}` applies to scenario {scenario}; add a case without `when`")


class Rubric(BaseModel):
    """The criteria that grade one decision exercise."""

    model_config = ConfigDict(extra="forbid")

    criteria: list[Criterion] = Field(min_length=1)

    @property
    def points(self) -> float:
        return sum(c.points for c in self.criteria)


def parse_rubric(text: str) -> Rubric:
    """Parse a rubric written as YAML; raise ``ValueError`` naming the offending key."""
    try:
        return Rubric.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as error:
        raise ValueError(f"invalid rubric YAML: {error}; fix the rubric file") from error


def credit(value: Any, expected: Any, criterion: Criterion) -> float:
    """Return the fraction of a criterion's points that ``value`` earns against ``expected``."""
    if criterion.match == "number":
        try:
            return float(abs(float(value) - float(expected)) <= criterion.tolerance + 1e-12)
        except (TypeError, ValueError):
            return 0.0
    if criterion.match == "set":
        return _jaccard(_as_list(value), _as_list(expected))
    if criterion.match == "order":
        return _pairs_in_order(_as_list(value), _as_list(expected))
    return float(_normalise(value) == _normalise(expected))


def grade_value(value: Any, criterion: Criterion, scenario: dict[str, Any]) -> str:
    """Grade one field value; return the reason on full credit, raise ``PartialCredit`` otherwise."""
    expected, reason = criterion.resolve(scenario)
    earned = credit(value, expected, criterion)
    if earned >= 1.0:
        return reason
    if earned > 0:
        raise PartialCredit(earned, f"partly right ({earned:.0%}): {reason}")
    raise AssertionError(reason)


def _jaccard(value: list, expected: list) -> float:
    got, want = {_normalise(v) for v in value}, {_normalise(v) for v in expected}
    return len(got & want) / len(got | want) if got | want else 1.0


def _pairs_in_order(value: list, expected: list) -> float:
    """Return the fraction of pairs of expected items that ``value`` lists in the expected order."""
    given = [_normalise(v) for v in value]
    wanted = [_normalise(v) for v in expected]
    if given == wanted:
        return 1.0
    pairs = list(combinations(wanted, 2))
    if not pairs:
        return 0.0
    position = {item: index for index, item in enumerate(given)}
    right = sum(1 for first, second in pairs if first in position and second in position and position[first] < position[second])
    return right / len(pairs)


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (list, tuple)):
        return tuple(_normalise(v) for v in value)
    return value


_COMPARISONS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": round}


def evaluate_condition(expression: str, scenario: dict[str, Any]) -> bool:
    """Evaluate a rubric condition such as ``latency_ms <= 200 and connected`` over ``scenario``."""
    try:
        tree = ast.parse(expression, mode="eval")
        return bool(_evaluate(tree.body, scenario))
    except (SyntaxError, TypeError, ValueError) as error:
        raise ValueError(f"invalid rubric condition {expression!r}: {error}; use comparisons, and/or/not and scenario names") from None


def _evaluate(node: ast.AST, scenario: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        if node.id not in scenario:
            raise ValueError(f"unknown scenario name {node.id!r}; known names: {', '.join(sorted(scenario))}")
        return scenario[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(item, scenario) for item in node.elts]
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(v, scenario) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _evaluate(node.operand, scenario)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, scenario)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        return _FUNCTIONS[node.func.id](*(_evaluate(argument, scenario) for argument in node.args))
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        return _ARITHMETIC[type(node.op)](_evaluate(node.left, scenario), _evaluate(node.right, scenario))
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, scenario)
        for op, comparator in zip(node.ops, node.comparators):
            right = _evaluate(comparator, scenario)
            if type(op) not in _COMPARISONS or not _COMPARISONS[type(op)](left, right):
                return False
            left = right
        return True
    raise ValueError(f"{type(node).__name__} is not allowed in a condition")
