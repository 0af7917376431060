"""Layer 3 of a spec check: practices the course teaches, switched on by name for each exercise.

Each rule has a name (``pinned_images``), one code and the kinds it applies to; on other
kinds it reports nothing. A spec that breaks a rule may well be accepted by Azure ML, but
the exercise asked for the practice, so its findings are errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from autograder.checks.specs.findings import Finding, PathParts
from autograder.checks.specs.view import SpecView

_ONLINE_DEPLOYMENTS = frozenset({"managed_online_deployment", "kubernetes_online_deployment"})

# Words of a variable name (split at "_", "-" and ".") that mark its value as secret. KEY
# counts only as the last word, so KEY_VAULT_NAME is not a secret but STORAGE_KEY is.
_SECRET_WORDS = {"PASSWORD", "PASSWD", "PWD", "SECRET", "SECRETS", "TOKEN", "APIKEY", "SAS", "CREDENTIAL", "CREDENTIALS"}
_SECRET_PAIRS = {("CONNECTION", "STRING"), ("CONN", "STR")}
_HARMLESS_VALUES = {"true", "false", "yes", "no", "none", "null", "on", "off"}
_SECRET_VALUES = [
    ("a storage or service connection string", re.compile(r"(AccountKey|SharedAccessKey|SharedAccessSignature)=", re.IGNORECASE)),
    ("a database connection string with a password", re.compile(r"(^|;)\s*(Password|Pwd)\s*=", re.IGNORECASE)),
    ("a SAS token", re.compile(r"(^|[?&])sig=[^&]{16,}", re.IGNORECASE)),
    ("a URL with a user name and password", re.compile(r"://[^/\s:@]+:[^/\s@]+@")),
    ("a JSON web token", re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")),
    ("an API key", re.compile(r"\b(sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b")),
    # Base64 with digits and both cases, as Azure storage account keys are. Hex ids such as
    # commit hashes have one case only, so only the variable name can mark them as secret.
    ("a long random key", re.compile(r"^(?=.*[0-9])(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9+/]{40,}={0,2}$")),
]
_SECRET_REFERENCES = re.compile(r"(@Microsoft\.KeyVault\(|\.vault\.azure\.net/secrets/|\$\{\{)", re.IGNORECASE)


@dataclass(frozen=True)
class TeachingRule:
    """One rule of layer 3: its name, code, the kinds it applies to, and the check."""

    name: str
    code: str
    kinds: frozenset[str] | None
    check: Callable[[SpecView], Iterator[Finding]]


def teaching_findings(view: SpecView, names: tuple[str, ...]) -> list[Finding]:
    """Run the named teaching rules that apply to the view's kind."""
    findings: list[Finding] = []
    for name in names:
        rule = TEACHING_RULES[name]
        if rule.kinds is None or view.kind in rule.kinds:
            findings.extend(rule.check(view))
    return findings


def pinned_images(view: SpecView) -> Iterator[Finding]:
    """Check that every Docker image names a version tag other than `latest`, or a digest (AML100)."""
    for parts, image in _images(view.data, (), view.kind == "environment"):
        problem = _unpinned(image)
        if problem:
            yield view.finding(
                "AML100",
                parts,
                f"image `{image}` {problem}, so a rebuild can silently pick up a different image",
                "pin a dated tag such as `:20240709.v1` or a digest `@sha256:...`",
            )


def no_inline_secrets(view: SpecView) -> Iterator[Finding]:
    """Check that no environment variable contains a key, password, token or connection string in plain text (AML101)."""
    for parts, variables in _sections(view.data, (), "environment_variables"):
        for name, value in variables.items():
            secret_kind = _secret_kind(str(name), value)
            if secret_kind:
                # The value itself is never repeated in the message.
                yield view.finding(
                    "AML101",
                    (*parts, str(name)),
                    f"environment variable `{name}` contains {secret_kind} in plain text, visible to anyone who can read the spec or the job",
                    "store the secret in Azure Key Vault and read it at run time with the managed identity; "
                    "keep only its name or Key Vault reference in the spec",
                )


def private_network(view: SpecView) -> Iterator[Finding]:
    """Check that `public_network_access` is `disabled` (AML102)."""
    value = view.data.get("public_network_access")
    if value != "disabled":
        described = "not set (enabled by default)" if value is None else f"`{value}`"
        yield view.finding(
            "AML102",
            ("public_network_access",),
            f"public_network_access is {described}, so the {view.kind.replace('_', ' ')} is reachable from the internet",
            "set `public_network_access: disabled` and reach it through a private endpoint",
        )


def user_assigned_identity(view: SpecView) -> Iterator[Finding]:
    """Check that the resource runs as a user-assigned managed identity (AML103)."""
    identity = view.data.get("identity")
    kind = identity.get("type", "") if isinstance(identity, dict) else ""
    assigned = identity.get("user_assigned_identities") if isinstance(identity, dict) else None
    if "user_assigned" not in str(kind) or not assigned:
        described = f"`{kind}`" if kind else "not set (system-assigned by default)"
        yield view.finding(
            "AML103",
            ("identity",),
            f"identity type is {described}; a user-assigned identity gets exactly the roles you grant it, and survives a re-created resource",
            "set `identity.type: user_assigned` and list the identity under `identity.user_assigned_identities`",
        )


def high_availability(view: SpecView) -> Iterator[Finding]:
    """Check that an online deployment runs at least three instances (AML104)."""
    count = view.data.get("instance_count")
    parts: PathParts = ("instance_count",)
    scale = view.data.get("scale_settings")
    if count is None and isinstance(scale, dict) and "min_instances" in scale:
        count, parts = scale.get("min_instances"), ("scale_settings", "min_instances")
    if not isinstance(count, int) or count < 3:
        described = "not set" if count is None else str(count)
        yield view.finding(
            "AML104",
            parts,
            f"{parts[-1]} is {described}; with fewer than three instances, an update or a failed node takes the deployment down",
            "run at least 3 instances in production",
        )


def probes_and_timeouts(view: SpecView) -> Iterator[Finding]:
    """Check that an online deployment sets both probes and its request timeout explicitly (AML105)."""
    for probe in ("liveness_probe", "readiness_probe"):
        if not isinstance(view.data.get(probe), dict):
            yield view.finding(
                "AML105",
                (probe,),
                f"{probe} is not set, so the defaults decide when an instance counts as failed",
                f"set `{probe}` with `initial_delay`, `period`, `timeout` and the thresholds for your scoring script",
            )
    settings = view.data.get("request_settings")
    if not isinstance(settings, dict) or "request_timeout_ms" not in settings:
        yield view.finding(
            "AML105",
            ("request_settings", "request_timeout_ms"),
            "request_settings.request_timeout_ms is not set, so requests time out after the default 5000 ms",
            "set `request_settings.request_timeout_ms` to the latency your callers can wait (at most 180000 ms)",
        )


def aad_token_auth(view: SpecView) -> Iterator[Finding]:
    """Check that the endpoint authenticates callers with Microsoft Entra tokens (AML106)."""
    mode = view.data.get("auth_mode")
    if view.kind == "batch_endpoint" and mode is None:
        return
    if mode != "aad_token":
        described = f"`{mode}`" if mode else "not set (`key` by default)"
        yield view.finding(
            "AML106",
            ("auth_mode",),
            f"auth_mode is {described}; keys and Azure ML tokens cannot be limited by role or audited per caller",
            "set `auth_mode: aad_token` and grant callers the role that allows the score action",
        )


def _images(data: Any, parts: PathParts, top_is_environment: bool) -> Iterator[tuple[PathParts, str]]:
    if isinstance(data, dict):
        is_environment = top_is_environment if not parts else parts[-1] == "environment"
        for key, value in data.items():
            child = (*parts, str(key))
            if key == "image" and is_environment and isinstance(value, str):
                yield child, value
            else:
                yield from _images(value, child, False)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _images(item, (*parts, index), False)


def _unpinned(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, which means `latest`"
    if last.rsplit(":", 1)[1].lower() == "latest":
        return "is tagged `latest`"
    return None


def _sections(data: Any, parts: PathParts, key: str) -> Iterator[tuple[PathParts, dict[str, Any]]]:
    if isinstance(data, dict):
        for name, value in data.items():
            child = (*parts, str(name))
            if name == key and isinstance(value, dict):
                yield child, value
            else:
                yield from _sections(value, child, key)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _sections(item, (*parts, index), key)


def _secret_kind(name: str, value: Any) -> str | None:
    """Return the kind of secret that an environment variable contains in plain text, or None."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text or _SECRET_REFERENCES.search(text):
        return None
    for description, pattern in _SECRET_VALUES:
        if pattern.search(text):
            return description
    if text.lower() in _HARMLESS_VALUES or re.fullmatch(r"[0-9.]+", text):
        return None
    words = [word for word in re.split(r"[_.\-]+", name.upper()) if word]
    marked = [word for word in words if word in _SECRET_WORDS]
    if not marked and words and words[-1] == "KEY":
        marked = ["KEY"]
    if not marked and any(pair in _SECRET_PAIRS for pair in zip(words, words[1:])):
        marked = ["CONNECTION STRING"]
    if marked:
        return f"a value its name marks as secret ({marked[0]})"
    return None


TEACHING_RULES: dict[str, TeachingRule] = {
    rule.name: rule
    for rule in [
        TeachingRule("pinned_images", "AML100", None, pinned_images),
        TeachingRule("no_inline_secrets", "AML101", None, no_inline_secrets),
        TeachingRule("private_network", "AML102", frozenset({"managed_online_endpoint", "workspace", "registry"}), private_network),
        TeachingRule(
            "user_assigned_identity",
            "AML103",
            frozenset({"managed_online_endpoint", "kubernetes_online_endpoint", "workspace"}),
            user_assigned_identity,
        ),
        TeachingRule("high_availability", "AML104", _ONLINE_DEPLOYMENTS, high_availability),
        TeachingRule("probes_and_timeouts", "AML105", _ONLINE_DEPLOYMENTS, probes_and_timeouts),
        TeachingRule("aad_token_auth", "AML106", frozenset({"managed_online_endpoint", "batch_endpoint"}), aad_token_auth),
    ]
}
