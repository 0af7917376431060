"""Write a graded submission into nbgrader's gradebook, as ``nbgrader autograde`` would.

The executed notebook's test cells hold the decided score as their result, which is how
nbgrader reads partial credit; nbgrader's own ``SaveAutoGrades`` preprocessor then writes
the grades and comments. formgrader, ``nbgrader generate_feedback`` and ``nbgrader
export`` read the result like any other autograded submission.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from pathlib import Path

import nbformat

from autograder.course import COURSE_ID, nbgrader_environment
from autograder.grading.results import SubmissionResult


def save_grades(gradebook_url: str, result: SubmissionResult, autograded_directory: Path) -> None:
    """Record ``result`` in the gradebook and keep its executed notebooks in ``autograded_directory``.

    Writing again for the same learner and module updates the same rows: a submission
    graded twice, say after a crash, leaves one record.
    """
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveAutoGrades

    timestamp = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    folder = Path(autograded_directory) / result.learner / result.module
    folder.mkdir(parents=True, exist_ok=True)
    with nbgrader_environment(), warnings.catch_warnings():
        # nbgrader's SQLAlchemy warnings are nothing an instructor can act on.
        warnings.simplefilter("ignore")
        with Gradebook(gradebook_url, course_id=COURSE_ID) as gradebook:
            gradebook.update_or_create_student(result.learner)
            gradebook.update_or_create_submission(result.module, result.learner, timestamp=timestamp)

        for notebook in result.notebooks:
            executed = nbformat.reads(notebook.executed, as_version=4)
            resources = {
                "nbgrader": {
                    "notebook": Path(notebook.name).stem,
                    "assignment": result.module,
                    "student": result.learner,
                    "db_url": gradebook_url,
                }
            }
            SaveAutoGrades().preprocess(executed, resources)
            _write_atomically(folder / notebook.name, nbformat.writes(executed))
    _write_atomically(folder / "timestamp.txt", timestamp.isoformat(sep=" "))


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
