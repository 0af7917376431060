"""Module 05, what happens when a job runs: a command job whose inputs and output use the data
access mode that fits how the script reads and writes them, with an environment built from a
local conda file."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from autograder.checks.core import CaseGroup
from autograder.checks.specs import command_bindings, field_rule, field_value, is_entity, passes_spec_check, to_spec
from autograder.exercises import Exercise, register

# Input name -> (input type, registered asset, why that type).
_INPUTS = {
    "trips": ("uri_folder", "azureml:taxi-trips:1", "taxi-trips is a folder of Parquet files, so the input is a uri_folder"),
    "zones": ("uri_file", "azureml:taxi-zones:1", "the zone table is a single CSV file, so the input is a uri_file"),
}

_ONE_PASS_FOLDER = {
    "download": "download copies the whole 80 GB folder to the node's disk before train.py starts, "
    "although the script reads each file only once; stream a large folder read once through a read-only mount",
    "direct": "direct passes the storage URI instead of a local path, and train.py opens local paths",
    "eval_mount": "eval_mount resolves the files of an MLTable input; trips is a plain folder",
    "eval_download": "eval_download resolves the files of an MLTable input; trips is a plain folder",
}
_SMALL_FILE = {
    "ro_mount": "through a mount, every read of the zone table goes over the network, and train.py opens it "
    "once per trips file; copy a small file that is read many times to the node's disk once",
    "direct": "direct passes the storage URI instead of a local path, and train.py opens local paths",
    "eval_mount": "eval_mount resolves the files of an MLTable input; the zone table is one CSV file",
    "eval_download": "eval_download resolves the files of an MLTable input; the zone table is one CSV file",
}
_MODEL_OUTPUT = {
    "upload": "upload lets train.py write to the node's disk and copies the files only after the script ends; "
    "the exercise asks for a mode that writes straight to storage while the script runs",
    "direct": "direct passes the storage URI instead of a local path, and MLflow saves the model to a local path",
    "mount": "the Azure ML CLI v2 YAML reference lists rw_mount, upload and direct as output modes; "
    "use its name for the read-write mount",
}


def _port(spec: dict[str, Any], section: str, port: str) -> dict[str, Any]:
    """Return the input or output ``port`` of a job spec; fail when it is missing or a plain value."""
    noun = section[:-1]
    value = field_value(spec, f"{section}.{port}")
    if value is None:
        raise AssertionError(f"the job has no {noun} `{port}`; declare it under `{section}`")
    if not isinstance(value, dict):
        # azure-ai-ml 1.35 also writes an Input or Output as text when its mode is not an accepted one.
        raise AssertionError(
            f"`{section}.{port}` is the plain value {value!r}, not an {noun} with a type, a path and a mode: "
            f"declare it with {noun.capitalize()}(...), and check that its mode is a valid {noun} mode"
        )
    return value


def _mode_rule(name: str, section: str, port: str, expected: str, problems: dict[str, str], fallback: str) -> CaseGroup:
    """Build a group that passes when the input or output ``port`` uses the access mode ``expected``.

    ``problems`` explains the likely wrong modes, and ``fallback`` any other wrong mode.
    """
    path = f"{section}.{port}"

    def run(answer: Any) -> None:
        mode = _port(to_spec(answer), section, port).get("mode")
        if mode is None:
            raise AssertionError(f"`{path}.mode` is not set: state the mode, so the spec shows how the job accesses the data")
        if mode != expected:
            raise AssertionError(f"`{path}.mode` = {mode!r}: {problems.get(mode, fallback)}")

    return CaseGroup(name, run)


def _input_assets(answer: Any) -> None:
    spec = to_spec(answer)
    for port, (input_type, asset, reason) in _INPUTS.items():
        value = _port(spec, "inputs", port)
        if value.get("type") != input_type:
            raise AssertionError(f"`inputs.{port}.type` = {value.get('type')!r}: {reason}")
        if value.get("path") != asset:
            raise AssertionError(
                f"`inputs.{port}.path` = {value.get('path')!r}: reference version 1 of the registered data asset "
                "that the exercise names, written azureml:<name>:<version>"
            )


def _bindings(answer: Any) -> None:
    spec = to_spec(answer)
    used = set(command_bindings(spec.get("command") or ""))
    for section in ("inputs", "outputs"):
        for name in spec.get(section) or {}:
            if (section, name) not in used:
                raise AssertionError(
                    f"the job declares {section[:-1]} `{name}`, but the command never passes "
                    f"${{{{{section}.{name}}}}} to train.py, so the script cannot find the data"
                )


def _conda_environment(answer: Any) -> None:
    environment = to_spec(answer).get("environment")
    if environment is None:
        raise AssertionError("`environment` is not set")
    if not isinstance(environment, dict):
        raise AssertionError(
            f"`environment` = {environment!r} names a registered environment; build one in the job from the "
            "local conda.yml and a pinned base image, with Environment(image=..., conda_file=...)"
        )
    if not environment.get("image"):
        raise AssertionError("the environment has no base `image`: conda installs its packages on top of a Docker image")
    conda_file = environment.get("conda_file")
    if conda_file is None:
        raise AssertionError("the environment has no `conda_file`: build it from the conda.yml next to the notebook")
    if isinstance(conda_file, str) and PurePath(conda_file).name != "conda.yml":
        raise AssertionError(f"`environment.conda_file` = {conda_file!r}: build it from the conda.yml next to the notebook")


def _input_modes_groups() -> list[CaseGroup]:
    return [
        is_entity("command_job"),
        passes_spec_check("command_job", teaching_rules=("pinned_images",)),
        CaseGroup("input types and assets", _input_assets),
        _mode_rule("mode of the trips folder", "inputs", "trips", "ro_mount", _ONE_PASS_FOLDER,
                   "stream a large folder that the script reads once through a read-only mount"),
        _mode_rule("mode of the zone table", "inputs", "zones", "download", _SMALL_FILE,
                   "copy a small file that the script reads many times to the node's disk once"),
        _mode_rule("mode of the model output", "outputs", "model", "rw_mount", _MODEL_OUTPUT,
                   "the exercise asks for a mode that writes straight to storage while the script runs"),
        CaseGroup("command bindings", _bindings),
        CaseGroup("environment from conda.yml", _conda_environment),
        field_rule("code folder", "code", lambda v: PurePath(str(v)).name == "src",
                   "upload the folder src next to the notebook, which holds train.py"),
    ]


register(Exercise("m05.input_modes", "sdk", "A command job with fitting input and output modes",
                  _input_modes_groups, lambda: _input_modes_groups()))
