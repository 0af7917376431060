"""Module 02, the minimum lifecycle: problem framing, stage order, a stratified split and a
training command job."""

from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import satisfies
from autograder.checks.specs import command_bindings, field_rule, is_entity, passes_schema, to_spec
from autograder.exercises import Exercise, decision_exercise, register, seeded

PUBLIC_SEED = 0

# --- Stratified split ------------------------------------------------------------------------


def _labels(seed: int, count: int = 4) -> list[np.ndarray]:
    """Draw imbalanced label vectors, some with string classes, from ``seed``."""
    rng = np.random.default_rng(seed)
    vectors = []
    for i in range(count):
        n_classes = int(rng.integers(2, 5))
        weights = rng.dirichlet(np.ones(n_classes) * 0.7)
        y = rng.choice(n_classes, size=int(rng.integers(60, 400)), p=weights)
        # Every class needs at least two rows so that both sides of the split can hold it.
        y[: 2 * n_classes] = np.repeat(np.arange(n_classes), 2)
        vectors.append(np.array(["ham", "spam", "promo", "phish"])[y] if i % 2 else y)
    return vectors


def _split(function: Callable, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    result = function(y.copy(), test_size, seed)
    if not isinstance(result, tuple) or len(result) != 2:
        raise AssertionError(f"expected a tuple (train_idx, test_idx), got {type(result).__name__}")
    train, test = (np.asarray(part) for part in result)
    for name, part in (("train_idx", train), ("test_idx", test)):
        if part.ndim != 1 or not np.issubdtype(part.dtype, np.integer):
            raise AssertionError(f"{name} must be a 1-D array of integer row indices, got dtype {part.dtype} and shape {part.shape}")
    return train, test


def _partitions_rows(seed: int):
    def condition(function: Callable) -> None:
        for y in _labels(seed):
            train, test = _split(function, y, 0.25, 7)
            if np.intersect1d(train, test).size:
                raise AssertionError("some rows are in both train_idx and test_idx: that leaks test data into training")
            if len(np.unique(train)) != len(train) or len(np.unique(test)) != len(test):
                raise AssertionError("a row index appears twice on the same side of the split")
            if not np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y))):
                raise AssertionError("together, train_idx and test_idx must hold every row exactly once")

    return condition


def _keeps_class_ratios(seed: int):
    def condition(function: Callable) -> None:
        for y in _labels(seed):
            for test_size in (0.2, 0.3):
                _, test = _split(function, y, test_size, 3)
                for label in np.unique(y):
                    wanted = np.sum(y == label) * test_size
                    if abs(np.sum(y[test] == label) - wanted) > 1:
                        raise AssertionError(
                            f"class {label.item()!r} is not split in the ratio test_size: "
                            "split each class separately, then combine"
                        )

    return condition


def _test_size_respected(seed: int):
    def condition(function: Callable) -> None:
        for y in _labels(seed):
            _, test = _split(function, y, 0.25, 1)
            n_classes = len(np.unique(y))
            if abs(len(test) - 0.25 * len(y)) > n_classes:
                raise AssertionError("the test set does not hold about test_size of the rows")

    return condition


def _reproducible(function: Callable) -> None:
    y = _labels(5, 1)[0]
    first, second = _split(function, y, 0.25, 42), _split(function, y, 0.25, 42)
    if not (np.array_equal(first[1], second[1]) and np.array_equal(first[0], second[0])):
        raise AssertionError("the same seed gave two different splits: draw from np.random.default_rng(seed)")
    other = _split(function, y, 0.25, 43)
    if np.array_equal(np.sort(first[1]), np.sort(other[1])):
        raise AssertionError("a different seed gave the same split: shuffle the rows of each class with the seed")


def _split_groups(seed: int) -> list[CaseGroup]:
    return [
        satisfies("rows in exactly one set", _partitions_rows(seed)),
        satisfies("class ratios kept", _keeps_class_ratios(seed)),
        satisfies("test size", _test_size_respected(seed)),
        satisfies("reproducible with a seed", _reproducible),
    ]


# --- Training command job -----------------------------------------------------------------------


def _bindings_declared(answer: Any) -> None:
    spec = to_spec(answer)
    command = spec.get("command") or ""
    bindings = command_bindings(command)
    if not bindings:
        raise AssertionError("the command uses no ${{inputs.<name>}} or ${{outputs.<name>}}: pass the data and model paths through them")
    for section, name in bindings:
        if name not in (spec.get(section) or {}):
            raise AssertionError(f"the command uses ${{{{{section}.{name}}}}} but the job declares no {section[:-1]} named {name!r}")
    used = {name for _, name in bindings}
    unused = sorted(set(spec.get("inputs") or {}) - used)
    if unused:
        raise AssertionError(f"input(s) {unused} are declared but the command never uses them")


def _training_job_groups() -> list[CaseGroup]:
    return [
        is_entity("command_job"),
        passes_schema("command_job"),
        CaseGroup("command bindings", _bindings_declared),
        field_rule("registered data input", "inputs.training_data.path", lambda v: v == "azureml:taxi-trips:1",
                   "reference the registered Data asset as azureml:<name>:<version>, here version 1 of taxi-trips"),
        field_rule("folder input", "inputs.training_data.type", lambda v: v == "uri_folder",
                   "taxi-trips is a uri_folder asset, so the input type must match"),
        field_rule("model output", "outputs.model.type", lambda v: v == "mlflow_model",
                   "train.py saves an MLflow model, so declare the output as mlflow_model"),
        field_rule("versioned environment", "environment", lambda v: str(v).startswith("azureml:") and str(v).count(":") == 2,
                   "reference the environment as azureml:<name>:<version> so every run uses the same image"),
        field_rule("compute target", "compute", lambda v: str(v).removeprefix("azureml:") == "cpu-cluster",
                   "run on the workspace's compute cluster named cpu-cluster"),
        field_rule("experiment name", "experiment_name", lambda v: v == "taxi-fare",
                   "use the experiment name the exercise gives, so runs of this problem are grouped and comparable"),
    ]


# --- Decisions ------------------------------------------------------------------------------------

TaskType = Literal["regression", "binary classification", "multiclass classification", "clustering", "forecasting"]
Kpi = Literal["mean absolute error in dollars", "accuracy", "ROC AUC", "recall", "silhouette score"]
Constraint = Literal[
    "prediction within 200 ms at booking time",
    "retrain every night on a GPU cluster",
    "explain every prediction to a regulator",
    "no constraint",
]
Stage = Literal["problem framing", "data preparation", "training and validation", "registration and packaging",
                "deployment", "monitoring and iteration"]
Artifact = Literal["Data asset", "command job", "Model asset and Environment", "online endpoint",
                   "monitor schedule", "no Azure ML asset"]


class FramingCard(BaseModel):
    """Answer to: the task type, KPI and binding constraint of the fare-quote scenario."""

    task_type: TaskType
    kpi: Kpi
    constraint: Constraint


class Lifecycle(BaseModel):
    """Answer to: the order of the six lifecycle stages and what each produces in Azure ML."""

    stage_order: list[Stage]
    produces: dict[Stage, Artifact]


register(decision_exercise("m02.framing", "Frame the problem", FramingCard))
register(decision_exercise("m02.lifecycle", "Order the lifecycle stages", Lifecycle))
register(Exercise("m02.stratified_split", "math", "A stratified train/test split",
                  lambda: _split_groups(PUBLIC_SEED), seeded(_split_groups)))
register(Exercise("m02.training_job", "sdk", "A training command job",
                  _training_job_groups, lambda: _training_job_groups()))
