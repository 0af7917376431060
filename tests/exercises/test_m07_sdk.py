"""Tests of the module 07 sdk exercises: a command component in YAML and a two-step pipeline.

The correct answers and the grading data (``points=``) come from the solution notebook: its
setup and solution cells are executed, and the keyword values of the ``grade(...)`` call in
each hidden-test cell are read with ``ast.literal_eval``. Every test runs in the notebook's
folder, where ``./src`` and ``./components`` resolve as they do in the learner's kernel.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from azure.ai.ml import Input, Output, command, dsl, load_component

from autograder.checks.core import run_groups
from autograder.checks.specs import to_spec
from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m07" / "sdk.ipynb"
EXERCISE_IDS = ["m07.command_component", "m07.pipeline"]
REGISTRY_ENVIRONMENT = "azureml://registries/contoso-ml/environments/fare-training/versions/4"
TRAIN_COMMAND = (
    "python train.py --train-data ${{inputs.train_data}} --learning-rate ${{inputs.learning_rate}} --model ${{outputs.model}}"
)


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


@pytest.fixture(scope="module")
def component_yaml(solutions) -> str:
    return solutions["m07.command_component"].answer


def train_component(environment: str = REGISTRY_ENVIRONMENT):
    return command(
        name="train_fare_model",
        version="1",
        inputs={"train_data": Input(type="uri_folder"), "learning_rate": Input(type="number", default=0.1)},
        outputs={"model": Output(type="mlflow_model")},
        code="./src",
        command=TRAIN_COMMAND,
        environment=environment,
    )


def fare_pipeline_job(
    environment: str = REGISTRY_ENVIRONMENT,
    compute: str | None = "cpu-cluster",
    fixed_learning_rate: bool = False,
    train_on: str = "train_data",
    return_model: bool = True,
):
    prep_component = load_component(source="./components/prep_trips.yml")
    trainer = train_component(environment)

    @dsl.pipeline(compute=compute)
    def fare_pipeline(raw_trips, test_share=0.2, learning_rate=0.05):
        prep = prep_component(raw_trips=raw_trips, test_share=test_share)
        train = trainer(train_data=prep.outputs[train_on], learning_rate=0.05 if fixed_learning_rate else learning_rate)
        return {"trained_model": train.outputs.model} if return_model else None

    return fare_pipeline(raw_trips=Input(type="uri_folder", path="azureml:taxi-trips:1"))


# --- Solutions -----------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(e.id for e in all_exercises().values() if e.id.startswith("m07.") and e.kind == "sdk")

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


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_public_and_graded_groups_agree(solutions, exercise_id):
    answer = "name: evaluate_fare_model" if exercise_id == "m07.command_component" else fare_pipeline_job(compute=None)

    assert graded_failures(exercise_id, answer, **solutions[exercise_id].grading_data) == failures(exercise_id, answer)


# --- Command component -------------------------------------------------------------------------------


def test_component_hyphenated_name(component_yaml):
    spec = component_yaml.replace("name: evaluate_fare_model", "name: evaluate-fare-model")

    found = failures("m07.command_component", spec)

    assert sorted(found) == ["Azure ML spec check", "name and version"]
    assert found["Azure ML spec check"].startswith(
        "AML012 name: `name`: Component name should only contain lower letter, number, underscore and start with a lower letter."
    )
    assert found["name and version"] == (
        "`name` = 'evaluate-fare-model': use the component name the exercise gives, which pipelines load it by"
    )


def test_component_hyphenated_name_points(component_yaml):
    # Two of eight equally weighted groups fail: 6/8 of 3 points.
    spec = component_yaml.replace("name: evaluate_fare_model", "name: evaluate-fare-model")

    assert grade("m07.command_component", spec, points=3) == 2.25


def test_component_model_as_folder(component_yaml):
    spec = component_yaml.replace("type: mlflow_model", "type: uri_folder")

    assert failures("m07.command_component", spec) == {
        "typed inputs": "`inputs.model.type` = 'uri_folder': the training step saves an MLflow model, and evaluate.py loads it with mlflow",
    }


def test_component_model_as_folder_points(component_yaml):
    spec = component_yaml.replace("type: mlflow_model", "type: uri_folder")

    assert grade("m07.command_component", spec, points=3) == 2.625


def test_component_threshold_as_string(component_yaml):
    spec = component_yaml.replace("type: number", "type: string")

    assert failures("m07.command_component", spec) == {
        "typed inputs": "`inputs.max_rmse.type` = 'string': the RMSE threshold is a number of dollars with a fractional part",
    }


def test_component_no_default(component_yaml):
    spec = component_yaml.replace("    default: 4.5\n", "")

    assert failures("m07.command_component", spec) == {
        "default RMSE threshold": "`inputs.max_rmse` has no default, so every pipeline step must set it; "
        "give it the default the exercise states",
    }


def test_component_undeclared_output_bound(component_yaml):
    spec = component_yaml.replace("${{outputs.report}}", "${{outputs.result}}")

    found = failures("m07.command_component", spec)

    assert sorted(found) == ["Azure ML spec check", "command bindings"]
    assert found["Azure ML spec check"].startswith(
        "AML060 command: the command binds `${{outputs.result}}` but `outputs` declares no `result` (declared: report)"
    )
    assert found["command bindings"] == (
        "the component declares output `report`, but the command never passes ${{outputs.report}} to evaluate.py"
    )


def test_component_input_unused(component_yaml):
    spec = component_yaml.replace("  --max-rmse ${{inputs.max_rmse}}\n", "")

    assert failures("m07.command_component", spec) == {
        "command bindings": "the component declares input `max_rmse`, but the command never passes ${{inputs.max_rmse}} to evaluate.py",
    }


def test_component_latest_environment(component_yaml):
    spec = component_yaml.replace("azureml:sklearn-env:1", "azureml:sklearn-env@latest")

    assert failures("m07.command_component", spec) == {
        "code and environment": "`environment` = 'azureml:sklearn-env@latest': reference the registered environment "
        "the exercise names, written azureml:<name>:<version>",
    }


def test_component_extra_input(component_yaml):
    spec = component_yaml.replace("outputs:\n", "  seed:\n    type: integer\n    default: 0\noutputs:\n", 1)

    found = failures("m07.command_component", spec)

    assert found["typed inputs"] == "`inputs` also declares seed, which evaluate.py does not take"


def test_component_invalid_yaml():
    result = check("m07.command_component", "name: [evaluate_fare_model")

    assert result.score == 0.0
    assert result.messages[0] == "YAML string: the string is not valid YAML: expected ',' or ']', but got '<stream end>' at line 1"


def test_component_entity_rejected(module_folder):
    component = load_component(source="./components/prep_trips.yml")

    found = failures("m07.command_component", component)

    assert found["YAML string"] == (
        "expected the component as a YAML string, got CommandComponent: this exercise practises the YAML form "
        "that `az ml component create --file` takes"
    )


# --- Pipeline --------------------------------------------------------------------------------------


def test_pipeline_variant_passes(module_folder):
    assert check("m07.pipeline", fare_pipeline_job()).passed


def test_pipeline_fixed_learning_rate(module_folder):
    assert failures("m07.pipeline", fare_pipeline_job(fixed_learning_rate=True)) == {
        "pipeline parameters bound": "`jobs.train.inputs.learning_rate` is the fixed value 0.05, not the pipeline "
        "parameter `learning_rate`: pass the pipeline function's parameter to the step, so that the value can change at submission",
    }


def test_pipeline_fixed_learning_rate_points(module_folder):
    # One of nine equally weighted groups fails: 8/9 of 4 points.
    assert grade("m07.pipeline", fare_pipeline_job(fixed_learning_rate=True), points=4) == 3.5556


def test_pipeline_trains_on_test_split(module_folder):
    assert failures("m07.pipeline", fare_pipeline_job(train_on="test_data")) == {
        "prep output feeds train": "`jobs.train.inputs.train_data` is bound to ${{parent.jobs.prep.outputs.test_data}}: "
        "train on the training split that the prep step writes, by passing the prep step's output to the train step",
    }


def test_pipeline_without_output(module_folder):
    assert failures("m07.pipeline", fare_pipeline_job(return_model=False)) == {
        "pipeline output": "the train step's `model` is not the pipeline output `trained_model`: return it from the "
        "pipeline function as a dict of output names, so that the model outlives the step",
    }


def test_pipeline_workspace_environment(module_folder):
    assert failures("m07.pipeline", fare_pipeline_job(environment="azureml:fare-training:4")) == {
        "registry environment": "the train step's environment is 'azureml:fare-training:4': use the environment "
        "fare-training that the contoso-ml registry shares, written "
        "azureml://registries/<registry>/environments/<name>/versions/<version>",
    }


def test_pipeline_registry_label(module_folder):
    environment = "azureml://registries/contoso-ml/environments/fare-training/labels/latest"

    assert failures("m07.pipeline", fare_pipeline_job(environment=environment)) == {
        "registry environment": f"the train step's environment is '{environment}': pin a version, which never "
        "changes, instead of a label",
    }


def test_pipeline_without_compute(module_folder):
    assert failures("m07.pipeline", fare_pipeline_job(compute=None)) == {
        "default compute": "the pipeline's compute is None: run its steps on the cluster cpu-cluster",
    }


def test_pipeline_binding_to_missing_output(module_folder):
    spec = to_spec(fare_pipeline_job())
    spec["jobs"]["train"]["inputs"]["train_data"] = {"path": "${{parent.jobs.prep.outputs.training}}"}

    found = failures("m07.pipeline", spec)

    assert sorted(found) == ["Azure ML spec check", "azure-ai-ml PipelineJob entity", "prep output feeds train"]
    assert found["Azure ML spec check"].startswith(
        "AML062 jobs.train.inputs.train_data: `${{parent.jobs.prep.outputs.training}}` names output `training` of step `prep`"
    )


def test_pipeline_step_named_otherwise(module_folder):
    spec = to_spec(fare_pipeline_job())
    spec["jobs"]["prep_step"] = spec["jobs"].pop("prep")

    found = failures("m07.pipeline", spec)

    assert found["steps prep and train"] == (
        "the pipeline has no step `prep` (steps: train, prep_step); a step is named after the variable it is "
        "assigned to inside the pipeline function"
    )


def test_pipeline_function_not_called(module_folder):
    prep_component = load_component(source="./components/prep_trips.yml")

    @dsl.pipeline(compute="cpu-cluster")
    def fare_pipeline(raw_trips):
        prep_component(raw_trips=raw_trips)

    result = check("m07.pipeline", fare_pipeline)

    assert result.score == 0.0
    assert result.messages[0] == (
        "azure-ai-ml PipelineJob entity: got the pipeline function itself: call it with the raw trips input to build the PipelineJob"
    )
