"""Tests of the module 10 sdk exercise: a monitor schedule whose thresholds reach the service.

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
from azure.ai.ml.entities import (
    CronTrigger,
    DataQualityMetricsCategorical,
    NumericalDriftMetrics,
    RecurrencePattern,
    RecurrenceTrigger,
)

from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m10" / "sdk.ipynb"
EXERCISE_IDS = ["m10.monitor_schedule"]


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
    """Run each test in the notebook's folder, as the notebook runs."""
    monkeypatch.chdir(NOTEBOOK.parent)


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m10.") and exercise.kind == "sdk"
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


# --- Wrong monitors ----------------------------------------------------------------------------------


def monitor_with(solutions, change) -> Any:
    """Return a copy of the solution's monitor with ``change(monitor)`` applied."""
    monitor = copy.deepcopy(solutions["m10.monitor_schedule"].answer)
    change(monitor)
    return monitor


def signal(monitor, name):
    return monitor.create_monitor.monitoring_signals[name]


def test_zero_threshold_dropped(solutions):
    def strict(monitor):
        signal(monitor, "trip_drift").metric_thresholds.numerical = NumericalDriftMetrics(normalized_wasserstein_distance=0)

    failed = failures("m10.monitor_schedule", monitor_with(solutions, strict))

    assert sorted(failed) == ["data drift signal", "thresholds reach the monitor"]
    assert failed["thresholds reach the monitor"].startswith(
        "AML070 create_monitor.monitoring_signals.trip_drift.metric_thresholds.numerical.normalized_wasserstein_distance: "
        "threshold normalized_wasserstein_distance is 0"
    )


def test_zero_threshold_points(solutions):
    def strict(monitor):
        signal(monitor, "trip_drift").metric_thresholds.numerical = NumericalDriftMetrics(normalized_wasserstein_distance=0)

    # Two of ten equally weighted groups fail: 8/10 of 5 points.
    assert grade("m10.monitor_schedule", monitor_with(solutions, strict), points=5) == 4.0


def test_two_numerical_metrics(solutions):
    def both(monitor):
        signal(monitor, "trip_drift").metric_thresholds.numerical = NumericalDriftMetrics(
            normalized_wasserstein_distance=0.08, jensen_shannon_distance=0.1
        )

    failed = failures("m10.monitor_schedule", monitor_with(solutions, both))

    assert sorted(failed) == ["data drift signal", "thresholds reach the monitor"]
    assert failed["thresholds reach the monitor"].startswith("AML071 create_monitor.monitoring_signals.trip_drift.metric_thresholds.numerical")
    assert "keeps only `jensen_shannon_distance`" in failed["thresholds reach the monitor"]


def test_categorical_quality_thresholds(solutions):
    def categorical(monitor):
        signal(monitor, "trip_quality").metric_thresholds.categorical = DataQualityMetricsCategorical(null_value_rate=0.02)

    failed = failures("m10.monitor_schedule", monitor_with(solutions, categorical))

    assert list(failed) == ["thresholds reach the monitor"]
    assert failed["thresholds reach the monitor"].startswith("AML072 create_monitor.monitoring_signals.trip_quality.metric_thresholds.categorical")
    assert grade("m10.monitor_schedule", monitor_with(solutions, categorical), points=5) == 4.5


def test_alerts_left_off(solutions):
    def silent(monitor):
        signal(monitor, "fare_drift").alert_enabled = False

    assert failures("m10.monitor_schedule", monitor_with(solutions, silent)) == {
        "prediction drift signal": "signal 'fare_drift' has alerts off (alert_enabled defaults to False in azure-ai-ml): set alert_enabled=True",
    }


def test_wrong_reference_context(solutions):
    def from_production(monitor):
        signal(monitor, "fare_drift").reference_data.data_context = "training"

    assert failures("m10.monitor_schedule", monitor_with(solutions, from_production)) == {
        "prediction drift signal": "signal 'fare_drift' gives its reference data the data_context 'training'; it is validation data",
    }


def test_prediction_drift_missing(solutions):
    def without(monitor):
        monitor.create_monitor.monitoring_signals.pop("fare_drift")

    assert failures("m10.monitor_schedule", monitor_with(solutions, without)) == {
        "prediction drift signal": "the monitor has no prediction_drift signal: add a PredictionDriftSignal to monitoring_signals",
    }


def test_quality_features(solutions):
    def more(monitor):
        signal(monitor, "trip_quality").features = ["trip_distance", "passenger_count", "pickup_zone"]

    failed = failures("m10.monitor_schedule", monitor_with(solutions, more))

    assert list(failed) == ["data quality signal"]
    assert failed["data quality signal"].startswith("signal 'trip_quality' checks the features ['trip_distance', 'passenger_count', 'pickup_zone']")


def test_weekly_trigger(solutions):
    def weekly(monitor):
        monitor.trigger = RecurrenceTrigger(
            frequency="week", interval=1, schedule=RecurrencePattern(hours=3, minutes=15, week_days=["monday"])
        )

    assert failures("m10.monitor_schedule", monitor_with(solutions, weekly)) == {
        "every day at 03:15 UTC": "the trigger repeats every 1 week(s), not once every day",
    }


def test_cron_trigger_accepted(solutions):
    def cron(monitor):
        monitor.trigger = CronTrigger(expression="15 3 * * *")

    assert grade("m10.monitor_schedule", monitor_with(solutions, cron), points=5) == 5


def test_monitors_green(solutions):
    def green(monitor):
        monitor.create_monitor.monitoring_target.endpoint_deployment_id = "azureml:fare-endpoint:green"

    failed = failures("m10.monitor_schedule", monitor_with(solutions, green))

    assert list(failed) == ["monitored deployment"]
    assert failed["monitored deployment"].startswith("the monitor watches azureml:fare-endpoint:green;")


def test_classification_task(solutions):
    def classification(monitor):
        monitor.create_monitor.monitoring_target.ml_task = "classification"

    assert failures("m10.monitor_schedule", monitor_with(solutions, classification)) == {
        "monitored deployment": "ml_task is 'classification'; a fare in dollars is predicted by regression",
    }


def test_definition_without_schedule(solutions):
    definition = solutions["m10.monitor_schedule"].answer.create_monitor

    result = check("m10.monitor_schedule", definition)

    assert result.score == 0
    assert result.messages[0] == "azure-ai-ml MonitorSchedule entity: expected an azure-ai-ml MonitorSchedule object, got MonitorDefinition"
    assert result.messages[1].startswith("Azure ML spec check: cannot check a spec of type MonitorDefinition")


def test_solution_left_unchanged(solutions):
    monitor = solutions["m10.monitor_schedule"].answer
    before = monitor._to_dict()

    check("m10.monitor_schedule", monitor)

    assert monitor._to_dict() == before
