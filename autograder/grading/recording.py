"""Kernel side of tamper-proof grading: run the graded checks against a recording of the answer.

With ``AZML_GRADING_RECORD=1`` in the grading kernel, ``grade()`` scores nothing. It calls
:func:`record_answer`, which runs the exercise's graded case groups against a view of the
answer, and the grader asks the kernel for :func:`take_recordings`. The view holds plain
values as the grader will decode them, and a recorder in place of each function or other
object. A recorder forwards to the learner's object and stores what it returned: for
each call, the digest of the arguments, the result or the exception, the wall time and
any argument changed in place, and for each attribute lookup, the value or the exception.
The grader then runs the same checks on the recording, in its own process
(:mod:`autograder.grading.replay`), so nothing the learner's code changes in the kernel
decides the score.
"""

from __future__ import annotations

import json
import os
# Bound at import: learner code may replace time.perf_counter to stop the clock.
# NOTE: wall times and the libraries a function reaches are still reported by this kernel
# side; a learner who rewrites this module can forge them, which skips the timing and
# from-scratch groups only, never the values a check compares.
from time import perf_counter as _clock
from typing import Any

import numpy as np

from autograder.checks import core
from autograder.checks.imports import FORBIDDEN_BY_DEFAULT, forbidden_libraries
from autograder.exercises import get_exercise
from autograder.grading.digests import call_digests
from autograder.grading.encoding import Handle, decode, encode
from autograder.grading.untrusted import describe_error, named_class, rebuild_error

RECORD_VARIABLE = "AZML_GRADING_RECORD"
FORMAT_VERSION = 1
# Libraries a from-scratch check could forbid. The grader intersects the recorded set with
# the libraries a check forbids, so a longer list only makes the recording more useful.
CANDIDATE_LIBRARIES = (
    "sklearn", "scipy", "statsmodels", "pandas", "polars", "torch", "tensorflow", "keras", "jax",
    "xgboost", "lightgbm", "catboost", "numba", "sympy", "autograder",
)
MUTABLE_ARGUMENTS = (np.ndarray, list, dict, set)

_RECORDINGS: list[dict[str, Any]] = []


def recording_enabled() -> bool:
    """Tell whether ``grade()`` records answers in this process instead of scoring them."""
    return os.environ.get(RECORD_VARIABLE) == "1"


def record_answer(exercise_id: str, answer: Any, grading_data: dict[str, Any]) -> None:
    """Run the graded case groups of an exercise against a recording of ``answer`` and keep the recording.

    ``grading_data`` is what the hidden-test cell passes to ``grade()``, such as ``seed=``.
    The outcome of the groups is discarded: the grader scores the recording.
    """
    exercise = get_exercise(exercise_id)
    groups = exercise.graded_groups(**grading_data)
    session = RecordingSession()
    encoded = session.encode(answer)

    # Looked up on the module at call time, as any other caller would.
    core.run_groups(exercise.id, groups, session.decode(encoded))

    _RECORDINGS.append({"format": FORMAT_VERSION, "exercise": exercise.id, "answer": encoded, "handles": session.handles})


def take_recordings() -> str:
    """Return the JSON text of the recordings made since the last call, and forget them."""
    text = json.dumps(_RECORDINGS, allow_nan=False, separators=(",", ":"))
    _RECORDINGS.clear()
    return text


class RecordingSession:
    """The handle table of one recording, and the recorder of each function or object it holds."""

    def __init__(self) -> None:
        self.handles: list[dict[str, Any]] = []
        self._recorders: list[Handle] = []
        # id() -> handle id. The objects stay referenced by their recorders, so an id is never reused.
        self._ids: dict[int, int] = {}

    def encode(self, value: Any) -> Any:
        return encode(value, self.handle_of)

    def decode(self, data: Any) -> Any:
        """Decode ``data`` as the grader will, with recorders in place of the handles."""
        return decode(data, self._recorders.__getitem__)

    def handle_of(self, value: Any) -> int:
        """Return the handle id of a function or object, adding a recorder for it on first sight."""
        if issubclass(type(value), Handle):
            return object.__getattribute__(value, "_handle_id")
        if id(value) in self._ids:
            return self._ids[id(value)]
        handle_id = len(self.handles)
        cls = type(value)
        entry: dict[str, Any] = {
            "kind": "function" if callable(value) else "object",
            "module": str(cls.__module__), "qualname": str(cls.__qualname__),
            "label": _label(value), "attributes": {}, "calls": {},
        }
        if callable(value):
            entry["libraries"] = _libraries(value)
        self.handles.append(entry)
        base = FunctionRecorder if callable(value) else ObjectRecorder
        self._recorders.append(named_class(base, entry["module"], entry["qualname"])(handle_id, entry["label"], value, self))
        self._ids[id(value)] = handle_id
        return handle_id

    def add(self, handle_id: int, section: str, key: str, outcome: dict[str, Any]) -> None:
        self.handles[handle_id][section].setdefault(key, []).append(outcome)


def _label(value: Any) -> str:
    """Name a function or object in reports, such as ``function mse`` or ``Pipeline object``."""
    try:
        name = getattr(value, "__qualname__", None) if callable(value) else None
    except Exception:  # noqa: BLE001 - a learner's __getattr__ may raise anything; the class still names the object
        name = None
    return f"function {name}" if isinstance(name, str) else f"{type(value).__qualname__} object"


def _libraries(function: Any) -> list[str]:
    # Scanned twice so the default libraries are found exactly as a direct check finds them:
    # a scan stops at a candidate library and would not look through it.
    try:
        found = forbidden_libraries(function, FORBIDDEN_BY_DEFAULT) | forbidden_libraries(function, CANDIDATE_LIBRARIES)
    except Exception:  # noqa: BLE001 - an object the scan cannot read reaches no library it can name
        return []
    return sorted(found)


class _Recorder(Handle):
    """Forward attribute lookups to the learner's object and record each value or exception."""

    __slots__ = ("_recorded_target", "_recording_session")

    def __init__(self, handle_id: int, label: str, target: Any, session: RecordingSession):
        object.__setattr__(self, "_handle_id", handle_id)
        object.__setattr__(self, "_handle_label", label)
        object.__setattr__(self, "_recorded_target", target)
        object.__setattr__(self, "_recording_session", session)

    def __getattr__(self, name: str) -> Any:
        target = object.__getattribute__(self, "_recorded_target")
        session: RecordingSession = object.__getattribute__(self, "_recording_session")
        handle_id = object.__getattribute__(self, "_handle_id")
        try:
            value = getattr(target, name)
        except Exception as error:  # noqa: BLE001 - the grader replays the learner's exception
            outcome = {"raised": describe_error(error)}
            session.add(handle_id, "attributes", name, outcome)
            raise rebuild_error(outcome["raised"]) from None
        outcome = {"value": session.encode(value)}
        session.add(handle_id, "attributes", name, outcome)
        return session.decode(outcome["value"])


class ObjectRecorder(_Recorder):
    """A recorder of an object that is not callable, such as a fitted scikit-learn model."""

    __slots__ = ()


class FunctionRecorder(_Recorder):
    """A recorder of a function or other callable; ``__wrapped__`` lets a library scan read its code."""

    __slots__ = ("__wrapped__",)

    def __init__(self, handle_id: int, label: str, target: Any, session: RecordingSession):
        super().__init__(handle_id, label, target, session)
        object.__setattr__(self, "__wrapped__", target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = object.__getattribute__(self, "_recorded_target")
        session: RecordingSession = object.__getattribute__(self, "_recording_session")
        key, before = call_digests(args, kwargs)

        start = _clock()
        try:
            result = target(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the grader replays the learner's exception
            outcome: dict[str, Any] = {"seconds": _clock() - start, "raised": describe_error(error)}
        else:
            outcome = {"seconds": _clock() - start, "value": session.encode(result)}

        changed = _changed_arguments(args, kwargs, before, session)
        if changed:
            outcome["changed"] = changed
        session.add(object.__getattribute__(self, "_handle_id"), "calls", key, outcome)
        # The checks here see what the grader will see, so both take the same path.
        if "raised" in outcome:
            raise rebuild_error(outcome["raised"]) from None
        return session.decode(outcome["value"])


def _changed_arguments(args: tuple, kwargs: dict[str, Any], before: dict[str | int, str], session: RecordingSession) -> list[dict[str, Any]]:
    """Encode the arrays, lists, dicts and sets that the call changed in place, for the grader to change alike."""
    _, after = call_digests(args, kwargs)
    changed = []
    for position, digest in after.items():
        argument = args[position] if isinstance(position, int) else kwargs[position]
        if digest != before[position] and isinstance(argument, MUTABLE_ARGUMENTS):
            changed.append({"argument": position, "value": session.encode(argument)})
    return changed
