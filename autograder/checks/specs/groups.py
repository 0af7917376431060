"""Case groups of sdk exercises: a learner's entity or YAML, validated offline field by field.

These are the first spec checks of the course, kept for the exercises built on them. A spec
is turned into the plain dict that the Azure ML CLI v2 YAML would hold, then loaded through
azure-ai-ml's own marshmallow schema for its kind, so a schema error reads as the service's
would. Exercise rules then look at single fields of that dict. :func:`passes_spec_check`
runs the full checker of :mod:`autograder.checks.specs.checker` instead. Nothing here
contacts Azure: the schemas only parse and validate.

azure-ai-ml takes 2-3 s to import, so it is imported inside the functions that need it,
and Python's module cache makes that cost once per process.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Callable

import yaml

from autograder.checks.core import CaseGroup
from autograder.checks.specs.loading import ENTITY_KINDS, serialise_entity

# Kind of spec -> (module, schema class) inside azure-ai-ml. The schemas are private
# names of azure-ai-ml; they are what its public load_* functions call.
_SCHEMAS = {
    "data": ("azure.ai.ml._schema.assets.data", "DataSchema"),
    "environment": ("azure.ai.ml._schema.assets.environment", "EnvironmentSchema"),
    "model": ("azure.ai.ml._schema.assets.model", "ModelSchema"),
    "command_job": ("azure.ai.ml._schema.job.command_job", "CommandJobSchema"),
}

# One table of entity classes for the whole checker.
_ENTITY_KINDS = ENTITY_KINDS


# azure-ai-ml logs a warning each time a schema marked experimental is first used. The
# learner cannot act on it, and nbgrader scores a test cell that wrote to stderr as zero.
logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)


def to_spec(answer: Any) -> dict[str, Any]:
    """Turn an azure-ai-ml entity, a dict or a YAML string into a plain dict of the spec."""
    if type(answer).__name__ in ("Command", "Sweep") and hasattr(answer, "_to_job"):
        # command() returns a pipeline node; the standalone job is what `az ml job create` takes.
        answer = answer._to_job()
    if hasattr(answer, "_to_dict"):
        # Checked before dict, because azure-ai-ml pipeline nodes are dict subclasses.
        spec = json.loads(json.dumps(serialise_entity(answer), default=str))
        return _undo_reference_prefix(spec)
    if isinstance(answer, dict):
        return json.loads(json.dumps(answer, default=str))
    if isinstance(answer, str):
        loaded = yaml.safe_load(answer)
        if not isinstance(loaded, dict):
            raise AssertionError("expected YAML that holds a mapping of keys to values")
        return loaded
    raise AssertionError(f"expected an azure-ai-ml entity, a dict or a YAML string, got {type(answer).__name__}")


def entity_kind(answer: Any) -> str | None:
    """Return the spec kind of an azure-ai-ml entity (``data``, ``command_job``), or None."""
    return _ENTITY_KINDS.get(type(answer).__name__)


def schema_errors(kind: str, spec: dict[str, Any], base_path: Path | None = None) -> list[str]:
    """Validate ``spec`` with azure-ai-ml's schema for ``kind``; return one line per problem.

    ``base_path`` is the folder that local ``code`` and ``path`` values are relative to,
    the current folder by default, as for ``az ml ... create --file``.
    """
    import importlib

    from azure.ai.ml.constants._common import BASE_PATH_CONTEXT_KEY
    from marshmallow import ValidationError

    module_name, class_name = _SCHEMAS[kind]
    schema_class = getattr(importlib.import_module(module_name), class_name)
    context = {BASE_PATH_CONTEXT_KEY: Path(base_path or Path.cwd())}
    try:
        schema_class(context=context).load(spec)
    except ValidationError as error:
        return sorted(set(_flatten(error.messages)))
    return []


def is_entity(kind: str, *, weight: float = 1.0) -> CaseGroup:
    """Build a group that passes when the answer is an azure-ai-ml entity of ``kind``."""
    class_names = sorted(name for name, value in _ENTITY_KINDS.items() if value == kind)

    def run(answer: Any) -> None:
        if entity_kind(answer) != kind:
            raise AssertionError(
                f"expected an azure-ai-ml {' or '.join(class_names)} object, got {type(answer).__name__}"
            )

    return CaseGroup(f"azure-ai-ml {' or '.join(class_names)} entity", run, weight=weight)


def passes_schema(kind: str, *, weight: float = 1.0) -> CaseGroup:
    """Build a group that passes when azure-ai-ml's schema for ``kind`` accepts the spec."""

    def run(answer: Any) -> None:
        errors = schema_errors(kind, to_spec(answer))
        if errors:
            raise AssertionError("azure-ai-ml rejects the spec: " + "; ".join(errors[:3]))

    return CaseGroup("valid Azure ML schema", run, weight=weight)


def passes_spec_check(
    kind: str | None = None,
    *,
    teaching_rules: tuple[str, ...] = (),
    context: dict[str, Any] | None = None,
    weight: float = 1.0,
) -> CaseGroup:
    """Build a group that passes when the full spec check finds no error.

    The message lists up to three errors, each with its code, path and fix; warnings do
    not fail the group. ``kind``, ``teaching_rules`` and ``context`` are passed to
    :func:`autograder.checks.specs.checker.check_spec`.
    """
    from autograder.checks.specs.checker import check_spec
    from autograder.errors import SpecInputError

    def run(answer: Any) -> None:
        try:
            findings = check_spec(answer, kind=kind, context=context, teaching_rules=teaching_rules)
        except SpecInputError as error:
            # azure-ai-ml could not serialise the entity: a problem of the answer, not of the learner's code.
            raise AssertionError(str(error)) from None
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            listed = "; ".join(f"{f.code} {f.path or 'spec'}: {f.message} (fix: {f.fix})" for f in errors[:3])
            more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
            raise AssertionError(listed + more)

    return CaseGroup("Azure ML spec check", run, weight=weight)


def field_rule(name: str, path: str, rule: Callable[[Any], bool], problem: str, *, weight: float = 1.0) -> CaseGroup:
    """Build a group that passes when ``rule`` holds for the value at the dotted ``path``.

    ``problem`` is what the learner reads when the rule fails: the mistake, not the answer.
    """

    def run(answer: Any) -> None:
        value = field_value(to_spec(answer), path)
        if value is None:
            raise AssertionError(f"`{path}` is not set")
        if not rule(value):
            raise AssertionError(f"`{path}` = {value!r}: {problem}")

    return CaseGroup(name, run, weight=weight)


def field_value(spec: dict[str, Any], path: str) -> Any:
    """Return the value at a dotted path such as ``inputs.training_data.mode``, or None."""
    value: Any = spec
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def command_bindings(command: str) -> list[tuple[str, str]]:
    """List the ``${{inputs.x}}`` and ``${{outputs.y}}`` bindings in a job command, in order."""
    return re.findall(r"\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_]+)\s*\}\}", command)


def _undo_reference_prefix(spec: dict[str, Any]) -> dict[str, Any]:
    # azure-ai-ml's _to_dict() writes a local code folder as "azureml:./src", which its own
    # schema then rejects; the YAML a learner writes says "./src".
    code = spec.get("code")
    if isinstance(code, str) and code.startswith("azureml:") and not code.startswith(("azureml://", "azureml:/")):
        bare = code.removeprefix("azureml:")
        if bare.startswith((".", "/")) or ":" not in bare:
            spec["code"] = bare
    return spec


def _flatten(messages: Any, path: str = "") -> list[str]:
    """Turn marshmallow's nested error dict into ``path: message`` lines.

    A field that accepts several types reports one list of errors per alternative; the
    first alternative is the one a learner most likely meant, so only it is kept.
    """
    if isinstance(messages, str):
        return [f"{path or 'spec'}: {messages.strip()}"]
    if isinstance(messages, list):
        if messages and all(isinstance(m, str) for m in messages):
            return [f"{path or 'spec'}: {messages[0].strip()}"]
        return _flatten(messages[0], path) if messages else []
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            if key in (None, "_schema", "value"):
                lines.extend(_flatten(value, path))
            else:
                lines.extend(_flatten(value, f"{path}.{key}" if path else str(key)))
        return lines
    return [f"{path or 'spec'}: {messages}"]
