"""Tests of what a notebook calls: ``check()`` for feedback and ``grade()`` in hidden-test cells."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import autograder
from autograder.checks.core import CheckResult
from autograder.checks.formulas import random_regression_cases
from autograder.errors import UnknownExerciseError
from autograder.exercises import all_exercises
from autograder.exercises.m03 import MSE_REFERENCE_CASES, PUBLIC_SEED, reference_mse
from autograder.learner import check, grade

HIDDEN_MSE_SEED = 30117


def correct_mse(y, y_hat):
    y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
    if y.shape != y_hat.shape or y.size == 0:
        raise ValueError("y and y_hat must be non-empty and of the same shape")
    return float(np.mean((y - y_hat) ** 2))


def sum_mse(y, y_hat):
    return correct_mse(y, y_hat) * len(y)


def n_minus_one_mse(y, y_hat):
    return correct_mse(y, y_hat) * len(y) / (len(y) - 1)


def unrelated_mse(y, y_hat):
    correct_mse(y, y_hat)
    return 42.0


def loop_mse(y, y_hat):
    if len(y) != len(y_hat) or len(y) == 0:
        raise ValueError("y and y_hat must be non-empty and of the same length")
    return sum((a - b) ** 2 for a, b in zip(y, y_hat)) / len(y)


def reference_texts(seed: int) -> set[str]:
    """Every way the report could spell a reference MSE of the fixed and generated cases."""
    values = [reference_mse(*case) for case in MSE_REFERENCE_CASES + random_regression_cases(seed)]
    texts = set()
    for value in values:
        texts.update({str(value), repr(value), f"{value:.6g}", f"{value:.4f}"})
    return texts


# --- check ---------------------------------------------------------------------------------------


def test_check_returns_result():
    result = check("m03.mse", correct_mse)

    assert isinstance(result, CheckResult)
    assert result.exercise_id == "m03.mse"


def test_check_passed_answer():
    result = check("m03.mse", correct_mse)

    assert result.passed is True
    assert result.score == 1.0
    assert result.messages == []


def test_check_failed_answer():
    result = check("m03.mse", sum_mse)

    assert result.passed is False
    assert result.score == pytest.approx(3 / 5)
    assert result.messages == [
        "reference vectors: looks like a sum of squared errors: divide by the number of samples (take the mean)",
        "generated vectors: looks like a sum of squared errors: divide by the number of samples (take the mean)",
    ]


def test_check_prints_report(capsys):
    result = check("m03.mse", sum_mse)

    assert capsys.readouterr().out == result.report() + "\n"


def test_check_report_first_line(capsys):
    check("m03.mse", sum_mse)

    assert capsys.readouterr().out.splitlines()[0] == "m03.mse: not passed yet (3/5 case groups)"


def test_check_public_groups_not_timed():
    assert check("m03.mse", loop_mse).passed


def test_check_exported_from_package():
    assert autograder.check is check


def test_check_decision_note_when_well_formed():
    answer = {"task_type": "regression", "kpi": "accuracy", "constraint": "no constraint"}

    result = check("m02.framing", answer)

    assert result.notes == ["this check validates the form only; the rubric grades your choices when the notebook is graded"]


def test_check_decision_no_note_when_malformed():
    result = check("m02.framing", {"task_type": "regression"})

    assert result.notes == []


# --- unknown ids ---------------------------------------------------------------------------------


def unknown_id_message(exercise_id) -> str:
    known = ", ".join(sorted(all_exercises()))
    return f"unknown exercise id {exercise_id!r}; check the id in the notebook's check cell. Known ids: {known}"


def test_check_unknown_id():
    with pytest.raises(UnknownExerciseError, match=f"^{re.escape(unknown_id_message('m03.mes'))}$"):
        check("m03.mes", correct_mse)


def test_check_unknown_id_lists_known_ids():
    with pytest.raises(UnknownExerciseError) as caught:
        check("m09.nothing", correct_mse)

    for exercise_id in all_exercises():
        assert exercise_id in str(caught.value)


def test_check_non_string_id():
    with pytest.raises(UnknownExerciseError, match=f"^{re.escape(unknown_id_message(3))}$"):
        check(3, correct_mse)


def test_unknown_id_is_key_error():
    with pytest.raises(KeyError):
        check("m03.mes", correct_mse)


def test_grade_unknown_id():
    with pytest.raises(UnknownExerciseError, match=f"^{re.escape(unknown_id_message('m03.mes'))}$"):
        grade("m03.mes", correct_mse, points=3, seed=HIDDEN_MSE_SEED)


def test_unknown_id_prints_nothing(capsys):
    with pytest.raises(UnknownExerciseError):
        check("m03.mes", correct_mse)

    assert capsys.readouterr().out == ""


# --- no expected values in feedback --------------------------------------------------------------


def test_reference_vectors_value():
    # The reference MSE of the fixed vectors, which no report may contain.
    assert reference_mse(*MSE_REFERENCE_CASES[0]) == 0.375


@pytest.mark.parametrize("wrong_mse", [sum_mse, n_minus_one_mse, unrelated_mse], ids=["sum", "n_minus_one", "unrelated"])
def test_check_report_hides_reference(capsys, wrong_mse):
    check("m03.mse", wrong_mse)
    report = capsys.readouterr().out

    assert "0.375" not in report
    assert ".375" not in report


@pytest.mark.parametrize("wrong_mse", [sum_mse, n_minus_one_mse, unrelated_mse], ids=["sum", "n_minus_one", "unrelated"])
def test_check_report_hides_generated_references(capsys, wrong_mse):
    check("m03.mse", wrong_mse)
    report = capsys.readouterr().out

    assert [text for text in reference_texts(PUBLIC_SEED) if text in report] == []


@pytest.mark.parametrize("wrong_mse", [sum_mse, n_minus_one_mse, unrelated_mse], ids=["sum", "n_minus_one", "unrelated"])
def test_grade_report_hides_generated_references(capsys, wrong_mse):
    grade("m03.mse", wrong_mse, points=3, seed=HIDDEN_MSE_SEED)
    report = capsys.readouterr().out

    assert [text for text in reference_texts(HIDDEN_MSE_SEED) if text in report] == []


def test_result_messages_hide_reference():
    result = check("m03.mse", unrelated_mse)

    assert [m for m in result.messages if "0.375" in m] == []


# --- grade ---------------------------------------------------------------------------------------


def test_grade_full_points():
    assert grade("m03.mse", correct_mse, points=3, seed=HIDDEN_MSE_SEED) == 3


def test_grade_rounds_to_four_decimals():
    # The Python loop fails only the timed group: 5 of 6 groups pass.
    assert grade("m03.mse", loop_mse, points=1, seed=HIDDEN_MSE_SEED) == round(5 / 6, 4)


def test_grade_scales_with_points():
    assert grade("m03.mse", sum_mse, points=2, seed=HIDDEN_MSE_SEED) == round(4 / 6 * 2, 4)


def test_grade_zero_points():
    assert grade("m03.mse", None, points=3, seed=HIDDEN_MSE_SEED) == 0.0


def test_grade_prints_report(capsys):
    grade("m03.mse", sum_mse, points=3, seed=HIDDEN_MSE_SEED)

    assert capsys.readouterr().out.splitlines()[0] == "m03.mse: not passed yet (4/6 case groups)"


def test_grade_uses_rubric():
    rubric = (
        "criteria:\n"
        "  - field: task_type\n    expected: regression\n    points: 1\n    reason: a fare is an amount\n"
        "  - field: kpi\n    expected: accuracy\n    points: 3\n    reason: this rubric wants accuracy\n"
    )
    answer = {"task_type": "regression", "kpi": "mean absolute error in dollars", "constraint": "no constraint"}

    assert grade("m02.framing", answer, points=2, rubric=rubric) == 0.5


def test_broken_exercise_file_spares_others(tmp_path, monkeypatch):
    import autograder.exercises as registry

    broken = Path(registry.__path__[0]) / "m99_broken.py"
    broken.write_text("raise RuntimeError('half-written file')\n", encoding="utf-8")
    try:
        assert registry.get_exercise("m03.mse").id == "m03.mse"
        with pytest.raises(UnknownExerciseError, match=r"^exercise 'm99\.one' could not be loaded because autograder\.exercises\.m99_broken failed to import \(RuntimeError: half-written file\)"):
            registry.get_exercise("m99.one")
    finally:
        broken.unlink()
        registry._BROKEN_MODULES.pop("m99_broken", None)
