"""Tests of the per-learner HTML feedback page and of writing it to the feedback folder.

The pages are read back with the standard library's HTML parser, and once through a real
headless Chromium, so the checks see the table a learner sees and not only the markup text.
"""

from __future__ import annotations

import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from autograder.grading import feedback
from autograder.grading.feedback import NEXT_STEPS, render_feedback, write_feedback
from autograder.grading.results import STATUSES, NotebookResult, QuestionResult, SubmissionResult

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_HINT = "<script>alert('x')</script> looks like log base 10 instead of the natural log"
EXECUTED = (
    '{"cells": [{"cell_type": "code", "source": "### BEGIN HIDDEN TESTS\\n'
    'assert mse(y, p) == hidden_marker_123\\n### END HIDDEN TESTS"}]}'
)


def question(exercise_id: str, score: float, max_score: float, **fields) -> QuestionResult:
    return QuestionResult(
        notebook="m03-metrics.ipynb", grade_id=f"{exercise_id}-grade-id", exercise_id=exercise_id,
        score=score, max_score=max_score, **fields,
    )


def submission(*questions: QuestionResult, **fields) -> SubmissionResult:
    notebook = NotebookResult(name="m03-metrics.ipynb", questions=questions, executed=EXECUTED)
    return SubmissionResult(learner="alice", module="m03", digest="digest-5f2a", notebooks=(notebook,), **fields)


@pytest.fixture
def result() -> SubmissionResult:
    """A timed-out submission of two notebooks: one graded with three questions, one unreadable."""
    metrics = NotebookResult(
        name="m03-metrics.ipynb",
        executed=EXECUTED,
        questions=(
            question("m03.mse", 2, 2),
            question(
                "m03.log_loss", 1.5, 3, reason="1 of 2 case groups failed",
                hints=(SCRIPT_HINT, "case group 'clipping' failed: probabilities of 0 and 1 give inf"),
            ),
            question("m03.r2", 0, 2, status="timed out", reason="the cell ran for more than 30 s"),
        ),
    )
    broken = NotebookResult(
        name="m03-decisions.ipynb", status="invalid notebook",
        reason="the notebook is not valid JSON: Expecting value: line 1 column 1 (char 0)",
    )
    return SubmissionResult(
        learner="alice", module="m03", digest="digest-5f2a", notebooks=(metrics, broken),
        status="timed out", reason="1 cell timed out", sandboxed=True, seconds=41.5,
        notes=("note-for-the-instructor-only",),
    )


class PageParser(HTMLParser):
    """Collect the title, the total score line and each body row's cells and hints of a page."""

    def __init__(self):
        super().__init__()
        self.title = ""
        self.total_score = ""
        self.rows: list[list[str]] = []
        self.hints: list[list[str]] = []
        self.script_elements = 0
        self._open: list[str] = []
        self._in_tbody = False
        self._cell: list[str] | None = None
        self._hint: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.script_elements += 1
        if tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.rows.append([])
            self.hints.append([])
        elif tag in ("th", "td") and self._in_tbody:
            self._cell = []
        elif tag == "li" and self._cell is not None:
            self._hint = []
        self._open.append(attributes.get("id") or tag)

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_tbody = False
        elif tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "li" and self._hint is not None:
            self.hints[-1].append("".join(self._hint).strip())
            self._hint = None
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        if "title" in self._open:
            self.title += data
        if "total-score" in self._open:
            self.total_score += data
        if self._cell is not None:
            self._cell.append(data)
        if self._hint is not None:
            self._hint.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


EXPECTED_ROWS = [
    ["m03.mse", "2 / 2", "graded", "none", "none", feedback.NEXT_STEP_FULL_MARKS],
    [
        "m03.log_loss", "1.5 / 3", "graded", "1 of 2 case groups failed",
        f"{SCRIPT_HINT} case group 'clipping' failed: probabilities of 0 and 1 give inf",
        feedback.NEXT_STEP_POINTS_LOST,
    ],
    ["m03.r2", "0 / 2", "timed out", "the cell ran for more than 30 s", "none", NEXT_STEPS["timed out"]],
]


# --- render_feedback ----------------------------------------------------------------------------


def test_render_total_score_in_title_and_header(result):
    page = parse(render_feedback(result))

    assert page.title == "Feedback on m03 for alice: 3.5 / 7 points (50%)"
    assert page.total_score == "Score: 3.5 / 7 points (50%)"


def test_render_question_rows(result):
    page = parse(render_feedback(result))

    assert page.rows == EXPECTED_ROWS
    assert page.hints == [[], [SCRIPT_HINT, "case group 'clipping' failed: probabilities of 0 and 1 give inf"], []]


def test_render_submission_and_notebook_status(result):
    html = render_feedback(result)

    assert '<p>Status: <span class="status status-timed-out">timed out</span></p>' in html
    assert '<span class="reason">1 cell timed out</span>' in html
    assert "<p>Notebook status: <span class=\"status status-invalid-notebook\">invalid notebook</span></p>" in html
    assert "the notebook is not valid JSON: Expecting value: line 1 column 1 (char 0)" in html
    assert f"What to do next: {NEXT_STEPS['invalid notebook']}" in html
    assert html.count(f"What to do next: {NEXT_STEPS['timed out']}") == 1
    assert "No graded question was found in this notebook." in html


def test_render_escapes_hint_markup(result):
    html = render_feedback(result)

    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; looks like log base 10" in html
    assert "<script" not in html.lower()
    assert parse(html).script_elements == 0


def test_render_escapes_every_text_field():
    markup = "<b>bold</b>"
    result = SubmissionResult(
        learner=markup, module=markup, digest="d", status="error", reason=markup,
        notebooks=(NotebookResult(name=markup, status="error", reason=markup, questions=(
            QuestionResult(notebook=markup, grade_id="g", exercise_id=markup, score=0, max_score=1,
                           status="error", reason=markup, hints=(markup,)),
        )),),
    )

    html = render_feedback(result, course_title=markup)

    assert "<b>" not in html
    # Learner and module in the title and the heading (4), the course title, the submission's
    # reason, the notebook's heading, caption and reason, and the question's exercise id,
    # reason and hint.
    assert html.count("&lt;b&gt;bold&lt;/b&gt;") == 12


def test_render_never_shows_executed_notebook(result):
    html = render_feedback(result)

    assert "### BEGIN HIDDEN TESTS" not in html
    assert "hidden_marker_123" not in html
    assert "assert mse" not in html


def test_render_shows_only_listed_fields(result):
    html = render_feedback(result)

    assert "digest-5f2a" not in html
    assert "note-for-the-instructor-only" not in html
    assert "grade-id" not in html
    assert "41.5" not in html


def test_render_page_is_self_contained(result):
    html = render_feedback(result)

    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert '<meta charset="utf-8">' in html
    for external in ("http://", "https://", "src=", "<link", "@import", "url("):
        assert external not in html


def test_render_table_headers(result):
    html = render_feedback(result)

    headers = re.findall(r'<th scope="col">([^<]+)</th>', html)
    assert headers == ["Exercise", "Score", "Status", "Reason", "Hints", "What to do next"]
    assert html.count('<th scope="row">') == 3
    assert "<caption>Questions of m03-metrics.ipynb: 3.5 / 7 points</caption>" in html


def test_render_warns_when_not_sandboxed():
    html = render_feedback(submission(question("m03.mse", 1, 1), sandboxed=False))

    assert "<strong>Graded without a sandbox.</strong>" in html


def test_render_no_warning_when_sandboxed():
    html = render_feedback(submission(question("m03.mse", 1, 1), sandboxed=True))

    assert "without a sandbox" not in html


@pytest.mark.parametrize("status", [status for status in STATUSES if status != "graded"])
def test_render_next_step_per_question_status(status):
    html = render_feedback(submission(question("m03.mse", 0, 2, status=status, reason="why it failed"), status=status))
    page = parse(html)

    assert page.rows == [["m03.mse", "0 / 2", status, "why it failed", "none", NEXT_STEPS[status]]]
    assert f"What to do next: {escape(NEXT_STEPS[status])}" in html


def test_tampered_next_step_names_instructor_cells():
    assert "graded from the instructor's cells" in NEXT_STEPS["tampered"]
    assert "grading functions were redefined" in NEXT_STEPS["tampered"]


def test_render_full_marks():
    html = render_feedback(submission(question("m03.mse", 2, 2), question("m03.r2", 3, 3)))

    assert parse(html).total_score == "Score: 5 / 5 points (100%)"
    assert f"What to do next: {feedback.NEXT_STEP_FULL_MARKS}" in html


def test_render_without_questions():
    result = SubmissionResult(learner="bob", module="m04", digest="d")

    html = render_feedback(result)

    assert parse(html).total_score == "Score: 0 / 0 points"
    assert f"What to do next: {escape(feedback.NEXT_STEP_NO_QUESTIONS)}" in html


@pytest.mark.parametrize(
    ("score", "max_score", "expected"),
    [
        (2, 3, "2 / 3 points (66.7%)"),
        (4.02, 5, "4.02 / 5 points (80.4%)"),
        (9.99, 10, "9.99 / 10 points (99.9%)"),
        (0.3333, 1, "0.33 / 1 points (33.3%)"),
        (0, 4, "0 / 4 points (0%)"),
    ],
)
def test_render_score_formatting(score, max_score, expected):
    html = render_feedback(submission(question("m03.mse", score, max_score)))

    assert parse(html).total_score == f"Score: {expected}"


def test_render_course_title():
    html = render_feedback(submission(question("m03.mse", 1, 1)), course_title="Azure ML, spring cohort")

    assert '<p class="course">Azure ML, spring cohort</p>' in html


def test_render_unknown_status_raises():
    result = submission(question("m03.mse", 0, 1, status="crashed"))

    with pytest.raises(ValueError, match=r"^invalid status 'crashed' of question m03\.mse-grade-id of m03-metrics\.ipynb; expected one of sandbox error, "):
        render_feedback(result)


# --- write_feedback -----------------------------------------------------------------------------


def test_write_creates_learner_page(result, tmp_path):
    path = write_feedback(result, tmp_path)

    assert path == tmp_path / "alice" / "m03.html"
    assert path.read_text(encoding="utf-8") == render_feedback(result)
    assert sorted(p.name for p in (tmp_path / "alice").iterdir()) == ["m03.html"]


def test_write_replaces_page_atomically(result, tmp_path, monkeypatch):
    old = write_feedback(submission(question("m03.mse", 0, 2)), tmp_path)
    old_inode = old.stat().st_ino
    replaced = []
    original_replace = os.replace

    def recording_replace(source, target):
        replaced.append((Path(source), Path(target), Path(source).read_text(encoding="utf-8")))
        return original_replace(source, target)

    monkeypatch.setattr(os, "replace", recording_replace)
    path = write_feedback(result, tmp_path)

    ((source, target, written),) = replaced
    assert target == path
    assert source.parent == path.parent
    assert source.name.startswith(".m03.html.")
    assert written == render_feedback(result)
    assert path.read_text(encoding="utf-8") == render_feedback(result)
    assert path.stat().st_ino != old_inode
    assert sorted(p.name for p in path.parent.iterdir()) == ["m03.html"]


def test_write_keeps_old_page_when_replace_fails(result, tmp_path, monkeypatch):
    path = write_feedback(submission(question("m03.mse", 0, 2)), tmp_path)
    old_text = path.read_text(encoding="utf-8")

    def failing_replace(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left on device"):
        write_feedback(result, tmp_path)

    assert path.read_text(encoding="utf-8") == old_text
    assert sorted(p.name for p in path.parent.iterdir()) == ["m03.html"]


def test_write_page_permissions_follow_umask(result, tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_feedback(result, tmp_path)
    finally:
        os.umask(umask)

    assert path.stat().st_mode & 0o777 == 0o644


def test_write_missing_folder_raises(result, tmp_path):
    folder = tmp_path / "feedbak"

    with pytest.raises(FileNotFoundError, match=rf"^cannot write feedback to {re.escape(str(folder))}: the folder does not exist; create it or pass another folder$"):
        write_feedback(result, folder)

    assert not folder.exists()


def test_write_folder_is_file_raises(result, tmp_path):
    blocker = tmp_path / "feedback"
    blocker.write_text("not a folder", encoding="utf-8")

    with pytest.raises(NotADirectoryError, match=rf"^cannot write feedback to {re.escape(str(blocker / 'week1'))}: {re.escape(str(blocker))} is a file, not a folder; pass a folder path$"):
        write_feedback(result, blocker / "week1")


@pytest.mark.parametrize("learner", ["", ".", "..", "../bob", "alice/bob", "alice\\bob"])
def test_write_invalid_learner_raises(tmp_path, learner):
    result = SubmissionResult(learner=learner, module="m03", digest="d")

    with pytest.raises(ValueError, match=r"^invalid learner .* for a feedback path; expected one folder or file name"):
        write_feedback(result, tmp_path)

    assert list(tmp_path.iterdir()) == []


# --- in a real browser --------------------------------------------------------------------------


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium")
def test_browser_renders_scores_and_rows(result, tmp_path):
    folder = tmp_path / "feedback"
    folder.mkdir()
    path = write_feedback(result, folder)
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
        # The page is a local file. These flags turn off Chromium's own background requests,
        # and the resolver rule fails every host name lookup, so Chromium reaches no host by name.
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--dump-dom", path.as_uri(),
    ]

    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert completed.returncode == 0, completed.stderr
    dom = parse(completed.stdout)
    assert dom.title == "Feedback on m03 for alice: 3.5 / 7 points (50%)"
    assert dom.total_score == "Score: 3.5 / 7 points (50%)"
    assert dom.rows == EXPECTED_ROWS
    assert dom.hints[1][0] == SCRIPT_HINT
    assert dom.script_elements == 0
