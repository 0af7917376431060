"""Findings of a spec check and the catalogue of their codes.

A finding is one problem in one place of a spec. It has a stable code such as ``AML040``, a
severity, the path of the field in the spec (``deployments.blue.instance_count``) and the
YAML line when the spec came from YAML. Its message states what is wrong, and its fix what
to do. Codes never change meaning, and a retired code is not reused.

Severity ``error`` means the Azure ML CLI or service rejects the spec, or a teaching rule the
caller switched on fails. ``warning`` means the service accepts the spec but does something
other than the spec states (a dropped threshold, an ignored ``$schema``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]
PathParts = tuple["str | int", ...]


@dataclass(frozen=True)
class CodeInfo:
    """One code of the catalogue: its severity, the layer that reports it and a one-line summary."""

    code: str
    severity: Severity
    layer: Literal["input", "schema", "rules", "teaching"]
    summary: str


@dataclass(frozen=True)
class Finding:
    """One problem found in a spec."""

    code: str
    severity: Severity
    path: str
    message: str
    fix: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dict."""
        return asdict(self)

    def __str__(self) -> str:
        where = self.path or "spec"
        if self.line is not None:
            where = f"line {self.line}: {where}"
        return f"{where}: {self.code} {self.severity}: {self.message} Fix: {self.fix}"


_CATALOGUE = [
    CodeInfo("AML001", "error", "input", "the kind of the spec cannot be told from `$schema`, `type` or its fields"),
    CodeInfo("AML002", "error", "input", "the spec is of another kind than the exercise expects"),
    CodeInfo("AML010", "error", "schema", "a required field is missing"),
    CodeInfo("AML011", "error", "schema", "a field is not part of the schema of this kind"),
    CodeInfo("AML012", "error", "schema", "a field has a value of the wrong type or outside the allowed values"),
    CodeInfo("AML013", "error", "schema", "a local file or folder that the spec references does not exist"),
    CodeInfo("AML014", "error", "schema", "azure-ai-ml rejects the spec with an error that names no single field"),
    CodeInfo("AML020", "warning", "rules", "`$schema` names the schema of another kind than the one checked"),
    CodeInfo("AML021", "warning", "rules", "`$schema` is not an Azure ML CLI v2 schema URL"),
    CodeInfo("AML030", "error", "rules", "an endpoint name breaks the naming rules (3-32 characters, starts with a letter, letters, digits and '-')"),
    CodeInfo("AML031", "error", "rules", "a deployment name breaks the naming rules (3-32 characters, starts with a letter, letters, digits and '-')"),
    CodeInfo("AML032", "error", "rules", "a Kubernetes endpoint name and deployment name together are longer than 62 characters"),
    CodeInfo("AML033", "warning", "rules", "an endpoint or deployment name contains two hyphens in a row, which the naming rules do not list as allowed"),
    CodeInfo("AML034", "error", "rules", "the endpoint type does not support this `auth_mode`"),
    CodeInfo("AML040", "error", "rules", "live traffic across deployments does not total 0 or 100"),
    CodeInfo("AML041", "error", "rules", "traffic, mirror traffic or a default deployment names a deployment that the endpoint does not have"),
    CodeInfo("AML042", "error", "rules", "a traffic percentage is not a whole number from 0 to 100"),
    CodeInfo("AML043", "error", "rules", "mirror traffic is above 50 %"),
    CodeInfo("AML044", "error", "rules", "mirror traffic goes to more than one deployment"),
    CodeInfo("AML045", "error", "rules", "mirror traffic goes to a deployment that also takes live traffic"),
    CodeInfo("AML046", "error", "rules", "mirror traffic is set on a Kubernetes online endpoint, which does not support it"),
    CodeInfo("AML050", "error", "rules", "`target_utilization` scale settings on a managed online deployment, which supports only `default`"),
    CodeInfo("AML051", "error", "rules", "request settings outside the service limits (`request_timeout_ms` 1 to 180000 managed or 300000 Kubernetes)"),
    CodeInfo("AML052", "error", "rules", "probe settings outside the limits of the container probes"),
    CodeInfo("AML060", "error", "rules", "a command binds `${{inputs.*}}`, `${{outputs.*}}` or `${{search_space.*}}` that is not declared"),
    CodeInfo("AML061", "error", "rules", "a pipeline step binds `${{parent.inputs.*}}` or `${{parent.outputs.*}}` that the pipeline does not declare"),
    CodeInfo("AML062", "error", "rules", "a pipeline step binds `${{parent.jobs.<step>.outputs.*}}` of a missing step or an undeclared output"),
    CodeInfo("AML063", "error", "rules", "a pipeline step leaves a required input of its component unbound"),
    CodeInfo("AML064", "warning", "rules", "a pipeline step binds an input or output that its component does not declare"),
    CodeInfo("AML070", "warning", "rules", "a monitoring threshold of 0, which azure-ai-ml drops before sending the monitor"),
    CodeInfo("AML071", "warning", "rules", "more than one metric for one data type in a drift signal, of which azure-ai-ml keeps one"),
    CodeInfo("AML072", "warning", "rules", "categorical data quality thresholds, which azure-ai-ml replaces with the numerical ones"),
    CodeInfo("AML100", "error", "teaching", "`pinned_images`: an image without a version tag or digest, or tagged `latest`"),
    CodeInfo("AML101", "error", "teaching", "`no_inline_secrets`: an environment variable holds a secret in plain text"),
    CodeInfo("AML102", "error", "teaching", "`private_network`: `public_network_access` is not `disabled`"),
    CodeInfo("AML103", "error", "teaching", "`user_assigned_identity`: no user-assigned managed identity"),
    CodeInfo("AML104", "error", "teaching", "`high_availability`: fewer than three instances"),
    CodeInfo("AML105", "error", "teaching", "`probes_and_timeouts`: probes or the request timeout are not set explicitly"),
    CodeInfo("AML106", "error", "teaching", "`aad_token_auth`: the endpoint does not use Microsoft Entra (`aad_token`) authentication"),
]

CODES: dict[str, CodeInfo] = {info.code: info for info in _CATALOGUE}


def make_finding(code: str, parts: PathParts, message: str, fix: str, lines: dict[PathParts, int] | None = None) -> Finding:
    """Build the finding of ``code`` at the spec path ``parts``, with the YAML line from ``lines``.

    A path that has no line of its own (a missing field) takes the line of its nearest
    parent that has one. The spec as a whole has no line.
    """
    info = CODES[code]
    return Finding(code, info.severity, format_path(parts), message, fix, _line_of(parts, lines or {}))


def format_path(parts: PathParts) -> str:
    """Join path parts as ``jobs.train.inputs.trips`` or ``alert_notification.emails[0]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def has_errors(findings: list[Finding]) -> bool:
    """Return True when any finding has severity ``error``."""
    return any(finding.severity == "error" for finding in findings)


def _line_of(parts: PathParts, lines: dict[PathParts, int]) -> int | None:
    for end in range(len(parts), 0, -1):
        line = lines.get(parts[:end])
        if line is not None:
            return line
    return None
