"""Tests of the module 12 sdk exercise: the release path of the capstone as specs.

The correct answers and the grading data come from the solution notebook: its setup and
solution cells run in the notebook's folder, and the keyword values of each hidden-test
cell's ``grade(...)`` call are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from azure.ai.ml import Input, dsl
from azure.ai.ml.entities import CronTrigger, Environment, JobSchedule, NumericalDriftMetrics

from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m12" / "sdk.ipynb"
EXERCISE_IDS = ["m12.release_pipeline"]
CLAIMS_FOLDER = "azureml://datastores/workspaceblobstore/paths/claims/"


@dataclass(frozen=True)
class NotebookExercise:
    """An exercise's solution and grading data, as stored in the solution notebook."""

    answer: Any
    points: float
    grading_data: dict[str, Any]
    cell_points: float


def read_notebook_exercises(path: Path) -> dict[str, NotebookExercise]:
    """Execute the setup and solution cells of ``path`` in its folder and parse each hidden-test cell's ``grade`` call."""
    notebook = nbformat.read(path, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    namespace: dict[str, Any] = {}
    previous = Path.cwd()
    os.chdir(path.parent)
    try:
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
    finally:
        os.chdir(previous)
    return exercises


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


@pytest.fixture(scope="module")
def solutions() -> dict[str, NotebookExercise]:
    return read_notebook_exercises(NOTEBOOK)


@pytest.fixture(autouse=True)
def notebook_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in the notebook's folder, where components/, src/ and the conda file are."""
    monkeypatch.chdir(NOTEBOOK.parent)


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m12.") and exercise.kind == "sdk"
    )

    assert sorted(solutions) == registered == sorted(EXERCISE_IDS)


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


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_public_groups_are_graded(exercise_id):
    exercise = get_exercise(exercise_id)

    assert [group.name for group in exercise.public_groups()] == [group.name for group in exercise.graded_groups()]


# --- Wrong releases ---------------------------------------------------------------------------------


def release_with(solutions, part: str, **changes: Any) -> dict[str, Any]:
    """Return the solution with a copy of ``part`` whose attributes are replaced by ``changes``."""
    answer = solutions["m12.release_pipeline"].answer
    changed = copy.deepcopy(answer[part])
    for name, value in changes.items():
        setattr(changed, name, value)
    return {**answer, part: changed}


@pytest.fixture(scope="module")
def components(solutions) -> dict[str, Any]:
    from azure.ai.ml import load_component

    folder = NOTEBOOK.parent / "components"
    return {name: load_component(folder / f"{name}.yml") for name in ("prep", "train", "register")}


def release_pipeline(components, *, model_name="claims-triage-model", path=CLAIMS_FOLDER, test_from="test_data"):
    """Build the release pipeline, with one of its bindings changed."""

    @dsl.pipeline(default_compute="cpu-cluster", experiment_name="claims-triage")
    def claims_release(raw_claims):
        prepared = components["prep"](raw_claims=raw_claims)
        trained = components["train"](train_data=prepared.outputs.train_data, test_data=prepared.outputs[test_from])
        components["register"](model=trained.outputs.model, model_name=model_name)

    return claims_release(raw_claims=Input(type="uri_folder", path=path))


def test_deployment_serves_other_model(solutions):
    answer = release_with(solutions, "deployment", model="azureml:claims-model:12")

    assert failures("m12.release_pipeline", answer) == {
        "release: deployment serves the registered model": "the deployment serves azureml:claims-model:12, not a pinned version of "
        "claims-triage-model that the pipeline registers; write azureml:<registered name>:<version>",
    }
    # One of 24 equally weighted groups fails: 23/24 of 8 points.
    assert grade("m12.release_pipeline", answer, points=8) == 7.6667


def test_deployment_serves_latest_model(solutions):
    answer = release_with(solutions, "deployment", model="azureml:claims-triage-model@latest")

    assert list(failures("m12.release_pipeline", answer)) == ["release: deployment serves the registered model"]


def test_single_instance(solutions):
    failed = failures("m12.release_pipeline", release_with(solutions, "deployment", instance_count=1))

    assert list(failed) == ["deployment: Azure ML spec check"]
    assert failed["deployment: Azure ML spec check"].startswith("AML104 instance_count: instance_count is 1")


def test_latest_image(solutions):
    environment = Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest", conda_file="./serving-conda.yml")

    failed = failures("m12.release_pipeline", release_with(solutions, "deployment", environment=environment))

    assert list(failed) == ["deployment: Azure ML spec check"]
    assert failed["deployment: Azure ML spec check"].startswith("AML100 environment.image: image `mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest` is tagged `latest`")


def test_no_data_collection(solutions):
    failed = failures("m12.release_pipeline", release_with(solutions, "deployment", data_collector=None))

    assert list(failed) == ["deployment: collects model inputs and outputs"]
    assert failed["deployment: collects model inputs and outputs"].startswith("the deployment does not collect model_inputs,")


def test_no_canary_traffic(solutions):
    answer = release_with(solutions, "endpoint", traffic={"blue": 100})

    assert failures("m12.release_pipeline", answer) == {
        "endpoint: canary split": "traffic is {'blue': 100}; the challenger on green takes the canary share the exercise gives, and blue the rest",
        "release: deployment is the canary": "the deployment 'green' is not the one that takes the canary share of the endpoint's traffic",
    }
    assert grade("m12.release_pipeline", answer, points=8) == 7.3333


def test_key_auth_endpoint(solutions):
    failed = failures("m12.release_pipeline", release_with(solutions, "endpoint", auth_mode="key"))

    assert list(failed) == ["endpoint: Azure ML spec check"]
    assert failed["endpoint: Azure ML spec check"].startswith("AML106 auth_mode")


def test_monitor_watches_champion(solutions):
    monitor = copy.deepcopy(solutions["m12.release_pipeline"].answer["monitor"])
    monitor.create_monitor.monitoring_target.endpoint_deployment_id = "azureml:claims-triage:blue"

    failed = failures("m12.release_pipeline", {**solutions["m12.release_pipeline"].answer, "monitor": monitor})

    assert list(failed) == ["release: monitor watches the canary"]
    assert failed["release: monitor watches the canary"].startswith("the monitor watches azureml:claims-triage:blue, not the new deployment")


def test_monitor_zero_threshold(solutions):
    monitor = copy.deepcopy(solutions["m12.release_pipeline"].answer["monitor"])
    monitor.create_monitor.monitoring_signals["claims_drift"].metric_thresholds.numerical = NumericalDriftMetrics(
        normalized_wasserstein_distance=0
    )

    failed = failures("m12.release_pipeline", {**solutions["m12.release_pipeline"].answer, "monitor": monitor})

    assert list(failed) == ["monitor: thresholds reach the monitor"]
    assert failed["monitor: thresholds reach the monitor"].startswith("AML070 ")


def test_pipeline_registers_other_name(solutions, components):
    answer = {**solutions["m12.release_pipeline"].answer, "pipeline": release_pipeline(components, model_name="claims-model")}

    failed = failures("m12.release_pipeline", answer)

    assert sorted(failed) == [
        "pipeline: registered model name",
        "release: deployment serves the registered model",
        "release: schedule runs the pipeline",
    ]
    assert failed["pipeline: registered model name"] == (
        "the register step registers the model as claims-model; pass the model name the exercise gives"
    )
    assert grade("m12.release_pipeline", answer, points=8) == 7.0


def test_pipeline_latest_claims_label(solutions, components):
    answer = {**solutions["m12.release_pipeline"].answer, "pipeline": release_pipeline(components, path="azureml:claims@latest")}

    failed = failures("m12.release_pipeline", answer)

    assert sorted(failed) == ["pipeline: new claims at every run", "release: schedule runs the pipeline"]
    assert failed["pipeline: new claims at every run"].startswith(
        "the input is azureml:claims@latest; azure-ai-ml resolves <name>@latest to one version when the schedule is created"
    )
    assert grade("m12.release_pipeline", answer, points=8) == 7.3333


def test_pipeline_trains_on_test_twice(solutions, components):
    pipeline = release_pipeline(components, test_from="train_data")

    failed = failures("m12.release_pipeline", {**solutions["m12.release_pipeline"].answer, "pipeline": pipeline})

    assert failed == {
        "pipeline: prep, train, register wired": "the training step's input test_data is not the prep step's output test_data",
    }


def test_schedule_runs_other_pipeline(solutions, components):
    retraining = JobSchedule(
        name="claims-weekly-retraining",
        trigger=CronTrigger(expression="0 1 * * 0"),
        create_job=release_pipeline(components, model_name="claims-model"),
    )

    failed = failures("m12.release_pipeline", {**solutions["m12.release_pipeline"].answer, "retraining": retraining})

    assert failed == {
        "release: schedule runs the pipeline": "the scheduled job differs from the release pipeline in its model name or its data; "
        "schedule the same pipeline job",
    }


def test_schedule_on_monday(solutions):
    retraining = JobSchedule(
        name="claims-weekly-retraining",
        trigger=CronTrigger(expression="0 1 * * 1"),
        create_job=solutions["m12.release_pipeline"].answer["pipeline"],
    )

    assert failures("m12.release_pipeline", {**solutions["m12.release_pipeline"].answer, "retraining": retraining}) == {
        "retraining: every Sunday at 01:00 UTC": "the trigger fires on monday; it should fire on the day the exercise gives only",
    }


def test_release_without_monitor(solutions):
    answer = {key: value for key, value in solutions["m12.release_pipeline"].answer.items() if key != "monitor"}

    failed = failures("m12.release_pipeline", answer)

    assert sorted(failed) == [
        "monitor: Azure ML spec check",
        "monitor: azure-ai-ml MonitorSchedule entity",
        "monitor: drift signals with alerts",
        "monitor: thresholds reach the monitor",
        "release: monitor watches the canary",
    ]
    assert failed["release: monitor watches the canary"] == (
        "the dict has no 'monitor' entry; give one entry for each of 'pipeline', 'endpoint', 'deployment', 'monitor', 'retraining'"
    )
    assert grade("m12.release_pipeline", answer, points=8) == 6.3333


def test_pipeline_alone_rejected(solutions):
    result = check("m12.release_pipeline", solutions["m12.release_pipeline"].answer["pipeline"])

    assert result.score == 0
    assert result.messages[0] == (
        "pipeline: azure-ai-ml PipelineJob entity: expected a dict with the keys 'pipeline', 'endpoint', 'deployment', "
        "'monitor', 'retraining', got PipelineJob"
    )


def test_release_checked_twice(solutions):
    answer = solutions["m12.release_pipeline"].answer

    assert check("m12.release_pipeline", answer).passed
    assert check("m12.release_pipeline", answer).passed


def test_unreadable_part_named_in_ties(solutions):
    answer = {**solutions["m12.release_pipeline"].answer, "deployment": 42}

    failed = failures("m12.release_pipeline", answer)

    assert failed["release: deployment is the canary"] == (
        "deployment: cannot check a spec of type int: pass an azure-ai-ml entity, a dict, a YAML string or the path of a YAML file"
    )
    assert failed["deployment: azure-ai-ml ManagedOnlineDeployment entity"] == "expected an azure-ai-ml ManagedOnlineDeployment object, got int"
