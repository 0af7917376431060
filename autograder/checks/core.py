"""Case groups and the result of running them against a learner's answer.

Every check in this package is a list of case groups. A group is a plain function that
takes the learner's answer and raises ``AssertionError`` with a message naming the likely
mistake, so the same function serves ``check()`` in a notebook, a hidden-test cell and a
pytest test. A group may instead raise ``PartialCredit`` to earn part of its weight, or
return a sentence that explains why the answer is right. The score of an answer is the
weighted fraction of the groups' credit.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

CaseFunction = Callable[[Any], "str | None"]


class PartialCredit(AssertionError):
    """Raised by a case group to earn ``fraction`` (between 0 and 1) of its weight."""

    def __init__(self, fraction: float, message: str):
        super().__init__(message)
        self.fraction = min(max(float(fraction), 0.0), 1.0)

    def __reduce__(self):
        return (type(self), (self.fraction, str(self)))


@dataclass(frozen=True)
class CaseGroup:
    """One group of test cases, graded as a whole."""

    name: str
    run: CaseFunction
    hint: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class CaseOutcome:
    """Result of one case group: passed or not, the message to show, and the credit earned.

    ``earned`` is the fraction of ``weight`` the group earned; it defaults to 1 for a
    passed group and 0 for a failed one.
    """

    group: str
    passed: bool
    message: str = ""
    weight: float = 1.0
    earned: float | None = None

    @property
    def credit(self) -> float:
        if self.earned is not None:
            return self.earned
        return 1.0 if self.passed else 0.0


@dataclass
class CheckResult:
    """The outcome of checking one answer to one exercise.

    ``score`` is the weighted fraction of credit the case groups earned, in [0, 1];
    ``messages`` holds one line per group not fully passed, naming the group and the likely
    mistake, never an expected value.
    """

    exercise_id: str
    outcomes: list[CaseOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passed_label: str = "passed"

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def score(self) -> float:
        total = sum(o.weight for o in self.outcomes)
        if total == 0:
            return 0.0
        return sum(o.weight * o.credit for o in self.outcomes) / total

    @property
    def messages(self) -> list[str]:
        failed = [f"{o.group}: {o.message}" for o in self.outcomes if not o.passed]
        return failed + list(self.notes)

    def report(self) -> str:
        """Format the short report that ``check()`` prints."""
        total = len(self.outcomes)
        passed = sum(o.passed for o in self.outcomes)
        verdict = self.passed_label if self.passed else "not passed yet"
        lines = [f"{self.exercise_id}: {verdict} ({passed}/{total} case groups)"]
        for outcome in self.outcomes:
            line = f"  {_mark(outcome)} {outcome.group}"
            if outcome.message:
                line += f": {outcome.message}"
            lines.append(line)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"CheckResult({self.exercise_id!r}, passed={self.passed}, score={self.score:.2f})"


def run_groups(exercise_id: str, groups: list[CaseGroup], answer: Any) -> CheckResult:
    """Run every case group on ``answer`` and collect the outcomes.

    A group fails on ``AssertionError`` with its message, or on any other exception raised
    by the learner's code, reported by type and text. Output the learner's code writes to
    stdout or stderr, warnings included, is swallowed: a correct answer that warns keeps
    its points, and nbgrader would score a test cell that wrote to stderr as zero.
    """
    result = CheckResult(exercise_id)
    for group in groups:
        result.outcomes.append(_run_group(group, answer))
    return result


def _run_group(group: CaseGroup, answer: Any) -> CaseOutcome:
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            explanation = group.run(answer)
    except PartialCredit as partial:
        return CaseOutcome(group.name, False, str(partial), group.weight, partial.fraction)
    except AssertionError as error:
        message = str(error) or "a case in this group failed"
        return CaseOutcome(group.name, False, _with_hint(message, group.hint), group.weight)
    except NotImplementedError:
        message = "not implemented yet: replace `raise NotImplementedError()` with your code"
        return CaseOutcome(group.name, False, message, group.weight)
    except Exception as error:  # noqa: BLE001 - any learner error fails the group, never the check
        message = f"your code raised {type(error).__name__}: {_first_line(error)}"
        return CaseOutcome(group.name, False, _with_hint(message, group.hint), group.weight)
    return CaseOutcome(group.name, True, explanation if isinstance(explanation, str) else "", group.weight)


def _mark(outcome: CaseOutcome) -> str:
    if outcome.passed:
        return "ok  "
    return "PART" if outcome.credit > 0 else "FAIL"


def _with_hint(message: str, hint: str) -> str:
    return f"{message} (hint: {hint})" if hint else message


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else "(no message)"
