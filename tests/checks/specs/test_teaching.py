"""Tests of layer 3: teaching rules switched on by name."""

from __future__ import annotations

import re

import pytest

from autograder.checks.specs import TEACHING_RULES, check_spec
from autograder.errors import SpecInputError

ALL_RULES = tuple(TEACHING_RULES)
IDENTITY = "/subscriptions/0/resourceGroups/fare-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fare-id"


def codes(findings):
    return [(f.code, f.path) for f in findings]


def test_hardened_corpus_specs_pass_every_rule(spec_files):
    for name in ("managed-online-endpoint-rollout.yml", "managed-online-deployment.yml", "workspace.yml", "environment-conda.yml"):
        assert check_spec(spec_files.folder / name, teaching_rules=ALL_RULES) == [], name


def test_rules_off_by_default(spec_files):
    assert check_spec(spec_files.folder / "managed-online-endpoint.yml") == []


def test_unknown_rule_rejected():
    message = "unknown teaching rule(s) pinned_image; use " + ", ".join(ALL_RULES)

    with pytest.raises(SpecInputError, match=f"^{re.escape(message)}$"):
        check_spec({"name": "fare-endpoint"}, kind="managed_online_endpoint", teaching_rules=["pinned_image"])


def test_rule_name_as_string():
    findings = check_spec({"name": "fare-endpoint"}, kind="managed_online_endpoint", teaching_rules="aad_token_auth")

    assert codes(findings) == [("AML106", "auth_mode")]


# --- pinned_images --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", "has no tag, which means `latest`"),
        ("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest", "is tagged `latest`"),
        ("myregistry.azurecr.io:5000/fare/train", "has no tag, which means `latest`"),
    ],
)
def test_unpinned_image(image, problem):
    findings = check_spec({"name": "fare", "image": image}, kind="environment", teaching_rules=["pinned_images"])

    [finding] = findings
    assert (finding.code, finding.path) == ("AML100", "image")
    assert finding.message == f"image `{image}` {problem}, so a rebuild can silently pick up a different image"


@pytest.mark.parametrize(
    "image",
    [
        "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1",
        "myregistry.azurecr.io:5000/fare/train:1.4.2",
        "mcr.microsoft.com/azureml/minimal@sha256:" + "a" * 64,
    ],
)
def test_pinned_image(image):
    assert check_spec({"name": "fare", "image": image}, kind="environment", teaching_rules=["pinned_images"]) == []


def test_inline_environment_image_checked(spec_files):
    mutated = spec_files.mutate(
        "managed-online-deployment-inline.yml", ("set", "environment.image", "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04")
    )

    [finding] = check_spec(mutated, teaching_rules=["pinned_images"])

    assert (finding.code, finding.path, finding.line) == ("AML100", "environment.image", spec_files.line(mutated, "environment.image"))


# --- no_inline_secrets ------------------------------------------------------------------------


STORAGE_KEY = "Zm9vYmFyYmF6cXV4" * 4 + "Ab12=="
SECRETS = [
    ("DB_PASSWORD", "correct-horse-battery", "a value its name marks as secret (PASSWORD)"),
    ("STORAGE_KEY", "not-base64-but-named", "a value its name marks as secret (KEY)"),
    ("SQL_CONNECTION_STRING", "Server=tcp:fare.database.windows.net;Database=fares", "a value its name marks as secret (CONNECTION STRING)"),
    ("BLOB_CONN", "DefaultEndpointsProtocol=https;AccountName=fare;AccountKey=" + STORAGE_KEY, "a storage or service connection string"),
    ("DATABASE", "Server=fare;Database=fares;User Id=app;Password=hunter2;", "a database connection string with a password"),
    ("EXPORT_URL", "https://fare.blob.core.windows.net/out?sv=2022-11-02&sig=abcdefghijklmnop1234567890", "a SAS token"),
    ("BROKER", "amqp://fare:hunter2@broker.internal:5672/", "a URL with a user name and password"),
    ("HEADER", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ", "a JSON web token"),
    ("OPENAI", "sk-abcdefghijklmnopqrstuvwxyz123456", "an API key"),
    ("BLOB", STORAGE_KEY, "a long random key"),
]


@pytest.mark.parametrize(("name", "value", "what"), SECRETS, ids=[name for name, _, _ in SECRETS])
def test_inline_secret_found(name, value, what):
    spec = {"command": "python train.py", "environment": "azureml:fare-training:4", "environment_variables": {name: value}}

    [finding] = check_spec(spec, kind="command_job", teaching_rules=["no_inline_secrets"])

    assert (finding.code, finding.path) == ("AML101", f"environment_variables.{name}")
    assert finding.message == (
        f"environment variable `{name}` contains {what} in plain text, visible to anyone who can read the spec or the job"
    )
    assert value not in finding.message
    assert value not in finding.fix


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKENIZERS_PARALLELISM", "false"),
        ("KEY_VAULT_NAME", "fare-vault"),
        ("DB_PASSWORD", "@Microsoft.KeyVault(SecretUri=https://fare-vault.vault.azure.net/secrets/db-password/)"),
        ("DB_PASSWORD_SECRET_URI", "https://fare-vault.vault.azure.net/secrets/db-password"),
        ("API_TOKEN", "${{inputs.token}}"),
        ("GIT_COMMIT", "3f5a2c9e8b7d6f1a0e4c3b2a1908f7e6d5c4b3a2"),
        ("MAX_TOKENS", "256"),
        ("USE_SAS", "false"),
    ],
)
def test_harmless_variable_passes(name, value):
    spec = {"command": "python train.py", "environment": "azureml:fare-training:4", "environment_variables": {name: value}}

    assert check_spec(spec, kind="command_job", teaching_rules=["no_inline_secrets"]) == []


def test_secret_in_pipeline_step(spec_files):
    mutated = spec_files.mutate("pipeline-job.yml", ("set", "jobs.train.environment_variables", {"MLFLOW_TRACKING_TOKEN": "abc123def456"}))

    findings = check_spec(mutated, teaching_rules=["no_inline_secrets"])

    assert codes(findings) == [("AML101", "jobs.train.environment_variables.MLFLOW_TRACKING_TOKEN")]


# --- private_network, user_assigned_identity, aad_token_auth ------------------------------------


def test_public_network_access_enabled():
    findings = check_spec({"name": "fare-prod", "public_network_access": "enabled"}, kind="workspace", teaching_rules=["private_network"])

    [finding] = findings
    assert (finding.code, finding.path) == ("AML102", "public_network_access")
    assert finding.message == "public_network_access is `enabled`, so the workspace is reachable from the internet"


def test_private_network_not_for_batch_endpoint():
    assert check_spec({"name": "fare-batch"}, kind="batch_endpoint", teaching_rules=["private_network"]) == []


def test_system_assigned_identity():
    spec = {"name": "fare-endpoint", "identity": {"type": "system_assigned"}}

    findings = check_spec(spec, kind="managed_online_endpoint", teaching_rules=["user_assigned_identity"])

    assert codes(findings) == [("AML103", "identity")]


def test_user_assigned_identity_listed():
    identity = {"type": "user_assigned", "user_assigned_identities": [{"resource_id": IDENTITY}]}

    findings = check_spec({"name": "fare-endpoint", "identity": identity}, kind="managed_online_endpoint", teaching_rules=["user_assigned_identity"])

    assert findings == []


def test_user_assigned_identity_without_identities():
    findings = check_spec(
        {"name": "fare-endpoint", "identity": {"type": "user_assigned"}},
        kind="kubernetes_online_endpoint",
        context=None,
        teaching_rules=["user_assigned_identity"],
    )

    assert ("AML103", "identity") in codes(findings)


@pytest.mark.parametrize(("mode", "expected"), [("key", ["AML106"]), ("aml_token", ["AML106"]), ("aad_token", [])])
def test_aad_token_auth(mode, expected):
    findings = check_spec({"name": "fare-endpoint", "auth_mode": mode}, kind="managed_online_endpoint", teaching_rules=["aad_token_auth"])

    assert [f.code for f in findings] == expected


def test_batch_endpoint_default_auth_is_aad():
    assert check_spec({"name": "fare-batch"}, kind="batch_endpoint", teaching_rules=["aad_token_auth"]) == []


# --- high_availability, probes_and_timeouts -----------------------------------------------------


def test_two_instances_not_enough(spec_files):
    mutated = spec_files.mutate("managed-online-deployment.yml", ("set", "instance_count", 2))

    [finding] = check_spec(mutated, teaching_rules=["high_availability"])

    assert (finding.code, finding.path, finding.line) == ("AML104", "instance_count", spec_files.line(mutated, "instance_count"))
    assert finding.message == "instance_count is 2; with fewer than three instances, an update or a failed node takes the deployment down"


def test_kubernetes_min_instances(spec_files):
    mutated = spec_files.mutate("kubernetes-online-deployment.yml", ("set", "scale_settings.min_instances", 3))

    assert check_spec(mutated, teaching_rules=["high_availability"]) == []


def test_missing_probes_and_timeout(spec_files):
    findings = check_spec(spec_files.folder / "managed-online-deployment-inline.yml", teaching_rules=["probes_and_timeouts"])

    assert codes(findings) == [
        ("AML105", "liveness_probe"),
        ("AML105", "readiness_probe"),
        ("AML105", "request_settings.request_timeout_ms"),
    ]


def test_probe_limits_always_checked(spec_files):
    mutated = spec_files.mutate("managed-online-deployment.yml", ("set", "readiness_probe.timeout", 0))

    findings = check_spec(mutated, teaching_rules=["probes_and_timeouts"])

    assert codes(findings) == [("AML052", "readiness_probe.timeout")]
