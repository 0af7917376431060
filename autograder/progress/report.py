"""Cohort progress: score, maximum, percent and status per learner and module.

Scores come from nbgrader's gradebook; statuses and reasons from the outcome table that
``azml-course autograde`` writes next to it. A module a learner has not submitted shows as
``not submitted``, never as a zero.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass

from autograder.progress.store import load_outcomes, open_store

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class ProgressRow:
    """One learner's standing in one module."""

    learner: str
    module: str
    score: float | None
    max_score: float
    percent: float | None
    status: str
    reason: str = ""


def cohort_progress(gradebook_url: str, course_modules: dict[str, float] | None = None) -> list[ProgressRow]:
    """Return one row per learner and module, sorted by learner then module.

    Modules are those in the gradebook plus ``course_modules`` (module id -> maximum points),
    so a module nobody has submitted yet still shows, as ``not submitted``.
    """
    from nbgrader.api import Gradebook, MissingEntry

    engine = open_store(gradebook_url, create=False)
    outcomes = load_outcomes(engine)
    engine.dispose()
    rows = []
    with Gradebook(gradebook_url) as gradebook:
        modules = dict(course_modules or {})
        modules.update({a.name: float(a.max_score) for a in gradebook.assignments})
        for outcome in outcomes.values():
            modules.setdefault(outcome.module, outcome.max_score)
        learners = sorted({s.id for s in gradebook.students} | {learner for learner, _ in outcomes})
        for learner in learners:
            for module in sorted(modules):
                try:
                    submission = gradebook.find_submission(module, learner)
                    score = float(submission.score)
                except MissingEntry:
                    score = None
                rows.append(_row(learner, module, score, modules[module], outcomes.get((learner, module))))
    return rows


def _row(learner, module, score, max_score, outcome) -> ProgressRow:
    if outcome is None and score is None:
        return ProgressRow(learner, module, None, max_score, None, "not submitted")
    if score is None:
        score = outcome.score
    status = outcome.status if outcome else "graded"
    reason = outcome.reason if outcome else ""
    percent = round(100 * score / max_score, 1) if max_score else 0.0
    return ProgressRow(learner, module, score, max_score, percent, status, reason)


def to_csv(rows: list[ProgressRow]) -> str:
    """Format rows as CSV with a header, for spreadsheets and LMS imports."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ProgressRow.__dataclass_fields__), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return buffer.getvalue()


def to_json(rows: list[ProgressRow]) -> str:
    """Format rows as a JSON list of objects."""
    return json.dumps([asdict(row) for row in rows], indent=2)
