"""Tests of turning entities, dicts, YAML strings and files into a plain dict with YAML lines."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from autograder.checks.specs.loading import load_spec, parse_yaml, plain_copy
from autograder.errors import SpecInputError

ENDPOINT_YAML = """\
name: fare-endpoint
traffic:
  blue: 90
  green: 10
alert_notification:
  emails:
    - a@example.com
    - b@example.com
"""


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_yaml_lines_of_keys_and_items():
    data, lines = parse_yaml(ENDPOINT_YAML, "the YAML string")

    assert data["traffic"] == {"blue": 90, "green": 10}
    assert lines[("name",)] == 1
    assert lines[("traffic", "green")] == 4
    assert lines[("alert_notification", "emails", 1)] == 8


def test_yaml_string_source():
    loaded = load_spec(ENDPOINT_YAML)

    assert (loaded.source, loaded.file, loaded.entity_kind) == ("yaml", None, None)
    assert loaded.lines[("traffic", "blue")] == 3


def test_file_name_string_is_a_file(tmp_path):
    path = tmp_path / "endpoint.yml"
    path.write_text(ENDPOINT_YAML, encoding="utf-8")

    loaded = load_spec(str(path))

    assert (loaded.source, loaded.file) == ("file", path)
    assert loaded.data["name"] == "fare-endpoint"


def test_path_source(tmp_path):
    path = tmp_path / "endpoint.yaml"
    path.write_text(ENDPOINT_YAML, encoding="utf-8")

    assert load_spec(path).lines[("alert_notification",)] == 5


def test_missing_file(tmp_path):
    with pytest.raises(SpecInputError, match=exact(f"spec file not found: {tmp_path / 'gone.yml'}")):
        load_spec(tmp_path / "gone.yml")


def test_invalid_yaml_names_line():
    with pytest.raises(SpecInputError, match=r"^the YAML string is not valid YAML: .*line 2, column"):
        load_spec("name: fare\ntraffic: [blue: 90\n")


@pytest.mark.parametrize(("text", "found"), [("- fare\n- blue\n", "a list"), ("", "nothing"), ("just text", "a str")])
def test_yaml_not_a_mapping(text, found):
    with pytest.raises(SpecInputError, match=exact(f"the YAML string contains {found}; a spec is a YAML mapping of keys to values")):
        load_spec(text)


def test_unsupported_type():
    message = "cannot check a spec of type int: pass an azure-ai-ml entity, a dict, a YAML string or the path of a YAML file"

    with pytest.raises(SpecInputError, match=exact(message)):
        load_spec(42)


def test_dict_copied():
    answer = {"name": "fare", "tags": {"owner": "pricing"}}

    loaded = load_spec(answer)
    loaded.data["tags"]["owner"] = "changed"

    assert answer["tags"]["owner"] == "pricing"


def test_plain_copy_values():
    value = {"path": Path("data") / "trips", "when": datetime.date(2025, 1, 6), "items": ("a", 1)}

    assert plain_copy(value) == {"path": "data/trips", "when": "2025-01-06", "items": ["a", 1]}


def test_entity_source():
    from azure.ai.ml.entities import Data

    loaded = load_spec(Data(name="taxi-trips", version="3", type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/taxi/"))

    assert (loaded.source, loaded.entity_kind, loaded.lines) == ("entity", "data", {})
    assert loaded.data["type"] == "uri_folder"


def test_entity_unset_fields_dropped():
    from azure.ai.ml.entities import IdentityConfiguration, ManagedIdentityConfiguration, ManagedOnlineEndpoint

    identity = IdentityConfiguration(type="user_assigned", user_assigned_identities=[ManagedIdentityConfiguration(resource_id="/x")])

    loaded = load_spec(ManagedOnlineEndpoint(name="fare-endpoint", identity=identity))

    assert loaded.data["identity"]["user_assigned_identities"] == [{"resource_id": "/x"}]


def test_command_node_becomes_job(tmp_path, monkeypatch):
    from azure.ai.ml import command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()

    loaded = load_spec(command(code="./src", command="python train.py", environment="azureml:fare-training:4"))

    assert loaded.entity_kind == "command_job"
    assert loaded.data["type"] == "command"
    assert "component" not in loaded.data


def test_entity_that_cannot_be_dumped():
    class Broken:
        def _to_dict(self):
            raise ValueError("half-built entity")

    with pytest.raises(SpecInputError, match=exact("azure-ai-ml cannot turn the Broken into a spec: half-built entity")):
        load_spec(Broken())


def test_entity_input_with_rejected_mode_reported(tmp_path, monkeypatch):
    from azure.ai.ml import Input, command

    from autograder.checks.specs import check_spec

    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path)
    job = command(
        code="./src",
        command="python train.py --trips ${{inputs.trips}}",
        inputs={"trips": Input(type="uri_folder", path="azureml:taxi-trips:1", mode="mount")},
        environment="azureml:sklearn-env:1",
        compute="cpu-cluster",
    )

    findings = check_spec(job)

    assert [(f.code, f.path) for f in findings] == [("AML012", "inputs.trips.mode")]
