"""Tests of the module 02 exercises: framing, lifecycle order, a stratified split, a training job.

The correct answers and the grading data (``points=``, ``seed=``, ``rubric=``) come from
the solution notebook: each solution cell is executed, and the keyword values of the
``grade(...)`` call in the hidden-test cell are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from azure.ai.ml import Input, Output, command

from autograder.checks.core import run_groups
from autograder.checks.decisions import parse_rubric
from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m02" / "lifecycle.ipynb"
EXERCISE_IDS = ["m02.framing", "m02.lifecycle", "m02.stratified_split", "m02.training_job"]
DECISION_IDS = ["m02.framing", "m02.lifecycle"]
SPLIT_SEED = 20177
TRAIN_COMMAND = "python train.py --data ${{inputs.training_data}} --model ${{outputs.model}}"


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


@pytest.fixture
def course_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test in a folder that contains the training job's empty ``src/`` code folder."""
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_exercise(solutions):
    registered = sorted(exercise_id for exercise_id in all_exercises() if exercise_id.startswith("m02."))

    assert sorted(solutions) == registered
    assert sorted(EXERCISE_IDS) == registered


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_passes_check(solutions, course_folder, exercise_id):
    result = check(exercise_id, solutions[exercise_id].answer)

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_gets_full_points(solutions, course_folder, exercise_id):
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


def test_split_seed_from_notebook(solutions):
    assert solutions["m02.stratified_split"].grading_data == {"seed": SPLIT_SEED}


# --- Framing and lifecycle ---------------------------------------------------------------------


def test_framing_accuracy_kpi(solutions):
    exercise = solutions["m02.framing"]
    answer = {**exercise.answer, "kpi": "accuracy"}

    assert graded_failures("m02.framing", answer, **exercise.grading_data) == {
        "kpi (1 pt)": "the complaint is about quotes being off by dollars on average: "
        "mean absolute error in dollars measures exactly that",
    }


def test_framing_accuracy_kpi_points(solutions):
    exercise = solutions["m02.framing"]
    answer = {**exercise.answer, "kpi": "accuracy"}

    assert grade("m02.framing", answer, points=3, **exercise.grading_data) == 2.0


def test_framing_classification_task(solutions):
    exercise = solutions["m02.framing"]
    answer = {**exercise.answer, "task_type": "binary classification", "kpi": "ROC AUC"}

    assert grade("m02.framing", answer, points=3, **exercise.grading_data) == 1.0


def test_framing_free_text_rejected(solutions):
    answer = {**solutions["m02.framing"].answer, "task_type": "predict the fare"}

    assert failures("m02.framing", answer) == {
        "field `task_type`": "invalid value 'predict the fare' for `task_type`; `task_type` takes "
        "one of 'regression', 'binary classification', 'multiclass classification', 'clustering', 'forecasting'",
    }


def test_lifecycle_swapped_stages_partial_order(solutions):
    exercise = solutions["m02.lifecycle"]
    order = list(exercise.answer["stage_order"])
    order[1], order[2] = order[2], order[1]

    # One swap leaves 14 of the 15 stage pairs in order: 1.5 * 14 / 15 = 1.4 of the order's points.
    assert grade("m02.lifecycle", {**exercise.answer, "stage_order": order}, points=3, **exercise.grading_data) == 2.9


def test_lifecycle_swapped_stages_message(solutions):
    exercise = solutions["m02.lifecycle"]
    order = list(reversed(exercise.answer["stage_order"]))

    assert graded_failures("m02.lifecycle", {**exercise.answer, "stage_order": order}, **exercise.grading_data) == {
        "stage_order (1.5 pt)": "frame, prepare data, train and validate, register, deploy, then monitor and iterate: "
        "each stage needs what the one before it produced",
    }


def test_lifecycle_wrong_artifact(solutions):
    exercise = solutions["m02.lifecycle"]
    produces = {**exercise.answer["produces"], "deployment": "command job"}

    assert graded_failures("m02.lifecycle", {**exercise.answer, "produces": produces}, **exercise.grading_data) == {
        "produces.deployment (0.25 pt)": "a quote at booking time needs an online endpoint",
    }


def test_lifecycle_missing_artifact(solutions):
    exercise = solutions["m02.lifecycle"]
    produces = dict(exercise.answer["produces"])
    del produces["deployment"]

    assert graded_failures("m02.lifecycle", {**exercise.answer, "produces": produces}, **exercise.grading_data) == {
        "produces.deployment (0.25 pt)": "missing entry `deployment` in `produces`",
    }


def test_lifecycle_order_as_string(solutions):
    answer = {**solutions["m02.lifecycle"].answer, "stage_order": "problem framing, data preparation"}

    assert failures("m02.lifecycle", answer)["field `stage_order`"].startswith(
        "invalid value 'problem framing, data preparation' for `stage_order`: Input should be a valid list; "
        "`stage_order` takes a list of one of 'problem framing', "
    )


# --- Stratified split --------------------------------------------------------------------------


def split_each_class(y, test_size, rng):
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(len(rows) * test_size))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.concatenate(train), np.concatenate(test)


def plain_random_split(y, test_size, seed):
    rows = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(len(y) * test_size))
    return rows[n_test:], rows[:n_test]


def overlapping_split(y, test_size, seed):
    train, test = split_each_class(y, test_size, np.random.default_rng(seed))
    return np.concatenate([train, test]), test


def unseeded_split(y, test_size, seed):
    return split_each_class(y, test_size, np.random.default_rng())


def fixed_seed_split(y, test_size, seed):
    return split_each_class(y, test_size, np.random.default_rng(0))


INDEX_TYPE = "train_idx must be a 1-D array of integer row indices, got dtype {} and shape ({},)"


def test_split_plain_random_named():
    assert failures("m02.stratified_split", plain_random_split) == {
        "class ratios kept": "class 1 is not split in the ratio test_size: split each class separately, then combine",
    }


def test_split_plain_random_points():
    assert grade("m02.stratified_split", plain_random_split, points=3, seed=SPLIT_SEED) == 2.25


def test_split_overlapping_sets_named():
    found = failures("m02.stratified_split", overlapping_split)

    assert found["rows in exactly one set"] == (
        "some rows are in both train_idx and test_idx: that leaks test data into training"
    )


def test_split_unseeded_named():
    assert failures("m02.stratified_split", unseeded_split) == {
        "reproducible with a seed": "the same seed gave two different splits: draw from np.random.default_rng(seed)",
    }


def test_split_ignores_seed_named():
    assert failures("m02.stratified_split", fixed_seed_split) == {
        "reproducible with a seed": "a different seed gave the same split: shuffle the rows of each class with the seed",
    }


def test_split_repeated_row_named():
    def repeated_row(y, test_size, seed):
        train, test = split_each_class(y, test_size, np.random.default_rng(seed))
        return np.concatenate([train[1:], train[:1], train[:1]]), test

    assert failures("m02.stratified_split", repeated_row)["rows in exactly one set"] == (
        "a row index appears twice on the same side of the split"
    )


def test_split_dropped_row_named():
    def dropped_row(y, test_size, seed):
        train, test = split_each_class(y, test_size, np.random.default_rng(seed))
        return train[1:], test

    assert failures("m02.stratified_split", dropped_row)["rows in exactly one set"] == (
        "together, train_idx and test_idx must hold every row exactly once"
    )


def test_split_boolean_masks_rejected():
    def masks(y, test_size, seed):
        train, test = split_each_class(y, test_size, np.random.default_rng(seed))
        rows = np.arange(len(y))
        return np.isin(rows, train), np.isin(rows, test)

    found = failures("m02.stratified_split", masks)

    assert found["rows in exactly one set"] == INDEX_TYPE.format("bool", 276)


def test_split_list_result_rejected():
    def as_list(y, test_size, seed):
        return list(split_each_class(y, test_size, np.random.default_rng(seed)))

    result = check("m02.stratified_split", as_list)

    assert result.score == 0.0
    assert result.messages[0] == "rows in exactly one set: expected a tuple (train_idx, test_idx), got list"


@pytest.mark.parametrize(
    "split",
    [
        lambda y, test_size, seed: split_each_class(y, test_size, np.random.default_rng(seed)),
        lambda y, test_size, seed: tuple(
            part.tolist() for part in split_each_class(y, test_size, np.random.default_rng(seed))
        ),
    ],
    ids=["arrays", "lists_of_indices"],
)
def test_split_alternative_accepted(split):
    assert grade("m02.stratified_split", split, points=3, seed=SPLIT_SEED) == 3


def test_split_sklearn_accepted():
    from sklearn.model_selection import train_test_split

    def sklearn_split(y, test_size, seed):
        rows = np.arange(len(y))
        train, test = train_test_split(rows, test_size=test_size, stratify=y, random_state=seed)
        return train, test

    assert grade("m02.stratified_split", sklearn_split, points=3, seed=SPLIT_SEED) == 3


# --- Training job ------------------------------------------------------------------------------


def training_job(**changes: Any):
    fields = {
        "code": "./src",
        "command": TRAIN_COMMAND,
        "inputs": {"training_data": Input(type="uri_folder", path="azureml:taxi-trips:1")},
        "outputs": {"model": Output(type="mlflow_model")},
        "environment": "azureml:sklearn-env:1",
        "compute": "cpu-cluster",
        "experiment_name": "taxi-fare",
        "display_name": "train-fare-model",
    }
    return command(**{**fields, **changes})


VERSIONED_ENVIRONMENT = "reference the environment as azureml:<name>:<version> so every run uses the same image"


def test_training_job_variant_passes(course_folder):
    assert check("m02.training_job", training_job()).passed


@pytest.mark.parametrize("environment", ["azureml:sklearn-env", "azureml:sklearn-env@latest"])
def test_training_job_unversioned_environment(course_folder, environment):
    assert failures("m02.training_job", training_job(environment=environment)) == {
        "versioned environment": f"`environment` = '{environment}': {VERSIONED_ENVIRONMENT}",
    }


def test_training_job_unversioned_environment_points(course_folder):
    # One of nine equally weighted groups fails: 8/9 of 3 points.
    assert grade("m02.training_job", training_job(environment="azureml:sklearn-env"), points=3) == 2.6667


def test_training_job_latest_data(course_folder):
    inputs = {"training_data": Input(type="uri_folder", path="azureml:taxi-trips@latest")}

    assert failures("m02.training_job", training_job(inputs=inputs)) == {
        "registered data input": "`inputs.training_data.path` = 'azureml:taxi-trips@latest': reference the "
        "registered Data asset as azureml:<name>:<version>, here version 1 of taxi-trips",
    }


def test_training_job_file_input(course_folder):
    inputs = {"training_data": Input(type="uri_file", path="azureml:taxi-trips:1")}

    assert failures("m02.training_job", training_job(inputs=inputs)) == {
        "folder input": "`inputs.training_data.type` = 'uri_file': taxi-trips is a uri_folder asset, so the input type must match",
    }


def test_training_job_folder_output(course_folder):
    outputs = {"model": Output(type="uri_folder")}

    assert failures("m02.training_job", training_job(outputs=outputs)) == {
        "model output": "`outputs.model.type` = 'uri_folder': train.py saves an MLflow model, so declare the output as mlflow_model",
    }


def test_training_job_hard_coded_paths(course_folder):
    job = training_job(command="python train.py --data ./data --model ./outputs", outputs={})

    assert failures("m02.training_job", job)["command bindings"] == (
        "the command uses no ${{inputs.<name>}} or ${{outputs.<name>}}: pass the data and model paths through them"
    )


def test_training_job_undeclared_binding(course_folder):
    job = training_job(command="python train.py --data ${{inputs.trips}} --model ${{outputs.model}}")

    assert failures("m02.training_job", job)["command bindings"] == (
        "the command uses ${{inputs.trips}} but the job declares no input named 'trips'"
    )


def test_training_job_unused_input(course_folder):
    inputs = {"training_data": Input(type="uri_folder", path="azureml:taxi-trips:1"), "learning_rate": 0.1}

    assert failures("m02.training_job", training_job(inputs=inputs)) == {
        "command bindings": "input(s) ['learning_rate'] are declared but the command never uses them",
    }


def test_training_job_other_compute(course_folder):
    assert failures("m02.training_job", training_job(compute="gpu-cluster")) == {
        "compute target": "`compute` = 'azureml:gpu-cluster': run on the workspace's compute cluster named cpu-cluster",
    }


def test_training_job_no_experiment(course_folder):
    assert failures("m02.training_job", training_job(experiment_name=None)) == {
        "experiment name": "`experiment_name` is not set",
    }


def test_training_job_missing_code_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert failures("m02.training_job", training_job()) == {
        "valid Azure ML schema": "azure-ai-ml rejects the spec: code: "
        f"Can't find directory or file in resolved absolute path: {tmp_path / 'src'}.",
    }


def test_training_job_as_dict(course_folder):
    spec = {
        "type": "command",
        "command": TRAIN_COMMAND,
        "code": "./src",
        "environment": "azureml:sklearn-env:1",
        "compute": "azureml:cpu-cluster",
        "experiment_name": "taxi-fare",
        "inputs": {"training_data": {"type": "uri_folder", "path": "azureml:taxi-trips:1"}},
        "outputs": {"model": {"type": "mlflow_model"}},
    }

    assert failures("m02.training_job", spec) == {
        "azure-ai-ml Command or CommandJob entity": "expected an azure-ai-ml Command or CommandJob object, got dict",
    }
