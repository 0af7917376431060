"""The ``azml-course`` command: a thin layer over the library, one function per command.

Exit codes: 0 success; 1 the command ran but some submission could not be graded; 2 bad
input (a missing file, an unknown module id, an unwritable gradebook).
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from autograder.errors import AutograderError

app = typer.Typer(help="Build, check and autograde the Azure ML course.", no_args_is_help=True, add_completion=False)
curriculum_app = typer.Typer(help="Work with curriculum.yaml.", no_args_is_help=True)
app.add_typer(curriculum_app, name="curriculum")
spec_app = typer.Typer(help="Check Azure ML CLI v2 YAML specs offline.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")

# soft_wrap: when output goes to a file or a pipe, rich would otherwise break long lines,
# paths included, at 80 columns.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

CourseOption = Annotated[
    Optional[Path],
    typer.Option("--course", help="Course folder, holding curriculum.yaml. Default: the current folder or its nearest parent with one."),
]
GradebookOption = Annotated[
    Optional[str],
    typer.Option("--gradebook", help="Gradebook database URL (sqlite:///PATH or postgresql+psycopg://...). Default: sqlite:///./gradebook.db."),
]

STATUS_STYLES = {"graded": "green", "timed out": "yellow", "invalid notebook": "red", "error": "red", "not submitted": "dim"}


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step to stderr.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@curriculum_app.command("validate")
def validate(course: CourseOption = None) -> None:
    """Check curriculum.yaml against the notebooks in solutions/ and exercises/; list every problem."""
    from autograder.course import find_course_root
    from autograder.curriculum import validate_course

    with _errors_exit():
        root = find_course_root(course)
        curriculum = validate_course(root)
    available = sum(m.available for m in curriculum.modules)
    exercises = sum(len(m.exercises) for m in curriculum.modules)
    console.print(f"curriculum valid: {len(curriculum.modules)} modules ({available} available), {exercises} exercises")


@spec_app.command("check")
def spec_check(
    files: Annotated[list[Path], typer.Argument(help="YAML spec files. Relative paths inside a spec start from the spec's folder.")],
    format: Annotated[str, typer.Option("--format", help="Output format: text or json (findings per file).")] = "text",
    rule: Annotated[
        Optional[list[str]],
        typer.Option(
            "--rule",
            help="Teaching rule to switch on; repeat for more: pinned_images, no_inline_secrets, private_network, "
            "user_assigned_identity, high_availability, probes_and_timeouts, aad_token_auth. Default: none.",
        ),
    ] = None,
    endpoint_name: Annotated[
        Optional[str],
        typer.Option("--endpoint-name", help="Endpoint name for deployment specs, replacing their endpoint_name as az ml does."),
    ] = None,
) -> None:
    """Check Azure ML specs offline with azure-ai-ml's loaders and the course's rules.

    Exit code 0 when no spec has an error (warnings allowed), 1 when any spec has an error, 2 when a file is missing or is not readable YAML, or an option is invalid.
    """
    from autograder.checks.specs import check_files

    if format not in ("text", "json"):
        errors.print(f"error: invalid --format {format!r}; use text or json", soft_wrap=True)
        raise typer.Exit(2)
    context = {"endpoint_name": endpoint_name} if endpoint_name else None
    with _errors_exit():
        report = check_files(files, teaching_rules=tuple(rule or ()), context=context)
    typer.echo(report.to_json() if format == "json" else report.to_text())
    if report.has_errors:
        raise typer.Exit(1)


@app.command()
def build(course: CourseOption = None) -> None:
    """Regenerate exercises/ from solutions/ with nbgrader, then validate the curriculum."""
    from autograder.course import find_course_root
    from autograder.course import build_course

    with _errors_exit():
        root = find_course_root(course)
        curriculum = build_course(root)
    console.print(f"built {root / 'exercises'} for {sum(m.available for m in curriculum.modules)} modules; curriculum valid")


@app.command()
def autograde(
    submissions: Annotated[Path, typer.Argument(help="Folder laid out as <learner>/<module>/*.ipynb, or one holding submitted/.")],
    module: Annotated[str, typer.Option("--module", help="Module id to grade, such as m03.")],
    gradebook: GradebookOption = None,
    course: CourseOption = None,
    autograded: Annotated[Path, typer.Option(help="Folder for the executed notebooks, one per learner and module.")] = Path("autograded"),
    feedback: Annotated[Path, typer.Option(help="Folder for the learners' HTML feedback, <learner>/<module>.html.")] = Path("feedback"),
    jobs: Annotated[Optional[int], typer.Option(help="Submissions graded at once on this machine. Default: the number of cores.", min=1)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address, such as tcp://127.0.0.1:8786, to grade on a cluster.")] = None,
    cell_timeout: Annotated[float, typer.Option(help="Time limit of one cell, in seconds; a cell over it scores zero.", min=1)] = 30,
    notebook_timeout: Annotated[float, typer.Option(help="Time limit of one notebook, in seconds; cells after it score zero.", min=1)] = 600,
    memory: Annotated[int, typer.Option(help="Memory cap of a learner's kernel, in MiB.", min=256)] = 2048,
    processes: Annotated[int, typer.Option(help="Process and thread cap of a learner's kernel.", min=16)] = 128,
    sandbox: Annotated[bool, typer.Option("--sandbox/--no-sandbox", help="Run learner code in bubblewrap; --no-sandbox only on a machine you trust with it.")] = True,
    force: Annotated[bool, typer.Option(help="Grade again the submissions already graded with the same files.")] = False,
) -> None:
    """Grade every learner's submission of one module into nbgrader's gradebook.

    Runs in parallel and resumes: a run stopped at any point and started again grades only
    the submissions not yet recorded. Exit code 1 when any submission could not be fully
    graded, 2 for bad input.
    """
    import os

    from autograder.course import find_course_root
    from autograder.grading.engine import GradingOptions, autograde_module
    from autograder.grading.sandbox import Limits
    from autograder.progress.store import default_gradebook_url

    url = gradebook or default_gradebook_url()
    limits = Limits(cell_seconds=cell_timeout, notebook_seconds=notebook_timeout, memory_bytes=memory * 2**20, processes=processes)
    options = GradingOptions(url, autograded, feedback, jobs or os.cpu_count() or 1, scheduler, sandbox, force, limits)
    with _errors_exit():
        root = find_course_root(course)
        if not sandbox:
            errors.print("warning: grading WITHOUT a sandbox (--no-sandbox): learner code can read this machine's files and reach the network")
        from autograder.grading.display import GradingProgress

        with GradingProgress(console) as display:
            report = autograde_module(root, submissions, module, options, on_result=display.advance, on_start=display.start)
    _print_report(report, url)
    if not report.all_graded:
        raise typer.Exit(1)


@app.command()
def progress(
    gradebook: GradebookOption = None,
    course: CourseOption = None,
    format: Annotated[str, typer.Option("--format", help="Output format: table, csv or json.")] = "table",
) -> None:
    """Show score, maximum, percent and status per learner and module.

    Inside a course folder (or with --course), every available module is listed, even one
    nobody has submitted yet.
    """
    from autograder.progress.report import FORMATS, cohort_progress, to_csv, to_json
    from autograder.progress.store import default_gradebook_url

    if format not in FORMATS:
        errors.print(f"error: invalid --format {format!r}; use one of {', '.join(FORMATS)}", soft_wrap=True)
        raise typer.Exit(2)
    with _errors_exit():
        rows = cohort_progress(gradebook or default_gradebook_url(), _course_modules(course))
    if format == "csv":
        typer.echo(to_csv(rows), nl=False)
    elif format == "json":
        typer.echo(to_json(rows))
    else:
        console.print(_progress_table(rows))


@app.command()
def demo(
    out: Annotated[
        Optional[Path],
        typer.Option(help="New folder for the demo course, cohort and gradebook. Default: ./azml-demo-<date>-<time>."),
    ] = None,
    course: CourseOption = None,
) -> None:
    """Build the course, autograde a demo cohort of eight learners, and show their progress."""
    from autograder.course import find_course_root
    from autograder.demo import prepare_demo_folder, run_demo

    out = out or Path(f"azml-demo-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    with _errors_exit():
        root = find_course_root(course)
        prepare_demo_folder(out)
        console.print(f"building the course in {out.resolve() / 'course'} and grading the demo cohort")
        result = run_demo(root, out, _print_outcome)
    console.print(_progress_table(result.progress))
    console.print(f"gradebook: {result.gradebook_url}")
    console.print(f"autograded notebooks: {result.folder / 'autograded'}")
    console.print(f"feedback pages: {result.folder / 'feedback'}")


def _course_modules(course: Path | None) -> dict[str, float] | None:
    """Return the available modules and their points, or None outside a course folder."""
    from autograder.course import CURRICULUM_FILE, find_course_root
    from autograder.curriculum import load_curriculum
    from autograder.errors import CourseNotFoundError

    try:
        root = find_course_root(course)
    except CourseNotFoundError:
        if course is not None:
            raise
        return None
    curriculum = load_curriculum(root / CURRICULUM_FILE)
    return {m.id: float(sum(e.points for e in m.exercises)) for m in curriculum.modules if m.available}


def _print_outcome(outcome) -> None:
    style = STATUS_STYLES.get(outcome.status, "")
    line = f"{outcome.module} {outcome.learner}: [{style}]{outcome.status}[/] {outcome.score:g}/{outcome.max_score:g}"
    console.print(line + (f" ({outcome.reason})" if outcome.reason else ""), highlight=False)


def _print_report(report, url: str) -> None:
    graded = sum(result.status == "graded" for result in report.results)
    console.print(f"graded {len(report.results)} submission(s) into {url}: {graded} fully graded", highlight=False)
    if report.skipped:
        console.print(f"skipped {len(report.skipped)} already graded with the same files (use --force to regrade)", highlight=False)
    if not report.sandboxed:
        console.print("this run was NOT sandboxed (--no-sandbox)", highlight=False)
    problems = [r for r in report.results if r.status != "graded"] + [o for o in report.skipped if o.status != "graded"]
    if problems:
        listed = ", ".join(f"{p.learner} ({p.status})" for p in problems)
        errors.print(f"{len(problems)} submission(s) could not be fully graded: {listed}", highlight=False)


def _progress_table(rows) -> Table:
    table = Table(title="Progress")
    for column in ("learner", "module", "score", "max", "percent", "status"):
        table.add_column(column, justify="right" if column in ("score", "max", "percent") else "left")
    for row in rows:
        score = "-" if row.score is None else f"{row.score:g}"
        percent = "-" if row.percent is None else f"{row.percent:.1f}"
        style = STATUS_STYLES.get(row.status, "")
        table.add_row(row.learner, row.module, score, f"{row.max_score:g}", percent, f"[{style}]{row.status}[/]")
    return table


class _errors_exit:
    """Turn the package's errors into one red message on stderr and exit code 2."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, AutograderError):
            # Without soft_wrap, rich breaks lines at the console width (80 columns when stderr
            # is a file or a pipe), which splits paths across lines.
            errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        return False


if __name__ == "__main__":
    app()
