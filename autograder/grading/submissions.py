"""Find the submissions of a module and screen their notebooks before nbgrader sees them.

Submissions follow nbgrader's layout, ``submitted/<learner>/<module>/*.ipynb``. A notebook
that is not JSON or is older than nbformat 4 would make nbgrader fail the learner's whole
submission, so it is set aside with a reason and the learner's other notebooks are graded.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.errors import SubmissionError


@dataclass
class Submission:
    """One learner's folder for one module, and the notebooks in it that cannot be graded."""

    learner: str
    module: str
    folder: Path
    invalid: dict[str, str] = field(default_factory=dict)


def submitted_directory(path: Path) -> Path:
    """Return the folder that holds one folder per learner: ``path`` or its ``submitted/`` child."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SubmissionError(f"submission folder {path} is a file; pass the folder laid out as <learner>/<module>/*.ipynb")
    if not path.is_dir():
        raise SubmissionError(f"submission folder {path} does not exist; pass the folder laid out as <learner>/<module>/*.ipynb")
    child = path / "submitted"
    return child if child.is_dir() else path


def find_submissions(path: Path, module: str) -> list[Submission]:
    """List the learners' submissions of ``module`` under ``path``, sorted by learner id."""
    root = submitted_directory(path)
    submissions = [
        Submission(learner.name, module, learner / module)
        for learner in sorted(root.iterdir())
        if (learner / module).is_dir()
    ]
    if not submissions:
        raise SubmissionError(
            f"no submissions of module {module} in {root}: expected folders such as "
            f"{root}/<learner>/{module}/*.ipynb; check the path and the module id"
        )
    for submission in submissions:
        submission.invalid = screen_notebooks(submission.folder)
    return submissions


def screen_notebooks(folder: Path) -> dict[str, str]:
    """Return ``{notebook file name: reason}`` for each notebook in ``folder`` nbgrader cannot read."""
    problems = {}
    for path in sorted(folder.glob("*.ipynb")):
        reason = _notebook_problem(path)
        if reason:
            problems[path.name] = reason
    return problems


def stage(submission: Submission, staging_root: Path) -> Path:
    """Copy a submission's gradable files to ``staging_root/<learner>/<module>`` and return it.

    Grading a copy leaves the learner's files untouched whatever nbgrader does.
    """
    target = staging_root / submission.learner / submission.module
    if target.exists():
        shutil.rmtree(target)
    def ignore(folder: str, names: list[str]) -> set[str]:
        # Exact names, not patterns: a notebook called "losses[1].ipynb" is a file name.
        skipped = {".ipynb_checkpoints"}
        if Path(folder) == submission.folder:
            skipped |= set(submission.invalid)
        return skipped & set(names)

    shutil.copytree(submission.folder, target, ignore=ignore)
    return target


def _notebook_problem(path: Path) -> str:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"{path.name} is not a valid notebook file (not JSON: {error}); re-download it from JupyterLab and submit again"
    version = raw.get("nbformat") if isinstance(raw, dict) else None
    if not isinstance(version, int) or version < 4:
        return (
            f"{path.name} uses nbformat {version!r}, and grading needs nbformat 4; "
            "open it in JupyterLab and save it, which upgrades it, then submit again"
        )
    try:
        nbformat.validate(nbformat.reads(json.dumps(raw), as_version=4))
    except nbformat.ValidationError as error:
        return f"{path.name} is not a valid nbformat 4 notebook ({error.message}); re-download it from JupyterLab and submit again"
    except (nbformat.NBFormatError, TypeError) as error:
        # nbformat 5.11 raises NBFormatError for a version above 4, and TypeError instead of
        # ValidationError for some malformed cells, such as a number in place of a cell object.
        return f"{path.name} is not a valid nbformat 4 notebook ({error}); re-download it from JupyterLab and submit again"
    return ""
