"""Tests of the check context and of the view the rules work on."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.checks.specs.view import SpecContext, SpecView
from autograder.errors import SpecInputError


def test_context_defaults():
    assert SpecContext.from_mapping(None) == SpecContext()


def test_context_from_mapping(tmp_path):
    context = SpecContext.from_mapping(
        {"base_path": str(tmp_path), "endpoint_name": "fare-endpoint", "compute": "azureml:cpu", "deployments": ["blue", {"name": "green"}]}
    )

    assert context.base_path == tmp_path
    assert (context.endpoint_name, context.compute) == ("fare-endpoint", "azureml:cpu")
    assert context.deployments == frozenset({"blue", "green"})


def test_context_deployment_entities():
    class Deployment:
        name = "blue"

    assert SpecContext.from_mapping({"deployments": [Deployment()]}).deployments == frozenset({"blue"})


def test_context_invalid_deployment_item():
    with pytest.raises(SpecInputError, match=r"^invalid item 3 in context `deployments`; give deployment names or specs with a `name`$"):
        SpecContext.from_mapping({"deployments": [3]})


def test_nested_view_prefixes_paths(tmp_path):
    view = SpecView("job_schedule", {"create_job": {"type": "command"}}, {("create_job", "command"): 4}, SpecContext(), tmp_path)

    nested = view.nested("command_job", ("create_job",))
    finding = nested.finding("AML060", ("command",), "message", "fix")

    assert (nested.data, finding.path, finding.line) == ({"type": "command"}, "create_job.command", 4)


def test_read_local_yaml(tmp_path):
    (tmp_path / "component.yml").write_text("name: train\ninputs:\n  trips:\n    type: uri_folder\n", encoding="utf-8")
    (tmp_path / "list.yml").write_text("- a\n", encoding="utf-8")
    view = SpecView("pipeline_job", {}, {}, SpecContext(), tmp_path)

    assert view.read_local_yaml("file:./component.yml")["inputs"] == {"trips": {"type": "uri_folder"}}
    assert view.read_local_yaml("./list.yml") is None
    assert view.read_local_yaml("./missing.yml") is None


def test_kubernetes_view():
    assert SpecView("kubernetes_online_endpoint", {}, {}, SpecContext(), Path(".")).is_kubernetes
    assert not SpecView("managed_online_endpoint", {}, {}, SpecContext(), Path(".")).is_kubernetes
