"""Module 08, deployment patterns: a managed online endpoint with its deployment, and a batch
endpoint with a model batch deployment. Each answer is a pair ``(endpoint, deployment)``."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Callable

from autograder.checks.core import CaseGroup
from autograder.checks.specs import field_value, passes_spec_check, to_spec
from autograder.exercises import Exercise, register

MODEL = "azureml:taxi-fare-model:1"
ENVIRONMENT = "azureml:fare-inference:1"


def _pair(answer: Any) -> tuple[Any, Any]:
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        described = f"a {type(answer).__name__}" + (f" of {len(answer)} items" if isinstance(answer, (tuple, list)) else "")
        raise AssertionError(f"expected a pair (endpoint, deployment), got {described}")
    return answer[0], answer[1]


def _on(index: int, group: CaseGroup, name: str) -> CaseGroup:
    """Run ``group`` on the endpoint (index 0) or the deployment (index 1) of the answer."""

    def run(answer: Any) -> str | None:
        return group.run(_pair(answer)[index])

    return CaseGroup(name, run, weight=group.weight)


def _classes(endpoint_class: str, deployment_class: str, hints: dict[str, str]) -> Callable[[Any], None]:
    # NOTE: is_entity() of autograder.checks.specs lists only the entity classes of modules
    # 01 and 02, so this group checks the class names itself.
    def run(answer: Any) -> None:
        endpoint, deployment = _pair(answer)
        for position, value, expected in (("first", endpoint, endpoint_class), ("second", deployment, deployment_class)):
            found = type(value).__name__
            if found != expected:
                hint = hints.get(found, "")
                raise AssertionError(f"the {position} item is a {found}, not an azure-ai-ml {expected}{'; ' + hint if hint else ''}")

    return run


def _spec(answer: Any, index: int) -> dict[str, Any]:
    return to_spec(_pair(answer)[index])


def _expect(spec: dict[str, Any], path: str, expected: Any, problem: str) -> None:
    value = field_value(spec, path)
    if value is None:
        raise AssertionError(f"`{path}` is not set: {problem}")
    if value != expected:
        raise AssertionError(f"`{path}` = {value!r}: {problem}")


def _deployment_on_endpoint(deployment_name: str) -> Callable[[Any], None]:
    def run(answer: Any) -> None:
        endpoint, deployment = _spec(answer, 0), _spec(answer, 1)
        _expect(deployment, "name", deployment_name, "name the deployment as the exercise says; the endpoint refers to its deployments by name")
        if deployment.get("endpoint_name") != endpoint.get("name"):
            raise AssertionError(
                f"the deployment names endpoint {deployment.get('endpoint_name')!r}, but the endpoint is "
                f"{endpoint.get('name')!r}: a deployment serves the endpoint that its endpoint_name gives"
            )

    return run


def _model_and_code(scoring_script: str) -> Callable[[Any], None]:
    def run(answer: Any) -> None:
        spec = _spec(answer, 1)
        _expect(spec, "model", MODEL, "deploy version 1 of the registered model, written azureml:<name>:<version>")
        _expect(spec, "code_configuration.scoring_script", scoring_script,
                f"the scoring script in the src folder is {scoring_script}")
        code = field_value(spec, "code_configuration.code")
        if code is None or PurePath(str(code)).name != "src":
            raise AssertionError(f"`code_configuration.code` = {code!r}: upload the folder src next to the notebook")
        _expect(spec, "environment", ENVIRONMENT, "run the scoring script in version 1 of the registered inference environment")

    return run


# --- Online endpoint and deployment --------------------------------------------------------------

ONLINE_ENDPOINT = "fare-quotes"
LIVENESS = {"initial_delay": 30, "period": 10, "timeout": 2, "failure_threshold": 3}
READINESS = {"initial_delay": 10, "period": 5, "timeout": 2, "failure_threshold": 3}


def _online_endpoint(answer: Any) -> None:
    spec = _spec(answer, 0)
    _expect(spec, "name", ONLINE_ENDPOINT, "use the endpoint name the exercise gives; the booking app calls it by that name")
    _expect(spec, "auth_mode", "key", "the booking back end authenticates with an endpoint key, which never expires")


def _vm_size_and_count(answer: Any) -> None:
    spec = _spec(answer, 1)
    instance_type = spec.get("instance_type")
    if instance_type is None:
        raise AssertionError("`instance_type` is not set: name the VM size that the load test sized the deployment on")
    if str(instance_type).lower() != "standard_ds3_v2":
        raise AssertionError(f"`instance_type` = {instance_type!r}: use the VM size that the load test sized the deployment on")
    count = spec.get("instance_count")
    if count != 3:
        raise AssertionError(
            f"`instance_count` = {count!r}: the exercise asks for the smallest count that keeps serving "
            "while one instance is updated and another fails"
        )


def _request_settings(answer: Any) -> None:
    spec = _spec(answer, 1)
    _expect(spec, "request_settings.request_timeout_ms", 2000,
            "the booking app gives up after 2 seconds, and the timeout is in milliseconds")
    _expect(spec, "request_settings.max_concurrent_requests_per_instance", 2,
            "score.py runs with two workers per instance, so each instance takes that many requests at once")


def _probe(probe: str, expected: dict[str, int], purpose: str) -> Callable[[Any], None]:
    def run(answer: Any) -> None:
        settings = field_value(_spec(answer, 1), probe)
        if not isinstance(settings, dict):
            raise AssertionError(f"`{probe}` is not set: {purpose}")
        for key, value in expected.items():
            if settings.get(key) != value:
                raise AssertionError(f"`{probe}.{key}` = {settings.get(key)!r}: {purpose}; use the value in the exercise's table")

    return run


def _online_groups() -> list[CaseGroup]:
    return [
        CaseGroup("endpoint and deployment objects", _classes("ManagedOnlineEndpoint", "ManagedOnlineDeployment", {
            "KubernetesOnlineEndpoint": "the exercise deploys to managed compute, not to a Kubernetes cluster",
            "KubernetesOnlineDeployment": "the exercise deploys to managed compute, not to a Kubernetes cluster",
        })),
        _on(0, passes_spec_check("managed_online_endpoint"), "endpoint spec check"),
        _on(1, passes_spec_check("managed_online_deployment", teaching_rules=("high_availability", "probes_and_timeouts")),
            "deployment spec check"),
        CaseGroup("endpoint name and auth mode", _online_endpoint),
        CaseGroup("deployment on the endpoint", _deployment_on_endpoint("blue")),
        CaseGroup("VM size and count", _vm_size_and_count),
        CaseGroup("request settings", _request_settings),
        CaseGroup("liveness probe", _probe("liveness_probe", LIVENESS,
                                           "the liveness probe restarts a container that stops answering, and must wait for the model to load")),
        CaseGroup("readiness probe", _probe("readiness_probe", READINESS,
                                            "the readiness probe decides when an instance receives traffic")),
        CaseGroup("model and scoring code", _model_and_code("score.py")),
    ]


# --- Batch endpoint and deployment ---------------------------------------------------------------

BATCH_ENDPOINT = "fare-batch"


def _setting(spec: dict[str, Any], key: str) -> Any:
    """Return a batch setting from ``settings``, where ModelBatchDeployment keeps it, or from the top level."""
    settings = spec.get("settings")
    if isinstance(settings, dict) and key in settings:
        return settings[key]
    return spec.get(key)


def _batch_setting(key: str, expected: Any, problem: str) -> Callable[[Any], None]:
    def run(answer: Any) -> None:
        value = _setting(_spec(answer, 1), key)
        if value is None:
            raise AssertionError(f"`settings.{key}` is not set, so the default applies: {problem}")
        if value != expected:
            raise AssertionError(f"`settings.{key}` = {value!r}: {problem}")

    return run


def _batch_endpoint(answer: Any) -> None:
    _expect(_spec(answer, 0), "name", BATCH_ENDPOINT, "use the endpoint name the exercise gives")


def _compute_and_instances(answer: Any) -> None:
    spec = _spec(answer, 1)
    compute = spec.get("compute")
    if str(compute).removeprefix("azureml:") != "batch-cluster":
        raise AssertionError(f"`compute` = {compute!r}: run the scoring jobs on the cluster batch-cluster")
    count = field_value(spec, "resources.instance_count")
    if count is None:
        raise AssertionError(
            "`resources.instance_count` is not set: pass resources=ResourceConfiguration(instance_count=...); "
            "ModelBatchDeployment ignores an instance_count keyword of its own"
        )
    if count != 4:
        raise AssertionError(f"`resources.instance_count` = {count!r}: each scoring job uses as many nodes as the exercise gives")


def _output(answer: Any) -> None:
    spec = _spec(answer, 1)
    action = _setting(spec, "output_action")
    if action == "summary_only":
        raise AssertionError("summary_only writes no predictions, only the job's status; the pricing team needs every fare in one file")
    if action not in (None, "append_row"):
        raise AssertionError(f"`settings.output_action` = {action!r}: the pricing team needs every fare in one file")
    name = _setting(spec, "output_file_name")
    if name is None:
        raise AssertionError("`settings.output_file_name` is not set, so the scores go to the default predictions.csv; "
                             "the pricing team's import reads the file name the exercise gives")
    if name != "fares.csv":
        raise AssertionError(f"`settings.output_file_name` = {name!r}: the pricing team's import reads the file name the exercise gives")
    if action is None:
        raise AssertionError("`settings.output_action` is not set: state how the scores are written, even where it is the default")


def _retries(answer: Any) -> None:
    retry = _setting(_spec(answer, 1), "retry_settings")
    if not isinstance(retry, dict):
        raise AssertionError("`settings.retry_settings` is not set, so each mini-batch times out after the default 30 s")
    if retry.get("timeout") != 300:
        raise AssertionError(
            f"`retry_settings.timeout` = {retry.get('timeout')!r}: a mini-batch takes about two minutes to score, "
            "and the timeout is in seconds; use the timeout the exercise gives"
        )
    if retry.get("max_retries") != 2:
        raise AssertionError(f"`retry_settings.max_retries` = {retry.get('max_retries')!r}: retry a failed mini-batch as often as the exercise says")


def _batch_groups() -> list[CaseGroup]:
    return [
        CaseGroup("endpoint and deployment objects", _classes("BatchEndpoint", "ModelBatchDeployment", {
            "BatchDeployment": "BatchDeployment is the first, deprecated form; use ModelBatchDeployment with ModelBatchDeploymentSettings",
            "PipelineComponentBatchDeployment": "the exercise deploys a model, not a pipeline component",
        })),
        _on(0, passes_spec_check("batch_endpoint"), "endpoint spec check"),
        _on(1, passes_spec_check("model_batch_deployment"), "deployment spec check"),
        CaseGroup("endpoint name", _batch_endpoint),
        CaseGroup("deployment on the endpoint", _deployment_on_endpoint("nightly")),
        CaseGroup("compute and instances", _compute_and_instances),
        CaseGroup("mini-batch size", _batch_setting("mini_batch_size", 20, "each mini-batch holds as many CSV files as the exercise gives")),
        CaseGroup("concurrency per instance", _batch_setting(
            "max_concurrency_per_instance", 2, "each node has room for as many scoring processes as the exercise gives")),
        CaseGroup("output action and file", _output),
        CaseGroup("retry settings", _retries),
        CaseGroup("error threshold", _batch_setting(
            "error_threshold", 10, "the job must fail once more files fail than the exercise tolerates; -1, the default, ignores every failure")),
        CaseGroup("model and scoring code", _model_and_code("batch_score.py")),
    ]


register(Exercise("m08.online_deployment", "sdk", "A managed online endpoint and deployment",
                  _online_groups, lambda: _online_groups()))
register(Exercise("m08.batch_deployment", "sdk", "A batch endpoint and a model batch deployment",
                  _batch_groups, lambda: _batch_groups()))
