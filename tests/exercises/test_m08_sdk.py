"""Tests of the module 08 sdk exercises: an online endpoint and deployment, a batch endpoint and deployment.

The correct answers and the grading data (``points=``) come from the solution notebook: its
setup and solution cells are executed, and the keyword values of the ``grade(...)`` call in
each hidden-test cell are read with ``ast.literal_eval``. Every test runs in the notebook's
folder, where ``./src`` resolves as it does in the learner's kernel.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from azure.ai.ml.entities import (
    BatchDeployment,
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
    OnlineRequestSettings,
    ProbeSettings,
    ResourceConfiguration,
)

from autograder.checks.core import run_groups
from autograder.exercises import all_exercises, get_exercise
from autograder.learner import check, grade

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "m08" / "sdk.ipynb"
EXERCISE_IDS = ["m08.batch_deployment", "m08.online_deployment"]
MODEL = "azureml:taxi-fare-model:1"
ENVIRONMENT = "azureml:fare-inference:1"


@dataclass(frozen=True)
class NotebookExercise:
    """An exercise's solution and grading data, as stored in the solution notebook."""

    answer: Any
    points: float
    grading_data: dict[str, Any]
    cell_points: float


def read_notebook_exercises(path: Path) -> dict[str, NotebookExercise]:
    """Execute the setup and solution cells of ``path`` and parse each hidden-test cell's ``grade`` call."""
    notebook = nbformat.read(path, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    namespace: dict[str, Any] = {}
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
    return exercises


def failures(exercise_id: str, answer: Any) -> dict[str, str]:
    """Run the public check and return the message of each failed group, by group name."""
    return {outcome.group: outcome.message for outcome in check(exercise_id, answer).outcomes if not outcome.passed}


def graded_failures(exercise_id: str, answer: Any, **grading_data: Any) -> dict[str, str]:
    """Run the graded groups as ``grade()`` does and return the message of each failed group."""
    result = run_groups(exercise_id, get_exercise(exercise_id).graded_groups(**grading_data), answer)
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


@pytest.fixture(scope="module")
def module_folder():
    """Run the module's tests in the notebook's folder, as the learner's kernel does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(NOTEBOOK.parent)
        yield NOTEBOOK.parent


@pytest.fixture(scope="module")
def solutions(module_folder) -> dict[str, NotebookExercise]:
    return read_notebook_exercises(NOTEBOOK)


def online_endpoint(**changes: Any) -> ManagedOnlineEndpoint:
    return ManagedOnlineEndpoint(**{"name": "fare-quotes", "auth_mode": "key", **changes})


def online_deployment(**changes: Any) -> ManagedOnlineDeployment:
    fields = {
        "name": "blue",
        "endpoint_name": "fare-quotes",
        "model": MODEL,
        "code_configuration": CodeConfiguration(code="./src", scoring_script="score.py"),
        "environment": ENVIRONMENT,
        "instance_type": "Standard_DS3_v2",
        "instance_count": 3,
        "request_settings": OnlineRequestSettings(request_timeout_ms=2000, max_concurrent_requests_per_instance=2),
        "liveness_probe": ProbeSettings(initial_delay=30, period=10, timeout=2, failure_threshold=3),
        "readiness_probe": ProbeSettings(initial_delay=10, period=5, timeout=2, failure_threshold=3),
    }
    return ManagedOnlineDeployment(**{**fields, **changes})


def batch_endpoint(**changes: Any) -> BatchEndpoint:
    return BatchEndpoint(**{"name": "fare-batch", **changes})


def batch_deployment(settings: dict[str, Any] | None = None, **changes: Any) -> ModelBatchDeployment:
    options = {
        "mini_batch_size": 20,
        "max_concurrency_per_instance": 2,
        "output_action": "append_row",
        "output_file_name": "fares.csv",
        "retry_settings": BatchRetrySettings(max_retries=2, timeout=300),
        "error_threshold": 10,
        **(settings or {}),
    }
    fields = {
        "name": "nightly",
        "endpoint_name": "fare-batch",
        "model": MODEL,
        "code_configuration": CodeConfiguration(code="./src", scoring_script="batch_score.py"),
        "environment": ENVIRONMENT,
        "compute": "batch-cluster",
        "resources": ResourceConfiguration(instance_count=4),
        "settings": ModelBatchDeploymentSettings(**options),
    }
    return ModelBatchDeployment(**{**fields, **changes})


# --- Solutions -----------------------------------------------------------------------------------


def test_solutions_cover_every_sdk_exercise(solutions):
    registered = sorted(e.id for e in all_exercises().values() if e.id.startswith("m08.") and e.kind == "sdk")

    assert sorted(solutions) == registered
    assert EXERCISE_IDS == registered


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
def test_public_and_graded_groups_agree(solutions, exercise_id):
    answer = (online_endpoint(), online_deployment(instance_count=1))

    assert graded_failures(exercise_id, answer, **solutions[exercise_id].grading_data) == failures(exercise_id, answer)


# --- Online endpoint and deployment ------------------------------------------------------------------


def test_online_variant_passes(module_folder):
    assert check("m08.online_deployment", (online_endpoint(), online_deployment())).passed


def test_online_single_instance(module_folder):
    found = failures("m08.online_deployment", (online_endpoint(), online_deployment(instance_count=1)))

    assert sorted(found) == ["VM size and count", "deployment spec check"]
    assert found["deployment spec check"].startswith("AML104 instance_count: instance_count is 1; with fewer than three instances")
    assert found["VM size and count"] == (
        "`instance_count` = 1: the exercise asks for the smallest count that keeps serving while one instance "
        "is updated and another fails"
    )


def test_online_single_instance_points(module_folder):
    # Two of ten equally weighted groups fail: 8/10 of 4 points.
    assert grade("m08.online_deployment", (online_endpoint(), online_deployment(instance_count=1)), points=4) == 3.2


def test_online_timeout_in_seconds(module_folder):
    settings = OnlineRequestSettings(request_timeout_ms=2, max_concurrent_requests_per_instance=2)

    assert failures("m08.online_deployment", (online_endpoint(), online_deployment(request_settings=settings))) == {
        "request settings": "`request_settings.request_timeout_ms` = 2: the booking app gives up after 2 seconds, "
        "and the timeout is in milliseconds",
    }


def test_online_timeout_above_limit(module_folder):
    settings = OnlineRequestSettings(request_timeout_ms=200000, max_concurrent_requests_per_instance=2)

    found = failures("m08.online_deployment", (online_endpoint(), online_deployment(request_settings=settings)))

    assert sorted(found) == ["deployment spec check", "request settings"]
    assert found["deployment spec check"].startswith(
        "AML051 request_settings.request_timeout_ms: request_timeout_ms is 200000; a managed online deployment allows 1 to 180000 ms"
    )


def test_online_default_probes(module_folder):
    found = failures("m08.online_deployment", (online_endpoint(), online_deployment(liveness_probe=None, readiness_probe=None)))

    assert sorted(found) == ["deployment spec check", "liveness probe", "readiness probe"]
    assert found["deployment spec check"].startswith("AML105 liveness_probe: liveness_probe is not set")
    assert found["readiness probe"] == "`readiness_probe` is not set: the readiness probe decides when an instance receives traffic"


def test_online_liveness_before_model_loads(module_folder):
    probe = ProbeSettings(initial_delay=10, period=10, timeout=2, failure_threshold=3)

    assert failures("m08.online_deployment", (online_endpoint(), online_deployment(liveness_probe=probe))) == {
        "liveness probe": "`liveness_probe.initial_delay` = 10: the liveness probe restarts a container that stops "
        "answering, and must wait for the model to load; use the value in the exercise's table",
    }


def test_online_deployment_on_other_endpoint(module_folder):
    assert failures("m08.online_deployment", (online_endpoint(), online_deployment(endpoint_name="fare-quote"))) == {
        "deployment on the endpoint": "the deployment names endpoint 'fare-quote', but the endpoint is 'fare-quotes': "
        "a deployment serves the endpoint that its endpoint_name gives",
    }


def test_online_endpoint_name_underscore(module_folder):
    answer = (online_endpoint(name="fare_quotes"), online_deployment(endpoint_name="fare_quotes"))

    found = failures("m08.online_deployment", answer)

    assert sorted(found) == ["deployment spec check", "endpoint name and auth mode", "endpoint spec check"]
    assert found["endpoint spec check"] == (
        "AML030 name: endpoint name `fare_quotes` contains characters other than letters, digits and '-' "
        "(fix: use 3 to 32 characters: a letter first, then letters, digits and single '-', not '-' last)"
    )


def test_online_token_auth(module_folder):
    assert failures("m08.online_deployment", (online_endpoint(auth_mode="aml_token"), online_deployment())) == {
        "endpoint name and auth mode": "`auth_mode` = 'aml_token': the booking back end authenticates with an endpoint "
        "key, which never expires",
    }


def test_online_batch_scoring_script(module_folder):
    code = CodeConfiguration(code="./src", scoring_script="batch_score.py")

    assert failures("m08.online_deployment", (online_endpoint(), online_deployment(code_configuration=code))) == {
        "model and scoring code": "`code_configuration.scoring_script` = 'batch_score.py': the scoring script in the src folder is score.py",
    }


def test_online_pair_swapped(module_folder):
    found = failures("m08.online_deployment", (online_deployment(), online_endpoint()))

    assert len(found) == 10
    assert found["endpoint and deployment objects"] == (
        "the first item is a ManagedOnlineDeployment, not an azure-ai-ml ManagedOnlineEndpoint"
    )
    assert found["endpoint spec check"].startswith(
        "AML002 spec: the spec is a managed online deployment, but the exercise expects a managed online endpoint"
    )


def test_online_deployment_alone(module_folder):
    result = check("m08.online_deployment", online_deployment())

    assert result.score == 0.0
    assert result.messages[0] == (
        "endpoint and deployment objects: expected a pair (endpoint, deployment), got a ManagedOnlineDeployment"
    )


# --- Batch endpoint and deployment -------------------------------------------------------------------


def test_batch_variant_passes(module_folder):
    assert check("m08.batch_deployment", (batch_endpoint(), batch_deployment())).passed


def test_batch_key_auth(module_folder):
    assert failures("m08.batch_deployment", (batch_endpoint(auth_mode="key"), batch_deployment())) == {
        "endpoint spec check": "AML034 auth_mode: a batch endpoint does not support `auth_mode: key` (fix: use aad_token)",
    }


def test_batch_key_auth_points(module_folder):
    # One of twelve equally weighted groups fails: 11/12 of 4 points.
    assert grade("m08.batch_deployment", (batch_endpoint(auth_mode="key"), batch_deployment()), points=4) == 3.6667


def test_batch_summary_only(module_folder):
    answer = (batch_endpoint(), batch_deployment({"output_action": "summary_only"}))

    assert failures("m08.batch_deployment", answer) == {
        "output action and file": "summary_only writes no predictions, only the job's status; the pricing team needs every fare in one file",
    }


def test_batch_default_output_file(module_folder):
    answer = (batch_endpoint(), batch_deployment({"output_file_name": None}))

    assert failures("m08.batch_deployment", answer) == {
        "output action and file": "`settings.output_file_name` is not set, so the scores go to the default "
        "predictions.csv; the pricing team's import reads the file name the exercise gives",
    }


def test_batch_default_retries(module_folder):
    answer = (batch_endpoint(), batch_deployment({"retry_settings": None}))

    assert failures("m08.batch_deployment", answer) == {
        "retry settings": "`settings.retry_settings` is not set, so each mini-batch times out after the default 30 s",
    }


def test_batch_timeout_in_minutes(module_folder):
    answer = (batch_endpoint(), batch_deployment({"retry_settings": BatchRetrySettings(max_retries=2, timeout=5)}))

    assert failures("m08.batch_deployment", answer) == {
        "retry settings": "`retry_settings.timeout` = 5: a mini-batch takes about two minutes to score, and the "
        "timeout is in seconds; use the timeout the exercise gives",
    }


def test_batch_failures_ignored(module_folder):
    answer = (batch_endpoint(), batch_deployment({"error_threshold": -1}))

    assert failures("m08.batch_deployment", answer) == {
        "error threshold": "`settings.error_threshold` = -1: the job must fail once more files fail than the exercise "
        "tolerates; -1, the default, ignores every failure",
    }


def test_batch_default_sizes(module_folder):
    answer = (batch_endpoint(), batch_deployment({"mini_batch_size": 10, "max_concurrency_per_instance": None}))

    found = failures("m08.batch_deployment", answer)

    assert found == {
        "mini-batch size": "`settings.mini_batch_size` = 10: each mini-batch holds as many CSV files as the exercise gives",
        "concurrency per instance": "`settings.max_concurrency_per_instance` is not set, so the default applies: "
        "each node has room for as many scoring processes as the exercise gives",
    }


def test_batch_default_sizes_points(module_folder):
    answer = (batch_endpoint(), batch_deployment({"mini_batch_size": 10, "max_concurrency_per_instance": None}))

    assert grade("m08.batch_deployment", answer, points=4) == 3.3333


def test_batch_instance_count_keyword(module_folder):
    # ModelBatchDeployment accepts instance_count=... through **kwargs and drops it.
    answer = (batch_endpoint(), batch_deployment(resources=None, instance_count=4))

    assert failures("m08.batch_deployment", answer) == {
        "compute and instances": "`resources.instance_count` is not set: pass resources=ResourceConfiguration(instance_count=...); "
        "ModelBatchDeployment ignores an instance_count keyword of its own",
    }


def test_batch_without_compute(module_folder):
    found = failures("m08.batch_deployment", (batch_endpoint(), batch_deployment(compute=None)))

    assert found == {
        "deployment spec check": "AML010 compute: `compute` is required in a model batch deployment (fix: add `compute`)",
        "compute and instances": "`compute` = None: run the scoring jobs on the cluster batch-cluster",
    }


def test_batch_deprecated_class(module_folder):
    with pytest.warns(UserWarning, match="direct usage is deprecated"):
        deployment = deprecated_batch_deployment()

    found = failures("m08.batch_deployment", (batch_endpoint(), deployment))

    assert sorted(found) == ["deployment spec check", "endpoint and deployment objects"]
    assert found["endpoint and deployment objects"] == (
        "the second item is a BatchDeployment, not an azure-ai-ml ModelBatchDeployment; BatchDeployment is the "
        "first, deprecated form; use ModelBatchDeployment with ModelBatchDeploymentSettings"
    )
    assert found["deployment spec check"].startswith("AML011 ")


def deprecated_batch_deployment() -> BatchDeployment:
    return BatchDeployment(
        name="nightly",
        endpoint_name="fare-batch",
        model=MODEL,
        code_configuration=CodeConfiguration(code="./src", scoring_script="batch_score.py"),
        environment=ENVIRONMENT,
        compute="batch-cluster",
        instance_count=4,
        mini_batch_size=20,
        max_concurrency_per_instance=2,
        output_action="append_row",
        output_file_name="fares.csv",
        retry_settings=BatchRetrySettings(max_retries=2, timeout=300),
        error_threshold=10,
    )


def test_batch_online_pair_rejected(module_folder):
    result = check("m08.batch_deployment", (online_endpoint(), online_deployment()))

    assert result.score == 0.0
    assert result.messages[0] == "endpoint and deployment objects: the first item is a ManagedOnlineEndpoint, not an azure-ai-ml BatchEndpoint"


def test_batch_triple_rejected(module_folder):
    result = check("m08.batch_deployment", (batch_endpoint(), batch_deployment(), batch_deployment()))

    assert result.score == 0.0
    assert result.messages[0] == "endpoint and deployment objects: expected a pair (endpoint, deployment), got a tuple of 3 items"
