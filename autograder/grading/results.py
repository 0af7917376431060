"""What grading one submission produces, as plain picklable values.

A worker process (local or on a Dask cluster) returns a ``SubmissionResult``; the
instructor's process writes it to nbgrader's gradebook, the outcome table and the learner's
HTML feedback. Nothing here holds a live object, so results cross process and machine
bounds unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Most serious first: a submission's status is the first of these that any of its
# notebooks or questions reached.
STATUSES = ("sandbox error", "tampered", "error", "timed out", "invalid notebook", "graded")


def worst_status(statuses: list[str]) -> str:
    """Return the most serious of ``statuses``, or "graded" when there is none."""
    ranked = [status for status in STATUSES if status in statuses]
    return ranked[0] if ranked else "graded"


@dataclass(frozen=True)
class QuestionResult:
    """The score of one graded cell (an nbgrader test cell with points).

    ``reason`` says why points were lost, in one line; ``hints`` are the check's messages,
    which name the failed case group and the likely mistake, never an expected value or
    the hidden tests' source.
    """

    notebook: str
    grade_id: str
    exercise_id: str
    score: float
    max_score: float
    status: str = "graded"
    reason: str = ""
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotebookResult:
    """One executed notebook: its questions and the executed notebook as nbformat JSON."""

    name: str
    questions: tuple[QuestionResult, ...] = ()
    executed: str = ""
    status: str = "graded"
    reason: str = ""


@dataclass(frozen=True)
class SubmissionResult:
    """Everything grading one learner's submission of one module produced."""

    learner: str
    module: str
    digest: str
    notebooks: tuple[NotebookResult, ...] = ()
    status: str = "graded"
    reason: str = ""
    sandboxed: bool = True
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def questions(self) -> tuple[QuestionResult, ...]:
        return tuple(question for notebook in self.notebooks for question in notebook.questions)

    @property
    def score(self) -> float:
        return round(sum(question.score for question in self.questions), 4)

    @property
    def max_score(self) -> float:
        return round(sum(question.max_score for question in self.questions), 4)
