"""Compare the spec checker with azure-ai-ml's own loaders on the same YAML files.

The corpus of valid specs in tests/files/specs/valid is copied to a temp folder and varied
(description, tags) until there are COUNT files, 500 by default. Both sides then read every
file from disk: the checker with check_spec (YAML parse with line numbers, loader, rules),
azure-ai-ml with the public load_* function of each kind (or the one in
azure.ai.ml.entities._load_functions for schedules and batch deployments). azure-ai-ml is
imported and each side warmed up once before timing. Each side runs REPEATS times,
alternating, and the best wall time of each is reported, with the ratio checker / loaders.
The target is a ratio of at most 1.3.

Run from the repository root:

    .venv/bin/python benchmarks/spec_check.py [--count 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
VALID = REPO / "tests" / "files" / "specs" / "valid"

# Corpus file name prefix -> azure-ai-ml load function, most specific prefix first.
LOADERS = [
    ("model-batch-deployment", "azure.ai.ml.entities._load_functions", "load_model_batch_deployment"),
    ("pipeline-component-batch-deployment", "azure.ai.ml.entities._load_functions", "load_pipeline_component_batch_deployment"),
    ("batch-deployment", "azure.ai.ml", "load_batch_deployment"),
    ("job-schedule", "azure.ai.ml.entities._load_functions", "load_schedule"),
    ("monitor-schedule", "azure.ai.ml.entities._load_functions", "load_schedule"),
    ("data", "azure.ai.ml", "load_data"),
    ("environment", "azure.ai.ml", "load_environment"),
    ("model", "azure.ai.ml", "load_model"),
    ("command-component", "azure.ai.ml", "load_component"),
    ("command-job", "azure.ai.ml", "load_job"),
    ("sweep-job", "azure.ai.ml", "load_job"),
    ("pipeline-job", "azure.ai.ml", "load_job"),
    ("managed-online-endpoint", "azure.ai.ml", "load_online_endpoint"),
    ("kubernetes-online-endpoint", "azure.ai.ml", "load_online_endpoint"),
    ("managed-online-deployment", "azure.ai.ml", "load_online_deployment"),
    ("kubernetes-online-deployment", "azure.ai.ml", "load_online_deployment"),
    ("batch-endpoint", "azure.ai.ml", "load_batch_endpoint"),
    ("registry", "azure.ai.ml", "load_registry"),
    ("workspace", "azure.ai.ml", "load_workspace"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="Number of spec files to check (default: 500).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed passes of each side; the best is reported (default: 3).")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from autograder.checks.specs import check_spec

    warnings.simplefilter("ignore")
    logging.getLogger("azure").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as temp:
        files = make_corpus(Path(temp), args.count)
        started = time.perf_counter()
        loaders = [(path, loader_for(path.name.split("-", 1)[1])) for path in files]
        check_spec(files[0])
        for path, load in loaders[: len(list(VALID.glob("*.yml")))]:
            load(path)
        warm_up = time.perf_counter() - started

        ours, theirs = [], []
        for _ in range(args.repeats):
            theirs.append(timed(lambda: [load(path) for path, load in loaders]))
            ours.append(timed(lambda: [check_spec(path) for path in files]))
        errors = sum(finding.severity == "error" for path in files for finding in check_spec(path))

    best_ours, best_theirs = min(ours), min(theirs)
    print(f"spec files: {len(files)} (corpus of {len(list(VALID.glob('*.yml')))} varied), passes: {args.repeats}, errors found: {errors}")
    print(f"import and warm-up: {warm_up:.2f} s")
    print(f"azure-ai-ml loaders: {best_theirs:.3f} s ({1000 * best_theirs / len(files):.2f} ms per spec)")
    print(f"check_spec:          {best_ours:.3f} s ({1000 * best_ours / len(files):.2f} ms per spec)")
    print(f"ratio check_spec / loaders: {best_ours / best_theirs:.2f} (target <= 1.3)")
    return 0


def make_corpus(folder: Path, count: int) -> list[Path]:
    """Copy the corpus with its support folders and write ``count`` varied spec files into ``folder``."""
    shutil.copytree(VALID, folder, dirs_exist_ok=True)
    originals = sorted(VALID.glob("*.yml"))
    files = []
    for index in range(count):
        source = originals[index % len(originals)]
        spec = yaml.safe_load(source.read_text(encoding="utf-8"))
        spec["description"] = f"{spec.get('description', 'Spec')} Copy {index}."
        if "tags" in spec or source.name.startswith(("data", "model-mlflow", "environment")):
            spec["tags"] = {**spec.get("tags", {}), "copy": str(index)}
        target = folder / f"{index:04d}-{source.name}"
        target.write_text(yaml.safe_dump(spec, sort_keys=False, width=1000), encoding="utf-8")
        files.append(target)
    return files


def loader_for(name: str):
    import importlib

    for prefix, module, function in LOADERS:
        if name.startswith(prefix):
            return getattr(importlib.import_module(module), function)
    raise KeyError(f"no azure-ai-ml loader for {name}")


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
