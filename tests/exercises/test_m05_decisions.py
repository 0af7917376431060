"""Tests of the module 05 decisions: the order of a job's backend steps, and the job state where
each failure shows.

The answers come from executing the solution notebook's code cells as a given learner, and the
grading data from the rubric files, which must equal the copies in the hidden-test cells.
"""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.authoring import embedded_rubric
from autograder.checks.core import run_groups
from autograder.checks.rubrics import parse_rubric
from autograder.exercises import exercise_data, get_exercise
from autograder.exercises.m05_decisions import CHANGES, INPUT_MODES, job_scenario
from autograder.learner import check, grade

MODULE = Path(__file__).resolve().parents[2] / "solutions" / "m05"
NOTEBOOK = MODULE / "decisions.ipynb"
RUBRICS = {name: (MODULE / "rubrics" / f"{name}.yaml").read_text(encoding="utf-8") for name in ("backend_order", "failure_state")}
POINTS = {"backend_order": 3, "failure_state": 3}
# LEARNER_A's change keeps the cached image, and its input is downloaded. LEARNER_B's change
# rebuilds the image, and its input is mounted.
LEARNER_A, LEARNER_B = "ada", "hal"
COPIED = "all input files are copied to the node's disk before the command starts"
STREAMED = "the script reads files from storage as it opens them"
STEPS_REASON = (
    "the service resolves the spec and builds the image before it asks for nodes. A node pulls the image and gets "
    "the inputs before the command runs. Outputs are uploaded after the command ends, and only then are the nodes "
    "released"
)
STATES = "one of 'rejected at submission', 'NotStarted', 'Starting', 'Preparing', 'Queued', 'Running', 'Finalizing'"


def run_notebook(learner: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute the notebook's code cells, except the check and hidden-test cells, as ``learner``."""
    monkeypatch.setenv("AZML_LEARNER_ID", learner)
    namespace: dict[str, Any] = {}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type == "code" and not grade_id.endswith(("_check", "_tests")):
            with contextlib.redirect_stdout(io.StringIO()):
                exec(cell.source, namespace)
    return namespace


def hidden_cell(name: str) -> nbformat.NotebookNode:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    return next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")


def graded(name: str, answer: Any) -> tuple[float, dict[str, str]]:
    """Grade ``answer`` as the current learner, and return the points and the message of each group not fully passed."""
    exercise_id = f"m05.{name}"
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(rubric=RUBRICS[name]), answer)
    messages = {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}
    return grade(exercise_id, answer, points=POINTS[name], rubric=RUBRICS[name]), messages


@pytest.fixture
def learner_a(monkeypatch):
    return run_notebook(LEARNER_A, monkeypatch)


# --- Notebook and rubric files ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["backend_order", "failure_state"])
def test_rubric_file_matches_hidden_cell(name):
    assert embedded_rubric(hidden_cell(name).source) == RUBRICS[name]


@pytest.mark.parametrize("name", ["backend_order", "failure_state"])
def test_rubric_points_match_cell(name):
    cell = hidden_cell(name)
    call = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "grade")
    points = next(ast.literal_eval(k.value) for k in call.keywords if k.arg == "points")

    assert parse_rubric(RUBRICS[name]).points == points == cell.metadata["nbgrader"]["points"] == POINTS[name]


# --- Backend order: scenario --------------------------------------------------------------------


def test_scenario_values_known():
    for seed in range(200):
        today = job_scenario(seed)
        assert today["change"] in CHANGES, seed
        assert today["input_mode"] in INPUT_MODES, seed


def test_scenario_covers_every_value():
    scenarios = [job_scenario(seed) for seed in range(200)]

    assert {s["change"] for s in scenarios} == set(CHANGES)
    assert {s["input_mode"] for s in scenarios} == set(INPUT_MODES)


def test_learners_get_different_jobs():
    first, second = exercise_data("m05.backend_order", LEARNER_A), exercise_data("m05.backend_order", LEARNER_B)

    assert (CHANGES[first["change"]], first["input_mode"]) == (False, "download")
    assert (CHANGES[second["change"]], second["input_mode"]) == (True, "ro_mount")


# --- Backend order: grading ---------------------------------------------------------------------


@pytest.mark.parametrize("learner", [LEARNER_A, LEARNER_B])
def test_backend_solution_full_marks_per_learner(monkeypatch, learner):
    answer = run_notebook(learner, monkeypatch)["backend_order"]

    assert check("m05.backend_order", answer).passed
    assert graded("backend_order", answer) == (3, {})


def test_backend_solutions_differ_between_learners(monkeypatch):
    first = run_notebook(LEARNER_A, monkeypatch)["backend_order"]
    second = run_notebook(LEARNER_B, monkeypatch)["backend_order"]

    assert (first["image"], first["data_access"]) == ("reuse the cached image", COPIED)
    assert (second["image"], second["data_access"]) == ("build a new image", STREAMED)


def test_backend_reversed_and_wrong_scores_zero(learner_a):
    answer = {
        "steps": list(reversed(learner_a["backend_order"]["steps"])),
        "image": "build a new image",
        "data_access": STREAMED,
    }

    assert graded("backend_order", answer)[0] == 0.0


def test_backend_template_scores_zero(monkeypatch):
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER_A)

    assert graded("backend_order", {"steps": [], "image": None, "data_access": None})[0] == 0.0


def test_backend_compute_before_image(learner_a):
    steps = list(learner_a["backend_order"]["steps"])
    steps[1], steps[2] = steps[2], steps[1]

    # One of the 28 pairs of steps is out of order: 27/28 of 2 points.
    assert graded("backend_order", {**learner_a["backend_order"], "steps": steps}) == (
        2.9286, {"steps (2 pt)": f"partly right (96%): {STEPS_REASON}"},
    )


def test_backend_upload_after_release(learner_a):
    steps = list(learner_a["backend_order"]["steps"])
    steps[-2], steps[-1] = steps[-1], steps[-2]

    assert graded("backend_order", {**learner_a["backend_order"], "steps": steps})[0] == 2.9286


def test_backend_rebuild_for_new_data(learner_a):
    answer = {**learner_a["backend_order"], "image": "build a new image"}

    assert graded("backend_order", answer) == (2.5, {
        "image (0.5 pt)": "the change since the last run is a new version of the training data: the environment "
        "definition is unchanged, so the job reuses the image cached in the workspace's container registry "
        "(code and data are not part of the image)",
    })


def test_backend_mount_for_download_mode(learner_a):
    answer = {**learner_a["backend_order"], "data_access": STREAMED}

    assert graded("backend_order", answer) == (2.5, {
        "data_access (0.5 pt)": "the input mode is download: every input file is copied to the node's local disk "
        "before the command starts, so the script reads at disk speed but waits for the copy",
    })


def test_backend_cached_image_for_new_pin(monkeypatch):
    answer = {**run_notebook(LEARNER_B, monkeypatch)["backend_order"], "image": "reuse the cached image"}

    assert graded("backend_order", answer) == (2.5, {
        "image (0.5 pt)": "the change since the last run is a new scikit-learn pin in the conda file: it changes the "
        "environment definition, so no cached image matches and the job builds a new one while it is Preparing",
    })


def test_backend_missing_step_partial(learner_a):
    steps = [s for s in learner_a["backend_order"]["steps"] if s != "pull the image onto the nodes"]

    # The 7 pairs that hold the missing step earn nothing: 21/28 of 2 points.
    assert graded("backend_order", {**learner_a["backend_order"], "steps": steps})[0] == 2.5


def test_backend_unknown_step_named(learner_a):
    steps = [*learner_a["backend_order"]["steps"], "record lineage"]
    found = {o.group: o.message for o in check("m05.backend_order", {**learner_a["backend_order"], "steps": steps}).outcomes if not o.passed}

    assert list(found) == ["field `steps`"]
    assert found["field `steps`"].startswith("invalid value [")
    assert found["field `steps`"].endswith(
        "`steps` takes a list of one of 'resolve the job spec', 'build the environment image', 'allocate compute nodes', "
        "'pull the image onto the nodes', 'mount or download the inputs', 'run the command and log metrics', "
        "'upload outputs and logs', 'release the compute nodes' "
        "(all eight steps, first to last, for an environment never built before)"
    )


def test_backend_steps_as_string_named(learner_a):
    answer = {**learner_a["backend_order"], "steps": "resolve the job spec, build the environment image"}
    found = graded("backend_order", answer)[1]

    assert found["steps (2 pt)"].startswith(
        "invalid value 'resolve the job spec, build the environment image' for `steps`: Input should be a valid list; "
        "`steps` takes a list of one of 'resolve the job spec', "
    )


def test_backend_missing_field_named(learner_a):
    answer = {key: value for key, value in learner_a["backend_order"].items() if key != "image"}

    assert graded("backend_order", answer) == (2.5, {
        "image (0.5 pt)": "missing key `image`; `image` takes one of 'build a new image', 'reuse the cached image' "
        "(what happens to the image in today's job)",
    })


def test_backend_unknown_field_named(learner_a):
    result = check("m05.backend_order", {**learner_a["backend_order"], "state": "Running"})

    assert result.messages == [
        "answer is a dict of the listed keys: unknown key(s) ['state']; the allowed keys are steps, image, data_access",
    ]


# --- Failure state ------------------------------------------------------------------------------


def test_failure_solution_full_marks(learner_a):
    answer = learner_a["failure_states"]

    assert check("m05.failure_state", answer).passed
    assert graded("failure_state", answer) == (3, {})


def test_failure_everything_running_partial(learner_a):
    answer = dict.fromkeys(learner_a["failure_states"], "Running")

    assert graded("failure_state", answer) == (1.0, {
        "misspelled_key (0.5 pt)": "the CLI and the SDK validate the job YAML against its schema before they send it, "
        "so an unknown key stops the submission and no job exists",
        "missing_package_version (0.5 pt)": "conda and pip install the packages while the environment image is built, "
        "which is the Preparing state",
        "quota_exhausted (0.5 pt)": "the job waits in Queued for nodes the cluster cannot add, because the "
        "subscription has no cores left for that VM family",
        "output_upload (0.5 pt)": "outputs in upload mode are copied to the datastore after the command ends, "
        "in the Finalizing state",
    })


def test_failure_import_in_preparing(learner_a):
    answer = {**learner_a["failure_states"], "missing_import": "Preparing"}

    assert graded("failure_state", answer) == (2.5, {
        "missing_import (0.5 pt)": "the image builds fine because nothing asks for the package, so the import "
        "fails only when the script runs",
    })


def test_failure_nothing_right_scores_zero(learner_a):
    answer = dict.fromkeys(learner_a["failure_states"], "NotStarted")

    assert graded("failure_state", answer)[0] == 0.0


def test_failure_template_scores_zero(learner_a):
    assert graded("failure_state", dict.fromkeys(learner_a["failure_states"]))[0] == 0.0


def test_failure_end_state_named(learner_a):
    answer = {**learner_a["failure_states"], "output_upload": "Failed"}
    found = {o.group: o.message for o in check("m05.failure_state", answer).outcomes if not o.passed}

    assert found == {
        "field `output_upload`": f"invalid value 'Failed' for `output_upload`; `output_upload` takes {STATES}",
    }


def test_failure_wrong_type_named(learner_a):
    answer = {**learner_a["failure_states"], "quota_exhausted": 4}

    assert graded("failure_state", answer)[1] == {
        "quota_exhausted (0.5 pt)": f"invalid value 4 for `quota_exhausted`; `quota_exhausted` takes {STATES}",
    }


def test_failure_missing_field_named(learner_a):
    answer = {key: value for key, value in learner_a["failure_states"].items() if key != "missing_column"}

    assert graded("failure_state", answer) == (2.5, {
        "missing_column (0.5 pt)": f"missing key `missing_column`; `missing_column` takes {STATES}",
    })


def test_failure_unknown_field_named(learner_a):
    result = check("m05.failure_state", {**learner_a["failure_states"], "oom": "Running"})

    assert result.messages == [
        "answer is a dict of the listed keys: unknown key(s) ['oom']; the allowed keys are misspelled_key, "
        "missing_package_version, quota_exhausted, missing_column, missing_import, output_upload",
    ]
