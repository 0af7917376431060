"""Grader side of tamper-proof grading: score an answer from its recording, in this process.

:func:`score_recording` checks the whole recording first and raises
:class:`~autograder.errors.TamperedRecordingError` on any part the recorder would not
write. It then rebuilds the answer, with a replay in place of each function and object of
the learner's, and runs the exercise's graded case groups here. A replayed function
returns what the learner's function returned in the kernel for arguments of the same
digest, raises what it raised, sleeps the recorded wall time so that timing checks judge
the learner's own time, and changes arguments in place as the learner's function did.
A call the kernel never made fails the group: an edited recording can only claim results
for the arguments the check passes, which it cannot know without running the check.

``record_answer`` and ``take_recordings``, the kernel side, live in
:mod:`autograder.grading.recording` and are importable from here too.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.checks.specs.loading import confine_files
from autograder.checks.core import CheckResult, run_groups
from autograder.errors import TamperedRecordingError
from autograder.exercises import get_exercise
from autograder.grading.digests import call_digests
from autograder.grading.encoding import Handle, decode
from autograder.grading.recording import FORMAT_VERSION, record_answer, take_recordings
from autograder.grading.untrusted import check_error, field, named_class, rebuild_error

__all__ = ["ReplayFunction", "ReplayObject", "read_recordings", "record_answer", "recorded_libraries",
           "score_recording", "take_recordings"]

NOT_EVALUATED = ("the answer was not evaluated on these inputs in the grading kernel; grade the notebook again, "
                 "and tell your instructor if this message stays")
# The maximum wait replayed for one call, so that a recording cannot stall the grader. The
# course's time limits are 0.1-0.25 s, or ten times a numpy reference's time on the same data
# (about 1 s on a 2-core VM), so a call recorded as longer fails its timing check all the same.
MAX_REPLAYED_SECONDS = 10.0


def score_recording(exercise_id: str, recording: Mapping[str, Any] | str, *, points: float,
                    grading_data: dict[str, Any], folder: str | Path | None = None) -> tuple[float, CheckResult]:
    """Score one recording from the grading kernel on the exercise's graded case groups.

    Parameters
    ----------
    exercise_id : str
        The exercise the hidden-test cell grades; the recording must name the same one.
    recording : mapping or str
        One item of the list that ``take_recordings()`` returns, parsed or as JSON text.
    points : float
        The points of the hidden-test cell.
    grading_data : dict
        What the instructor's hidden-test cell passes to ``grade()``, such as ``seed=`` or
        ``rubric=``, read from the instructor's notebook, never from the kernel. Checks that
        generate the learner's own data read the learner id from ``AZML_LEARNER_ID``, which
        must name the same learner as in the kernel.
    folder : str or Path, optional
        The folder the learner's notebook ran in, or the grader's copy of it. The checks
        run with it as the current folder, because spec checks look for the local files a
        spec names (``code: ./src``, a conda file) relative to it. By default they run in
        the current folder. Changing the folder affects the whole process, so score one
        recording at a time per process.

    Returns
    -------
    tuple of (float, CheckResult)
        The points earned, rounded to 4 decimals, and the outcome of every case group.

    Raises
    ------
    TamperedRecordingError
        When the recording is not valid JSON, names another exercise or is not the shape
        the recorder writes. The message names the part that is wrong.
    """
    exercise = get_exercise(exercise_id)
    data = _as_mapping(recording)
    if data.get("format") != FORMAT_VERSION:
        raise TamperedRecordingError(f"unknown recording format {data.get('format')!r}; this grader reads format {FORMAT_VERSION}")
    if field(data, "exercise", str) != exercise.id:
        raise TamperedRecordingError(f"the recording is of exercise {data['exercise']!r}, not of {exercise.id!r}")
    if "answer" not in data:
        raise TamperedRecordingError("the recording has no `answer`")
    answer = _Replay(field(data, "handles", list)).decode(data.get("answer"))

    # Spec checks read the files a spec or a YAML file name answer points to, here in the
    # grader, so they are confined to the notebook's folder: no path in an answer reaches
    # the grader's own files.
    with contextlib.ExitStack() as stack:
        if folder is not None:
            stack.enter_context(contextlib.chdir(folder))
            stack.enter_context(confine_files(folder))
        result = run_groups(exercise.id, exercise.graded_groups(**grading_data), answer)
    return round(result.score * points, 4), result


def read_recordings(text: str) -> list[dict[str, Any]]:
    """Parse the JSON text of ``take_recordings()`` into its recordings, each a dict with an ``exercise`` id."""
    recordings = _parse(text)
    if not isinstance(recordings, list) or not all(isinstance(r, dict) for r in recordings):
        raise TamperedRecordingError("the recordings must be a JSON list of objects")
    for recording in recordings:
        field(recording, "exercise", str)
    return recordings


def recorded_libraries(function: Any) -> set[str] | None:
    """Return the top-level libraries a replayed function reached in the kernel, or None for any other object."""
    if isinstance(function, ReplayFunction):
        return set(object.__getattribute__(function, "_replay_state").libraries)
    return None


def _as_mapping(recording: Mapping[str, Any] | str) -> Mapping[str, Any]:
    data = _parse(recording) if isinstance(recording, str) else recording
    if not isinstance(data, Mapping):
        raise TamperedRecordingError(f"a recording must be a JSON object, got {type(data).__name__}")
    return dict(data)


def _parse(text: str) -> Any:
    def reject(constant: str) -> None:
        raise TamperedRecordingError(f"the recording contains {constant}, which the recorder writes as a tagged float")

    try:
        return json.loads(text, parse_constant=reject)
    except TamperedRecordingError:
        raise
    except (ValueError, RecursionError) as error:
        # ValueError covers invalid JSON and integers longer than Python converts from text.
        raise TamperedRecordingError(f"the recording is not valid JSON: {error}") from None


@dataclass
class _Outcome:
    """One recorded call or attribute lookup: the value or the exception, the wall time and the arguments changed."""

    value: Any = None
    raised: dict[str, Any] | None = None
    seconds: float = 0.0
    changed: list[tuple[int | str, Any]] = dataclass_field(default_factory=list)

    def error(self) -> Exception | None:
        return rebuild_error(self.raised) if self.raised is not None else None

    def value_copy(self) -> Any:
        # Each call returns its own copy, as the learner's function returns a new value.
        return copy.deepcopy(self.value)

    def result(self) -> Any:
        error = self.error()
        if error is not None:
            raise error
        return self.value_copy()

    def change_arguments(self, args: tuple, kwargs: dict[str, Any]) -> None:
        """Change the arguments in place as the learner's function changed them in the kernel."""
        for position, value in self.changed:
            if isinstance(position, int) and position < len(args):
                _overwrite(args[position], copy.deepcopy(value))
            elif position in kwargs:
                _overwrite(kwargs[position], copy.deepcopy(value))


@dataclass
class _ReplayState:
    """The recorded outcomes of one handle, and the count of each that the checks here have used."""

    libraries: frozenset[str]
    attributes: dict[str, list[_Outcome]] = dataclass_field(default_factory=dict)
    calls: dict[str, list[_Outcome]] = dataclass_field(default_factory=dict)
    used: dict[tuple[str, str], int] = dataclass_field(default_factory=dict)

    def next(self, section: str, key: str) -> _Outcome:
        """Return the next recorded outcome for ``key``; after the last, the last again."""
        outcomes = (self.calls if section == "calls" else self.attributes).get(key)
        if not outcomes and section == "attributes" and key.startswith("__") and key.endswith("__"):
            # Python and numpy probe special names such as __array_interface__ with hasattr();
            # one the kernel never probed reads as missing, as on a plain object.
            raise AttributeError(f"{key} was not looked up in the grading kernel")
        if not outcomes:
            raise AssertionError(NOT_EVALUATED)
        # A timing check may repeat a call here that it ran once in the kernel, because timing
        # there included the recorder's own work. The learner's function gave that result too.
        index = self.used.get((section, key), 0)
        self.used[(section, key)] = index + 1
        return outcomes[min(index, len(outcomes) - 1)]


class ReplayObject(Handle):
    """An object of the learner's, replayed: each attribute lookup returns what it returned in the kernel."""

    __slots__ = ("_replay_state",)

    def __getattr__(self, name: str) -> Any:
        state: _ReplayState = object.__getattribute__(self, "_replay_state")
        return state.next("attributes", name).result()


class ReplayFunction(ReplayObject):
    """A function of the learner's, replayed from the calls the graded checks made in the kernel."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        outcome, error, value = self._replay(args, kwargs)

        # The wait comes last, so the replay's own work counts towards the recorded time.
        remaining = min(outcome.seconds, MAX_REPLAYED_SECONDS) - (time.perf_counter() - start)
        if remaining > 0:
            time.sleep(remaining)
        if error is not None:
            raise error
        return value

    def timed_call(self, *args: Any, **kwargs: Any) -> float:
        """Replay one call and return the wall time it took in the kernel, without waiting.

        Timing checks use this, so the replay's own work (digesting a million-element
        argument takes tens of milliseconds) never counts against the learner.
        """
        outcome, error, _ = self._replay(args, kwargs)
        if error is not None:
            raise error
        return min(outcome.seconds, MAX_REPLAYED_SECONDS)

    def _replay(self, args: tuple, kwargs: dict[str, Any]):
        state: _ReplayState = object.__getattribute__(self, "_replay_state")
        key, _ = call_digests(args, kwargs)
        outcome = state.next("calls", key)
        outcome.change_arguments(args, kwargs)
        return outcome, outcome.error(), outcome.value_copy()


class _Replay:
    """The replays of one recording's handle table, built and checked in full before any check runs."""

    def __init__(self, table: list[Any]):
        self._handles: list[ReplayObject] = [self._shell(index, entry) for index, entry in enumerate(table)]
        for entry, handle in zip(table, self._handles):
            self._fill(entry, object.__getattribute__(handle, "_replay_state"))

    def decode(self, data: Any) -> Any:
        return decode(data, self._handle)

    def _handle(self, handle_id: int) -> ReplayObject:
        if not 0 <= handle_id < len(self._handles):
            raise TamperedRecordingError(f"handle {handle_id} is not in the recording's table of {len(self._handles)} handles")
        return self._handles[handle_id]

    def _shell(self, index: int, entry: Any) -> ReplayObject:
        kind = field(entry, "kind", str)
        if kind not in ("function", "object"):
            raise TamperedRecordingError(f"handle {index} has kind {kind!r}; expected 'function' or 'object'")
        libraries = field(entry, "libraries", list) if kind == "function" else []
        if not all(isinstance(name, str) for name in libraries):
            raise TamperedRecordingError(f"the libraries of handle {index} must be a list of names")
        base = ReplayFunction if kind == "function" else ReplayObject
        handle = named_class(base, field(entry, "module", str), field(entry, "qualname", str))()
        object.__setattr__(handle, "_handle_id", index)
        object.__setattr__(handle, "_handle_label", field(entry, "label", str))
        object.__setattr__(handle, "_replay_state", _ReplayState(frozenset(libraries)))
        return handle

    def _fill(self, entry: dict[str, Any], state: _ReplayState) -> None:
        for name, outcomes in field(entry, "attributes", dict).items():
            state.attributes[name] = [self._outcome(item, timed=False) for item in _outcome_list(outcomes)]
        for key, outcomes in field(entry, "calls", dict).items():
            state.calls[key] = [self._outcome(item, timed=True) for item in _outcome_list(outcomes)]

    def _outcome(self, item: Any, *, timed: bool) -> _Outcome:
        if not isinstance(item, dict) or ("value" in item) == ("raised" in item):
            raise TamperedRecordingError("a recorded outcome must hold either `value` or `raised`")
        outcome = _Outcome()
        if "raised" in item:
            outcome.raised = check_error(item["raised"])
        else:
            outcome.value = self.decode(item["value"])
        if timed:
            outcome.seconds = float(field(item, "seconds", (int, float)))
            if not math.isfinite(outcome.seconds) or outcome.seconds < 0:
                raise TamperedRecordingError(f"a recorded call took {outcome.seconds} s; a wall time is finite and 0 or more")
            changed = item.get("changed", [])
            if not isinstance(changed, list):
                raise TamperedRecordingError(f"`changed` of a recorded call must be a list, got {type(changed).__name__}")
            outcome.changed = [self._changed(change) for change in changed]
        return outcome

    def _changed(self, change: Any) -> tuple[int | str, Any]:
        position = field(change, "argument", (int, str))
        if isinstance(position, int) and position < 0:
            raise TamperedRecordingError(f"a changed argument has the position {position}; positions start at 0")
        return position, self.decode(change.get("value"))


def _outcome_list(outcomes: Any) -> list[Any]:
    if not isinstance(outcomes, list) or not outcomes:
        raise TamperedRecordingError("the outcomes of a call or attribute must be a non-empty list")
    return outcomes


def _overwrite(target: Any, value: Any) -> None:
    """Change ``target`` in place to equal ``value``, keeping the identity of the arrays, lists and dicts inside it."""
    if isinstance(target, np.ndarray) and isinstance(value, np.ndarray):
        if target.shape == value.shape and target.flags.writeable:
            np.copyto(target, value, casting="unsafe")
    elif isinstance(target, list) and isinstance(value, list):
        if len(target) != len(value):
            target[:] = value
            return
        for index, item in enumerate(value):
            if _same_container(target[index], item):
                _overwrite(target[index], item)
            else:
                target[index] = item
    elif isinstance(target, dict) and isinstance(value, dict):
        for key in [key for key in target if key not in value]:
            del target[key]
        for key, item in value.items():
            if key in target and _same_container(target[key], item):
                _overwrite(target[key], item)
            else:
                target[key] = item
    elif isinstance(target, set) and isinstance(value, (set, frozenset)):
        target.clear()
        target.update(value)


def _same_container(target: Any, value: Any) -> bool:
    return any(isinstance(target, kind) and isinstance(value, kind) for kind in (np.ndarray, list, dict, set))
