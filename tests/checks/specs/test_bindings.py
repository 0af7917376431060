"""Tests of the binding rules of commands and pipeline steps beyond the corpus mutations."""

from __future__ import annotations

from autograder.checks.specs import check_spec

ENVIRONMENT = "azureml:fare-training:4"


def step_component(inputs, command="python run.py"):
    return {"type": "command", "command": command, "environment": ENVIRONMENT, "inputs": inputs}


def pipeline(jobs, inputs=None, outputs=None):
    spec = {"type": "pipeline", "settings": {"default_compute": "azureml:cpu-cluster"}, "jobs": jobs}
    if inputs is not None:
        spec["inputs"] = inputs
    if outputs is not None:
        spec["outputs"] = outputs
    return spec


def found(spec, **kwargs):
    return [(f.code, f.path) for f in check_spec(spec, **kwargs)]


def test_optional_and_default_inputs_may_stay_unbound():
    component = step_component({"seed": {"type": "integer", "optional": True}, "rate": {"type": "number", "default": 0.1}})

    assert found(pipeline({"train": {"type": "command", "component": component}})) == []


def test_registered_component_checks_parent_bindings_only():
    step = {"type": "command", "component": "azureml:train_fare_model:2", "inputs": {"trips": "${{parent.inputs.trip}}", "anything": 1}}

    spec = pipeline({"train": step}, inputs={"trips": {"type": "uri_folder", "path": "azureml:taxi-trips:3"}})

    assert found(spec) == [("AML061", "jobs.train.inputs.trips")]


def test_output_of_registered_step_not_checked():
    jobs = {
        "prep": {"type": "command", "component": "azureml:prep_trips:1"},
        "train": {"type": "command", "component": step_component({"trips": {"type": "uri_folder"}}), "inputs": {"trips": "${{parent.jobs.prep.outputs.anything}}"}},
    }

    assert found(pipeline(jobs)) == []


def test_component_file_prefix(spec_files):
    step = {"type": "command", "component": "file:./command-component.yml", "inputs": {}}

    findings = found(pipeline({"train": step}), context={"base_path": spec_files.folder})

    assert findings == [("AML063", "jobs.train.inputs.trips")]


def test_inline_command_step():
    step = {
        "type": "command",
        "command": "python train.py --trips ${{inputs.trips}} --out ${{outputs.model}}",
        "environment": ENVIRONMENT,
        "inputs": {"trips": {"type": "uri_folder", "path": "azureml:taxi-trips:3"}},
    }

    assert found(pipeline({"train": step})) == [("AML060", "jobs.train.command")]


def test_binding_with_path_mapping():
    step = {"type": "command", "component": step_component({"trips": {"type": "uri_folder"}}), "inputs": {"trips": {"path": "${{parent.inputs.tripz}}"}}}

    spec = pipeline({"train": step}, inputs={"trips": {"type": "uri_folder", "path": "azureml:taxi-trips:3"}})

    assert found(spec) == [("AML061", "jobs.train.inputs.trips")]


def test_spaces_inside_braces():
    spec = {"type": "command", "command": "python a.py ${{ inputs.rate }}", "environment": ENVIRONMENT, "inputs": {"rate": 0.1}}

    assert found(spec) == []


def test_each_unknown_binding_reported_once():
    spec = {"type": "command", "command": "python a.py ${{inputs.x}} ${{inputs.x}}", "environment": ENVIRONMENT}

    [finding] = check_spec(spec)

    assert finding.message == "the command binds `${{inputs.x}}` but `inputs` declares no `x` (declared: none)"


def test_sweep_inputs_and_search_space():
    spec = {
        "type": "sweep",
        "trial": {"command": "python t.py ${{inputs.trips}} ${{search_space.lr}} ${{search_space.depth}}", "environment": ENVIRONMENT},
        "inputs": {"trips": {"type": "uri_folder", "path": "azureml:taxi-trips:3"}},
        "compute": "azureml:cpu-cluster",
        "sampling_algorithm": "random",
        "search_space": {"lr": {"type": "uniform", "min_value": 0.01, "max_value": 0.1}},
        "objective": {"goal": "minimize", "primary_metric": "rmse"},
        "limits": {"max_total_trials": 4},
    }

    assert found(spec) == [("AML060", "trial.command")]
