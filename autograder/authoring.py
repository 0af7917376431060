"""Rubric files of the instructor notebooks: embed them into hidden-test cells, and check them.

A decision exercise's rubric is a YAML file, ``solutions/<module>/rubrics/<name>.yaml``, that
a course author edits without touching code. The hidden-test cell of the exercise carries a
copy as the ``rubric=`` argument of its ``grade()`` call, so plain ``nbgrader
autograde`` grades with it and no rubric file needs to reach the grading kernel. Building the
course refreshes those copies; validating the course reports a copy that is out of date.
Neither the files nor the hidden cells reach ``exercises/`` or the learner's package.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

RUBRIC_FOLDER = "rubrics"
_RUBRIC_ARGUMENT = re.compile(r'(rubric=""")\n(.*?)(""")', re.DOTALL)


def rubric_path(root: Path, module_id: str, name: str) -> Path:
    """Return where the rubric of exercise ``<module_id>.<name>`` lives."""
    return root / "solutions" / module_id / RUBRIC_FOLDER / f"{name}.yaml"


def embedded_rubric(cell_source: str) -> str | None:
    """Return the rubric YAML a hidden-test cell passes to ``grade()``, or None when it has none."""
    match = _RUBRIC_ARGUMENT.search(cell_source)
    return match.group(2) if match else None


def embed_rubrics(root: Path, module_id: str, exercises: list[tuple[str, str]]) -> list[Path]:
    """Copy each rubric file into its hidden-test cell; return the notebooks that changed.

    ``exercises`` lists ``(name, notebook file name)`` of the module's decision exercises.
    A notebook is rewritten only when a copy differs, so building twice changes nothing.
    """
    changed = []
    for notebook_name in sorted({notebook for _, notebook in exercises}):
        path = root / "solutions" / module_id / notebook_name
        names = [name for name, notebook in exercises if notebook == notebook_name]
        if _embed_in_notebook(root, module_id, path, names):
            changed.append(path)
    return changed


def _embed_in_notebook(root: Path, module_id: str, path: Path, names: list[str]) -> bool:
    notebook = nbformat.read(path, as_version=4)
    changed = False
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        name = grade_id.removesuffix("_tests")
        source_file = rubric_path(root, module_id, name)
        if not grade_id.endswith("_tests") or name not in names or not source_file.is_file():
            continue
        text = _normalise(source_file.read_text(encoding="utf-8"))
        if embedded_rubric(cell.source) not in (None, text):
            cell.source = _RUBRIC_ARGUMENT.sub(lambda m: f"{m.group(1)}\n{text}{m.group(3)}", cell.source)
            changed = True
    if changed:
        nbformat.write(notebook, path)
    return changed


def rubric_problems(root: Path, module_id: str, name: str, cell_source: str) -> list[str]:
    """List what is wrong between a decision exercise's rubric file and its hidden-test cell."""
    source_file = rubric_path(root, module_id, name)
    embedded = embedded_rubric(cell_source)
    if not source_file.is_file():
        return [f"{source_file}: rubric file not found for {module_id}.{name}; write the rubric there as YAML"]
    if embedded is None:
        return [f"{source_file}: the hidden-test cell {name}_tests passes no rubric= to grade(); add it"]
    if embedded != _normalise(source_file.read_text(encoding="utf-8")):
        return [f"{source_file}: the copy in the hidden-test cell {name}_tests is out of date; run `azml-course build`"]
    return []


def _normalise(text: str) -> str:
    return text.strip("\n") + "\n"


def decision_problems(root: Path, module_id: str, name: str, exercise_id: str, points: float, cell_source: str) -> list[str]:
    """List every problem of a decision exercise's rubric: sync, YAML, points and answer fields."""
    from autograder.checks.rubrics import parse_rubric
    from autograder.errors import UnknownExerciseError
    from autograder.exercises import get_exercise

    source_file = rubric_path(root, module_id, name)
    if not source_file.is_file() and embedded_rubric(cell_source) is None:
        # A decision graded without a rubric (a custom check in its hidden cell) needs no file.
        return []
    problems = rubric_problems(root, module_id, name, cell_source)
    if not source_file.is_file():
        return problems
    try:
        rubric = parse_rubric(source_file.read_text(encoding="utf-8"))
    except ValueError as error:
        return [*problems, f"{source_file}: {error}"]
    if abs(rubric.points - points) > 1e-9:
        problems.append(
            f"{source_file}: the criteria give {rubric.points:g} points but curriculum.yaml gives "
            f"{exercise_id} {points:g}; make the two equal"
        )
    try:
        model = get_exercise(exercise_id).answer_model
    except UnknownExerciseError:
        # The hidden cell's grade() call fails loudly for an unregistered id; nothing to compare here.
        return problems
    for criterion in rubric.criteria:
        field = criterion.field.split(".")[0]
        if model is not None and field not in model.model_fields:
            problems.append(
                f"{source_file}: criterion on `{criterion.field}` grades no field of the answer; "
                f"use one of {', '.join(model.model_fields)}"
            )
    return problems
