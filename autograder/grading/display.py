"""A live progress bar of a grading run: done, failed, and the estimated time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from autograder.grading.results import SubmissionResult


class GradingProgress:
    """Shows submissions done and failed as results arrive; prints one line per problem.

    Use as a context manager; ``start`` and ``advance`` are the engine's callbacks.
    """

    def __init__(self, console: Console):
        self.console = console
        self.failed = 0
        self.progress = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = None

    def __enter__(self) -> GradingProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        # The bar shows only once grading starts, so an early error prints nothing else.
        if self.task is not None:
            self.progress.__exit__(*exc)

    def start(self, total: int) -> None:
        if total == 0:
            return
        self.progress.__enter__()
        self.task = self.progress.add_task("grading", total=total, failed=0)

    def advance(self, result: SubmissionResult) -> None:
        if result.status != "graded":
            self.failed += 1
        line = f"{result.module} {result.learner}: {result.status} {result.score:g}/{result.max_score:g}"
        self.progress.console.print(line + (f" ({result.reason})" if result.reason else ""), highlight=False, markup=False)
        if self.task is not None:
            self.progress.update(self.task, advance=1, failed=self.failed)
