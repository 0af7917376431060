"""Tests of the module 07 decisions: what a change calls for (new version, metadata update or
registry), and how a model is promoted from dev through a registry to prod.

The answers come from executing the solution notebook's code cells, and the grading data from
the rubric files, which must equal the copies in the hidden-test cells.
"""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.authoring import embedded_rubric
from autograder.checks.core import run_groups
from autograder.checks.rubrics import parse_rubric
from autograder.exercises import get_exercise
from autograder.learner import check, grade

MODULE = Path(__file__).resolve().parents[2] / "solutions" / "m07"
NOTEBOOK = MODULE / "decisions.ipynb"
RUBRICS = {name: (MODULE / "rubrics" / f"{name}.yaml").read_text(encoding="utf-8") for name in ("versioning", "promotion")}
POINTS = {"versioning": 4, "promotion": 3}
ACTIONS = (
    "one of 'new data asset version', 'new model version', 'new environment version', 'new component version', "
    "'update the metadata of the existing version', 'share the existing version through the registry', "
    "'retrain in the target workspace'"
)
STEPS_REASON = (
    "a model can only be shared once it is registered, test and prod deploy what the registry holds, and prod comes "
    "only after the tests pass and someone approves"
)
REFERENCE_REASON = (
    "prod deploys version 4 by its full registry path. azureml:churn-model:4 would name a model in prod's own "
    "workspace, which has none, and the label latest moves to each newly shared version"
)


def run_notebook() -> dict[str, Any]:
    """Execute the notebook's code cells, except the check and hidden-test cells."""
    namespace: dict[str, Any] = {}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type == "code" and not grade_id.endswith(("_check", "_tests")):
            with contextlib.redirect_stdout(io.StringIO()):
                exec(cell.source, namespace)
    return namespace


def hidden_cell(name: str) -> nbformat.NotebookNode:
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    return next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")


def graded(name: str, answer: Any) -> tuple[float, dict[str, str]]:
    """Grade ``answer`` and return the points and the message of each group not fully passed."""
    exercise_id = f"m07.{name}"
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(rubric=RUBRICS[name]), answer)
    messages = {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}
    return grade(exercise_id, answer, points=POINTS[name], rubric=RUBRICS[name]), messages


@pytest.fixture(scope="module")
def solutions() -> dict[str, Any]:
    return run_notebook()


# --- Notebook and rubric files ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["versioning", "promotion"])
def test_rubric_file_matches_hidden_cell(name):
    assert embedded_rubric(hidden_cell(name).source) == RUBRICS[name]


@pytest.mark.parametrize("name", ["versioning", "promotion"])
def test_rubric_points_match_cell(name):
    cell = hidden_cell(name)
    call = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "grade")
    points = next(ast.literal_eval(k.value) for k in call.keywords if k.arg == "points")

    assert parse_rubric(RUBRICS[name]).points == points == cell.metadata["nbgrader"]["points"] == POINTS[name]


# --- Versioning ------------------------------------------------------------------------------------


def test_versioning_solution_full_marks(solutions):
    assert check("m07.versioning", solutions["versioning"]).passed
    assert graded("versioning", solutions["versioning"]) == (4, {})


def test_versioning_retrain_in_prod(solutions):
    answer = {**solutions["versioning"], "prod_serving": "retrain in the target workspace"}

    assert graded("versioning", answer) == (3.0, {
        "prod_serving (1 pt)": "the prod workspace must serve the very model that passed the tests: share that "
        "version to the registry and deploy it from there instead of retraining",
    })


def test_versioning_typo_and_labels_swapped(solutions):
    answer = {
        **solutions["versioning"],
        "description_typo": "new model version",
        "relabelled_rows": "update the metadata of the existing version",
    }

    assert graded("versioning", answer) == (3.0, {
        "relabelled_rows (0.5 pt)": "corrected labels are different data even with the same schema, and the old "
        "version must stay as it was so that models trained on it stay reproducible",
        "description_typo (0.5 pt)": "the description is metadata that can be updated in place, like tags, and the "
        "files do not change, so no new version is needed",
    })


def test_versioning_model_version_for_everything(solutions):
    answer = dict.fromkeys(solutions["versioning"], "new model version")

    assert graded("versioning", answer)[0] == 0.5


def test_versioning_retrain_everywhere_scores_zero(solutions):
    assert graded("versioning", dict.fromkeys(solutions["versioning"], "retrain in the target workspace"))[0] == 0.0


def test_versioning_template_scores_zero(solutions):
    assert graded("versioning", dict.fromkeys(solutions["versioning"]))[0] == 0.0


def test_versioning_wrong_type_named(solutions):
    answer = {**solutions["versioning"], "package_bump": ["new environment version"]}
    found = {o.group: o.message for o in check("m07.versioning", answer).outcomes if not o.passed}

    assert found == {
        "field `package_bump`": f"invalid value ['new environment version'] for `package_bump`; `package_bump` takes {ACTIONS}",
    }


def test_versioning_missing_field_named(solutions):
    answer = {key: value for key, value in solutions["versioning"].items() if key != "new_seed"}

    assert graded("versioning", answer) == (3.5, {"new_seed (0.5 pt)": f"missing key `new_seed`; `new_seed` takes {ACTIONS}"})


def test_versioning_unknown_field_named(solutions):
    result = check("m07.versioning", {**solutions["versioning"], "new_tag": "new model version"})

    assert result.messages == [
        "answer is a dict of the listed keys: unknown key(s) ['new_tag']; the allowed keys are schema_change, "
        "relabelled_rows, new_seed, package_bump, prep_script_change, description_typo, prod_serving",
    ]


# --- Promotion -------------------------------------------------------------------------------------


def test_promotion_solution_full_marks(solutions):
    assert check("m07.promotion", solutions["promotion"]).passed
    assert graded("promotion", solutions["promotion"]) == (3, {})


def test_promotion_prod_before_approval(solutions):
    steps = list(solutions["promotion"]["steps"])
    steps[3], steps[4] = steps[4], steps[3]

    # One of the 10 pairs of steps is out of order: 9/10 of 2 points.
    assert graded("promotion", {**solutions["promotion"], "steps": steps}) == (
        2.8, {"steps (2 pt)": f"partly right (90%): {STEPS_REASON}"},
    )


def test_promotion_workspace_reference(solutions):
    answer = {**solutions["promotion"], "prod_model_reference": "azureml:churn-model:4"}

    assert graded("promotion", answer) == (2.0, {"prod_model_reference (1 pt)": REFERENCE_REASON})


def test_promotion_latest_label_and_late_share(solutions):
    steps = list(solutions["promotion"]["steps"])
    steps.insert(3, steps.pop(1))
    answer = {"steps": steps, "prod_model_reference": "azureml://registries/contoso-ml/models/churn-model/labels/latest"}

    # Sharing only after the approval puts 2 of the 10 pairs out of order: 8/10 of 2 points.
    assert graded("promotion", answer) == (1.6, {
        "steps (2 pt)": f"partly right (80%): {STEPS_REASON}",
        "prod_model_reference (1 pt)": REFERENCE_REASON,
    })


def test_promotion_reversed_scores_zero(solutions):
    answer = {"steps": list(reversed(solutions["promotion"]["steps"])), "prod_model_reference": "azureml:churn-model@latest"}

    assert graded("promotion", answer)[0] == 0.0


def test_promotion_template_scores_zero(solutions):
    assert graded("promotion", {"steps": [], "prod_model_reference": None})[0] == 0.0


def test_promotion_unknown_step_named(solutions):
    steps = [*solutions["promotion"]["steps"], "retrain in prod"]
    found = {o.group: o.message for o in check("m07.promotion", {**solutions["promotion"], "steps": steps}).outcomes if not o.passed}

    assert list(found) == ["field `steps`"]
    assert found["field `steps`"].endswith(
        "`steps` takes a list of one of 'register the model in the dev workspace', 'share the model version to the "
        "registry', 'deploy the registry version to the test workspace', 'approve the model once the tests pass', "
        "'deploy the same registry version to the prod workspace' (all five steps, first to last)"
    )


def test_promotion_missing_field_named(solutions):
    answer = {"steps": solutions["promotion"]["steps"]}

    assert graded("promotion", answer) == (2.0, {
        "prod_model_reference (1 pt)": "missing key `prod_model_reference`; `prod_model_reference` takes one of "
        "'azureml://registries/contoso-ml/models/churn-model/versions/4', 'azureml:churn-model:4', "
        "'azureml:churn-model@latest', 'azureml://registries/contoso-ml/models/churn-model/labels/latest' "
        "(the model reference in the prod deployment)",
    })


def test_promotion_unknown_field_named(solutions):
    result = check("m07.promotion", {**solutions["promotion"], "registry": "contoso-ml"})

    assert result.messages == [
        "answer is a dict of the listed keys: unknown key(s) ['registry']; the allowed keys are steps, prod_model_reference",
    ]
