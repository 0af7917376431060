"""The README's set-up commands run exactly as written, and the demo grades its cohort as expected."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.demo_cohort import EXPECTED
from autograder.progress.report import cohort_progress

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_has_demo_and_test_commands():
    commands = _readme_commands()

    assert commands[0].endswith("azml-course demo")
    assert commands[1].endswith("pytest")


def test_ci_runs_readme_test_command():
    ci_script = (REPO / ".ci" / "run").read_text(encoding="utf-8")

    assert _readme_commands()[1] in ci_script.splitlines()


@pytest.mark.slow
def test_readme_demo_command_grades_cohort():
    before = set(REPO.glob("azml-demo-*"))
    try:
        run = subprocess.run(["bash", "-c", _readme_commands()[0]], cwd=REPO, capture_output=True, text=True, timeout=600)
        created = sorted(set(REPO.glob("azml-demo-*")) - before)

        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert len(created) == 1
        assert "gradebook: sqlite:///" in run.stdout
        _assert_expected_grades(created[0] / "gradebook.db")
    finally:
        for folder in set(REPO.glob("azml-demo-*")) - before:
            shutil.rmtree(folder)


def _assert_expected_grades(gradebook_path: Path) -> None:
    url = f"sqlite:///{gradebook_path}"
    rows = {(row.learner, row.module): row for row in cohort_progress(url)}

    assert set(rows) == set(EXPECTED)
    for key, (score, status) in EXPECTED.items():
        assert (rows[key].score, rows[key].status) == (score, status), key
    with Gradebook(url) as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted({learner for learner, _ in EXPECTED})
