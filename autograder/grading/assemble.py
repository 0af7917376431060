"""Build the notebook that is graded from the instructor's notebook and the learner's answers.

Only the learner's answer cells are taken from the submission. Every locked and test cell,
hidden tests included, comes from the instructor's notebook, in the instructor's order, so
a learner cannot gain points by editing, deleting, moving or retyping a test cell. The
learner's own extra cells (helpers, experiments) run where the learner put them, after the
answer or instructor cell they followed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

# Cell metadata the engine adds to the graded notebook; nbgrader ignores unknown keys.
ENGINE_KEY = "azml"


@dataclass
class Assembly:
    """The graded notebook and what the assembly noticed about the submission.

    ``notes`` list repairs a learner should hear about: a restored test cell, a duplicated
    answer cell, a retyped cell.
    """

    notebook: NotebookNode
    notes: list[str] = field(default_factory=list)


def grade_id(cell: NotebookNode) -> str | None:
    """Return the nbgrader id of ``cell``, or None for a cell nbgrader does not track."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_answer_cell(cell: NotebookNode) -> bool:
    """Return True for a cell the learner writes (an nbgrader solution cell)."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def is_graded_cell(cell: NotebookNode) -> bool:
    """Return True for a code cell that carries points (an nbgrader test cell)."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbgrader.get("grade")) and not nbgrader.get("solution")


def assemble(source: NotebookNode, release: NotebookNode, submitted: NotebookNode | None) -> Assembly:
    """Return the notebook to execute for one learner notebook.

    Parameters
    ----------
    source : NotebookNode
        The instructor's notebook, with solutions and hidden tests.
    release : NotebookNode
        The released notebook; its answer cells stand in for answers the learner deleted.
    submitted : NotebookNode or None
        The learner's notebook, or None when the learner did not submit it.
    """
    notes: list[str] = []
    known = {grade_id(cell) for cell in source.cells if grade_id(cell)}
    answers, extras = _learner_cells(submitted, known, notes) if submitted is not None else ({}, {})
    stubs = {grade_id(cell): cell for cell in release.cells if is_answer_cell(cell)}

    cells = list(extras.get(None, []))
    for cell in source.cells:
        cell_id = grade_id(cell)
        if is_answer_cell(cell):
            cells.extend(_answer_cells(cell, answers.get(cell_id), stubs.get(cell_id), submitted is not None, notes))
        elif cell_id is None and cell.cell_type == "code" and submitted is not None:
            # A code cell nbgrader does not track belongs to the learner, who may edit or
            # delete it: the learner's copy runs among their own cells, as nbgrader runs it.
            continue
        else:
            cells.append(_plain_copy(cell))
        cells.extend(extras.get(cell_id, []) if cell_id else [])

    if submitted is not None:
        _note_restored_tests(source, submitted, notes)
    notebook = copy.deepcopy(source)
    notebook.cells = cells
    return Assembly(notebook, notes)


def _learner_cells(submitted: NotebookNode, known: set[str], notes: list[str]) -> tuple[dict, dict]:
    """Split the learner's cells into answers by grade id and extras by the id they follow."""
    answers: dict[str, list[NotebookNode]] = {}
    extras: dict[str | None, list[NotebookNode]] = {}
    anchor = None
    for cell in submitted.cells:
        cell_id = grade_id(cell)
        if cell_id is not None and cell_id not in known:
            # A cell pasted from another notebook: its code runs as the learner's own.
            cell_id = None
        if cell_id is not None and is_answer_cell(cell):
            answers.setdefault(cell_id, []).append(cell)
            anchor = cell_id
        elif cell_id is not None:
            # A locked or test cell, possibly edited or duplicated: the instructor's copy
            # is used instead, at its own place.
            anchor = cell_id
        elif cell.cell_type == "code" and cell.source.strip():
            extras.setdefault(anchor, []).append(_plain_cell(cell))

    for cell_id, copies in answers.items():
        if len(copies) > 1:
            notes.append(f"answer cell {cell_id} appears {len(copies)} times; all copies ran in your order, so the last one counts")
    return answers, extras


def _answer_cells(
    instructor: NotebookNode,
    copies: list[NotebookNode] | None,
    stub: NotebookNode | None,
    submitted: bool,
    notes: list[str],
) -> list[NotebookNode]:
    if not copies:
        cell = _plain_copy(stub or instructor)
        if stub is None:
            cell.source = ""
        if submitted:
            # Re-running the released stub would undo a definition the learner moved into
            # a cell of their own, so the restored cell is recorded but not run.
            cell.metadata[ENGINE_KEY] = {"skip": True}
            notes.append(f"answer cell {grade_id(instructor)} was deleted; it was graded as unanswered")
        return [cell]

    cells = []
    for number, learner_cell in enumerate(copies):
        cell = _plain_copy(instructor)
        cell.source = learner_cell.source
        if number and "id" in cell:
            # nbformat requires unique cell ids within a notebook.
            cell.id = f"{cell.id}-copy{number}"
        if learner_cell.cell_type != instructor.cell_type:
            notes.append(
                f"answer cell {grade_id(instructor)} was changed to a {learner_cell.cell_type} cell; "
                f"it was graded as the {instructor.cell_type} cell it should be"
            )
        cells.append(cell)
    return cells


def _note_restored_tests(source: NotebookNode, submitted: NotebookNode, notes: list[str]) -> None:
    learner_ids = {grade_id(cell): cell for cell in submitted.cells if grade_id(cell)}
    for cell in source.cells:
        cell_id = grade_id(cell)
        if not is_graded_cell(cell):
            continue
        if cell_id not in learner_ids:
            notes.append(f"test cell {cell_id} was missing; it was restored from the course and graded")
        elif learner_ids[cell_id].source != cell.source and "### BEGIN HIDDEN TESTS" not in cell.source:
            notes.append(f"test cell {cell_id} was edited; the course's version was graded")


def _plain_copy(cell: NotebookNode) -> NotebookNode:
    copied = copy.deepcopy(cell)
    if copied.cell_type == "code":
        copied.outputs = []
        copied.execution_count = None
    return copied


def _plain_cell(cell: NotebookNode) -> NotebookNode:
    """Return a learner's extra cell with its source only: outputs and metadata are not trusted."""
    return nbformat.v4.new_code_cell(cell.source)
