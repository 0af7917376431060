"""Autograde one module for a cohort by driving nbgrader, one learner at a time.

nbgrader executes each notebook in a real kernel, restores the instructor's locked and
hidden-test cells from the gradebook, and writes the scores. Around it, this module screens
notebooks nbgrader cannot read, grades a copy of each submission, and records a status and
a reason per learner, so a problem in one submission never stops the run nor reads as a
silent zero.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.checks.seeds import LEARNER_ID_VARIABLE
from autograder.course import CURRICULUM_FILE, nbgrader_config, nbgrader_environment
from autograder.curriculum import load_curriculum, module_by_id
from autograder.errors import SubmissionError
from autograder.grading.submissions import Submission, find_submissions, stage
from autograder.progress.store import Outcome, open_store, record

logger = logging.getLogger(__name__)

DEFAULT_CELL_TIMEOUT = 30


@dataclass(frozen=True)
class AutogradeOptions:
    """Settings of one autograde run."""

    gradebook_url: str
    autograded_directory: Path
    cell_timeout: int = DEFAULT_CELL_TIMEOUT


def autograde_module(
    course_root: Path,
    submissions_path: Path,
    module_id: str,
    options: AutogradeOptions,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Grade every learner's submission of ``module_id`` into the gradebook.

    Returns one outcome per learner, also recorded in the gradebook; ``on_outcome`` is
    called as each learner finishes, for progress output.
    """
    module = module_by_id(load_curriculum(course_root / CURRICULUM_FILE), module_id)
    if not module.available:
        raise SubmissionError(f"module {module_id} has no exercises yet, so there is nothing to grade; pick an available module")
    engine = open_store(options.gradebook_url)
    submissions = find_submissions(submissions_path, module_id)

    outcomes = []
    with tempfile.TemporaryDirectory(prefix="azml-grade-") as scratch, nbgrader_environment(), warnings.catch_warnings():
        # nbgrader's own SQLAlchemy warnings say nothing an instructor can act on.
        warnings.simplefilter("ignore")
        staging = Path(scratch) / "submitted"
        api = _nbgrader_api(course_root, staging, options)
        _register_assignment(api, module_id, Path(scratch))
        for submission in submissions:
            outcome = _grade(api, submission, staging, options)
            record(engine, outcome)
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    return outcomes


def _nbgrader_api(course_root: Path, staging: Path, options: AutogradeOptions):
    from nbgrader.apps import NbGraderAPI

    config = nbgrader_config(
        course_root,
        options.gradebook_url,
        submitted_directory=str(staging),
        autograded_directory=str(Path(options.autograded_directory).resolve()),
    )
    config.Execute.timeout = options.cell_timeout
    # The kernel warns on stderr that its loopback TCP ports are unencrypted; nothing in a
    # grading run can act on that, and the warning buries the outcomes.
    config.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
    return NbGraderAPI(config=config)


def _register_assignment(api, module_id: str, scratch: Path) -> None:
    """Record the module's cells in the gradebook, as ``nbgrader generate_assignment`` does.

    nbgrader autograde restores locked and hidden-test cells from these records. The
    generated notebooks go to a scratch folder: the course's exercises/ stays as built.
    """
    api.coursedir.release_directory = str(scratch / "release")
    result = api.generate_assignment(module_id, force=True, create=True)
    if not result.get("success"):
        raise SubmissionError(
            f"nbgrader could not record module {module_id} in the gradebook: {_last_line(result)}; "
            f"run `azml-course build` to see whether solutions/{module_id} is valid"
        )


def _grade(api, submission: Submission, staging: Path, options: AutogradeOptions) -> Outcome:
    staged = stage(submission, staging)
    if not any(staged.glob("*.ipynb")):
        reason = "; ".join(submission.invalid.values()) or f"no notebook in {submission.folder}"
        status = "invalid notebook" if submission.invalid else "error"
        return Outcome(submission.learner, submission.module, status, reason, 0.0, _max_score(api, submission.module))

    # The kernel inherits this process's environment, so per-learner exercise data is
    # regenerated from the learner's own seed.
    os.environ[LEARNER_ID_VARIABLE] = submission.learner
    try:
        result = api.autograde(submission.module, submission.learner, force=True, create=True)
    finally:
        os.environ.pop(LEARNER_ID_VARIABLE, None)
    if not result.get("success"):
        reason = f"nbgrader autograde failed: {_last_line(result)}"
        return Outcome(submission.learner, submission.module, "error", reason, 0.0, _max_score(api, submission.module))

    score, max_score = _submission_score(api, submission)
    timeouts = _timed_out_cells(Path(options.autograded_directory) / submission.learner / submission.module)
    if timeouts:
        reason = f"cell(s) {', '.join(timeouts)} exceeded the {options.cell_timeout} s limit and scored zero"
        return Outcome(submission.learner, submission.module, "timed out", reason, score, max_score)
    if submission.invalid:
        reason = "; ".join(submission.invalid.values()) + "; the other notebooks were graded"
        return Outcome(submission.learner, submission.module, "invalid notebook", reason, score, max_score)
    return Outcome(submission.learner, submission.module, "graded", "", score, max_score)


def _submission_score(api, submission: Submission) -> tuple[float, float]:
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url) as gradebook:
        graded = gradebook.find_submission(submission.module, submission.learner)
        return float(graded.score), float(graded.max_score)


def _max_score(api, module_id: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url) as gradebook:
        return float(gradebook.find_assignment(module_id).max_score)


def _timed_out_cells(folder: Path) -> list[str]:
    """Name the cells whose execution nbgrader interrupted at the time limit."""
    names = []
    for path in sorted(folder.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if any(output.get("ename") == "CellTimeoutError" for output in cell.get("outputs", [])):
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index + 1}")
                names.append(f"{path.stem}:{grade_id}")
    return names


def _last_line(result: dict) -> str:
    text = (result.get("error") or result.get("log") or "").strip()
    return text.splitlines()[-1] if text else "no error message"
