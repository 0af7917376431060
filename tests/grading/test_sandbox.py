"""The sandbox command line: rlimits always, bubblewrap when asked, and what it hides."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.grading.sandbox import Limits, SandboxError, SandboxPolicy, confine_command, require_bubblewrap

LIMITS = Limits(memory_bytes=1024 * 2**20, processes=64, file_bytes=8 * 2**20)


def test_no_sandbox_still_applies_rlimits(tmp_path: Path) -> None:
    command = confine_command(["python"], tmp_path, LIMITS, SandboxPolicy(enabled=False))

    assert command[0] == "prlimit"
    assert f"--as={1024 * 2**20}" in command
    assert f"--fsize={8 * 2**20}" in command
    assert "--core=0" in command
    assert command[-1] == "python"
    assert not any("bwrap" in part for part in command)


def test_sandbox_hides_course_and_unshares_network(tmp_path: Path) -> None:
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_text("")
    workdir = tmp_path / "sandbox" / "work"
    workdir.mkdir(parents=True)

    command = confine_command(["python"], workdir, LIMITS, SandboxPolicy(hidden=(str(course), str(gradebook))))
    joined = " ".join(command)

    assert command[0].endswith("bwrap")
    assert "--unshare-net" in command or "--unshare-all" in command
    assert f"--tmpfs {course.resolve()}" in joined
    assert f"--ro-bind /dev/null {gradebook.resolve()}" in joined
    assert f"--bind {workdir.resolve()} {workdir.resolve()}" in joined
    assert "--tmpfs /tmp" in joined
    assert command[-1] == "python"


def test_missing_bubblewrap_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(SandboxError) as raised:
        require_bubblewrap()

    assert "apt-get install bubblewrap" in str(raised.value)
    assert "--no-sandbox" in str(raised.value)


def test_cli_refuses_to_grade_without_bubblewrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from autograder.cli import app

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "submitted" / "ada" / "m03").mkdir(parents=True)
    monkeypatch.setenv("PATH", "/nonexistent")

    result = CliRunner().invoke(
        app,
        ["autograde", str(tmp_path / "submitted"), "--module", "m03", "--course", str(repo),
         "--gradebook", f"sqlite:///{tmp_path / 'gb.db'}"],
    )

    assert result.exit_code == 2
    assert "bubblewrap (bwrap) is not installed" in result.stderr
    assert not (tmp_path / "gb.db").exists()
