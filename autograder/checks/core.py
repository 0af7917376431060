"""Case groups and the result of running them against a learner's answer.

Every check in this package is a list of case groups. A group is a plain function that
takes the learner's answer and raises ``AssertionError`` with a message naming the likely
mistake, so the same function serves ``check()`` in a notebook, a hidden-test cell and a
pytest test. The score of an answer is the fraction of groups it passes.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

CaseFunction = Callable[[Any], None]


@dataclass(frozen=True)
class CaseGroup:
    """One group of test cases, graded as a whole."""

    name: str
    run: CaseFunction
    hint: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class CaseOutcome:
    """Result of one case group: passed or not, and the message to show the learner."""

    group: str
    passed: bool
    message: str = ""
    weight: float = 1.0


@dataclass
class CheckResult:
    """The outcome of checking one answer to one exercise.

    ``score`` is the weighted fraction of case groups passed, in [0, 1]; ``messages`` holds
    one line per failed group, naming the group and the likely mistake, never an expected
    value.
    """

    exercise_id: str
    outcomes: list[CaseOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def score(self) -> float:
        total = sum(o.weight for o in self.outcomes)
        if total == 0:
            return 0.0
        return sum(o.weight for o in self.outcomes if o.passed) / total

    @property
    def messages(self) -> list[str]:
        failed = [f"{o.group}: {o.message}" for o in self.outcomes if not o.passed]
        return failed + list(self.notes)

    def report(self) -> str:
        """Format the short report that ``check()`` prints."""
        total = len(self.outcomes)
        passed = sum(o.passed for o in self.outcomes)
        verdict = "passed" if self.passed else "not passed yet"
        lines = [f"{self.exercise_id}: {verdict} ({passed}/{total} case groups)"]
        for outcome in self.outcomes:
            mark = "ok  " if outcome.passed else "FAIL"
            line = f"  {mark} {outcome.group}"
            if not outcome.passed and outcome.message:
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
            group.run(answer)
    except AssertionError as error:
        message = str(error) or "a case in this group failed"
        return CaseOutcome(group.name, False, _with_hint(message, group.hint), group.weight)
    except NotImplementedError:
        message = "not implemented yet: replace `raise NotImplementedError()` with your code"
        return CaseOutcome(group.name, False, message, group.weight)
    except Exception as error:  # noqa: BLE001 - any learner error fails the group, never the check
        message = f"your code raised {type(error).__name__}: {_first_line(error)}"
        return CaseOutcome(group.name, False, _with_hint(message, group.hint), group.weight)
    return CaseOutcome(group.name, True, "", group.weight)


def _with_hint(message: str, hint: str) -> str:
    return f"{message} (hint: {hint})" if hint else message


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else "(no message)"
