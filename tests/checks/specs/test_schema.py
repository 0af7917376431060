"""Tests of layer 1: azure-ai-ml's loaders on mutated corpus specs, and the translation of their errors."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from autograder.checks.specs import check_spec
from autograder.checks.specs.schema import error_findings, flatten_messages, schema_findings

MISSING = "./no-such-thing"

# (file, changes, code, path). Every file of the corpus appears at least once.
SCHEMA_MUTATIONS = [
    ("batch-endpoint.yml", [("set", "name", 12)], "AML012", "name"),
    ("batch-endpoint.yml", [("set", "colour", "blue")], "AML011", "colour"),
    ("command-component.yml", [("delete", "command")], "AML010", "command"),
    ("command-component.yml", [("set", "code", MISSING)], "AML013", "code"),
    ("command-job.yml", [("set", "inputs.trips.type", "uri_foldr")], "AML012", "inputs.trips.type"),
    ("command-job.yml", [("set", "code", MISSING)], "AML013", "code"),
    ("command-job.yml", [("set", "inputs.trips.path", MISSING)], "AML013", "inputs.trips.path"),
    ("data-trips-folder.yml", [("set", "type", "uri_foldr")], "AML012", "type"),
    ("data-trips-folder.yml", [("delete", "name")], "AML010", "name"),
    ("data-trips-mltable.yml", [("set", "path", MISSING)], "AML013", "path"),
    ("environment-conda.yml", [("set", "conda_file", "./conda/missing.yml")], "AML013", "conda_file"),
    ("environment-docker-context.yml", [("set", "build.path", MISSING)], "AML013", "build.path"),
    ("environment-pinned-image.yml", [("delete", "name")], "AML010", "name"),
    ("environment-pinned-image.yml", [("set", "image", 5)], "AML012", "image"),
    ("model-mlflow.yml", [("set", "type", "mlflow")], "AML012", "type"),
    ("model-mlflow.yml", [("set", "path", MISSING)], "AML013", "path"),
    ("sweep-job.yml", [("set", "sampling_algorithm", "randomly")], "AML012", "sampling_algorithm"),
    ("sweep-job.yml", [("set", "objective.goal", "lowest")], "AML012", "objective.goal"),
    ("sweep-job.yml", [("set", "trial.code", MISSING)], "AML013", "trial.code"),
    ("pipeline-job.yml", [("set", "jobs.train.component", "./missing-component.yml")], "AML013", "jobs.train.component"),
    ("pipeline-job.yml", [("set", "jobs.train.type", "comand")], "AML012", "jobs.train.type"),
    ("pipeline-job.yml", [("set", "jobs.prep.component.code", MISSING)], "AML013", "jobs.prep.component.code"),
    ("managed-online-endpoint.yml", [("set", "colour", "blue")], "AML011", "colour"),
    ("managed-online-endpoint-rollout.yml", [("set", "identity.type", "user")], "AML012", "identity.type"),
    ("managed-online-deployment.yml", [("set", "instance_count", "three")], "AML012", "instance_count"),
    ("managed-online-deployment.yml", [("delete", "endpoint_name")], "AML010", "endpoint_name"),
    ("managed-online-deployment.yml", [("set", "code_configuration.code", MISSING)], "AML013", "code_configuration.code"),
    ("managed-online-deployment-inline.yml", [("set", "model.path", MISSING)], "AML013", "model.path"),
    ("managed-online-deployment-inline.yml", [("set", "environment.conda_file", "./conda/missing.yml")], "AML013", "environment.conda_file"),
    ("kubernetes-online-endpoint.yml", [("set", "auth_mode", "password")], "AML012", "auth_mode"),
    ("kubernetes-online-deployment.yml", [("set", "scale_settings.type", "targeted")], "AML012", "scale_settings.type"),
    ("model-batch-deployment.yml", [("set", "settings.output_action", "append_rows")], "AML012", "settings.output_action"),
    ("model-batch-deployment.yml", [("set", "settings.mini_batch_size", "ten")], "AML012", "settings.mini_batch_size"),
    ("pipeline-component-batch-deployment.yml", [("delete", "name")], "AML010", "name"),
    ("job-schedule-cron.yml", [("set", "create_job", "./missing-job.yml")], "AML013", "create_job"),
    ("job-schedule-cron.yml", [("set", "trigger.type", "crontab")], "AML012", "trigger.type"),
    ("job-schedule-recurrence.yml", [("set", "trigger.frequency", "fortnight")], "AML012", "trigger.frequency"),
    (
        "monitor-schedule.yml",
        [("set", "create_monitor.monitoring_signals.trip_drift.type", "drift")],
        "AML012",
        "create_monitor.monitoring_signals.trip_drift.type",
    ),
    ("registry.yml", [("delete", "location")], "AML010", "location"),
    ("workspace.yml", [("set", "hbi_workspace", "maybe")], "AML012", "hbi_workspace"),
]


@pytest.mark.parametrize(
    ("name", "changes", "code", "path"),
    SCHEMA_MUTATIONS,
    ids=[f"{code}-{name.removesuffix('.yml')}-{path}" for name, _, code, path in SCHEMA_MUTATIONS],
)
def test_schema_mutation_reported(spec_files, name, changes, code, path):
    mutated = spec_files.mutate(name, *changes)

    findings = check_spec(mutated)

    matches = [f for f in findings if f.code == code and f.path == path]
    assert matches, [str(f) for f in findings]
    assert matches[0].line == spec_files.line(mutated, path)
    assert [str(f) for f in findings if f.severity == "error" and f not in matches] == []


def test_missing_code_folder_message(spec_files):
    mutated = spec_files.mutate("command-job.yml", ("set", "code", "./gone"))

    [finding] = check_spec(mutated)

    assert finding.message == f"local file or folder `./gone` not found (resolved to {spec_files.folder / 'gone'})"
    assert finding.fix == f"create {spec_files.folder / 'gone'}, or correct the path: relative paths start from {spec_files.folder}"


def test_missing_conda_file_keeps_other_findings(spec_files):
    mutated = spec_files.mutate("environment-conda.yml", ("set", "conda_file", "./gone.yml"), ("set", "os_type", "beos"))

    codes = {(f.code, f.path) for f in check_spec(mutated)}

    assert codes == {("AML013", "conda_file"), ("AML012", "os_type")}


def test_not_in_set_lists_every_alternative(spec_files):
    mutated = spec_files.mutate("command-job.yml", ("set", "inputs.trips.type", "uri_foldr"))

    [finding] = check_spec(mutated)

    allowed = "'uri_file', 'uri_folder', 'custom_model', 'mlflow_model', 'triton_model', 'mltable'"
    assert finding.message == f"`inputs.trips.type`: Value 'uri_foldr' passed is not in set [{allowed}]"
    assert finding.fix == f"use one of: {allowed}"


def test_unknown_field_fix_names_schema(spec_files):
    mutated = spec_files.mutate("data-trips-folder.yml", ("set", "colour", "blue"))

    [finding] = check_spec(mutated)

    assert finding.message == "`colour` is not a field of the data asset schema"
    assert finding.fix == (
        "remove `colour` or correct its spelling; the fields are listed at "
        "https://azuremlschemas.azureedge.net/latest/data.schema.json"
    )


def test_endpoint_name_from_context(spec_files):
    mutated = spec_files.mutate("managed-online-deployment.yml", ("delete", "endpoint_name"))

    assert check_spec(mutated, context={"endpoint_name": "fare-endpoint"}) == []


def test_relative_references_from_base_path(spec_files, monkeypatch):
    spec = spec_files.load("command-job.yml")
    monkeypatch.chdir(spec_files.folder.parent)

    assert [f.code for f in check_spec(spec)] == ["AML013"]
    assert check_spec(spec, context={"base_path": spec_files.folder}) == []


def test_schema_findings_does_not_change_spec(spec_files):
    spec = spec_files.load("command-component.yml")
    spec.pop("type")
    before = repr(spec)

    schema_findings("command_component", spec, spec_files.folder, {})

    assert repr(spec) == before


# --- error translation -------------------------------------------------------------------


def test_flatten_messages_paths():
    messages = {
        "_schema": ["the spec as a whole"],
        "inputs": {"data": {"value": {"type": ["not a type"]}}},
        "emails": {0: ["Not a valid email."]},
    }

    assert flatten_messages(messages) == [
        ((), "the spec as a whole"),
        (("inputs", "data", "type"), "not a type"),
        (("emails", 0), "Not a valid email."),
    ]


def test_flatten_prefers_missing_file_alternative():
    messages = {
        "environment": [
            {"_schema": ["In order to specify an existing environments, use azureml:"]},
            {"name": ["Missing data for required field."]},
            ["No such file or directory: /work/conda.yml"],
        ]
    }

    assert flatten_messages(messages) == [(("environment",), "No such file or directory: /work/conda.yml")]


def test_flatten_prefers_field_errors_over_whole_value():
    messages = {"model": [{"_schema": ["In order to specify an existing models, use azureml:"]}, {"pathh": ["Unknown field."]}]}

    assert flatten_messages(messages) == [(("model", "pathh"), "Unknown field.")]


def test_flatten_keeps_first_line_only():
    assert flatten_messages({"code": ["first line\nsecond line"]}) == [(("code",), "first line")]


def test_wrapped_validation_error_uses_cause():
    original = ValidationError({"instance_count": ["Not a valid integer."]})
    try:
        try:
            raise original
        except ValidationError as error:
            raise ValidationError("Validation for ManagedOnlineDeploymentSchema failed: {...}") from error
    except ValidationError as wrapped:
        findings = error_findings(wrapped, "managed_online_deployment", {("instance_count",): 9})

    assert [(f.code, f.path, f.line) for f in findings] == [("AML012", "instance_count", 9)]


def test_bare_not_implemented_error_uses_context():
    try:
        try:
            raise ValidationError({"trigger": {"expression": ["Missing data for required field."]}})
        except ValidationError:
            raise NotImplementedError()
    except NotImplementedError as bare:
        findings = error_findings(bare, "job_schedule", {})

    assert [(f.code, f.path) for f in findings] == [("AML010", "trigger.expression")]


def test_type_error_names_missing_argument():
    error = TypeError("Registry.__init__() missing 1 required keyword-only argument: 'name'")

    assert [(f.code, f.path) for f in error_findings(error, "registry", {})] == [("AML010", "name")]


def test_unsupported_type_points_at_type():
    error = ValueError("Unsupported job type: comand.")

    [finding] = error_findings(error, "command_job", {("type",): 2})

    assert (finding.code, finding.path, finding.line) == ("AML012", "type", 2)


def test_coloured_message_reduced_to_details():
    error = RuntimeError("\n\x1b[30m\n1) Something is wrong\x1b[39m\n\nDetails: \n\n\x1b[31m(x) The spec is odd.\x1b[39m\n")

    [finding] = error_findings(error, "model", {})

    assert finding.code == "AML014"
    assert finding.message == "azure-ai-ml rejects the model: RuntimeError: The spec is odd."


def test_unknown_error_becomes_aml014():
    [finding] = error_findings(KeyError("jobs"), "pipeline_job", {})

    assert finding.code == "AML014"
    assert finding.path == ""
    assert finding.fix == "compare the spec with the pipeline job schema at https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json"


def test_entity_with_missing_code_folder(tmp_path, monkeypatch):
    from azure.ai.ml import command

    monkeypatch.chdir(tmp_path)
    node = command(code="./src", command="python train.py", environment="azureml:fare-training:4")

    findings = check_spec(node)

    assert [(f.code, f.path) for f in findings] == [("AML013", "code")]
    assert findings[0].message == f"local file or folder `./src` not found (resolved to {tmp_path / 'src'})"
