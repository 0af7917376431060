"""Tests of finding a module's submissions and screening their notebooks before nbgrader.

Each test writes a small ``submitted/<learner>/<module>/`` tree in ``tmp_path`` with real
nbformat notebooks, and files that only look like notebooks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.errors import SubmissionError
from autograder.grading.submissions import (
    Submission,
    find_submissions,
    screen_notebooks,
    stage,
    submitted_directory,
)

NOT_JSON = "{ this notebook was truncated during upload"
REDOWNLOAD = "re-download it from JupyterLab and submit again"


def notebook_v4() -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell("x = 1")])


def write_notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook_v4(), path)
    return path


def write_v3_notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nbformat.convert(notebook_v4(), 3), version=3), encoding="utf-8")
    return path


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def json_error(text: str) -> str:
    """The message ``json.loads`` raises for ``text``, which the reason quotes."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return str(error)
    raise AssertionError(f"{text!r} parsed as JSON")


def not_json_reason(name: str, text: str = NOT_JSON) -> str:
    return f"{name} is not a valid notebook file (not JSON: {json_error(text)}); {REDOWNLOAD}"


def old_format_reason(name: str, version: object) -> str:
    return (
        f"{name} uses nbformat {version!r}, and grading needs nbformat 4; "
        "open it in JupyterLab and save it, which upgrades it, then submit again"
    )


def invalid_reason(name: str, detail: str) -> str:
    return f"{name} is not a valid nbformat 4 notebook ({detail}); {REDOWNLOAD}"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# --- submitted_directory -----------------------------------------------------------------


def test_submitted_directory_is_folder(tmp_path: Path) -> None:
    (tmp_path / "ada" / "m03").mkdir(parents=True)

    assert submitted_directory(tmp_path) == tmp_path


def test_submitted_directory_uses_child(tmp_path: Path) -> None:
    (tmp_path / "submitted" / "ada" / "m03").mkdir(parents=True)

    assert submitted_directory(tmp_path) == tmp_path / "submitted"


def test_submitted_directory_accepts_str(tmp_path: Path) -> None:
    (tmp_path / "submitted").mkdir()

    assert submitted_directory(str(tmp_path)) == tmp_path / "submitted"


def test_submitted_directory_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    message = f"submission folder {missing} does not exist; pass the folder laid out as <learner>/<module>/*.ipynb"
    with pytest.raises(SubmissionError, match=f"^{re.escape(message)}$"):
        submitted_directory(missing)


def test_submitted_directory_file(tmp_path: Path) -> None:
    path = tmp_path / "submissions.zip"
    path.write_bytes(b"PK")

    with pytest.raises(SubmissionError, match=f"^submission folder {re.escape(str(path))} is a file; pass the folder laid out as "):
        submitted_directory(path)


def test_submission_error_is_value_error() -> None:
    assert issubclass(SubmissionError, ValueError)


# --- find_submissions --------------------------------------------------------------------


def test_find_submissions_sorted_by_learner(tmp_path: Path) -> None:
    for learner in ("chloe", "ada", "ben"):
        write_notebook(tmp_path / learner / "m03" / "losses.ipynb")

    submissions = find_submissions(tmp_path, "m03")

    assert [s.learner for s in submissions] == ["ada", "ben", "chloe"]
    assert all(s.module == "m03" for s in submissions)
    assert [s.folder for s in submissions] == [tmp_path / name / "m03" for name in ("ada", "ben", "chloe")]


def test_find_submissions_skips_other_modules(tmp_path: Path) -> None:
    write_notebook(tmp_path / "ada" / "m03" / "losses.ipynb")
    write_notebook(tmp_path / "ben" / "m02" / "lifecycle.ipynb")
    (tmp_path / "notes.txt").write_text("not a learner")

    submissions = find_submissions(tmp_path, "m03")

    assert [s.learner for s in submissions] == ["ada"]


def test_find_submissions_under_submitted_child(tmp_path: Path) -> None:
    write_notebook(tmp_path / "submitted" / "ada" / "m03" / "losses.ipynb")

    submissions = find_submissions(tmp_path, "m03")

    assert submissions == [Submission("ada", "m03", tmp_path / "submitted" / "ada" / "m03", {})]


def test_find_submissions_screens_notebooks(tmp_path: Path) -> None:
    write_notebook(tmp_path / "ada" / "m03" / "regularisation.ipynb")
    (tmp_path / "ada" / "m03" / "losses.ipynb").write_text(NOT_JSON)
    write_notebook(tmp_path / "ben" / "m03" / "losses.ipynb")

    ada, ben = find_submissions(tmp_path, "m03")

    assert ada.invalid == {"losses.ipynb": not_json_reason("losses.ipynb")}
    assert ben.invalid == {}


def test_find_submissions_none_for_module(tmp_path: Path) -> None:
    write_notebook(tmp_path / "submitted" / "ada" / "m02" / "lifecycle.ipynb")
    root = tmp_path / "submitted"

    message = (
        f"no submissions of module m03 in {root}: expected folders such as "
        f"{root}/<learner>/m03/*.ipynb; check the path and the module id"
    )
    with pytest.raises(SubmissionError, match=f"^{re.escape(message)}$"):
        find_submissions(tmp_path, "m03")


def test_find_submissions_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match=f"^no submissions of module m01 in {re.escape(str(tmp_path))}: "):
        find_submissions(tmp_path, "m01")


# --- screen_notebooks --------------------------------------------------------------------


def test_screen_valid_notebooks(tmp_path: Path) -> None:
    write_notebook(tmp_path / "losses.ipynb")
    write_notebook(tmp_path / "regularisation.ipynb")

    assert screen_notebooks(tmp_path) == {}


def test_screen_not_json(tmp_path: Path) -> None:
    (tmp_path / "losses.ipynb").write_text(NOT_JSON, encoding="utf-8")

    assert screen_notebooks(tmp_path) == {"losses.ipynb": not_json_reason("losses.ipynb")}


def test_screen_empty_file(tmp_path: Path) -> None:
    (tmp_path / "losses.ipynb").write_bytes(b"")

    assert screen_notebooks(tmp_path) == {"losses.ipynb": not_json_reason("losses.ipynb", "")}


def test_screen_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "losses.ipynb").write_bytes(b"\xff\xfe\x00binary")

    [reason] = screen_notebooks(tmp_path).values()

    assert reason.startswith("losses.ipynb is not a valid notebook file (not JSON: 'utf-8' codec can't decode byte 0xff")
    assert reason.endswith(f"); {REDOWNLOAD}")


def test_screen_nbformat_3(tmp_path: Path) -> None:
    write_v3_notebook(tmp_path / "losses.ipynb")

    assert screen_notebooks(tmp_path) == {"losses.ipynb": old_format_reason("losses.ipynb", 3)}


@pytest.mark.parametrize(
    ("data", "version"),
    [
        ([1, 2], None),
        ({"cells": []}, None),
        ({"nbformat": "4", "nbformat_minor": 5, "metadata": {}, "cells": []}, "4"),
    ],
    ids=["json-list", "no-nbformat-key", "version-as-string"],
)
def test_screen_no_integer_version(tmp_path: Path, data: object, version: object) -> None:
    write_json(tmp_path / "losses.ipynb", data)

    assert screen_notebooks(tmp_path) == {"losses.ipynb": old_format_reason("losses.ipynb", version)}


def test_screen_code_cell_without_outputs(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "id": "a1", "source": "x = 1", "metadata": {}, "execution_count": None}
    write_json(tmp_path / "losses.ipynb", {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})

    expected = invalid_reason("losses.ipynb", "'outputs' is a required property")
    assert screen_notebooks(tmp_path) == {"losses.ipynb": expected}


def test_screen_missing_cells_key(tmp_path: Path) -> None:
    write_json(tmp_path / "losses.ipynb", {"nbformat": 4, "nbformat_minor": 5, "metadata": {}})

    expected = invalid_reason("losses.ipynb", "The notebook is invalid and is missing an expected key: cells")
    assert screen_notebooks(tmp_path) == {"losses.ipynb": expected}


@pytest.mark.parametrize(
    ("cells", "detail"),
    [
        ([1], "argument of type 'int' is not iterable"),
        (
            [{"cell_type": "code", "id": [1], "source": "", "metadata": {}, "outputs": [], "execution_count": None}],
            "unhashable type: 'list'",
        ),
    ],
    ids=["number-as-cell", "list-as-cell-id"],
)
def test_screen_malformed_cells(tmp_path: Path, cells: list[object], detail: str) -> None:
    # nbformat raises TypeError rather than ValidationError for these cells.
    write_json(tmp_path / "losses.ipynb", {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})

    assert screen_notebooks(tmp_path) == {"losses.ipynb": invalid_reason("losses.ipynb", detail)}


def test_screen_nbformat_5(tmp_path: Path) -> None:
    write_json(tmp_path / "losses.ipynb", {"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []})

    expected = invalid_reason("losses.ipynb", "Unsupported nbformat version 5")
    assert screen_notebooks(tmp_path) == {"losses.ipynb": expected}


def test_screen_lists_each_problem(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text(NOT_JSON)
    write_notebook(tmp_path / "b.ipynb")
    write_v3_notebook(tmp_path / "c.ipynb")

    problems = screen_notebooks(tmp_path)

    assert list(problems) == ["a.ipynb", "c.ipynb"]
    assert problems["a.ipynb"] == not_json_reason("a.ipynb")
    assert problems["c.ipynb"] == old_format_reason("c.ipynb", 3)


def test_screen_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(NOT_JSON)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "scratch.ipynb").write_text(NOT_JSON)

    assert screen_notebooks(tmp_path) == {}


# --- stage -------------------------------------------------------------------------------


@pytest.fixture
def mixed_submission(tmp_path: Path) -> Submission:
    """ada's m03 folder: one valid and one broken notebook, a data file and a checkpoint."""
    folder = tmp_path / "submitted" / "ada" / "m03"
    write_notebook(folder / "regularisation.ipynb")
    (folder / "losses.ipynb").write_text(NOT_JSON, encoding="utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "prices.csv").write_text("x,y\n1,2\n")
    write_notebook(folder / ".ipynb_checkpoints" / "regularisation-checkpoint.ipynb")
    [submission] = find_submissions(tmp_path, "m03")
    return submission


def test_stage_skips_invalid_notebooks(tmp_path: Path, mixed_submission: Submission) -> None:
    staging = tmp_path / "staging"

    target = stage(mixed_submission, staging)

    assert target == staging / "ada" / "m03"
    assert sorted(snapshot(target)) == ["data/prices.csv", "regularisation.ipynb"]


def test_stage_copies_bytes(tmp_path: Path, mixed_submission: Submission) -> None:
    target = stage(mixed_submission, tmp_path / "staging")

    original = snapshot(mixed_submission.folder)
    staged = snapshot(target)
    assert staged["regularisation.ipynb"] == original["regularisation.ipynb"]
    assert staged["data/prices.csv"] == original["data/prices.csv"]


def test_stage_leaves_originals_untouched(tmp_path: Path, mixed_submission: Submission) -> None:
    before = snapshot(mixed_submission.folder)

    target = stage(mixed_submission, tmp_path / "staging")
    (target / "regularisation.ipynb").write_text("overwritten by grading")

    assert snapshot(mixed_submission.folder) == before


def test_stage_replaces_previous_copy(tmp_path: Path, mixed_submission: Submission) -> None:
    staging = tmp_path / "staging"
    stale = staging / "ada" / "m03" / "old.ipynb"
    write_notebook(stale)

    target = stage(mixed_submission, staging)

    assert not stale.exists()
    assert sorted(snapshot(target)) == ["data/prices.csv", "regularisation.ipynb"]
