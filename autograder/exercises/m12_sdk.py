"""Module 12, the capstone release as specs: a training pipeline that registers the model, a
canary deployment of that model, the monitor that watches it and the schedule that retrains it.

Each spec is checked on its own, then field rules check that they fit together.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from autograder.checks.core import CaseGroup
from autograder.checks.specs import passes_spec_check
from autograder.errors import SpecInputError
from autograder.exercises import Exercise, register
from autograder.exercises.m09_sdk import (
    answer_part,
    entity,
    field_check,
    part_groups,
    read_timing,
    require_current_folder,
    require_timing,
    spec_copy,
    spec_of,
    spec_rule,
    thresholds_reach_monitor,
)
from autograder.exercises.m10_sdk import require_alerts, signals_of_type

RELEASE_KEYS = ("pipeline", "endpoint", "deployment", "monitor", "retraining")
PREP, TRAIN, REGISTER = "prep_claims", "train_triage_model", "register_triage_model"
MODEL_NAME = "claims-triage-model"
CLAIMS_FOLDER = "azureml://datastores/workspaceblobstore/paths/claims/"
CANARY_PERCENT = 10
RETRAIN_TIMING = {"frequency": "week", "week_days": frozenset({"sunday"}), "hour": 1, "minute": 0}
PRODUCTION_RULES = ("high_availability", "pinned_images")
_PARENT_OUTPUT = re.compile(r"^\$\{\{\s*parent\.jobs\.([A-Za-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\s*\}\}$")
_PARENT_INPUT = re.compile(r"^\$\{\{\s*parent\.inputs\.([A-Za-z0-9_]+)\s*\}\}$")


# --- Reading a pipeline spec ---------------------------------------------------------------------------


def _component_name(step: dict[str, Any]) -> str | None:
    component = step.get("component")
    if isinstance(component, dict):
        return component.get("name")
    if isinstance(component, str):
        # A registered component: azureml:<name>:<version> or azureml:<name>@<label>.
        return re.split(r"[:@]", component.removeprefix("azureml:"))[0] or None
    return None


def pipeline_steps(pipeline: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Map each component name of a pipeline spec to its (step name, step), failing when one is missing or repeated."""
    jobs = pipeline.get("jobs") if isinstance(pipeline.get("jobs"), dict) else {}
    steps: dict[str, tuple[str, dict[str, Any]]] = {}
    for step_name, step in jobs.items():
        name = _component_name(step) if isinstance(step, dict) else None
        if name in steps:
            raise AssertionError(f"component {name} runs in two steps, {steps[name][0]} and {step_name}; run each component once")
        if name:
            steps[name] = (str(step_name), step)
    missing = [name for name in (PREP, TRAIN, REGISTER) if name not in steps]
    if missing:
        raise AssertionError(f"the pipeline has no step that runs {', '.join(missing)}; load the components from components/ and call each once")
    return steps


def _binding(step: dict[str, Any], name: str) -> str:
    value = (step.get("inputs") or {}).get(name)
    if isinstance(value, dict):
        value = value.get("path")
    return str(value) if value is not None else ""


def _bound_to_output(step: dict[str, Any], input_name: str, source_step: str, output: str) -> bool:
    match = _PARENT_OUTPUT.match(_binding(step, input_name))
    return bool(match) and match.groups() == (source_step, output)


def _wired(pipeline: dict[str, Any]) -> None:
    steps = pipeline_steps(pipeline)
    (prep_name, _), (train_name, train), (_, register_step) = steps[PREP], steps[TRAIN], steps[REGISTER]
    for input_name, output in (("train_data", "train_data"), ("test_data", "test_data")):
        if not _bound_to_output(train, input_name, prep_name, output):
            raise AssertionError(f"the training step's input {input_name} is not the prep step's output {output}")
    if not _bound_to_output(register_step, "model", train_name, "model"):
        raise AssertionError("the register step's input model is not the training step's output model, so it would register another model")


def registered_name(pipeline: dict[str, Any]) -> str:
    """Return the model name the register step of a pipeline spec passes, or an empty string."""
    return _binding(pipeline_steps(pipeline)[REGISTER][1], "model_name")


def _model_name(pipeline: dict[str, Any]) -> None:
    name = registered_name(pipeline)
    if name != MODEL_NAME:
        raise AssertionError(f"the register step registers the model as {name or 'nothing'}; pass the model name the exercise gives")


def raw_data_path(pipeline: dict[str, Any]) -> str:
    """Return the data path the prep step reads, following a binding to a pipeline input."""
    value = _binding(pipeline_steps(pipeline)[PREP][1], "raw_claims")
    match = _PARENT_INPUT.match(value)
    if match:
        pipeline_input = (pipeline.get("inputs") or {}).get(match.group(1))
        value = pipeline_input.get("path") if isinstance(pipeline_input, dict) else pipeline_input
    return str(value or "")


def _current_claims(pipeline: dict[str, Any]) -> None:
    require_current_folder(raw_data_path(pipeline), CLAIMS_FOLDER)


def _default_compute(pipeline: dict[str, Any]) -> None:
    compute = str((pipeline.get("settings") or {}).get("default_compute", "")).removeprefix("azureml:")
    if compute != "cpu-cluster":
        raise AssertionError("set default_compute of the pipeline to the cluster the exercise names, so every step has a compute target")


# --- Parts of the release --------------------------------------------------------------------------------


def _canary(spec: dict[str, Any]) -> None:
    traffic = spec.get("traffic") if isinstance(spec.get("traffic"), dict) else {}
    if traffic != {"blue": 100 - CANARY_PERCENT, "green": CANARY_PERCENT}:
        raise AssertionError(f"traffic is {traffic or 'not set'}; the challenger on green takes the canary share the exercise gives, and blue the rest")


def _collects_data(spec: dict[str, Any]) -> None:
    collector = spec.get("data_collector") if isinstance(spec.get("data_collector"), dict) else {}
    collections = collector.get("collections") if isinstance(collector.get("collections"), dict) else {}
    for name in ("model_inputs", "model_outputs"):
        collection = collections.get(name)
        enabled = collection.get("enabled") if isinstance(collection, dict) else None
        if str(enabled).lower() != "true":
            raise AssertionError(
                f"the deployment does not collect {name}, so the monitor has no production data to compare: "
                f"add DeploymentCollection(enabled=\"true\") for {name} to its DataCollector"
            )


def _drift_signals(spec: dict[str, Any]) -> None:
    for signal_type, entity_class in (("data_drift", "DataDriftSignal"), ("prediction_drift", "PredictionDriftSignal")):
        found = signals_of_type(spec, signal_type)
        if not found:
            raise AssertionError(f"the monitor has no {signal_type} signal: add a {entity_class}")
        for name, signal in found:
            require_alerts(name, signal)


def _retraining_timing(spec: dict[str, Any]) -> None:
    require_timing(read_timing(spec.get("trigger")), **RETRAIN_TIMING)


# --- How the parts fit together --------------------------------------------------------------------------


def _specs(answer: Any, *keys: str) -> list[dict[str, Any]]:
    specs = []
    for key in keys:
        try:
            specs.append(spec_of(spec_copy(answer_part(answer, key, RELEASE_KEYS))))
        except SpecInputError as error:
            raise AssertionError(f"{key}: {error}") from None
    return specs


def _tie(name: str, rule: Callable[..., None], *keys: str) -> CaseGroup:
    """Build a group that runs ``rule`` on the specs of several parts of the release, in the order of ``keys``."""
    return CaseGroup(f"release: {name}", lambda answer: rule(*_specs(answer, *keys)))


def _serves_registered_model(pipeline: dict[str, Any], deployment: dict[str, Any]) -> None:
    name = registered_name(pipeline)
    model = str(deployment.get("model", ""))
    if not re.fullmatch(rf"azureml:{re.escape(name)}:\d+", model):
        raise AssertionError(
            f"the deployment serves {model or 'no model'}, not a pinned version of {name or 'the model'} that the pipeline registers; "
            "write azureml:<registered name>:<version>"
        )


def _deployment_is_canary(endpoint: dict[str, Any], deployment: dict[str, Any]) -> None:
    if deployment.get("endpoint_name") != endpoint.get("name"):
        raise AssertionError(f"the deployment runs on {deployment.get('endpoint_name')!r}, not on the endpoint {endpoint.get('name')!r}")
    traffic = endpoint.get("traffic") if isinstance(endpoint.get("traffic"), dict) else {}
    if traffic.get(deployment.get("name")) != CANARY_PERCENT:
        raise AssertionError(f"the deployment {deployment.get('name')!r} is not the one that takes the canary share of the endpoint's traffic")


def _monitor_watches_canary(endpoint: dict[str, Any], deployment: dict[str, Any], monitor: dict[str, Any]) -> None:
    create_monitor = monitor.get("create_monitor") if isinstance(monitor.get("create_monitor"), dict) else {}
    target = create_monitor.get("monitoring_target") if isinstance(create_monitor.get("monitoring_target"), dict) else {}
    watched = f"azureml:{endpoint.get('name')}:{deployment.get('name')}"
    if target.get("endpoint_deployment_id") != watched:
        raise AssertionError(
            f"the monitor watches {target.get('endpoint_deployment_id') or 'no deployment'}, not the new deployment; "
            "write azureml:<endpoint>:<deployment>"
        )
    if target.get("ml_task") != "classification":
        raise AssertionError(f"ml_task is {target.get('ml_task')!r}; the triage model classifies claims as urgent or not")


def _schedule_runs_pipeline(pipeline: dict[str, Any], retraining: dict[str, Any]) -> None:
    job = retraining.get("create_job")
    if not isinstance(job, dict) or job.get("type") != "pipeline":
        raise AssertionError("the retraining schedule must submit the release pipeline itself: pass the pipeline job as create_job")
    for reader in (registered_name, raw_data_path):
        if reader(job) != reader(pipeline):
            raise AssertionError("the scheduled job differs from the release pipeline in its model name or its data; schedule the same pipeline job")


def _release_groups() -> list[CaseGroup]:
    parts = part_groups(RELEASE_KEYS, {
        "pipeline": [
            entity("pipeline_job"),
            passes_spec_check("pipeline_job", teaching_rules=("pinned_images",)),
            spec_rule("prep, train, register wired", _wired),
            spec_rule("registered model name", _model_name),
            spec_rule("new claims at every run", _current_claims),
            spec_rule("default compute", _default_compute),
        ],
        "endpoint": [
            entity("managed_online_endpoint"),
            passes_spec_check("managed_online_endpoint", teaching_rules=("aad_token_auth",), context={"deployments": ["blue", "green"]}),
            spec_rule("canary split", _canary),
        ],
        "deployment": [
            entity("managed_online_deployment"),
            passes_spec_check("managed_online_deployment", teaching_rules=PRODUCTION_RULES),
            field_check("challenger deployment", "name", lambda value: value == "green",
                       "the challenger runs in the deployment named green; blue keeps the champion"),
            spec_rule("collects model inputs and outputs", _collects_data),
        ],
        "monitor": [
            entity("monitor_schedule"),
            passes_spec_check("monitor_schedule"),
            thresholds_reach_monitor(),
            spec_rule("drift signals with alerts", _drift_signals),
        ],
        "retraining": [
            entity("job_schedule"),
            passes_spec_check("job_schedule", teaching_rules=("pinned_images",)),
            spec_rule("every Sunday at 01:00 UTC", _retraining_timing),
        ],
    })
    ties = [
        _tie("deployment serves the registered model", _serves_registered_model, "pipeline", "deployment"),
        _tie("deployment is the canary", _deployment_is_canary, "endpoint", "deployment"),
        _tie("monitor watches the canary", _monitor_watches_canary, "endpoint", "deployment", "monitor"),
        _tie("schedule runs the pipeline", _schedule_runs_pipeline, "pipeline", "retraining"),
    ]
    return parts + ties


register(Exercise("m12.release_pipeline", "sdk", "The release path as specs",
                  _release_groups, lambda: _release_groups()))
