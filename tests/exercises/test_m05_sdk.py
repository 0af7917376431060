"""Tests of the module 05 sdk exercise: a command job with fitting input and output modes.

The correct answer and the grading data (``points=``) come from the solution notebook: its
setup and solution cells are executed, and the keyword values of the ``grade(...)`` call in
the hidden-test cell are read with ``ast.literal_eval``. Every test runs in the notebook's
folder, where ``./src`` and ``./conda.yml`` resolve as they do in the learner's kernel.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from azure.ai.ml import Input, Output, command
from azure.ai.ml.entities import Environment

from autograder.checks.core import run_groups
from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m05" / "sdk.ipynb"
EXERCISE_IDS = ["m05.input_modes"]
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1"
TRAIN_COMMAND = "python train.py --trips ${{inputs.trips}} --zones ${{inputs.zones}} --model ${{outputs.model}}"


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


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


def graded_failures(exercise_id: str, answer: Any, **grading_data: Any) -> dict[str, str]:
    """Run the graded groups as ``grade()`` does and return the message of each failed group."""
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(**grading_data), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


@pytest.fixture(scope="module")
def module_folder():
    """Run the module's tests in the notebook's folder, as the learner's kernel does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(NOTEBOOK.parent)
        yield NOTEBOOK.parent


@pytest.fixture(scope="module")
def solutions(module_folder) -> dict[str, NotebookExercise]:
    return read_notebook_exercises(NOTEBOOK)


def train_job(trips: str | None = "ro_mount", zones: str | None = "download", model: str | None = "rw_mount", **changes: Any):
    fields = {
        "code": "./src",
        "command": TRAIN_COMMAND,
        "inputs": {
            "trips": Input(type="uri_folder", path="azureml:taxi-trips:1", mode=trips),
            "zones": Input(type="uri_file", path="azureml:taxi-zones:1", mode=zones),
        },
        "outputs": {"model": Output(type="mlflow_model", mode=model)},
        "environment": Environment(image=IMAGE, conda_file="./conda.yml"),
        "compute": "cpu-cluster",
        "experiment_name": "taxi-fare",
    }
    return command(**{**fields, **changes})


# --- Solution ------------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(e.id for e in all_exercises().values() if e.id.startswith("m05.") and e.kind == "sdk")

    assert sorted(solutions) == registered
    assert EXERCISE_IDS == registered


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_passes_check(solutions, exercise_id):
    result = check(exercise_id, solutions[exercise_id].answer)

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_gets_full_points(solutions, exercise_id):
    exercise = solutions[exercise_id]

    assert grade(exercise_id, exercise.answer, points=exercise.points, **exercise.grading_data) == exercise.points


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_grade_points_match_cell(solutions, exercise_id):
    assert solutions[exercise_id].points == solutions[exercise_id].cell_points


def test_public_and_graded_groups_agree(solutions):
    exercise = solutions["m05.input_modes"]
    answer = train_job(trips="download")

    assert graded_failures("m05.input_modes", answer, **exercise.grading_data) == failures("m05.input_modes", answer)


# --- Wrong specs -------------------------------------------------------------------------------------


def test_job_variant_passes(module_folder):
    assert check("m05.input_modes", train_job()).passed


def test_downloaded_folder(module_folder):
    assert failures("m05.input_modes", train_job(trips="download")) == {
        "mode of the trips folder": "`inputs.trips.mode` = 'download': download copies the whole 80 GB folder to the "
        "node's disk before train.py starts, although the script reads each file only once; stream a large folder "
        "read once through a read-only mount",
    }


def test_downloaded_folder_points(module_folder):
    # One of nine equally weighted groups fails: 8/9 of 3 points.
    assert grade("m05.input_modes", train_job(trips="download"), points=3) == 2.6667


def test_swapped_modes(module_folder):
    found = failures("m05.input_modes", train_job(trips="download", zones="ro_mount"))

    assert sorted(found) == ["mode of the trips folder", "mode of the zone table"]
    assert found["mode of the zone table"] == (
        "`inputs.zones.mode` = 'ro_mount': through a mount, every read of the zone table goes over the network, "
        "and train.py opens it once per trips file; copy a small file that is read many times to the node's disk once"
    )


def test_swapped_modes_points(module_folder):
    assert grade("m05.input_modes", train_job(trips="download", zones="ro_mount"), points=3) == 2.3333


def test_uploaded_output(module_folder):
    assert failures("m05.input_modes", train_job(model="upload")) == {
        "mode of the model output": "`outputs.model.mode` = 'upload': upload lets train.py write to the node's disk "
        "and copies the files only after the script ends; the exercise asks for a mode that writes straight to "
        "storage while the script runs",
    }


def test_output_mount_alias(module_folder):
    assert failures("m05.input_modes", train_job(model="mount")) == {
        "mode of the model output": "`outputs.model.mode` = 'mount': the Azure ML CLI v2 YAML reference lists "
        "rw_mount, upload and direct as output modes; use its name for the read-write mount",
    }


def test_modes_left_to_defaults(module_folder):
    found = failures("m05.input_modes", train_job(trips=None, zones=None, model=None))

    assert sorted(found) == ["mode of the model output", "mode of the trips folder", "mode of the zone table"]
    assert found["mode of the trips folder"] == (
        "`inputs.trips.mode` is not set: state the mode, so the spec shows how the job accesses the data"
    )


def test_unknown_input_mode(module_folder):
    # azure-ai-ml writes an Input whose mode it does not accept as plain text; the spec
    # check restores the port and reports the mode.
    found = failures("m05.input_modes", train_job(trips="mount"))

    assert sorted(found) == ["Azure ML spec check", "input types and assets", "mode of the trips folder"]
    assert found["Azure ML spec check"].startswith("AML012 inputs.trips.mode: ")
    assert found["mode of the trips folder"].startswith("`inputs.trips` is the plain value ")
    assert found["mode of the trips folder"].endswith(
        "not an input with a type, a path and a mode: declare it with Input(...), and check that its mode is a valid input mode"
    )


def test_input_mode_on_output_rejected(module_folder):
    result = check("m05.input_modes", train_job(model="ro_mount"))

    assert result.score == pytest.approx(1 / 9)
    assert result.messages[0] == (
        "Azure ML spec check: azure-ai-ml cannot turn the CommandJob into a spec: "
        "Value 'ro_mount' passed is not in set ['mount', 'upload', 'rw_mount', 'direct']"
    )


def test_registered_environment(module_folder):
    assert failures("m05.input_modes", train_job(environment="azureml:sklearn-env:1")) == {
        "environment from conda.yml": "`environment` = 'azureml:sklearn-env:1' names a registered environment; "
        "build one in the job from the local conda.yml and a pinned base image, with Environment(image=..., conda_file=...)",
    }


def test_latest_image(module_folder):
    environment = Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest", conda_file="./conda.yml")

    found = failures("m05.input_modes", train_job(environment=environment))

    assert list(found) == ["Azure ML spec check"]
    assert found["Azure ML spec check"].startswith("AML100 environment.image: image ")


def test_conda_only_environment(module_folder):
    assert failures("m05.input_modes", train_job(environment=Environment(conda_file="./conda.yml"))) == {
        "environment from conda.yml": "the environment has no base `image`: conda installs its packages on top of a Docker image",
    }


def test_zone_table_unused(module_folder):
    job = train_job(command="python train.py --trips ${{inputs.trips}} --model ${{outputs.model}}")

    assert failures("m05.input_modes", job) == {
        "command bindings": "the job declares input `zones`, but the command never passes ${{inputs.zones}} "
        "to train.py, so the script cannot find the data",
    }


def test_zone_table_as_folder(module_folder):
    inputs = {
        "trips": Input(type="uri_folder", path="azureml:taxi-trips:1", mode="ro_mount"),
        "zones": Input(type="uri_folder", path="azureml:taxi-zones:1", mode="download"),
    }

    assert failures("m05.input_modes", train_job(inputs=inputs)) == {
        "input types and assets": "`inputs.zones.type` = 'uri_folder': the zone table is a single CSV file, so the input is a uri_file",
    }


def test_script_as_code(module_folder):
    # azure-ai-ml resolves a local code path against the current folder.
    assert failures("m05.input_modes", train_job(code="./src/train.py")) == {
        "code folder": f"`code` = '{module_folder / 'src' / 'train.py'}': upload the folder src next to the notebook, which holds train.py",
    }


def test_yaml_missing_conda_file(module_folder):
    spec = f"""
type: command
code: ./src
command: {TRAIN_COMMAND}
inputs:
  trips: {{type: uri_folder, path: azureml:taxi-trips:1, mode: ro_mount}}
  zones: {{type: uri_file, path: azureml:taxi-zones:1, mode: download}}
outputs:
  model: {{type: mlflow_model, mode: rw_mount}}
environment:
  image: {IMAGE}
  conda_file: ./environment.yml
compute: azureml:cpu-cluster
"""

    found = failures("m05.input_modes", spec)

    assert sorted(found) == ["Azure ML spec check", "azure-ai-ml Command or CommandJob entity", "environment from conda.yml"]
    assert found["Azure ML spec check"].startswith("AML013 environment.conda_file: local file `./environment.yml` not found")


def test_string_answer_rejected(module_folder):
    result = check("m05.input_modes", "ro_mount")

    assert result.score == 0.0
    assert result.messages[0] == (
        "azure-ai-ml Command or CommandJob entity: expected an azure-ai-ml Command or CommandJob object, got str"
    )
