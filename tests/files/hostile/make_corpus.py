"""Write the broken and hostile m03 submissions that tests/grading/test_hostile.py grades.

Run it from the repository root after changing a case: ``python tests/files/hostile/make_corpus.py``.

Each case is a folder holding one ``losses.ipynb``, built from the released
``exercises/m03/losses.ipynb`` and, where the case needs a right answer, the answers of
``solutions/m03/losses.ipynb``. ``cases.yaml`` beside this script states what a fair grader
gives each case; the script stops when that file and the script list different cases.

Every hostile cell stops by itself, whatever the grader does: loops end at a deadline, the
memory bomb at 4 GiB and the fork bomb at 300 children. Cells that read
``sandbox_targets.json`` expect the test to write it into the submission folder, with the
port of its TCP server and the paths of the course's solutions and of the gradebook.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import yaml
from nbformat import NotebookNode

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RELEASED = REPO / "exercises" / "m03" / "losses.ipynb"
SOLVED = REPO / "solutions" / "m03" / "losses.ipynb"
CASES_FILE = HERE / "cases.yaml"
NOTEBOOK = "losses.ipynb"

MSE = "mse_solution"
BCE = "bce_solution"
RISK = "empirical_risk_solution"

# --- Notebook editing ------------------------------------------------------------------------


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def index_of(notebook: NotebookNode, cell_id: str) -> int:
    """Return the position of the cell whose nbgrader grade id is ``cell_id``."""
    for index, cell in enumerate(notebook.cells):
        if grade_id(cell) == cell_id:
            return index
    raise KeyError(f"no cell with grade id {cell_id!r} in the notebook")


def solution_source(cell_id: str) -> str:
    """Return the instructor's answer of ``cell_id`` without nbgrader's solution markers."""
    solved = nbformat.read(SOLVED, as_version=4)
    source = solved.cells[index_of(solved, cell_id)].source
    return "\n".join(line for line in source.splitlines() if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def released() -> NotebookNode:
    return nbformat.read(RELEASED, as_version=4)


def solved() -> NotebookNode:
    """Return the released notebook with the instructor's answer in each answer cell."""
    notebook = released()
    for cell_id in (MSE, BCE, RISK):
        set_answer(notebook, cell_id, solution_source(cell_id))
    return notebook


def set_answer(notebook: NotebookNode, cell_id: str, source: str) -> None:
    notebook.cells[index_of(notebook, cell_id)].source = source.strip("\n")


def add_cell(notebook: NotebookNode, after: str, source: str, **metadata) -> None:
    """Insert a code cell of the learner's right after the cell with grade id ``after``."""
    count = sum(cell.get("id", "").startswith("learner-") for cell in notebook.cells)
    cell = nbformat.v4.new_code_cell(source.strip("\n"), metadata=metadata)
    # A fixed id keeps the generated files identical from one run to the next.
    cell.id = f"learner-{count + 1}"
    notebook.cells.insert(index_of(notebook, after) + 1, cell)


def stub_source(cell_id: str) -> str:
    """Return the released answer cell ``cell_id``, which raises NotImplementedError."""
    notebook = released()
    return notebook.cells[index_of(notebook, cell_id)].source


def with_stub(cell_id: str) -> NotebookNode:
    """Return a notebook solved except ``cell_id``, which keeps the released stub."""
    notebook = solved()
    set_answer(notebook, cell_id, stub_source(cell_id))
    return notebook


def body(cell_id: str) -> str:
    """Return the instructor's answer without its ``def`` line, to reuse inside another function."""
    return "\n".join(solution_source(cell_id).splitlines()[1:])


def joined(*parts: str) -> str:
    """Join pieces of a cell's source with two blank lines, as between top-level definitions."""
    return "\n\n\n".join(part.strip("\n") for part in parts)


# --- Hostile cells ---------------------------------------------------------------------------

READ_TARGETS = """
import json

with open("sandbox_targets.json") as file:
    targets = json.load(file)
"""

LOOP_BEFORE_ANSWER = """
import time

# A training loop that never converges: it spins for 40 s, four times the cell limit.
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    pass
"""

LOOP_IN_FUNCTION = """
import time


def mse(y, y_hat):
    if np.size(y) >= 1_000_000:
        # Only the graded cases are this large, so only the hidden test cell spins here.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            pass
{body}
"""

LOOP_IGNORING_INTERRUPT = """
import time

# Retries for 40 s, and the bare except also swallows the grader's KeyboardInterrupt.
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    try:
        time.sleep(0.05)
    except:  # noqa: E722
        pass
"""

MEMORY_BOMB = """
def allocate(total=4 * 2**30, step=256 * 2**20):
    \"\"\"Take memory in 256 MiB steps up to 4 GiB, and give it back on return.\"\"\"
    blocks = []
    while len(blocks) * step < total:
        blocks.append(bytearray(step))
    return len(blocks) * step


allocated = allocate()
"""

FORK_BOMB = """
import os
import time

# Up to 300 children, each sleeping 2 s. The cell waits for all of them, even when a fork fails.
children = []
try:
    while len(children) < 300:
        pid = os.fork()
        if pid == 0:
            time.sleep(2)
            os._exit(0)
        children.append(pid)
finally:
    for pid in children:
        os.waitpid(pid, 0)
"""

OUTPUT_FLOOD = """
# 100 MB of output, sent as 1,000 messages of 100 kB.
chunk = "x" * 100_000
for _ in range(1_000):
    print(chunk, flush=True)
"""

CONNECT = READ_TARGETS + """
import socket

# Says hello to the test's server, which the sandbox must not reach.
with socket.create_connection(("127.0.0.1", targets["port"]), timeout=5) as connection:
    connection.sendall(b"hello from a graded notebook\\n")
"""

COPY_SOLUTION = READ_TARGETS + """
# Runs the instructor's own answer cell instead of writing one.
with open(targets["solutions"]) as file:
    instructor = json.load(file)
for cell in instructor["cells"]:
    if cell["metadata"].get("nbgrader", {}).get("grade_id") == "mse_solution":
        exec("".join(cell["source"]))
"""

READ_GRADEBOOK = READ_TARGETS + """
with open(targets["gradebook"], "rb") as file:
    header = file.read(16)
if header != b"SQLite format 3\\x00":
    raise PermissionError(f"the gradebook could not be read: its first bytes are {header!r}")
"""

STAND_INS = """
# Stand-ins for the course's functions that pass everything.
def check(exercise_id, answer):
    print(f"{exercise_id}: all case groups pass")


def grade(exercise_id, answer, *, points, **grading_data):
    print(f"{exercise_id}: {points} / {points}")
    return points
"""

PATCH_GRADE = """
import autograder.learner


def full_marks(exercise_id, answer, *, points, **grading_data):
    print(f"{exercise_id}: {points} / {points}")
    return points


autograder.learner.grade = full_marks
"""

PATCH_RUN_GROUPS = """
import autograder.checks.core
from autograder.checks.core import CaseOutcome, CheckResult


def all_groups_pass(exercise_id, groups, answer):
    result = CheckResult(exercise_id)
    result.outcomes = [CaseOutcome(group.name, True, "", group.weight) for group in groups]
    return result


autograder.checks.core.run_groups = all_groups_pass
"""

ALWAYS_EQUAL_MSE = """
class AlwaysEqual:
    \"\"\"Equal to anything, and 0.0 whenever read as a number or an array.\"\"\"

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __float__(self):
        return 0.0

    def __array__(self, dtype=None, copy=None):
        return np.asarray(0.0, dtype=dtype)


def mse(y, y_hat):
    return AlwaysEqual()
"""

ALWAYS_EQUAL_BCE = """
class AgreeingFloat(float):
    \"\"\"A float that says it equals anything.\"\"\"

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__

    def __float__(self):
        return 0.21616


def bce(y, p, eps=1e-15):
    return AgreeingFloat(0.0)
"""

SILENCE_TRACEBACKS = """
# No error of a later cell shows a traceback.
get_ipython().showtraceback = lambda *args, **kwargs: None
"""

EXIT_CELL = """
import os

exit()  # requests that the front end close the kernel, which nbclient ignores
os._exit(0)  # ends the kernel process at once
"""

EXIT_WHEN_GRADED = """
import inspect
import os


def bce(y, p, eps=1e-15):
    # Ends the kernel when the grader records the answer, and only then.
    if any(frame.function == "record_answer" for frame in inspect.stack()):
        os._exit(0)
{body}
"""

FAKE_RESULT_ANSWER = """
print("m03.mse: 3 / 3")


def mse(y, y_hat):
    print("m03.mse: 3 / 3")
    raise NotImplementedError()
"""

FAKE_RESULT_CELL = """
from IPython.display import display

display({"text/plain": "3.0"}, raw=True)
3.0
"""

FAKE_FILES = """
import json
from pathlib import Path

# A module that would answer for the course's package, and a copy of this notebook with full marks.
Path("autograder.py").write_text("def grade(exercise_id, answer, *, points, **grading_data):\\n    return points\\n")
graded_cell = {
    "cell_type": "code", "execution_count": 1, "id": "mse-tests", "source": "",
    "metadata": {"nbgrader": {"grade": True, "grade_id": "mse_tests", "points": 3, "solution": False, "locked": True, "schema_version": 3}},
    "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "3.0"}}],
}
fake = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [graded_cell]}
Path("losses.ipynb").write_text(json.dumps(fake))
"""

STDERR_ANSWER = """
import sys
import warnings

warnings.warn("mse converts its inputs to float arrays", UserWarning)
sys.stderr.write("defining mse\\n")


def mse(y, y_hat):
    warnings.warn("mse converts its inputs to float arrays", UserWarning)
    sys.stderr.write("mse called\\n")
{body}
"""

ANSWER_KEY = """
from autograder.exercises.m03 import reference_bce, reference_mse

mse = reference_mse


def bce(y, p, eps=1e-15):
    if np.shape(y) != np.shape(p):
        raise ValueError("y and p have different lengths")
    return reference_bce(y, p, eps)
"""

SLOW_MSE = """
import time


def mse(y, y_hat):
    if np.size(y) >= 1_000_000:
        # Stands in for a Python loop: 1.5 s on the timing group's million elements.
        time.sleep(1.5)
{body}
"""

STOP_CLOCK = """
import time

# The grading kernel times each answer with time.perf_counter: stop that clock.
time.perf_counter = lambda: 0.0
"""

SHADOW_PACKAGE = """
from pathlib import Path

# A kernel started again in this folder would import this file as the course's package.
Path("autograder.py").write_text("raise ImportError('not the course package')\\n")
"""

# --- Cases -----------------------------------------------------------------------------------


def control() -> NotebookNode:
    return solved()


def loop_in_answer_cell() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, joined(LOOP_BEFORE_ANSWER, solution_source(MSE)))
    return notebook


def loop_in_answer_function() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, LOOP_IN_FUNCTION.format(body=body(MSE)))
    return notebook


def loop_in_added_cell() -> NotebookNode:
    notebook = solved()
    add_cell(notebook, MSE, LOOP_IGNORING_INTERRUPT)
    return notebook


def memory_bomb() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, joined(MEMORY_BOMB, solution_source(MSE)))
    return notebook


def fork_bomb() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, BCE, joined(FORK_BOMB, solution_source(BCE)))
    return notebook


def output_flood() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, joined(solution_source(MSE), OUTPUT_FLOOD))
    return notebook


def network_connection() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, joined(CONNECT, solution_source(MSE)))
    return notebook


def read_course_files() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, COPY_SOLUTION)
    set_answer(notebook, BCE, joined(READ_GRADEBOOK, solution_source(BCE)))
    return notebook


def redefine_check_grade() -> NotebookNode:
    notebook = with_stub(MSE)
    add_cell(notebook, "setup", STAND_INS)
    return notebook


def patch_grade() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, joined(stub_source(MSE), PATCH_GRADE))
    return notebook


def patch_run_groups() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, joined(stub_source(MSE), PATCH_RUN_GROUPS))
    return notebook


def always_equal() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, ALWAYS_EQUAL_MSE)
    set_answer(notebook, BCE, ALWAYS_EQUAL_BCE)
    return notebook


def silence_tracebacks() -> NotebookNode:
    notebook = solved()
    add_cell(notebook, "setup", SILENCE_TRACEBACKS)
    set_answer(notebook, MSE, "# mse is defined later")
    return notebook


def edited_and_deleted_test_cells() -> NotebookNode:
    notebook = with_stub(MSE)
    test = notebook.cells[index_of(notebook, "mse_tests")]
    test.source = 'print("m03.mse: 3 / 3")\n3.0'
    test.metadata["nbgrader"]["points"] = 30
    del notebook.cells[index_of(notebook, "bce_tests")]
    return notebook


def exit_in_added_cell() -> NotebookNode:
    notebook = solved()
    add_cell(notebook, "mse_check", EXIT_CELL)
    return notebook


def exit_in_answer_function() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, BCE, EXIT_WHEN_GRADED.format(body=body(BCE)))
    return notebook


def fake_results() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, FAKE_RESULT_ANSWER)
    # A test cell of the learner's own, worth 100 points by its nbgrader metadata.
    nbgrader = {"grade": True, "grade_id": "bonus_tests", "locked": True, "points": 100, "schema_version": 3, "solution": False}
    add_cell(notebook, "mse_tests", "100.0", nbgrader=nbgrader)
    # Inserted right after the test cell, above the fake test cell: the grader drops the
    # learner's cells that follow a cell with an unknown grade id (see foreign_cell_then_helper).
    add_cell(notebook, "mse_tests", FAKE_RESULT_CELL)
    return notebook


def foreign_cell_then_helper() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, "def mse(y, y_hat):\n    return mean_squared_difference(y, y_hat)")
    other = nbformat.read(RELEASED.with_name("regularisation.ipynb"), as_version=4)
    pasted = copy.deepcopy(other.cells[index_of(other, "penalties_check")])
    notebook.cells.insert(index_of(notebook, MSE) + 1, pasted)
    add_cell(notebook, "penalties_check", "def mean_squared_difference(y, y_hat):\n" + body(MSE))
    return notebook


def fake_files() -> NotebookNode:
    notebook = with_stub(MSE)
    add_cell(notebook, "setup", FAKE_FILES)
    return notebook


def invalid_json() -> str:
    # A download cut off half way.
    text = nbformat.writes(solved())
    return text[: len(text) // 2]


def nbformat_3() -> str:
    return nbformat.writes(nbformat.convert(solved(), 3), version=3)


def rearranged_answer_cells() -> NotebookNode:
    notebook = solved()
    # mse: an old wrong attempt, copied from the answer cell, above the right answer.
    index = index_of(notebook, MSE)
    old_attempt = copy.deepcopy(notebook.cells[index])
    old_attempt.id = "mse-solution-old"
    old_attempt.source = "def mse(y, y_hat):\n    return 0.0"
    notebook.cells.insert(index, old_attempt)
    # bce: the answer cell moved below its hidden test cell.
    answer = notebook.cells.pop(index_of(notebook, BCE))
    notebook.cells.insert(index_of(notebook, "bce_tests") + 1, answer)
    # empirical_risk: the answer cell changed to a markdown cell.
    index = index_of(notebook, RISK)
    code = notebook.cells[index]
    markdown = nbformat.v4.new_markdown_cell(code.source, metadata=code.metadata)
    markdown.id = code.id
    notebook.cells[index] = markdown
    return notebook


def stderr_warning() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, STDERR_ANSWER.format(body=body(MSE)))
    return notebook


def answer_key_import() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, ANSWER_KEY)
    set_answer(notebook, BCE, "# bce is defined with mse above")
    return notebook


def slow_answer() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, SLOW_MSE.format(body=body(MSE)))
    return notebook


def slow_answer_stopped_clock() -> NotebookNode:
    notebook = solved()
    set_answer(notebook, MSE, joined(SLOW_MSE.format(body=body(MSE)), STOP_CLOCK))
    return notebook


def shadow_package_then_exit() -> NotebookNode:
    notebook = solved()
    add_cell(notebook, MSE, SHADOW_PACKAGE)
    add_cell(notebook, "mse_check", EXIT_CELL)
    return notebook


BUILDERS: dict[str, Callable[[], NotebookNode | str]] = {
    builder.__name__: builder
    for builder in (
        control, loop_in_answer_cell, loop_in_answer_function, loop_in_added_cell, memory_bomb,
        fork_bomb, output_flood, network_connection, read_course_files, redefine_check_grade,
        patch_grade, patch_run_groups, always_equal, silence_tracebacks,
        edited_and_deleted_test_cells, exit_in_added_cell, exit_in_answer_function, fake_results,
        fake_files, foreign_cell_then_helper, invalid_json, nbformat_3, rearranged_answer_cells,
        stderr_warning, answer_key_import, slow_answer, slow_answer_stopped_clock,
        shadow_package_then_exit,
    )
}


def write_corpus(folder: Path = HERE) -> list[str]:
    """Write every case's notebook under ``folder`` and return the case names."""
    listed = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    if set(listed) != set(BUILDERS):
        missing = sorted(set(BUILDERS) - set(listed))
        unknown = sorted(set(listed) - set(BUILDERS))
        raise SystemExit(f"{CASES_FILE.name} and this script list different cases: not in the file {missing}, not built here {unknown}")
    for stale in folder.glob(f"*/{NOTEBOOK}"):
        if stale.parent.name not in BUILDERS:
            shutil.rmtree(stale.parent)
    for name, build in BUILDERS.items():
        case = folder / name
        if case.exists():
            shutil.rmtree(case)
        case.mkdir(parents=True)
        notebook = build()
        text = notebook if isinstance(notebook, str) else nbformat.writes(notebook)
        (case / NOTEBOOK).write_text(text, encoding="utf-8")
    return list(BUILDERS)


if __name__ == "__main__":
    names = write_corpus()
    print(f"wrote {len(names)} cases to {HERE}", file=sys.stderr)
