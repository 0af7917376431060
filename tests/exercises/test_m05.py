"""Tests of the module 05 exercise: the wall-time estimate of a command job.

The correct answer and the grading data (``points=``, ``seed=``) come from the solution
notebook: each solution cell is executed, and the keyword values of the ``grade(...)`` call
in the hidden-test cell are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks.core import run_groups
from autograder.exercises import all_exercises, get_exercise
from autograder.exercises.m05 import reference_job_wall_time
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m05" / "job_timing.ipynb"
EXERCISE_IDS = ["m05.job_wall_time"]
WALL_TIME_SEED = 50131


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
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m05.") and exercise.kind == "math"
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


# --- Job wall time -------------------------------------------------------------------------------


def wall_time_from(*, build=None, data=None, queue=True):
    """Build a wall-time function with the correct input checks whose build or data term is replaced.

    ``build(build_s, cache_hit)`` and ``data(data_gb, mode, download_mb_s, mount_mb_s, read_fraction)``
    return seconds; ``queue=False`` drops the queue wait.
    """

    def correct_data(gb, mode, down, mount, fraction):
        return gb * 1000 / down if mode == "download" else fraction * gb * 1000 / mount

    def job_wall_time(queue_s, build_s, cache_hit, data_gb, mode, download_mb_s, mount_mb_s, run_s, read_fraction=1.0):
        if mode not in ("download", "ro_mount"):
            raise ValueError("mode must be 'download' or 'ro_mount'")
        if min(queue_s, build_s, data_gb, run_s) < 0 or min(download_mb_s, mount_mb_s) <= 0:
            raise ValueError("times and sizes must be 0 or more, throughputs above 0")
        if not 0 <= read_fraction <= 1:
            raise ValueError("read_fraction must be in [0, 1]")
        if build is not None:
            build_term = build(build_s, cache_hit)
        else:
            build_term = 0.0 if cache_hit else build_s
        data_term = (data or correct_data)(data_gb, mode, download_mb_s, mount_mb_s, read_fraction)
        return float((queue_s if queue else 0.0) + build_term + data_term + run_s)

    return job_wall_time


CACHE_HIT = "a cache miss must take exactly build_s longer than a cache hit"


@pytest.mark.parametrize(
    ("wrong", "explanation"),
    [
        (wall_time_from(data=lambda gb, mode, down, mount, f: gb * 1000 / down + (0 if mode == "download" else f * gb * 1000 / mount)),
         "a mounted input is also downloaded: ro_mount copies nothing before the script starts"),
        (wall_time_from(data=lambda gb, mode, down, mount, f: gb * 1000 / down),
         "a mounted input is timed like a download: a mount costs nothing upfront, and the script reads "
         "read_fraction of the data at mount_mb_s"),
        (wall_time_from(data=lambda gb, mode, down, mount, f: gb / down if mode == "download" else f * gb / mount),
         "GB and MB/s are mixed: convert GB to MB (times 1000) before dividing by a throughput in MB/s"),
        (wall_time_from(data=lambda gb, mode, down, mount, f: gb * 1024 / down if mode == "download" else f * gb * 1024 / mount),
         "1 GB is 1000 MB here (decimal units, as storage throughput is quoted), not 1024"),
        (wall_time_from(data=lambda gb, mode, down, mount, f: f * gb * 1000 / (down if mode == "download" else mount)),
         "a download copies the whole input, not only read_fraction of it"),
        (wall_time_from(data=lambda gb, mode, down, mount, f: gb * 1000 / (down if mode == "download" else mount)),
         "a mount reads only read_fraction of the data: scale the mounted read time by it"),
        (wall_time_from(data=lambda gb, mode, down, mount, f: gb * 1000 / mount if mode == "download" else f * gb * 1000 / down),
         "the throughputs are swapped: a download runs at download_mb_s, a mount at mount_mb_s"),
        (wall_time_from(queue=False), "the queue wait is missing: the job waits in the Queued state before it runs"),
    ],
    ids=["mount_also_downloaded", "mount_as_download", "gb_as_mb", "binary_gb", "download_fraction",
         "mount_whole_input", "swapped_throughputs", "no_queue"],
)
def test_wall_time_mistake_named(wrong, explanation):
    found = failures("m05.job_wall_time", wrong)

    assert found.pop("reference jobs") == explanation
    assert found.pop("generated jobs") == explanation
    assert set(found) <= {"no input data"}


def test_wall_time_build_on_cache_hit_named():
    wrong = wall_time_from(build=lambda build_s, hit: build_s)
    explanation = "the image is built although the cache has it: on a cache hit the build takes no time"

    assert failures("m05.job_wall_time", wrong) == {
        "reference jobs": explanation,
        "generated jobs": explanation,
        "cache hit saves the build": CACHE_HIT,
    }


def test_wall_time_no_build_named():
    wrong = wall_time_from(build=lambda build_s, hit: 0.0)
    explanation = "the image build is missing: a cache miss builds the image before the job can run"

    assert failures("m05.job_wall_time", wrong) == {
        "reference jobs": explanation,
        "generated jobs": explanation,
        "cache hit saves the build": CACHE_HIT,
        "no input data": explanation,
    }


def test_wall_time_no_queue_fails_empty_input_too():
    explanation = "the queue wait is missing: the job waits in the Queued state before it runs"

    assert failures("m05.job_wall_time", wall_time_from(queue=False))["no input data"] == explanation


def test_wall_time_no_validation_fails_edge_groups():
    def unvalidated(queue_s, build_s, cache_hit, data_gb, mode, download_mb_s, mount_mb_s, run_s, read_fraction=1.0):
        data = data_gb * 1000 / download_mb_s if mode == "download" else read_fraction * data_gb * 1000 / mount_mb_s
        return queue_s + (0.0 if cache_hit else build_s) + data + run_s

    assert sorted(failures("m05.job_wall_time", unvalidated)) == [
        "negative time or size", "read fraction outside [0, 1]", "unknown mode", "zero throughput",
    ]


def test_wall_time_zero_throughput_message():
    def no_throughput_check(*args):
        if args[4] not in ("download", "ro_mount") or min(args[0], args[1], args[3], args[7]) < 0 or not 0 <= args[8] <= 1:
            raise ValueError("invalid job")
        return reference_job_wall_time(*args[:5], 1.0, 1.0, *args[7:])

    assert failures("m05.job_wall_time", no_throughput_check)["zero throughput"] == (
        "expected ValueError because data cannot move at 0 MB/s, but your function returned float"
    )


def test_wall_time_mistake_loses_points():
    wrong = wall_time_from(data=lambda gb, mode, down, mount, f: gb * 1000 / down)

    assert grade("m05.job_wall_time", wrong, points=3, seed=WALL_TIME_SEED) == 2.25


@pytest.mark.parametrize(
    "alternative",
    [
        wall_time_from(data=lambda gb, mode, down, mount, f: {"download": gb * 1e3 / down, "ro_mount": gb * f * 1e3 / mount}[mode]),
        wall_time_from(build=lambda build_s, hit: build_s * (not hit)),
        wall_time_from(data=lambda gb, mode, down, mount, f: (gb * 1000) * (1 / down if mode == "download" else f / mount)),
    ],
    ids=["dict_of_modes", "bool_arithmetic", "rate_inverse"],
)
def test_wall_time_alternative_accepted(alternative):
    assert grade("m05.job_wall_time", alternative, points=3, seed=WALL_TIME_SEED) == 3


def test_wall_time_integer_inputs_accepted(solutions):
    assert solutions["m05.job_wall_time"].answer(120, 600, False, 20, "download", 200, 50, 900) == 1720.0


# --- Properties of the reference -------------------------------------------------------------------

times = st.floats(0, 1e5)
sizes = st.floats(0, 1e4)
throughputs = st.floats(1, 1e4)
fractions = st.floats(0, 1)


@settings(max_examples=100, deadline=None)
@given(times, times, sizes, throughputs, throughputs, times, fractions)
def test_mount_wins_below_break_even(queue_s, build_s, data_gb, download_mb_s, mount_mb_s, run_s, fraction):
    download = reference_job_wall_time(queue_s, build_s, True, data_gb, "download", download_mb_s, mount_mb_s, run_s, fraction)
    mount = reference_job_wall_time(queue_s, build_s, True, data_gb, "ro_mount", download_mb_s, mount_mb_s, run_s, fraction)
    # Closed form: the mount is faster exactly when fraction < mount_mb_s / download_mb_s.
    difference = data_gb * 1000 * (1 / download_mb_s - fraction / mount_mb_s)

    assert download - mount == pytest.approx(difference, rel=1e-9, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(times, times, sizes, throughputs, throughputs, times, fractions, st.sampled_from(["download", "ro_mount"]))
def test_cache_hit_saves_exactly_the_build(queue_s, build_s, data_gb, download_mb_s, mount_mb_s, run_s, fraction, mode):
    miss = reference_job_wall_time(queue_s, build_s, False, data_gb, mode, download_mb_s, mount_mb_s, run_s, fraction)
    hit = reference_job_wall_time(queue_s, build_s, True, data_gb, mode, download_mb_s, mount_mb_s, run_s, fraction)

    assert miss - hit == pytest.approx(build_s, rel=1e-9, abs=1e-6)
    assert hit >= queue_s + run_s
