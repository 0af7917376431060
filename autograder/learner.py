"""What a notebook calls: ``check()`` for instant feedback, ``grade()`` in hidden-test cells."""

from __future__ import annotations

from typing import Any

from autograder.checks.core import CheckResult, run_groups
from autograder.exercises import get_exercise


def check(exercise_id: str, answer: Any) -> CheckResult:
    """Check ``answer`` against the public cases of an exercise and print a short report.

    Parameters
    ----------
    exercise_id : str
        The exercise id shown in the notebook, such as ``"m03.mse"``.
    answer : object
        What the exercise asks for: a function, an azure-ai-ml entity or a dict.

    Returns
    -------
    CheckResult
        ``passed``, ``score`` in [0, 1] and ``messages``, one per failed case group.
        The report names the failing case and the likely mistake, never an expected value.
    """
    exercise = get_exercise(exercise_id)
    result = run_groups(exercise.id, exercise.public_groups(), answer)
    if exercise.kind == "decision":
        # The public check of a decision validates only the form, so it must not read as "right".
        result.passed_label = "well-formed"
        if result.passed:
            result.notes.append("this check validates the form only; the rubric grades your choices when the notebook is graded")
    print(result.report())
    return result


def grade(exercise_id: str, answer: Any, *, points: float, **grading_data: Any) -> float | None:
    """Grade ``answer`` on every case group; print the report and return the points earned.

    Hidden-test cells end with this call: nbgrader reads the number the cell returns as the
    partial credit of the cell, so ``points`` must equal the cell's points. ``grading_data``
    holds what only the instructor's notebook has, such as ``seed=`` for generated inputs or
    ``rubric=`` for a decision.

    With ``AZML_GRADING_RECORD=1`` in the environment, as in a grading kernel, the answer is
    recorded instead of scored, and the call returns None: the grader scores the recording
    in its own process, out of reach of the learner's code (see
    :mod:`autograder.grading.replay`).
    """
    exercise = get_exercise(exercise_id)
    try:
        groups = exercise.graded_groups(**grading_data)
    except TypeError as error:
        raise TypeError(
            f"invalid grading data {sorted(grading_data)} for {exercise_id}: {error}; "
            "pass what the exercise takes, such as seed=<int> or rubric=<YAML>"
        ) from None

    # Imported here, so that `import autograder` in a learner's notebook stays quick.
    from autograder.grading.recording import record_answer, recording_enabled

    if recording_enabled():
        record_answer(exercise.id, answer, grading_data)
        print(f"answer to {exercise.id} recorded for grading")
        return None

    result = run_groups(exercise.id, groups, answer)
    print(result.report())
    return round(result.score * points, 4)
