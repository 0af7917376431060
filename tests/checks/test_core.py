"""Tests of case groups, their scoring and the report that ``check()`` prints."""

from __future__ import annotations

import sys
import warnings

import pytest

from autograder.checks.core import CaseGroup, CaseOutcome, CheckResult, run_groups

NOT_IMPLEMENTED = "not implemented yet: replace `raise NotImplementedError()` with your code"


def passes(answer):
    pass


def fails_with(message: str):
    def run(answer):
        raise AssertionError(message)

    return run


def call_answer(answer):
    answer()


def test_run_groups_score_is_weighted_fraction():
    groups = [
        CaseGroup("light", fails_with("wrong"), weight=1.0),
        CaseGroup("heavy", passes, weight=3.0),
    ]

    result = run_groups("ex.demo", groups, None)

    assert result.score == pytest.approx(0.75)


def test_run_groups_all_passed():
    result = run_groups("ex.demo", [CaseGroup("a", passes), CaseGroup("b", passes)], None)

    assert result.passed is True
    assert result.score == 1.0
    assert result.messages == []


def test_run_groups_one_failed():
    result = run_groups("ex.demo", [CaseGroup("a", passes), CaseGroup("b", fails_with("off by one"))], None)

    assert result.passed is False
    assert result.score == 0.5
    assert result.messages == ["b: off by one"]


def test_run_groups_keeps_group_order():
    names = ["first", "second", "third"]

    result = run_groups("ex.demo", [CaseGroup(name, passes) for name in names], None)

    assert [outcome.group for outcome in result.outcomes] == names


def test_run_groups_answer_to_every_group():
    seen = []

    run_groups("ex.demo", [CaseGroup("a", seen.append), CaseGroup("b", seen.append)], "the answer")

    assert seen == ["the answer", "the answer"]


def test_result_without_groups_not_passed():
    result = CheckResult("ex.empty")

    assert result.passed is False
    assert result.score == 0.0


def test_result_zero_weights_score_zero():
    result = CheckResult("ex.demo", [CaseOutcome("a", True, weight=0.0)])

    assert result.score == 0.0


def test_messages_list_notes_after_failures():
    result = CheckResult("ex.demo", [CaseOutcome("a", False, "wrong sign")], notes=["graded later"])

    assert result.messages == ["a: wrong sign", "graded later"]


def test_empty_assertion_generic_message():
    result = run_groups("ex.demo", [CaseGroup("a", fails_with(""))], None)

    assert result.messages == ["a: a case in this group failed"]


def test_assertion_message_gets_hint():
    result = run_groups("ex.demo", [CaseGroup("a", fails_with("wrong sign"), hint="subtract, do not add")], None)

    assert result.messages == ["a: wrong sign (hint: subtract, do not add)"]


def test_report_text():
    groups = [
        CaseGroup("shape", passes),
        CaseGroup("values", fails_with("looks like a sum")),
        CaseGroup("silent", fails_with("")),
    ]
    result = run_groups("m03.mse", groups, None)
    result.notes.append("graded later")

    assert result.report() == (
        "m03.mse: not passed yet (1/3 case groups)\n"
        "  ok   shape\n"
        "  FAIL values: looks like a sum\n"
        "  FAIL silent: a case in this group failed\n"
        "  note: graded later"
    )


def test_report_passed_verdict():
    result = run_groups("m03.mse", [CaseGroup("shape", passes)], None)

    assert result.report() == "m03.mse: passed (1/1 case groups)\n  ok   shape"


def test_result_repr():
    result = run_groups("m03.mse", [CaseGroup("a", passes), CaseGroup("b", fails_with("x"))], None)

    assert repr(result) == "CheckResult('m03.mse', passed=False, score=0.50)"


def test_type_error_fails_only_its_group():
    def broken(answer):
        return len(answer) + "1"

    result = run_groups("ex.demo", [CaseGroup("a", passes), CaseGroup("b", broken), CaseGroup("c", passes)], [1])

    assert [outcome.passed for outcome in result.outcomes] == [True, False, True]
    assert result.messages == ['b: your code raised TypeError: unsupported operand type(s) for +: \'int\' and \'str\'']


def test_learner_error_message_gets_hint():
    def learner():
        raise TypeError("bad operand")

    result = run_groups("ex.demo", [CaseGroup("a", call_answer, hint="use numpy arrays")], learner)

    assert result.messages == ["a: your code raised TypeError: bad operand (hint: use numpy arrays)"]


def test_learner_error_keeps_first_line_only():
    def learner():
        raise ValueError("first line\nsecond line")

    result = run_groups("ex.demo", [CaseGroup("a", call_answer)], learner)

    assert result.messages == ["a: your code raised ValueError: first line"]


def test_learner_error_without_text():
    def learner():
        raise KeyError()

    result = run_groups("ex.demo", [CaseGroup("a", call_answer)], learner)

    assert result.messages == ["a: your code raised KeyError: (no message)"]


def test_learner_error_text_cut_to_200_characters():
    def learner():
        raise RuntimeError("x" * 500)

    result = run_groups("ex.demo", [CaseGroup("a", call_answer)], learner)

    assert result.messages == ["a: your code raised RuntimeError: " + "x" * 200]


def test_not_implemented_fails_only_its_group():
    def learner():
        raise NotImplementedError()

    result = run_groups("ex.demo", [CaseGroup("a", call_answer, hint="ignored"), CaseGroup("b", passes)], learner)

    assert [outcome.passed for outcome in result.outcomes] == [False, True]
    assert result.messages == [f"a: {NOT_IMPLEMENTED}"]


def noisy_learner():
    print("debug output")
    print("to stderr", file=sys.stderr)
    sys.stderr.write("raw write\n")
    warnings.warn("deprecated call", DeprecationWarning)
    warnings.warn("runtime trouble", RuntimeWarning)


def test_learner_output_swallowed(capfd):
    result = run_groups("ex.demo", [CaseGroup("a", call_answer)], noisy_learner)
    out, err = capfd.readouterr()

    assert result.passed is True
    assert out == ""
    assert err == ""


def test_learner_output_swallowed_on_failure(capsys):
    def learner():
        noisy_learner()
        raise TypeError("bad operand")

    result = run_groups("ex.demo", [CaseGroup("a", call_answer)], learner)
    out, err = capsys.readouterr()

    assert result.passed is False
    assert out == ""
    assert err == ""


def test_learner_warnings_swallowed():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_groups("ex.demo", [CaseGroup("a", call_answer)], noisy_learner)

    assert caught == []


def test_warning_filters_restored():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_groups("ex.demo", [CaseGroup("a", call_answer)], noisy_learner)
        warnings.warn("after the check", UserWarning)

    assert [str(w.message) for w in caught] == ["after the check"]


def test_streams_restored_after_run(capsys):
    run_groups("ex.demo", [CaseGroup("a", call_answer)], noisy_learner)
    print("after the check")

    assert capsys.readouterr().out == "after the check\n"
