"""Module 11 decisions: the least-privilege role of each actor, where approval gates sit, and a
lineage completeness audit.

Each learner gets their own endpoint identity type and authentication mode, and their own
lineage record with one to five links missing. The rubrics in ``solutions/m11/rubrics/``
apply the Azure ML facts that the notebook states to them.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

# --- Least privilege ---------------------------------------------------------------------------

Actor = Literal["data_scientist", "ci_pipeline", "platform_engineer", "auditor", "scoring_app"]
Role = Literal[
    "AzureML Data Scientist",
    "AzureML Compute Operator",
    "Reader",
    "Contributor",
    "Owner",
    "Storage Blob Data Reader",
    "AcrPull",
    "AzureML Metrics Writer",
    "score action permission",
    "no role",
]


class LeastPrivilege(BaseModel):
    """Answer to: the role of each actor, and the roles to assign to the endpoint identity yourself."""

    roles: dict[Actor, Role] = Field(description="least-privilege role of each actor")
    endpoint_identity_roles: list[Role] = Field(description="roles you must assign to the endpoint identity yourself")


def access_scenario(seed: int) -> dict[str, Any]:
    """Draw the endpoint's identity type and authentication mode."""
    rng = random.Random(seed)
    return {
        "identity": rng.choice(("system-assigned", "user-assigned")),
        "auth_mode": rng.choice(("aad_token", "key")),
    }


# --- Approval gates and lineage ------------------------------------------------------------------

Transition = Literal["train -> register", "register -> staging", "staging -> production"]
Link = Literal["endpoint", "model", "data version", "code commit", "environment"]
UPSTREAM_LINKS = ("data version", "code commit", "environment")
NOT_RECORDED = "not recorded"

# Values of each link in the lineage record: the recorded value, and the values of a broken link.
RECORDED = {
    "endpoint": "card-fraud/green",
    "model": "azureml:card-fraud:12",
    "data version": "azureml:card-transactions:7",
    "code commit": "a41c9e7",
    "environment": "azureml:fraud-train:4",
}
BROKEN = {
    "endpoint": (NOT_RECORDED,),
    "model": ("local file ./outputs/model.pkl",),
    "data version": ("azureml://datastores/workspaceblobstore/paths/card-transactions/", NOT_RECORDED),
    "code commit": ("a41c9e7 with uncommitted changes", NOT_RECORDED),
    "environment": ("image fraudacr.azurecr.io/train:latest", NOT_RECORDED),
}
RECORD_KEYS = {
    "endpoint": "served_by",
    "model": "model_ref",
    "data version": "data_ref",
    "code commit": "commit",
    "environment": "environment_ref",
}


class ApprovalGates(BaseModel):
    """Answer to: where human approvals and automated checks sit, and which lineage links are recorded."""

    human_approval: list[Transition] = Field(description="transitions that wait for a person's approval")
    automated_checks: list[Transition] = Field(description="transitions that wait for automated checks to pass")
    lineage: dict[Link, Literal["recorded", "missing"]] = Field(description="state of each lineage link")


def lineage_scenario(seed: int) -> dict[str, Any]:
    """Generate the lineage record of the production deployment with one to five links missing.

    A model deployed from a local file has no training job, so when the model link is missing,
    the data, code and environment of its training are not recorded either.
    """
    rng = random.Random(seed)
    if rng.random() < 0.2:
        missing = {"model", *UPSTREAM_LINKS}
        if rng.random() < 0.5:
            missing.add("endpoint")
    else:
        missing = set(rng.sample(("endpoint", *UPSTREAM_LINKS), rng.randrange(1, 4)))
    record = {}
    for link, key in RECORD_KEYS.items():
        if link not in missing:
            record[key] = RECORDED[link]
        elif link in UPSTREAM_LINKS and "model" in missing:
            record[key] = NOT_RECORDED
        else:
            record[key] = rng.choice(BROKEN[link])
    return record


register(decision_exercise("m11.least_privilege", "Least-privilege roles", LeastPrivilege, scenario=access_scenario))
register(decision_exercise("m11.approval_gates", "Approval gates and a lineage audit", ApprovalGates,
                           scenario=lineage_scenario))
