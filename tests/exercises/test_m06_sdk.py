"""Tests of the module 06 sdk exercise: a sweep job with a search space, limits and a Bandit policy.

The correct answer and the grading data (``points=``) come from the solution notebook: its
setup and solution cells are executed, and the keyword values of the ``grade(...)`` call in
the hidden-test cell are read with ``ast.literal_eval``. Every test runs in the notebook's
folder, where ``./src`` resolves as it does in the learner's kernel.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from azure.ai.ml import Input, Output, command
from azure.ai.ml.sweep import BanditPolicy, Choice, LogUniform, MedianStoppingPolicy, Randint, Uniform

from autograder.checks.core import run_groups
from autograder.checks.specs import to_spec
from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m06" / "sdk.ipynb"
EXERCISE_IDS = ["m06.sweep_job"]
TRIAL_COMMAND = (
    "python train.py --trips ${{inputs.trips}} --learning-rate ${{inputs.learning_rate}} "
    "--max-depth ${{inputs.max_depth}} --l2-regularization ${{inputs.l2_regularization}} --model ${{outputs.model}}"
)
SWEEP_YAML = """
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
trial:
  code: ./src
  command: >-
    python train.py --trips ${{inputs.trips}}
    --learning-rate ${{search_space.learning_rate}}
    --max-depth ${{search_space.max_depth}}
    --l2-regularization ${{search_space.l2_regularization}}
    --model ${{outputs.model}}
  environment: azureml:sklearn-env:1
inputs:
  trips: {type: uri_folder, path: azureml:taxi-trips:1}
outputs:
  model: {type: mlflow_model}
compute: azureml:cpu-cluster
sampling_algorithm: random
search_space:
  learning_rate: {type: loguniform, min_value: -6.907755, max_value: -1.203973}
  max_depth: {type: choice, values: [4, 6, 8, 10]}
  l2_regularization: {type: uniform, min_value: 0.0, max_value: 1.0}
objective: {goal: minimize, primary_metric: val_rmse}
limits: {max_total_trials: 40, max_concurrent_trials: 4, timeout: 7200}
early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1, delay_evaluation: 5}
"""


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


def trial(command_line: str = TRIAL_COMMAND):
    return command(
        code="./src",
        command=command_line,
        inputs={"trips": Input(type="uri_folder", path="azureml:taxi-trips:1"), "learning_rate": 0.1, "max_depth": 6, "l2_regularization": 0.0},
        outputs={"model": Output(type="mlflow_model")},
        environment="azureml:sklearn-env:1",
        compute="cpu-cluster",
    )


def sweep_job(
    learning_rate=None,
    max_depth=None,
    l2_regularization=None,
    sampling_algorithm="random",
    primary_metric="val_rmse",
    goal="Minimize",
    policy=None,
    limits=None,
    command_line=TRIAL_COMMAND,
):
    job = trial(command_line)(
        learning_rate=learning_rate or LogUniform(min_value=math.log(0.001), max_value=math.log(0.3)),
        max_depth=max_depth or Choice(values=[4, 6, 8, 10]),
        l2_regularization=l2_regularization or Uniform(min_value=0.0, max_value=1.0),
    ).sweep(
        compute="cpu-cluster",
        sampling_algorithm=sampling_algorithm,
        primary_metric=primary_metric,
        goal=goal,
        early_termination_policy=policy or BanditPolicy(slack_factor=0.1, evaluation_interval=1, delay_evaluation=5),
    )
    job.set_limits(**(limits or {"max_total_trials": 40, "max_concurrent_trials": 4, "timeout": 7200}))
    return job


# --- Solution ------------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(e.id for e in all_exercises().values() if e.id.startswith("m06.") and e.kind == "sdk")

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


def test_solution_search_space(solutions):
    space = to_spec(solutions["m06.sweep_job"].answer)["search_space"]

    assert space["learning_rate"]["type"] == "loguniform"
    assert math.exp(space["learning_rate"]["min_value"]) == pytest.approx(0.001)
    assert math.exp(space["learning_rate"]["max_value"]) == pytest.approx(0.3)


def test_public_and_graded_groups_agree(solutions):
    exercise = solutions["m06.sweep_job"]
    answer = sweep_job(goal="Maximize")

    assert graded_failures("m06.sweep_job", answer, **exercise.grading_data) == failures("m06.sweep_job", answer)


# --- Wrong specs -------------------------------------------------------------------------------------


def test_sweep_variant_passes(module_folder):
    assert check("m06.sweep_job", sweep_job()).passed


def test_sweep_yaml_fails_entity_only(module_folder):
    assert failures("m06.sweep_job", SWEEP_YAML) == {
        "azure-ai-ml Sweep or SweepJob entity": "expected the azure-ai-ml Sweep that command(...)(...).sweep(...) returns, "
        "or a SweepJob, got str",
    }


def test_loguniform_bounds_as_values(module_folder):
    job = sweep_job(learning_rate=LogUniform(min_value=0.001, max_value=0.3))

    assert failures("m06.sweep_job", job) == {
        "learning rate on a log scale": "loguniform takes natural-log exponents and draws exp(uniform(min_value, max_value)), "
        "so these bounds draw rates from 1 to 1.35; pass math.log of each bound",
    }


def test_loguniform_bounds_as_values_points(module_folder):
    # One of ten equally weighted groups fails: 9/10 of 4 points.
    assert grade("m06.sweep_job", sweep_job(learning_rate=LogUniform(min_value=0.001, max_value=0.3)), points=4) == 3.6


def test_loguniform_base_ten(module_folder):
    job = sweep_job(learning_rate=LogUniform(min_value=math.log10(0.001), max_value=math.log10(0.3)))

    assert failures("m06.sweep_job", job) == {
        "learning rate on a log scale": "these are base-10 exponents; loguniform uses natural logarithms, math.log",
    }


def test_loguniform_other_range(module_folder):
    job = sweep_job(learning_rate=LogUniform(min_value=-6, max_value=-1))

    assert failures("m06.sweep_job", job) == {
        "learning rate on a log scale": "these bounds draw learning rates from 0.00248 to 0.368, not from 0.001 to 0.3",
    }


def test_uniform_learning_rate(module_folder):
    found = failures("m06.sweep_job", sweep_job(learning_rate=Uniform(min_value=0.001, max_value=0.3)))

    assert list(found) == ["learning rate on a log scale"]
    assert found["learning rate on a log scale"].startswith("`learning_rate` is uniform, so about nine in ten draws")


def test_depth_from_randint(module_folder):
    assert failures("m06.sweep_job", sweep_job(max_depth=Randint(upper=11))) == {
        "depths from a list": "`search_space.max_depth.type` = 'randint': the exercise lists the depths to try, so choose among them",
    }


def test_bayesian_sampling(module_folder):
    assert failures("m06.sweep_job", sweep_job(sampling_algorithm="bayesian")) == {
        "sampling algorithm": "Bayesian sampling supports no early-termination policy, and this sweep needs a Bandit policy",
    }


def test_grid_sampling(module_folder):
    assert failures("m06.sweep_job", sweep_job(sampling_algorithm="grid")) == {
        "sampling algorithm": "grid sampling takes only choice parameters, but the learning rate and the L2 penalty are continuous",
    }


def test_maximised_rmse(module_folder):
    assert failures("m06.sweep_job", sweep_job(goal="Maximize")) == {
        "primary metric and goal": "`objective.goal` = 'maximize': a lower RMSE is a better model",
    }


def test_metric_not_logged(module_folder):
    assert failures("m06.sweep_job", sweep_job(primary_metric="rmse")) == {
        "primary metric and goal": "`objective.primary_metric` = 'rmse': the sweep ranks trials by a metric that "
        "train.py logs, and the script logs the validation RMSE as val_rmse",
    }


def test_timeout_in_minutes(module_folder):
    job = sweep_job(limits={"max_total_trials": 40, "max_concurrent_trials": 4, "timeout": 120})

    assert failures("m06.sweep_job", job) == {
        "limits": "`limits.timeout` = 120: the timeout is in seconds, so this stops the sweep after two minutes",
    }


def test_more_concurrent_trials_than_nodes(module_folder):
    job = sweep_job(limits={"max_total_trials": 40, "max_concurrent_trials": 40, "timeout": 7200})

    assert failures("m06.sweep_job", job) == {
        "limits": "`limits.max_concurrent_trials` = 40: run as many trials at once as cpu-cluster has nodes",
    }


def test_slack_amount(module_folder):
    job = sweep_job(policy=BanditPolicy(slack_amount=0.1, evaluation_interval=1, delay_evaluation=5))

    assert failures("m06.sweep_job", job) == {
        "Bandit policy": "slack_amount is an absolute distance in RMSE units; the exercise gives the slack as a ratio, slack_factor",
    }


def test_median_stopping(module_folder):
    job = sweep_job(policy=MedianStoppingPolicy(evaluation_interval=1, delay_evaluation=5))

    assert failures("m06.sweep_job", job) == {
        "Bandit policy": "`early_termination.type` = 'median_stopping': use a BanditPolicy, which compares each "
        "trial with the best one so far",
    }


def test_no_delay(module_folder):
    job = sweep_job(policy=BanditPolicy(slack_factor=0.1, evaluation_interval=1))

    assert failures("m06.sweep_job", job) == {
        "Bandit policy": "`early_termination.delay_evaluation` = 0: it sets how many logged values the policy waits "
        "before its first check; use the value the exercise gives",
    }


def test_swept_input_not_in_command(module_folder):
    command_line = TRIAL_COMMAND.replace(" --l2-regularization ${{inputs.l2_regularization}}", "")

    assert failures("m06.sweep_job", sweep_job(command_line=command_line)) == {
        "search space bound in the command": "the trial command never passes `l2_regularization` to train.py, so every "
        "trial trains with the same value: bind it as ${{inputs.l2_regularization}} in the command() of the trial, "
        "or as ${{search_space.l2_regularization}} in YAML",
    }


def test_undeclared_search_space_binding(module_folder):
    spec = SWEEP_YAML.replace("${{search_space.max_depth}}", "${{search_space.depth}}")

    found = failures("m06.sweep_job", spec)

    assert sorted(found) == ["Azure ML spec check", "azure-ai-ml Sweep or SweepJob entity", "search space bound in the command"]
    assert found["Azure ML spec check"].startswith(
        "AML060 trial.command: the command binds `${{search_space.depth}}` but `search_space` declares no `depth`"
    )


def test_trial_without_sweep(module_folder):
    result = check("m06.sweep_job", trial())

    assert result.score == pytest.approx(1 / 10)
    assert result.messages[:2] == [
        "azure-ai-ml Sweep or SweepJob entity: expected the azure-ai-ml Sweep that command(...)(...).sweep(...) "
        "returns, or a SweepJob, got Command",
        "Azure ML spec check: AML002 spec: the spec is a command job, but the exercise expects a sweep job "
        "(fix: write a sweep job; its schema is https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json)",
    ]
