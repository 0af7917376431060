"""Building the learner notebooks from the instructor notebooks with nbgrader."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.course import build_course, find_course_root
from autograder.errors import BuildError, CourseNotFoundError, CurriculumError

REPO = Path(__file__).resolve().parents[1]


def _cells(path: Path) -> list[tuple]:
    notebook = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in notebook.cells]


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_exercises_in_sync_with_solutions(tmp_path):
    release = tmp_path / "release"

    build_course(REPO, release_directory=release)

    assert _files(release) == _files(REPO / "exercises")
    for path in sorted((REPO / "exercises").rglob("*.ipynb")):
        regenerated = release / path.relative_to(REPO / "exercises")
        assert _cells(regenerated) == _cells(path), f"{path} is out of date: run `azml-course build`"


def test_exercises_hold_no_hidden_tests():
    for path in sorted((REPO / "exercises").rglob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in text, path
        assert "grade(" not in text, path
        assert "BEGIN SOLUTION" not in text, path


def test_find_course_root_from_subfolder():
    assert find_course_root(REPO / "solutions" / "m03") == REPO


def test_find_course_root_missing(tmp_path):
    with pytest.raises(CourseNotFoundError, match=r"^no curriculum\.yaml in .* or its parents; run the command inside"):
        find_course_root(tmp_path)


def test_build_reports_invalid_solution_notebook(course_copy):
    (course_copy / "solutions" / "m03" / "losses.ipynb").write_text("{ not json", encoding="utf-8")

    with pytest.raises(BuildError, match=r"^nbgrader could not generate module m03 from solutions/m03: "):
        build_course(course_copy)


def test_build_validates_curriculum_first(course_copy):
    (course_copy / "curriculum.yaml").write_text("course: x\nmodules: 3\n", encoding="utf-8")

    with pytest.raises(CurriculumError):
        build_course(course_copy)
