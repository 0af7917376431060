"""Tests of Azure ML spec checks: specs from entities, dicts and YAML, schema findings, field rules.

Every check here runs offline: ``test_sdk_solutions_use_no_network`` fails any connection
or name lookup while the module 01 and 02 solutions are checked.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from azure.ai.ml import Input, Output, command
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import CommandJob, Data, Environment, Model

from autograder.checks.core import run_groups
from autograder.checks.specs import (
    _flatten,
    command_bindings,
    entity_kind,
    field_rule,
    field_value,
    is_entity,
    passes_schema,
    schema_errors,
    to_spec,
)
from autograder.learner import check

DATASTORE_PATH = "azureml://datastores/workspaceblobstore/paths/taxi/trips/"
# azure-ai-ml 1.x builds its marshmallow schemas with the `context` argument that
# marshmallow 3.26 deprecates. check() swallows the warning, direct schema calls do not.
pytestmark = pytest.mark.filterwarnings("ignore:The `context` parameter is deprecated")

TRAIN_COMMAND = "python train.py --data ${{inputs.training_data}} --model ${{outputs.model}}"
JOB_SPEC = {
    "command": "python train.py",
    "code": "./src",
    "environment": "azureml:sklearn-env:1",
}


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def trips_data(**changes) -> Data:
    fields = {"name": "taxi-trips", "version": "1", "type": AssetTypes.URI_FOLDER, "path": DATASTORE_PATH}
    return Data(**{**fields, **changes})


def sklearn_environment() -> Environment:
    return Environment(
        name="sklearn-env",
        version="1",
        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1",
        conda_file={
            "name": "train",
            "channels": ["conda-forge"],
            "dependencies": ["python=3.11", "pip", {"pip": ["scikit-learn==1.5.2", "mlflow==2.16.2"]}],
        },
    )


def fare_model() -> Model:
    return Model(
        name="taxi-fare-model",
        version="1",
        type=AssetTypes.MLFLOW_MODEL,
        path="azureml://jobs/quiet_lamp_7x2k/outputs/model/paths/",
    )


def training_job():
    return command(
        code="./src",
        command=TRAIN_COMMAND,
        inputs={"training_data": Input(type="uri_folder", path="azureml:taxi-trips:1")},
        outputs={"model": Output(type="mlflow_model")},
        environment="azureml:sklearn-env:1",
        compute="cpu-cluster",
        experiment_name="taxi-fare",
        display_name="train-fare-model",
    )


@pytest.fixture
def course_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test in a folder that contains the job's empty ``src/`` code folder."""
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


class FakeEntity:
    """An object with azure-ai-ml's ``_to_dict``, returning a fixed spec."""

    def __init__(self, spec):
        self.spec = spec

    def _to_dict(self):
        return dict(self.spec)


# --- to_spec ---------------------------------------------------------------------------------


def test_to_spec_data_entity():
    spec = to_spec(trips_data())

    assert spec["name"] == "taxi-trips"
    assert spec["version"] == "1"
    assert spec["type"] == "uri_folder"
    assert spec["path"] == DATASTORE_PATH


def test_to_spec_environment_entity():
    spec = to_spec(sklearn_environment())

    assert spec["image"] == "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1"
    assert spec["conda_file"]["dependencies"][0] == "python=3.11"


def test_to_spec_command_node(course_folder):
    spec = to_spec(training_job())

    assert spec["type"] == "command"
    assert spec["command"] == TRAIN_COMMAND
    assert spec["inputs"] == {"training_data": {"type": "uri_folder", "path": "azureml:taxi-trips:1"}}
    assert spec["outputs"] == {"model": {"type": "mlflow_model"}}
    assert spec["environment"] == "azureml:sklearn-env:1"
    assert spec["experiment_name"] == "taxi-fare"


def test_to_spec_command_node_code_folder(course_folder):
    spec = to_spec(training_job())

    assert Path(spec["code"]) == course_folder / "src"


def test_to_spec_command_job(course_folder):
    job = CommandJob(code="./src", command="python train.py", environment="azureml:sklearn-env:1")

    assert to_spec(job)["command"] == "python train.py"


def test_to_spec_dict_copied():
    answer = {"name": "taxi-trips", "tags": {"owner": "data team"}}

    spec = to_spec(answer)
    spec["tags"]["owner"] = "changed"

    assert answer["tags"]["owner"] == "data team"


def test_to_spec_dict_values_as_strings():
    assert to_spec({"path": Path("data") / "trips"}) == {"path": "data/trips"}


def test_to_spec_yaml_string():
    text = f"name: taxi-trips\nversion: 1\ntype: uri_folder\npath: {DATASTORE_PATH}\n"

    assert to_spec(text) == {"name": "taxi-trips", "version": 1, "type": "uri_folder", "path": DATASTORE_PATH}


def test_to_spec_yaml_not_a_mapping():
    with pytest.raises(AssertionError, match=exact("expected YAML that holds a mapping of keys to values")):
        to_spec("- taxi-trips\n- 1\n")


def test_to_spec_unsupported_type():
    with pytest.raises(AssertionError, match=exact("expected an azure-ai-ml entity, a dict or a YAML string, got int")):
        to_spec(42)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("azureml:./src", "./src"),
        ("azureml:src", "src"),
        ("azureml:/abs/src", "azureml:/abs/src"),
        ("azureml:train-code:1", "azureml:train-code:1"),
        ("azureml://registries/shared/codes/train/versions/1", "azureml://registries/shared/codes/train/versions/1"),
        ("./src", "./src"),
    ],
)
def test_to_spec_local_code_prefix(code, expected):
    assert to_spec(FakeEntity({"code": code}))["code"] == expected


# --- entity_kind and is_entity -------------------------------------------------------------------


def test_entity_kind_assets():
    assert entity_kind(trips_data()) == "data"
    assert entity_kind(sklearn_environment()) == "environment"
    assert entity_kind(fare_model()) == "model"


def test_entity_kind_jobs(course_folder):
    assert entity_kind(training_job()) == "command_job"
    assert entity_kind(CommandJob(command="python train.py", environment="azureml:sklearn-env:1")) == "command_job"


def test_entity_kind_dict_is_none():
    assert entity_kind({"type": "uri_folder"}) is None


def test_is_entity_passes():
    is_entity("data").run(trips_data())


def test_is_entity_group_name():
    assert is_entity("data").name == "azure-ai-ml Data entity"
    assert is_entity("command_job").name == "azure-ai-ml Command or CommandJob entity"


def test_is_entity_rejects_dict():
    with pytest.raises(AssertionError, match=exact("expected an azure-ai-ml Data object, got dict")):
        is_entity("data").run({"type": "uri_folder"})


def test_is_entity_rejects_other_entity():
    with pytest.raises(AssertionError, match=exact("expected an azure-ai-ml Command or CommandJob object, got Data")):
        is_entity("command_job").run(trips_data())


# --- schema_errors and passes_schema ----------------------------------------------------------


def test_schema_errors_valid_data():
    assert schema_errors("data", to_spec(trips_data())) == []


def test_schema_errors_misspelt_type():
    spec = to_spec(trips_data(type="uri_foldr"))

    assert schema_errors("data", spec) == ["type: Must be one of: uri_file, uri_folder, mltable."]


def test_schema_errors_missing_field():
    assert schema_errors("data", {"name": "taxi-trips", "version": "1", "type": "uri_folder"}) == [
        "path: Missing data for required field."
    ]


def test_schema_errors_model_type():
    spec = {**to_spec(fare_model()), "type": "mlflow"}

    assert schema_errors("model", spec) == [
        "type: Value 'mlflow' passed is not in set ['custom_model', 'mlflow_model', 'triton_model']"
    ]


def test_schema_errors_nested_path(tmp_path):
    (tmp_path / "src").mkdir()
    spec = {**JOB_SPEC, "inputs": {"training_data": {"type": "uri_foldr", "path": "azureml:taxi-trips:1"}}}

    assert schema_errors("command_job", spec, base_path=tmp_path) == [
        "inputs.training_data.type: Value 'uri_foldr' passed is not in set ['uri_file', 'uri_folder']"
    ]


def test_schema_errors_sorted_lines(tmp_path):
    (tmp_path / "src").mkdir()
    spec = {**JOB_SPEC, "command": 3, "experiment_name": [1]}

    assert schema_errors("command_job", spec, base_path=tmp_path) == [
        "command: Not a valid string.",
        "experiment_name: Not a valid string.",
    ]


def test_schema_errors_missing_code_folder(tmp_path):
    errors = schema_errors("command_job", JOB_SPEC, base_path=tmp_path)

    assert errors == [f"code: Can't find directory or file in resolved absolute path: {tmp_path / 'src'}."]


def test_schema_errors_code_relative_to_cwd(course_folder):
    assert schema_errors("command_job", JOB_SPEC) == []


def test_flatten_nested_messages():
    messages = {
        "_schema": ["the spec as a whole"],
        "inputs": {"data": {"type": ["not a type"]}},
        "code": [{"value": ["first alternative"]}, {"value": ["second alternative"]}],
    }

    assert _flatten(messages) == ["spec: the spec as a whole", "inputs.data.type: not a type", "code: first alternative"]


def test_passes_schema_accepts_entity():
    passes_schema("data").run(trips_data())


def test_passes_schema_message():
    with pytest.raises(AssertionError, match=exact("azure-ai-ml rejects the spec: type: Must be one of: uri_file, uri_folder, mltable.")):
        passes_schema("data").run(trips_data(type="uri_foldr"))


def test_passes_schema_shows_three_findings(tmp_path):
    spec = {
        "code": "./missing",
        "environment": "azureml:sklearn-env:1",
        "inputs": {"d": {"type": "uri_foldr"}},
        "outputs": {"m": {"type": "mlflow"}},
    }
    message = (
        f"azure-ai-ml rejects the spec: code: Can't find directory or file in resolved absolute path: {tmp_path / 'missing'}.; "
        "command: Missing data for required field.; "
        "inputs.d.type: Value 'uri_foldr' passed is not in set ['uri_file', 'uri_folder']"
    )
    # passes_schema resolves local folders against the current folder, as `az ml job create` does.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        with pytest.raises(AssertionError, match=exact(message)):
            passes_schema("command_job").run(spec)


def test_missing_code_folder_is_finding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = check("m02.training_job", training_job())

    assert result.messages == [
        "valid Azure ML schema: azure-ai-ml rejects the spec: code: "
        f"Can't find directory or file in resolved absolute path: {tmp_path / 'src'}."
    ]


# --- field_rule and field_value --------------------------------------------------------------


def test_field_value_dotted_path():
    spec = {"inputs": {"training_data": {"mode": "ro_mount"}}}

    assert field_value(spec, "inputs.training_data.mode") == "ro_mount"


def test_field_value_missing_is_none():
    assert field_value({"inputs": {"training_data": "azureml:taxi-trips:1"}}, "inputs.training_data.mode") is None


def test_field_rule_passes():
    field_rule("folder type", "type", lambda v: v == "uri_folder", "use uri_folder").run(trips_data())


def test_field_rule_problem_message():
    group = field_rule("folder type", "type", lambda v: v == "uri_folder", "a folder is uri_folder")

    with pytest.raises(AssertionError, match=exact("`type` = 'uri_file': a folder is uri_folder")):
        group.run(trips_data(type="uri_file"))


def test_field_rule_not_set_message():
    group = field_rule("model output", "outputs.model.type", lambda v: v == "mlflow_model", "use mlflow_model")

    with pytest.raises(AssertionError, match=exact("`outputs.model.type` is not set")):
        group.run({"outputs": {}})


def test_field_rule_yaml_answer():
    group = field_rule("version", "version", lambda v: str(v).isdigit(), "pin a whole number")

    with pytest.raises(AssertionError, match=exact("`version` = 'latest': pin a whole number")):
        group.run("name: taxi-trips\nversion: latest\n")


def test_field_rule_keeps_name_and_weight():
    group = field_rule("folder type", "type", bool, "problem", weight=2.0)

    assert group.name == "folder type"
    assert group.weight == 2.0


def test_field_rule_in_report():
    group = field_rule("folder type", "type", lambda v: v == "uri_folder", "a folder is uri_folder")

    result = run_groups("ex.data", [group], trips_data(type="mltable"))

    assert result.messages == ["folder type: `type` = 'mltable': a folder is uri_folder"]


# --- command_bindings ----------------------------------------------------------------------------


def test_command_bindings_in_order():
    assert command_bindings(TRAIN_COMMAND) == [("inputs", "training_data"), ("outputs", "model")]


def test_command_bindings_spaces_inside_braces():
    assert command_bindings("python train.py --lr ${{ inputs.learning_rate }}") == [("inputs", "learning_rate")]


def test_command_bindings_none():
    assert command_bindings("python train.py --data ./data") == []


def test_command_bindings_ignores_other_expressions():
    assert command_bindings("python train.py --data ${{parent.inputs.data}} --name {inputs.name}") == []


# --- network ---------------------------------------------------------------------------------------


def test_sdk_solutions_use_no_network(course_folder, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network use during a check")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    answers = {
        "m01.data_asset": trips_data(),
        "m01.environment": sklearn_environment(),
        "m01.model_asset": fare_model(),
        "m02.training_job": training_job(),
    }

    results = {exercise_id: check(exercise_id, answer) for exercise_id, answer in answers.items()}

    assert attempts == []
    for exercise_id, result in results.items():
        assert result.passed, f"{exercise_id}: {result.messages}"
