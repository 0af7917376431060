"""Tests of the cohort progress report, read from a real nbgrader gradebook in SQLite.

The gradebook is written with nbgrader's own ``Gradebook`` API, as ``nbgrader autograde``
leaves it (assignments, grade cells, students, submissions with scores), and the outcome
table is written with ``record``. No kernel runs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from autograder.errors import GradebookError
from autograder.progress.report import FORMATS, ProgressRow, cohort_progress, to_csv, to_json
from autograder.progress.store import Outcome, open_store, record

TIMEOUT_REASON = (
    "cell(s) building_blocks:data_asset_tests, building_blocks:planes_tests exceeded the 20 s limit and scored zero"
)
INVALID_REASON = "building_blocks.ipynb is not a valid notebook file (not JSON: Expecting value); re-download it"
HEADER = "learner,module,score,max_score,percent,status,reason"


def build_gradebook(url: str) -> None:
    """Write this cohort into a new gradebook at ``url``.

    m01 has 3 points (data_asset_tests 2, planes_tests 1), m02 has 4 (framing_tests).
    ada: m01 2/3 without an outcome row, m02 4/4 graded. ben: m01 1/3 timed out, m02 not
    submitted. chloe: a student with no submission. zoe: no nbgrader record, only an
    "invalid notebook" outcome for m01.
    """
    from nbgrader.api import Gradebook

    # nbgrader's add_submission warns through SQLAlchemy about its own session handling.
    with Gradebook(url) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradebook.add_assignment("m01")
        gradebook.add_notebook("building_blocks", "m01")
        gradebook.add_grade_cell("data_asset_tests", "building_blocks", "m01", max_score=2, cell_type="code")
        gradebook.add_grade_cell("planes_tests", "building_blocks", "m01", max_score=1, cell_type="code")
        gradebook.add_assignment("m02")
        gradebook.add_notebook("lifecycle", "m02")
        gradebook.add_grade_cell("framing_tests", "lifecycle", "m02", max_score=4, cell_type="code")
        for learner in ("ada", "ben", "chloe"):
            gradebook.add_student(learner)

        scores = {
            ("ada", "m01"): {("building_blocks", "data_asset_tests"): 2, ("building_blocks", "planes_tests"): 0},
            ("ada", "m02"): {("lifecycle", "framing_tests"): 4},
            ("ben", "m01"): {("building_blocks", "data_asset_tests"): 1, ("building_blocks", "planes_tests"): 0},
        }
        for (learner, module), cells in scores.items():
            gradebook.add_submission(module, learner)
            for (notebook, cell), score in cells.items():
                grade = gradebook.find_grade(cell, notebook, module, learner)
                grade.auto_score = score
                grade.needs_manual_grade = False
        gradebook.db.commit()

    engine = open_store(url)
    record(engine, Outcome("ada", "m02", "graded", "", 4.0, 4.0))
    record(engine, Outcome("ben", "m01", "timed out", TIMEOUT_REASON, 1.0, 3.0))
    record(engine, Outcome("zoe", "m01", "invalid notebook", INVALID_REASON, 0.0, 3.0))
    engine.dispose()


@pytest.fixture(scope="module")
def gradebook_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'gradebook.db'}"
    with pytest.MonkeyPatch.context() as patch:
        # nbgrader runs the `alembic` command to stamp a new gradebook with its schema version.
        # The virtual environment installs that command next to Python but not on PATH.
        patch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        build_gradebook(url)
    yield url


@pytest.fixture(scope="module")
def rows(gradebook_url: str) -> list[ProgressRow]:
    return cohort_progress(gradebook_url)


@pytest.fixture(scope="module")
def by_key(rows: list[ProgressRow]) -> dict[tuple[str, str], ProgressRow]:
    return {(row.learner, row.module): row for row in rows}


# --- cohort_progress ---------------------------------------------------------------------


def test_progress_one_row_each(rows: list[ProgressRow]) -> None:
    keys = [(row.learner, row.module) for row in rows]

    assert keys == [(learner, module) for learner in ("ada", "ben", "chloe", "zoe") for module in ("m01", "m02")]


def test_progress_graded_without_outcome(by_key: dict[tuple[str, str], ProgressRow]) -> None:
    assert by_key["ada", "m01"] == ProgressRow("ada", "m01", 2.0, 3.0, 66.7, "graded", "")


def test_progress_graded_with_outcome(by_key: dict[tuple[str, str], ProgressRow]) -> None:
    assert by_key["ada", "m02"] == ProgressRow("ada", "m02", 4.0, 4.0, 100.0, "graded", "")


def test_progress_timed_out(by_key: dict[tuple[str, str], ProgressRow]) -> None:
    assert by_key["ben", "m01"] == ProgressRow("ben", "m01", 1.0, 3.0, 33.3, "timed out", TIMEOUT_REASON)


def test_progress_not_submitted(by_key: dict[tuple[str, str], ProgressRow]) -> None:
    assert by_key["ben", "m02"] == ProgressRow("ben", "m02", None, 4.0, None, "not submitted", "")


def test_progress_student_without_submissions(by_key: dict[tuple[str, str], ProgressRow]) -> None:
    assert by_key["chloe", "m01"].status == "not submitted"
    assert by_key["chloe", "m02"].status == "not submitted"


def test_progress_outcome_only_learner(by_key: dict[tuple[str, str], ProgressRow]) -> None:
    assert by_key["zoe", "m01"] == ProgressRow("zoe", "m01", 0.0, 3.0, 0.0, "invalid notebook", INVALID_REASON)
    assert by_key["zoe", "m02"].status == "not submitted"


def test_progress_course_module_not_graded(gradebook_url: str) -> None:
    rows = {(row.learner, row.module): row for row in cohort_progress(gradebook_url, {"m01": 3.0, "m03": 17.0})}

    assert rows["ada", "m03"] == ProgressRow("ada", "m03", None, 17.0, None, "not submitted", "")
    assert rows["ada", "m01"].max_score == 3.0
    assert len(rows) == 4 * 3


def test_progress_module_only_in_outcomes(tmp_path: Path, gradebook_url: str) -> None:
    path = tmp_path / "gradebook.db"
    path.write_bytes(Path(gradebook_url.removeprefix("sqlite:///")).read_bytes())
    url = f"sqlite:///{path}"
    engine = open_store(url)
    record(engine, Outcome("ada", "m03", "error", "nbgrader autograde failed: kernel died", 0.0, 17.0))
    engine.dispose()

    by_key = {(row.learner, row.module): row for row in cohort_progress(url)}

    assert by_key["ada", "m03"] == ProgressRow(
        "ada", "m03", 0.0, 17.0, 0.0, "error", "nbgrader autograde failed: kernel died"
    )
    assert by_key["ben", "m03"] == ProgressRow("ben", "m03", None, 17.0, None, "not submitted", "")


@pytest.mark.parametrize(
    ("score", "max_score", "percent"),
    [(2, 3, 66.7), (1, 3, 33.3), (11, 17, 64.7), (4.25, 12, 35.4), (5.5, 11, 50.0), (0, 0, 0.0)],
)
def test_progress_percent_rounding(tmp_path: Path, score: float, max_score: float, percent: float) -> None:
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    engine = open_store(url)
    record(engine, Outcome("ada", "m01", "graded", "", score, max_score))
    engine.dispose()

    [row] = cohort_progress(url)

    assert row.percent == percent


def test_progress_empty_gradebook(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    open_store(url).dispose()

    assert cohort_progress(url) == []


def test_progress_missing_gradebook(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"

    with pytest.raises(GradebookError, match=r"^gradebook .* does not exist; grade a module first or pass --gradebook$"):
        cohort_progress(f"sqlite:///{path}")

    assert not path.exists()


# --- to_csv and to_json ------------------------------------------------------------------


def test_formats() -> None:
    assert FORMATS == ("table", "csv", "json")


def test_csv_header_and_rows(rows: list[ProgressRow]) -> None:
    lines = to_csv(rows).splitlines()

    assert lines[0] == HEADER
    assert len(lines) == 1 + len(rows)
    assert lines[1] == "ada,m01,2.0,3.0,66.7,graded,"
    assert lines[4] == "ben,m02,,4.0,,not submitted,"


def test_csv_quotes_reason(rows: list[ProgressRow]) -> None:
    lines = to_csv(rows).splitlines()

    assert lines[3] == f'ben,m01,1.0,3.0,33.3,timed out,"{TIMEOUT_REASON}"'


def test_csv_reads_back(rows: list[ProgressRow]) -> None:
    records = list(csv.DictReader(io.StringIO(to_csv(rows))))

    expected = [{key: "" if value is None else str(value) for key, value in asdict(row).items()} for row in rows]
    assert records == expected


def test_csv_empty() -> None:
    assert to_csv([]) == HEADER + "\n"


def test_json_reads_back(rows: list[ProgressRow]) -> None:
    assert json.loads(to_json(rows)) == [asdict(row) for row in rows]


def test_json_not_submitted_is_null(rows: list[ProgressRow]) -> None:
    records = json.loads(to_json(rows))

    assert records[3] == {
        "learner": "ben",
        "module": "m02",
        "score": None,
        "max_score": 4.0,
        "percent": None,
        "status": "not submitted",
        "reason": "",
    }


def test_json_empty() -> None:
    assert json.loads(to_json([])) == []
