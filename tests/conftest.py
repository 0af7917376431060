"""Shared fixtures: the repository's course, copies of it, and a guard against network use."""

from __future__ import annotations

import functools
import ipaddress
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class NetworkUseError(AssertionError):
    """Raised when code under test opens a connection to anything but this machine."""


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Fail any connection to a host other than loopback for the whole test session.

    Kernels, the local PostgreSQL server and Dask clusters listen on 127.0.0.1; anything
    else would mean the course reached out to Azure or the internet.
    """
    original = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
                raise NetworkUseError(f"test tried to connect to {address}: the course must run offline")
        return original(self, address)

    socket.socket.connect = guarded_connect
    yield
    socket.socket.connect = original


@pytest.fixture(autouse=True, scope="session")
def cached_alembic_version():
    """Ask alembic for nbgrader's schema version once per session, not once per new gradebook.

    nbgrader runs `alembic heads` in a subprocess for every gradebook it creates, about a
    second each; the answer cannot change within a test session.
    """
    import nbgrader.api

    original = nbgrader.api.get_alembic_version
    nbgrader.api.get_alembic_version = functools.cache(original)
    yield
    nbgrader.api.get_alembic_version = original


def _copy_course(target: Path) -> Path:
    target.mkdir()
    for name in ("curriculum.yaml", "nbgrader_config.py"):
        shutil.copy2(REPO / name, target / name)
    for name in ("solutions", "exercises"):
        shutil.copytree(REPO / name, target / name)
    return target


@pytest.fixture(scope="session")
def copy_course():
    """Return a function that copies the repository's course (curriculum, nbgrader config,
    solutions, exercises) to a new folder and returns it, for fixtures of any scope."""
    return _copy_course


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """Copy the repository's course to a temp folder."""
    return _copy_course(tmp_path / "course")
