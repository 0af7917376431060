"""Time our grading engine against nbgrader's autograde on the same cohort, in one run.

A copy of the course is built in a temp folder (curriculum.yaml and solutions/ copied,
then build_course), and LEARNERS submissions of one module are written with the demo
cohort's helpers: complete, partial, wrong, mixed and empty answers in turn. Hanging
functions and invalid notebooks are left out, so both graders must give every learner the
same score. Three things are then timed, one pass each:

1. nbgrader: NbGraderAPI.autograde for one learner after another, configured as the
   nbgrader driver in autograder/grading/autograde.py does, with AZML_LEARNER_ID set per
   learner. Scores come from nbgrader's gradebook.
2. ours: autograder.grading.engine.autograde_module with JOBS worker processes and the
   sandbox on, into a gradebook of its own. Scores come from the run's SubmissionResults.
3. the floor: each learner notebook executed as submitted by a plain nbclient
   NotebookClient, one after another, with AZML_LEARNER_ID set. No grading, no hidden tests.

One untimed kernel imports numpy, scikit-learn and azure-ai-ml first, so every side finds
those files in the page cache. The target is a ratio ours / nbgrader of at most 0.5. The
script exits with 1 when any learner's scores differ.

Run from the repository root:

    .venv/bin/python benchmarks/grading.py [--module m03] [--learners 40] [--jobs 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.checks.seeds import LEARNER_ID_VARIABLE  # noqa: E402
from autograder.course import CURRICULUM_FILE, SOURCE_DIRECTORY, build_course, nbgrader_config, nbgrader_environment  # noqa: E402
from autograder.demo_cohort import SOLUTION, WRONG, ModulePlan, _write_module  # noqa: E402

# Answer patterns, given to learners in turn: 40 learners get 8 of each.
CASES = ("complete", "partial", "wrong", "mixed", "empty")
# The per-cell limit and kernel arguments with which autograder/grading/autograde.py drives nbgrader.
CELL_TIMEOUT = 30
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
WARM_UP = "import numpy, sklearn.linear_model, azure.ai.ml, autograder.learner"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", default="m03", help="Module to grade (default: m03).")
    parser.add_argument("--learners", type=int, default=40, help="Number of submissions to write and grade (default: 40).")
    parser.add_argument("--jobs", type=int, default=2, help="Worker processes of our engine (default: 2).")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    if args.learners < 1:
        parser.error(f"--learners must be at least 1, got {args.learners}")

    warnings.simplefilter("ignore")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="azml-bench-grading-") as temp:
        folder = Path(temp)
        course = copy_course(folder / "course")
        submitted = folder / "submitted"
        cases = write_submissions(course, submitted, args.module, args.learners)
        notebook_names = sorted(path.name for path in (course / "exercises" / args.module).glob("*.ipynb"))
        notebooks = args.learners * len(notebook_names)
        print(f"module {args.module}: {args.learners} submissions, {notebooks} notebooks "
              f"({', '.join(f'{cases.count(case)} {case}' for case in CASES)})", flush=True)

        warm_up_kernel(folder)
        floor_seconds, per_notebook = run_floor(submitted, args.module, learner_ids(args.learners))
        print(f"floor done in {floor_seconds:.1f} s", flush=True)
        nbgrader_seconds, nbgrader_scores = run_nbgrader(course, submitted, args.module, learner_ids(args.learners), folder / "nbgrader")
        print(f"nbgrader done in {nbgrader_seconds:.1f} s", flush=True)
        ours_seconds, report = run_ours(course, submitted, args.module, folder / "ours", args.jobs)
        print(f"ours done in {ours_seconds:.1f} s", flush=True)
    load_after = os.getloadavg()

    ours_scores = {result.learner: result.score for result in report.results}
    differences = compare_scores(nbgrader_scores, ours_scores)
    worker_seconds = [result.seconds for result in report.results]
    figures = {
        "module": args.module,
        "learners": args.learners,
        "notebooks": notebooks,
        "jobs": args.jobs,
        "sandboxed": report.sandboxed,
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before[0], 2),
        "load_average_after": round(load_after[0], 2),
        "nbgrader_seconds": round(nbgrader_seconds, 2),
        "ours_seconds": round(ours_seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "ratio_ours_to_nbgrader": round(ours_seconds / nbgrader_seconds, 3),
        "ours_submission_seconds": worker_seconds,
        "floor_notebook_seconds": [round(seconds, 3) for seconds in per_notebook],
        "statuses": {status: sum(r.status == status for r in report.results) for status in sorted({r.status for r in report.results})},
        "score_differences": differences,
    }
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 1 if differences else 0


def learner_ids(count: int) -> list[str]:
    return [f"learner{index:03d}" for index in range(1, count + 1)]


def copy_course(course: Path) -> Path:
    """Copy curriculum.yaml and solutions/ into ``course`` and build the learner notebooks there."""
    course.mkdir(parents=True)
    shutil.copy2(REPO / CURRICULUM_FILE, course / CURRICULUM_FILE)
    shutil.copytree(REPO / SOURCE_DIRECTORY, course / SOURCE_DIRECTORY)
    build_course(course)
    return course


def write_submissions(course: Path, submitted: Path, module: str, count: int) -> list[str]:
    """Write ``count`` submissions of ``module`` under ``submitted/<learner>/<module>`` and return each learner's case."""
    answer_ids = solution_cell_ids(course / SOURCE_DIRECTORY / module)
    cases = []
    for index, learner in enumerate(learner_ids(count)):
        case = CASES[index % len(CASES)]
        _write_module(course, submitted / learner / module, module, plan_for(case, answer_ids, index))
        cases.append(case)
    return cases


def solution_cell_ids(source_folder: Path) -> list[str]:
    """Return the grade ids of the answer cells in the instructor notebooks of one module."""
    ids = []
    for path in sorted(source_folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if grade_id.endswith("_solution"):
                ids.append(grade_id)
    return ids


def plan_for(case: str, answer_ids: list[str], index: int) -> ModulePlan:
    """Return what one learner submits: ``partial`` leaves a different third of the cells empty per learner."""
    if case == "complete":
        return ModulePlan(all_solutions=True)
    if case == "partial":
        return ModulePlan({cell: SOLUTION for number, cell in enumerate(answer_ids) if (number + index) % 3})
    if case == "wrong":
        return ModulePlan({cell: WRONG[cell] for cell in answer_ids if cell in WRONG})
    if case == "mixed":
        return ModulePlan({cell: WRONG.get(cell, SOLUTION) for cell in answer_ids})
    return ModulePlan()


def warm_up_kernel(folder: Path) -> None:
    """Import the heavy libraries once in an untimed kernel, so no side pays for a cold page cache."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WARM_UP)])
    client = NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(folder)}})
    client.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
    client.execute()


def run_floor(submitted: Path, module: str, learners: list[str]) -> tuple[float, list[float]]:
    """Execute every learner notebook as submitted, one after another.

    Returns the wall time and the seconds of each notebook, kernel start included.
    """
    per_notebook = []
    started = time.perf_counter()
    for learner in learners:
        folder = submitted / learner / module
        os.environ[LEARNER_ID_VARIABLE] = learner
        try:
            for path in sorted(folder.glob("*.ipynb")):
                notebook_started = time.perf_counter()
                notebook = nbformat.read(path, as_version=4)
                client = NotebookClient(notebook, timeout=CELL_TIMEOUT, allow_errors=True, resources={"metadata": {"path": str(folder)}})
                # Only to keep the kernel's warning about unencrypted loopback ports off the terminal.
                client.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
                client.execute()
                per_notebook.append(time.perf_counter() - notebook_started)
        finally:
            os.environ.pop(LEARNER_ID_VARIABLE, None)
    return time.perf_counter() - started, per_notebook


def run_nbgrader(course: Path, submitted: Path, module: str, learners: list[str], out: Path) -> tuple[float, dict[str, float | None]]:
    """Grade with nbgrader's autograde, learner by learner, and return the wall time and the scores.

    The time includes recording the module's cells in the gradebook (generate_assignment),
    which our engine also does in every run. A learner whose autograde failed scores None.
    """
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    out.mkdir()
    gradebook_url = f"sqlite:///{out / 'gradebook.db'}"
    config = nbgrader_config(
        course,
        gradebook_url,
        submitted_directory=str(submitted),
        autograded_directory=str(out / "autograded"),
        release_directory=str(out / "release"),
    )
    config.Execute.timeout = CELL_TIMEOUT
    config.Execute.extra_arguments = KERNEL_ARGUMENTS
    scores: dict[str, float | None] = {}
    started = time.perf_counter()
    with nbgrader_environment():
        api = NbGraderAPI(config=config)
        registered = api.generate_assignment(module, force=True, create=True)
        if not registered.get("success"):
            raise SystemExit(f"nbgrader generate_assignment {module} failed; check solutions/{module} with `azml-course build`:\n"
                             f"{registered.get('error') or registered.get('log', '')}")
        for learner in learners:
            os.environ[LEARNER_ID_VARIABLE] = learner
            try:
                result = api.autograde(module, learner, force=True, create=True)
            finally:
                os.environ.pop(LEARNER_ID_VARIABLE, None)
            if not result.get("success"):
                print(f"nbgrader autograde failed for {learner}: {(result.get('error') or '').strip()[-500:]}")
                scores[learner] = None
                continue
            with Gradebook(gradebook_url) as gradebook:
                scores[learner] = round(float(gradebook.find_submission(module, learner).score), 4)
    return time.perf_counter() - started, scores


def run_ours(course: Path, submitted: Path, module: str, out: Path, jobs: int):
    """Grade with our engine into a gradebook of its own, and return the wall time and the run report."""
    from autograder.grading.engine import GradingOptions, autograde_module

    out.mkdir()
    options = GradingOptions(f"sqlite:///{out / 'gradebook.db'}", out / "autograded", out / "feedback", jobs=jobs)
    started = time.perf_counter()
    report = autograde_module(course, submitted, module, options)
    return time.perf_counter() - started, report


def compare_scores(nbgrader: dict[str, float | None], ours: dict[str, float]) -> list[dict]:
    """Return one entry per learner whose two scores differ or who is missing on one side."""
    differences = []
    for learner in sorted(set(nbgrader) | set(ours)):
        theirs, mine = nbgrader.get(learner), ours.get(learner)
        if theirs is None or mine is None or abs(theirs - mine) > 1e-6:
            differences.append({"learner": learner, "nbgrader": theirs, "ours": mine})
    return differences


def print_table(figures: dict) -> None:
    learners, notebooks = figures["learners"], figures["notebooks"]
    rows = [
        ("nbgrader autograde", figures["nbgrader_seconds"]),
        (f"ours (jobs={figures['jobs']}, sandbox {'on' if figures['sandboxed'] else 'off'})", figures["ours_seconds"]),
        ("nbclient floor", figures["floor_seconds"]),
    ]
    print()
    print(f"{figures['cpus']} cpus, load average {figures['load_average_before']} before, {figures['load_average_after']} after")
    print(f"{'':32} {'wall s':>8} {'s per submission':>17} {'s per notebook':>15}")
    for name, seconds in rows:
        print(f"{name:32} {seconds:8.1f} {seconds / learners:17.2f} {seconds / notebooks:15.2f}")
    worker = figures["ours_submission_seconds"]
    if worker:
        print(f"ours, worker seconds per submission: median {statistics.median(worker):.2f}, "
              f"min {min(worker):.2f}, max {max(worker):.2f}, sum {sum(worker):.1f}")
    floor = figures["floor_notebook_seconds"]
    print(f"floor, seconds per notebook: median {statistics.median(floor):.2f}, min {min(floor):.2f}, max {max(floor):.2f}")
    print(f"our statuses: {figures['statuses']}")
    print(f"ratio ours / nbgrader: {figures['ratio_ours_to_nbgrader']:.2f} (target <= 0.5)")
    differences = figures["score_differences"]
    for difference in differences:
        print(f"score differs for {difference['learner']}: nbgrader {difference['nbgrader']}, ours {difference['ours']}")
    print(f"scores: {learners - len(differences)} of {learners} learners identical")


if __name__ == "__main__":
    raise SystemExit(main())
