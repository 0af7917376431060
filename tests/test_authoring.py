"""Rubric files: copied into hidden-test cells by the build, checked by validation."""

from __future__ import annotations

import nbformat
import pytest

from autograder.authoring import embed_rubrics, embedded_rubric, rubric_path
from autograder.curriculum import validate_course
from autograder.errors import CurriculumError


def _tests_cell_source(course, module: str, notebook: str, name: str) -> str:
    cells = nbformat.read(course / "solutions" / module / notebook, as_version=4).cells
    (cell,) = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests"]
    return cell.source


def test_repository_rubrics_in_sync(course_copy):
    for module, notebook, name in [("m01", "building_blocks.ipynb", "planes"), ("m02", "lifecycle.ipynb", "framing")]:
        embedded = embedded_rubric(_tests_cell_source(course_copy, module, notebook, name))

        assert embedded == rubric_path(course_copy, module, name).read_text(encoding="utf-8")


def test_edited_rubric_reported_out_of_date(course_copy):
    path = rubric_path(course_copy, "m02", "framing")
    path.write_text(path.read_text(encoding="utf-8").replace("points: 1\n", "points: 1.0\n", 1), encoding="utf-8")

    with pytest.raises(CurriculumError, match=r"framing\.yaml: the copy in the hidden-test cell framing_tests is out of date; run `azml-course build`"):
        validate_course(course_copy)


def test_embed_refreshes_copy(course_copy):
    path = rubric_path(course_copy, "m02", "framing")
    edited = path.read_text(encoding="utf-8").replace("so the task is regression", "so this is regression")
    path.write_text(edited, encoding="utf-8")

    changed = embed_rubrics(course_copy, "m02", [("framing", "lifecycle.ipynb"), ("lifecycle", "lifecycle.ipynb")])

    assert changed == [course_copy / "solutions" / "m02" / "lifecycle.ipynb"]
    assert embedded_rubric(_tests_cell_source(course_copy, "m02", "lifecycle.ipynb", "framing")) == edited
    assert validate_course(course_copy).modules[1].id == "m02"


def test_embed_twice_changes_nothing(course_copy):
    assert embed_rubrics(course_copy, "m02", [("framing", "lifecycle.ipynb")]) == []


def test_rubric_points_must_match(course_copy):
    path = rubric_path(course_copy, "m01", "planes")
    path.write_text(path.read_text(encoding="utf-8").replace("points: 0.5", "points: 1.5", 1), encoding="utf-8")
    embed_rubrics(course_copy, "m01", [("planes", "building_blocks.ipynb")])

    with pytest.raises(CurriculumError, match=r"planes\.yaml: the criteria give 3 points but curriculum\.yaml gives m01\.planes 2; make the two equal"):
        validate_course(course_copy)


def test_rubric_unknown_field(course_copy):
    path = rubric_path(course_copy, "m02", "framing")
    path.write_text(path.read_text(encoding="utf-8").replace("field: kpi", "field: metric"), encoding="utf-8")
    embed_rubrics(course_copy, "m02", [("framing", "lifecycle.ipynb")])

    with pytest.raises(CurriculumError, match=r"criterion on `metric` grades no field of the answer; use one of task_type, kpi, constraint"):
        validate_course(course_copy)


def test_missing_rubric_file(course_copy):
    rubric_path(course_copy, "m03", "l1_or_l2").unlink()

    with pytest.raises(CurriculumError, match=r"l1_or_l2\.yaml: rubric file not found for m03\.l1_or_l2; write the rubric there as YAML"):
        validate_course(course_copy)


def test_exercises_hold_no_rubric_files(course_copy):
    assert not list((course_copy / "exercises").rglob("rubrics"))
