"""Tests of the module 09 sdk exercises: a blue/green rollout, a retraining schedule, a release workflow.

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
from azure.ai.ml import Input, Output, command
from azure.ai.ml.entities import CronTrigger, JobSchedule, ManagedOnlineEndpoint, RecurrencePattern, RecurrenceTrigger

from autograder.exercises import all_exercises, get_exercise
from autograder.exercises.m09_sdk import Timing, read_timing, require_timing
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m09" / "sdk.ipynb"
EXERCISE_IDS = ["m09.blue_green", "m09.retrain_schedule", "m09.release_workflow"]
TRAIN_COMMAND = "python train.py --data ${{inputs.training_data}} --model ${{outputs.model}}"
TRIPS_FOLDER = "azureml://datastores/workspaceblobstore/paths/taxi/trips/"


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
    """Run each test in the notebook's folder, where the code folder src/ is."""
    monkeypatch.chdir(NOTEBOOK.parent)


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m09.") and exercise.kind == "sdk"
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


# --- Blue/green rollout --------------------------------------------------------------------------


def rollout_with(solutions, **parts: Any) -> dict[str, Any]:
    return {**solutions["m09.blue_green"].answer, **parts}


def green_with(solutions, **changes: Any):
    green = copy.deepcopy(solutions["m09.blue_green"].answer["green"])
    for name, value in changes.items():
        setattr(green, name, value)
    return green


def test_canary_over_100_percent(solutions):
    rollout = rollout_with(solutions, canary=ManagedOnlineEndpoint(name="fare-endpoint", traffic={"blue": 90, "green": 20}))

    failed = failures("m09.blue_green", rollout)

    assert sorted(failed) == ["canary: Azure ML spec check", "canary: canary split"]
    assert failed["canary: Azure ML spec check"].startswith("AML040 traffic: traffic totals 110 %")
    assert failed["canary: canary split"] == "green takes 20 % of live traffic; the canary gives it the small share the exercise names"


def test_canary_over_100_percent_points(solutions):
    rollout = rollout_with(solutions, canary=ManagedOnlineEndpoint(name="fare-endpoint", traffic={"blue": 90, "green": 20}))

    # Two of fourteen equally weighted groups fail: 12/14 of 4 points.
    assert grade("m09.blue_green", rollout, points=4) == 3.4286


def test_shadow_mirrors_to_live_deployment(solutions):
    shadow = ManagedOnlineEndpoint(name="fare-endpoint", traffic={"blue": 90, "green": 10}, mirror_traffic={"green": 20})

    failed = failures("m09.blue_green", rollout_with(solutions, shadow=shadow))

    assert sorted(failed) == ["shadow: Azure ML spec check", "shadow: live traffic on blue"]
    assert failed["shadow: Azure ML spec check"].startswith("AML045 mirror_traffic.green: `green` takes 10 % of live traffic")


def test_shadow_mirrors_too_much(solutions):
    shadow = ManagedOnlineEndpoint(name="fare-endpoint", traffic={"blue": 100, "green": 0}, mirror_traffic={"green": 60})

    failed = failures("m09.blue_green", rollout_with(solutions, shadow=shadow))

    assert sorted(failed) == ["shadow: Azure ML spec check", "shadow: mirror traffic to green"]
    assert failed["shadow: Azure ML spec check"].startswith("AML043 mirror_traffic.green: mirror traffic to `green` is 60 %")


def test_shadow_mirrors_to_blue(solutions):
    shadow = ManagedOnlineEndpoint(name="fare-endpoint", traffic={"blue": 100}, mirror_traffic={"blue": 20})

    failed = failures("m09.blue_green", rollout_with(solutions, shadow=shadow))

    assert failed["shadow: Azure ML spec check"].startswith("AML045 mirror_traffic.blue")
    assert failed["shadow: mirror traffic to green"].startswith("mirror_traffic is {'blue': 20}")


def test_canary_misspelt_deployment(solutions):
    canary = ManagedOnlineEndpoint(name="fare-endpoint", traffic={"blue": 90, "gren": 10})

    failed = failures("m09.blue_green", rollout_with(solutions, canary=canary))

    assert failed["canary: Azure ML spec check"].startswith("AML041 traffic.gren: traffic names deployment `gren`")


def test_green_single_instance(solutions):
    rollout = rollout_with(solutions, green=green_with(solutions, instance_count=1))

    failed = failures("m09.blue_green", rollout)

    assert list(failed) == ["green: Azure ML spec check"]
    assert failed["green: Azure ML spec check"].startswith("AML104 instance_count: instance_count is 1")
    assert grade("m09.blue_green", rollout, points=4) == 3.7143


def test_green_serves_champion_model(solutions):
    rollout = rollout_with(solutions, green=green_with(solutions, model="azureml:taxi-fare-model:7"))

    assert failures("m09.blue_green", rollout) == {
        "green: candidate model": "`model` = 'azureml:taxi-fare-model:7': green serves the candidate version of "
        "taxi-fare-model, written azureml:<name>:<version>; blue keeps the current one",
    }


def test_green_on_another_endpoint(solutions):
    rollout = rollout_with(solutions, green=green_with(solutions, endpoint_name="fare-endpoint-2"))

    assert list(failures("m09.blue_green", rollout)) == ["green: endpoint name"]


def test_rollout_single_endpoint_rejected(solutions):
    result = check("m09.blue_green", solutions["m09.blue_green"].answer["canary"])

    assert result.score == 0
    assert result.messages[0] == (
        "green: azure-ai-ml ManagedOnlineDeployment entity: expected a dict with the keys 'green', 'shadow', 'canary', "
        "got ManagedOnlineEndpoint"
    )


def test_rollout_missing_entry(solutions):
    answer = {key: value for key, value in solutions["m09.blue_green"].answer.items() if key != "shadow"}

    failed = failures("m09.blue_green", answer)

    assert sorted(failed) == sorted(name for name in failed if name.startswith("shadow: "))
    assert failed["shadow: live traffic on blue"] == "the dict has no 'shadow' entry; give one entry for each of 'green', 'shadow', 'canary'"


def test_rollout_checked_twice_same_result(solutions):
    answer = solutions["m09.blue_green"].answer

    assert check("m09.blue_green", answer).passed
    assert check("m09.blue_green", answer).passed


# --- Retraining schedule ----------------------------------------------------------------------------


def training_job(**changes: Any):
    fields = {
        "code": "./src",
        "command": TRAIN_COMMAND,
        "inputs": {"training_data": Input(type="uri_folder", path=TRIPS_FOLDER)},
        "outputs": {"model": Output(type="mlflow_model")},
        "environment": "azureml:sklearn-env:1",
        "compute": "cpu-cluster",
        "experiment_name": "taxi-fare",
    }
    return command(**{**fields, **changes})


def schedule(trigger, job=None, name="weekly-retraining"):
    return JobSchedule(name=name, trigger=trigger, create_job=job if job is not None else training_job())


WEEKLY = RecurrencePattern(hours=2, minutes=0, week_days=["monday"])
WORKING_DAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday"})


@pytest.mark.parametrize(
    "trigger",
    [
        CronTrigger(expression="0 2 * * 1"),
        CronTrigger(expression="0 2 * * MON", time_zone="UTC"),
        RecurrenceTrigger(frequency="week", interval=1, schedule=WEEKLY),
        RecurrenceTrigger(frequency="week", interval=1, schedule=RecurrencePattern(hours=[2], minutes=[0], week_days="monday")),
    ],
    ids=["cron", "cron_day_name", "recurrence", "recurrence_lists"],
)
def test_schedule_alternative_triggers_accepted(trigger):
    assert grade("m09.retrain_schedule", schedule(trigger), points=3) == 3


def test_schedule_six_field_cron():
    failed = failures("m09.retrain_schedule", schedule(CronTrigger(expression="0 0 2 * * 1")))

    assert failed == {
        "every Monday at 02:00 UTC": "cron expression '0 0 2 * * 1' has 6 fields; Azure ML cron expressions have five: "
        "minute, hour, day of month, month and day of week, with no seconds field",
    }


def test_schedule_six_field_cron_points():
    # One of seven equally weighted groups fails: 6/7 of 3 points.
    assert grade("m09.retrain_schedule", schedule(CronTrigger(expression="0 0 2 * * 1")), points=3) == 2.5714


def test_schedule_sunday():
    assert failures("m09.retrain_schedule", schedule(CronTrigger(expression="0 2 * * 0"))) == {
        "every Monday at 02:00 UTC": "the trigger fires on sunday; it should fire on the day the exercise gives only",
    }


def test_schedule_minute_and_hour_swapped():
    assert failures("m09.retrain_schedule", schedule(CronTrigger(expression="2 0 * * 1"))) == {
        "every Monday at 02:00 UTC": "the trigger fires at 00:02; use the single time of day the exercise gives, in 24-hour time",
    }


def test_schedule_recurrence_without_pattern():
    failed = failures("m09.retrain_schedule", schedule(RecurrenceTrigger(frequency="week", interval=1)))

    assert failed["every Monday at 02:00 UTC"].startswith("the recurrence has no schedule.hours and schedule.minutes")


def test_schedule_every_seven_days():
    trigger = RecurrenceTrigger(frequency="day", interval=7, schedule=RecurrencePattern(hours=2, minutes=0))

    assert failures("m09.retrain_schedule", schedule(trigger)) == {
        "every Monday at 02:00 UTC": "the trigger repeats every 7 day(s), not once every week",
    }


def test_schedule_local_time_zone():
    trigger = CronTrigger(expression="0 2 * * 1", time_zone="Pacific Standard Time")

    assert failures("m09.retrain_schedule", schedule(trigger)) == {
        "every Monday at 02:00 UTC": "time_zone is 'Pacific Standard Time', but the exercise gives the time in UTC",
    }


def test_schedule_latest_label_frozen():
    job = training_job(inputs={"training_data": Input(type="uri_folder", path="azureml:taxi-trips@latest")})

    assert failures("m09.retrain_schedule", schedule(CronTrigger(expression="0 2 * * 1"), job)) == {
        "new trips at every run": "the input is azureml:taxi-trips@latest; azure-ai-ml resolves <name>@latest to one version "
        "when the schedule is created, so every run would read that version: read the datastore folder the exercise names instead",
    }


def test_schedule_pinned_data_floating_environment():
    job = training_job(
        inputs={"training_data": Input(type="uri_folder", path="azureml:taxi-trips:1")},
        environment="azureml:sklearn-env@latest",
    )

    failed = failures("m09.retrain_schedule", schedule(CronTrigger(expression="0 2 * * 1"), job))

    assert sorted(failed) == ["new trips at every run", "pinned environment"]
    assert failed["new trips at every run"].startswith("the input is azureml:taxi-trips:1, a pinned version,")
    assert failed["pinned environment"].startswith("`create_job.environment` = 'azureml:sklearn-env@latest': keep the environment pinned")
    # Two of seven equally weighted groups fail: 5/7 of 3 points.
    assert grade("m09.retrain_schedule", schedule(CronTrigger(expression="0 2 * * 1"), job), points=3) == 2.1429


def test_schedule_folder_without_slash_accepted():
    job = training_job(inputs={"training_data": Input(type="uri_folder", path=TRIPS_FOLDER.rstrip("/"))})

    assert check("m09.retrain_schedule", schedule(CronTrigger(expression="0 2 * * 1"), job)).passed


def test_schedule_undeclared_binding():
    job = training_job(command="python train.py --data ${{inputs.trips}} --model ${{outputs.model}}")

    failed = failures("m09.retrain_schedule", schedule(CronTrigger(expression="0 2 * * 1"), job))

    assert list(failed) == ["Azure ML spec check"]
    assert failed["Azure ML spec check"].startswith("AML060 create_job.command: the command binds `${{inputs.trips}}`")


def test_schedule_job_without_schedule():
    failed = failures("m09.retrain_schedule", training_job())

    assert failed["azure-ai-ml JobSchedule entity"] == "expected an azure-ai-ml JobSchedule object, got Command"
    assert grade("m09.retrain_schedule", training_job(), points=3) == 0


def test_schedule_invalid_frequency_explained():
    failed = failures("m09.retrain_schedule", schedule(RecurrenceTrigger(frequency="weekly", interval=1)))

    assert failed["schedule name"].startswith("azure-ai-ml cannot turn the JobSchedule into a spec: ")
    assert "Value 'weekly' passed is not in set ['minute', 'hour', 'day', 'week', 'month']" in failed["schedule name"]


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ({"type": "cron", "expression": "30 6 * * 1,4"}, Timing("week", 1, frozenset({"monday", "thursday"}), frozenset({6}), frozenset({30}), "UTC")),
        ({"type": "cron", "expression": "*/30 * * * *"}, Timing("day", 1, frozenset(), frozenset(range(24)), frozenset({0, 30}), "UTC")),
        ({"type": "cron", "expression": "0 2 * * 1-5"}, Timing("week", 1, WORKING_DAYS, frozenset({2}), frozenset({0}), "UTC")),
        ({"type": "cron", "expression": "0 2 * * MON-FRI"}, Timing("week", 1, WORKING_DAYS, frozenset({2}), frozenset({0}), "UTC")),
        ({"type": "cron", "expression": "0 2 * * SUN"}, Timing("week", 1, frozenset({"sunday"}), frozenset({2}), frozenset({0}), "UTC")),
        ({"type": "recurrence", "frequency": "day", "interval": 2, "schedule": {"hours": 3, "minutes": [15, 45]}},
         Timing("day", 2, frozenset(), frozenset({3}), frozenset({15, 45}), "UTC")),
    ],
    ids=["cron_two_days", "cron_steps", "cron_range", "cron_named_range", "cron_sunday_name", "recurrence"],
)
def test_read_timing(trigger, expected):
    assert read_timing(trigger) == expected


def test_read_timing_monthly_cron_rejected():
    with pytest.raises(AssertionError, match=r"^cron expression '0 2 1 \* \*' sets the day of the month or the month, which Azure ML ignores"):
        read_timing({"type": "cron", "expression": "0 2 1 * *"})


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 25 * * *", "has a field '25' with a value outside 0-23"),
        ("0 2 * * 7", "has a field '7' with a value outside 0-6"),
        ("0 2 * * 1/0", "has a field '1/0' that is not a number, list, range or step"),
        ("0 2 * * someday", "has a field 'someday' that is not a number, list, range or step"),
    ],
    ids=["hour_25", "day_7", "zero_step", "unknown_day"],
)
def test_read_timing_invalid_cron(expression, problem):
    with pytest.raises(AssertionError) as error:
        read_timing({"type": "cron", "expression": expression})

    assert str(error.value) == f"cron expression {expression!r} {problem}"


def test_require_timing_daily():
    timing = read_timing({"type": "cron", "expression": "15 3 * * *", "time_zone": "UTC"})

    require_timing(timing, frequency="day", week_days=frozenset(), hour=3, minute=15)


# --- Release workflow -------------------------------------------------------------------------------


def workflow_with(solutions, old: str, new: str) -> str:
    workflow = solutions["m09.release_workflow"].answer
    assert old in workflow
    return workflow.replace(old, new)


def test_workflow_without_approval(solutions):
    workflow = workflow_with(solutions, "    environment: production\n", "")

    assert failures("m09.release_workflow", workflow) == {
        "approval before deploy": "the deploy job does not run in the GitHub environment whose required reviewers "
        "approve releases; set its `environment`",
    }
    # One of six equally weighted groups fails: 5/6 of 3 points.
    assert grade("m09.release_workflow", workflow, points=3) == 2.5


def test_workflow_approval_on_training(solutions):
    workflow = workflow_with(solutions, "  train:\n    runs-on", "  train:\n    environment: production\n    runs-on")

    assert failures("m09.release_workflow", workflow) == {
        "approval before deploy": "job(s) train also wait for the production approval; only the deploy job reaches customers",
    }


def test_workflow_approval_as_mapping(solutions):
    workflow = workflow_with(solutions, "    environment: production\n", "    environment:\n      name: production\n")

    assert check("m09.release_workflow", workflow).passed


def test_workflow_deploy_skips_register(solutions):
    workflow = workflow_with(solutions, "    needs: register\n", "    needs: train\n")

    assert failures("m09.release_workflow", workflow) == {
        "train, register, deploy in order": "job 'deploy' does not list 'register' in `needs`, so it may start before register has finished",
    }


def test_workflow_all_traffic(solutions):
    workflow = workflow_with(solutions, "--file ml/green.yml", "--file ml/green.yml --all-traffic")

    assert failures("m09.release_workflow", workflow) == {
        "safe rollout in deploy": "`--all-traffic` sends every request to the new deployment at once; create it without live traffic",
    }


def test_workflow_every_branch(solutions):
    workflow = workflow_with(solutions, '  push:\n    branches: [main]\n    paths: ["ml/**", "src/**"]\n', "  push:\n")

    assert list(failures("m09.release_workflow", workflow)) == ["runs on pushes to main"]


def test_workflow_stored_secret(solutions):
    login = (
        "          client-id: ${{ vars.AZURE_CLIENT_ID }}\n"
        "          tenant-id: ${{ vars.AZURE_TENANT_ID }}\n"
        "          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}\n"
    )
    workflow = workflow_with(solutions, login, "          creds: ${{ secrets.AZURE_CREDENTIALS }}\n")

    assert failures("m09.release_workflow", workflow) == {
        "sign-in without a stored secret": "job 'train' signs in with a stored client secret; use OpenID Connect: "
        "client-id, tenant-id and subscription-id only",
    }


def test_workflow_without_token_permission(solutions):
    workflow = workflow_with(solutions, "  id-token: write\n", "")

    assert failures("m09.release_workflow", workflow) == {
        "sign-in without a stored secret": "job 'train' cannot request an OpenID Connect token: grant `permissions: id-token: write`",
    }


def test_workflow_quoted_on_key(solutions):
    workflow = workflow_with(solutions, "\non:\n", '\n"on":\n')

    assert check("m09.release_workflow", workflow).passed


def test_workflow_invalid_yaml():
    failed = failures("m09.release_workflow", "jobs: [")

    assert len(failed) == 6
    assert failed["workflow structure"].startswith("the workflow is not valid YAML: ")


def test_workflow_wrong_type():
    result = check("m09.release_workflow", 42)

    assert result.score == 0
    assert result.messages[0] == "workflow structure: expected the workflow as a YAML string, got int"
