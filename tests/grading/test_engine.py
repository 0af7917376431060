"""The grading engine end to end: a Dask cluster grades as the local pool does, and a run
killed with SIGKILL resumes without losing or duplicating a submission."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.grading.engine import GradingOptions, autograde_module
from autograder.grading.sandbox import Limits

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODULE = "m03"
# Full marks for a learner who handed in the solutions, zero for one who handed in the stubs.
LEARNERS = {"ada": "solutions", "bo": "exercises", "cy": "solutions", "di": "exercises"}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory, copy_course) -> Path:
    root = tmp_path_factory.mktemp("engine")
    course = copy_course(root / "course")
    for learner, origin in LEARNERS.items():
        target = root / "submitted" / learner / MODULE
        target.mkdir(parents=True)
        for notebook in (REPO / origin / MODULE).glob("*.ipynb"):
            shutil.copy2(notebook, target / notebook.name)
    return course


def grade(course: Path, name: str, **options) -> dict[str, tuple]:
    folder = course.parent / name
    folder.mkdir()
    settings = GradingOptions(
        f"sqlite:///{folder / 'gradebook.db'}", folder / "autograded", folder / "feedback", limits=Limits(cell_seconds=20), **options
    )
    report = autograde_module(course, course.parent / "submitted", MODULE, settings)
    return {
        result.learner: (result.status, result.score, tuple((q.grade_id, q.score) for q in sorted(result.questions, key=lambda q: q.grade_id)))
        for result in report.results
    }


def test_dask_cluster_grades_as_the_local_pool(course: Path) -> None:
    from distributed import LocalCluster

    local = grade(course, "local", jobs=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        on_dask = grade(course, "dask", scheduler=cluster.scheduler_address)

    assert on_dask == local
    assert {learner: result[:2] for learner, result in local.items()} == {
        "ada": ("graded", 23.0),
        "bo": ("graded", 0.0),
        "cy": ("graded", 23.0),
        "di": ("graded", 0.0),
    }


def test_killed_run_resumes_and_grades_each_submission_once(course: Path) -> None:
    folder = course.parent / "crash"
    folder.mkdir()
    database = folder / "gradebook.db"
    command = [
        str(Path(sys.executable).parent / "azml-course"), "autograde", str(course.parent / "submitted"),
        "--module", MODULE, "--course", str(course), "--gradebook", f"sqlite:///{database}",
        "--autograded", str(folder / "autograded"), "--feedback", str(folder / "feedback"), "--jobs", "2",
    ]

    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_for_outcomes(database, at_least=1, process=first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    recorded_before = _outcome_count(database)
    assert 1 <= recorded_before < len(LEARNERS)

    second = subprocess.run(command, capture_output=True, text=True, timeout=600)

    assert second.returncode == 0, second.stdout + second.stderr
    assert f"skipped {recorded_before} already graded" in second.stdout
    assert _rows(database, "SELECT learner, status, score FROM azml_grading_outcome ORDER BY learner") == [
        ("ada", "graded", 23.0), ("bo", "graded", 0.0), ("cy", "graded", 23.0), ("di", "graded", 0.0),
    ]
    assert _nbgrader_submissions(database) == sorted(LEARNERS)

    forced = subprocess.run([*command, "--force"], capture_output=True, text=True, timeout=600)

    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "skipped" not in forced.stdout
    assert _nbgrader_submissions(database) == sorted(LEARNERS)
    assert _rows(database, "SELECT COUNT(*) FROM azml_grading_outcome") == [(len(LEARNERS),)]


def _wait_for_outcomes(database: Path, at_least: int, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the grading run ended before it could be killed: {process.stdout.read().decode()}")
        if _outcome_count(database) >= at_least:
            return
        time.sleep(0.2)
    pytest.fail(f"no outcome was recorded within {timeout} s")


def _outcome_count(database: Path) -> int:
    try:
        return _rows(database, "SELECT COUNT(*) FROM azml_grading_outcome")[0][0]
    except sqlite3.Error:
        return 0


def _rows(database: Path, query: str) -> list[tuple]:
    with sqlite3.connect(database, timeout=10) as connection:
        return connection.execute(query).fetchall()


def _nbgrader_submissions(database: Path) -> list[str]:
    """Learners with a submission of the module in nbgrader's own tables, one row each."""
    rows = _rows(
        database,
        "SELECT s.student_id FROM submitted_assignment s JOIN assignment a ON s.assignment_id = a.id WHERE a.name = ? ORDER BY 1".replace("?", f"'{MODULE}'"),
    )
    return [row[0] for row in rows]
