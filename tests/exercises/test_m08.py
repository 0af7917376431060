"""Tests of the module 08 math exercises: the quota of an online deployment and the
parallelism of a batch deployment.

The correct answers and the grading data (``points=``, ``seed=``) come from the solution
notebook: each solution cell is executed, and the keyword values of the ``grade(...)`` call
in the hidden-test cell are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks.core import run_groups
from autograder.exercises import all_exercises, get_exercise
from autograder.exercises.m08 import reference_batch_parallelism, reference_online_quota
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m08" / "capacity.ipynb"
EXERCISE_IDS = ["m08.online_quota", "m08.batch_parallelism"]
QUOTA_SEED = 80149
BATCH_SEED = 80263


@dataclass(frozen=True)
class NotebookExercise:
    """An exercise's solution and grading data, as stored in the solution notebook."""

    answer: Any
    points: float
    grading_data: dict[str, Any]
    cell_points: float


def read_notebook_exercises(path: Path) -> dict[str, NotebookExercise]:
    """Execute the setup and solution cells of ``path`` and parse each hidden-test cell's ``grade`` call."""
    notebook = nbformat.read(path, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    namespace: dict[str, Any] = {}
    exec(cells["setup"].source, namespace)
    exercises = {}
    for grade_id, cell in cells.items():
        if not str(grade_id).endswith("_tests"):
            continue
        exec(cells[grade_id.removesuffix("_tests") + "_solution"].source, namespace)
        call = next(
            node for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grade"
        )
        exercise_id = ast.literal_eval(call.args[0])
        answer = eval(compile(ast.Expression(call.args[1]), str(path), "eval"), namespace)
        keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        points = keywords.pop("points")
        exercises[exercise_id] = NotebookExercise(answer, points, keywords, cell.metadata["nbgrader"]["points"])
    return exercises


@pytest.fixture(scope="module")
def solutions() -> dict[str, NotebookExercise]:
    return read_notebook_exercises(NOTEBOOK)


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


def graded_failures(exercise_id: str, answer: Any, **grading_data: Any) -> dict[str, str]:
    """Run the graded groups as ``grade()`` does and return the message of each failed group."""
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(**grading_data), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_math_exercise(solutions):
    # The module's decision exercises live in another notebook and have their own tests.
    registered = sorted(
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m08.") and exercise.kind == "math"
    )

    assert sorted(solutions) == registered
    assert sorted(EXERCISE_IDS) == registered


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_passes_check(solutions, exercise_id):
    result = check(exercise_id, solutions[exercise_id].answer)

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_gets_full_points(solutions, exercise_id):
    exercise = solutions[exercise_id]

    earned = grade(exercise_id, exercise.answer, points=exercise.points, **exercise.grading_data)

    assert earned == exercise.points


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_grade_points_match_cell(solutions, exercise_id):
    assert solutions[exercise_id].points == solutions[exercise_id].cell_points


# --- Online quota ----------------------------------------------------------------------------------


def quota_from(formula):
    """Build a quota function with the correct input checks whose value is ``formula(instances, cores)``."""

    def online_quota(instance_count, cores_per_vm):
        for value in (instance_count, cores_per_vm):
            if not isinstance(value, int) or value < 1:
                raise ValueError("instance_count and cores_per_vm must be whole numbers of at least 1")
        return formula(instance_count, cores_per_vm)

    return online_quota


NOT_INTEGER = "expected a whole number of cores as an int, got float: quota is requested in cores, so return int(...)"


@pytest.mark.parametrize(
    ("formula", "explanation"),
    [
        (lambda n, cores: n * cores, "the 20 % reserve is missing: Azure ML holds ceil(1.2 x instance_count) VMs for upgrades"),
        (lambda n, cores: math.ceil(1.2 * n * cores),
         "the rounding is applied to cores, not VMs: round 1.2 x instance_count up to whole VMs first, "
         "then multiply by cores_per_vm"),
        (lambda n, cores: math.floor(1.2 * n) * cores,
         "1.2 x instance_count is rounded down or to the nearest VM: round it up with ceil"),
        (lambda n, cores: round(1.2 * n) * cores,
         "1.2 x instance_count is rounded down or to the nearest VM: round it up with ceil"),
        (lambda n, cores: (n + 1) * cores, "the reserve is added as one extra VM: it is 20 % of instance_count, rounded up"),
        (lambda n, cores: math.ceil(0.2 * n) * cores,
         "looks like the reserve alone: the quota covers instance_count plus the 20 % reserve"),
    ],
    ids=["no_reserve", "ceil_per_core", "floor", "round", "one_extra_vm", "reserve_alone"],
)
def test_quota_mistake_named(formula, explanation):
    assert failures("m08.online_quota", quota_from(formula)) == {
        "reference deployments": explanation,
        "generated deployments": explanation,
    }


def test_quota_no_ceil_named():
    explanation = "the VM count is not rounded up: quota comes in whole VMs, so take ceil(1.2 x instance_count)"

    assert failures("m08.online_quota", quota_from(lambda n, cores: 1.2 * n * cores)) == {
        "reference deployments": explanation,
        "generated deployments": explanation,
        "whole number of cores": NOT_INTEGER,
    }


def test_quota_numpy_float_fails_integer_group():
    found = failures("m08.online_quota", quota_from(lambda n, cores: np.ceil(1.2 * n) * cores))

    assert found == {"whole number of cores": NOT_INTEGER.replace("got float", "got float64")}


def test_quota_no_validation_fails_edge_groups():
    def unvalidated(instance_count, cores_per_vm):
        return math.ceil(1.2 * instance_count) * cores_per_vm

    assert failures("m08.online_quota", unvalidated) == {
        "no instances": "expected ValueError because a deployment runs at least one instance, but your function returned int",
        "invalid cores": "expected ValueError because a VM has a whole number of cores, at least 1, "
        "but your function returned int",
    }


def test_quota_mistake_loses_points():
    assert grade("m08.online_quota", quota_from(lambda n, cores: n * cores), points=2, seed=QUOTA_SEED) == 1.2


@pytest.mark.parametrize(
    "formula",
    [
        lambda n, cores: (6 * n + 4) // 5 * cores,
        lambda n, cores: -(-6 * n // 5) * cores,
        lambda n, cores: int(np.ceil(n * 1.2)) * cores,
        lambda n, cores: math.ceil(n * 6 / 5) * cores,
    ],
    ids=["integer_ceil", "negated_floor_division", "numpy_ceil_cast", "six_fifths"],
)
def test_quota_alternative_accepted(formula):
    assert grade("m08.online_quota", quota_from(formula), points=2, seed=QUOTA_SEED) == 2


def test_quota_documented_example():
    assert reference_online_quota(10, 4) == 48


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10_000), st.integers(1, 128))
def test_quota_matches_float_ceil_and_bounds(instances, cores):
    quota = reference_online_quota(instances, cores)

    assert quota == math.ceil(1.2 * instances) * cores
    assert quota % cores == 0
    assert 1.2 * instances * cores <= quota < (1.2 * instances + 1) * cores


# --- Batch parallelism ------------------------------------------------------------------------------


def batch_from(*, mini_batches=None, slots=None, waves=None):
    """Build a batch function with the correct input checks that replaces one or more of its formulas."""

    def batch_parallelism(file_count, mini_batch_size, instance_count, max_concurrency_per_instance):
        if not isinstance(file_count, int) or file_count < 0:
            raise ValueError("file_count must be a whole number of 0 or more")
        for value in (mini_batch_size, instance_count, max_concurrency_per_instance):
            if not isinstance(value, int) or value < 1:
                raise ValueError("settings must be whole numbers of at least 1")
        count = mini_batches(file_count, mini_batch_size) if mini_batches else math.ceil(file_count / mini_batch_size)
        parallel = slots(instance_count, max_concurrency_per_instance) if slots else instance_count * max_concurrency_per_instance
        rounds = waves(count, parallel, file_count) if waves else math.ceil(count / parallel)
        return count, parallel, rounds

    return batch_parallelism


@pytest.mark.parametrize(
    ("wrong", "explanation"),
    [
        (batch_from(mini_batches=lambda files, size: files // size),
         "the mini-batch count is rounded down: the last, smaller mini-batch still runs, so round up"),
        (batch_from(mini_batches=lambda files, size: files // size + 1),
         "the mini-batch count is always one more than files // mini_batch_size: round up instead, "
         "which adds no mini-batch when the files divide evenly"),
        (batch_from(slots=lambda instances, concurrency: instances),
         "the concurrency is missing: each instance runs max_concurrency_per_instance mini-batches at once"),
        (batch_from(slots=lambda instances, concurrency: instances + concurrency),
         "the parallel slots add instances and concurrency: multiply them"),
        (batch_from(waves=lambda count, parallel, files: count // parallel),
         "the number of waves is rounded down: a partly filled last wave still takes a full turn, so round up"),
        (batch_from(waves=lambda count, parallel, files: math.ceil(files / parallel)),
         "the waves count files, not mini-batches: divide the number of mini-batches by the slots"),
        (batch_from(mini_batches=lambda files, size: files * size),
         "the mini-batch count multiplies instead of divides: it is ceil(file_count / mini_batch_size)"),
    ],
    ids=["floor_batches", "plus_one", "no_concurrency", "added_slots", "floor_waves", "waves_of_files", "multiplied"],
)
def test_batch_mistake_named(wrong, explanation):
    found = failures("m08.batch_parallelism", wrong)

    assert found.pop("reference jobs") == explanation
    assert found.pop("generated jobs") == explanation
    assert set(found) <= {"no files"}


def test_batch_plus_one_fails_no_files():
    wrong = batch_from(mini_batches=lambda files, size: files // size + 1)

    assert "no files" in failures("m08.batch_parallelism", wrong)


def test_batch_no_validation_fails_edge_group():
    def unvalidated(file_count, mini_batch_size, instance_count, max_concurrency_per_instance):
        mini_batches = math.ceil(file_count / mini_batch_size)
        slots = instance_count * max_concurrency_per_instance
        return mini_batches, slots, math.ceil(mini_batches / slots)

    assert failures("m08.batch_parallelism", unvalidated) == {
        "invalid settings": "your code raised ZeroDivisionError: division by zero",
    }


def test_batch_dict_answer_named():
    def as_dict(*args):
        mini_batches, slots, waves = reference_batch_parallelism(*args)
        return {"mini_batches": mini_batches, "slots": slots, "waves": waves}

    assert failures("m08.batch_parallelism", as_dict)["reference jobs"] == "expected a number or an array of numbers, got dict"


def test_batch_mistake_loses_points():
    wrong = batch_from(slots=lambda instances, concurrency: instances)

    # Only the invalid-settings group passes: the slots are wrong even with no files.
    assert grade("m08.batch_parallelism", wrong, points=3, seed=BATCH_SEED) == 0.75


@pytest.mark.parametrize(
    "alternative",
    [
        batch_from(mini_batches=lambda files, size: -(-files // size)),
        batch_from(mini_batches=lambda files, size: (files + size - 1) // size,
                   waves=lambda count, parallel, files: (count + parallel - 1) // parallel),
        batch_from(mini_batches=lambda files, size: len(range(0, files, size))),
    ],
    ids=["negated_floor_division", "add_then_floor", "range_length"],
)
def test_batch_alternative_accepted(alternative):
    assert grade("m08.batch_parallelism", alternative, points=3, seed=BATCH_SEED) == 3


def test_batch_documented_example():
    assert reference_batch_parallelism(1000, 10, 4, 2) == (100, 8, 13)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 500), st.integers(1, 50), st.integers(1, 16))
def test_batch_matches_chunking(files, size, instances, concurrency):
    mini_batches, slots, waves = reference_batch_parallelism(files, size, instances, concurrency)
    # Cutting the file list into chunks of `size` files gives exactly the mini-batches.
    chunks = [range(start, min(start + size, files)) for start in range(0, files, size)]

    assert mini_batches == len(chunks)
    assert slots == instances * concurrency
    assert slots * (waves - 1) < mini_batches <= slots * waves or mini_batches == waves == 0


def test_quota_unexplained_mismatch_message():
    found = failures("m08.online_quota", quota_from(lambda n, cores: 7))

    assert found["reference deployments"] == "the core counts differ from the reference on inputs of int, int"


def test_batch_unexplained_mismatch_message():
    found = failures("m08.batch_parallelism", batch_from(waves=lambda count, parallel, files: 1))

    assert found["reference jobs"] == "(mini_batches, slots, waves) differ from the reference on inputs of int, int, int, int"
