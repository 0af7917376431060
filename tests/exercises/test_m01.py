"""Tests of the module 01 exercises: Data, Environment and Model entities, asset types, planes.

The correct answers and the grading data (``points=``, ``rubric=``) come from the solution
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
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data, Environment, Model

from autograder.checks.core import run_groups
from autograder.checks.decisions import parse_rubric
from autograder.checks.specs import to_spec
from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m01" / "building_blocks.ipynb"
EXERCISE_IDS = ["m01.data_asset", "m01.environment", "m01.model_asset", "m01.asset_types", "m01.planes"]
DECISION_IDS = ["m01.asset_types", "m01.planes"]
DATASTORE_PATH = "azureml://datastores/workspaceblobstore/paths/taxi/trips/"
DATED_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1"
JOB_OUTPUT_PATH = "azureml://jobs/quiet_lamp_7x2k/outputs/model/paths/"
CONDA = {
    "name": "train",
    "channels": ["conda-forge"],
    "dependencies": ["python=3.11", "pip", {"pip": ["scikit-learn==1.5.2", "mlflow==2.16.2"]}],
}
FORM_NOTE = "this check validates the form only; the rubric grades your choices when the notebook is graded"


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
def solutions() -> dict[str, NotebookExercise]:
    return read_notebook_exercises(NOTEBOOK)


def trips(**changes: Any) -> Data:
    fields = {"name": "taxi-trips", "version": "1", "type": AssetTypes.URI_FOLDER, "path": DATASTORE_PATH}
    return Data(**{**fields, **changes})


def sklearn_environment(**changes: Any) -> Environment:
    fields = {"name": "sklearn-env", "version": "1", "image": DATED_IMAGE, "conda_file": CONDA}
    return Environment(**{**fields, **changes})


def fare_model(**changes: Any) -> Model:
    fields = {"name": "taxi-fare-model", "version": "1", "type": AssetTypes.MLFLOW_MODEL, "path": JOB_OUTPUT_PATH}
    return Model(**{**fields, **changes})


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_exercise(solutions):
    registered = sorted(exercise_id for exercise_id in all_exercises() if exercise_id.startswith("m01."))

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


@pytest.mark.parametrize("exercise_id", DECISION_IDS)
def test_rubric_points_total_cell_points(solutions, exercise_id):
    exercise = solutions[exercise_id]

    assert sum(c.points for c in parse_rubric(exercise.grading_data["rubric"]).criteria) == exercise.points


@pytest.mark.parametrize("exercise_id", DECISION_IDS)
def test_decision_check_notes_form_only(solutions, exercise_id):
    assert check(exercise_id, solutions[exercise_id].answer).notes == [FORM_NOTE]


def graded_fields(entity: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    spec = to_spec(entity)
    return {key: spec.get(key) for key in keys}


def test_variants_start_from_solutions(solutions):
    # The wrong answers below change one field of these constructors, so they must build the solutions.
    asset_keys = ("name", "version", "type", "path")
    environment_keys = ("name", "version", "image", "conda_file")

    assert graded_fields(trips(), asset_keys) == graded_fields(solutions["m01.data_asset"].answer, asset_keys)
    assert graded_fields(fare_model(), asset_keys) == graded_fields(solutions["m01.model_asset"].answer, asset_keys)
    assert graded_fields(sklearn_environment(), environment_keys) == graded_fields(
        solutions["m01.environment"].answer, environment_keys
    )


# --- Data asset --------------------------------------------------------------------------------

FOLDER_TYPE = (
    "the trips are a folder of many Parquet files; a single file would be uri_file, a table with a schema mltable"
)
DATASTORE_RULE = (
    "point at the files through the workspace datastore: azureml://datastores/<datastore>/paths/<folder>/"
)


def test_data_file_type():
    assert failures("m01.data_asset", trips(type=AssetTypes.URI_FILE)) == {
        "folder type": f"`type` = 'uri_file': {FOLDER_TYPE}",
    }


def test_data_file_type_partial_points():
    # One of six equally weighted groups fails: 5/6 of 2 points.
    assert grade("m01.data_asset", trips(type=AssetTypes.URI_FILE), points=2) == 1.6667


def test_data_mltable_type():
    assert failures("m01.data_asset", trips(type=AssetTypes.MLTABLE)) == {
        "folder type": f"`type` = 'mltable': {FOLDER_TYPE}",
    }


def test_data_misspelt_type():
    assert failures("m01.data_asset", trips(type="uri_foldr")) == {
        "valid Azure ML schema": "azure-ai-ml rejects the spec: type: Must be one of: uri_file, uri_folder, mltable.",
        "folder type": f"`type` = 'uri_foldr': {FOLDER_TYPE}",
    }


def test_data_storage_url():
    url = "https://myaccount.blob.core.windows.net/trips/"

    assert failures("m01.data_asset", trips(path=url)) == {"datastore path": f"`path` = '{url}': {DATASTORE_RULE}"}


def test_data_no_version():
    assert failures("m01.data_asset", trips(version=None)) == {"explicit version": "`version` is not set"}


def test_data_name_with_space():
    assert failures("m01.data_asset", trips(name="taxi trips")) == {
        "asset name": "`name` = 'taxi trips': use the name the exercise gives, 'taxi-trips': jobs and deployments find the asset by it",
    }


def test_data_as_dict():
    answer = {"name": "taxi-trips", "version": "1", "type": "uri_folder", "path": DATASTORE_PATH}

    assert failures("m01.data_asset", answer) == {"azure-ai-ml Data entity": "expected an azure-ai-ml Data object, got dict"}


def test_data_wrong_entity():
    assert failures("m01.data_asset", fare_model())["azure-ai-ml Data entity"] == "expected an azure-ai-ml Data object, got Model"


# --- Environment -------------------------------------------------------------------------------

PINNED_IMAGE = "pin the base image to a dated tag; 'latest' or no tag changes under you and breaks reproducibility"
CONDA_RULE = "the conda specification must pin python (python=3.x) and list scikit-learn with an exact version (==)"


def test_environment_latest_tag():
    image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"

    assert failures("m01.environment", sklearn_environment(image=image)) == {
        "pinned base image": f"`image` = '{image}': {PINNED_IMAGE}",
    }


def test_environment_latest_tag_partial_points():
    image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"

    assert grade("m01.environment", sklearn_environment(image=image), points=2) == 1.6667


def test_environment_untagged_image():
    image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"

    assert failures("m01.environment", sklearn_environment(image=image)) == {
        "pinned base image": f"`image` = '{image}': {PINNED_IMAGE}",
    }


def test_environment_registry_port_is_not_tag():
    image = "myregistry.azurecr.io:5000/train"

    assert failures("m01.environment", sklearn_environment(image=image)) == {
        "pinned base image": f"`image` = '{image}': {PINNED_IMAGE}",
    }


def test_environment_unpinned_sklearn():
    conda = {"dependencies": ["python=3.11", {"pip": ["scikit-learn"]}]}

    assert failures("m01.environment", sklearn_environment(conda_file=conda)) == {
        "conda dependencies": f"`conda_file` = {conda!r}: {CONDA_RULE}",
    }


def test_environment_unpinned_python():
    conda = {"dependencies": ["python", {"pip": ["scikit-learn==1.5.2"]}]}

    assert failures("m01.environment", sklearn_environment(conda_file=conda)) == {
        "conda dependencies": f"`conda_file` = {conda!r}: {CONDA_RULE}",
    }


def test_environment_conda_sklearn_pin_accepted():
    conda = {"dependencies": ["python=3.11", "scikit-learn==1.5.2"]}

    assert check("m01.environment", sklearn_environment(conda_file=conda)).passed


def test_environment_no_version():
    assert failures("m01.environment", sklearn_environment(version=None)) == {"explicit version": "`version` is not set"}


# --- Model asset -------------------------------------------------------------------------------

MLFLOW_TYPE = "the training job saved the model with mlflow.sklearn.save_model, which is the mlflow_model type"
JOB_OUTPUT_RULE = (
    "register the model from the job's output: azureml://jobs/<job name>/outputs/<output name>/paths/<folder>/"
)


def test_model_custom_type():
    assert failures("m01.model_asset", fare_model(type=AssetTypes.CUSTOM_MODEL)) == {
        "MLflow model type": f"`type` = 'custom_model': {MLFLOW_TYPE}",
    }


def test_model_custom_type_partial_points():
    assert grade("m01.model_asset", fare_model(type=AssetTypes.CUSTOM_MODEL), points=2) == 1.6667


def test_model_datastore_path():
    path = "azureml://datastores/workspaceblobstore/paths/model/"

    assert failures("m01.model_asset", fare_model(path=path)) == {
        "path from the job output": f"`path` = '{path}': {JOB_OUTPUT_RULE}",
    }


def test_model_job_output_subfolder_accepted():
    path = "azureml://jobs/quiet_lamp_7x2k/outputs/model/paths/model/"

    assert check("m01.model_asset", fare_model(path=path)).passed


# --- Asset types and planes --------------------------------------------------------------------


def test_asset_types_one_wrong_choice(solutions):
    exercise = solutions["m01.asset_types"]
    answer = {**exercise.answer, "trip_files": "model"}

    assert graded_failures("m01.asset_types", answer, **exercise.grading_data) == {
        "trip_files (0.5 pt)": "files in a datastore are registered as a Data asset (uri_folder for a folder)",
    }


def test_asset_types_one_wrong_choice_points(solutions):
    exercise = solutions["m01.asset_types"]
    answer = {**exercise.answer, "gpu_cluster": "environment"}

    assert grade("m01.asset_types", answer, points=3, **exercise.grading_data) == 2.5


def test_asset_types_invalid_choice(solutions):
    answer = {**solutions["m01.asset_types"].answer, "trip_files": "dataset"}

    assert failures("m01.asset_types", answer) == {
        "field `trip_files`": "invalid value 'dataset' for `trip_files`; `trip_files` takes one of 'data', "
        "'environment', 'model', 'component', 'compute', 'endpoint', 'job'",
    }


def test_asset_types_unfilled_template():
    template = dict.fromkeys(
        ["trip_files", "runtime_image", "trained_regressor", "prep_step", "gpu_cluster", "fare_service"]
    )

    assert check("m01.asset_types", template).score == pytest.approx(1 / 7)


def test_planes_weighted_partial_points(solutions):
    # invoke_endpoint carries 0.5 of the rubric's 2 points.
    exercise = solutions["m01.planes"]
    answer = {**exercise.answer, "invoke_endpoint": "control plane"}

    assert grade("m01.planes", answer, points=2, **exercise.grading_data) == 1.5


def test_planes_all_swapped_score_zero(solutions):
    exercise = solutions["m01.planes"]
    swap = {"control plane": "data plane", "data plane": "control plane"}
    answer = {key: swap[value] for key, value in exercise.answer.items()}

    assert grade("m01.planes", answer, points=2, **exercise.grading_data) == 0.0


def test_planes_reason_as_message(solutions):
    exercise = solutions["m01.planes"]
    answer = {**exercise.answer, "log_metric": "control plane"}

    assert graded_failures("m01.planes", answer, **exercise.grading_data) == {
        "log_metric (0.25 pt)": "metrics written to a run are content of the workspace",
    }
