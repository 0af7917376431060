"""Per-learner HTML feedback of one graded submission.

The page shows scores, statuses, reasons and hints, and what to do next for each status.
It is built from plain values copied out of the result, so neither the executed notebook
(``NotebookResult.executed``) nor any cell source can reach the template.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from pathlib import Path

import jinja2

from autograder.grading.results import STATUSES, NotebookResult, QuestionResult, SubmissionResult

TEMPLATE = "feedback.html.j2"

# One line per status, shown next to the reason of a question, notebook or submission.
NEXT_STEPS = {
    "sandbox error": "The grading sandbox failed, so your notebook could not be graded. Ask your instructor to grade it again.",
    "tampered": (
        "The graded cells were changed or the grading functions were redefined, so this was graded from "
        "the instructor's cells. Leave the graded cells as they came, do not redefine the grading functions, and submit again."
    ),
    "error": "Fix the error in the reason, run the notebook from the top to check it, and submit again.",
    "timed out": "Make the cell finish within the time limit, for example with less data or fewer iterations, and submit again.",
    "invalid notebook": "Re-download the notebook from JupyterLab and submit it again.",
}
NEXT_STEP_POINTS_LOST = "Read the hints, fix your answer, and submit again."
NEXT_STEP_FULL_MARKS = "Nothing to do: full marks."
NEXT_STEP_NO_QUESTIONS = "No graded question was found. Check that you submitted this module's notebooks."


def render_feedback(result: SubmissionResult, *, course_title: str = "Azure Machine Learning course") -> str:
    """Render the feedback page of ``result`` as one self-contained HTML document.

    Raise ``ValueError`` when a status of the submission, a notebook or a question is not
    one of ``results.STATUSES``.
    """
    _check_statuses(result)
    template = _environment().get_template(TEMPLATE)
    return template.render(
        course_title=course_title,
        learner=result.learner,
        module=result.module,
        score=_format_points(result.score),
        max_score=_format_points(result.max_score),
        percent=_format_percent(result.score, result.max_score),
        status=result.status,
        reason=result.reason,
        next_step=_submission_next_step(result),
        sandboxed=result.sandboxed,
        notebooks=[_notebook_view(notebook) for notebook in result.notebooks],
    )


def write_feedback(result: SubmissionResult, folder: Path, *, course_title: str = "Azure Machine Learning course") -> Path:
    """Write the feedback page of ``result`` to ``folder/<learner>/<module>.html`` and return its path.

    ``folder`` must exist, so that a typo in the path fails here. The learner's subfolder is
    created. The page is written to a temporary file in the same folder and moved into place
    with ``os.replace``, so a reader never sees a partly written page.
    """
    folder = Path(folder)
    _check_feedback_folder(folder)
    learner_folder = folder / _path_component(result.learner, "learner")
    target = learner_folder / f"{_path_component(result.module, 'module')}.html"
    html = render_feedback(result, course_title=course_title)

    learner_folder.mkdir(exist_ok=True)
    temporary = learner_folder / f".{target.name}.{secrets.token_hex(8)}.tmp"
    # os.open with mode 0o666 lets the umask set the permissions, as for any new file.
    # tempfile.mkstemp would make the page readable by its owner only.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(html)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return target


@functools.cache
def _environment() -> jinja2.Environment:
    # autoescape=True escapes every value, because select_autoescape(["html"]) matches the
    # name's last suffix and would leave "feedback.html.j2" unescaped.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("autograder", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _notebook_view(notebook: NotebookResult) -> dict:
    """Copy the fields the page shows, and nothing else, out of one notebook's result."""
    return {
        "name": notebook.name,
        "status": notebook.status,
        "reason": notebook.reason,
        "next_step": NEXT_STEPS.get(notebook.status, ""),
        "score": _format_points(sum(question.score for question in notebook.questions)),
        "max_score": _format_points(sum(question.max_score for question in notebook.questions)),
        "questions": [_question_view(question) for question in notebook.questions],
    }


def _question_view(question: QuestionResult) -> dict:
    return {
        "exercise_id": question.exercise_id,
        "score": _format_points(question.score),
        "max_score": _format_points(question.max_score),
        "status": question.status,
        "reason": question.reason,
        "hints": list(question.hints),
        "next_step": _question_next_step(question),
    }


def _question_next_step(question: QuestionResult) -> str:
    if question.status != "graded":
        return NEXT_STEPS[question.status]
    return NEXT_STEP_FULL_MARKS if question.score >= question.max_score else NEXT_STEP_POINTS_LOST


def _submission_next_step(result: SubmissionResult) -> str:
    if result.status != "graded":
        return NEXT_STEPS[result.status]
    if not result.questions:
        return NEXT_STEP_NO_QUESTIONS
    return NEXT_STEP_FULL_MARKS if result.score >= result.max_score else NEXT_STEP_POINTS_LOST


def _check_statuses(result: SubmissionResult) -> None:
    places = [(f"submission {result.learner}/{result.module}", result.status)]
    for notebook in result.notebooks:
        places.append((f"notebook {notebook.name}", notebook.status))
        places += [(f"question {question.grade_id} of {notebook.name}", question.status) for question in notebook.questions]
    for place, status in places:
        if status not in STATUSES:
            raise ValueError(f"invalid status {status!r} of {place}; expected one of {', '.join(STATUSES)}")


def _check_feedback_folder(folder: Path) -> None:
    if folder.is_dir():
        return
    # The folder is not created here, because creating it would hide a typo in the path and
    # put the pages where no learner finds them.
    blocker = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise NotADirectoryError(f"cannot write feedback to {folder}: {blocker} is a file, not a folder; pass a folder path")
    raise FileNotFoundError(f"cannot write feedback to {folder}: the folder does not exist; create it or pass another folder")


def _path_component(name: str, what: str) -> str:
    """Return ``name`` when it is usable as one file or folder name, else raise ``ValueError``."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"invalid {what} {name!r} for a feedback path; expected one folder or file name without / or \\")
    return name


def _format_points(points: float) -> str:
    """Format points with at most two decimals and no trailing zeros: 10.0 as "10", 7.50 as "7.5"."""
    text = f"{points:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _format_percent(score: float, max_score: float) -> str:
    """Format ``score`` as a percent of ``max_score``, or return "" when there are no points to earn.

    The percent is rounded to one decimal as `azml-course progress` rounds it, so the page
    and the progress table show the same number.
    """
    if max_score <= 0:
        return ""
    text = f"{round(100 * score / max_score, 1):.1f}".removesuffix(".0")
    return f"{text}%"
