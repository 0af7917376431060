"""A demo cohort of eight learners whose submissions cover what a real cohort sends in.

Each learner starts from the released notebooks and fills some solution cells: with the
instructor's solution, with a typical wrong answer, with a function that never returns, or
not at all. Some submit a file that is not a notebook, an nbformat 3 notebook, or skip a
module. ``EXPECTED_SCORES`` holds the points each submission must earn; the demo and the
tests compare the gradebook against it.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

SOLUTION = "solution"  # fill the cell with the instructor's solution
MODULES = ("m01", "m02", "m03")


@dataclass(frozen=True)
class ModulePlan:
    """What one learner submits for one module."""

    answers: dict[str, str] = field(default_factory=dict)  # grade id of a solution cell -> source or SOLUTION
    all_solutions: bool = False
    broken_file: str = ""  # a notebook file name written as text that is not JSON
    old_format: str = ""  # a notebook file name written as nbformat 3


WRONG = {
    "data_asset_solution": 'trips = Data(name="taxi trips", type=AssetTypes.URI_FILE, '
                           'path="azureml://datastores/workspaceblobstore/paths/taxi/trips/")',
    "environment_solution": 'sklearn_env = Environment(name="sklearn-env", version="1", '
                            'image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest", '
                            'conda_file={"dependencies": ["python=3.11", {"pip": ["scikit-learn"]}]})',
    "model_asset_solution": 'fare_model = Model(name="taxi-fare-model", version="1", type=AssetTypes.CUSTOM_MODEL, '
                            'path="azureml://jobs/quiet_lamp_7x2k/outputs/model/paths/")',
    "asset_types_solution": "asset_types = dict.fromkeys(['trip_files', 'runtime_image', 'trained_regressor', "
                            "'prep_step', 'gpu_cluster', 'fare_service'], 'data')",
    "planes_solution": "planes = dict.fromkeys(['create_workspace', 'scale_cluster', 'read_training_files', "
                       "'invoke_endpoint', 'assign_role', 'log_metric'], 'control plane')",
    "framing_solution": "framing = {'task_type': 'binary classification', 'kpi': 'accuracy', 'constraint': 'no constraint'}",
    "stratified_split_solution": (
        "def stratified_split(y, test_size, seed):\n"
        "    rows = np.random.default_rng(seed).permutation(len(y))\n"
        "    n_test = int(len(y) * test_size)\n"
        "    return rows[n_test:], rows[:n_test]"
    ),
    "training_job_solution": (
        "train_job = command(code='./src', command='python train.py --data ${{inputs.training_data}}',\n"
        "    inputs={'training_data': Input(type='uri_folder', path='azureml:taxi-trips:1')},\n"
        "    environment='sklearn-env', compute='cpu-cluster')"
    ),
    "mse_solution": "def mse(y, y_hat):\n    return float(np.sum((np.asarray(y) - np.asarray(y_hat)) ** 2))",
    "bce_solution": (
        "def bce(y, p, eps=1e-15):\n"
        "    y, p = np.asarray(y, float), np.clip(np.asarray(p, float), eps, 1 - eps)\n"
        "    if y.shape != p.shape:\n"
        "        raise ValueError('length mismatch')\n"
        "    return float(-np.mean(y * np.log10(p) + (1 - y) * np.log10(1 - p)))"
    ),
    "ridge_gradient_solution": "def ridge_gradient(X, y, w, lam):\n    return X.T @ (X @ w - y) / len(y) + lam * w",
    "l1_or_l2_solution": (
        "penalty_choice = {'sensor_selection': 'L2', 'correlated_prices': 'L1',\n"
        "    'l1_effect': 'sets some weights exactly to zero', 'l2_effect': 'shrinks all weights smoothly'}"
    ),
}

HANGING_MSE = "def mse(y, y_hat):\n    while True:\n        pass"

COHORT: dict[str, dict[str, ModulePlan]] = {
    "ada": {m: ModulePlan(all_solutions=True) for m in MODULES},
    "ben": {
        "m01": ModulePlan(all_solutions=True),
        "m02": ModulePlan({"framing_solution": SOLUTION}),
        "m03": ModulePlan({"mse_solution": SOLUTION, "bce_solution": SOLUTION}),
    },
    "chloe": {
        "m01": ModulePlan({k: WRONG[k] for k in ("data_asset_solution", "environment_solution", "model_asset_solution",
                                                 "asset_types_solution", "planes_solution")}),
        "m02": ModulePlan({k: WRONG[k] for k in ("framing_solution", "stratified_split_solution", "training_job_solution")}),
        "m03": ModulePlan({k: WRONG[k] for k in ("mse_solution", "bce_solution", "ridge_gradient_solution",
                                                 "l1_or_l2_solution")}),
    },
    "dan": {m: ModulePlan() for m in MODULES},
    "eve": {
        "m01": ModulePlan(all_solutions=True),
        "m02": ModulePlan(all_solutions=True),
        "m03": ModulePlan({"mse_solution": HANGING_MSE, "bce_solution": SOLUTION, "penalties_solution": SOLUTION,
                           "ridge_gradient_solution": SOLUTION, "gradient_step_solution": SOLUTION,
                           "l1_or_l2_solution": SOLUTION, "empirical_risk_solution": SOLUTION,
                           "regularised_objective_solution": SOLUTION}),
    },
    "farid": {
        "m01": ModulePlan(all_solutions=True),
        "m02": ModulePlan(broken_file="lifecycle.ipynb"),
        "m03": ModulePlan(all_solutions=True),
    },
    "grace": {"m01": ModulePlan(all_solutions=True), "m03": ModulePlan(all_solutions=True)},
    "hiro": {
        "m01": ModulePlan(all_solutions=True, old_format="building_blocks.ipynb"),
        "m02": ModulePlan({"stratified_split_solution": SOLUTION, "training_job_solution": SOLUTION}),
        "m03": ModulePlan(all_solutions=True),
    },
}

# Points and status each submission must get. ``None`` means not submitted. Partial scores
# follow from the case groups: chloe's Data asset, for example, passes 3 of its 6 groups
# (entity, schema, datastore path) and earns 1 of 2 points.
EXPECTED: dict[tuple[str, str], tuple[float | None, str]] = {
    ("ada", "m01"): (11, "graded"), ("ada", "m02"): (12, "graded"), ("ada", "m03"): (23, "graded"),
    ("ben", "m01"): (11, "graded"), ("ben", "m02"): (3, "graded"), ("ben", "m03"): (6, "graded"),
    ("chloe", "m01"): (5.5, "graded"), ("chloe", "m02"): (4.25, "graded"), ("chloe", "m03"): (4.25, "graded"),
    ("dan", "m01"): (0, "graded"), ("dan", "m02"): (0, "graded"), ("dan", "m03"): (0, "graded"),
    ("eve", "m01"): (11, "graded"), ("eve", "m02"): (12, "graded"), ("eve", "m03"): (20, "timed out"),
    ("farid", "m01"): (11, "graded"), ("farid", "m02"): (0, "invalid notebook"), ("farid", "m03"): (23, "graded"),
    ("grace", "m01"): (11, "graded"), ("grace", "m02"): (None, "not submitted"), ("grace", "m03"): (23, "graded"),
    ("hiro", "m01"): (0, "invalid notebook"), ("hiro", "m02"): (6, "graded"), ("hiro", "m03"): (23, "graded"),
}


def write_cohort(course_root: Path, submitted: Path) -> list[Path]:
    """Write every demo learner's submissions under ``submitted/<learner>/<module>/``.

    Notebooks start from the released ``exercises/`` of the course at ``course_root``, which
    must be built; solution sources come from its ``solutions/``.
    """
    written = []
    for learner, plans in COHORT.items():
        for module, plan in plans.items():
            written.extend(_write_module(course_root, submitted / learner / module, module, plan))
    return written


def _write_module(course_root: Path, folder: Path, module: str, plan: ModulePlan) -> list[Path]:
    release = course_root / "exercises" / module
    folder.mkdir(parents=True, exist_ok=True)
    for extra in release.iterdir():
        if extra.is_dir():
            shutil.copytree(extra, folder / extra.name, dirs_exist_ok=True)
    paths = []
    for released in sorted(release.glob("*.ipynb")):
        target = folder / released.name
        if released.name == plan.broken_file:
            target.write_text("{ this notebook was truncated during upload", encoding="utf-8")
        else:
            notebook = _fill(nbformat.read(released, as_version=4), course_root / "solutions" / module / released.name, plan)
            if released.name == plan.old_format:
                notebook = nbformat.convert(notebook, 3)
                target.write_text(nbformat.writes(notebook, version=3), encoding="utf-8")
            else:
                nbformat.write(notebook, target)
        paths.append(target)
    return paths


def _fill(notebook, solution_path: Path, plan: ModulePlan):
    solutions = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source
        for cell in nbformat.read(solution_path, as_version=4).cells
    }
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if not grade_id.endswith("_solution"):
            continue
        answer = SOLUTION if plan.all_solutions else plan.answers.get(grade_id)
        if answer == SOLUTION:
            cell.source = _without_markers(solutions[grade_id])
        elif answer is not None:
            cell.source = answer
    return notebook


def _without_markers(source: str) -> str:
    return re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", source, flags=re.MULTILINE)
