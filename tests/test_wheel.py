"""The built wheel is the learner's package: the autograder code and nothing of the instructor's."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


def _hidden_blocks() -> list[str]:
    """Return the source of every hidden-test block in the instructor notebooks."""
    blocks = []
    for path in sorted((REPO / "solutions").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            blocks += re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, flags=re.DOTALL)
    return blocks


def _secrets() -> list[str]:
    """Lines that only the hidden tests hold: rubric reasons, expected choices and seeds."""
    secrets = []
    for block in _hidden_blocks():
        secrets += re.findall(r'reason: "(.+?)"', block)
        secrets += [f"seed={seed}" for seed in re.findall(r"seed=(\d+)", block)]
    return secrets


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (path,) = out.glob("azml_course-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_autograder(wheel):
    names = wheel.namelist()

    assert "autograder/__init__.py" in names
    assert "autograder/py.typed" in names
    assert "autograder/exercises/m03.py" in names


def test_wheel_holds_no_course_files(wheel):
    for name in wheel.namelist():
        assert not name.startswith(("solutions/", "exercises/", "tests/")), name
        assert not name.endswith(".ipynb"), name


def test_wheel_holds_no_hidden_test(wheel):
    secrets = _secrets()
    assert len(secrets) > 20, "the instructor notebooks should hold rubric reasons and seeds"
    text = "\n".join(wheel.read(name).decode("utf-8", "replace") for name in wheel.namelist())

    for secret in secrets:
        assert secret not in text
