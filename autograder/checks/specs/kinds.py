"""The kinds of Azure ML spec this checker supports, and how to tell which one a spec is.

A kind is one YAML schema of the Azure ML CLI v2, such as ``managed_online_deployment``.
Kinds that azure-ai-ml loads with one entry point form a family: ``load_online_deployment``
reads both managed and Kubernetes deployments and picks the schema from ``type``. The kind
of a spec comes, in this order, from the caller, from the class of an azure-ai-ml entity,
from ``$schema``, and from the spec's own fields. Within a family, the fields that
azure-ai-ml dispatches on (``type``, ``compute``, ``create_monitor``) settle it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpecKind:
    """One kind of spec: its name, its title in messages, its family and its ``$schema`` file name."""

    name: str
    title: str
    family: str
    schema_file: str


_KINDS = [
    SpecKind("data", "data asset", "data", "data"),
    SpecKind("environment", "environment", "environment", "environment"),
    SpecKind("model", "model", "model", "model"),
    SpecKind("command_component", "command component", "component", "commandComponent"),
    SpecKind("command_job", "command job", "job", "commandJob"),
    SpecKind("sweep_job", "sweep job", "job", "sweepJob"),
    SpecKind("pipeline_job", "pipeline job", "job", "pipelineJob"),
    SpecKind("managed_online_endpoint", "managed online endpoint", "online_endpoint", "managedOnlineEndpoint"),
    SpecKind("kubernetes_online_endpoint", "Kubernetes online endpoint", "online_endpoint", "kubernetesOnlineEndpoint"),
    SpecKind("managed_online_deployment", "managed online deployment", "online_deployment", "managedOnlineDeployment"),
    SpecKind("kubernetes_online_deployment", "Kubernetes online deployment", "online_deployment", "kubernetesOnlineDeployment"),
    SpecKind("batch_endpoint", "batch endpoint", "batch_endpoint", "batchEndpoint"),
    SpecKind("model_batch_deployment", "model batch deployment", "batch_deployment", "modelBatchDeployment"),
    SpecKind("pipeline_component_batch_deployment", "pipeline component batch deployment", "batch_deployment", "pipelineComponentBatchDeployment"),
    SpecKind("batch_deployment", "batch deployment", "batch_deployment", "batchDeployment"),
    SpecKind("job_schedule", "job schedule", "schedule", "schedule"),
    SpecKind("monitor_schedule", "monitor schedule", "schedule", "monitorSchedule"),
    SpecKind("registry", "registry", "registry", "registry"),
    SpecKind("workspace", "workspace", "workspace", "workspace"),
]

KINDS: dict[str, SpecKind] = {kind.name: kind for kind in _KINDS}

SCHEMA_URL_BASE = "https://azuremlschemas.azureedge.net/latest/"

# Hosts and folders of published Azure ML CLI v2 schemas: the current and versioned CDN
# folders, the preview blob of the first CLI v2 releases, and the short form some monitoring examples use.
_SCHEMA_URL_PATTERNS = [
    re.compile(r"^https?://azuremlschemas(?:prod)?\.azureedge\.net/(?:latest|development|[0-9][\w.-]*)/(?P<name>\w+)\.schema\.json$"),
    re.compile(r"^https?://azuremlsdk2\.blob\.core\.windows\.net/(?:preview|latest)/[\w.]+/(?P<name>\w+)\.schema\.json$"),
    re.compile(r"^https?://azureml/sdk-2-0/(?P<name>\w+)\.json$"),
]
_KIND_BY_SCHEMA_NAME = {kind.schema_file.lower(): kind.name for kind in _KINDS}

_WORKSPACE_FIELDS = {
    "storage_account",
    "key_vault",
    "container_registry",
    "application_insights",
    "hbi_workspace",
    "managed_network",
    "customer_managed_key",
    "primary_user_assigned_identity",
    "image_build_compute",
    "enable_data_isolation",
    "serverless_compute",
    "system_datastores_auth_mode",
}
_BATCH_DEPLOYMENT_FIELDS = {"settings", "mini_batch_size", "output_action", "output_file_name", "retry_settings", "error_threshold", "max_concurrency_per_instance"}
_DATA_TYPES = {"uri_file", "uri_folder", "mltable"}
_MODEL_TYPES = {"custom_model", "mlflow_model", "triton_model"}


@dataclass(frozen=True)
class SchemaUrl:
    """The reading of a ``$schema`` value: whether it is an Azure ML schema URL and which kind it names.

    ``family_only`` is True for the short ``http://azureml/sdk-2-0/<Name>.json`` form, whose
    ``Schedule.json`` serves job and monitor schedules alike.
    """

    known_host: bool
    schema_name: str | None
    kind: str | None
    family_only: bool = False


def parse_schema_url(url: Any) -> SchemaUrl:
    """Read the kind from a ``$schema`` URL; ``kind`` is None for a schema this checker does not cover."""
    if not isinstance(url, str):
        return SchemaUrl(False, None, None)
    for pattern in _SCHEMA_URL_PATTERNS:
        match = pattern.match(url.strip())
        if match:
            name = match.group("name")
            return SchemaUrl(True, name, _KIND_BY_SCHEMA_NAME.get(name.lower()), pattern is _SCHEMA_URL_PATTERNS[2])
    return SchemaUrl(False, None, None)


def schema_url(kind: str) -> str:
    """Return the current ``$schema`` URL of a kind."""
    return f"{SCHEMA_URL_BASE}{KINDS[kind].schema_file}.schema.json"


def guess_kind(data: dict[str, Any]) -> tuple[str | None, bool]:
    """Guess the kind from the spec's own fields, ignoring ``$schema``.

    Returns the kind, or None, and whether the guess is certain: a field only one kind
    has, or a ``type`` value only one kind uses, is certain. ``type: command`` is not,
    because command jobs and command components share it.
    """
    kind_type = data.get("type")
    if "create_monitor" in data:
        return "monitor_schedule", True
    if "create_job" in data or "trigger" in data:
        return "job_schedule", True
    if "replication_locations" in data:
        return "registry", True
    if _WORKSPACE_FIELDS & data.keys():
        return "workspace", True
    if kind_type == "pipeline":
        return ("pipeline_job", True) if "jobs" in data else ("pipeline_component_batch_deployment", True)
    if kind_type == "sweep" or "trial" in data or "search_space" in data:
        return "sweep_job", True
    if kind_type == "kubernetes":
        return "kubernetes_online_deployment", True
    if kind_type == "model" and "endpoint_name" in data:
        return "model_batch_deployment", True
    if kind_type in _DATA_TYPES:
        return "data", True
    if kind_type in _MODEL_TYPES:
        return "model", True
    if "endpoint_name" in data or "code_configuration" in data or "instance_type" in data:
        batch = bool(_BATCH_DEPLOYMENT_FIELDS & data.keys()) or "compute" in data
        return ("batch_deployment" if batch else "managed_online_deployment"), True
    if "traffic" in data or "mirror_traffic" in data:
        return refine_kind("managed_online_endpoint", data), True
    if "defaults" in data:
        return "batch_endpoint", True
    if "command" in data:
        component = "version" in data or "is_deterministic" in data
        return ("command_component" if component else "command_job"), False
    if "auth_mode" in data:
        return refine_kind("managed_online_endpoint", data), False
    if "image" in data or "build" in data or "conda_file" in data:
        return "environment", False
    if "path" in data:
        return "data", False
    return None, False


def refine_kind(kind: str, data: dict[str, Any]) -> str:
    """Settle the kind within its family from the fields azure-ai-ml dispatches on."""
    family = KINDS[kind].family
    kind_type = data.get("type")
    if family == "job":
        return {"sweep": "sweep_job", "pipeline": "pipeline_job", "command": "command_job", None: "command_job"}.get(kind_type, kind)
    if family == "online_endpoint":
        return "kubernetes_online_endpoint" if data.get("compute") else "managed_online_endpoint"
    if family == "online_deployment":
        return "kubernetes_online_deployment" if kind_type == "kubernetes" else "managed_online_deployment"
    if family == "batch_deployment":
        return {"model": "model_batch_deployment", "pipeline": "pipeline_component_batch_deployment"}.get(kind_type, kind)
    if family == "schedule":
        return "monitor_schedule" if "create_monitor" in data else "job_schedule"
    return kind
