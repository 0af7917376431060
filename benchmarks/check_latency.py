"""Measure how fast check() answers in a warm kernel, for every exercise of the course.

For each instructor notebook, a real kernel runs the setup and solution cells, then calls
each exercise's check cell once to warm up (imports, first use of azure-ai-ml's schemas) and
REPEATS more times, timing each call with time.perf_counter inside the kernel. The target
for formula checks is under 100 ms per call.

Run from the repository root:

    .venv/bin/python benchmarks/check_latency.py [--repeats 5] [--kind math]
"""

from __future__ import annotations

import argparse
import json
import statistics
import textwrap
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
TIMER = textwrap.dedent(
    """
    import contextlib as _contextlib, io as _io, json as _json, time as _time
    _times = []
    for _ in range({repeats} + 1):
        with _contextlib.redirect_stdout(_io.StringIO()):
            _start = _time.perf_counter()
            exec({source!r})
            _times.append(_time.perf_counter() - _start)
    print("LATENCY " + _json.dumps({{"id": {exercise_id!r}, "warm": _times[1:]}}))
    """
)


def measure_notebook(path: Path, repeats: int) -> list[dict]:
    """Run a solution notebook's setup and solution cells, then time each check cell."""
    source = nbformat.read(path, as_version=4)
    cells = []
    for cell in source.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type != "code" or grade_id.endswith("_tests"):
            continue
        if grade_id.endswith("_check"):
            exercise_id = cell.source.split('"')[1]
            cells.append(nbformat.v4.new_code_cell(TIMER.format(repeats=repeats, source=cell.source, exercise_id=exercise_id)))
        else:
            cells.append(nbformat.v4.new_code_cell(cell.source))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=source.metadata)
    client = NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(path.parent)}})
    client.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
    client.execute()
    results = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("LATENCY "):
                    results.append(json.loads(line.removeprefix("LATENCY ")))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per exercise after one warm-up call")
    parser.add_argument("--kind", choices=["math", "sdk", "decision", "all"], default="all", help="exercise kind to measure")
    args = parser.parse_args()

    from autograder.exercises import all_exercises

    kinds = {exercise.id: exercise.kind for exercise in all_exercises().values()}
    print(f"{'exercise':28} {'kind':9} {'median ms':>10} {'max ms':>8}")
    over = []
    for path in sorted((REPO / "solutions").glob("m*/*.ipynb")):
        for result in measure_notebook(path, args.repeats):
            kind = kinds.get(result["id"], "?")
            if args.kind not in ("all", kind):
                continue
            median, worst = statistics.median(result["warm"]) * 1000, max(result["warm"]) * 1000
            print(f"{result['id']:28} {kind:9} {median:10.1f} {worst:8.1f}")
            if kind == "math" and worst >= 100:
                over.append(result["id"])
    print("formula checks over 100 ms: " + (", ".join(over) if over else "none"))


if __name__ == "__main__":
    main()
