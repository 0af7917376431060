"""Module 01, building blocks: Data, Environment and Model entities, asset types, and the
control plane against the data plane."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from autograder.checks.core import CaseGroup
from autograder.checks.specs import field_rule, is_entity, passes_schema
from autograder.exercises import Exercise, decision_exercise, register

# Azure ML asset names: letters, digits, '-' and '_', starting with a letter or digit, at most 255.
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
DATASTORE_URI = re.compile(r"^azureml://datastores/[A-Za-z0-9_]+/paths/.+")
JOB_OUTPUT_URI = re.compile(r"^azureml://jobs/[^/]+/outputs/[^/]+(/paths/.*)?$")


def _named_and_versioned(name: str) -> list[CaseGroup]:
    return [
        field_rule("asset name", "name", lambda v: v == name and bool(ASSET_NAME.match(str(v))),
                   f"use the name the exercise gives, {name!r}: jobs and deployments find the asset by it"),
        field_rule("explicit version", "version", lambda v: str(v).isdigit(),
                   "pin the version as a whole number such as \"1\" so jobs can reference name:version"),
    ]


def _data_asset_groups() -> list[CaseGroup]:
    return [
        is_entity("data"),
        passes_schema("data"),
        *_named_and_versioned("taxi-trips"),
        field_rule("folder type", "type", lambda v: v == "uri_folder",
                   "the trips are a folder of many Parquet files; a single file would be uri_file, a table with a schema mltable"),
        field_rule("datastore path", "path", lambda v: bool(DATASTORE_URI.match(str(v))),
                   "point at the files through the workspace datastore: azureml://datastores/<datastore>/paths/<folder>/"),
    ]


def _environment_groups() -> list[CaseGroup]:
    return [
        is_entity("environment"),
        passes_schema("environment"),
        *_named_and_versioned("sklearn-env"),
        field_rule("pinned base image", "image", _pinned_image,
                   "pin the base image to a dated tag; 'latest' or no tag changes under you and breaks reproducibility"),
        field_rule("conda dependencies", "conda_file", _pins_python_and_sklearn,
                   "the conda specification must pin python (python=3.x) and list scikit-learn with an exact version (==)"),
    ]


def _pinned_image(image: str) -> bool:
    repository, _, tag = str(image).rpartition(":")
    return bool(repository) and "/" not in tag and tag not in ("", "latest")


def _pins_python_and_sklearn(conda: object) -> bool:
    if not isinstance(conda, dict):
        return False
    packages = [d for d in conda.get("dependencies", []) if isinstance(d, str)]
    pip_packages = [p for d in conda.get("dependencies", []) if isinstance(d, dict) for p in d.get("pip", [])]
    pins_python = any(re.match(r"^python=3\.\d+", p) for p in packages)
    pins_sklearn = any(re.match(r"^scikit-learn==\d", str(p)) for p in pip_packages + packages)
    return pins_python and pins_sklearn


def _model_asset_groups() -> list[CaseGroup]:
    return [
        is_entity("model"),
        passes_schema("model"),
        *_named_and_versioned("taxi-fare-model"),
        field_rule("MLflow model type", "type", lambda v: v == "mlflow_model",
                   "the training job saved the model with mlflow.sklearn.save_model, which is the mlflow_model type"),
        field_rule("path from the job output", "path", lambda v: bool(JOB_OUTPUT_URI.match(str(v))),
                   "register the model from the job's output: azureml://jobs/<job name>/outputs/<output name>/paths/<folder>/"),
    ]


AssetType = Literal["data", "environment", "model", "component", "compute", "endpoint", "job"]
Plane = Literal["control plane", "data plane"]


class AssetTypes(BaseModel):
    """Answer to: which Azure ML asset or resource type each item of the scenario is."""

    trip_files: AssetType
    runtime_image: AssetType
    trained_regressor: AssetType
    prep_step: AssetType
    gpu_cluster: AssetType
    fare_service: AssetType


class Planes(BaseModel):
    """Answer to: whether each operation acts on the control plane or the data plane."""

    create_workspace: Plane
    scale_cluster: Plane
    read_training_files: Plane
    invoke_endpoint: Plane
    assign_role: Plane
    log_metric: Plane


register(Exercise("m01.data_asset", "sdk", "A Data asset for a folder of files",
                  _data_asset_groups, lambda: _data_asset_groups()))
register(Exercise("m01.environment", "sdk", "A reproducible Environment",
                  _environment_groups, lambda: _environment_groups()))
register(Exercise("m01.model_asset", "sdk", "A Model asset from a job output",
                  _model_asset_groups, lambda: _model_asset_groups()))
register(decision_exercise("m01.asset_types", "Classify resources into asset types", AssetTypes))
register(decision_exercise("m01.planes", "Control plane or data plane", Planes))
