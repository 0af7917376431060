"""Per-learner seeds, so that two learners get different numbers for the same exercise.

A learner's id comes from ``AZML_LEARNER_ID`` (set by ``azml-course autograde`` for each
submission it grades), else from JupyterHub's ``JUPYTERHUB_USER``, else from the login
name. The seed is a hash of the id and the exercise id, so a learner sees the same data in
every session, and the grader regenerates exactly that data.
"""

from __future__ import annotations

import getpass
import hashlib
import os

LEARNER_ID_VARIABLE = "AZML_LEARNER_ID"


def learner_id() -> str:
    """Return the id of the learner whose notebook runs in this process."""
    for variable in (LEARNER_ID_VARIABLE, "JUPYTERHUB_USER"):
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # getuser() fails in containers whose user id has no passwd entry.
        return "learner"


def learner_seed(exercise_id: str, learner: str | None = None) -> int:
    """Return a 32-bit seed derived from the learner id and the exercise id."""
    key = f"{learner if learner is not None else learner_id()}\x1f{exercise_id}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")
