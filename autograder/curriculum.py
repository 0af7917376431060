"""The course's curriculum file, ``curriculum.yaml``, and its consistency with the notebooks.

:func:`load_curriculum` parses the file into :class:`Curriculum`. :func:`validate_course`
also checks the file against itself (ids, availability, prerequisites) and against the
solution and learner notebooks of every available module. Both raise one
:class:`~autograder.errors.CurriculumError` that lists every problem found.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import nbformat
import yaml
from nbformat.validator import MissingIDFieldWarning
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autograder.authoring import decision_problems
from autograder.errors import CurriculumError, UnknownExerciseError

CURRICULUM_FILE = "curriculum.yaml"

# Strict mode keeps YAML values as written: "3" is not a number and "yes" in quotes is not
# a boolean. Unknown keys are rejected, so a misspelt key cannot pass unnoticed.
_MODEL_CONFIG = ConfigDict(extra="forbid", strict=True)


class ExerciseEntry(BaseModel):
    """One graded exercise as curriculum.yaml lists it."""

    model_config = _MODEL_CONFIG

    id: str = Field(
        pattern=r"^m\d\d\.[a-z][a-z0-9_]*$",
        description=(
            "`<module id>.<name>` such as m03.mse, where the name starts with a lowercase "
            "letter followed by lowercase letters, digits or underscores"
        ),
    )
    kind: Literal["math", "sdk", "decision"] = Field(description="one of math, sdk, decision")
    notebook: str = Field(
        pattern=r"^[^/\\]+\.ipynb$",
        description="a notebook file name ending in .ipynb, such as losses.ipynb, with no folder",
    )
    points: float = Field(gt=0, allow_inf_nan=False, description="a number greater than 0")

    @property
    def module_id(self) -> str:
        """Module id part of the exercise id, such as ``m03`` for ``m03.mse``."""
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        """Name part of the exercise id, such as ``mse`` for ``m03.mse``."""
        return self.id.split(".", 1)[1]


class Module(BaseModel):
    """One course module, taught and graded as one nbgrader assignment."""

    model_config = _MODEL_CONFIG

    id: str = Field(pattern=r"^m\d\d$", description="`m` followed by two digits, such as m03")
    title: str = Field(description="a string")
    level: Literal["basic", "intermediate", "advanced"] = Field(
        description="one of basic, intermediate, advanced"
    )
    available: bool = Field(description="true or false")
    seed_topics: list[str] = Field(description="a list of strings")
    objectives: list[str] = Field(min_length=1, description="a list of at least one objective")
    prerequisites: list[str] = Field(description="a list of module ids")
    exercises: list[ExerciseEntry] = Field(description="a list of exercises")

    def notebooks(self) -> list[str]:
        """Return the notebook file names of the module's exercises, each once, in listed order."""
        return list(dict.fromkeys(exercise.notebook for exercise in self.exercises))


class Curriculum(BaseModel):
    """The whole course: its name, title and modules in teaching order."""

    model_config = _MODEL_CONFIG

    course: str = Field(description="a string")
    title: str = Field(description="a string")
    modules: list[Module] = Field(description="a list of modules")


# Models by the length of the pydantic location of the mapping they validate:
# () is the file, ("modules", i) a module, ("modules", i, "exercises", j) an exercise.
_MODEL_AT_DEPTH: dict[int, type[BaseModel]] = {0: Curriculum, 2: Module, 4: ExerciseEntry}


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML loader that rejects a key repeated in one mapping, which PyYAML would overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key `{key_node.value}`", key_node.start_mark
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def load_curriculum(path: Path) -> Curriculum:
    """Parse and validate a curriculum file.

    Parameters
    ----------
    path : Path
        The curriculum file, usually ``curriculum.yaml`` at the course root.

    Returns
    -------
    Curriculum
        The parsed course.

    Raises
    ------
    CurriculumError
        If the file is missing, is not valid YAML, or does not match the schema. Schema
        problems are all listed, each with the key path, the value received and the fix.
        Invalid YAML stops the parser, so only its first syntax error is listed.
    """
    path = Path(path)
    data = _read_yaml(path)
    try:
        return Curriculum.model_validate(data)
    except ValidationError as error:
        problems = [_describe_schema_error(path, data, item) for item in error.errors(include_url=False)]
        raise CurriculumError(problems) from None


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CurriculumError(
            [f"{path}: file not found; pass the course root that contains {CURRICULUM_FILE}"]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        problem = f"{path}: cannot read the file ({error}); check that it is UTF-8 text"
        raise CurriculumError([problem]) from None

    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = error.problem or error.context
        if error.problem and error.context and error.context_mark:
            reason += f" {error.context} that starts at line {error.context_mark.line + 1}"
        raise CurriculumError([f"{path}: {where}invalid YAML: {reason}; fix the YAML at that line"]) from None
    except yaml.YAMLError as error:
        raise CurriculumError([f"{path}: invalid YAML: {error}"]) from None

    if data is None:
        raise CurriculumError([f"{path}: the file is empty; write the keys course, title and modules"])
    return data


def _describe_schema_error(path: Path, data: Any, error: dict[str, Any]) -> str:
    """Turn one pydantic error into a line naming the file, key path, value received and fix."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(_MODEL_AT_DEPTH[len(loc) - 1].model_fields)
        return f"{path}: {_key_path(data, loc[:-1])}: unknown key `{loc[-1]}`; allowed keys: {allowed}"
    if kind == "missing":
        expected = _field_description(loc) or "see the comment at the top of the file"
        return f"{path}: {_key_path(data, loc[:-1])}: missing key `{loc[-1]}`; add it (expected: {expected})"
    if kind in ("model_type", "dict_type"):
        keys = ", ".join(_MODEL_AT_DEPTH[len(loc)].model_fields)
        expected = f"a mapping with the keys {keys}"
    elif (loc and isinstance(loc[-1], int)) or _field_description(loc) is None:
        # An item of a list of strings, or an error that no field description covers. The
        # pydantic message, such as "Input should be a valid string", names the expected input.
        expected = error["msg"].removeprefix("Input should be ")
    else:
        expected = _field_description(loc)
    return f"{path}: {_key_path(data, loc)}: invalid value {_show(error['input'])}; expected {expected}"


def _field_description(loc: tuple[Any, ...]) -> str | None:
    """Return the description of the model field at ``loc``, or None if there is none."""
    field_loc = loc
    while field_loc and isinstance(field_loc[-1], int):
        field_loc = field_loc[:-1]
    model = _MODEL_AT_DEPTH.get(len(field_loc) - 1)
    if model is None or field_loc[-1] not in model.model_fields:
        return None
    return model.model_fields[field_loc[-1]].description


def _key_path(data: Any, loc: tuple[Any, ...]) -> str:
    """Format a pydantic location as ``modules[2] (m03).exercises[0] (m03.mse).kind``.

    A list item gets its ``id`` in brackets when the raw YAML gives one as a string.
    """
    text = ""
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            node = node[part] if part < len(node) else None
            text += f"[{part}]"
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                text += f" ({node['id']})"
        else:
            node = node.get(part) if isinstance(node, dict) else None
            text += f".{part}" if text else str(part)
    return text or "top level"


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _format_number(value: float) -> str:
    return f"{value:g}"


def validate_course(root: Path, curriculum_path: Path | None = None) -> Curriculum:
    """Load the curriculum and check it against itself and the course notebooks.

    The file checks cover unique module and exercise ids, exercise ids that start with
    their module id, availability against the exercise list, and prerequisites, which must
    name a module taught earlier and form no cycle. For each available module, the solution
    notebooks in ``solutions/<module>/`` and the learner notebooks in ``exercises/<module>/``
    must exist. Each exercise's ``<name>_tests`` cell must be a grade cell whose points match
    the file and its ``grade()`` call, and every grade cell must belong to a listed exercise.

    Parameters
    ----------
    root : Path
        The course root, which contains ``solutions/`` and ``exercises/``.
    curriculum_path : Path, optional
        The curriculum file. Defaults to ``root / "curriculum.yaml"``.

    Returns
    -------
    Curriculum
        The parsed course, if no problem was found.

    Raises
    ------
    CurriculumError
        Listing every problem found, each naming the file, the place and the fix. If the
        curriculum file cannot be loaded, only the load problems are listed, because the
        other checks need the parsed file.
    """
    root = Path(root)
    source = Path(curriculum_path) if curriculum_path is not None else root / CURRICULUM_FILE
    curriculum = load_curriculum(source)

    problems = [
        *_check_ids(curriculum, source),
        *_check_availability(curriculum, source),
        *_check_prerequisites(curriculum, source),
        *_check_prerequisite_cycles(curriculum, source),
    ]
    for module in curriculum.modules:
        if module.available:
            problems += _check_module_notebooks(root, source, module)

    if problems:
        raise CurriculumError(problems)
    return curriculum


def _module_path(index: int, module: Module) -> str:
    return f"modules[{index}] ({module.id})"


def _check_ids(curriculum: Curriculum, source: Path) -> list[str]:
    problems: list[str] = []
    module_seen: dict[str, str] = {}
    exercise_seen: dict[str, str] = {}
    for i, module in enumerate(curriculum.modules):
        module_at = _module_path(i, module)
        if module.id in module_seen:
            problems.append(
                f"{source}: {module_at}.id: duplicate module id '{module.id}', first used at "
                f"{module_seen[module.id]}; give each module its own id"
            )
        module_seen.setdefault(module.id, module_at)

        for j, exercise in enumerate(module.exercises):
            exercise_at = f"{module_at}.exercises[{j}] ({exercise.id})"
            if exercise.module_id != module.id:
                problems.append(
                    f"{source}: {exercise_at}.id: exercise id '{exercise.id}' does not start with its "
                    f"module id '{module.id}'; rename it to '{module.id}.{exercise.name}'"
                )
            if exercise.id in exercise_seen:
                problems.append(
                    f"{source}: {exercise_at}.id: duplicate exercise id '{exercise.id}', first used at "
                    f"{exercise_seen[exercise.id]}; give each exercise its own id"
                )
            exercise_seen.setdefault(exercise.id, exercise_at)
    return problems


def _check_availability(curriculum: Curriculum, source: Path) -> list[str]:
    problems: list[str] = []
    for i, module in enumerate(curriculum.modules):
        module_at = _module_path(i, module)
        count = len(module.exercises)
        if module.available and count == 0:
            problems.append(
                f"{source}: {module_at}.available: the module is available but has no exercises; "
                "add its exercises or set `available: false`"
            )
        elif not module.available and count > 0:
            problems.append(
                f"{source}: {module_at}.available: the module is not available but has {count} "
                f"exercise{'s' if count != 1 else ''}; mark it available or remove the exercises"
            )
    return problems


def _check_prerequisites(curriculum: Curriculum, source: Path) -> list[str]:
    """List prerequisites that name no module or a module taught later."""
    position: dict[str, int] = {}
    for i, module in enumerate(curriculum.modules):
        position.setdefault(module.id, i)
    known = ", ".join(position) or "(none)"

    problems: list[str] = []
    for i, module in enumerate(curriculum.modules):
        for k, prerequisite in enumerate(module.prerequisites):
            at = f"{source}: {_module_path(i, module)}.prerequisites[{k}]"
            if prerequisite not in position:
                problems.append(
                    f"{at}: prerequisite '{prerequisite}' names no module; use one of {known} or remove it"
                )
            elif position[prerequisite] > i:
                problems.append(
                    f"{at}: prerequisite '{prerequisite}' comes after {module.id} in teaching order; "
                    f"move {prerequisite} before {module.id} in the modules list or remove the prerequisite"
                )
    return problems


def _check_prerequisite_cycles(curriculum: Curriculum, source: Path) -> list[str]:
    requires: dict[str, list[str]] = {}
    for module in curriculum.modules:
        requires.setdefault(module.id, module.prerequisites)
    return [
        f"{source}: prerequisite cycle {' -> '.join(cycle)}; remove one of these prerequisites"
        for cycle in _find_cycles(requires)
    ]


def _find_cycles(requires: dict[str, list[str]]) -> list[list[str]]:
    """Return the cycles that a depth-first search meets in the prerequisite graph.

    Each cycle starts and ends at its smallest id, and ``a -> b`` reads "a requires b".
    The search returns one cycle per back edge, so it finds at least one cycle in every
    group of modules that require each other, but not every cycle of such a group.
    """
    cycles: list[list[str]] = []
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = "on path"
        path.append(node)
        for prerequisite in requires[node]:
            if prerequisite not in requires:
                continue
            if state.get(prerequisite) == "on path":
                cycle = path[path.index(prerequisite) :]
                start = cycle.index(min(cycle))
                cycle = cycle[start:] + cycle[:start]
                if cycle + [cycle[0]] not in cycles:
                    cycles.append(cycle + [cycle[0]])
            elif prerequisite not in state:
                visit(prerequisite)
        path.pop()
        state[node] = "done"

    for node in requires:
        if node not in state:
            visit(node)
    return cycles


def _check_module_notebooks(root: Path, source: Path, module: Module) -> list[str]:
    problems: list[str] = []
    for notebook in module.notebooks():
        entries = [exercise for exercise in module.exercises if exercise.notebook == notebook]
        solution = root / "solutions" / module.id / notebook
        learner = root / "exercises" / module.id / notebook

        if not learner.is_file():
            problems.append(
                f"{learner}: learner notebook not found; run `azml-course build` to generate it "
                "from the solution notebook"
            )
        if not solution.is_file():
            ids = ", ".join(exercise.id for exercise in entries)
            problems.append(
                f"{solution}: solution notebook not found, but {source} lists it for {ids}; "
                "add the notebook or fix the `notebook` key of those exercises"
            )
            continue
        problems += _check_solution_notebook(solution, source, entries)
    return problems


class _UnreadableNotebook(Exception):
    """Raised for a notebook that cannot be checked. Its message is the problem to report."""


_REPAIR_NOTEBOOK = "open and save it in JupyterLab to repair it, or restore it from version control"


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook file and validate it against the nbformat 4 schema.

    Raises ``_UnreadableNotebook`` if the file is unreadable, not JSON or not a valid notebook.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _UnreadableNotebook(f"{path}: cannot read the notebook ({error}); check that it is UTF-8 text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _UnreadableNotebook(
            f"{path}: line {error.lineno}, column {error.colno}: invalid JSON ({error.msg}); "
            "fix the file or restore it from version control"
        )
    return _validate_notebook(path, data)


def _validate_notebook(path: Path, data: Any) -> nbformat.NotebookNode:
    version = data.get("nbformat") if isinstance(data, dict) else None
    if version != 4:
        raise _UnreadableNotebook(
            f"{path}: not an nbformat 4 notebook (nbformat: {_show(version)}); save it again from JupyterLab"
        )
    cells = data.get("cells")
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise _UnreadableNotebook(
            f"{path}: invalid notebook (`cells` is not a list of cell objects); {_REPAIR_NOTEBOOK}"
        )

    notebook = nbformat.from_dict(data)
    try:
        # validate() adds missing cell ids in memory and warns, as nbformat.read does. The file
        # is not changed, so a missing id is not reported as a problem.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        reason = str(error).splitlines()[0]
        raise _UnreadableNotebook(f"{path}: invalid notebook ({reason}); {_REPAIR_NOTEBOOK}")
    except TypeError as error:
        # nbformat 5.11 raises TypeError, not ValidationError, for some malformed cells,
        # such as a list as cell id or a number as cell_type.
        raise _UnreadableNotebook(
            f"{path}: invalid notebook (nbformat failed to validate it: {error}); {_REPAIR_NOTEBOOK}"
        )
    return notebook


def _nbgrader_metadata(cell: nbformat.NotebookNode) -> dict[str, Any]:
    metadata = cell.get("metadata", {}).get("nbgrader")
    return metadata if isinstance(metadata, dict) else {}


def _cell_source(cell: nbformat.NotebookNode) -> str:
    # A notebook file may store source as a list of lines, and from_dict keeps that list.
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _check_solution_notebook(path: Path, source: Path, entries: list[ExerciseEntry]) -> list[str]:
    """Check the ``<name>_tests`` cell of each exercise and flag grade cells of no exercise."""
    try:
        notebook = _read_notebook(path)
    except _UnreadableNotebook as error:
        return [str(error)]

    cells_by_grade_id: dict[str, list[nbformat.NotebookNode]] = {}
    for cell in notebook.cells:
        grade_id = _nbgrader_metadata(cell).get("grade_id")
        if isinstance(grade_id, str):
            cells_by_grade_id.setdefault(grade_id, []).append(cell)

    problems = [
        f"{path}: grade_id '{grade_id}' is used by {len(cells)} cells; give each cell its own "
        "grade_id, because nbgrader requires them to be unique"
        for grade_id, cells in cells_by_grade_id.items()
        if len(cells) > 1
    ]
    for entry in entries:
        cells = cells_by_grade_id.get(f"{entry.name}_tests")
        if cells is None:
            problems.append(
                f"{path}: no cell with grade_id '{entry.name}_tests', which {source} expects for "
                f"{entry.id}; add the hidden-test cell or fix the exercise's `notebook` key"
            )
        else:
            problems += _check_tests_cell(path, source, entry, cells[0])
    problems += _check_unlisted_grade_cells(path, source, entries, cells_by_grade_id)
    return problems


def _check_tests_cell(
    path: Path, source: Path, entry: ExerciseEntry, cell: nbformat.NotebookNode
) -> list[str]:
    metadata = _nbgrader_metadata(cell)
    at = f"{path}: cell '{entry.name}_tests'"
    if metadata.get("grade") is not True:
        return [
            f"{at} is not a grade cell; set `grade: true` in its nbgrader metadata "
            '(cell type "Autograder tests" in the Create Assignment toolbar)'
        ]

    points = metadata.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)):
        return [
            f"{at} has no valid points in its nbgrader metadata (received {_show(points)}); "
            f"set them to {_format_number(entry.points)}, the points of {entry.id} in {source}"
        ]

    problems: list[str] = []
    if not math.isclose(points, entry.points, rel_tol=0, abs_tol=1e-9):
        problems.append(
            f"{at} has points {_format_number(points)} in its nbgrader metadata, but {source} gives "
            f"{entry.id} points {_format_number(entry.points)}; make the two equal"
        )
    problems += _check_grade_call(at, entry, _cell_source(cell), points)
    if entry.kind == "decision":
        root = path.parents[2]
        problems += decision_problems(root, path.parent.name, entry.name, entry.id, entry.points, _cell_source(cell))
    return problems


# A call such as grade("m03.mse", mse, points=3, seed=7): the exercise id as a string literal,
# then, before any other grade( call, a points= keyword with a number literal.
_GRADE_CALL = re.compile(
    r"""\bgrade\(\s*(?P<quote>["'])(?P<exercise_id>[^"'\n]*)(?P=quote)"""
    r"""(?:(?!\bgrade\().)*?\bpoints\s*=\s*(?P<points>\d+(?:\.\d*)?|\.\d+)""",
    re.DOTALL,
)


def _check_grade_call(at: str, entry: ExerciseEntry, cell_source: str, points: float) -> list[str]:
    """Check that the cell calls ``grade()`` for its exercise with the cell's points.

    nbgrader records the number a grade cell returns as its partial credit, and ``grade()``
    returns a score scaled to its ``points=``, so that number must equal the cell's points.
    """
    calls = list(_GRADE_CALL.finditer(cell_source))
    matching = [call for call in calls if call["exercise_id"] == entry.id]
    if not calls:
        return [
            f'{at} has no call `grade("{entry.id}", ..., points=<number>)`; end the cell with that '
            "call, because nbgrader records the number it returns as the cell's partial credit"
        ]
    if not matching:
        called = ", ".join(sorted({f"'{call['exercise_id']}'" for call in calls}))
        return [f'{at} calls grade() for {called}, but the cell belongs to {entry.id}; pass "{entry.id}"']

    return [
        f'{at} calls grade("{entry.id}", ..., points={call["points"]}), but its nbgrader metadata gives '
        f"points {_format_number(points)}; make them equal, because nbgrader records the number "
        "grade() returns as the cell's partial credit"
        for call in matching
        if not math.isclose(float(call["points"]), points, rel_tol=0, abs_tol=1e-9)
    ]


def _check_unlisted_grade_cells(
    path: Path,
    source: Path,
    entries: list[ExerciseEntry],
    cells_by_grade_id: dict[str, list[nbformat.NotebookNode]],
) -> list[str]:
    expected = [f"{entry.name}_tests" for entry in entries]
    problems: list[str] = []
    for grade_id, cells in cells_by_grade_id.items():
        is_grade_cell = any(_nbgrader_metadata(cell).get("grade") is True for cell in cells)
        if is_grade_cell and grade_id not in expected:
            problems.append(
                f"{path}: grade cell '{grade_id}' belongs to no exercise that {source} lists for this "
                f"notebook (expected grade ids: {', '.join(expected)}); add the exercise to "
                f"{source} or remove the cell's grade flag"
            )
    return problems


def module_by_id(curriculum: Curriculum, module_id: str) -> Module:
    """Return the module with ``module_id``.

    Raises
    ------
    UnknownExerciseError
        If no module has that id. The message lists the known module ids.
    """
    for module in curriculum.modules:
        if module.id == module_id:
            return module
    known = ", ".join(module.id for module in curriculum.modules) or "(none)"
    raise UnknownExerciseError(
        f"unknown module id {module_id!r}; use one of the ids in {CURRICULUM_FILE} or add the "
        f"module there. Known ids: {known}"
    )


def exercise_by_id(curriculum: Curriculum, exercise_id: str) -> ExerciseEntry:
    """Return the exercise with ``exercise_id``, such as ``"m03.mse"``.

    Raises
    ------
    UnknownExerciseError
        If no exercise has that id. The message lists the known exercise ids.
    """
    for module in curriculum.modules:
        for exercise in module.exercises:
            if exercise.id == exercise_id:
                return exercise
    known = ", ".join(exercise.id for module in curriculum.modules for exercise in module.exercises)
    raise UnknownExerciseError(
        f"unknown exercise id {exercise_id!r}; use one of the ids in {CURRICULUM_FILE} or add the "
        f"exercise there. Known ids: {known or '(none)'}"
    )
