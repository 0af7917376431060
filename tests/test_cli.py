"""Tests of the ``azml-course`` command line, run as a user runs it.

Most tests call ``autograder.cli.app`` through Typer's ``CliRunner``; two run the installed
console script in a subprocess. Bad input must exit with code 2 and one message on stderr
that names the value and the fix, with no traceback. The slow tests grade a small cohort
with real kernels through nbgrader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from autograder.cli import app
from autograder.progress.store import Outcome, open_store, record

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "azml-course"
MODULE_IDS = ", ".join(f"m{i:02d}" for i in range(1, 13))
NOT_JSON = "{ this notebook was truncated during upload"
# rich breaks an outcome line at the console width, which is 80 columns when stdout is not
# a terminal. A wide COLUMNS keeps each outcome on one line.
WIDE = {"COLUMNS": "500"}

runner = CliRunner()


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each command in an empty folder, so a default such as ./gradebook.db lands there."""
    monkeypatch.chdir(tmp_path)


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(arg) for arg in args], env=env)


def assert_clean_exit(result: Result, code: int) -> None:
    """The command exited with ``code`` through sys.exit, without an uncaught exception."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def json_error(text: str) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return str(error)
    raise AssertionError(f"{text!r} parsed as JSON")


def submit(folder: Path, *notebooks: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        shutil.copy2(notebook, folder / notebook.name)
    return folder


# --- console script ----------------------------------------------------------------------


def test_script_help() -> None:
    result = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "Build, check and autograde the Azure ML course." in result.stdout
    for command in ("curriculum", "build", "autograde", "progress", "demo"):
        assert re.search(rf"^\W*{command}\b", result.stdout, re.MULTILINE), command


def test_script_error_one_line(tmp_path: Path) -> None:
    # A pipe, as in CI logs: no terminal width, no COLUMNS.
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}

    result = subprocess.run(
        [SCRIPT, "curriculum", "validate", "--course", tmp_path], capture_output=True, text=True, env=env, timeout=60
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: no curriculum.yaml in {tmp_path.resolve()} or its parents; run the command inside "
        "the course repository or pass --course DIR\n"
    )


# --- curriculum validate -----------------------------------------------------------------


def test_validate_real_course() -> None:
    result = invoke("curriculum", "validate", "--course", REPO)

    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"curriculum valid: 12 modules \(\d+ available\), \d+ exercises\n", result.stdout)


def test_validate_finds_parent_course(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO / "solutions" / "m03")

    result = invoke("curriculum", "validate")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("curriculum valid: 12 modules")


def test_validate_missing_curriculum(tmp_path: Path) -> None:
    result = invoke("curriculum", "validate", "--course", tmp_path)

    assert_clean_exit(result, 2)
    assert result.stdout == ""
    assert result.stderr == (
        f"error: no curriculum.yaml in {tmp_path.resolve()} or its parents; run the command inside "
        "the course repository or pass --course DIR\n"
    )


def test_validate_malformed_curriculum(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yaml"
    path.write_text(
        "course: azml-course\ntitle: A course\nmodules:\n"
        "  - {id: m1, title: One, level: expert, available: true, seed_topics: [],"
        " objectives: [x], prerequisites: [], exercises: []}\n"
    )

    result = invoke("curriculum", "validate", "--course", tmp_path)

    assert_clean_exit(result, 2)
    assert result.stderr.splitlines() == [
        "error: curriculum has 2 problems:",
        f"  - {path}: modules[0] (m1).id: invalid value 'm1'; expected `m` followed by two digits, such as m03",
        f"  - {path}: modules[0] (m1).level: invalid value 'expert'; expected one of basic, intermediate, advanced",
    ]


def test_validate_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.yaml"
    path.write_text("course: x\ntitle: y: z\n")

    result = invoke("curriculum", "validate", "--course", tmp_path)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        "error: curriculum has 1 problem:\n"
        f"  - {path}: line 2, column 9: invalid YAML: mapping values are not allowed here; fix the YAML at that line\n"
    )


# --- autograde input errors --------------------------------------------------------------


@pytest.fixture
def submissions(tmp_path: Path) -> Path:
    """A valid m03 submission of one learner, ada."""
    submit(tmp_path / "submitted" / "ada" / "m03", *sorted((REPO / "solutions" / "m03").glob("*.ipynb")))
    return tmp_path / "submitted"


@pytest.fixture
def gradebook_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gb.db'}"


def autograde(folder: Path, module: str, gradebook: str, *options: str | Path) -> Result:
    """Run ``azml-course autograde`` on the repository's course."""
    return invoke("autograde", folder, "--module", module, "--course", REPO, "--gradebook", gradebook, *options)


def test_autograde_unknown_module(submissions: Path, gradebook_url: str) -> None:
    result = autograde(submissions, "m99", gradebook_url)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        "error: unknown module id 'm99'; use one of the ids in curriculum.yaml or add the module there. "
        f"Known ids: {MODULE_IDS}\n"
    )


def test_autograde_unavailable_module(submissions: Path, gradebook_url: str, tmp_path: Path) -> None:
    course = tmp_path / "course"
    course.mkdir()
    text = (REPO / "curriculum.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: m12\n")
    block = text[start:].replace("available: true", "available: false")
    block = block[: block.index("    exercises:")] + "    exercises: []\n"
    (course / "curriculum.yaml").write_text(text[:start] + block, encoding="utf-8")

    result = invoke("autograde", submissions, "--module", "m12", "--course", course, "--gradebook", gradebook_url)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        "error: module m12 has no exercises yet, so there is nothing to grade; pick an available module\n"
    )


def test_autograde_module_required(submissions: Path) -> None:
    result = invoke("autograde", submissions, "--course", REPO)

    assert result.exit_code == 2
    assert "Missing option '--module'" in result.stderr


def test_autograde_no_submissions(tmp_path: Path, gradebook_url: str) -> None:
    empty = tmp_path / "inbox"
    empty.mkdir()

    result = autograde(empty, "m03", gradebook_url)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        f"error: no submissions of module m03 in {empty}: expected folders such as "
        f"{empty}/<learner>/m03/*.ipynb; check the path and the module id\n"
    )


def test_autograde_missing_folder(tmp_path: Path, gradebook_url: str) -> None:
    missing = tmp_path / "inbox"

    result = autograde(missing, "m03", gradebook_url)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        f"error: submission folder {missing} does not exist; "
        "pass the folder laid out as <learner>/<module>/*.ipynb\n"
    )


def test_autograde_unwritable_gradebook(tmp_path: Path, submissions: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a regular file, not a folder")
    url = f"sqlite:///{blocker / 'x.db'}"
    autograded = tmp_path / "autograded"

    result = autograde(submissions, "m03", url, "--autograded", autograded)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        f"error: cannot write the gradebook {blocker / 'x.db'} (from {url}): {blocker} is a file, not a folder; "
        "create the folder or pass another --gradebook\n"
    )
    assert result.stdout == ""
    assert not autograded.exists()


def test_autograde_gradebook_is_folder(tmp_path: Path, submissions: Path) -> None:
    folder = tmp_path / "grades"
    folder.mkdir()

    result = autograde(submissions, "m03", f"sqlite:///{folder}")

    assert_clean_exit(result, 2)
    assert result.stderr.startswith(f"error: gradebook path {folder} is a folder; ")
    assert not (tmp_path / "autograded").exists()


def test_autograde_unknown_url_scheme(submissions: Path) -> None:
    url = "postgres://postgres@127.0.0.1:5432/grades"

    result = autograde(submissions, "m03", url)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        f"error: invalid gradebook URL {url!r}: Can't load plugin: sqlalchemy.dialects:postgres; "
        "use sqlite:///PATH or postgresql+psycopg://HOST/DB\n"
    )


def test_autograde_cell_timeout_minimum(submissions: Path, gradebook_url: str) -> None:
    result = autograde(submissions, "m03", gradebook_url, "--cell-timeout", "0")

    assert result.exit_code == 2
    assert "Invalid value for '--cell-timeout'" in result.stderr


# --- progress ----------------------------------------------------------------------------


def test_progress_invalid_format(tmp_path: Path) -> None:
    result = invoke("progress", "--format", "xml", "--gradebook", f"sqlite:///{tmp_path / 'gb.db'}")

    assert_clean_exit(result, 2)
    assert result.stderr == "error: invalid --format 'xml'; use one of table, csv, json\n"


def test_progress_missing_gradebook(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    url = f"sqlite:///{path}"

    result = invoke("progress", "--gradebook", url)

    assert_clean_exit(result, 2)
    assert result.stderr == (
        f"error: gradebook {path} (from {url}) does not exist; grade a module first or pass --gradebook\n"
    )
    assert not path.exists()


def test_progress_default_gradebook(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"

    result = invoke("progress")

    assert_clean_exit(result, 2)
    assert result.stderr.startswith(f"error: gradebook {path} (from sqlite:///{path}) does not exist; ")


@pytest.fixture
def outcome_gradebook(tmp_path: Path) -> str:
    """A gradebook holding only the outcome table, with two learners graded in m03."""
    url = f"sqlite:///{tmp_path / 'gb.db'}"
    engine = open_store(url)
    record(engine, Outcome("ada", "m03", "graded", "", 17.0, 17.0))
    record(engine, Outcome("eve", "m03", "timed out", "cell(s) losses:mse_tests exceeded the 20 s limit", 14.0, 17.0))
    engine.dispose()
    return url


def test_progress_csv(outcome_gradebook: str) -> None:
    result = invoke("progress", "--gradebook", outcome_gradebook, "--format", "csv")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "learner,module,score,max_score,percent,status,reason",
        "ada,m03,17.0,17.0,100.0,graded,",
        "eve,m03,14.0,17.0,82.4,timed out,cell(s) losses:mse_tests exceeded the 20 s limit",
    ]


def test_progress_json(outcome_gradebook: str) -> None:
    result = invoke("progress", "--gradebook", outcome_gradebook, "--format", "json")

    assert result.exit_code == 0, result.output
    assert [(row["learner"], row["percent"], row["status"]) for row in json.loads(result.stdout)] == [
        ("ada", 100.0, "graded"),
        ("eve", 82.4, "timed out"),
    ]


def test_progress_table(outcome_gradebook: str) -> None:
    result = invoke("progress", "--gradebook", outcome_gradebook)

    assert result.exit_code == 0, result.output
    assert "Progress" in result.stdout
    assert re.search(r"eve\s+│\s+m03\s+│\s+14\s+│\s+17\s+│\s+82\.4\s+│\s+timed out", result.stdout)


# --- autograde end to end ----------------------------------------------------------------


@dataclass(frozen=True)
class GradedCohort:
    """A copy of the course, its graded cohort, and the output of autograde and progress."""

    root: Path
    course: Path
    gradebook: Path
    autograde: Result
    progress: Result


def grade_m03(course: Path, submitted: Path, gradebook: Path, autograded: Path) -> Result:
    options = ["--course", course, "--gradebook", f"sqlite:///{gradebook}", "--autograded", autograded]
    return invoke("autograde", submitted, "--module", "m03", "--cell-timeout", "20", *options, env=WIDE)


def progress_json(gradebook: Path) -> Result:
    return invoke("progress", "--gradebook", f"sqlite:///{gradebook}", "--format", "json")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory, copy_course) -> GradedCohort:
    """Grade three learners' m03 through the CLI in a copy of the course.

    ada submits the solution notebooks (23 of 23 points), ben the released exercises
    (0 points), and cat a losses.ipynb that is not JSON next to a solved
    regularisation.ipynb (11 points).
    """
    root = tmp_path_factory.mktemp("cohort")
    course = copy_course(root / "course")

    solutions = course / "solutions" / "m03"
    submitted = root / "submitted"
    submit(submitted / "ada" / "m03", *sorted(solutions.glob("*.ipynb")))
    submit(submitted / "ben" / "m03", *sorted((course / "exercises" / "m03").glob("*.ipynb")))
    submit(submitted / "cat" / "m03", solutions / "regularisation.ipynb")
    (submitted / "cat" / "m03" / "losses.ipynb").write_text(NOT_JSON, encoding="utf-8")

    gradebook = root / "gb.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        autograde_result = grade_m03(course, submitted, gradebook, root / "autograded")
        progress_result = progress_json(gradebook)
    return GradedCohort(root, course, gradebook, autograde_result, progress_result)


CAT_REASON = (
    f"losses.ipynb is not a valid notebook file (not JSON: {json_error(NOT_JSON)}); "
    "re-download it from JupyterLab and submit again"
)


def progress_record(learner: str, score: float, percent: float, status: str = "graded", reason: str = "") -> dict:
    """One m03 row of ``progress --format json``."""
    return {
        "learner": learner,
        "module": "m03",
        "score": score,
        "max_score": 23.0,
        "percent": percent,
        "status": status,
        "reason": reason,
    }


@pytest.mark.slow
def test_autograde_cohort_exit_code(cohort: GradedCohort) -> None:
    result = cohort.autograde

    assert result.exit_code == 1, result.output
    assert result.stderr == "1 submission(s) could not be fully graded: cat (invalid notebook)\n"


@pytest.mark.slow
def test_autograde_cohort_output(cohort: GradedCohort) -> None:
    lines = [line for line in cohort.autograde.stdout.splitlines() if line.strip()]

    # Submissions finish in parallel, so their lines come in any order; the summary is last.
    assert sorted(lines[:3]) == [
        "m03 ada: graded 23/23",
        "m03 ben: graded 0/23",
        f"m03 cat: invalid notebook 14/23 ({CAT_REASON})",
    ]
    assert lines[3:] == [f"graded 3 submission(s) into sqlite:///{cohort.gradebook}: 2 fully graded"]


@pytest.mark.slow
def test_autograde_cohort_notebooks(cohort: GradedCohort) -> None:
    autograded = cohort.root / "autograded"

    ada = sorted(path.name for path in (autograded / "ada" / "m03").glob("*.ipynb"))
    cat = sorted(path.name for path in (autograded / "cat" / "m03").glob("*.ipynb"))
    assert ada == ["losses.ipynb", "regularisation.ipynb"]
    # The unreadable notebook is kept as the released one with its questions at zero, so
    # nbgrader's feedback lists them.
    assert cat == ["losses.ipynb", "regularisation.ipynb"]
    assert (cohort.root / "submitted" / "cat" / "m03" / "losses.ipynb").read_text() == NOT_JSON


@pytest.mark.slow
def test_autograde_cohort_progress(cohort: GradedCohort) -> None:
    progress = cohort.progress

    assert progress.exit_code == 0, progress.output
    assert json.loads(progress.stdout) == [
        progress_record("ada", 23.0, 100.0),
        progress_record("ben", 0.0, 0.0),
        progress_record("cat", 14.0, 60.9, "invalid notebook", CAT_REASON),
    ]


@pytest.mark.slow
def test_regrade_keeps_graded_learners(cohort: GradedCohort, tmp_path: Path) -> None:
    # Regrade a copy of the gradebook, so the other tests see the first run's results.
    gradebook = tmp_path / "gb.db"
    shutil.copy2(cohort.gradebook, gradebook)
    resubmitted = tmp_path / "resubmitted"
    submit(resubmitted / "cat" / "m03", *sorted((cohort.course / "solutions" / "m03").glob("*.ipynb")))

    result = grade_m03(cohort.course, resubmitted, gradebook, tmp_path / "autograded")
    progress = progress_json(gradebook)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "m03 cat: graded 23/23"
    assert json.loads(progress.stdout) == [
        progress_record("ada", 23.0, 100.0),
        progress_record("ben", 0.0, 0.0),
        progress_record("cat", 23.0, 100.0),
    ]
