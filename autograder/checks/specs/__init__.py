"""Azure ML spec checks: a learner's entity or YAML, validated offline in three layers.

:func:`check_spec` takes an azure-ai-ml entity or pipeline node, a dict, a YAML string or a
YAML file and returns :class:`Finding` objects, each with a stable code (``AML040``), a
severity, a path in the spec, the YAML line and a fix. Layer 1 is azure-ai-ml's own
loader for the kind, layer 2 the Azure ML rules that loader does not check, layer 3 the
teaching rules an exercise switches on by name. docs/spec-codes.md explains every code.

Importing this package does not import azure-ai-ml (2-3 s); the first check does, once per
process. Nothing here contacts Azure.
"""

from autograder.checks.specs.checker import FilesReport, SpecReport, check_files, check_spec, check_spec_report
from autograder.checks.specs.findings import CODES, CodeInfo, Finding, has_errors
from autograder.checks.specs.groups import (
    _flatten,
    command_bindings,
    entity_kind,
    field_rule,
    field_value,
    is_entity,
    passes_schema,
    passes_spec_check,
    schema_errors,
    to_spec,
)
from autograder.checks.specs.kinds import KINDS, SpecKind, schema_url
from autograder.checks.specs.teaching import TEACHING_RULES

__all__ = [
    "CODES",
    "KINDS",
    "TEACHING_RULES",
    "CodeInfo",
    "FilesReport",
    "Finding",
    "SpecKind",
    "SpecReport",
    "check_files",
    "check_spec",
    "check_spec_report",
    "command_bindings",
    "entity_kind",
    "field_rule",
    "field_value",
    "has_errors",
    "is_entity",
    "passes_schema",
    "passes_spec_check",
    "schema_errors",
    "schema_url",
    "to_spec",
]
