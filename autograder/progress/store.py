"""The record of every grading outcome, kept next to nbgrader's tables in the gradebook.

nbgrader's gradebook stores scores but not why a submission scored what it did. This table
adds one row per learner and module with a status and a reason, so a timed-out or invalid
submission never reads as a silent zero. It lives in the same database (SQLite file or
PostgreSQL), which nbgrader ignores.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import DateTime, Float, String, Text, create_engine, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from autograder.errors import GradebookError


class _Base(DeclarativeBase):
    pass


class GradingOutcome(_Base):
    """Latest grading outcome of one learner's submission of one module."""

    __tablename__ = "azml_grading_outcome"

    learner: Mapped[str] = mapped_column(String(255), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    graded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # SHA-256 of the submitted files: a rerun skips a submission graded with this content.
    digest: Mapped[str] = mapped_column(String(64), default="")


@dataclass(frozen=True)
class Outcome:
    """A grading outcome as plain values, for reports and printing."""

    learner: str
    module: str
    status: str
    reason: str
    score: float
    max_score: float
    digest: str = ""


def default_gradebook_url(folder: Path | None = None) -> str:
    """Return the SQLite URL of ``gradebook.db`` in ``folder`` (the current folder by default)."""
    return f"sqlite:///{Path(folder or Path.cwd()).resolve() / 'gradebook.db'}"


def open_store(url: str, *, create: bool = True) -> Engine:
    """Open the gradebook database at ``url`` and make sure the outcome table exists.

    Raise ``GradebookError`` naming the URL and the fix when the database cannot be opened
    or written, before any grading starts.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise GradebookError(f"invalid gradebook URL {url!r}: {error}; use sqlite:///PATH or postgresql+psycopg://HOST/DB") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        _check_sqlite_path(Path(parsed.database), url, create)
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as error:
        # An unknown dialect such as postgres:// raises NoSuchModuleError, a subclass of
        # ArgumentError. A dialect whose driver is not installed raises ImportError.
        raise GradebookError(f"invalid gradebook URL {url!r}: {error}; use sqlite:///PATH or postgresql+psycopg://HOST/DB") from None
    try:
        if create:
            _create_nbgrader_tables(url)
        _Base.metadata.create_all(engine)
        _add_digest_column(engine)
    except SQLAlchemyError as error:
        raise GradebookError(f"cannot open the gradebook {url}: {error.orig or error}; check the URL and permissions") from None
    return engine


def _create_nbgrader_tables(url: str) -> None:
    """Let nbgrader create its tables first, so it also stamps a new gradebook's schema version.

    nbgrader stamps the alembic version only in a database with no table at all; without
    the stamp, `nbgrader db upgrade` fails on the gradebook later.
    """
    from nbgrader.api import Gradebook

    from autograder.course import COURSE_ID, nbgrader_environment

    with nbgrader_environment():
        Gradebook(url, course_id=COURSE_ID).close()


def record(engine: Engine, outcome: Outcome) -> None:
    """Insert or replace the outcome of one learner and module."""
    with Session(engine) as session, session.begin():
        row = session.get(GradingOutcome, (outcome.learner, outcome.module)) or GradingOutcome(
            learner=outcome.learner, module=outcome.module
        )
        row.status = outcome.status
        row.reason = outcome.reason
        row.score = outcome.score
        row.max_score = outcome.max_score
        row.digest = outcome.digest
        row.graded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        session.add(row)


def load_outcomes(engine: Engine) -> dict[tuple[str, str], Outcome]:
    """Return every recorded outcome by (learner, module)."""
    with Session(engine) as session:
        rows = session.scalars(select(GradingOutcome)).all()
        return {
            (r.learner, r.module): Outcome(r.learner, r.module, r.status, r.reason or "", r.score, r.max_score, r.digest or "")
            for r in rows
        }


def _add_digest_column(engine: Engine) -> None:
    """Give a gradebook written by an earlier version the digest column; its rows keep their outcome."""
    columns = {column["name"] for column in inspect(engine).get_columns(GradingOutcome.__tablename__)}
    if "digest" not in columns:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {GradingOutcome.__tablename__} ADD COLUMN digest VARCHAR(64) DEFAULT ''"))


def _check_sqlite_path(path: Path, url: str, create: bool) -> None:
    if not create and not path.is_file():
        raise GradebookError(f"gradebook {path} (from {url}) does not exist; grade a module first or pass --gradebook")
    if path.is_dir():
        raise GradebookError(f"gradebook path {path} is a folder; pass a file path such as sqlite:///{path / 'gradebook.db'}")
    # The folder must exist already: creating it would hide a typo in the path, and grades
    # would land somewhere nobody looks.
    folder = path.parent
    if not folder.is_dir():
        blocker = next((p for p in [folder, *folder.parents] if p.exists()), None)
        problem = f"{blocker} is a file, not a folder" if blocker and not blocker.is_dir() else f"the folder {folder} does not exist"
        raise GradebookError(f"cannot write the gradebook {path} (from {url}): {problem}; create the folder or pass another --gradebook")
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        raise GradebookError(
            f"cannot write the gradebook {path} (from {url}): {error.strerror}; "
            "pass --gradebook sqlite:///PATH with a writable folder"
        ) from None
