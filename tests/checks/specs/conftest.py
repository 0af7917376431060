"""Fixtures of the spec check tests: the corpus of valid specs and mutated copies of its files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

VALID = Path(__file__).resolve().parents[2] / "files" / "specs" / "valid"
CORPUS = sorted(VALID.glob("*.yml"))


class SpecFiles:
    """A copy of the valid corpus in a temp folder, where mutated specs are written next to the originals.

    A mutated spec sits in the same folder as the original, so its relative references
    (``./src``, ``./conda/sklearn.yml``) still resolve.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def load(self, name: str) -> dict[str, Any]:
        return yaml.safe_load((self.folder / name).read_text(encoding="utf-8"))

    def mutate(self, name: str, *changes: tuple[Any, ...]) -> Path:
        """Write ``name`` with ``changes`` applied as ``mutated-<name>``; return its path.

        A change is ``("set", "dotted.path", value)``, which creates missing mappings,
        ``("delete", "dotted.path")`` or ``("append", "dotted.path", text)`` for strings.
        """
        spec = self.load(name)
        for change in changes:
            apply_change(spec, change)
        target = self.folder / f"mutated-{name}"
        target.write_text(yaml.safe_dump(spec, sort_keys=False, width=1000), encoding="utf-8")
        return target

    def line(self, file: Path, path: str) -> int | None:
        """Return the line a finding at ``path`` of ``file`` should report."""
        return expected_line(file.read_text(encoding="utf-8"), path)


def apply_change(spec: dict[str, Any], change: tuple[Any, ...]) -> None:
    action, path, *value = change
    *parents, last = path.split(".")
    target = spec
    for key in parents:
        target = target.setdefault(key, {})
    if action == "set":
        target[last] = value[0]
    elif action == "delete":
        del target[last]
    elif action == "append":
        target[last] = f"{target[last]} {value[0]}"
    else:
        raise ValueError(f"unknown change {action!r}; use set, delete or append")


@pytest.fixture
def spec_files(tmp_path: Path) -> SpecFiles:
    folder = tmp_path / "valid"
    shutil.copytree(VALID, folder)
    return SpecFiles(folder)


def expected_line(text: str, path: str) -> int | None:
    """Find the line of a dotted path in YAML text by indentation, independently of the checker.

    A path that is not in the text gives the line of its nearest parent that is, and a
    missing top-level key gives None, which is what findings report.
    """
    lines = text.splitlines()
    found: int | None = None
    start, parent_indent = 0, -1
    for key in path.split("."):
        child_indent = _child_indent(lines, start, parent_indent)
        pattern = re.compile(rf"^ {{{child_indent}}}{re.escape(key)}:")
        match = None
        for index in range(start, len(lines)):
            line = lines[index]
            if line.strip() and _indent(line) <= parent_indent:
                break
            if pattern.match(line):
                match = index
                break
        if match is None:
            return found
        found, start, parent_indent = match + 1, match + 1, child_indent
    return found


def _child_indent(lines: list[str], start: int, parent_indent: int) -> int:
    for line in lines[start:]:
        if line.strip():
            return _indent(line) if _indent(line) > parent_indent else parent_indent + 2
    return parent_indent + 2


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
