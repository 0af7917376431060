"""Tests of the module 11 sdk exercise: a hardened online endpoint and its deployment.

The correct answers and the grading data come from the solution notebook: its setup and
solution cells run in the notebook's folder, and the keyword values of each hidden-test
cell's ``grade(...)`` call are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from azure.ai.ml.entities import IdentityConfiguration, ManagedIdentityConfiguration

from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m11" / "sdk.ipynb"
EXERCISE_IDS = ["m11.hardened_endpoint"]


@dataclass(frozen=True)
class NotebookExercise:
    """An exercise's solution and grading data, as stored in the solution notebook."""

    answer: Any
    points: float
    grading_data: dict[str, Any]
    cell_points: float


def read_notebook_exercises(path: Path) -> dict[str, NotebookExercise]:
    """Execute the setup and solution cells of ``path`` in its folder and parse each hidden-test cell's ``grade`` call."""
    notebook = nbformat.read(path, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    namespace: dict[str, Any] = {}
    previous = Path.cwd()
    os.chdir(path.parent)
    try:
        exec(cells["setup"].source, namespace)
        exercises = {}
        for grade_id, cell in cells.items():
            if not str(grade_id).endswith("_tests"):
                continue
            exec(cells[grade_id.removesuffix("_tests") + "_solution"].source, namespace)
            call = next(
                node for node in ast.walk(ast.parse(cell.source))
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "grade"
            )
            exercise_id = ast.literal_eval(call.args[0])
            answer = eval(compile(ast.Expression(call.args[1]), str(path), "eval"), namespace)
            keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
            points = keywords.pop("points")
            exercises[exercise_id] = NotebookExercise(answer, points, keywords, cell.metadata["nbgrader"]["points"])
    finally:
        os.chdir(previous)
    return exercises


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


@pytest.fixture(scope="module")
def solutions() -> dict[str, NotebookExercise]:
    return read_notebook_exercises(NOTEBOOK)


@pytest.fixture(autouse=True)
def notebook_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in the notebook's folder, where the code folder src/ is."""
    monkeypatch.chdir(NOTEBOOK.parent)


# --- Solutions ---------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(
        exercise.id for exercise in all_exercises().values() if exercise.id.startswith("m11.") and exercise.kind == "sdk"
    )

    assert sorted(solutions) == registered == sorted(EXERCISE_IDS)


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_passes_check(solutions, exercise_id):
    result = check(exercise_id, solutions[exercise_id].answer)

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_solution_gets_full_points(solutions, exercise_id):
    exercise = solutions[exercise_id]

    assert grade(exercise_id, exercise.answer, points=exercise.points, **exercise.grading_data) == exercise.points


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_grade_points_match_cell(solutions, exercise_id):
    assert solutions[exercise_id].points == solutions[exercise_id].cell_points


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_public_groups_are_graded(exercise_id):
    exercise = get_exercise(exercise_id)

    assert [group.name for group in exercise.public_groups()] == [group.name for group in exercise.graded_groups()]


# --- Wrong endpoints and deployments ------------------------------------------------------------------

SCORER = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fare-rg"
    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fare-scorer"
)
KEY_REFERENCE = "${{keyvault:https://fare-kv.vault.azure.net/secrets/weather-api-key/4f6e9c2a8b7d4e1f9a3c5b7d9e1f2a4c}}"
REFERENCE_FORM = "write ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}}"


def hardened_with(solutions, part: str, **changes: Any) -> dict[str, Any]:
    """Return the solution with a copy of ``part`` whose attributes are replaced by ``changes``."""
    answer = solutions["m11.hardened_endpoint"].answer
    changed = copy.deepcopy(answer[part])
    for name, value in changes.items():
        setattr(changed, name, value)
    return {**answer, part: changed}


def with_key(solutions, value: str) -> dict[str, Any]:
    variables = {**solutions["m11.hardened_endpoint"].answer["deployment"].environment_variables, "WEATHER_API_KEY": value}
    return hardened_with(solutions, "deployment", environment_variables=variables)


def test_key_auth(solutions):
    answer = hardened_with(solutions, "endpoint", auth_mode="key")

    failed = failures("m11.hardened_endpoint", answer)

    assert list(failed) == ["endpoint: teaching rule aad_token_auth"]
    assert failed["endpoint: teaching rule aad_token_auth"].startswith("AML106 auth_mode: auth_mode is `key`")
    # A security rule weighs 2 of 16: 14/16 of 4 points.
    assert grade("m11.hardened_endpoint", answer, points=4) == 3.5


def test_public_network(solutions):
    failed = failures("m11.hardened_endpoint", hardened_with(solutions, "endpoint", public_network_access="enabled"))

    assert list(failed) == ["endpoint: teaching rule private_network"]
    assert failed["endpoint: teaching rule private_network"].startswith("AML102 public_network_access: public_network_access is `enabled`")


def test_system_assigned_identity(solutions):
    answer = hardened_with(solutions, "endpoint", identity=IdentityConfiguration(type="system_assigned"))

    failed = failures("m11.hardened_endpoint", answer)

    assert sorted(failed) == ["endpoint: teaching rule user_assigned_identity", "endpoint: the scoring identity"]
    assert failed["endpoint: teaching rule user_assigned_identity"].startswith("AML103 identity: identity type is `system_assigned`")
    assert failed["endpoint: the scoring identity"].startswith("the endpoint lists no user-assigned identity;")
    assert grade("m11.hardened_endpoint", answer, points=4) == 3.25


def test_other_identity(solutions):
    other = SCORER.replace("fare-scorer", "fare-trainer")
    identity = IdentityConfiguration(type="user_assigned", user_assigned_identities=[ManagedIdentityConfiguration(resource_id=other)])

    failed = failures("m11.hardened_endpoint", hardened_with(solutions, "endpoint", identity=identity))

    assert list(failed) == ["endpoint: the scoring identity"]
    assert failed["endpoint: the scoring identity"].startswith(f"the endpoint lists the identities ['{other}'];")


def test_identity_resource_id_case_insensitive(solutions):
    identity = IdentityConfiguration(
        type="user_assigned", user_assigned_identities=[ManagedIdentityConfiguration(resource_id=SCORER.replace("resourceGroups", "resourcegroups"))]
    )

    assert check("m11.hardened_endpoint", hardened_with(solutions, "endpoint", identity=identity)).passed


def test_inline_secret(solutions):
    answer = with_key(solutions, "9f8e7d6c5b4a39281706f5e4d3c2b1a0")

    failed = failures("m11.hardened_endpoint", answer)

    assert sorted(failed) == ["deployment: Key Vault reference", "deployment: teaching rule no_inline_secrets"]
    assert failed["deployment: teaching rule no_inline_secrets"].startswith(
        "AML101 environment_variables.WEATHER_API_KEY: environment variable `WEATHER_API_KEY` contains a value its name marks as secret"
    )
    assert "9f8e7d6c5b4a39281706f5e4d3c2b1a0" not in failed["deployment: teaching rule no_inline_secrets"]
    assert grade("m11.hardened_endpoint", answer, points=4) == 3.25


def test_app_service_reference(solutions):
    reference = "@Microsoft.KeyVault(SecretUri=https://fare-kv.vault.azure.net/secrets/weather-api-key/4f6e9c2a8b7d4e1f9a3c5b7d9e1f2a4c)"

    assert failures("m11.hardened_endpoint", with_key(solutions, reference)) == {
        "deployment: Key Vault reference": "WEATHER_API_KEY uses the App Service reference syntax, which Azure ML does not resolve; "
        + REFERENCE_FORM,
    }


@pytest.mark.parametrize(
    "reference",
    [
        "${{keyvault:https://fare-kv.vault.azure.net/secrets/weather-api-key}}",
        "${{keyvault:https://other-kv.vault.azure.net/secrets/weather-api-key/4f6e9c2a8b7d4e1f9a3c5b7d9e1f2a4c}}",
        "https://fare-kv.vault.azure.net/secrets/weather-api-key/4f6e9c2a8b7d4e1f9a3c5b7d9e1f2a4c",
    ],
    ids=["no_version", "other_vault", "bare_url"],
)
def test_reference_not_injected(solutions, reference):
    assert failures("m11.hardened_endpoint", with_key(solutions, reference)) == {
        "deployment: Key Vault reference": "WEATHER_API_KEY is not a secret injection reference to the vault, secret and version "
        "the exercise names; " + REFERENCE_FORM,
    }


def test_key_missing(solutions):
    answer = hardened_with(solutions, "deployment", environment_variables={"WEATHER_API_URL": "https://weather.example.com/v2/forecast"})

    assert failures("m11.hardened_endpoint", answer) == {
        "deployment: Key Vault reference": "the deployment sets no WEATHER_API_KEY, so score.py cannot call the weather service",
    }


def test_deployment_on_old_endpoint(solutions):
    assert failures("m11.hardened_endpoint", hardened_with(solutions, "deployment", endpoint_name="fare-endpoint")) == {
        "deployment: on the hardened endpoint": "`endpoint_name` = 'fare-endpoint': the deployment must run behind the hardened "
        "endpoint, or none of its protections apply to it",
    }


def test_endpoint_alone_rejected(solutions):
    result = check("m11.hardened_endpoint", solutions["m11.hardened_endpoint"].answer["endpoint"])

    assert result.score == 0
    assert result.messages[0] == (
        "endpoint: azure-ai-ml ManagedOnlineEndpoint entity: expected a dict with the keys 'endpoint', 'deployment', got ManagedOnlineEndpoint"
    )


def test_parts_swapped(solutions):
    answer = solutions["m11.hardened_endpoint"].answer
    swapped = {"endpoint": answer["deployment"], "deployment": answer["endpoint"]}

    failed = failures("m11.hardened_endpoint", swapped)

    assert failed["endpoint: azure-ai-ml ManagedOnlineEndpoint entity"] == (
        "expected an azure-ai-ml ManagedOnlineEndpoint object, got ManagedOnlineDeployment"
    )
    assert failed["endpoint: teaching rule private_network"].startswith("AML002 spec: the spec is a managed online deployment")


def test_identity_checked_twice(solutions):
    # azure-ai-ml 1.35 rewrites a user-assigned identity in place when it serialises an endpoint,
    # so without a copy the second check of the same object would fail.
    answer = solutions["m11.hardened_endpoint"].answer

    assert check("m11.hardened_endpoint", answer).passed
    assert grade("m11.hardened_endpoint", answer, points=4) == 4


def test_azure_rewrites_identity_in_place(solutions):
    # The reason the exercise groups check a copy; when azure-ai-ml stops doing this, the copy can go.
    endpoint = copy.deepcopy(solutions["m11.hardened_endpoint"].answer["endpoint"])
    endpoint._to_dict()

    with pytest.raises(AttributeError, match="'dict' object has no attribute 'resource_id'"):
        endpoint._to_dict()
