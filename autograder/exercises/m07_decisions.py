"""Module 07 decisions: when a change needs a new asset version, and how a model moves from
the dev workspace through a registry to test and prod."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

VersionAction = Literal[
    "new data asset version",
    "new model version",
    "new environment version",
    "new component version",
    "update the metadata of the existing version",
    "share the existing version through the registry",
    "retrain in the target workspace",
]
PromotionStep = Literal[
    "register the model in the dev workspace",
    "share the model version to the registry",
    "deploy the registry version to the test workspace",
    "approve the model once the tests pass",
    "deploy the same registry version to the prod workspace",
]


class Versioning(BaseModel):
    """Answer to: what each change to the churn project calls for."""

    schema_change: VersionAction
    relabelled_rows: VersionAction
    new_seed: VersionAction
    package_bump: VersionAction
    prep_script_change: VersionAction
    description_typo: VersionAction
    prod_serving: VersionAction


class Promotion(BaseModel):
    """Answer to: the promotion path of a model version, and how prod refers to it."""

    steps: list[PromotionStep] = Field(description="all five steps, first to last")
    prod_model_reference: Literal[
        "azureml://registries/contoso-ml/models/churn-model/versions/4",
        "azureml:churn-model:4",
        "azureml:churn-model@latest",
        "azureml://registries/contoso-ml/models/churn-model/labels/latest",
    ] = Field(description="the model reference in the prod deployment")


register(decision_exercise("m07.versioning", "New version, metadata update or registry", Versioning))
register(decision_exercise("m07.promotion", "Promote a model across workspaces", Promotion))
