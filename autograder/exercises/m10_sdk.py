"""Module 10, monitoring as a spec: a MonitorSchedule with data drift, prediction drift and data
quality signals whose thresholds all reach the service."""

from __future__ import annotations

import math
from typing import Any

from autograder.checks.core import CaseGroup
from autograder.checks.specs import passes_spec_check
from autograder.exercises import Exercise, register
from autograder.exercises.m09_sdk import (
    entity,
    field_check,
    on_copy,
    read_timing,
    require_timing,
    spec_rule,
    thresholds_reach_monitor,
)

MONITOR_TIMING = {"frequency": "day", "week_days": frozenset(), "hour": 3, "minute": 15}
MONITORED_DEPLOYMENT = "azureml:fare-endpoint:blue"
TRAINING_TABLE = "azureml:taxi-trips-table:1"
VALIDATION_PREDICTIONS = "azureml:taxi-validation-predictions:1"
ALERT_EMAIL = "fare-oncall@example.com"


def signals_of_type(spec: dict[str, Any], signal_type: str) -> list[tuple[str, dict[str, Any]]]:
    """Return the (name, signal) pairs of a monitor schedule spec whose ``type`` is ``signal_type``."""
    monitor = spec.get("create_monitor")
    signals = monitor.get("monitoring_signals") if isinstance(monitor, dict) else None
    if not isinstance(signals, dict):
        return []
    return [(str(name), signal) for name, signal in signals.items() if isinstance(signal, dict) and signal.get("type") == signal_type]


def one_signal(spec: dict[str, Any], signal_type: str, entity_class: str) -> tuple[str, dict[str, Any]]:
    """Return the only signal of ``signal_type``, or fail naming the class that builds it."""
    found = signals_of_type(spec, signal_type)
    if not found:
        raise AssertionError(f"the monitor has no {signal_type} signal: add a {entity_class} to monitoring_signals")
    if len(found) > 1:
        raise AssertionError(f"the monitor has {len(found)} {signal_type} signals ({', '.join(name for name, _ in found)}); keep one")
    return found[0]


def require_reference(name: str, signal: dict[str, Any], path: str, context: str) -> None:
    """Fail unless the signal's reference data is the mltable asset ``path`` in the data context ``context``."""
    reference = signal.get("reference_data") if isinstance(signal.get("reference_data"), dict) else {}
    data = reference.get("input_data") if isinstance(reference.get("input_data"), dict) else {}
    if data.get("path") != path or data.get("type") != "mltable":
        raise AssertionError(
            f"signal {name!r} compares production data with {data.get('path') or 'no reference data'}; "
            "use the mltable asset the exercise names for this signal, as an Input of type mltable"
        )
    if reference.get("data_context") != context:
        raise AssertionError(f"signal {name!r} gives its reference data the data_context {reference.get('data_context')!r}; it is {context} data")


def require_thresholds(name: str, signal: dict[str, Any], data_type: str, expected: dict[str, float]) -> None:
    """Fail unless the thresholds of ``data_type`` set exactly the metrics and values of ``expected``."""
    thresholds = signal.get("metric_thresholds") if isinstance(signal.get("metric_thresholds"), dict) else {}
    metrics = thresholds.get(data_type) if isinstance(thresholds.get(data_type), dict) else {}
    found = {metric: value for metric, value in metrics.items() if value is not None}
    same = found.keys() == expected.keys() and all(
        isinstance(found[metric], (int, float)) and math.isclose(found[metric], value, abs_tol=1e-9) for metric, value in expected.items()
    )
    if not same:
        raise AssertionError(
            f"signal {name!r} sets the {data_type} thresholds {found or 'to none'}; "
            "set exactly the metric and value the exercise gives for this data type"
        )


def require_alerts(name: str, signal: dict[str, Any]) -> None:
    """Fail when the signal would not notify anyone, which is azure-ai-ml's default."""
    if signal.get("alert_enabled") is not True:
        raise AssertionError(f"signal {name!r} has alerts off (alert_enabled defaults to False in azure-ai-ml): set alert_enabled=True")


def _data_drift(spec: dict[str, Any]) -> None:
    name, signal = one_signal(spec, "data_drift", "DataDriftSignal")
    require_reference(name, signal, TRAINING_TABLE, "training")
    require_thresholds(name, signal, "numerical", {"normalized_wasserstein_distance": 0.08})
    require_thresholds(name, signal, "categorical", {"jensen_shannon_distance": 0.12})
    require_alerts(name, signal)


def _prediction_drift(spec: dict[str, Any]) -> None:
    name, signal = one_signal(spec, "prediction_drift", "PredictionDriftSignal")
    require_reference(name, signal, VALIDATION_PREDICTIONS, "validation")
    require_thresholds(name, signal, "numerical", {"population_stability_index": 0.1})
    require_alerts(name, signal)


def _data_quality(spec: dict[str, Any]) -> None:
    name, signal = one_signal(spec, "data_quality", "DataQualitySignal")
    require_reference(name, signal, TRAINING_TABLE, "training")
    features = signal.get("features")
    if not isinstance(features, list) or sorted(map(str, features)) != ["passenger_count", "trip_distance"]:
        raise AssertionError(f"signal {name!r} checks the features {features!r}; list the two numerical features the exercise names")
    require_thresholds(name, signal, "numerical", {"null_value_rate": 0.02, "out_of_bounds_rate": 0.01})
    require_alerts(name, signal)


def _target(spec: dict[str, Any]) -> None:
    monitor = spec.get("create_monitor") if isinstance(spec.get("create_monitor"), dict) else {}
    target = monitor.get("monitoring_target") if isinstance(monitor.get("monitoring_target"), dict) else {}
    if target.get("endpoint_deployment_id") != MONITORED_DEPLOYMENT:
        raise AssertionError(
            f"the monitor watches {target.get('endpoint_deployment_id') or 'no deployment'}; "
            "point monitoring_target.endpoint_deployment_id at the live deployment, written azureml:<endpoint>:<deployment>"
        )
    if target.get("ml_task") != "regression":
        raise AssertionError(f"ml_task is {target.get('ml_task')!r}; a fare in dollars is predicted by regression")


def _alert_email(value: Any) -> bool:
    return isinstance(value, list) and ALERT_EMAIL in value


def _monitor_groups() -> list[CaseGroup]:
    groups = [
        entity("monitor_schedule"),
        passes_spec_check("monitor_schedule"),
        thresholds_reach_monitor(),
        field_check("schedule name", "name", lambda value: value == "fare-model-monitor",
                   "use the monitor name the exercise gives, so the team's dashboards find it"),
        spec_rule("every day at 03:15 UTC", lambda spec: require_timing(read_timing(spec.get("trigger")), **MONITOR_TIMING)),
        spec_rule("monitored deployment", _target),
        spec_rule("data drift signal", _data_drift),
        spec_rule("prediction drift signal", _prediction_drift),
        spec_rule("data quality signal", _data_quality),
        field_check("alert recipients", "create_monitor.alert_notification.emails", _alert_email,
                   "send alerts to the on-call address the exercise gives, with AlertNotification(emails=[...])"),
    ]
    return [on_copy(group) for group in groups]


register(Exercise("m10.monitor_schedule", "sdk", "A monitor schedule whose thresholds reach the service",
                  _monitor_groups, lambda: _monitor_groups()))
