"""The main job end to end: build the course, autograde a demo cohort, report progress."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.course import CURRICULUM_FILE, SOURCE_DIRECTORY, build_course
from autograder.demo_cohort import MODULES, write_cohort
from autograder.errors import FolderNotEmptyError
from autograder.grading.engine import GradingOptions, autograde_module
from autograder.grading.sandbox import Limits
from autograder.progress.report import ProgressRow, cohort_progress
from autograder.grading.results import SubmissionResult

# Short enough that the demo's never-ending function costs seconds, long enough for a cold
# kernel to import azure-ai-ml (2-3 s) inside a check cell.
DEMO_CELL_TIMEOUT = 10


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its files, and what grading produced."""

    folder: Path
    gradebook_url: str
    outcomes: list[SubmissionResult]
    progress: list[ProgressRow]


def run_demo(course_root: Path, out: Path, on_outcome: Callable[[SubmissionResult], None] | None = None) -> DemoResult:
    """Build a copy of the course in ``out``, write the demo cohort, autograde it and read progress.

    ``out`` must not exist or be empty, so the demo never overwrites an instructor's files.
    """
    out = Path(out).resolve()
    prepare_demo_folder(out)
    course = out / "course"
    course.mkdir()
    shutil.copy2(course_root / CURRICULUM_FILE, course / CURRICULUM_FILE)
    shutil.copytree(course_root / SOURCE_DIRECTORY, course / SOURCE_DIRECTORY)
    build_course(course)

    submitted = out / "submitted"
    write_cohort(course, submitted)
    gradebook_url = f"sqlite:///{out / 'gradebook.db'}"
    options = GradingOptions(gradebook_url, out / "autograded", out / "feedback", limits=Limits(cell_seconds=DEMO_CELL_TIMEOUT))
    outcomes = []
    for module in MODULES:
        outcomes.extend(autograde_module(course, submitted, module, options, on_outcome).results)
    return DemoResult(out, gradebook_url, outcomes, cohort_progress(gradebook_url))


def prepare_demo_folder(out: Path) -> None:
    """Create ``out`` for the demo, or accept it empty; raise when it already holds files."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FolderNotEmptyError(f"demo folder {out} is not empty; pass --out with a new folder or delete this one")
    out.mkdir(parents=True, exist_ok=True)
