"""Tests of the module 11 decisions: least-privilege roles, approval gates and a lineage audit.

The grading data comes from the rubric files in ``solutions/m11/rubrics/``. The correct
answers come from executing the solution notebook's cells for a given learner, so the tests
also prove that the notebook's solution code is right for every learner's scenario.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.authoring import rubric_problems
from autograder.checks.core import CheckResult, run_groups
from autograder.checks.rubrics import parse_rubric
from autograder.exercises import exercise_data, get_exercise
from autograder.learner import check, grade

REPO = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO / "solutions" / "m11"
POINTS = {"m11.least_privilege": 4, "m11.approval_gates": 4}
MANY_LEARNERS = [f"learner-{i}" for i in range(60)]


@functools.cache
def code_cells() -> dict[str, str]:
    notebook = nbformat.read(MODULE_DIR / "decisions.ipynb", as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells if cell.cell_type == "code"}


def rubric(exercise_id: str) -> str:
    return (MODULE_DIR / "rubrics" / f"{exercise_id.split('.')[1]}.yaml").read_text(encoding="utf-8")


def solution_answer(exercise_id: str) -> Any:
    """Run the notebook's setup, data and solution cells for the current learner and return the answer."""
    name = exercise_id.split(".")[1]
    cells = code_cells()
    variable = ast.parse(cells[f"{name}_check"]).body[0].value.args[1].id
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for grade_id in ("setup", f"{name}_data", f"{name}_solution"):
            if grade_id in cells:
                exec(cells[grade_id], namespace)
    return namespace[variable]


def graded(exercise_id: str, answer: Any) -> CheckResult:
    groups = get_exercise(exercise_id).graded_groups(rubric=rubric(exercise_id))
    return run_groups(exercise_id, groups, answer)


def failures(result: CheckResult) -> dict[str, str]:
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


def points(exercise_id: str, answer: Any) -> float:
    return grade(exercise_id, answer, points=POINTS[exercise_id], rubric=rubric(exercise_id))


@pytest.fixture
def as_learner(monkeypatch: pytest.MonkeyPatch):
    def use(learner: str) -> None:
        monkeypatch.setenv("AZML_LEARNER_ID", learner)

    return use


# --- Notebook and rubric files -------------------------------------------------------------------


@pytest.mark.parametrize("exercise_id", POINTS)
def test_hidden_cell_rubric_matches_file(exercise_id):
    name = exercise_id.split(".")[1]

    assert rubric_problems(REPO, "m11", name, code_cells()[f"{name}_tests"]) == []


@pytest.mark.parametrize("exercise_id", POINTS)
def test_points_agree(exercise_id):
    name = exercise_id.split(".")[1]
    notebook = nbformat.read(MODULE_DIR / "decisions.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")
    call = next(node for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "grade")
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}

    assert keywords["points"] == POINTS[exercise_id]
    assert cell.metadata["nbgrader"]["points"] == POINTS[exercise_id]
    assert parse_rubric(rubric(exercise_id)).points == POINTS[exercise_id]


@pytest.mark.parametrize("exercise_id", POINTS)
def test_solution_passes_check(exercise_id, as_learner):
    as_learner("ada")

    result = check(exercise_id, solution_answer(exercise_id))

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", POINTS)
def test_solution_full_marks_every_learner(exercise_id, as_learner):
    for learner in MANY_LEARNERS:
        as_learner(learner)

        assert points(exercise_id, solution_answer(exercise_id)) == POINTS[exercise_id], learner


@pytest.mark.parametrize("exercise_id", POINTS)
def test_template_fails_check_without_traceback(exercise_id, as_learner):
    as_learner("ada")
    template = ast.literal_eval(code_cells()[f"{exercise_id.split('.')[1]}_solution"].split("### BEGIN SOLUTION")[0].split("=", 1)[1])

    report = check(exercise_id, template).report()

    assert "not passed yet" in report
    assert "Traceback" not in report
    assert "your code raised" not in report



# --- Least privilege ----------------------------------------------------------------------------------

ADA_ACCESS = {
    "roles": {
        "data_scientist": "AzureML Data Scientist",
        "ci_pipeline": "AzureML Data Scientist",
        "platform_engineer": "AzureML Compute Operator",
        "auditor": "Reader",
        "scoring_app": "score action permission",
    },
    "endpoint_identity_roles": [],
}
SYSTEM_ASSIGNED_REASON = ("a system-assigned identity already gets AcrPull, Storage Blob Data Reader and "
                          "AzureML Metrics Writer: assign nothing more")
USER_ASSIGNED_REASON = ("a user-assigned identity gets no role automatically: it needs AcrPull to pull the image and "
                        "Storage Blob Data Reader to read the model and the table")
ROLE_NAMES = ("'AzureML Data Scientist', 'AzureML Compute Operator', 'Reader', 'Contributor', 'Owner', "
              "'Storage Blob Data Reader', 'AcrPull', 'AzureML Metrics Writer', 'score action permission', 'no role'")


def test_access_scenarios_pinned():
    assert exercise_data("m11.least_privilege", "ada") == {"identity": "system-assigned", "auth_mode": "aad_token"}
    assert exercise_data("m11.least_privilege", "edsger") == {"identity": "user-assigned", "auth_mode": "key"}


def test_access_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m11.least_privilege")

    assert answer == ADA_ACCESS
    assert points("m11.least_privilege", answer) == 4


def test_access_answers_differ_between_learners(as_learner):
    as_learner("edsger")
    edsger = solution_answer("m11.least_privilege")

    assert edsger["roles"]["scoring_app"] == "no role"
    assert edsger["endpoint_identity_roles"] == ["AcrPull", "Storage Blob Data Reader"]
    assert points("m11.least_privilege", edsger) == 4


def test_access_ada_answer_wrong_for_edsger(as_learner):
    as_learner("edsger")

    assert points("m11.least_privilege", ADA_ACCESS) == 2.25


def test_access_contributor_pipeline(as_learner):
    as_learner("ada")
    answer = {**ADA_ACCESS, "roles": {**ADA_ACCESS["roles"], "ci_pipeline": "Contributor"}}

    result = graded("m11.least_privilege", answer)

    assert points("m11.least_privilege", answer) == 3.25
    assert failures(result) == {
        "roles.ci_pipeline (0.75 pt)": "submitting jobs, registering models and updating deployments are all workspace "
        "actions of AzureML Data Scientist; with Contributor or Owner a leaked secret could also create compute or "
        "change role assignments",
    }


def test_access_roles_for_system_identity(as_learner):
    as_learner("ada")
    answer = {**ADA_ACCESS, "endpoint_identity_roles": ["AcrPull", "Storage Blob Data Reader", "AzureML Metrics Writer"]}

    result = graded("m11.least_privilege", answer)

    assert points("m11.least_privilege", answer) == 3.0
    assert failures(result) == {"endpoint_identity_roles (1 pt)": SYSTEM_ASSIGNED_REASON}


def test_access_half_the_user_identity_roles(as_learner):
    as_learner("edsger")
    answer = {**solution_answer("m11.least_privilege"), "endpoint_identity_roles": ["AcrPull"]}

    result = graded("m11.least_privilege", answer)

    assert points("m11.least_privilege", answer) == 3.5
    assert failures(result) == {"endpoint_identity_roles (1 pt)": f"partly right (50%): {USER_ASSIGNED_REASON}"}


def test_access_key_needs_no_role(as_learner):
    as_learner("edsger")
    answer = solution_answer("m11.least_privilege")
    answer = {**answer, "roles": {**answer["roles"], "scoring_app": "score action permission"}}

    assert failures(graded("m11.least_privilege", answer)) == {
        "roles.scoring_app (0.75 pt)": "with key authentication the key itself authorises each request: "
        "invoking the endpoint needs no role",
    }


def test_access_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    answer = {
        "roles": dict.fromkeys(("data_scientist", "ci_pipeline", "platform_engineer", "auditor", "scoring_app"), "Owner"),
        "endpoint_identity_roles": ["Contributor"],
    }

    assert points("m11.least_privilege", answer) == 0
    assert len(graded("m11.least_privilege", answer).messages) == 6


def test_access_unknown_role():
    answer = {**ADA_ACCESS, "endpoint_identity_roles": ["AcrPush"]}

    assert check("m11.least_privilege", answer).messages == [
        "field `endpoint_identity_roles`: invalid value ['AcrPush'] for `endpoint_identity_roles`; "
        f"`endpoint_identity_roles` takes a list of one of {ROLE_NAMES} (roles you must assign to the endpoint identity yourself)"
    ]


def test_access_roles_as_text():
    answer = {**ADA_ACCESS, "endpoint_identity_roles": "AcrPull"}

    assert check("m11.least_privilege", answer).messages == [
        "field `endpoint_identity_roles`: invalid value 'AcrPull' for `endpoint_identity_roles`: Input should be a valid list; "
        f"`endpoint_identity_roles` takes a list of one of {ROLE_NAMES} (roles you must assign to the endpoint identity yourself)"
    ]


def test_access_missing_and_unknown_fields():
    answer = {"roles": ADA_ACCESS["roles"], "identity_roles": []}

    assert check("m11.least_privilege", answer).messages == [
        "answer is a dict of the listed keys: unknown key(s) ['identity_roles']; the allowed keys are roles, endpoint_identity_roles",
        f"field `endpoint_identity_roles`: missing key `endpoint_identity_roles`; `endpoint_identity_roles` takes a list of "
        f"one of {ROLE_NAMES} (roles you must assign to the endpoint identity yourself)",
    ]


# --- Approval gates and lineage ----------------------------------------------------------------------

ADA_RECORD = {
    "served_by": "card-fraud/green",
    "model_ref": "azureml:card-fraud:12",
    "data_ref": "azureml://datastores/workspaceblobstore/paths/card-transactions/",
    "commit": "not recorded",
    "environment_ref": "image fraudacr.azurecr.io/train:latest",
}
ADA_GATES = {
    "human_approval": ["staging -> production"],
    "automated_checks": ["train -> register", "staging -> production"],
    "lineage": {"endpoint": "recorded", "model": "recorded", "data version": "missing",
                "code commit": "missing", "environment": "missing"},
}
HUMAN_APPROVAL_REASON = ("only the release to production needs a person: the model risk owner signs off after the "
                         "staging tests pass")


def with_lineage(answer: dict, **links: str) -> dict:
    renamed = {link.replace("_", " "): state for link, state in links.items()}
    return {**answer, "lineage": {**answer["lineage"], **renamed}}


def test_gates_scenario_pinned():
    assert exercise_data("m11.approval_gates", "ada") == ADA_RECORD


def test_gates_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m11.approval_gates")

    assert answer == ADA_GATES
    assert points("m11.approval_gates", answer) == 4


def test_gates_answers_differ_between_learners(as_learner):
    as_learner("barbara")
    barbara = solution_answer("m11.approval_gates")

    assert barbara["lineage"] == {"endpoint": "recorded", "model": "missing", "data version": "missing",
                                  "code commit": "missing", "environment": "missing"}
    assert points("m11.approval_gates", barbara) == 4


def test_gates_scenarios_reach_every_record(as_learner):
    states: dict[str, set[str]] = {}
    for learner in MANY_LEARNERS:
        as_learner(learner)
        for link, state in solution_answer("m11.approval_gates")["lineage"].items():
            states.setdefault(link, set()).add(state)

    assert all(found == {"recorded", "missing"} for found in states.values())
    assert len(states) == 5


def test_gates_approval_before_staging(as_learner):
    as_learner("ada")
    answer = {**ADA_GATES, "human_approval": ["register -> staging", "staging -> production"]}

    result = graded("m11.approval_gates", answer)

    assert points("m11.approval_gates", answer) == 3.625
    assert failures(result) == {"human_approval (0.75 pt)": f"partly right (50%): {HUMAN_APPROVAL_REASON}"}


def test_gates_datastore_path_taken_for_version(as_learner):
    as_learner("ada")
    answer = with_lineage(ADA_GATES, data_version="recorded")

    result = graded("m11.approval_gates", answer)

    assert points("m11.approval_gates", answer) == 3.5
    assert failures(result) == {
        "lineage.data version (0.5 pt)": "the job read the datastore path "
        "azureml://datastores/workspaceblobstore/paths/card-transactions/, whose files can change, not a Data asset version",
    }


def test_gates_local_model_breaks_the_chain(as_learner):
    as_learner("barbara")
    answer = with_lineage(solution_answer("m11.approval_gates"), data_version="recorded", code_commit="recorded",
                          environment="recorded")

    result = graded("m11.approval_gates", answer)

    assert points("m11.approval_gates", answer) == 2.5
    assert failures(result) == {
        "lineage.data version (0.5 pt)": "no training data is on record for the training job",
        "lineage.code commit (0.5 pt)": "no commit is on record for the training job",
        "lineage.environment (0.5 pt)": "no environment is on record for the training job",
    }


def test_gates_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    answer = {
        "human_approval": [],
        "automated_checks": ["register -> staging"],
        "lineage": {"endpoint": "missing", "model": "missing", "data version": "recorded",
                    "code commit": "recorded", "environment": "recorded"},
    }

    assert points("m11.approval_gates", answer) == 0
    assert len(graded("m11.approval_gates", answer).messages) == 7


def test_gates_unknown_transition():
    answer = {**ADA_GATES, "human_approval": ["staging -> prod"]}

    assert check("m11.approval_gates", answer).messages == [
        "field `human_approval`: invalid value ['staging -> prod'] for `human_approval`; `human_approval` takes a list of one of "
        "'train -> register', 'register -> staging', 'staging -> production' (transitions that wait for a person's approval)"
    ]


def test_gates_missing_and_unknown_fields():
    answer = {key: value for key, value in ADA_GATES.items() if key != "lineage"}

    assert check("m11.approval_gates", {**answer, "audit": {}}).messages == [
        "answer is a dict of the listed keys: unknown key(s) ['audit']; the allowed keys are human_approval, "
        "automated_checks, lineage",
        "field `lineage`: missing key `lineage`; `lineage` takes a dict mapping one of 'endpoint', 'model', "
        "'data version', 'code commit', 'environment' to one of 'recorded', 'missing' (state of each lineage link)",
    ]
