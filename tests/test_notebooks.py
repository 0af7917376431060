"""Every instructor notebook earns full marks and every released notebook zero, in real kernels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.api import Gradebook
from nbgrader.utils import determine_grade, is_grade

REPO = Path(__file__).resolve().parents[1]
SOLUTION_NOTEBOOKS = sorted((REPO / "solutions").glob("m*/*.ipynb"))

pytestmark = pytest.mark.slow


def _kernel_scores(path: Path) -> dict[str, tuple[float, float]]:
    """Execute a notebook in a real kernel, in its own folder, and score its grade cells as nbgrader does."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return {cell.metadata.nbgrader["grade_id"]: determine_grade(cell) for cell in notebook.cells if is_grade(cell)}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run([os.path.join(scripts, "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True, timeout=900)


def _gradebook_scores(course: Path, learner: str) -> dict[str, dict[str, tuple[float, float]]]:
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            submission = gradebook.find_submission(assignment.name, learner)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores.setdefault(f"{assignment.name}/{notebook.name}", {})[grade.name] = (grade.score, grade.max_score)
    return scores


@pytest.fixture(scope="module")
def kernel_scores() -> dict[str, dict[str, tuple[float, float]]]:
    return {f"{p.parent.name}/{p.stem}": _kernel_scores(p) for p in SOLUTION_NOTEBOOKS}


@pytest.fixture(scope="module")
def plain_nbgrader(tmp_path_factory) -> Path:
    """Run plain `nbgrader generate_assignment` and `nbgrader autograde` on a copy of the course.

    Learner `solutions` submits the instructor notebooks, learner `exercises` the released ones unchanged.
    """
    course = tmp_path_factory.mktemp("plain") / "course"
    shutil.copytree(REPO / "solutions", course / "solutions")
    shutil.copy2(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    for module in sorted(p.name for p in (REPO / "solutions").iterdir()):
        generated = _nbgrader(course, "generate_assignment", module, "--force")
        assert generated.returncode == 0, generated.stderr[-2000:]
        shutil.copytree(REPO / "solutions" / module, course / "submitted" / "solutions" / module)
        shutil.copytree(REPO / "exercises" / module, course / "submitted" / "exercises" / module)
        graded = _nbgrader(course, "autograde", module, "--force")
        assert graded.returncode == 0, graded.stderr[-2000:]
    return course


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_solution_full_marks_in_kernel(path, kernel_scores):
    scores = kernel_scores[f"{path.parent.name}/{path.stem}"]

    assert scores, f"{path} has no grade cells"
    for grade_id, (score, max_score) in scores.items():
        assert score == max_score, f"{path.name}:{grade_id} scored {score} of {max_score}"


# The first test to use plain_nbgrader pays for nbgrader grading all twelve modules, several
# minutes on a loaded 2-core machine, more than the suite's default 600 s per test.
@pytest.mark.timeout(1800)
def test_solution_same_scores_plain_nbgrader(kernel_scores, plain_nbgrader):
    assert _gradebook_scores(plain_nbgrader, "solutions") == kernel_scores


@pytest.mark.timeout(1800)
def test_exercise_zero_plain_nbgrader(plain_nbgrader):
    scores = _gradebook_scores(plain_nbgrader, "exercises")

    assert set(scores) == {f"{p.parent.name}/{p.stem}" for p in SOLUTION_NOTEBOOKS}
    for notebook, grades in scores.items():
        for grade_id, (score, max_score) in grades.items():
            assert score == 0, f"{notebook}:{grade_id} scored {score} of {max_score} unchanged"
