"""Tests of tamper-proof scoring: answers recorded in the kernel and scored by replay in the grader.

Every test records an answer in this process, turns the recording into JSON text and back,
and scores it with ``score_recording``, so only plain data crosses from the recording side
to the scoring side, as it does from a grading kernel to the grader. Parity tests compare
that score with the score of ``grade()`` on the same answer.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import importlib.util
import inspect
import io
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import nbformat
import numpy as np
import pytest
from pydantic import BaseModel

from autograder.checks import core
from autograder.checks.core import CheckResult
from autograder.checks.imports import forbidden_libraries
from autograder.checks.specs import entity_kind, to_spec
from autograder.checks.specs.loading import load_spec
from autograder.errors import TamperedRecordingError
from autograder.exercises import all_exercises, get_exercise
from autograder.exercises.m03 import reference_mse
from autograder.exercises.m05_decisions import BackendOrder
from autograder.grading.digests import call_digests, value_digest
from autograder.grading.encoding import RefusedValue, decode, encode
from autograder.grading.recording import RECORD_VARIABLE, RecordingSession
from autograder.grading.replay import (
    NOT_EVALUATED,
    ReplayFunction,
    read_recordings,
    record_answer,
    score_recording,
    take_recordings,
)
from autograder.learner import grade

REPO = Path(__file__).resolve().parents[2]
EXERCISE_TESTS = REPO / "tests" / "exercises"
SOLUTION_NOTEBOOKS = sorted((REPO / "solutions").glob("m*/*.ipynb"))
LEARNER = "replay-parity"
MSE_SEED = 30117


# --- Recording and scoring -------------------------------------------------------------------------


def recording_of(exercise_id: str, answer: Any, grading_data: dict[str, Any]) -> dict[str, Any]:
    """Record ``answer`` as a grading kernel does and return the recording parsed from its JSON text."""
    take_recordings()
    record_answer(exercise_id, answer, grading_data)
    (recording,) = read_recordings(take_recordings())
    return recording


def replayed(exercise_id: str, answer: Any, points: float, grading_data: dict[str, Any],
             folder: Path | None = None) -> tuple[float, CheckResult]:
    """Record ``answer``, send the recording through JSON text and score it by replay."""
    recording = recording_of(exercise_id, answer, grading_data)
    return score_recording(exercise_id, json.dumps(recording), points=points, grading_data=grading_data, folder=folder)


def direct(exercise_id: str, answer: Any, points: float, grading_data: dict[str, Any]) -> float:
    """Score ``answer`` with ``grade()`` in this process, as before recording existed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return grade(exercise_id, answer, points=points, **grading_data)


def outcomes(result: CheckResult) -> dict[str, float]:
    return {outcome.group: outcome.credit for outcome in result.outcomes}


def direct_outcomes(exercise_id: str, answer: Any, grading_data: dict[str, Any]) -> dict[str, float]:
    exercise = get_exercise(exercise_id)
    return outcomes(core.run_groups(exercise.id, exercise.graded_groups(**grading_data), answer))


def validated_mse(formula: Callable[[np.ndarray], float]) -> Callable:
    def mse(y, y_hat):
        y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
        if y.shape != y_hat.shape or y.size == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        return float(formula(y - y_hat))

    return mse


correct_mse = validated_mse(lambda e: np.mean(e**2))
sum_mse = validated_mse(lambda e: np.sum(e**2))


# --- Notebooks -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeCall:
    """One ``grade(...)`` call of a hidden-test cell: the answer expression and the grading data."""

    notebook: Path
    exercise_id: str
    answer: ast.expr
    points: float
    grading_data: dict[str, Any]


def grade_calls(notebook: Path) -> list[GradeCall]:
    """Parse the ``grade(...)`` calls of the hidden-test cells of an instructor notebook."""
    calls = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if not cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_tests"):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grade":
                keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords}
                points = keywords.pop("points")
                calls.append(GradeCall(notebook, ast.literal_eval(node.args[0]), node.args[1], points, keywords))
    return calls


def run_cells(notebook: Path, *, tolerate_errors: bool) -> dict[str, Any]:
    """Execute the code cells of ``notebook`` in its folder, except the check and hidden-test cells."""
    namespace: dict[str, Any] = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type != "code" or grade_id.endswith(("_check", "_tests")):
            continue
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(compile(cell.source, str(notebook), "exec"), namespace)
            except Exception:
                if not tolerate_errors:
                    raise
    return namespace


def evaluate_answer(call: GradeCall, namespace: dict[str, Any]) -> Any:
    return eval(compile(ast.Expression(call.answer), str(call.notebook), "eval"), namespace)


SOLUTION_CALLS = {call.exercise_id: call for notebook in SOLUTION_NOTEBOOKS for call in grade_calls(notebook)}


@pytest.fixture(scope="module")
def solution_namespaces() -> dict[Path, dict[str, Any]]:
    """Execute every instructor notebook once, as learner ``LEARNER``, in its own folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZML_LEARNER_ID", LEARNER)
        namespaces = {}
        for notebook in SOLUTION_NOTEBOOKS:
            patch.chdir(notebook.parent)
            namespaces[notebook] = run_cells(notebook, tolerate_errors=False)
        return namespaces


@pytest.fixture
def as_learner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER)
    monkeypatch.delenv(RECORD_VARIABLE, raising=False)


# --- Encoding ----------------------------------------------------------------------------------------------


def no_handles(value: Any) -> int:
    raise AssertionError(f"{value!r} should be encoded as a value, not a handle")


def round_trip(value: Any) -> Any:
    text = json.dumps(encode(value, no_handles), allow_nan=False)
    return decode(json.loads(text), lambda handle_id: pytest.fail(f"unexpected handle {handle_id}"))


@pytest.mark.parametrize(
    "value",
    [None, True, 0, -(2**80), 1.5, -0.0, "text", b"\x00\xff", [1, [2.5, "a"]], (1, (2,)), {"a": 1, "b": [None]},
     {1: "one", (2, "x"): "pair", None: 3}, {1, 2}, frozenset({"a"}), np.float64(2.5), np.int32(-3), np.bool_(True),
     np.str_("cat"), np.array([[1.0, 2.0], [3.0, np.nan]]), np.array(["ham", "spam"]), np.array([True, False]),
     np.arange(6, dtype=np.uint8).reshape(2, 3), np.array([1 + 2j]), np.array(["2024-01-01"], dtype="datetime64[D]")],
    ids=repr,
)
def test_encoding_round_trip_keeps_value_and_type(value):
    result = round_trip(value)

    assert type(result) is type(value)
    if isinstance(value, np.ndarray):
        assert result.dtype == value.dtype
        assert np.array_equal(result, value, equal_nan=value.dtype.kind == "f")
    else:
        assert result == value


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_encoding_tags_nonfinite_floats(number):
    encoded = encode(number, no_handles)

    assert encoded["$"] == "float"
    assert repr(round_trip(number)) == repr(number)


def test_encoding_reads_stored_value_of_subclasses():
    class Liar(float):
        def __float__(self):
            return 99.0

        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    class Shouting(str):
        def __str__(self):
            return "LOUD"

    class Padded(list):
        def __iter__(self):
            return iter([*super().__iter__(), "extra"])

    result = round_trip([Liar(1.5), Shouting("quiet"), Padded([1, 2])])

    assert result == [1.5, "quiet", [1, 2]]
    assert [type(item) for item in result] == [float, str, list]


def test_encoding_refuses_object_arrays():
    result = round_trip(np.array([1, "a"], dtype=object))

    assert isinstance(result, RefusedValue)
    assert result.reason.startswith("an array of dtype object needs pickle")


def test_encoding_refuses_self_containing_list():
    cycle: list[Any] = [1]
    cycle.append(cycle)

    assert isinstance(round_trip(cycle)[1], RefusedValue)


def test_encoding_functions_become_handles():
    session = RecordingSession()

    encoded = session.encode({"f": correct_mse, "again": correct_mse})

    assert encoded["items"]["f"] == encoded["items"]["again"] == {"$": "handle", "id": 0}
    assert session.handles[0]["kind"] == "function"


def test_course_pydantic_model_validated_again():
    answer = BackendOrder(steps=["resolve the job spec"], image="build a new image",
                          data_access="the script reads files from storage as it opens them")

    result = round_trip(answer)

    assert type(result) is BackendOrder
    assert result == answer


def test_other_pydantic_model_becomes_snapshot():
    class Choice(BaseModel):
        target: str

    result = round_trip(Choice(target="edge"))

    assert type(result).__name__ == "Choice"
    assert not isinstance(result, dict)
    assert result.model_dump() == {"target": "edge"}
    assert result.target == "edge"


def test_digest_same_for_equal_arguments():
    first = call_digests((np.arange(5.0), [1, "a"]), {"b": 2, "a": 1})
    second = call_digests((np.arange(5.0), [1, "a"]), {"a": 1, "b": 2})

    assert first == second


@pytest.mark.parametrize(
    ("one", "other"),
    [(np.arange(3.0), np.arange(3)), (np.zeros((2, 3)), np.zeros((3, 2))), (1, 1.0), (1, True), ("1", 1),
     ([1, 2], (1, 2)), (reference_mse, correct_mse)],
    ids=["dtype", "shape", "int_float", "int_bool", "str_int", "list_tuple", "functions"],
)
def test_digest_differs_for_different_arguments(one, other):
    assert value_digest(one) != value_digest(other)


# --- Entity snapshots ---------------------------------------------------------------------------------------


@pytest.fixture
def m05_sdk(monkeypatch) -> ModuleType:
    module = load_test_module("test_m05_sdk.py")
    monkeypatch.chdir(module.NOTEBOOK.parent)
    return module


@pytest.mark.parametrize("changes", [{}, {"trips": "mount"}], ids=["valid", "mode_written_as_text"])
def test_entity_snapshot_reads_as_entity(m05_sdk, changes):
    node = m05_sdk.train_job(**changes)

    snapshot = round_trip(node)

    assert type(snapshot).__name__ == "Command"
    assert type(snapshot._to_job()).__name__ == "CommandJob"
    assert entity_kind(snapshot) == "command_job"
    assert to_spec(snapshot) == to_spec(node)
    assert load_spec(snapshot).data == load_spec(node).data


def test_entity_snapshot_replays_serialisation_error(m05_sdk):
    node = m05_sdk.train_job(model="ro_mount")
    with pytest.raises(Exception) as original:
        to_spec(node)

    snapshot = round_trip(node)

    with pytest.raises(Exception) as replayed_error:
        to_spec(snapshot)
    assert type(replayed_error.value).__name__ == type(original.value).__name__
    assert str(replayed_error.value) == str(original.value)


@pytest.mark.parametrize(
    "changes",
    [{}, {"trips": "download"}, {"trips": "mount"}, {"model": "ro_mount"}, {"environment": "azureml:sklearn-env:1"}],
    ids=["valid", "download", "mode_as_text", "output_mode_invalid", "registered_environment"],
)
def test_entity_groups_same_through_replay(m05_sdk, as_learner, changes):
    answer = m05_sdk.train_job(**changes)

    _, result = replayed("m05.input_modes", answer, 3, {})

    assert outcomes(result) == direct_outcomes("m05.input_modes", answer, {})


# --- Replay ---------------------------------------------------------------------------------------------------


def test_grade_records_instead_of_scoring(monkeypatch, capsys, as_learner):
    take_recordings()
    monkeypatch.setenv(RECORD_VARIABLE, "1")

    returned = grade("m03.mse", correct_mse, points=3, seed=MSE_SEED)

    assert returned is None
    assert capsys.readouterr().out == "answer to m03.mse recorded for grading\n"
    (recording,) = read_recordings(take_recordings())
    assert score_recording("m03.mse", recording, points=3, grading_data={"seed": MSE_SEED})[0] == 3


def test_take_recordings_clears_the_list(as_learner):
    record_answer("m03.mse", correct_mse, {"seed": MSE_SEED})

    assert len(read_recordings(take_recordings())) == 1
    assert read_recordings(take_recordings()) == []


def test_replay_sleeps_recorded_wall_time(as_learner):
    def slow_mse(y, y_hat):
        time.sleep(0.05)
        return correct_mse(y, y_hat)

    recording = recording_of("m03.mse", slow_mse, {"seed": MSE_SEED})
    call_count = sum(len(calls) for calls in recording["handles"][0]["calls"].values())

    start = time.perf_counter()
    _, result = score_recording("m03.mse", recording, points=3, grading_data={"seed": MSE_SEED})

    # Each replayed call waits for its recorded time less the replay's own work, so the
    # total stays close to the recorded one; without the waits it would take milliseconds.
    assert time.perf_counter() - start >= 0.5 * 0.05 * call_count
    assert outcomes(result)["vectorised"] == 1.0


def test_replay_fails_timing_of_slow_learner_code(as_learner):
    def loop_mse(y, y_hat):
        if len(y) != len(y_hat) or len(y) == 0:
            raise ValueError("y and y_hat must be non-empty and of the same length")
        return sum((a - b) ** 2 for a, b in zip(y, y_hat)) / len(y)

    score, result = replayed("m03.mse", loop_mse, 3, {"seed": MSE_SEED})

    assert score == 2.5
    assert [o.group for o in result.outcomes if not o.passed] == ["vectorised"]


def test_replay_changes_arguments_in_place(as_learner):
    def in_place(X, y, w, lam, lr):
        w -= lr * (2 / len(y) * X.T @ (X @ w - y) + 2 * lam * w)
        return w

    score, result = replayed("m03.gradient_step", in_place, 2, {"seed": 30559})

    assert [o.group for o in result.outcomes if not o.passed] == ["leaves the input weights unchanged"]
    assert score == direct("m03.gradient_step", in_place, 2, {"seed": 30559})


def test_replay_raises_learner_exception_as_builtin(as_learner):
    class StrictInput(ValueError):
        pass

    def strict_mse(y, y_hat):
        if np.shape(y) != np.shape(y_hat) or np.size(y) == 0:
            raise StrictInput("invalid input")
        return correct_mse(y, y_hat)

    score, result = replayed("m03.mse", strict_mse, 3, {"seed": MSE_SEED})

    assert score == 3
    assert outcomes(result)["shape mismatch"] == 1.0


def test_replayed_function_reports_recorded_libraries(as_learner):
    from sklearn.metrics import mean_squared_error

    recording = recording_of("m03.mse", mean_squared_error, {"seed": MSE_SEED})

    assert recording["handles"][0]["libraries"] == ["sklearn"]


JS_ID, JS_SEED, JS_SCRATCH = "m10.js_distance", 100661, "js_distance: from scratch with numpy"


def scipy_js(b, p):
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(b, p))


def numpy_js(b, p):
    p_b, p_p = np.asarray(b, float) / np.sum(b), np.asarray(p, float) / np.sum(p)
    m = (p_b + p_p) / 2

    def kl(x):
        present = x > 0
        return np.sum(x[present] * np.log(x[present] / m[present]))

    return float(np.sqrt((kl(p_b) + kl(p_p)) / 2))


def test_forbidden_libraries_of_replayed_function(as_learner):
    from autograder.grading.replay import _Replay

    recording = recording_of(JS_ID, {"js_distance": scipy_js, "value": 0.0}, {"seed": JS_SEED})
    function = _Replay(recording["handles"]).decode(recording["answer"])["js_distance"]

    assert isinstance(function, ReplayFunction)
    assert forbidden_libraries(function) == {"scipy"}
    assert forbidden_libraries(function, ("sklearn",)) == set()


def test_from_scratch_fails_replayed_scipy_function(as_learner):
    answer = {"js_distance": scipy_js, "value": 0.0}

    _, result = replayed(JS_ID, answer, 3, {"seed": JS_SEED})

    assert outcomes(result)[JS_SCRATCH] == 0.0
    assert direct_outcomes(JS_ID, answer, {"seed": JS_SEED})[JS_SCRATCH] == 0.0


def test_from_scratch_reads_recorded_libraries(as_learner):
    recording = recording_of(JS_ID, {"js_distance": numpy_js, "value": 0.0}, {"seed": JS_SEED})
    honest = outcomes(score_recording(JS_ID, recording, points=3, grading_data={"seed": JS_SEED})[1])
    recording["handles"][0]["libraries"] = ["scipy"]

    edited = outcomes(score_recording(JS_ID, recording, points=3, grading_data={"seed": JS_SEED})[1])

    assert honest[JS_SCRATCH] == 1.0
    assert edited[JS_SCRATCH] == 0.0


def test_unrecorded_call_fails_group(as_learner):
    recording = recording_of("m03.mse", correct_mse, {"seed": MSE_SEED})
    recording["handles"][0]["calls"] = {"0" * 32: next(iter(recording["handles"][0]["calls"].values()))}

    score, result = score_recording("m03.mse", recording, points=3, grading_data={"seed": MSE_SEED})

    assert score == 0
    assert result.outcomes[0].message == NOT_EVALUATED


# --- Parity with grade() -------------------------------------------------------------------------------------


def test_solution_calls_cover_every_exercise():
    assert sorted(SOLUTION_CALLS) == sorted(all_exercises())


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", sorted(SOLUTION_CALLS))
def test_solution_same_score_through_replay(exercise_id, solution_namespaces, as_learner, monkeypatch, tmp_path):
    call = SOLUTION_CALLS[exercise_id]
    monkeypatch.chdir(call.notebook.parent)
    answer = evaluate_answer(call, solution_namespaces[call.notebook])
    expected = direct(exercise_id, answer, call.points, call.grading_data)
    recording = json.dumps(recording_of(exercise_id, answer, call.grading_data))

    # The grader runs elsewhere and names the notebook's folder, where spec checks find ./src.
    monkeypatch.chdir(tmp_path)
    score, result = score_recording(exercise_id, recording, points=call.points, grading_data=call.grading_data,
                                    folder=call.notebook.parent)

    assert score == expected == call.points, result.report()
    assert Path.cwd() == tmp_path


def test_score_recording_without_folder_uses_current_folder(as_learner, monkeypatch, tmp_path):
    m08_sdk = load_test_module("test_m08_sdk.py")
    monkeypatch.chdir(m08_sdk.NOTEBOOK.parent)
    answer = (m08_sdk.online_endpoint(), m08_sdk.online_deployment())
    recording = recording_of("m08.online_deployment", answer, {})

    in_notebook_folder = score_recording("m08.online_deployment", recording, points=4, grading_data={})[0]
    monkeypatch.chdir(tmp_path)
    elsewhere, result = score_recording("m08.online_deployment", recording, points=4, grading_data={})

    assert in_notebook_folder == 4
    assert elsewhere < 4
    assert any("local file or folder `./src` not found" in message for message in result.messages)


# Existing tests of wrong and alternative answers, run again with their grade() routed through
# record and replay. Fixtures named here are run before each test, as pytest runs autouse fixtures.
REUSED_TESTS = {
    "test_m03.py": ((), ["test_mse_mistake_loses_points", "test_mse_python_loop_loses_one_group",
                         "test_bce_mistake_loses_points", "test_step_in_place_update_loses_one_group"]),
    "test_m05_sdk.py": ((), ["test_downloaded_folder_points", "test_swapped_modes_points"]),
    "test_m11_sdk.py": (("notebook_folder",), ["test_key_auth", "test_system_assigned_identity", "test_inline_secret"]),
    "test_m05_decisions.py": ((), ["test_backend_reversed_and_wrong_scores_zero", "test_backend_compute_before_image",
                                   "test_backend_rebuild_for_new_data", "test_backend_missing_step_partial",
                                   "test_failure_everything_running_partial"]),
    "test_m12.py": ((), ["test_train_alternative_model_accepted"]),
}
_LOADED: dict[str, ModuleType] = {}
_MODULE_FIXTURES: dict[tuple[str, str], Any] = {}


def load_test_module(file_name: str) -> ModuleType:
    """Import a test module of tests/exercises under a name of its own, so patching it leaves pytest's copy alone."""
    if file_name not in _LOADED:
        spec = importlib.util.spec_from_file_location(f"replayed_{Path(file_name).stem}", EXERCISE_TESTS / file_name)
        module = importlib.util.module_from_spec(spec)
        # Registered first, because dataclasses look their module up while the module runs.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _LOADED[file_name] = module
    return _LOADED[file_name]


def parameter_sets(test: Callable) -> list[dict[str, Any]]:
    """Expand the ``parametrize`` marks of a test function into keyword arguments, one dict per case."""
    sets: list[dict[str, Any]] = [{}]
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names = [n.strip() for n in mark.args[0].split(",")] if isinstance(mark.args[0], str) else list(mark.args[0])
        rows = []
        for value in mark.args[1]:
            if hasattr(value, "values") and hasattr(value, "marks"):
                row = tuple(value.values)
            else:
                row = (value,) if len(names) == 1 else tuple(value)
            rows.append(dict(zip(names, row)))
        sets = [{**first, **row} for first in sets for row in rows]
    return sets


def fixture_value(module: ModuleType, name: str, patch: pytest.MonkeyPatch, stack: contextlib.ExitStack) -> Any:
    """Run a fixture of ``module`` and its dependencies; a fixture without parameters runs once per module."""
    if name == "monkeypatch":
        return patch
    function = getattr(module, name).__wrapped__
    parameters = list(inspect.signature(function).parameters)
    if not parameters and (module.__name__, name) in _MODULE_FIXTURES:
        return _MODULE_FIXTURES[(module.__name__, name)]
    value = function(**{parameter: fixture_value(module, parameter, patch, stack) for parameter in parameters})
    if inspect.isgenerator(value):
        generator = value
        value = next(generator)
        stack.callback(next, generator, None)
    elif not parameters:
        _MODULE_FIXTURES[(module.__name__, name)] = value
    return value


@dataclass(frozen=True)
class ReusedScore:
    """The score of one grade() call of a reused test, by grade() and by replay."""

    exercise_id: str
    points: float
    expected: float
    replayed: float
    result: CheckResult


def run_reused_test(file_name: str, test_name: str) -> list[ReusedScore]:
    """Run an existing test whose ``grade`` scores each answer both ways and returns grade()'s score."""
    module = load_test_module(file_name)
    autouse, _ = REUSED_TESTS[file_name]
    test = getattr(module, test_name)
    scores = []

    def grade_both(exercise_id, answer, *, points, **grading_data):
        expected = direct(exercise_id, answer, points, grading_data)
        score, result = replayed(exercise_id, answer, points, grading_data)
        scores.append(ReusedScore(exercise_id, points, expected, score, result))
        return expected

    for parameters in parameter_sets(test):
        with contextlib.ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
            patch.delenv(RECORD_VARIABLE, raising=False)
            patch.setattr(module, "grade", grade_both)
            for name in autouse:
                fixture_value(module, name, patch, stack)
            needed = [p for p in inspect.signature(test).parameters if p not in parameters]
            test(**parameters, **{name: fixture_value(module, name, patch, stack) for name in needed})
    return scores


REUSED_CASES = [(file_name, test_name) for file_name, (_, names) in REUSED_TESTS.items() for test_name in names]
# Each model of this test is fitted, cloned and refitted twice per grading, 12 s in all on a 2-core VM.
SLOW_REUSED = {("test_m12.py", "test_train_alternative_model_accepted")}


@pytest.fixture(scope="module")
def reused_scores() -> Callable[[tuple[str, str]], list[ReusedScore]]:
    """Return a function that runs a reused test once per module and returns its scores."""
    found: dict[tuple[str, str], list[ReusedScore]] = {}

    def scores_of(case: tuple[str, str]) -> list[ReusedScore]:
        if case not in found:
            found[case] = run_reused_test(*case)
        return found[case]

    return scores_of


@pytest.mark.parametrize(
    ("file_name", "test_name"),
    [pytest.param(*case, marks=pytest.mark.slow) if case in SLOW_REUSED else case for case in REUSED_CASES],
)
def test_reused_answers_same_score(file_name, test_name, reused_scores):
    scores = reused_scores((file_name, test_name))

    assert scores, f"{test_name} made no grade() call"
    for score in scores:
        assert score.replayed == score.expected, (
            f"{score.exercise_id}: grade() gave {score.expected}, replay {score.replayed}\n{score.result.report()}"
        )


def test_reused_answers_cover_three_kinds(reused_scores):
    wrong: dict[str, int] = {}
    for case in REUSED_CASES:
        if case in SLOW_REUSED:
            continue
        for score in reused_scores(case):
            if score.expected < score.points:
                kind = get_exercise(score.exercise_id).kind
                wrong[kind] = wrong.get(kind, 0) + 1

    assert wrong["math"] >= 3
    assert wrong["sdk"] >= 3
    assert wrong["decision"] >= 3


# --- Object handles -------------------------------------------------------------------------------------------

TRAIN_ID = "m12.train_evaluate"


@pytest.fixture(scope="module")
def m12_tests() -> ModuleType:
    return load_test_module("test_m12.py")


def m12_answers(module: ModuleType) -> dict[str, dict[str, Any]]:
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression

    X, y, train, _ = module.claims_of()
    return {
        "fit_on_all_rows": module.trained(module.scaled_logistic(), fit_rows="all"),
        "fit_on_test_rows": module.trained(module.scaled_logistic(), fit_rows="test"),
        "unconverged": module.trained(LogisticRegression(max_iter=2)),
        "base_rate": module.trained(DummyClassifier()),
        "regressor": {"model": LinearRegression().fit(X[train], y[train]), "evaluate": module.sklearn_evaluate,
                      "auc": 0.8, "brier": 0.15},
        "unfitted": {"model": module.scaled_logistic(), "evaluate": module.sklearn_evaluate, "auc": 0.8, "brier": 0.15},
    }


@pytest.mark.parametrize("case", ["fit_on_all_rows", "fit_on_test_rows", "unconverged", "base_rate", "regressor", "unfitted"])
def test_model_answer_same_groups_through_replay(case, m12_tests, monkeypatch):
    monkeypatch.delenv(RECORD_VARIABLE, raising=False)
    grading_data = SOLUTION_CALLS[TRAIN_ID].grading_data
    answer = m12_answers(m12_tests)[case]

    score, result = replayed(TRAIN_ID, answer, 6, grading_data)

    assert outcomes(result) == direct_outcomes(TRAIN_ID, answer, grading_data)
    assert score == direct(TRAIN_ID, answer, 6, grading_data)


def test_model_handle_keeps_class_name_and_hint(m12_tests, monkeypatch):
    monkeypatch.delenv(RECORD_VARIABLE, raising=False)
    grading_data = SOLUTION_CALLS[TRAIN_ID].grading_data
    answer = m12_answers(m12_tests)["unconverged"]

    _, result = replayed(TRAIN_ID, answer, 6, grading_data)
    exercise = get_exercise(TRAIN_ID)
    expected = core.run_groups(exercise.id, exercise.graded_groups(**grading_data), answer)

    assert result.messages == expected.messages
    assert any("stopped at max_iter" in message for message in result.messages)


# --- Tampering ------------------------------------------------------------------------------------------------


class AlwaysEqual:
    """An object that claims to equal anything."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class ExpectedFloat(float):
    """A float whose comparisons always agree and whose float() is the value the calling check expects.

    Its ``__float__`` reads the variable ``expected`` of the function that converts it, as
    ``_check_metric`` and ``_close`` of module 12 do.
    """

    def __float__(self):
        caller = sys._getframe(1).f_locals
        return float.__float__(caller["expected"]) if isinstance(caller.get("expected"), float) else float.__float__(self)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return False

    __gt__ = __le__ = __ge__ = __lt__
    __hash__ = float.__hash__


def test_tamper_always_equal_strings(as_learner):
    from autograder.checks.seeds import learner_seed
    from autograder.exercises.m12 import DRIFT_REPORT_ID, claims_traffic, reference_drift_report

    data = claims_traffic(learner_seed(DRIFT_REPORT_ID))
    report = reference_drift_report(data["baseline"], data["production"])
    for entry in report["features"].values():
        entry["data_type"], entry["metric"] = AlwaysEqual(), AlwaysEqual()
    answer = {"drift_report": reference_drift_report, "value": report}
    grading_data = SOLUTION_CALLS[DRIFT_REPORT_ID].grading_data
    value_group = "value: computed on your data"

    score, result = replayed(DRIFT_REPORT_ID, answer, 5, grading_data)

    assert direct_outcomes(DRIFT_REPORT_ID, answer, grading_data)[value_group] == 1.0
    assert outcomes(result)[value_group] == 0.0
    assert score < 5


def test_tamper_function_returning_always_equal(as_learner):
    def mse(y, y_hat):
        if np.shape(y) != np.shape(y_hat) or np.size(y) == 0:
            raise ValueError("y and y_hat must be non-empty and of the same shape")
        return AlwaysEqual()

    score, result = replayed("m03.mse", mse, 3, {"seed": MSE_SEED})

    # Only the groups that expect a ValueError, and the timing, pass, as they do for any fast validating function.
    assert [o.group for o in result.outcomes if o.passed] == ["shape mismatch", "empty input", "vectorised"]
    assert score == 1.5


def test_tamper_float_subclass_metrics(m12_tests, monkeypatch):
    monkeypatch.delenv(RECORD_VARIABLE, raising=False)
    grading_data = SOLUTION_CALLS[TRAIN_ID].grading_data
    answer = m12_tests.trained(m12_tests.scaled_logistic(), auc=ExpectedFloat(0.0), brier=ExpectedFloat(0.0))
    metric_groups = ["auc: computed on the test rows", "brier: computed on the test rows"]

    score, result = replayed(TRAIN_ID, answer, 6, grading_data)

    fooled = direct_outcomes(TRAIN_ID, answer, grading_data)
    assert [fooled[group] for group in metric_groups] == [1.0, 1.0]
    assert [outcomes(result)[group] for group in metric_groups] == [0.0, 0.0]
    assert score == direct(TRAIN_ID, {**answer, "auc": 0.0, "brier": 0.0}, 6, grading_data)


def test_tamper_patched_run_groups_earns_nothing(as_learner):
    honest, _ = replayed("m03.mse", sum_mse, 3, {"seed": MSE_SEED})
    original = core.run_groups

    def graded_on_reference(exercise_id, groups, answer):
        return original(exercise_id, groups, reference_mse)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "run_groups", graded_on_reference)
        recording = recording_of("m03.mse", sum_mse, {"seed": MSE_SEED})
    score, result = score_recording("m03.mse", recording, points=3, grading_data={"seed": MSE_SEED})

    assert honest == direct("m03.mse", sum_mse, 3, {"seed": MSE_SEED}) == 2.0
    assert score == 0.0
    assert all(outcome.message.startswith(NOT_EVALUATED) for outcome in result.outcomes)


def test_tamper_claims_for_other_arguments_ignored(as_learner):
    recording = recording_of("m03.mse", sum_mse, {"seed": MSE_SEED})
    honest = score_recording("m03.mse", recording, points=3, grading_data={"seed": MSE_SEED})[0]
    calls = recording["handles"][0]["calls"]
    for index, outcomes_of_call in enumerate(list(calls.values())):
        claimed = [{**outcome, "value": 0.5} for outcome in outcomes_of_call if "value" in outcome]
        calls[f"{index:032x}"] = claimed or outcomes_of_call

    assert score_recording("m03.mse", recording, points=3, grading_data={"seed": MSE_SEED})[0] == honest


def test_tamper_results_moved_between_arguments(as_learner):
    recording = recording_of("m03.mse", correct_mse, {"seed": MSE_SEED})
    calls = recording["handles"][0]["calls"]
    keys = list(calls)
    recording["handles"][0]["calls"] = {key: calls[keys[(index + 1) % len(keys)]] for index, key in enumerate(keys)}

    assert score_recording("m03.mse", recording, points=3, grading_data={"seed": MSE_SEED})[0] < 1.5


# --- Malformed recordings -------------------------------------------------------------------------------------


PENALTIES = {"seed": 30353}


def l1_penalty(w, lam):
    return float(lam * np.sum(np.abs(w)))


def l2_penalty(w, lam):
    return float(lam * np.sum(np.square(w)))


@pytest.fixture(scope="module")
def penalties_recording() -> dict[str, Any]:
    """A recording with a function handle and a dict entry, ``note``, that the checks do not read."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZML_LEARNER_ID", LEARNER)
        answer = {"l1": l1_penalty, "l2": l2_penalty, "note": (1.5, np.arange(3))}
        return recording_of("m03.penalties", answer, PENALTIES)


def first_call(recording: dict[str, Any]) -> dict[str, Any]:
    return next(iter(recording["handles"][0]["calls"].values()))[0]


def npy_of_object_array() -> str:
    import base64

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


MALFORMED = {
    "format": (lambda r: r.update(format=2), r"^unknown recording format 2; this grader reads format 1$"),
    "other_exercise": (lambda r: r.update(exercise="m03.bce"), r"^the recording is of exercise 'm03.bce', not of 'm03.penalties'$"),
    "no_answer": (lambda r: r.pop("answer"), r"^the recording has no `answer`$"),
    "handles_not_list": (lambda r: r.update(handles={}), r"^`handles` of a record must be list, got dict$"),
    "unknown_tag": (lambda r: r.update(answer={"$": "pickle", "data": "gASV"}), r"^unknown value tag 'pickle'; the recorder writes "),
    "untagged_object": (lambda r: r.update(answer={"mse": 1}), r"^unknown value tag None"),
    "handle_out_of_range": (lambda r: r.update(answer={"$": "handle", "id": 7}),
                            r"^handle 7 is not in the recording's table of 2 handles$"),
    "handle_id_bool": (lambda r: r.update(answer={"$": "handle", "id": True}), r"^`id` of a handle must be int, got bool$"),
    "handle_kind": (lambda r: r["handles"][0].update(kind="module"), r"^handle 0 has kind 'module'; expected 'function' or 'object'$"),
    "libraries_not_names": (lambda r: r["handles"][0].update(libraries=[1]), r"^the libraries of handle 0 must be a list of names$"),
    "calls_not_dict": (lambda r: r["handles"][0].update(calls=[]), r"^`calls` of a record must be dict, got list$"),
    "no_outcomes": (lambda r: r["handles"][0]["calls"].update(x=[]), r"^the outcomes of a call or attribute must be a non-empty list$"),
    "value_and_raised": (lambda r: first_call(r).update(raised={"type": "ValueError", "builtins": [], "message": ""}),
                         r"^a recorded outcome must hold either `value` or `raised`$"),
    "negative_seconds": (lambda r: first_call(r).update(seconds=-1), r"^a recorded call took -1.0 s; a wall time is finite and 0 or more$"),
    "seconds_text": (lambda r: first_call(r).update(seconds="0.1"), r"^`seconds` of a record must be int or float, got str$"),
    "error_type_not_name": (lambda r: first_call(r).pop("value") and first_call(r).update(
        raised={"type": "os.system('x')", "builtins": ["ValueError"], "message": ""}),
        r"^invalid exception description of type \"os.system\('x'\)\""),
    "changed_position": (lambda r: first_call(r).update(changed=[{"argument": -1, "value": 0}]),
                         r"^a changed argument has the position -1; positions start at 0$"),
    "changed_not_list": (lambda r: first_call(r).update(changed=3), r"^`changed` of a recorded call must be a list, got int$"),
    "array_not_base64": (lambda r: r["answer"]["items"].update(note={"$": "ndarray", "npy": "not base64!"}),
                         r"^an encoded array cannot be read: "),
    "object_array": (lambda r: r["answer"]["items"].update(note={"$": "ndarray", "npy": npy_of_object_array()}),
                     r"^an encoded array cannot be read: "),
    "scalar_not_0d": (lambda r: r["answer"]["items"].update(note={"$": "numpy", "npy": encode(np.arange(2), no_handles)["npy"]}),
                      r"^a numpy scalar is written as an array of shape \(2,\)$"),
    "float_tag": (lambda r: r["answer"]["items"].update(note={"$": "float", "value": "1e400"}),
                  r"^a tagged float must be nan, inf or -inf, got '1e400'$"),
    "dict_pair": (lambda r: r["answer"]["items"].update(note={"$": "dict", "pairs": [[1, 2, 3]]}),
                  r"^a dict entry must be a \[key, value\] pair$"),
    "unhashable_key": (lambda r: r["answer"]["items"].update(note={"$": "dict", "pairs": [[[1], 2]]}),
                       r"^a dict key or set member of type list is not hashable$"),
    "entity_class": (lambda r: r["answer"]["items"].update(note={"$": "entity", "class": "Command Job", "spec": {}}),
                     r"^entity class 'Command Job' is not a Python class name$"),
    "entity_spec": (lambda r: r["answer"]["items"].update(note={"$": "entity", "class": "CommandJob", "spec": [], "ports": {"$": "dict", "items": {}}}),
                    r"^the spec of a CommandJob must be a dict, got list$"),
    "model_dump": (lambda r: r["answer"]["items"].update(note={"$": "model", "module": "m", "qualname": "M", "dump": 1}),
                   r"^the dump of pydantic model M must be a dict, got int$"),
    "too_deep": (lambda r: r["answer"]["items"].update(note=json.loads("[" * 150 + "]" * 150)),
                 r"^a value is nested deeper than 100 levels"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_recording_rejected(case, penalties_recording):
    edit, message = MALFORMED[case]
    recording = copy.deepcopy(penalties_recording)
    edit(recording)

    with pytest.raises(TamperedRecordingError, match=message):
        score_recording("m03.penalties", json.dumps(recording), points=2, grading_data=PENALTIES)


def test_unedited_recording_accepted(penalties_recording):
    assert score_recording("m03.penalties", json.dumps(penalties_recording), points=2, grading_data=PENALTIES)[0] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", r"^the recording is not valid JSON: "), ("[1, 2]", r"^a recording must be a JSON object, got list$"),
     ('{"format": 1, "exercise": "m03.mse", "answer": NaN, "handles": []}', r"^the recording contains NaN")],
    ids=["truncated", "list", "nan_literal"],
)
def test_invalid_recording_text_rejected(text, message):
    with pytest.raises(TamperedRecordingError, match=message):
        score_recording("m03.mse", text, points=3, grading_data={"seed": MSE_SEED})


@pytest.mark.parametrize(
    ("text", "message"),
    [("{}", r"^the recordings must be a JSON list of objects$"), ('[{"answer": 1}]', r"^`exercise` of a record must be str, got NoneType$")],
    ids=["object", "no_exercise"],
)
def test_invalid_recordings_list_rejected(text, message):
    with pytest.raises(TamperedRecordingError, match=message):
        read_recordings(text)


def test_tampered_recording_error_is_value_error():
    assert issubclass(TamperedRecordingError, ValueError)


# --- Released stubs ---------------------------------------------------------------------------------------------


def test_released_stubs_score_zero_through_replay(monkeypatch):
    monkeypatch.setenv("AZML_LEARNER_ID", LEARNER)
    monkeypatch.delenv(RECORD_VARIABLE, raising=False)
    scored = {}
    for notebook in SOLUTION_NOTEBOOKS:
        released = REPO / "exercises" / notebook.parent.name / notebook.name
        monkeypatch.chdir(released.parent)
        namespace = run_cells(released, tolerate_errors=True)
        for call in grade_calls(notebook):
            try:
                answer = evaluate_answer(call, namespace)
            except (NameError, KeyError, TypeError):
                # The stub raised before the answer existed, so the hidden cell would fail too.
                continue
            scored[call.exercise_id] = replayed(call.exercise_id, answer, call.points, call.grading_data)[0]

    assert len(scored) >= 40
    assert {exercise_id: score for exercise_id, score in scored.items() if score != 0} == {}


def test_spec_file_outside_the_notebook_folder_is_not_read(tmp_path: Path) -> None:
    from autograder.checks.specs.loading import confine_files, load_spec
    from autograder.errors import SpecInputError

    secret = tmp_path / "rubric.yaml"
    secret.write_text("answer: 42\n")
    notebook_folder = tmp_path / "work"
    notebook_folder.mkdir()
    (notebook_folder / "job.yml").write_text("command: echo\n")

    with confine_files(notebook_folder):
        assert load_spec(str(notebook_folder / "job.yml")).data == {"command": "echo"}
        with pytest.raises(SpecInputError, match="outside the notebook's folder"):
            load_spec(str(secret))
        with pytest.raises(SpecInputError, match="outside the notebook's folder"):
            load_spec(str(notebook_folder / ".." / "rubric.yaml"))
    assert load_spec(str(secret)).data == {"answer": 42}
