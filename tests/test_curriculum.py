"""Tests of curriculum.yaml parsing and of its consistency with the course notebooks.

Each test builds a small fake course in ``tmp_path``: a curriculum file and tiny notebooks
whose ``<name>_tests`` cells carry nbgrader metadata, then breaks one thing.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.curriculum import (
    Curriculum,
    ExerciseEntry,
    Module,
    exercise_by_id,
    load_curriculum,
    module_by_id,
    validate_course,
)
from autograder.errors import CurriculumError, UnknownExerciseError

REAL_CURRICULUM = Path(__file__).resolve().parents[1] / "curriculum.yaml"
NOTEBOOK_EXPECTED = "a notebook file name ending in .ipynb, such as losses.ipynb, with no folder"
NOT_CELLS = "`cells` is not a list of cell objects"


def module(
    module_id: str, available: bool, prerequisites: list[str], exercises: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": module_id,
        "title": f"Module {module_id}",
        "level": "basic",
        "available": available,
        "seed_topics": ["a topic"],
        "objectives": ["An objective."],
        "prerequisites": prerequisites,
        "exercises": exercises,
    }


def exercise(exercise_id: str, notebook: str, points: float, kind: str = "math") -> dict[str, Any]:
    return {"id": exercise_id, "kind": kind, "notebook": notebook, "points": points}


def valid_course() -> dict[str, Any]:
    """Two available modules with three exercises in two notebooks, and one draft module."""
    return {
        "course": "fake-course",
        "title": "A fake course",
        "modules": [
            module(
                "m01", True, [], [exercise("m01.alpha", "a.ipynb", 2), exercise("m01.beta", "a.ipynb", 3)]
            ),
            module("m02", True, ["m01"], [exercise("m02.gamma", "b.ipynb", 1.5, kind="decision")]),
            module("m03", False, ["m02"], []),
        ],
    }


def grade_cell(
    name: str,
    points: Any,
    *,
    exercise_id: str | None = None,
    call_points: Any = None,
    grade: bool = True,
) -> nbformat.NotebookNode:
    """A hidden-test cell as nbgrader's "Autograder tests" cell type writes it."""
    call_id = exercise_id or f"m01.{name}"
    call_points = points if call_points is None else call_points
    metadata = {
        "grade": grade,
        "solution": False,
        "locked": True,
        "grade_id": f"{name}_tests",
        "points": points,
        "schema_version": 3,
    }
    source = f'from autograder.learner import grade\ngrade("{call_id}", {name}, points={call_points}, seed=7)'
    return new_code_cell(source, metadata={"nbgrader": metadata})


def solution_cell(name: str) -> nbformat.NotebookNode:
    metadata = {
        "grade": False,
        "solution": True,
        "locked": False,
        "grade_id": f"{name}_solution",
        "schema_version": 3,
    }
    return new_code_cell(f"def {name}():\n    return 1", metadata={"nbgrader": metadata})


def write_notebook(path: Path, cells: list[nbformat.NotebookNode]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Exercises"), *cells]), path)


def write_course(root: Path, course: dict[str, Any]) -> None:
    """Write the curriculum and a consistent solution and learner notebook for each listed notebook."""
    (root / "curriculum.yaml").write_text(yaml.safe_dump(course, sort_keys=False), encoding="utf-8")
    for entry in course["modules"]:
        notebooks: dict[str, list[nbformat.NotebookNode]] = {}
        for item in entry["exercises"]:
            name = item["id"].split(".", 1)[1]
            cells = [solution_cell(name), grade_cell(name, item["points"], exercise_id=item["id"])]
            notebooks.setdefault(item["notebook"], []).extend(cells)
        for notebook, cells in notebooks.items():
            write_notebook(root / "solutions" / entry["id"] / notebook, cells)
            write_notebook(root / "exercises" / entry["id"] / notebook, cells)


def only_problem(message: str) -> str:
    """Anchored pattern that matches a CurriculumError with exactly this one problem."""
    return rf"^curriculum has 1 problem:\n  - {re.escape(message)}$"


def one_of_problems(message: str) -> str:
    """Pattern that matches a CurriculumError listing this problem among others."""
    return rf"(?m)^  - {re.escape(message)}$"


@pytest.fixture
def course() -> dict[str, Any]:
    return valid_course()


# --- load_curriculum ---------------------------------------------------------------------


def test_load_real_curriculum() -> None:
    curriculum = load_curriculum(REAL_CURRICULUM)

    assert curriculum.course == "azml-course"
    assert len(curriculum.modules) == 12
    assert [m.id for m in curriculum.modules] == [f"m{i:02d}" for i in range(1, 13)]
    assert [m.id for m in curriculum.modules if m.available][:3] == ["m01", "m02", "m03"]
    assert sum(m.available for m in curriculum.modules) >= 10
    assert all(m.exercises for m in curriculum.modules if m.available)
    assert all(not m.exercises for m in curriculum.modules if not m.available)


def test_load_valid_fake_curriculum(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)

    curriculum = load_curriculum(tmp_path / "curriculum.yaml")

    assert isinstance(curriculum, Curriculum)
    assert curriculum.modules[1].exercises[0] == ExerciseEntry(
        id="m02.gamma", kind="decision", notebook="b.ipynb", points=1.5
    )


def test_exercise_entry_name_and_module_id() -> None:
    entry = ExerciseEntry(id="m03.ridge_gradient", kind="math", notebook="regularisation.ipynb", points=3)

    assert entry.name == "ridge_gradient"
    assert entry.module_id == "m03"


def test_module_notebooks_each_once_in_order() -> None:
    item = Module.model_validate(
        module(
            "m03",
            True,
            [],
            [
                exercise("m03.a", "z.ipynb", 1),
                exercise("m03.b", "y.ipynb", 1),
                exercise("m03.c", "z.ipynb", 1),
            ],
        )
    )

    assert item.notebooks() == ["z.ipynb", "y.ipynb"]


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yaml"

    message = f"{path}: file not found; pass the course root that contains curriculum.yaml"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


def test_load_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yaml"
    path.write_text("# nothing yet\n")

    message = f"{path}: the file is empty; write the keys course, title and modules"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("course: x\ntitle: y: z\n", "line 2, column 9", "mapping values are not allowed here"),
        (
            "course: x\ntitle: y\nmodules:\n  - {id: m01, title: a\n",
            "line 5, column 1",
            "expected ',' or '}', but got '<stream end>' while parsing a flow mapping that starts at line 4",
        ),
    ],
)
def test_load_invalid_yaml_names_line(tmp_path: Path, text: str, where: str, reason: str) -> None:
    path = tmp_path / "curriculum.yaml"
    path.write_text(text)

    message = f"{path}: {where}: invalid YAML: {reason}; fix the YAML at that line"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


def test_load_duplicate_yaml_key(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yaml"
    path.write_text("course: x\ntitle: y\ntitle: z\nmodules: []\n")

    message = f"{path}: line 3, column 1: invalid YAML: duplicate key `title`; fix the YAML at that line"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


def test_load_top_level_not_mapping(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yaml"
    path.write_text("- m01\n- m02\n")

    message = (
        f"{path}: top level: invalid value ['m01', 'm02']; "
        "expected a mapping with the keys course, title, modules"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


def test_load_unknown_key(tmp_path: Path, course: dict[str, Any]) -> None:
    entry = course["modules"][0]["exercises"][1]
    entry["notebok"] = entry.pop("notebook")
    path = tmp_path / "curriculum.yaml"
    path.write_text(yaml.safe_dump(course, sort_keys=False))

    with pytest.raises(CurriculumError) as excinfo:
        load_curriculum(path)

    at = f"{path}: modules[0] (m01).exercises[1] (m01.beta)"
    assert excinfo.value.problems == [
        f"{at}: missing key `notebook`; add it (expected: a notebook file name ending in .ipynb, "
        "such as losses.ipynb, with no folder)",
        f"{at}: unknown key `notebok`; allowed keys: id, kind, notebook, points",
    ]


def test_load_unknown_top_level_key(tmp_path: Path, course: dict[str, Any]) -> None:
    course["version"] = 2
    path = tmp_path / "curriculum.yaml"
    path.write_text(yaml.safe_dump(course, sort_keys=False))

    message = f"{path}: top level: unknown key `version`; allowed keys: course, title, modules"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


def test_load_invalid_kind_names_ids(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][1]["exercises"][0]["kind"] = "quiz"
    path = tmp_path / "curriculum.yaml"
    path.write_text(yaml.safe_dump(course, sort_keys=False))

    message = (
        f"{path}: modules[1] (m02).exercises[0] (m02.gamma).kind: invalid value 'quiz'; "
        "expected one of math, sdk, decision"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("points", 0, "a number greater than 0"),
        ("points", "3", "a number greater than 0"),
        ("points", True, "a number greater than 0"),
        ("notebook", "a.py", NOTEBOOK_EXPECTED),
        ("notebook", "../a.ipynb", NOTEBOOK_EXPECTED),
    ],
)
def test_load_invalid_exercise_value(
    tmp_path: Path, course: dict[str, Any], key: str, value: Any, expected: str
) -> None:
    course["modules"][0]["exercises"][0][key] = value
    path = tmp_path / "curriculum.yaml"
    path.write_text(yaml.safe_dump(course, sort_keys=False))

    at = f"{path}: modules[0] (m01).exercises[0] (m01.alpha).{key}"
    message = f"{at}: invalid value {value!r}; expected {expected}"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


def test_load_invalid_exercise_id(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][0]["exercises"][0]["id"] = "m01.Alpha"
    path = tmp_path / "curriculum.yaml"
    path.write_text(yaml.safe_dump(course, sort_keys=False))

    message = (
        f"{path}: modules[0] (m01).exercises[0] (m01.Alpha).id: invalid value 'm01.Alpha'; expected "
        "`<module id>.<name>` such as m03.mse, where the name starts with a lowercase letter "
        "followed by lowercase letters, digits or underscores"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        load_curriculum(path)


def test_load_reports_every_schema_problem(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][0]["id"] = "m1"
    course["modules"][0]["level"] = "expert"
    course["modules"][1]["objectives"] = []
    course["modules"][1]["prerequisites"] = [1]
    course["modules"][2] = "m03"
    del course["title"]
    path = tmp_path / "curriculum.yaml"
    path.write_text(yaml.safe_dump(course, sort_keys=False))

    with pytest.raises(CurriculumError, match=r"^curriculum has 6 problems:\n") as excinfo:
        load_curriculum(path)

    assert excinfo.value.problems == [
        f"{path}: top level: missing key `title`; add it (expected: a string)",
        f"{path}: modules[0] (m1).id: invalid value 'm1'; expected `m` followed by two digits, such as m03",
        f"{path}: modules[0] (m1).level: invalid value 'expert'; "
        "expected one of basic, intermediate, advanced",
        f"{path}: modules[1] (m02).objectives: invalid value []; expected a list of at least one objective",
        f"{path}: modules[1] (m02).prerequisites[0]: invalid value 1; expected a valid string",
        f"{path}: modules[2]: invalid value 'm03'; expected a mapping with the keys id, title, level, "
        "available, seed_topics, objectives, prerequisites, exercises",
    ]


def test_curriculum_error_pickles(tmp_path: Path) -> None:
    with pytest.raises(CurriculumError) as excinfo:
        load_curriculum(tmp_path / "missing.yaml")

    copied = pickle.loads(pickle.dumps(excinfo.value))

    assert copied.problems == excinfo.value.problems


# --- validate_course: the curriculum against itself --------------------------------------


def test_validate_valid_course(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)

    curriculum = validate_course(tmp_path)

    assert [m.id for m in curriculum.modules] == ["m01", "m02", "m03"]


def test_validate_explicit_curriculum_path(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    other = tmp_path / "other.yaml"
    (tmp_path / "curriculum.yaml").rename(other)

    curriculum = validate_course(tmp_path, curriculum_path=other)

    assert curriculum.course == "fake-course"


def test_validate_stops_at_load_problems(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yaml"
    message = f"{path}: file not found; pass the course root that contains curriculum.yaml"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_duplicate_module_id(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][2]["id"] = "m02"
    course["modules"][2]["prerequisites"] = ["m01"]
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = (
        f"{source}: modules[2] (m02).id: duplicate module id 'm02', first used at modules[1] (m02); "
        "give each module its own id"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_duplicate_exercise_id(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][0]["exercises"].append(exercise("m01.alpha", "c.ipynb", 2))
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = (
        f"{source}: modules[0] (m01).exercises[2] (m01.alpha).id: duplicate exercise id 'm01.alpha', "
        "first used at modules[0] (m01).exercises[0] (m01.alpha); give each exercise its own id"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_exercise_id_prefix(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][1]["exercises"][0]["id"] = "m01.gamma"
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = (
        f"{source}: modules[1] (m02).exercises[0] (m01.gamma).id: exercise id 'm01.gamma' does not "
        "start with its module id 'm02'; rename it to 'm02.gamma'"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_available_without_exercises(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][2]["available"] = True
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = (
        f"{source}: modules[2] (m03).available: the module is available but has no exercises; "
        "add its exercises or set `available: false`"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_unavailable_with_exercises(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][0]["available"] = False
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = (
        f"{source}: modules[0] (m01).available: the module is not available but has 2 exercises; "
        "mark it available or remove the exercises"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_unknown_prerequisite(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][1]["prerequisites"] = ["m01", "m09"]
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = (
        f"{source}: modules[1] (m02).prerequisites[1]: prerequisite 'm09' names no module; "
        "use one of m01, m02, m03 or remove it"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_later_prerequisite(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][1]["prerequisites"] = ["m03"]
    course["modules"][2]["prerequisites"] = []
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = (
        f"{source}: modules[1] (m02).prerequisites[0]: prerequisite 'm03' comes after m02 in teaching "
        "order; move m03 before m02 in the modules list or remove the prerequisite"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_prerequisite_cycle(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][1]["prerequisites"] = ["m01", "m03"]
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    cycle = f"{source}: prerequisite cycle m02 -> m03 -> m02; remove one of these prerequisites"
    with pytest.raises(CurriculumError, match=one_of_problems(cycle)) as excinfo:
        validate_course(tmp_path)

    # A cycle always contains a prerequisite taught later, which is reported on its own.
    assert excinfo.value.problems == [
        f"{source}: modules[1] (m02).prerequisites[1]: prerequisite 'm03' comes after m02 in teaching "
        "order; move m03 before m02 in the modules list or remove the prerequisite",
        cycle,
    ]


def test_validate_prerequisite_self_cycle(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][1]["prerequisites"] = ["m02"]
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    message = f"{source}: prerequisite cycle m02 -> m02; remove one of these prerequisites"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_long_prerequisite_cycle(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][0]["prerequisites"] = ["m03"]
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"

    cycle = f"{source}: prerequisite cycle m01 -> m03 -> m02 -> m01; remove one of these prerequisites"
    with pytest.raises(CurriculumError, match=one_of_problems(cycle)) as excinfo:
        validate_course(tmp_path)

    assert excinfo.value.problems == [
        f"{source}: modules[0] (m01).prerequisites[0]: prerequisite 'm03' comes after m01 in teaching "
        "order; move m03 before m01 in the modules list or remove the prerequisite",
        cycle,
    ]


# --- validate_course: the curriculum against the notebooks -------------------------------


def test_validate_missing_solution_notebook(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    solution.unlink()

    message = (
        f"{solution}: solution notebook not found, but {tmp_path / 'curriculum.yaml'} lists it for "
        "m01.alpha, m01.beta; add the notebook or fix the `notebook` key of those exercises"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_missing_learner_notebook(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    learner = tmp_path / "exercises" / "m02" / "b.ipynb"
    learner.unlink()

    message = (
        f"{learner}: learner notebook not found; run `azml-course build` to generate it "
        "from the solution notebook"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_points_differ_from_yaml(tmp_path: Path, course: dict[str, Any]) -> None:
    course["modules"][0]["exercises"][1]["points"] = 4
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    write_notebook(solution, [grade_cell("alpha", 2), grade_cell("beta", 3)])

    message = (
        f"{solution}: cell 'beta_tests' has points 3 in its nbgrader metadata, but "
        f"{tmp_path / 'curriculum.yaml'} gives m01.beta points 4; make the two equal"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_fractional_points_match(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m02" / "b.ipynb"
    write_notebook(solution, [grade_cell("gamma", 1.5, exercise_id="m02.gamma", call_points="1.50")])

    assert validate_course(tmp_path).modules[1].exercises[0].points == 1.5


def test_validate_missing_tests_cell(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    write_notebook(solution, [grade_cell("alpha", 2), solution_cell("beta")])

    message = (
        f"{solution}: no cell with grade_id 'beta_tests', which {tmp_path / 'curriculum.yaml'} expects "
        "for m01.beta; add the hidden-test cell or fix the exercise's `notebook` key"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_tests_cell_not_grade_cell(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    write_notebook(solution, [grade_cell("alpha", 2), grade_cell("beta", 3, grade=False)])

    message = (
        f"{solution}: cell 'beta_tests' is not a grade cell; set `grade: true` in its nbgrader "
        'metadata (cell type "Autograder tests" in the Create Assignment toolbar)'
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_tests_cell_without_points(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    cell = grade_cell("beta", 3)
    del cell.metadata["nbgrader"]["points"]
    write_notebook(solution, [grade_cell("alpha", 2), cell])

    message = (
        f"{solution}: cell 'beta_tests' has no valid points in its nbgrader metadata (received None); "
        f"set them to 3, the points of m01.beta in {tmp_path / 'curriculum.yaml'}"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_grade_call_points_differ(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    write_notebook(solution, [grade_cell("alpha", 2, call_points=5), grade_cell("beta", 3)])

    message = (
        f'{solution}: cell \'alpha_tests\' calls grade("m01.alpha", ..., points=5), but its nbgrader '
        "metadata gives points 2; make them equal, because nbgrader records the number grade() "
        "returns as the cell's partial credit"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_grade_call_missing(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    cell = grade_cell("beta", 3)
    cell.source = "assert beta() == 1"
    write_notebook(solution, [grade_cell("alpha", 2), cell])

    message = (
        f'{solution}: cell \'beta_tests\' has no call `grade("m01.beta", ..., points=<number>)`; end the '
        "cell with that call, because nbgrader records the number it returns as the cell's partial credit"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_grade_call_other_exercise(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    write_notebook(solution, [grade_cell("alpha", 2), grade_cell("beta", 3, exercise_id="m01.alpha")])

    message = (
        f"{solution}: cell 'beta_tests' calls grade() for 'm01.alpha', but the cell belongs to "
        'm01.beta; pass "m01.beta"'
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_grade_call_across_lines(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    cell = grade_cell("beta", 3)
    cell.source = 'grade(\n    "m01.beta",\n    beta,\n    rubric=dict(a=1),\n    points=3.0,\n)'
    write_notebook(solution, [grade_cell("alpha", 2), cell])

    assert validate_course(tmp_path).course == "fake-course"


def test_validate_unlisted_grade_cell(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    stray = grade_cell("delta", 1)
    write_notebook(solution, [grade_cell("alpha", 2), grade_cell("beta", 3), stray])

    message = (
        f"{solution}: grade cell 'delta_tests' belongs to no exercise that {tmp_path / 'curriculum.yaml'} "
        "lists for this notebook (expected grade ids: alpha_tests, beta_tests); add the exercise to "
        f"{tmp_path / 'curriculum.yaml'} or remove the cell's grade flag"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_tests_cell_in_wrong_notebook(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution_a = tmp_path / "solutions" / "m01" / "a.ipynb"
    solution_c = tmp_path / "solutions" / "m01" / "c.ipynb"
    write_notebook(solution_a, [grade_cell("alpha", 2)])
    write_notebook(solution_c, [grade_cell("beta", 3)])

    # c.ipynb is not listed in the curriculum, so only the missing cell in a.ipynb is reported.
    message = (
        f"{solution_a}: no cell with grade_id 'beta_tests', which {tmp_path / 'curriculum.yaml'} expects "
        "for m01.beta; add the hidden-test cell or fix the exercise's `notebook` key"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_duplicate_grade_id(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    write_notebook(solution, [grade_cell("alpha", 2), grade_cell("beta", 3), grade_cell("beta", 3)])

    message = (
        f"{solution}: grade_id 'beta_tests' is used by 2 cells; give each cell its own grade_id, "
        "because nbgrader requires them to be unique"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_notebook_invalid_json(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    solution.write_text('{\n  "cells": [\n    {"cell_type": "code",,}\n  ]\n}\n')

    message = (
        f"{solution}: line 3, column 26: invalid JSON (Expecting property name enclosed in double quotes); "
        "fix the file or restore it from version control"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_notebook_not_nbformat_4(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    solution.write_text("[1, 2]")

    message = f"{solution}: not an nbformat 4 notebook (nbformat: None); save it again from JupyterLab"
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "none"}', NOT_CELLS),
        ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [1]}', NOT_CELLS),
        ('{"nbformat": 4, "nbformat_minor": 5, "cells": []}', "'metadata' is a required property"),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, '
            '"cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "source": "x = 1"}]}',
            "'outputs' is a required property",
        ),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"id": []}]}',
            "nbformat failed to validate it: unhashable type: 'list'",
        ),
    ],
)
def test_validate_notebook_fails_schema(
    tmp_path: Path, course: dict[str, Any], text: str, reason: str
) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    solution.write_text(text)

    message = (
        f"{solution}: invalid notebook ({reason}); open and save it in JupyterLab to repair it, "
        "or restore it from version control"
    )
    with pytest.raises(CurriculumError, match=only_problem(message)):
        validate_course(tmp_path)


def test_validate_notebook_without_cell_ids(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    solution = tmp_path / "solutions" / "m01" / "a.ipynb"
    data = json.loads(solution.read_text())
    for cell in data["cells"]:
        del cell["id"]
    solution.write_text(json.dumps(data))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curriculum = validate_course(tmp_path)

    assert curriculum.course == "fake-course"


def test_validate_skips_unavailable_module_notebooks(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    draft = tmp_path / "solutions" / "m03" / "draft.ipynb"
    write_notebook(draft, [grade_cell("unlisted", 1)])

    assert validate_course(tmp_path).modules[2].available is False


def test_validate_reports_every_problem(tmp_path: Path, course: dict[str, Any]) -> None:
    broken = copy.deepcopy(course)
    broken["modules"][1]["prerequisites"] = ["m01", "m07"]
    broken["modules"][2]["available"] = True
    broken["modules"][0]["exercises"][0]["points"] = 5
    write_course(tmp_path, course)
    source = tmp_path / "curriculum.yaml"
    source.write_text(yaml.safe_dump(broken, sort_keys=False))
    (tmp_path / "exercises" / "m02" / "b.ipynb").unlink()
    (tmp_path / "solutions" / "m02" / "b.ipynb").write_text("not json")

    with pytest.raises(CurriculumError, match=r"^curriculum has 5 problems:\n") as excinfo:
        validate_course(tmp_path)

    solution_a = tmp_path / "solutions" / "m01" / "a.ipynb"
    solution_b = tmp_path / "solutions" / "m02" / "b.ipynb"
    assert excinfo.value.problems == [
        f"{source}: modules[2] (m03).available: the module is available but has no exercises; "
        "add its exercises or set `available: false`",
        f"{source}: modules[1] (m02).prerequisites[1]: prerequisite 'm07' names no module; "
        "use one of m01, m02, m03 or remove it",
        f"{solution_a}: cell 'alpha_tests' has points 2 in its nbgrader metadata, but {source} gives "
        "m01.alpha points 5; make the two equal",
        f"{tmp_path / 'exercises' / 'm02' / 'b.ipynb'}: learner notebook not found; run `azml-course build` "
        "to generate it from the solution notebook",
        f"{solution_b}: line 1, column 1: invalid JSON (Expecting value); fix the file or restore it "
        "from version control",
    ]


# --- lookups -----------------------------------------------------------------------------


def test_exercise_and_module_by_id(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    curriculum = load_curriculum(tmp_path / "curriculum.yaml")

    assert exercise_by_id(curriculum, "m01.beta").points == 3
    assert module_by_id(curriculum, "m02").title == "Module m02"


def test_exercise_by_id_unknown(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    curriculum = load_curriculum(tmp_path / "curriculum.yaml")

    message = (
        "unknown exercise id 'm01.delta'; use one of the ids in curriculum.yaml or add the exercise "
        "there. Known ids: m01.alpha, m01.beta, m02.gamma"
    )
    with pytest.raises(UnknownExerciseError, match=f"^{re.escape(message)}$"):
        exercise_by_id(curriculum, "m01.delta")


def test_module_by_id_unknown(tmp_path: Path, course: dict[str, Any]) -> None:
    write_course(tmp_path, course)
    curriculum = load_curriculum(tmp_path / "curriculum.yaml")

    message = (
        "unknown module id 'm13'; use one of the ids in curriculum.yaml or add the module there. "
        "Known ids: m01, m02, m03"
    )
    with pytest.raises(KeyError, match=f"^{re.escape(message)}$"):
        module_by_id(curriculum, "m13")
