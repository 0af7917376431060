"""Autograde a module for a cohort: parallel, confined, resumable.

The instructor's process prepares one task per learner (notebooks as JSON, support files
as bytes), hands the tasks to a local process pool or a Dask cluster, and writes each
result as it arrives: grades into nbgrader's gradebook, executed notebooks, the learner's
HTML feedback and, last, the outcome row with the digest of what was graded. A run killed
at any moment and started again skips the submissions whose outcome row holds the same
digest and grades the rest, so every submission is graded exactly once; ``force`` regrades.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import CURRICULUM_FILE, SOURCE_DIRECTORY, nbgrader_config, nbgrader_environment
from autograder.curriculum import load_curriculum, module_by_id
from autograder.errors import SubmissionError
from autograder.grading.feedback import write_feedback
from autograder.grading.gradebook import save_grades
from autograder.grading.results import SubmissionResult
from autograder.grading.runner import NotebookTask, SubmissionTask, grade_submission
from autograder.grading.sandbox import Limits, SandboxPolicy, require_bubblewrap
from autograder.grading.submissions import Submission, find_submissions
from autograder.progress.store import Outcome, load_outcomes, open_store, record

# Libraries slow to import that a kernel imports before the learner's code when the module's
# notebooks use them, so a cell's time limit is not spent on the import.
HEAVY_IMPORTS = ("azure.ai.ml", "sklearn", "scipy", "pandas")
_IMPORT = re.compile(r"^\s*(?:from|import)\s+(" + "|".join(re.escape(name) for name in HEAVY_IMPORTS) + r")\b", re.MULTILINE)

# A learner's own support files (scripts, data) travel with the task; larger ones are left out.
MAX_SUPPORT_FILE_BYTES = 5 * 2**20


@dataclass(frozen=True)
class GradingOptions:
    """Settings of one grading run.

    ``jobs`` is the number of local worker processes; ``scheduler`` (``tcp://host:port``)
    sends the work to a Dask cluster instead. ``sandbox=False`` runs learner code with
    rlimits only, which the report and the feedback state.
    """

    gradebook_url: str
    autograded_directory: Path
    feedback_directory: Path
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    scheduler: str | None = None
    sandbox: bool = True
    force: bool = False
    limits: Limits = Limits()


@dataclass(frozen=True)
class RunReport:
    """Summary of a grading run: the results it produced and the submissions it skipped."""

    results: tuple[SubmissionResult, ...]
    skipped: tuple[Outcome, ...]
    sandboxed: bool

    @property
    def all_graded(self) -> bool:
        """True when every submission of the run was fully graded (its status is "graded")."""
        return all(result.status == "graded" for result in self.results) and all(o.status == "graded" for o in self.skipped)


def autograde_module(
    course_root: Path,
    submissions_path: Path,
    module_id: str,
    options: GradingOptions,
    on_result: Callable[[SubmissionResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunReport:
    """Grade every learner's submission of ``module_id`` and record the results.

    ``on_start`` receives the number of submissions to grade; ``on_result`` is called as
    each one is recorded, for progress output.
    """
    module = module_by_id(load_curriculum(course_root / CURRICULUM_FILE), module_id)
    if not module.available:
        raise SubmissionError(f"module {module_id} has no exercises yet, so there is nothing to grade; pick an available module")
    if options.sandbox:
        require_bubblewrap()
    engine = open_store(options.gradebook_url)
    submissions = find_submissions(submissions_path, module_id)
    _check_output_folders(options)

    with tempfile.TemporaryDirectory(prefix="azml-grade-") as scratch:
        release = _register_assignment(course_root, module_id, Path(scratch), options.gradebook_url)
        policy = _policy(course_root, submissions_path, options)
        notebooks = _course_notebooks(course_root / SOURCE_DIRECTORY / module_id, release)
        support = _support_files(release)
        preload = heavy_imports(source for _, source, _ in notebooks)

        done = load_outcomes(engine)
        tasks, skipped = [], []
        for submission in submissions:
            digest = submission_digest(submission)
            previous = done.get((submission.learner, module_id))
            if previous and previous.digest == digest and not options.force:
                skipped.append(previous)
                continue
            tasks.append(_task(submission, digest, notebooks, support, options.limits, policy, preload))

        if on_start:
            on_start(len(tasks))
        results = []
        for result in _run(tasks, options):
            _save(result, engine, options)
            results.append(result)
            if on_result:
                on_result(result)
    return RunReport(tuple(results), tuple(skipped), options.sandbox)


def submission_digest(submission: Submission) -> str:
    """Return the SHA-256 of a submission's files (names and contents), in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(submission.folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(submission.folder)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def heavy_imports(notebooks) -> tuple[str, ...]:
    """Return the slow-to-import libraries that the code cells of ``notebooks`` (JSON texts) import."""
    found = set()
    for text in notebooks:
        for cell in json.loads(text).get("cells", []):
            if cell.get("cell_type") == "code":
                source = cell.get("source", "")
                found.update(_IMPORT.findall(source if isinstance(source, str) else "".join(source)))
    return tuple(name for name in HEAVY_IMPORTS if name in found)


def _run(tasks: list[SubmissionTask], options: GradingOptions) -> Iterator[SubmissionResult]:
    if not tasks:
        return
    if options.scheduler:
        yield from _run_on_dask(tasks, options.scheduler)
        return
    if options.jobs <= 1:
        for task in tasks:
            yield grade_submission(task)
        return
    yield from _run_in_processes(tasks, options.jobs)


def _run_in_processes(tasks: list[SubmissionTask], jobs: int) -> Iterator[SubmissionResult]:
    # forkserver, because the instructor's process runs threads (the progress display)
    # that a plain fork would copy in a broken state.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
        futures = {pool.submit(grade_submission, task): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield future.result()
            except BrokenProcessPool:
                yield _crashed(task, "the grading worker process stopped unexpectedly; grade the module again to retry")


def _run_on_dask(tasks: list[SubmissionTask], address: str) -> Iterator[SubmissionResult]:
    from distributed import Client, as_completed as dask_completed

    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise SubmissionError(f"cannot reach the Dask scheduler at {address}: {error}; start it or check the address") from None
    with client:
        futures = client.map(grade_submission, tasks, pure=False)
        by_key = dict(zip((future.key for future in futures), tasks))
        for future in dask_completed(futures):
            try:
                yield future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker must not stop the cohort
                yield _crashed(by_key[future.key], f"the Dask worker failed ({type(error).__name__}: {error}); grade again to retry")


def _crashed(task: SubmissionTask, reason: str) -> SubmissionResult:
    return SubmissionResult(task.learner, task.module, task.digest, status="error", reason=reason, sandboxed=task.policy.enabled)


def _save(result: SubmissionResult, engine, options: GradingOptions) -> None:
    """Write one result; the outcome row goes last, so it marks the submission as done."""
    if result.notebooks:
        save_grades(options.gradebook_url, result, options.autograded_directory)
        write_feedback(result, options.feedback_directory)
    outcome = Outcome(result.learner, result.module, result.status, result.reason, result.score, result.max_score, result.digest)
    if not result.notebooks:
        # Nothing was graded, so no digest: the next run tries this submission again.
        outcome = Outcome(result.learner, result.module, result.status, result.reason, 0.0, 0.0, "")
    record(engine, outcome)


def _task(
    submission: Submission,
    digest: str,
    notebooks: list[tuple[str, str, str]],
    support: tuple[tuple[str, bytes], ...],
    limits: Limits,
    policy: SandboxPolicy,
    preload: tuple[str, ...],
) -> SubmissionTask:
    tasks = []
    for name, source, release in notebooks:
        path = submission.folder / name
        invalid = submission.invalid.get(name, "")
        submitted = path.read_text(encoding="utf-8") if path.is_file() and not invalid else ""
        tasks.append(NotebookTask(name, source, release, submitted, invalid))
    own = tuple(
        (str(path.relative_to(submission.folder)), path.read_bytes())
        for path in sorted(submission.folder.rglob("*"))
        if path.is_file() and path.suffix != ".ipynb" and path.stat().st_size <= MAX_SUPPORT_FILE_BYTES
        and ".ipynb_checkpoints" not in path.parts
    )
    return SubmissionTask(submission.learner, submission.module, digest, tuple(tasks), support + own, limits, policy, preload)


def _course_notebooks(source_folder: Path, release_folder: Path) -> list[tuple[str, str, str]]:
    """Return (name, instructor JSON, released JSON) of each notebook of the module."""
    return [
        (path.name, path.read_text(encoding="utf-8"), (release_folder / path.name).read_text(encoding="utf-8"))
        for path in sorted(source_folder.glob("*.ipynb"))
    ]


def _support_files(release_folder: Path) -> tuple[tuple[str, bytes], ...]:
    return tuple(
        (str(path.relative_to(release_folder)), path.read_bytes())
        for path in sorted(release_folder.rglob("*"))
        if path.is_file() and path.suffix != ".ipynb"
    )


def _policy(course_root: Path, submissions_path: Path, options: GradingOptions) -> SandboxPolicy:
    """Hide what a learner's code must not read: the course, every submission, the gradebook, the results."""
    hidden = [course_root, submissions_path, options.autograded_directory, options.feedback_directory]
    # Installed from a clone of the course (pip install -e), the package sits next to that
    # clone's solutions; the sandbox shows the package again but not the rest of the clone.
    package_home = Path(__file__).resolve().parents[2]
    if (package_home / CURRICULUM_FILE).is_file():
        hidden.append(package_home)
    database = options.gradebook_url.split("sqlite:///", 1)[1] if options.gradebook_url.startswith("sqlite:///") else ""
    if database:
        hidden.append(Path(database))
    return SandboxPolicy(enabled=options.sandbox, hidden=tuple(str(Path(path).resolve()) for path in hidden))


def _check_output_folders(options: GradingOptions) -> None:
    for name, folder in (("autograded", options.autograded_directory), ("feedback", options.feedback_directory)):
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise SubmissionError(f"the {name} folder {folder} is a file; pass a folder with --{name}")
        folder.mkdir(parents=True, exist_ok=True)


def _register_assignment(course_root: Path, module_id: str, scratch: Path, gradebook_url: str) -> Path:
    """Record the module's cells in the gradebook, as ``nbgrader generate_assignment`` does.

    Returns the folder of the generated (released) notebooks, made in ``scratch`` so the
    course's exercises/ stays as built.
    """
    from nbgrader.apps import NbGraderAPI

    config = nbgrader_config(course_root, gradebook_url, release_directory=str(scratch / "release"))
    with nbgrader_environment(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api = NbGraderAPI(config=config)
        result = api.generate_assignment(module_id, force=True, create=True)
    if not result.get("success"):
        text = (result.get("error") or result.get("log") or "").strip()
        last = text.splitlines()[-1] if text else "no error message"
        raise SubmissionError(
            f"nbgrader could not record module {module_id} in the gradebook: {last}; "
            f"run `azml-course build` to see whether solutions/{module_id} is valid"
        )
    return scratch / "release" / module_id
