"""The view of a spec that the rules of layers 2 and 3 work on: the spec, its kind, its YAML lines and the caller's context."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from autograder.checks.specs.findings import Finding, PathParts, make_finding
from autograder.errors import SpecInputError

CONTEXT_KEYS = ("base_path", "endpoint_name", "compute", "deployments")


@dataclass(frozen=True)
class SpecContext:
    """Values a spec check cannot read from the spec itself.

    ``base_path`` is the folder that relative references start from: the YAML file's
    folder by default, else the current folder. ``endpoint_name`` and ``compute`` replace
    the spec's own values, as the CLI's ``--endpoint-name`` and ``--set compute=...`` do.
    ``deployments`` names the deployments an endpoint has, so that traffic can be checked
    against them; None means unknown, and then names in traffic are not checked.
    """

    base_path: Path | None = None
    endpoint_name: str | None = None
    compute: str | None = None
    deployments: frozenset[str] | None = None

    @classmethod
    def from_mapping(cls, context: Mapping[str, Any] | None) -> SpecContext:
        """Build a context from a dict such as ``{"endpoint_name": "fare-endpoint"}``."""
        if context is None:
            return cls()
        unknown = sorted(set(context) - set(CONTEXT_KEYS))
        if unknown:
            raise SpecInputError(f"unknown spec check context key(s) {', '.join(unknown)}; use {', '.join(CONTEXT_KEYS)}")
        deployments = context.get("deployments")
        if isinstance(deployments, str) or (deployments is not None and not isinstance(deployments, Iterable)):
            raise SpecInputError("context `deployments` must be a list of deployment names or deployment specs")
        names = None if deployments is None else frozenset(_deployment_name(item) for item in deployments)
        base_path = context.get("base_path")
        return cls(
            base_path=Path(base_path) if base_path is not None else None,
            endpoint_name=context.get("endpoint_name"),
            compute=context.get("compute"),
            deployments=names,
        )


@dataclass
class SpecView:
    """One spec as the rules see it: the dict, its kind, its YAML lines, the context and the base folder."""

    kind: str
    data: dict[str, Any]
    lines: dict[PathParts, int]
    context: SpecContext
    base_path: Path
    prefix: PathParts = ()
    _files: dict[Path, Any] = field(default_factory=dict)

    def finding(self, code: str, parts: PathParts, message: str, fix: str) -> Finding:
        """Build a finding at ``parts``, a path inside this view's dict."""
        return make_finding(code, (*self.prefix, *parts), message, fix, self.lines)

    def nested(self, kind: str, parts: PathParts) -> SpecView:
        """Return a view of the spec nested at ``parts``, such as the inline job of a schedule."""
        value = self.data
        for part in parts:
            value = value[part]
        return SpecView(kind, value, self.lines, self.context, self.base_path, (*self.prefix, *parts), self._files)

    def read_local_yaml(self, reference: str) -> dict[str, Any] | None:
        """Read a local YAML file the spec references, such as a component; None when it cannot be read."""
        path = self.base_path / reference.removeprefix("file:")
        if path not in self._files:
            try:
                loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                loaded = None
            self._files[path] = loaded if isinstance(loaded, dict) else None
        return self._files[path]

    @cached_property
    def is_kubernetes(self) -> bool:
        """True for Kubernetes online endpoints and deployments."""
        return self.kind.startswith("kubernetes_")


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _deployment_name(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("name"), str):
        return item["name"]
    name = getattr(item, "name", None)
    if isinstance(name, str):
        return name
    raise SpecInputError(f"invalid item {item!r} in context `deployments`; give deployment names or specs with a `name`")
