"""Grade one submission in a worker process: run its notebooks confined, score them here.

This is the function a local process pool or a Dask worker runs. It receives everything
as plain values (the notebooks as JSON, the support files as bytes), so it needs no access
to the course folder, and returns a ``SubmissionResult``. The learner's code runs only in
the confined kernel; the checks that decide each score run in this process, on the plain
values the kernel recorded.
"""

from __future__ import annotations

import ast
import copy
import os
import time
from dataclasses import dataclass, replace
from typing import Any

import nbformat
from nbformat import NotebookNode, v4

from autograder.checks.seeds import LEARNER_ID_VARIABLE
from autograder.errors import TamperedRecordingError
from autograder.grading.assemble import ENGINE_KEY, assemble, grade_id, is_graded_cell
from autograder.grading.kernels import GradingKernel, KernelPool
from autograder.grading.results import NotebookResult, QuestionResult, SubmissionResult, worst_status
from autograder.grading.sandbox import Limits, SandboxError, SandboxPolicy

_POOL: KernelPool | None = None


@dataclass(frozen=True)
class NotebookTask:
    """One notebook of a module: the instructor's, the released and the learner's, as JSON.

    ``submitted`` is empty when the learner did not hand the notebook in; ``invalid`` is
    the reason when the learner's file cannot be read as a notebook.
    """

    name: str
    source: str
    release: str
    submitted: str = ""
    invalid: str = ""


@dataclass(frozen=True)
class SubmissionTask:
    """Everything a worker needs to grade one learner's submission of one module."""

    learner: str
    module: str
    digest: str
    notebooks: tuple[NotebookTask, ...]
    files: tuple[tuple[str, bytes], ...] = ()
    limits: Limits = Limits()
    policy: SandboxPolicy = SandboxPolicy()
    preload: tuple[str, ...] = ()


@dataclass(frozen=True)
class GradeCall:
    """One ``grade(...)`` call of a test cell, read from the instructor's source."""

    exercise_id: str
    points: float
    grading_data: dict[str, Any]


def grade_submission(task: SubmissionTask) -> SubmissionResult:
    """Grade every notebook of ``task`` in one fresh confined kernel and return the result."""
    started = time.monotonic()
    try:
        kernel = _pool().take(task.limits, task.policy, task.preload)
    except SandboxError as error:
        notebooks = tuple(_unrun_notebook(notebook, "sandbox error", str(error)) for notebook in task.notebooks)
        return _result(task, notebooks, started)

    try:
        kernel.add_files(task.files)
        notebooks = tuple(_grade_notebook(kernel, task, notebook) for notebook in task.notebooks)
    except SandboxError as error:
        notebooks = tuple(_unrun_notebook(notebook, "sandbox error", str(error)) for notebook in task.notebooks)
    finally:
        kernel.close()
        _pool().prepare(task.limits, task.policy, task.preload)
    return _result(task, notebooks, started)


def grade_calls(source: str) -> list[GradeCall]:
    """Read the ``grade(...)`` calls of a test cell's source: exercise, points and grading data.

    Only literal arguments count: the instructor's cell states them, and nothing the
    learner's code computes can change them.
    """
    calls = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "grade"):
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
        points = float(ast.literal_eval(keywords.pop("points")))
        data = {name: ast.literal_eval(value) for name, value in keywords.items()}
        calls.append(GradeCall(node.args[0].value, points, data))
    return calls


def _pool() -> KernelPool:
    global _POOL
    if _POOL is None:
        _POOL = KernelPool()
    return _POOL


def _result(task: SubmissionTask, notebooks: tuple[NotebookResult, ...], started: float) -> SubmissionResult:
    statuses = [notebook.status for notebook in notebooks] + [q.status for n in notebooks for q in n.questions]
    reasons = [notebook.reason for notebook in notebooks if notebook.reason]
    reasons += [
        f"{q.notebook}: {q.reason}" for n in notebooks for q in n.questions
        if q.status != "graded" and q.reason and q.reason != n.reason
    ]
    return SubmissionResult(
        learner=task.learner,
        module=task.module,
        digest=task.digest,
        notebooks=notebooks,
        status=worst_status(statuses),
        reason="; ".join(dict.fromkeys(reasons)),
        sandboxed=task.policy.enabled,
        seconds=round(time.monotonic() - started, 3),
    )


def _grade_notebook(kernel: GradingKernel, task: SubmissionTask, notebook_task: NotebookTask) -> NotebookResult:
    source = nbformat.reads(notebook_task.source, as_version=4)
    if notebook_task.invalid:
        return _unrun_notebook(notebook_task, "invalid notebook", notebook_task.invalid)

    release = nbformat.reads(notebook_task.release, as_version=4)
    submitted = nbformat.reads(notebook_task.submitted, as_version=4) if notebook_task.submitted else None
    assembly = assemble(source, release, submitted)
    notebook = assembly.notebook
    kernel.begin_notebook(task.learner)
    run = _NotebookRun(kernel, task, notebook_task.name, notebook)
    questions = run.execute()

    reason = "; ".join(assembly.notes)
    if submitted is None:
        reason = f"{notebook_task.name} was not submitted, so its questions score zero"
    return NotebookResult(
        name=notebook_task.name,
        questions=tuple(questions),
        executed=nbformat.writes(notebook),
        status=worst_status([q.status for q in questions]),
        reason=reason,
    )


class _NotebookRun:
    """Runs one assembled notebook cell by cell and scores each test cell as it finishes."""

    def __init__(self, kernel: GradingKernel, task: SubmissionTask, name: str, notebook: NotebookNode):
        self.kernel = kernel
        self.task = task
        self.name = name
        self.notebook = notebook
        self.client = kernel.notebook_client(notebook)
        self.deadline = time.monotonic() + task.limits.notebook_seconds
        self.completed: list[int] = []
        # Why the last answer or helper cell failed to run, reported with the next question.
        self.pending_failure: dict[str, str] | None = None

    def execute(self) -> list[QuestionResult]:
        questions = []
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code" or cell.metadata.get(ENGINE_KEY, {}).get("skip"):
                continue
            outcome = self._run(index, cell)
            if is_graded_cell(cell):
                question = self._score(cell, outcome)
                if self.pending_failure and question.score < question.max_score and question.status == "graded":
                    reason = "; ".join(part for part in (self.pending_failure["reason"], question.reason) if part)
                    question = _with_outputs(cell, replace(question, status=self.pending_failure["status"], reason=reason))
                self.pending_failure = None
                questions.append(question)
            elif outcome in ("timeout", "notebook timeout", "died"):
                self.pending_failure = _failure(outcome, grade_id(cell) or f"cell {index + 1}", "an earlier cell", self.task.limits)
        return questions

    def _run(self, index: int, cell: NotebookNode) -> str:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return "notebook timeout"
        outcome = self.kernel.run_cell(self.client, cell, index, min(self.task.limits.cell_seconds, remaining))
        if outcome in ("timeout", "died"):
            kept_state = self.kernel.recover()
            self.client = self.kernel.notebook_client(self.notebook)
            if not kept_state:
                self._run_again()
        if outcome in ("ok", "error"):
            self.completed.append(index)
        return outcome

    def _run_again(self) -> None:
        """Bring a restarted kernel back to where the notebook was, without the cell that failed."""
        self.kernel.begin_notebook(self.task.learner)
        # nbclient writes each run cell back into its notebook, so the earlier cells run
        # again from a copy: the graded notebook keeps its outputs and decided scores.
        scratch = copy.deepcopy(self.notebook)
        client = self.kernel.notebook_client(scratch)
        for index in self.completed:
            scratch.cells[index].outputs = []
            self.kernel.run_cell(client, scratch.cells[index], index, self.task.limits.cell_seconds)
        self.kernel.take_recordings()
        self.client = self.kernel.notebook_client(self.notebook)

    def _score(self, cell: NotebookNode, outcome: str) -> QuestionResult:
        cell_id = grade_id(cell) or "test cell"
        points = float(cell.metadata["nbgrader"].get("points", 0))
        calls = grade_calls(cell.source)
        exercise = ", ".join(call.exercise_id for call in calls) or cell_id
        question = QuestionResult(self.name, cell_id, exercise, 0.0, points)

        if outcome in ("timeout", "notebook timeout", "died"):
            question = replace(question, **_failure(outcome, cell_id, exercise, self.task.limits))
            return _with_outputs(cell, question)

        recordings = self.kernel.take_recordings() if calls else []
        if recordings is None:
            reason = "the kernel would not hand over the recorded answers: the grading functions were changed"
            return _with_outputs(cell, replace(question, status="tampered", reason=reason))
        return _with_outputs(cell, self._judge(question, cell, calls, recordings))

    def _judge(self, question: QuestionResult, cell: NotebookNode, calls: list[GradeCall], recordings: list[dict]) -> QuestionResult:
        from autograder.grading.replay import score_recording

        score, hints, reasons, status = 0.0, [], [], "graded"
        for call in calls:
            recording = next((r for r in recordings if isinstance(r, dict) and r.get("exercise") == call.exercise_id), None)
            if recording is None:
                error = _cell_error(cell)
                if error:
                    reasons.append(f"{call.exercise_id}: {error}")
                else:
                    status = "tampered"
                    reasons.append(f"{call.exercise_id}: the test cell ran but recorded no answer; the grading functions were changed")
                continue
            try:
                with _learner_environment(self.task.learner):
                    earned, result = score_recording(
                        call.exercise_id, recording, points=call.points, grading_data=call.grading_data, folder=self.kernel.workdir
                    )
            except TamperedRecordingError as error:
                status = "tampered"
                reasons.append(f"{call.exercise_id}: {error}")
                continue
            score += earned
            hints.extend(result.messages)
        return replace(question, score=round(min(score, question.max_score), 4), status=status, reason="; ".join(reasons), hints=tuple(hints))


def _failure(outcome: str, cell_id: str, exercise: str, limits: Limits) -> dict[str, str]:
    if outcome == "timeout":
        reason = f"{exercise} (cell {cell_id}) did not finish within the {limits.cell_seconds:g} s cell limit; make your answer return faster"
        return {"status": "timed out", "reason": reason}
    if outcome == "notebook timeout":
        reason = f"{exercise} (cell {cell_id}) was not run: the notebook used up its {limits.notebook_seconds:g} s limit"
        return {"status": "timed out", "reason": reason}
    reason = f"the kernel stopped while running {exercise} (cell {cell_id}): it exited or ran out of memory"
    return {"status": "error", "reason": reason}


def _with_outputs(cell: NotebookNode, question: QuestionResult) -> QuestionResult:
    """Write the decided score into the test cell the way nbgrader reads partial credit."""
    lines = [f"{question.exercise_id}: {question.score:g} / {question.max_score:g}"]
    lines += [f"  {line}" for line in (question.reason, *question.hints) if line]
    cell.outputs = [
        v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
        v4.new_output("execute_result", data={"text/plain": repr(float(question.score))}, execution_count=cell.get("execution_count")),
    ]
    return question


def _cell_error(cell: NotebookNode) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return ""


def _unrun_notebook(notebook_task: NotebookTask, status: str, reason: str) -> NotebookResult:
    """Return a notebook that could not run: every question zero, with the status and reason.

    The notebook kept for the record holds the released answer cells, never the solutions.
    """
    source = nbformat.reads(notebook_task.source, as_version=4)
    release = nbformat.reads(notebook_task.release, as_version=4)
    notebook = assemble(source, release, None).notebook
    questions = []
    for cell in notebook.cells:
        if is_graded_cell(cell):
            calls = grade_calls(cell.source)
            exercise = ", ".join(call.exercise_id for call in calls) or grade_id(cell)
            question = QuestionResult(notebook_task.name, grade_id(cell), exercise, 0.0, float(cell.metadata["nbgrader"].get("points", 0)), status, reason)
            questions.append(_with_outputs(cell, question))
    return NotebookResult(notebook_task.name, tuple(questions), nbformat.writes(notebook), status, reason)


class _learner_environment:
    """Set the learner's id while scoring, so seeded exercise data is the learner's own."""

    def __init__(self, learner: str):
        self.learner = learner

    def __enter__(self) -> None:
        self.previous = os.environ.get(LEARNER_ID_VARIABLE)
        os.environ[LEARNER_ID_VARIABLE] = self.learner

    def __exit__(self, *exc: object) -> None:
        if self.previous is None:
            os.environ.pop(LEARNER_ID_VARIABLE, None)
        else:
            os.environ[LEARNER_ID_VARIABLE] = self.previous
