"""Layer 2 of a spec check: Azure ML rules that azure-ai-ml's loaders do not check.

Every rule here reports an error only for a spec that the Azure ML CLI or service rejects,
and a warning where the service accepts the spec but does something other than the spec states.
Limits come from the Azure ML documentation (CLI v2 YAML references, "Manage and increase
quotas and limits for resources"); behaviour of azure-ai-ml is that of version 1.35.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from autograder.checks.specs.bindings import command_rules, pipeline_rules
from autograder.checks.specs.findings import Finding
from autograder.checks.specs.kinds import KINDS, parse_schema_url, schema_url
from autograder.checks.specs.view import SpecView

Rule = Callable[[SpecView], Iterator[Finding]]

_AUTH_MODES = {
    "managed_online_endpoint": ("key", "aml_token", "aad_token"),
    "kubernetes_online_endpoint": ("key", "aml_token"),
    "batch_endpoint": ("aad_token",),
}
_MAX_REQUEST_TIMEOUT_MS = {"managed_online_deployment": 180_000, "kubernetes_online_deployment": 300_000}
_PROBE_MINIMUMS = {"initial_delay": 1, "period": 1, "timeout": 1, "success_threshold": 1, "failure_threshold": 1}
# azure-ai-ml 1.35 sends the first non-zero metric of a drift group, in this order, and drops the rest.
_DRIFT_METRIC_ORDER = {
    "numerical": ("jensen_shannon_distance", "normalized_wasserstein_distance", "population_stability_index", "two_sample_kolmogorov_smirnov_test"),
    "categorical": ("jensen_shannon_distance", "population_stability_index", "pearsons_chi_squared_test"),
}


def rule_findings(view: SpecView) -> list[Finding]:
    """Run every layer 2 rule that applies to the view's kind; return the findings in rule order."""
    findings: list[Finding] = []
    for kinds, rule in _RULES:
        if kinds is None or view.kind in kinds:
            findings.extend(rule(view))
    if view.kind == "job_schedule" and isinstance(view.data.get("create_job"), dict) and "type" in view.data["create_job"]:
        # The schedule of an entity contains its whole job, where the YAML form names a file.
        job_kind = {"pipeline": "pipeline_job", "sweep": "sweep_job"}.get(view.data["create_job"]["type"], "command_job")
        findings.extend(rule_findings(view.nested(job_kind, ("create_job",))))
    return findings


def schema_url_rules(view: SpecView) -> Iterator[Finding]:
    """Check that `$schema` is an Azure ML CLI v2 schema URL of the spec's kind (AML020, AML021)."""
    if "$schema" not in view.data or view.prefix:
        return
    value = view.data["$schema"]
    expected = schema_url(view.kind)
    parsed = parse_schema_url(value)
    if not parsed.known_host:
        yield view.finding(
            "AML021",
            ("$schema",),
            f"`$schema` {value!r} is not an Azure ML CLI v2 schema URL, so editors cannot validate the file",
            f"use {expected}",
        )
        return
    same_family = parsed.kind is not None and parsed.family_only and KINDS[parsed.kind].family == KINDS[view.kind].family
    if parsed.kind != view.kind and not same_family:
        named = KINDS[parsed.kind].title if parsed.kind else f"`{parsed.schema_name}`"
        yield view.finding(
            "AML020",
            ("$schema",),
            f"`$schema` names the {named} schema, but the spec is a {KINDS[view.kind].title}",
            f"use {expected}",
        )


def name_rules(view: SpecView) -> Iterator[Finding]:
    """Check endpoint and deployment names against the service's naming rules (AML030-AML033)."""
    if view.kind.endswith("_endpoint"):
        yield from _check_name(view, ("name",), "endpoint", "AML030")
        return
    yield from _check_name(view, ("endpoint_name",), "endpoint", "AML030")
    yield from _check_name(view, ("name",), "deployment", "AML031")
    endpoint, deployment = view.data.get("endpoint_name"), view.data.get("name")
    if view.is_kubernetes and isinstance(endpoint, str) and isinstance(deployment, str):
        total = len(endpoint) + len(deployment)
        if total > 62:
            yield view.finding(
                "AML032",
                ("name",),
                f"endpoint name `{endpoint}` and deployment name `{deployment}` have {total} characters together; "
                "Kubernetes online endpoints allow at most 62",
                "shorten the endpoint or the deployment name",
            )


def _check_name(view: SpecView, parts: tuple[str], resource: str, code: str) -> Iterator[Finding]:
    name = view.data.get(parts[0])
    if not isinstance(name, str):
        return
    problems = []
    if not 3 <= len(name) <= 32:
        problems.append(f"has {len(name)} characters")
    if not re.match(r"[A-Za-z]", name):
        problems.append("does not start with a letter")
    if not re.fullmatch(r"[A-Za-z0-9-]*", name[1:]):
        problems.append("contains characters other than letters, digits and '-'")
    if name.endswith("-"):
        problems.append("ends with '-'")
    if problems:
        yield view.finding(
            code,
            parts,
            f"{resource} name `{name}` {', '.join(problems)}",
            f"use 3 to 32 characters: a letter first, then letters, digits and single '-', not '-' last",
        )
    elif "--" in name:
        yield view.finding(
            "AML033",
            parts,
            f"{resource} name `{name}` contains '--'; the naming rules allow single hyphens only",
            "replace '--' with a single '-'",
        )


def auth_mode_rules(view: SpecView) -> Iterator[Finding]:
    """Check that the endpoint type supports the `auth_mode` (AML034)."""
    mode = view.data.get("auth_mode")
    allowed = _AUTH_MODES[view.kind]
    if isinstance(mode, str) and mode in ("key", "aml_token", "aad_token") and mode not in allowed:
        yield view.finding(
            "AML034",
            ("auth_mode",),
            f"a {KINDS[view.kind].title} does not support `auth_mode: {mode}`",
            f"use {' or '.join(allowed)}",
        )


def traffic_rules(view: SpecView) -> Iterator[Finding]:
    """Check that traffic totals 0 or 100 and that mirror traffic stays within the service's limits (AML040-AML046)."""
    traffic = view.data.get("traffic")
    mirror = view.data.get("mirror_traffic")
    traffic = traffic if isinstance(traffic, dict) else {}
    mirror = mirror if isinstance(mirror, dict) else {}
    valid = True
    for section, values in (("traffic", traffic), ("mirror_traffic", mirror)):
        for deployment, percent in values.items():
            if not _is_percent(percent):
                valid = False
                yield view.finding(
                    "AML042",
                    (section, str(deployment)),
                    f"{section} of `{deployment}` is {percent!r}, not a whole number from 0 to 100",
                    "use a whole percentage from 0 to 100",
                )
            elif view.context.deployments is not None and str(deployment) not in view.context.deployments:
                yield view.finding(
                    "AML041",
                    (section, str(deployment)),
                    f"{section} names deployment `{deployment}`, which the endpoint does not have "
                    f"(deployments: {', '.join(sorted(view.context.deployments)) or 'none'})",
                    "create the deployment first, or correct the name",
                )
    total = sum(percent for percent in traffic.values() if _is_percent(percent))
    if valid and traffic and total not in (0, 100):
        yield view.finding(
            "AML040",
            ("traffic",),
            f"traffic totals {total} %; live traffic across deployments must total 0 or 100 %",
            "change the percentages so that they add up to 100",
        )
    yield from _mirror_findings(view, traffic, mirror)


def default_deployment_rules(view: SpecView) -> Iterator[Finding]:
    """Check that a batch endpoint's default deployment is one of its deployments, when the context names them (AML041)."""
    defaults = view.data.get("defaults")
    name = defaults.get("deployment_name") if isinstance(defaults, dict) else None
    if isinstance(name, str) and view.context.deployments is not None and name not in view.context.deployments:
        yield view.finding(
            "AML041",
            ("defaults", "deployment_name"),
            f"defaults.deployment_name names deployment `{name}`, which the endpoint does not have "
            f"(deployments: {', '.join(sorted(view.context.deployments)) or 'none'})",
            "create the deployment first, or correct the name",
        )


def _mirror_findings(view: SpecView, traffic: dict[str, Any], mirror: dict[str, Any]) -> Iterator[Finding]:
    mirrored = {str(name): percent for name, percent in mirror.items() if _is_percent(percent) and percent > 0}
    if not mirrored:
        return
    if view.is_kubernetes:
        yield view.finding(
            "AML046",
            ("mirror_traffic",),
            "Kubernetes online endpoints do not support mirror traffic",
            "remove `mirror_traffic`, or use a managed online endpoint",
        )
    if len(mirrored) > 1:
        yield view.finding(
            "AML044",
            ("mirror_traffic",),
            f"mirror traffic goes to {len(mirrored)} deployments ({', '.join(sorted(mirrored))}); it may go to one only",
            "mirror traffic to a single deployment",
        )
    for name, percent in mirrored.items():
        if percent > 50:
            yield view.finding(
                "AML043",
                ("mirror_traffic", name),
                f"mirror traffic to `{name}` is {percent} %; at most 50 % of live traffic can be mirrored",
                "mirror 50 % or less",
            )
        live = traffic.get(name)
        if _is_percent(live) and live > 0:
            yield view.finding(
                "AML045",
                ("mirror_traffic", name),
                f"`{name}` takes {live} % of live traffic and also receives mirror traffic",
                f"mirror to a deployment with 0 % live traffic, or set `traffic.{name}` to 0",
            )


def scale_rules(view: SpecView) -> Iterator[Finding]:
    """Check that a managed online deployment uses the default scale type, the only one it supports (AML050)."""
    settings = view.data.get("scale_settings")
    if isinstance(settings, dict) and settings.get("type") == "target_utilization":
        yield view.finding(
            "AML050",
            ("scale_settings", "type"),
            "managed online deployments support only `default` scale settings; `target_utilization` is for Kubernetes",
            "remove `scale_settings` (and autoscale with Azure Monitor), or deploy to a Kubernetes online endpoint",
        )


def request_rules(view: SpecView) -> Iterator[Finding]:
    """Check `request_timeout_ms` and the concurrency per instance against the service's limits (AML051)."""
    settings = view.data.get("request_settings")
    if not isinstance(settings, dict):
        return
    maximum = _MAX_REQUEST_TIMEOUT_MS[view.kind]
    timeout = settings.get("request_timeout_ms")
    if _is_number(timeout) and not 1 <= timeout <= maximum:
        yield view.finding(
            "AML051",
            ("request_settings", "request_timeout_ms"),
            f"request_timeout_ms is {timeout}; a {KINDS[view.kind].title} allows 1 to {maximum} ms",
            f"use a timeout from 1 to {maximum} ms (the default is 5000)",
        )
    concurrency = settings.get("max_concurrent_requests_per_instance")
    if _is_number(concurrency) and concurrency < 1:
        yield view.finding(
            "AML051",
            ("request_settings", "max_concurrent_requests_per_instance"),
            f"max_concurrent_requests_per_instance is {concurrency}; at least 1 request must be allowed",
            "use 1 or more (the default is 1)",
        )


def probe_rules(view: SpecView) -> Iterator[Finding]:
    """Check liveness and readiness probe settings against the limits of container probes (AML052)."""
    for probe in ("liveness_probe", "readiness_probe"):
        settings = view.data.get(probe)
        if not isinstance(settings, dict):
            continue
        for setting, minimum in _PROBE_MINIMUMS.items():
            value = settings.get(setting)
            if _is_number(value) and value < minimum:
                yield view.finding(
                    "AML052",
                    (probe, setting),
                    f"{probe}.{setting} is {value}; the minimum is {minimum}",
                    f"use {minimum} or more",
                )
        threshold = settings.get("success_threshold")
        if probe == "liveness_probe" and view.is_kubernetes and _is_number(threshold) and threshold > 1:
            # Kubernetes itself rejects a liveness probe whose success threshold is not 1.
            yield view.finding(
                "AML052",
                (probe, "success_threshold"),
                f"liveness_probe.success_threshold is {threshold}; Kubernetes requires 1 for liveness probes",
                "use 1",
            )


def monitoring_rules(view: SpecView) -> Iterator[Finding]:
    """Find thresholds that azure-ai-ml drops or replaces before the monitor reaches the service (AML070-AML072)."""
    monitor = view.data.get("create_monitor")
    signals = monitor.get("monitoring_signals") if isinstance(monitor, dict) else None
    if not isinstance(signals, dict):
        return
    for name, signal in signals.items():
        if not isinstance(signal, dict) or not isinstance(signal.get("metric_thresholds"), dict):
            continue
        parts = ("create_monitor", "monitoring_signals", str(name), "metric_thresholds")
        thresholds = signal["metric_thresholds"]
        signal_type = signal.get("type")
        if signal_type in ("data_drift", "prediction_drift"):
            yield from _drift_thresholds(view, parts, thresholds)
        elif signal_type == "feature_attribution_drift":
            yield from _zero_thresholds(view, parts, thresholds, ("normalized_discounted_cumulative_gain",))
        elif signal_type == "model_performance":
            for task in ("classification", "regression"):
                if isinstance(thresholds.get(task), dict):
                    yield from _zero_thresholds(view, (*parts, task), thresholds[task], tuple(thresholds[task]))
        elif signal_type == "data_quality" and isinstance(thresholds.get("categorical"), dict):
            yield view.finding(
                "AML072",
                (*parts, "categorical"),
                "azure-ai-ml 1.35 sends the numerical data quality thresholds for categorical features too, "
                "and none when `numerical` is missing, so these values never reach the monitor",
                "set the categorical limits you need under `numerical` as well, or create the monitor in the studio",
            )


def _drift_thresholds(view: SpecView, parts: tuple[str, ...], thresholds: dict[str, Any]) -> Iterator[Finding]:
    for data_type, order in _DRIFT_METRIC_ORDER.items():
        metrics = thresholds.get(data_type)
        if not isinstance(metrics, dict):
            continue
        yield from _zero_thresholds(view, (*parts, data_type), metrics, tuple(metrics))
        set_metrics = [metric for metric in metrics if _is_number(metrics[metric]) and metrics[metric] != 0]
        if len(set_metrics) > 1:
            kept_metric = next((metric for metric in order if metric in set_metrics), set_metrics[0])
            yield view.finding(
                "AML071",
                (*parts, data_type),
                f"{data_type} drift sets {len(set_metrics)} metrics ({', '.join(set_metrics)}); "
                f"azure-ai-ml 1.35 keeps only `{kept_metric}` and drops the others",
                "keep one metric per data type, or add another signal for the other metric",
            )


def _zero_thresholds(view: SpecView, parts: tuple[str, ...], metrics: dict[str, Any], names: tuple[str, ...]) -> Iterator[Finding]:
    for metric in names:
        value = metrics.get(metric)
        if _is_number(value) and value == 0:
            yield view.finding(
                "AML070",
                (*parts, str(metric)),
                f"threshold {metric} is 0; azure-ai-ml 1.35 treats 0 as unset and drops it before the monitor reaches the service",
                "use a small positive threshold such as 0.01 instead of 0",
            )


def _is_percent(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_ONLINE_DEPLOYMENTS = {"managed_online_deployment", "kubernetes_online_deployment"}
_DEPLOYMENTS = _ONLINE_DEPLOYMENTS | {"model_batch_deployment", "pipeline_component_batch_deployment", "batch_deployment"}
_ENDPOINTS = {"managed_online_endpoint", "kubernetes_online_endpoint", "batch_endpoint"}

_RULES: list[tuple[set[str] | None, Rule]] = [
    (None, schema_url_rules),
    (_ENDPOINTS | _DEPLOYMENTS, name_rules),
    (_ENDPOINTS, auth_mode_rules),
    ({"managed_online_endpoint", "kubernetes_online_endpoint"}, traffic_rules),
    ({"batch_endpoint"}, default_deployment_rules),
    ({"managed_online_deployment"}, scale_rules),
    (_ONLINE_DEPLOYMENTS, request_rules),
    (_ONLINE_DEPLOYMENTS, probe_rules),
    ({"command_job", "command_component", "sweep_job"}, command_rules),
    ({"pipeline_job"}, pipeline_rules),
    ({"monitor_schedule"}, monitoring_rules),
]
