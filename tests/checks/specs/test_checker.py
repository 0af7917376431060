"""Tests of check_spec as a whole: the valid corpus, entities, kinds, context, isolation and offline use."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.checks.core import run_groups
from autograder.checks.specs import KINDS, check_files, check_spec, check_spec_report, passes_spec_check
from autograder.errors import SpecInputError

VALID = Path(__file__).resolve().parents[2] / "files" / "specs" / "valid"
CORPUS = sorted(VALID.glob("*.yml"))

# Corpus file -> kind; every kind the checker supports has at least one valid spec.
CORPUS_KINDS = {
    "batch-deployment.yml": "batch_deployment",
    "batch-endpoint.yml": "batch_endpoint",
    "command-component.yml": "command_component",
    "command-job.yml": "command_job",
    "data-trips-folder.yml": "data",
    "data-trips-mltable.yml": "data",
    "environment-conda.yml": "environment",
    "environment-docker-context.yml": "environment",
    "environment-pinned-image.yml": "environment",
    "job-schedule-cron.yml": "job_schedule",
    "job-schedule-recurrence.yml": "job_schedule",
    "kubernetes-online-deployment.yml": "kubernetes_online_deployment",
    "kubernetes-online-endpoint.yml": "kubernetes_online_endpoint",
    "managed-online-deployment-inline.yml": "managed_online_deployment",
    "managed-online-deployment.yml": "managed_online_deployment",
    "managed-online-endpoint-rollout.yml": "managed_online_endpoint",
    "managed-online-endpoint.yml": "managed_online_endpoint",
    "model-batch-deployment.yml": "model_batch_deployment",
    "model-mlflow.yml": "model",
    "monitor-schedule.yml": "monitor_schedule",
    "pipeline-component-batch-deployment.yml": "pipeline_component_batch_deployment",
    "pipeline-job.yml": "pipeline_job",
    "registry.yml": "registry",
    "sweep-job.yml": "sweep_job",
    "workspace.yml": "workspace",
}


# azure-ai-ml 1.35 warns when load_batch_deployment builds the generic BatchDeployment, which
# the corpus covers on purpose because the CLI still accepts that form.
GENERIC_BATCH_WARNING = "ignore:This class is intended as a base class:UserWarning"


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_corpus_lists_every_file():
    assert sorted(CORPUS_KINDS) == [path.name for path in CORPUS]


def test_corpus_covers_every_kind():
    assert set(KINDS) == set(CORPUS_KINDS.values())


@pytest.mark.parametrize("path", CORPUS, ids=[path.name for path in CORPUS])
def test_valid_spec_accepted(path):
    report = check_spec_report(path)

    assert report.kind == CORPUS_KINDS[path.name]
    assert [str(f) for f in report.findings] == []


@pytest.mark.parametrize("path", CORPUS, ids=[path.name for path in CORPUS])
def test_valid_spec_as_yaml_string(path):
    report = check_spec_report(path.read_text(encoding="utf-8"), context={"base_path": VALID})

    assert (report.kind, report.findings) == (CORPUS_KINDS[path.name], [])


@pytest.mark.filterwarnings(GENERIC_BATCH_WARNING)
@pytest.mark.parametrize("path", CORPUS, ids=[path.name for path in CORPUS])
def test_valid_spec_as_entity(path):
    entity = _load_with_azure(path)

    report = check_spec_report(entity, context={"base_path": VALID})

    assert (report.kind, [str(f) for f in report.findings]) == (CORPUS_KINDS[path.name], [])


def _load_with_azure(path):
    from azure.ai.ml import (
        load_batch_deployment,
        load_batch_endpoint,
        load_component,
        load_data,
        load_environment,
        load_job,
        load_model,
        load_online_deployment,
        load_online_endpoint,
        load_registry,
        load_workspace,
    )
    from azure.ai.ml.entities._load_functions import (
        load_model_batch_deployment,
        load_pipeline_component_batch_deployment,
        load_schedule,
    )

    family = KINDS[CORPUS_KINDS[path.name]].family
    loaders = {
        "data": load_data,
        "environment": load_environment,
        "model": load_model,
        "component": load_component,
        "job": load_job,
        "online_endpoint": load_online_endpoint,
        "online_deployment": load_online_deployment,
        "batch_endpoint": load_batch_endpoint,
        "schedule": load_schedule,
        "registry": load_registry,
        "workspace": load_workspace,
    }
    batch_loaders = {
        "model_batch_deployment": load_model_batch_deployment,
        "pipeline_component_batch_deployment": load_pipeline_component_batch_deployment,
        "batch_deployment": load_batch_deployment,
    }
    if family == "batch_deployment":
        return batch_loaders[CORPUS_KINDS[path.name]](path)
    return loaders[family](path)


def test_sdk_built_entities(spec_files, monkeypatch):
    from azure.ai.ml import Input, command, dsl, load_component
    from azure.ai.ml.entities import CodeConfiguration, CronTrigger, JobSchedule, ManagedOnlineDeployment, Model

    monkeypatch.chdir(spec_files.folder)
    deployment = ManagedOnlineDeployment(
        name="blue",
        endpoint_name="fare-endpoint",
        model=Model(path="./model", type="mlflow_model"),
        code_configuration=CodeConfiguration(code="./src", scoring_script="score.py"),
        environment="azureml:fare-inference:2",
        instance_type="Standard_DS3_v2",
        instance_count=3,
    )
    train = load_component("command-component.yml")

    @dsl.pipeline(default_compute="cpu-cluster")
    def fare_pipeline(trips):
        return {"model": train(trips=trips).outputs.model}

    pipeline = fare_pipeline(trips=Input(type="uri_folder", path="azureml:taxi-trips:3"))
    schedule = JobSchedule(name="nightly", trigger=CronTrigger(expression="0 2 * * *"), create_job=pipeline)
    node = command(code="./src", command="python train.py --epochs ${{inputs.epochs}}", environment="azureml:fare-training:4")

    assert check_spec(deployment) == []
    assert check_spec(pipeline) == []
    assert check_spec(schedule) == []
    assert [(f.code, f.path) for f in check_spec(node)] == [("AML060", "command")]


def test_schedule_entity_checks_its_job(spec_files, monkeypatch):
    from azure.ai.ml import command
    from azure.ai.ml.entities import CronTrigger, JobSchedule

    monkeypatch.chdir(spec_files.folder)
    job = command(code="./missing", command="python train.py --lr ${{inputs.lr}}", environment="azureml:fare-training:4")
    schedule = JobSchedule(name="nightly", trigger=CronTrigger(expression="0 2 * * *"), create_job=job)

    findings = check_spec(schedule)

    assert [(f.code, f.path) for f in findings] == [("AML013", "create_job.code"), ("AML060", "create_job.command")]


# --- kinds ---------------------------------------------------------------------------------------


def test_unknown_kind_is_finding():
    [finding] = check_spec({"description": "a spec of nothing in particular"})

    assert (finding.code, finding.path, finding.line) == ("AML001", "", None)


def test_expected_kind_mismatch(spec_files):
    findings = check_spec(spec_files.folder / "batch-endpoint.yml", kind="managed_online_endpoint")

    assert [f.code for f in findings] == ["AML002"]
    assert findings[0].message == "the spec is a batch endpoint, but the exercise expects a managed online endpoint"


def test_expected_kind_within_family(spec_files):
    findings = check_spec(spec_files.folder / "kubernetes-online-deployment.yml", kind="managed_online_deployment")

    assert [f.code for f in findings] == ["AML002"]


def test_expected_kind_decides_when_fields_do_not():
    spec = {"name": "fare-endpoint", "auth_mode": "key"}

    assert check_spec_report(spec, kind="batch_endpoint").kind == "batch_endpoint"
    assert check_spec_report(spec).kind == "managed_online_endpoint"


def test_unknown_kind_name_rejected():
    with pytest.raises(SpecInputError, match=r"^unknown spec kind 'online_endpoint'; use one of data, environment, "):
        check_spec({"name": "x"}, kind="online_endpoint")


# --- context -------------------------------------------------------------------------------------


def test_unknown_context_key_rejected():
    message = "unknown spec check context key(s) endpoint; use base_path, endpoint_name, compute, deployments"

    with pytest.raises(SpecInputError, match=exact(message)):
        check_spec({"name": "x"}, kind="data", context={"endpoint": "fare"})


def test_context_deployments_must_be_a_list():
    with pytest.raises(SpecInputError, match=exact("context `deployments` must be a list of deployment names or deployment specs")):
        check_spec({"name": "fare-endpoint"}, kind="managed_online_endpoint", context={"deployments": "blue"})


def test_context_endpoint_name_checked():
    spec = {"name": "blue", "model": "azureml:taxi-fare-model:7", "instance_type": "Standard_DS3_v2", "instance_count": 1}

    findings = check_spec(spec, context={"endpoint_name": "fe"})

    assert [(f.code, f.path) for f in findings] == [("AML030", "endpoint_name")]


def test_context_compute_fills_job(spec_files):
    job = spec_files.load("command-job.yml")
    del job["compute"]

    report = check_spec_report(job, context={"compute": "azureml:gpu-cluster", "base_path": spec_files.folder})

    assert report.findings == []


# --- groups, files ---------------------------------------------------------------------------------


def test_passes_spec_check_group(spec_files):
    group = passes_spec_check(teaching_rules=("high_availability",))
    mutated = spec_files.mutate("managed-online-deployment.yml", ("set", "instance_count", 1), ("set", "liveness_probe.period", 0))

    result = run_groups("m08.deployment", [group], mutated)

    [message] = result.messages
    assert message.startswith("Azure ML spec check: AML052 liveness_probe.period: liveness_probe.period is 0; the minimum is 1")
    assert "AML104 instance_count" in message


def test_passes_spec_check_ignores_warnings(spec_files):
    mutated = spec_files.mutate("managed-online-endpoint.yml", ("set", "$schema", "https://example.com/x.json"))

    assert run_groups("m08.endpoint", [passes_spec_check()], mutated).passed


def test_check_files_missing_file(tmp_path):
    with pytest.raises(SpecInputError, match=exact(f"spec file not found: {tmp_path / 'gone.yml'}")):
        check_files([VALID / "registry.yml", tmp_path / "gone.yml"])


def test_check_files_reports_in_order():
    report = check_files([VALID / "registry.yml", VALID / "workspace.yml"])

    assert [r.file.name for r in report.reports] == ["registry.yml", "workspace.yml"]
    assert not report.has_errors


# --- process: imports, network, output ---------------------------------------------------------------


def test_import_does_not_load_azure():
    code = "import sys, autograder.checks.specs; print(any(m.startswith('azure.ai.ml') for m in sys.modules))"

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_azure_loaded_once_and_quietly():
    code = textwrap.dedent(
        f"""
        import sys, autograder.checks.specs as specs
        specs.check_spec({str(VALID / 'registry.yml')!r})
        loaded = any(m.startswith('azure.ai.ml') for m in sys.modules)
        count = len(sys.modules)
        for name in ("pipeline-job.yml", "monitor-schedule.yml", "command-component.yml", "job-schedule-cron.yml"):
            specs.check_spec({str(VALID)!r} + "/" + name)
        print(loaded, len(sys.modules) - count)
        """
    )

    result = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True)

    loaded, new_modules = result.stdout.split()
    assert loaded == "True"
    assert result.stderr == ""
    # The first check imports the loaders; later ones import at most the few modules of
    # other kinds, never azure-ai-ml as a whole again.
    assert int(new_modules) < 20


@pytest.mark.filterwarnings(GENERIC_BATCH_WARNING)
def test_corpus_check_uses_no_network(monkeypatch):
    attempts = []

    def reject_connection(*args, **kwargs):
        attempts.append(args)
        raise OSError("network use during a spec check")

    monkeypatch.setattr(socket.socket, "connect", reject_connection)
    monkeypatch.setattr(socket.socket, "connect_ex", reject_connection)
    monkeypatch.setattr(socket, "create_connection", reject_connection)
    monkeypatch.setattr(socket, "getaddrinfo", reject_connection)

    report = check_files(CORPUS, teaching_rules=("pinned_images", "no_inline_secrets"))
    entities = [check_spec(_load_with_azure(path), context={"base_path": VALID}) for path in CORPUS]

    assert attempts == []
    assert not report.has_errors
    assert entities == [[] for _ in CORPUS]
