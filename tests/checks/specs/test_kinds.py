"""Tests of reading the kind of a spec from `$schema` and from its fields."""

from __future__ import annotations

import pytest

from autograder.checks.specs.kinds import KINDS, guess_kind, parse_schema_url, refine_kind, schema_url


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json", "managed_online_deployment"),
        ("https://azuremlschemas.azureedge.net/development/commandJob.schema.json", "command_job"),
        ("https://azuremlschemasprod.azureedge.net/1.5.0/pipelineJob.schema.json", "pipeline_job"),
        ("https://azuremlsdk2.blob.core.windows.net/preview/0.0.1/autoMLJob.schema.json", None),
        ("http://azureml/sdk-2-0/Schedule.json", "job_schedule"),
        ("https://azuremlschemas.azureedge.net/latest/monitorSchedule.schema.json", "monitor_schedule"),
    ],
)
def test_known_schema_urls(url, kind):
    parsed = parse_schema_url(url)

    assert parsed.known_host
    assert parsed.kind == kind


@pytest.mark.parametrize("url", ["https://example.com/data.schema.json", "azuremlschemas.azureedge.net/latest/data.schema.json", 3, None])
def test_unknown_schema_urls(url):
    assert parse_schema_url(url).known_host is False


def test_every_kind_has_its_schema_url():
    for name in KINDS:
        assert parse_schema_url(schema_url(name)).kind == name


@pytest.mark.parametrize(
    ("data", "kind", "certain"),
    [
        ({"create_monitor": {}, "trigger": {}}, "monitor_schedule", True),
        ({"create_job": "./job.yml", "trigger": {}}, "job_schedule", True),
        ({"replication_locations": []}, "registry", True),
        ({"name": "ws", "key_vault": "/x"}, "workspace", True),
        ({"type": "pipeline", "jobs": {}}, "pipeline_job", True),
        ({"type": "pipeline", "component": "azureml:p@latest"}, "pipeline_component_batch_deployment", True),
        ({"trial": {}}, "sweep_job", True),
        ({"type": "kubernetes"}, "kubernetes_online_deployment", True),
        ({"type": "model", "endpoint_name": "e"}, "model_batch_deployment", True),
        ({"type": "mltable", "path": "x"}, "data", True),
        ({"type": "triton_model", "path": "x"}, "model", True),
        ({"endpoint_name": "e", "instance_type": "Standard_DS3_v2"}, "managed_online_deployment", True),
        ({"endpoint_name": "e", "compute": "azureml:c"}, "batch_deployment", True),
        ({"traffic": {"blue": 100}, "compute": "azureml:k8s"}, "kubernetes_online_endpoint", True),
        ({"defaults": {"deployment_name": "blue"}}, "batch_endpoint", True),
        ({"type": "command", "command": "python a.py", "version": "1"}, "command_component", False),
        ({"type": "command", "command": "python a.py"}, "command_job", False),
        ({"auth_mode": "key"}, "managed_online_endpoint", False),
        ({"image": "python:3.11"}, "environment", False),
        ({"path": "./data"}, "data", False),
        ({"description": "?"}, None, False),
    ],
)
def test_guess_kind(data, kind, certain):
    assert guess_kind(data) == (kind, certain)


@pytest.mark.parametrize(
    ("start", "data", "kind"),
    [
        ("command_job", {"type": "sweep"}, "sweep_job"),
        ("command_job", {}, "command_job"),
        ("pipeline_job", {"type": "spark"}, "pipeline_job"),
        ("managed_online_endpoint", {"compute": "azureml:k8s"}, "kubernetes_online_endpoint"),
        ("kubernetes_online_endpoint", {}, "managed_online_endpoint"),
        ("kubernetes_online_deployment", {"type": "managed"}, "managed_online_deployment"),
        ("batch_deployment", {"type": "model"}, "model_batch_deployment"),
        ("job_schedule", {"create_monitor": {}}, "monitor_schedule"),
        ("registry", {"type": "x"}, "registry"),
    ],
)
def test_refine_kind(start, data, kind):
    assert refine_kind(start, data) == kind
