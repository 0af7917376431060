"""Layer 1 of a spec check: azure-ai-ml's own loader for the kind, offline.

The spec goes through the same steps as ``azure.ai.ml.load_*`` on a YAML file. First the
class of the kind's family picks the concrete class from the spec (``_resolve_cls_and_type``).
Then its ``_load`` validates the dict with the marshmallow schema and builds the entity. The
YAML is not parsed a second time. Loaders only parse and validate; none of them contacts Azure.

Local files and folders that the spec references (``code``, ``path``, ``conda_file``, a
component or job file) are checked first. A missing one is finding AML013 and is replaced,
for the loader only, by a reference the loader accepts, so that one missing folder neither
aborts the load nor hides the other problems. Every error of azure-ai-ml, whatever its
type, becomes findings with a path in the spec.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autograder.checks.specs.findings import Finding, PathParts, format_path, make_finding
from autograder.checks.specs.kinds import KINDS, schema_url

# Family of kinds -> (module, class) whose _load reads that family, as the public load_*
# function of azure-ai-ml does. Some of these are only in azure.ai.ml.entities._load_functions.
_LOADERS = {
    "data": ("azure.ai.ml.entities", "Data"),
    "environment": ("azure.ai.ml.entities", "Environment"),
    "model": ("azure.ai.ml.entities", "Model"),
    "component": ("azure.ai.ml.entities", "Component"),
    "job": ("azure.ai.ml.entities", "Job"),
    "online_endpoint": ("azure.ai.ml.entities", "OnlineEndpoint"),
    "online_deployment": ("azure.ai.ml.entities", "OnlineDeployment"),
    "batch_endpoint": ("azure.ai.ml.entities", "BatchEndpoint"),
    "schedule": ("azure.ai.ml.entities._schedule.schedule", "Schedule"),
    "registry": ("azure.ai.ml.entities", "Registry"),
    "workspace": ("azure.ai.ml.entities", "Workspace"),
}
_BATCH_DEPLOYMENT_LOADERS = {
    "model_batch_deployment": ("azure.ai.ml.entities._deployment.model_batch_deployment", "ModelBatchDeployment"),
    "pipeline_component_batch_deployment": (
        "azure.ai.ml.entities._deployment.pipeline_component_batch_deployment",
        "PipelineComponentBatchDeployment",
    ),
    "batch_deployment": ("azure.ai.ml.entities", "BatchDeployment"),
}
_loader_classes: dict[tuple[str, str], Any] = {}
_placeholder_folder: tempfile.TemporaryDirectory[str] | None = None

# Fields whose value names a local file or folder, unless it is a URI or an azureml: reference.
_REFERENCE_KEYS = {"code", "path", "conda_file", "component", "create_job", "job"}
_FILE_KEYS = {"conda_file", "component", "create_job", "job"}
# Subtrees where those names mean something else (a route path, a literal value).
_SKIPPED_SUBTREES = {"outputs", "inference_config", "environment_variables", "tags", "properties", "search_space", "settings"}
_URI_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_PLACEHOLDERS = {
    "component": "azureml:missing-component:1",
    "create_job": "azureml:missing-job",
    "job": "azureml:missing-job",
    "conda_file": {"dependencies": []},
}

_REQUIRED = "Missing data for required field."
_UNKNOWN = "Unknown field."
_FILE_MISSING = ("Can't find directory or file", "No such file or directory")
_NOT_IN_SET = re.compile(r"^Value '(?P<value>.*)' passed is not in set \[(?P<allowed>.*)\]$", re.DOTALL)
_MISSING_ARGUMENT = re.compile(r"missing \d+ required (?:keyword-only |positional )?arguments?: (?P<names>.+)$")
_UNSUPPORTED_TYPE = re.compile(r"^Unsupported \w+ type: ")
_MUST_BE_SPECIFIED = re.compile(r"\b(?P<field>\w+) must be specified")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def schema_findings(kind: str, data: dict[str, Any], base_path: Path, lines: dict[PathParts, int]) -> list[Finding]:
    """Validate ``data`` as a spec of ``kind`` with azure-ai-ml's loader; return its findings.

    ``base_path`` is the folder that relative ``code``, ``path`` and file references are
    resolved against, as the folder of the YAML file is for ``az ml ... create --file``.
    """
    loader_data = _copy(data)
    findings = []
    for parts, value, expects_file in list(_local_references(loader_data)):
        target = base_path / _strip_file_prefix(value)
        if target.is_file() or (target.is_dir() and not expects_file):
            continue
        expected = "file" if expects_file else "file or folder"
        findings.append(
            make_finding(
                "AML013",
                parts,
                f"local {expected} `{value}` not found (resolved to {target})",
                f"create {target}, or correct the path: relative paths start from {base_path}",
                lines,
            )
        )
        _replace(loader_data, parts, _PLACEHOLDERS.get(str(parts[-1])) or _empty_folder())
    missing = {finding.path for finding in findings}
    for finding in _run_loader(kind, loader_data, base_path, lines):
        if not any(finding.path == path or finding.path.startswith(path + ".") for path in missing):
            findings.append(finding)
    return _unique(findings)


def _empty_folder() -> str:
    """Return an empty folder to replace a missing local folder, created once per process.

    The loaders may hash the files of a folder, so an empty one keeps them fast.
    """
    global _placeholder_folder
    if _placeholder_folder is None:
        _placeholder_folder = tempfile.TemporaryDirectory(prefix="azml-spec-missing-")
    return _placeholder_folder.name


def loader_class(family_or_kind: str) -> Any:
    """Import and return the azure-ai-ml class that loads a family, once per process."""
    module_name, class_name = _BATCH_DEPLOYMENT_LOADERS.get(family_or_kind) or _LOADERS[family_or_kind]
    key = (module_name, class_name)
    if key not in _loader_classes:
        _loader_classes[key] = getattr(importlib.import_module(module_name), class_name)
    return _loader_classes[key]


def _run_loader(kind: str, data: dict[str, Any], base_path: Path, lines: dict[PathParts, int]) -> list[Finding]:
    family = KINDS[kind].family
    # The loaders resolve relative paths against the folder of yaml_path; the file itself is never read.
    yaml_path = base_path / "spec.yml"
    with _quiet_azure():
        family_class = loader_class(kind if family == "batch_deployment" else family)
        try:
            entity_class, _ = family_class._resolve_cls_and_type(data=data, params_override=[])
            entity_class._load(data=data, yaml_path=yaml_path)
        except Exception as error:  # noqa: BLE001 - every loader error becomes findings, never a crash
            return error_findings(error, kind, lines)
    return []


def error_findings(error: BaseException, kind: str, lines: dict[PathParts, int]) -> list[Finding]:
    """Turn any error raised by an azure-ai-ml loader into findings with spec paths."""
    error = _real_error(error)
    messages = _marshmallow_messages(error)
    if messages is not None:
        return [_finding_for(parts, message, kind, lines) for parts, message in flatten_messages(messages)]
    text = _error_text(error)
    if isinstance(error, TypeError):
        match = _MISSING_ARGUMENT.search(text)
        if match:
            names = re.findall(r"'(\w+)'", match.group("names"))
            return [_finding_for((name,), _REQUIRED, kind, lines) for name in names]
    if _UNSUPPORTED_TYPE.match(text):
        return [_finding_for(("type",), text, kind, lines)]
    match = _MUST_BE_SPECIFIED.search(text)
    if match:
        return [_finding_for((match.group("field"),), _REQUIRED, kind, lines)]
    if any(marker in text for marker in _FILE_MISSING):
        return [make_finding("AML013", (), f"azure-ai-ml cannot read a referenced file: {text}", "correct the path of the file", lines)]
    title = KINDS[kind].title
    return [
        make_finding(
            "AML014",
            (),
            f"azure-ai-ml rejects the {title}: {type(error).__name__}: {text or '(no message)'}",
            f"compare the spec with the {title} schema at {schema_url(kind)}",
            lines,
        )
    ]


def flatten_messages(messages: Any, parts: PathParts = ()) -> list[tuple[PathParts, str]]:
    """Turn marshmallow's nested error messages into ``(path parts, message)`` pairs.

    Keys ``_schema``, ``value`` and None stand for the field itself, an int key for a list
    item. A field that accepts several types reports one error per alternative; only the
    alternative the author most likely meant is kept (see :func:`_best_alternative`).
    """
    if isinstance(messages, str):
        return [(parts, _clean(messages))]
    if isinstance(messages, (list, tuple)):
        if all(isinstance(item, str) for item in messages):
            return [(parts, _clean(item)) for item in messages]
        return _best_alternative([flatten_messages(item, parts) for item in messages], parts)
    if isinstance(messages, dict):
        pairs = []
        for key, value in messages.items():
            if key in (None, "_schema", "value"):
                pairs.extend(flatten_messages(value, parts))
            else:
                pairs.extend(flatten_messages(value, (*parts, key if isinstance(key, int) else str(key))))
        return pairs
    return [(parts, _clean(str(messages)))]


def _best_alternative(alternatives: list[list[tuple[PathParts, str]]], own: PathParts) -> list[tuple[PathParts, str]]:
    """Pick the errors of the alternative type the author most likely meant.

    A missing local file wins, because it means the value had the right shape. Then an
    alternative that got into the value's fields beats one that rejected the value whole,
    fewer errors beat more, deeper errors beat shallower ones, and the first wins a tie.
    "Not in set" errors of the same value are merged, so the message lists every allowed
    value of every alternative.
    """
    candidates = [alternative for alternative in alternatives if alternative]
    if not candidates:
        return []

    def rank(alternative: list[tuple[PathParts, str]]) -> tuple[int, int, int, int]:
        file_missing = any(marker in message for _, message in alternative for marker in _FILE_MISSING)
        depth = max(len(parts) for parts, _ in alternative)
        # An alternative that rejects the value as a whole (a string where a mapping is
        # expected) is less informative than one that found the value's fields.
        whole_value = all(len(parts) == len(own) for parts, _ in alternative)
        return (0 if file_missing else 1, 1 if whole_value else 0, len(alternative), -depth)

    best = min(candidates, key=rank)
    return [(parts, _merge_allowed(parts, message, candidates)) for parts, message in best]


def _merge_allowed(parts: PathParts, message: str, alternatives: list[list[tuple[PathParts, str]]]) -> str:
    match = _NOT_IN_SET.match(message)
    if not match:
        return message
    allowed: list[str] = []
    for alternative in alternatives:
        for other_parts, other in alternative:
            other_match = _NOT_IN_SET.match(other)
            if other_parts == parts and other_match and other_match.group("value") == match.group("value"):
                allowed.extend(value.strip() for value in other_match.group("allowed").split(","))
    return f"Value '{match.group('value')}' passed is not in set [{', '.join(dict.fromkeys(allowed))}]"


def _finding_for(parts: PathParts, message: str, kind: str, lines: dict[PathParts, int]) -> Finding:
    title = KINDS[kind].title
    field = format_path(parts) or "the spec"
    if message == _REQUIRED:
        hint = " or pass it in the check context, as the CLI's --endpoint-name does" if parts == ("endpoint_name",) else ""
        return make_finding("AML010", parts, f"`{field}` is required in a {title}", f"add `{field}`{hint}", lines)
    if message == _UNKNOWN:
        return make_finding(
            "AML011",
            parts,
            f"`{field}` is not a field of the {title} schema",
            f"remove `{field}` or correct its spelling; the fields are listed at {schema_url(kind)}",
            lines,
        )
    if any(marker in message for marker in _FILE_MISSING):
        return make_finding("AML013", parts, f"`{field}`: {message}", "create the file or folder, or correct the path", lines)
    match = _NOT_IN_SET.match(message)
    if match:
        fix = f"use one of: {match.group('allowed')}"
    else:
        fix = f"give `{field}` a value of the type and form the {title} schema expects ({schema_url(kind)})"
    return make_finding("AML012", parts, f"`{field}`: {message}", fix, lines)


def _real_error(error: BaseException) -> BaseException:
    """Return the error that carries the information, where azure-ai-ml hides it.

    Some fields raise a bare NotImplementedError while handling the real error, which is
    then only in ``__context__``.
    """
    if isinstance(error, NotImplementedError) and not str(error) and error.__context__ is not None:
        return _real_error(error.__context__)
    return error


def _marshmallow_messages(error: BaseException) -> Any:
    """Return marshmallow's structured messages of ``error`` or of the error it wraps, or None.

    load_from_dict re-raises a marshmallow error as text ("Validation for XSchema failed:
    {json}") with the structured original as ``__cause__``.
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for link in chain:
        messages = getattr(link, "messages", None)
        if isinstance(messages, dict):
            return messages
    messages = getattr(error, "messages", None)
    if isinstance(messages, list) and messages and not str(messages[0]).startswith("Validation for "):
        return messages
    return None


def _local_references(data: Any, parts: PathParts = ()) -> Iterator[tuple[PathParts, str, bool]]:
    """Yield ``(path, value, expects a file)`` for every value that names a local file or folder."""
    if isinstance(data, dict):
        for key, value in data.items():
            child = (*parts, str(key))
            if key in _SKIPPED_SUBTREES:
                continue
            if key in _REFERENCE_KEYS and isinstance(value, str) and _is_local(value):
                yield child, value, key in _FILE_KEYS
            else:
                yield from _local_references(value, child)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _local_references(item, (*parts, index))


def _is_local(value: str) -> bool:
    if "${{" in value or not value.strip():
        return False
    if value.startswith("file:"):
        return True
    if re.match(r"^[A-Za-z]:[\\/]", value):
        return True
    return not _URI_PREFIX.match(value)


def _strip_file_prefix(value: str) -> str:
    return value.removeprefix("file:")


def _replace(data: dict[str, Any], parts: PathParts, value: Any) -> None:
    target: Any = data
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value


def _copy(value: Any) -> Any:
    # The loaders change the dict they get (Component._load sets `type`), so each gets a copy.
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _error_text(error: BaseException) -> str:
    """Return the message of an azure-ai-ml error without colour codes, boilerplate or line breaks.

    MlException formats its message for a terminal; the facts are the "(x)" lines of its
    "Details" section.
    """
    text = _ANSI.sub("", str(error))
    details = [line.strip()[4:] for line in text.splitlines() if line.strip().startswith("(x) ")]
    if details:
        return " ".join(details)
    return _clean(text)


def _clean(text: str) -> str:
    """Keep the first line of an azure-ai-ml message, with spaces collapsed."""
    first = text.strip().split("\n", 1)[0]
    return " ".join(first.split())


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


@contextlib.contextmanager
def _quiet_azure() -> Iterator[None]:
    """Silence azure-ai-ml's warnings and log records while it is imported or loads, then restore both.

    The learner cannot act on them, and nbgrader scores a test cell that wrote to stderr as zero.
    """
    logger = logging.getLogger("azure.ai.ml")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
