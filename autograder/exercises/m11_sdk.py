"""Module 11, security as a spec: a private online endpoint that authenticates callers with
Microsoft Entra tokens, runs as a user-assigned identity and injects its secret from Key Vault."""

from __future__ import annotations

import re
from typing import Any

from autograder.checks.core import CaseGroup
from autograder.checks.specs import passes_spec_check
from autograder.exercises import Exercise, register
from autograder.exercises.m09_sdk import entity, field_check, part_groups, spec_rule, teaching_rule

HARDENED_KEYS = ("endpoint", "deployment")
ENDPOINT = "fare-private"
IDENTITY_ID = re.compile(
    r"^/subscriptions/[0-9a-f-]{36}/resourceGroups/fare-rg/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/fare-scorer$",
    re.IGNORECASE,
)
# Azure ML secret injection reads ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}}.
KEY_VAULT_REFERENCE = re.compile(r"^\$\{\{keyvault:https://fare-kv\.vault\.azure\.net/secrets/weather-api-key/[0-9a-f]{32}\}\}$")
SECRET_VARIABLE = "WEATHER_API_KEY"
# Each of the four security settings counts twice as much as a name or a reference.
SECURITY_WEIGHT = 2.0


def _identity(spec: dict[str, Any]) -> None:
    identity = spec.get("identity") if isinstance(spec.get("identity"), dict) else {}
    assigned = identity.get("user_assigned_identities")
    resource_ids = [item.get("resource_id") for item in assigned or [] if isinstance(item, dict)]
    if len(resource_ids) != 1 or not IDENTITY_ID.match(str(resource_ids[0])):
        listed = f"the identities {resource_ids}" if resource_ids else "no user-assigned identity"
        raise AssertionError(
            f"the endpoint lists {listed}; list exactly the identity the exercise names, "
            "by its resource id /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
        )


def _key_vault_reference(spec: dict[str, Any]) -> None:
    variables = spec.get("environment_variables") if isinstance(spec.get("environment_variables"), dict) else {}
    value = variables.get(SECRET_VARIABLE)
    if value is None:
        raise AssertionError(f"the deployment sets no {SECRET_VARIABLE}, so score.py cannot call the weather service")
    text = str(value).strip()
    if text.startswith("@Microsoft.KeyVault("):
        raise AssertionError(
            f"{SECRET_VARIABLE} uses the App Service reference syntax, which Azure ML does not resolve; "
            "write ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}}"
        )
    if not KEY_VAULT_REFERENCE.match(text):
        raise AssertionError(
            f"{SECRET_VARIABLE} is not a secret injection reference to the vault, secret and version the exercise names; "
            "write ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}}"
        )


def _hardened_groups() -> list[CaseGroup]:
    return part_groups(HARDENED_KEYS, {
        "endpoint": [
            entity("managed_online_endpoint"),
            passes_spec_check("managed_online_endpoint"),
            *(teaching_rule("managed_online_endpoint", rule, weight=SECURITY_WEIGHT) for rule in ("private_network", "user_assigned_identity", "aad_token_auth")),
            field_check("endpoint name", "name", lambda value: value == ENDPOINT, "use the endpoint name the exercise gives"),
            spec_rule("the scoring identity", _identity),
        ],
        "deployment": [
            entity("managed_online_deployment"),
            passes_spec_check("managed_online_deployment"),
            teaching_rule("managed_online_deployment", "no_inline_secrets", weight=SECURITY_WEIGHT),
            field_check("on the hardened endpoint", "endpoint_name", lambda value: value == ENDPOINT,
                       "the deployment must run behind the hardened endpoint, or none of its protections apply to it"),
            spec_rule("Key Vault reference", _key_vault_reference),
        ],
    })


register(Exercise("m11.hardened_endpoint", "sdk", "A private endpoint with Entra authentication and injected secrets",
                  _hardened_groups, lambda: _hardened_groups()))
