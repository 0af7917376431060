"""Module 07, pipelines and the registry: a command component written as YAML, and a
``@dsl.pipeline`` that wires a prep step into a train step whose environment comes from a registry."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

import yaml

from autograder.checks.core import CaseGroup
from autograder.checks.specs import command_bindings, field_value, passes_spec_check, to_spec
from autograder.exercises import Exercise, register

# --- Command component ----------------------------------------------------------------------------

# Input or output name -> (type, why that type).
_COMPONENT_INPUTS = {
    "model": ("mlflow_model", "the training step saves an MLflow model, and evaluate.py loads it with mlflow"),
    "test_data": ("uri_folder", "the prep step writes the test trips as a folder of Parquet files"),
    "max_rmse": ("number", "the RMSE threshold is a number of dollars with a fractional part"),
}
_COMPONENT_OUTPUTS = {"report": ("uri_folder", "evaluate.py writes report.json into a folder")}
MAX_RMSE_DEFAULT = 4.5
WORKSPACE_REFERENCE = re.compile(r"^azureml:[A-Za-z0-9][\w.-]*:[0-9]+$")


def _yaml_text(answer: Any) -> None:
    if not isinstance(answer, str):
        raise AssertionError(
            f"expected the component as a YAML string, got {type(answer).__name__}: this exercise practises "
            "the YAML form that `az ml component create --file` takes"
        )
    try:
        loaded = yaml.safe_load(answer)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or " ".join(str(error).split())
        raise AssertionError(f"the string is not valid YAML: {problem}{where}") from None
    if not isinstance(loaded, dict):
        raise AssertionError("the YAML does not hold a mapping of keys to values")


def _yaml_spec(answer: Any) -> dict[str, Any]:
    _yaml_text(answer)
    return to_spec(answer)


def _name_and_version(answer: Any) -> None:
    spec = _yaml_spec(answer)
    if spec.get("name") != "evaluate_fare_model":
        raise AssertionError(f"`name` = {spec.get('name')!r}: use the component name the exercise gives, which pipelines load it by")
    if str(spec.get("version")) != "1":
        raise AssertionError(
            f"`version` = {spec.get('version')!r}: give the first version, so that pipelines can pin "
            "azureml:evaluate_fare_model:<version>"
        )


def _typed_ports(section: str, expected: dict[str, tuple[str, str]]):
    def run(answer: Any) -> None:
        declared = _yaml_spec(answer).get(section)
        declared = declared if isinstance(declared, dict) else {}
        for name, (port_type, reason) in expected.items():
            port = declared.get(name)
            if not isinstance(port, dict):
                raise AssertionError(f"`{section}` declares no `{name}` with a type; the exercise lists the {section} to declare")
            if port.get("type") != port_type:
                raise AssertionError(f"`{section}.{name}.type` = {port.get('type')!r}: {reason}")
        extra = sorted(set(declared) - set(expected))
        if extra:
            raise AssertionError(f"`{section}` also declares {', '.join(extra)}, which evaluate.py does not take")

    return run


def _threshold_default(answer: Any) -> None:
    value = field_value(_yaml_spec(answer), "inputs.max_rmse.default")
    if value is None:
        raise AssertionError("`inputs.max_rmse` has no default, so every pipeline step must set it; give it the default the exercise states")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"`inputs.max_rmse.default` = {value!r} is not a number") from None
    if number != MAX_RMSE_DEFAULT:
        raise AssertionError(f"`inputs.max_rmse.default` = {value!r}: use the threshold the exercise states, in dollars")


def _component_bindings(answer: Any) -> None:
    spec = _yaml_spec(answer)
    command = spec.get("command")
    if not isinstance(command, str) or not command.strip():
        raise AssertionError("`command` is not set")
    used = set(command_bindings(command))
    for section in ("inputs", "outputs"):
        for name in spec.get(section) or {}:
            if (section, name) not in used:
                raise AssertionError(
                    f"the component declares {section[:-1]} `{name}`, but the command never passes "
                    f"${{{{{section}.{name}}}}} to evaluate.py"
                )


def _code_and_environment(answer: Any) -> None:
    spec = _yaml_spec(answer)
    code = spec.get("code")
    if not isinstance(code, str) or PurePath(code).name != "src":
        raise AssertionError(f"`code` = {code!r}: upload the folder src next to the notebook, which holds evaluate.py")
    environment = spec.get("environment")
    if not isinstance(environment, str) or not WORKSPACE_REFERENCE.match(environment):
        raise AssertionError(
            f"`environment` = {environment!r}: reference the registered environment the exercise names, "
            "written azureml:<name>:<version>"
        )


def _component_groups() -> list[CaseGroup]:
    return [
        CaseGroup("YAML string", _yaml_text),
        passes_spec_check("command_component"),
        CaseGroup("name and version", _name_and_version),
        CaseGroup("typed inputs", _typed_ports("inputs", _COMPONENT_INPUTS)),
        CaseGroup("default RMSE threshold", _threshold_default),
        CaseGroup("typed output", _typed_ports("outputs", _COMPONENT_OUTPUTS)),
        CaseGroup("command bindings", _component_bindings),
        CaseGroup("code and environment", _code_and_environment),
    ]


# --- Pipeline ---------------------------------------------------------------------------------------

REGISTRY = "contoso-ml"
REGISTRY_ENVIRONMENT = re.compile(rf"^azureml://registries/{REGISTRY}/environments/fare-training/versions/[0-9]+$")
# Step input -> the pipeline input it is bound to.
_PARAMETER_BINDINGS = {("prep", "raw_trips"): "raw_trips", ("prep", "test_share"): "test_share", ("train", "learning_rate"): "learning_rate"}
_PARAMETER_DEFAULTS = {"test_share": 0.2, "learning_rate": 0.05}


def _is_pipeline(answer: Any) -> None:
    # NOTE: is_entity("pipeline_job") of autograder.checks.specs lists only the entity classes of
    # modules 01 and 02, so this group checks the class name itself.
    if type(answer).__name__ != "PipelineJob":
        if callable(answer):
            raise AssertionError("got the pipeline function itself: call it with the raw trips input to build the PipelineJob")
        raise AssertionError(
            f"expected the azure-ai-ml PipelineJob that calling a @dsl.pipeline function returns, got {type(answer).__name__}"
        )


def _binding(value: Any) -> str | None:
    """Return the ``${{...}}`` expression a step port is bound to, or None for a fixed value."""
    if isinstance(value, dict):
        value = value.get("path")
    if isinstance(value, str) and value.strip().startswith("${{"):
        return re.sub(r"\s+", "", value)
    return None


def _shown(value: Any) -> str:
    """Describe a step port's value for a message: its binding, or the fixed value."""
    binding = _binding(value)
    return f"bound to {binding}" if binding else f"the fixed value {value!r}"


def _step(spec: dict[str, Any], name: str) -> dict[str, Any]:
    jobs = spec.get("jobs")
    jobs = jobs if isinstance(jobs, dict) else {}
    step = jobs.get(name)
    if not isinstance(step, dict):
        raise AssertionError(
            f"the pipeline has no step `{name}` (steps: {', '.join(map(str, jobs)) or 'none'}); "
            "a step is named after the variable it is assigned to inside the pipeline function"
        )
    return step


def _steps(answer: Any) -> None:
    spec = to_spec(answer)
    for name in ("prep", "train"):
        _step(spec, name)


def _raw_trips(answer: Any) -> None:
    value = field_value(to_spec(answer), "inputs.raw_trips")
    if not isinstance(value, dict):
        raise AssertionError("the pipeline has no input `raw_trips` with a type and a path: pass it an Input(...) when you call the pipeline function")
    if value.get("type") != "uri_folder" or value.get("path") != "azureml:taxi-trips:1":
        raise AssertionError(
            f"`inputs.raw_trips` is a {value.get('type')!r} of {value.get('path')!r}: "
            "pass version 1 of the registered folder of trips that the exercise names"
        )


def _parameters_bound(answer: Any) -> None:
    spec = to_spec(answer)
    for (step_name, port), parameter in _PARAMETER_BINDINGS.items():
        value = field_value(_step(spec, step_name), f"inputs.{port}")
        expected = f"${{{{parent.inputs.{parameter}}}}}"
        if _binding(value) != expected:
            raise AssertionError(
                f"`jobs.{step_name}.inputs.{port}` is {_shown(value)}, not the pipeline parameter `{parameter}`: pass the "
                "pipeline function's parameter to the step, so that the value can change at submission"
            )
    for parameter, default in _PARAMETER_DEFAULTS.items():
        value = field_value(spec, f"inputs.{parameter}")
        if value != default:
            raise AssertionError(f"pipeline input `{parameter}` = {value!r}: give the function parameter the default the exercise states")


def _prep_feeds_train(answer: Any) -> None:
    value = field_value(_step(to_spec(answer), "train"), "inputs.train_data")
    if _binding(value) != "${{parent.jobs.prep.outputs.train_data}}":
        raise AssertionError(
            f"`jobs.train.inputs.train_data` is {_shown(value)}: train on the training split that the prep step writes, "
            "by passing the prep step's output to the train step"
        )


def _pipeline_output(answer: Any) -> None:
    spec = to_spec(answer)
    value = field_value(_step(spec, "train"), "outputs.model")
    if _binding(value) != "${{parent.outputs.trained_model}}" or not isinstance(field_value(spec, "outputs.trained_model"), dict):
        raise AssertionError(
            "the train step's `model` is not the pipeline output `trained_model`: return it from the pipeline "
            "function as a dict of output names, so that the model outlives the step"
        )


def _registry_environment(answer: Any) -> None:
    step = _step(to_spec(answer), "train")
    component = step.get("component")
    environment = component.get("environment") if isinstance(component, dict) else None
    environment = step.get("environment", environment)
    if not isinstance(environment, str):
        raise AssertionError("the train step has no environment reference")
    if REGISTRY_ENVIRONMENT.match(environment):
        return
    if environment.startswith(f"azureml://registries/{REGISTRY}/environments/fare-training/"):
        raise AssertionError(f"the train step's environment is {environment!r}: pin a version, which never changes, instead of a label")
    raise AssertionError(
        f"the train step's environment is {environment!r}: use the environment fare-training that the "
        f"{REGISTRY} registry shares, written azureml://registries/<registry>/environments/<name>/versions/<version>"
    )


def _default_compute(answer: Any) -> None:
    spec = to_spec(answer)
    compute = spec.get("compute") or field_value(spec, "settings.default_compute")
    if str(compute).removeprefix("azureml:") != "cpu-cluster":
        raise AssertionError(f"the pipeline's compute is {compute!r}: run its steps on the cluster cpu-cluster")


def _pipeline_groups() -> list[CaseGroup]:
    return [
        CaseGroup("azure-ai-ml PipelineJob entity", _is_pipeline),
        passes_spec_check("pipeline_job"),
        CaseGroup("steps prep and train", _steps),
        CaseGroup("raw trips input", _raw_trips),
        CaseGroup("pipeline parameters bound", _parameters_bound),
        CaseGroup("prep output feeds train", _prep_feeds_train),
        CaseGroup("pipeline output", _pipeline_output),
        CaseGroup("registry environment", _registry_environment),
        CaseGroup("default compute", _default_compute),
    ]


register(Exercise("m07.command_component", "sdk", "A command component in YAML",
                  _component_groups, lambda: _component_groups()))
register(Exercise("m07.pipeline", "sdk", "A two-step pipeline with a registry environment",
                  _pipeline_groups, lambda: _pipeline_groups()))
