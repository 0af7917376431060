"""Tests of the grading-outcome table on real databases: SQLite files and a local PostgreSQL.

The PostgreSQL tests create their own database on 127.0.0.1:5432 (user postgres, trust
authentication) and drop it afterwards. They are skipped when that server is not reachable.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from autograder.errors import GradebookError
from autograder.progress.store import Outcome, default_gradebook_url, load_outcomes, open_store, record

POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres"
TABLE = "azml_grading_outcome"
URL_FIX = "use sqlite:///PATH or postgresql+psycopg://HOST/DB"

ADA = Outcome("ada", "m03", "graded", "", 17.0, 17.0)
EVE = Outcome("eve", "m03", "timed out", "cell(s) losses:mse_tests exceeded the 20 s limit and scored zero", 14.0, 17.0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'gradebook.db'}")
    yield engine
    engine.dispose()


def sqlite_tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


# --- open_store on SQLite ----------------------------------------------------------------


def test_open_store_creates_table(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"

    engine = open_store(f"sqlite:///{path}")
    engine.dispose()

    assert path.is_file()
    assert TABLE in sqlite_tables(path)
    assert "submitted_assignment" in sqlite_tables(path)


def test_open_store_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "term" / "2025" / "gradebook.db"
    url = f"sqlite:///{path}"

    message = (
        f"cannot write the gradebook {path} (from {url}): the folder {path.parent} does not exist; "
        "create the folder or pass another --gradebook"
    )
    with pytest.raises(GradebookError, match=exact(message)):
        open_store(url)
    assert not (tmp_path / "term").exists()


def test_open_store_keeps_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    first = open_store(url)
    record(first, ADA)
    first.dispose()

    second = open_store(url)

    assert load_outcomes(second) == {("ada", "m03"): ADA}
    second.dispose()


def test_open_store_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE student (id VARCHAR(128) PRIMARY KEY)")

    open_store(f"sqlite:///{path}").dispose()

    assert {TABLE, "student", "submitted_assignment"} <= set(sqlite_tables(path))


def test_default_gradebook_url(tmp_path: Path) -> None:
    assert default_gradebook_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"


def test_default_gradebook_url_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert default_gradebook_url() == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"


# --- record and load_outcomes ------------------------------------------------------------


def test_load_outcomes_empty(engine: Engine) -> None:
    assert load_outcomes(engine) == {}


def test_record_and_load(engine: Engine) -> None:
    record(engine, ADA)
    record(engine, EVE)

    assert load_outcomes(engine) == {("ada", "m03"): ADA, ("eve", "m03"): EVE}


def test_record_same_learner_other_module(engine: Engine) -> None:
    m02 = Outcome("ada", "m02", "graded", "", 12.0, 12.0)

    record(engine, ADA)
    record(engine, m02)

    assert load_outcomes(engine) == {("ada", "m03"): ADA, ("ada", "m02"): m02}


def test_record_twice_keeps_latest(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"
    engine = open_store(f"sqlite:///{path}")
    invalid = Outcome("ada", "m03", "invalid notebook", "losses.ipynb is not a valid notebook file", 11.0, 17.0)

    record(engine, invalid)
    record(engine, ADA)
    engine.dispose()

    with sqlite3.connect(path) as connection:
        rows = connection.execute(f"SELECT learner, module, status, reason, score, max_score FROM {TABLE}").fetchall()
    assert rows == [("ada", "m03", "graded", "", 17.0, 17.0)]


def test_record_sets_graded_at(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"
    engine = open_store(f"sqlite:///{path}")

    record(engine, ADA)
    engine.dispose()

    with sqlite3.connect(path) as connection:
        [(graded_at,)] = connection.execute(f"SELECT graded_at FROM {TABLE}").fetchall()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", graded_at)


# --- open_store errors -------------------------------------------------------------------


def test_open_store_parent_is_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a regular file, not a folder")
    path = blocker / "gradebook.db"
    url = f"sqlite:///{path}"

    message = (
        f"cannot write the gradebook {path} (from {url}): {blocker} is a file, not a folder; "
        "create the folder or pass another --gradebook"
    )
    with pytest.raises(GradebookError, match=exact(message)):
        open_store(url)


def test_open_store_ancestor_is_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a regular file, not a folder")
    path = blocker / "term" / "gradebook.db"
    url = f"sqlite:///{path}"

    message = (
        f"cannot write the gradebook {path} (from {url}): {blocker} is a file, not a folder; "
        "create the folder or pass another --gradebook"
    )
    with pytest.raises(GradebookError, match=exact(message)):
        open_store(url)


def test_open_store_path_is_folder(tmp_path: Path) -> None:
    folder = tmp_path / "grades"
    folder.mkdir()

    message = f"gradebook path {folder} is a folder; pass a file path such as sqlite:///{folder / 'gradebook.db'}"
    with pytest.raises(GradebookError, match=exact(message)):
        open_store(f"sqlite:///{folder}")


def test_open_store_missing_without_create(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"
    url = f"sqlite:///{path}"

    message = f"gradebook {path} (from {url}) does not exist; grade a module first or pass --gradebook"
    with pytest.raises(GradebookError, match=exact(message)):
        open_store(url, create=False)


def test_open_store_missing_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"

    with pytest.raises(GradebookError):
        open_store(f"sqlite:///{path}", create=False)

    assert not path.exists()


def test_open_store_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"
    path.write_text("these are lecture notes, not SQLite\n" * 100)
    url = f"sqlite:///{path}"

    message = f"cannot open the gradebook {url}: file is not a database; check the URL and permissions"
    with pytest.raises(GradebookError, match=exact(message)):
        open_store(url)


def test_open_store_unparsable_url() -> None:
    message = (
        "invalid gradebook URL 'gradebook.db': Could not parse SQLAlchemy URL from given URL string; " + URL_FIX
    )
    with pytest.raises(GradebookError, match=exact(message)):
        open_store("gradebook.db")


def test_open_store_unknown_dialect() -> None:
    # SQLAlchemy 2 dropped the postgres:// alias, so a URL copied from elsewhere fails here.
    url = "postgres://postgres@127.0.0.1:5432/grades"

    message = f"invalid gradebook URL {url!r}: Can't load plugin: sqlalchemy.dialects:postgres; " + URL_FIX
    with pytest.raises(GradebookError, match=exact(message)):
        open_store(url)


def test_gradebook_error_is_os_error() -> None:
    assert issubclass(GradebookError, OSError)


def test_gradebook_stamped_for_nbgrader(tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    path = tmp_path / "gradebook.db"
    open_store(f"sqlite:///{path}").dispose()
    with Gradebook(f"sqlite:///{path}"):
        pass

    assert "alembic_version" in sqlite_tables(path)


# --- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database that is dropped after the test."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed; install the dev extra")
    try:
        admin = psycopg.connect(f"{POSTGRES_DSN} dbname=postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 as user postgres: {error}")
    name = f"azml_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgres_creates_table(postgres_url: str) -> None:
    engine = open_store(postgres_url)

    assert {TABLE, "submitted_assignment", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_postgres_record_and_load(postgres_url: str) -> None:
    engine = open_store(postgres_url)

    record(engine, ADA)
    record(engine, EVE)

    assert load_outcomes(engine) == {("ada", "m03"): ADA, ("eve", "m03"): EVE}
    engine.dispose()


def test_postgres_record_twice_keeps_latest(postgres_url: str) -> None:
    engine = open_store(postgres_url)
    record(engine, Outcome("ada", "m03", "error", "nbgrader autograde failed", 0.0, 17.0))

    record(engine, ADA)
    engine.dispose()
    reopened = open_store(postgres_url)

    assert load_outcomes(reopened) == {("ada", "m03"): ADA}
    reopened.dispose()


def test_postgres_missing_database(postgres_url: str) -> None:
    url = postgres_url + "_missing"
    name = url.rsplit("/", 1)[1]

    pattern = (
        f"(?s)^cannot open the gradebook {re.escape(url)}: connection failed: .*"
        f'database "{name}" does not exist; check the URL and permissions$'
    )
    with pytest.raises(GradebookError, match=pattern):
        open_store(url)
