"""Tests of layer 2: Azure ML rules that azure-ai-ml does not check, on mutated corpus specs."""

from __future__ import annotations

import pytest

from autograder.checks.specs import check_spec
from autograder.checks.specs.rules import monitoring_rules
from autograder.checks.specs.view import SpecContext, SpecView

LONG = "a" * 33
K8S_ENDPOINT_31 = "fare-k8s-" + "e" * 22
K8S_DEPLOYMENT_32 = "b" + "d" * 31
BATCH_SCHEMA = "https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json"
SIGNALS = "create_monitor.monitoring_signals"

# (file, changes, code, path, other error codes the mutation also causes)
RULE_MUTATIONS = [
    ("managed-online-deployment.yml", [("set", "$schema", BATCH_SCHEMA)], "AML020", "$schema", set()),
    ("managed-online-endpoint.yml", [("set", "$schema", "https://example.com/endpoint.schema.json")], "AML021", "$schema", set()),
    ("managed-online-endpoint.yml", [("set", "name", "fe")], "AML030", "name", set()),
    ("managed-online-endpoint.yml", [("set", "name", "fare_endpoint")], "AML030", "name", set()),
    ("batch-endpoint.yml", [("set", "name", "f" + LONG)], "AML030", "name", set()),
    ("kubernetes-online-endpoint.yml", [("set", "name", "fare-k8s-")], "AML030", "name", set()),
    ("model-batch-deployment.yml", [("set", "endpoint_name", "9-fare")], "AML030", "endpoint_name", set()),
    ("managed-online-deployment.yml", [("set", "name", "blue_v2")], "AML031", "name", set()),
    ("pipeline-component-batch-deployment.yml", [("set", "name", "rt")], "AML031", "name", set()),
    (
        "kubernetes-online-deployment.yml",
        [("set", "endpoint_name", K8S_ENDPOINT_31), ("set", "name", K8S_DEPLOYMENT_32)],
        "AML032",
        "name",
        set(),
    ),
    ("managed-online-endpoint.yml", [("set", "name", "fare--endpoint")], "AML033", "name", set()),
    ("kubernetes-online-endpoint.yml", [("set", "auth_mode", "aad_token")], "AML034", "auth_mode", set()),
    ("batch-endpoint.yml", [("set", "auth_mode", "key")], "AML034", "auth_mode", set()),
    ("managed-online-endpoint-rollout.yml", [("set", "traffic", {"blue": 90, "green": 0})], "AML040", "traffic", set()),
    ("managed-online-endpoint-rollout.yml", [("set", "traffic.blue", 150)], "AML042", "traffic.blue", {"AML012"}),
    ("managed-online-endpoint-rollout.yml", [("set", "traffic.green", -10)], "AML042", "traffic.green", set()),
    ("managed-online-endpoint-rollout.yml", [("set", "mirror_traffic.green", 60)], "AML043", "mirror_traffic.green", set()),
    ("managed-online-endpoint-rollout.yml", [("set", "mirror_traffic.red", 10)], "AML044", "mirror_traffic", set()),
    ("managed-online-endpoint-rollout.yml", [("set", "traffic", {"blue": 80, "green": 20})], "AML045", "mirror_traffic.green", set()),
    (
        "kubernetes-online-endpoint.yml",
        [("set", "traffic", {"blue": 100, "green": 0}), ("set", "mirror_traffic", {"green": 10})],
        "AML046",
        "mirror_traffic",
        set(),
    ),
    (
        "managed-online-deployment.yml",
        [("set", "scale_settings", {"type": "target_utilization", "min_instances": 1, "max_instances": 3})],
        "AML050",
        "scale_settings.type",
        set(),
    ),
    ("managed-online-deployment.yml", [("set", "request_settings.request_timeout_ms", 180001)], "AML051", "request_settings.request_timeout_ms", set()),
    ("kubernetes-online-deployment.yml", [("set", "request_settings.request_timeout_ms", 300001)], "AML051", "request_settings.request_timeout_ms", set()),
    (
        "managed-online-deployment.yml",
        [("set", "request_settings.max_concurrent_requests_per_instance", 0)],
        "AML051",
        "request_settings.max_concurrent_requests_per_instance",
        set(),
    ),
    ("managed-online-deployment.yml", [("set", "liveness_probe.period", 0)], "AML052", "liveness_probe.period", set()),
    ("managed-online-deployment.yml", [("set", "readiness_probe.initial_delay", 0)], "AML052", "readiness_probe.initial_delay", set()),
    ("kubernetes-online-deployment.yml", [("set", "liveness_probe.success_threshold", 2)], "AML052", "liveness_probe.success_threshold", set()),
    ("command-job.yml", [("append", "command", "--epochs ${{inputs.epochs}}")], "AML060", "command", set()),
    ("command-job.yml", [("append", "command", "--report ${{outputs.report}}")], "AML060", "command", set()),
    ("command-component.yml", [("append", "command", "--metrics ${{outputs.metrics}}")], "AML060", "command", set()),
    ("sweep-job.yml", [("append", "trial.command", "--batch ${{search_space.batch_size}}")], "AML060", "trial.command", set()),
    ("pipeline-job.yml", [("append", "jobs.prep.component.command", "--seed ${{inputs.seed}}")], "AML060", "jobs.prep.component.command", set()),
    ("pipeline-job.yml", [("set", "jobs.prep.inputs.raw", "${{parent.inputs.raw_data}}")], "AML061", "jobs.prep.inputs.raw", set()),
    ("pipeline-job.yml", [("set", "jobs.train.outputs.model", "${{parent.outputs.model}}")], "AML061", "jobs.train.outputs.model", set()),
    ("pipeline-job.yml", [("set", "jobs.train.inputs.trips", "${{parent.jobs.split.outputs.train}}")], "AML062", "jobs.train.inputs.trips", set()),
    ("pipeline-job.yml", [("set", "jobs.train.inputs.trips", "${{parent.jobs.prep.outputs.training}}")], "AML062", "jobs.train.inputs.trips", set()),
    ("pipeline-job.yml", [("delete", "jobs.prep.inputs.test_share")], "AML063", "jobs.prep.inputs.test_share", set()),
    ("pipeline-job.yml", [("delete", "jobs.train.inputs.trips")], "AML063", "jobs.train.inputs.trips", set()),
    ("pipeline-job.yml", [("set", "jobs.train.inputs.epochs", 10)], "AML064", "jobs.train.inputs.epochs", set()),
    (
        "monitor-schedule.yml",
        [("set", f"{SIGNALS}.trip_drift.metric_thresholds.numerical.normalized_wasserstein_distance", 0)],
        "AML070",
        f"{SIGNALS}.trip_drift.metric_thresholds.numerical.normalized_wasserstein_distance",
        set(),
    ),
    (
        "monitor-schedule.yml",
        [("set", f"{SIGNALS}.fare_drift.metric_thresholds.numerical.population_stability_index", 0.2)],
        "AML071",
        f"{SIGNALS}.fare_drift.metric_thresholds.numerical",
        set(),
    ),
    (
        "monitor-schedule.yml",
        [("set", f"{SIGNALS}.trip_quality.metric_thresholds.categorical", {"null_value_rate": 0.01})],
        "AML072",
        f"{SIGNALS}.trip_quality.metric_thresholds.categorical",
        set(),
    ),
]


@pytest.mark.parametrize(
    ("name", "changes", "code", "path", "also"),
    RULE_MUTATIONS,
    ids=[f"{code}-{name.removesuffix('.yml')}-{path}" for name, _, code, path, _ in RULE_MUTATIONS],
)
def test_rule_mutation_reported(spec_files, name, changes, code, path, also):
    mutated = spec_files.mutate(name, *changes)

    findings = check_spec(mutated)

    matches = [f for f in findings if f.code == code and f.path == path]
    assert matches, [str(f) for f in findings]
    assert matches[0].line == spec_files.line(mutated, path)
    others = {f.code for f in findings if f.severity == "error" and f not in matches}
    assert others == also, [str(f) for f in findings]


def test_traffic_names_known_deployments(spec_files):
    spec = spec_files.folder / "managed-online-endpoint-rollout.yml"

    findings = check_spec(spec, context={"deployments": ["blue"]})

    assert [(f.code, f.path) for f in findings] == [("AML041", "traffic.green"), ("AML041", "mirror_traffic.green")]
    assert findings[0].message == "traffic names deployment `green`, which the endpoint does not have (deployments: blue)"


def test_traffic_deployments_from_specs(spec_files):
    blue = spec_files.load("managed-online-deployment.yml")
    green = spec_files.load("managed-online-deployment-inline.yml")

    assert check_spec(spec_files.folder / "managed-online-endpoint-rollout.yml", context={"deployments": [blue, green]}) == []


def test_batch_default_deployment_known(spec_files):
    mutated = spec_files.mutate("batch-endpoint.yml", ("set", "defaults", {"deployment_name": "nightly"}))

    assert check_spec(mutated, context={"deployments": ["nightly", "retrain"]}) == []
    [finding] = check_spec(mutated, context={"deployments": ["retrain"]})
    assert (finding.code, finding.path, finding.line) == ("AML041", "defaults.deployment_name", spec_files.line(mutated, "defaults.deployment_name"))


def test_traffic_total_message():
    spec = {"name": "fare-endpoint", "traffic": {"blue": 60, "green": 30}}

    [finding] = check_spec(spec, kind="managed_online_endpoint")

    assert finding.message == "traffic totals 90 %; live traffic across deployments must total 0 or 100 %"
    assert finding.severity == "error"


def test_traffic_all_zero_allowed():
    assert check_spec({"name": "fare-endpoint", "traffic": {"blue": 0, "green": 0}}, kind="managed_online_endpoint") == []


def test_traffic_fraction_not_percent():
    findings = check_spec({"name": "fare-endpoint", "traffic": {"blue": 0.5}}, kind="managed_online_endpoint")

    assert ("AML042", "traffic.blue") in [(f.code, f.path) for f in findings]
    assert "AML040" not in [f.code for f in findings]


def test_mirror_zero_percent_ignored():
    spec = {"name": "fare-endpoint", "traffic": {"blue": 100}, "mirror_traffic": {"blue": 0}}

    assert check_spec(spec, kind="managed_online_endpoint") == []


@pytest.mark.parametrize("name", ["abc", "fare-endpoint-1", "A" * 32, "Fare-Endpoint"])
def test_valid_endpoint_names(name):
    assert check_spec({"name": name}, kind="managed_online_endpoint") == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("ab", "has 2 characters"),
        ("1abc", "does not start with a letter"),
        ("abc-", "ends with '-'"),
        ("é-endpoint", "does not start with a letter"),
    ],
)
def test_invalid_endpoint_names(name, problem):
    findings = check_spec({"name": name}, kind="batch_endpoint")

    [finding] = [f for f in findings if f.code == "AML030"]
    assert finding.message == f"endpoint name `{name}` {problem}"


def test_kubernetes_names_at_limit():
    spec = {
        "name": "b" + "d" * 30,
        "type": "kubernetes",
        "endpoint_name": "fare-k8s-" + "e" * 22,
        "model": "azureml:taxi-fare-model:7",
        "instance_type": "defaultinstancetype",
    }

    assert [f.code for f in check_spec(spec)] == []


def test_monitor_zero_threshold_message(spec_files):
    path = f"{SIGNALS}.fare_drift.metric_thresholds.numerical.jensen_shannon_distance"
    mutated = spec_files.mutate("monitor-schedule.yml", ("set", path, 0))

    [finding] = check_spec(mutated)

    assert finding.severity == "warning"
    assert finding.message == "threshold jensen_shannon_distance is 0; azure-ai-ml 1.35 treats 0 as unset and drops it before the monitor reaches the service"


def test_monitor_kept_metric_named(spec_files):
    path = f"{SIGNALS}.trip_drift.metric_thresholds.categorical.pearsons_chi_squared_test"
    mutated = spec_files.mutate("monitor-schedule.yml", ("set", path, 0.02))

    [finding] = check_spec(mutated)

    assert finding.code == "AML071"
    assert "keeps only `jensen_shannon_distance`" in finding.message


def test_monitor_model_performance_zero(spec_files):
    signal = {
        "type": "model_performance",
        "metric_thresholds": {"regression": {"mae": 0, "rmse": 2.5}},
    }
    mutated = spec_files.mutate("monitor-schedule.yml", ("set", f"{SIGNALS}.fare_quality", signal))

    findings = [f for f in check_spec(mutated) if f.code == "AML070"]

    assert [f.path for f in findings] == [f"{SIGNALS}.fare_quality.metric_thresholds.regression.mae"]


def test_data_quality_zero_kept(tmp_path):
    thresholds = {"numerical": {"null_value_rate": 0}}
    spec = {"create_monitor": {"monitoring_signals": {"quality": {"type": "data_quality", "metric_thresholds": thresholds}}}}

    view = SpecView("monitor_schedule", spec, {}, SpecContext(), tmp_path)

    assert list(monitoring_rules(view)) == []


def test_schema_url_of_family_accepted(spec_files):
    mutated = spec_files.mutate("monitor-schedule.yml", ("set", "$schema", "http://azureml/sdk-2-0/Schedule.json"))

    assert check_spec(mutated) == []


def test_schema_url_versioned_accepted(spec_files):
    url = "https://azuremlschemasprod.azureedge.net/1.5.0/managedOnlineEndpoint.schema.json"
    mutated = spec_files.mutate("managed-online-endpoint.yml", ("set", "$schema", url))

    assert check_spec(mutated) == []


def test_schema_url_other_kind_is_warning_only(spec_files):
    url = "https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json"
    mutated = spec_files.mutate("managed-online-endpoint.yml", ("set", "$schema", url))

    [finding] = check_spec(mutated)

    assert (finding.code, finding.severity) == ("AML020", "warning")
    assert finding.message == "`$schema` names the `amlCompute` schema, but the spec is a managed online endpoint"


def test_kubernetes_liveness_success_threshold_managed_allowed(spec_files):
    mutated = spec_files.mutate("managed-online-deployment.yml", ("set", "liveness_probe.success_threshold", 2))

    assert check_spec(mutated) == []
