"""Check one spec or many files through the three layers, and report the findings.

Layer 1 is azure-ai-ml's own loader (:mod:`.schema`), layer 2 the Azure ML rules it does not
check (:mod:`.rules`), layer 3 the teaching rules a caller switches on (:mod:`.teaching`).
azure-ai-ml is imported by the first check in a process, never by importing this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autograder.checks.specs.findings import Finding, has_errors, make_finding
from autograder.checks.specs.kinds import KINDS, guess_kind, parse_schema_url, refine_kind, schema_url
from autograder.checks.specs.loading import LoadedSpec, load_spec
from autograder.checks.specs.rules import rule_findings
from autograder.checks.specs.schema import schema_findings
from autograder.checks.specs.teaching import TEACHING_RULES, teaching_findings
from autograder.checks.specs.view import SpecContext, SpecView
from autograder.errors import SpecInputError

_DEPLOYMENT_FAMILIES = ("online_deployment", "batch_deployment")
_COMPUTE_KINDS = ("command_job", "sweep_job", "pipeline_job", "model_batch_deployment", "batch_deployment")


@dataclass(frozen=True)
class SpecReport:
    """The result of checking one spec: its kind (None when unknown), the findings and the file, if any."""

    kind: str | None
    findings: list[Finding]
    file: Path | None = None

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "file": None if self.file is None else str(self.file),
            "kind": self.kind,
            "errors": sum(f.severity == "error" for f in self.findings),
            "warnings": sum(f.severity == "warning" for f in self.findings),
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass(frozen=True)
class FilesReport:
    """The reports of several spec files, in the order the files were given."""

    reports: list[SpecReport]

    @property
    def has_errors(self) -> bool:
        return any(report.has_errors for report in self.reports)

    def to_json(self) -> str:
        """Format the findings per file as JSON."""
        return json.dumps({"files": [report.to_dict() for report in self.reports], "has_errors": self.has_errors}, indent=2)

    def to_text(self) -> str:
        """Format the findings per file as text: one heading per file, one line per finding and its fix."""
        lines = []
        for report in self.reports:
            errors = sum(f.severity == "error" for f in report.findings)
            warnings = len(report.findings) - errors
            kind = KINDS[report.kind].title if report.kind else "unknown kind"
            verdict = "ok" if not report.findings else f"{_count(errors, 'error')}, {_count(warnings, 'warning')}"
            lines.append(f"{report.file} ({kind}): {verdict}")
            for finding in report.findings:
                where = finding.path or "spec"
                if finding.line is not None:
                    where = f"line {finding.line}: {where}"
                lines.append(f"  {where}: {finding.code} {finding.severity}: {finding.message}")
                lines.append(f"      fix: {finding.fix}")
        return "\n".join(lines)


def check_spec(
    spec: Any,
    *,
    kind: str | None = None,
    context: Mapping[str, Any] | None = None,
    teaching_rules: Iterable[str] = (),
) -> list[Finding]:
    """Check an Azure ML spec offline; return its findings, errors and warnings, in layer order.

    ``spec`` is an azure-ai-ml entity or pipeline node, a dict, a YAML string or a YAML file
    (a ``Path`` or a one-line string ending in ``.yml``/``.yaml``). ``kind`` names the kind
    the exercise expects (see :data:`KINDS`); by default it comes from the spec. ``context``
    supplies what the spec cannot hold, with the keys of :class:`SpecContext`.
    ``teaching_rules`` names rules of :data:`TEACHING_RULES` to switch on.

    Raises :class:`~autograder.errors.SpecInputError` when the spec cannot be read at all
    or an argument is invalid; every problem inside a readable spec is a finding.
    """
    return check_spec_report(spec, kind=kind, context=context, teaching_rules=teaching_rules).findings


def check_spec_report(
    spec: Any,
    *,
    kind: str | None = None,
    context: Mapping[str, Any] | None = None,
    teaching_rules: Iterable[str] = (),
) -> SpecReport:
    """Check a spec like :func:`check_spec` and return the kind along with the findings."""
    rules = _rule_names(teaching_rules)
    if kind is not None and kind not in KINDS:
        raise SpecInputError(f"unknown spec kind {kind!r}; use one of {', '.join(KINDS)}")
    spec_context = SpecContext.from_mapping(context)
    loaded = load_spec(spec)
    base_path = spec_context.base_path or (loaded.file.parent if loaded.file else Path.cwd())

    resolved, findings = resolve_kind(loaded, kind)
    if resolved is None:
        return SpecReport(None, findings, loaded.file)
    data = _apply_context(resolved, loaded.data, spec_context)
    view = SpecView(resolved, data, loaded.lines, spec_context, base_path)
    schema_layer = _schema_layer(resolved, data, base_path, loaded)
    rule_layer = rule_findings(view)
    # Where a rule explains a value that the schema also rejects (an endpoint name with
    # "_"), the rule's finding is more specific, so the schema's generic one is left out.
    explained = {finding.path for finding in rule_layer if finding.severity == "error"}
    findings += [finding for finding in schema_layer if not (finding.code == "AML012" and finding.path in explained)]
    findings += rule_layer
    findings += teaching_findings(view, rules)
    return SpecReport(resolved, findings, loaded.file)


def check_files(
    paths: Iterable[str | Path],
    *,
    teaching_rules: Iterable[str] = (),
    context: Mapping[str, Any] | None = None,
) -> FilesReport:
    """Check YAML spec files, each against the folder it is in; the CLI's ``spec check``.

    Raises :class:`~autograder.errors.SpecInputError` for the first file that is missing or
    is not readable YAML, before any file is checked.
    """
    files = [Path(path) for path in paths]
    for path in files:
        if not path.is_file():
            raise SpecInputError(f"spec file not found: {path}")
    rules = _rule_names(teaching_rules)
    return FilesReport([check_spec_report(path, context=context, teaching_rules=rules) for path in files])


def resolve_kind(loaded: LoadedSpec, requested: str | None) -> tuple[str | None, list[Finding]]:
    """Decide the kind of a loaded spec; return it (None when unknown) and any AML001/AML002 finding.

    The caller's kind comes first, then the class of an entity, then ``$schema``. The
    spec's own fields override those when they clearly belong to another family of
    kinds, and always settle the kind within a family, as azure-ai-ml's loaders do. A
    ``$schema`` of another family than the caller's kind also overrides it, so that the
    mismatch is reported as AML002 rather than as a flood of schema errors.
    """
    data = loaded.data
    guessed, certain = guess_kind(data)
    declared = parse_schema_url(data.get("$schema")).kind
    start = requested or loaded.entity_kind or declared or guessed
    if start is None:
        finding = make_finding(
            "AML001",
            (),
            "cannot tell which kind of Azure ML spec this is: no known `$schema`, `type` or distinctive field",
            f"add the `$schema` URL of the kind, such as {schema_url('managed_online_deployment')}",
            loaded.lines,
        )
        return None, [finding]
    if guessed and certain and KINDS[guessed].family != KINDS[start].family:
        start = guessed
    elif requested and declared and KINDS[declared].family != KINDS[requested].family:
        # `$schema` names the kind the author meant to write when the fields do not.
        start = declared
    resolved = refine_kind(start, data)
    if requested and resolved != requested:
        finding = make_finding(
            "AML002",
            (),
            f"the spec is a {KINDS[resolved].title}, but the exercise expects a {KINDS[requested].title}",
            f"write a {KINDS[requested].title}; its schema is {schema_url(requested)}",
            loaded.lines,
        )
        return resolved, [finding]
    return resolved, []


def _schema_layer(kind: str, data: dict[str, Any], base_path: Path, loaded: LoadedSpec) -> list[Finding]:
    create_job = data.get("create_job")
    if kind == "job_schedule" and loaded.source == "entity" and isinstance(create_job, dict) and "type" in create_job:
        # A JobSchedule entity contains its whole job, while the YAML schema takes a file or an
        # azureml: reference. So the job is checked on its own, and a reference replaces it.
        job_kind = refine_kind("command_job", create_job)
        nested = [replace(f, path=f"create_job.{f.path}" if f.path else "create_job") for f in schema_findings(job_kind, create_job, base_path, {})]
        return nested + schema_findings(kind, {**data, "create_job": "azureml:inline-job"}, base_path, loaded.lines)
    return schema_findings(kind, data, base_path, loaded.lines)


def _apply_context(kind: str, data: dict[str, Any], context: SpecContext) -> dict[str, Any]:
    """Return the spec with the values the CLI would pass on the command line."""
    family = KINDS[kind].family
    overrides = {}
    if context.endpoint_name is not None and family in _DEPLOYMENT_FAMILIES:
        overrides["endpoint_name"] = context.endpoint_name
    if context.compute is not None and kind in _COMPUTE_KINDS:
        overrides["compute"] = context.compute
    return {**data, **overrides} if overrides else data


def _rule_names(names: Iterable[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        names = (names,)
    names = tuple(dict.fromkeys(names))
    unknown = [name for name in names if name not in TEACHING_RULES]
    if unknown:
        raise SpecInputError(f"unknown teaching rule(s) {', '.join(unknown)}; use {', '.join(TEACHING_RULES)}")
    return names


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
