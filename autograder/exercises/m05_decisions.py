"""Module 05 decisions: the backend steps of a job run, and the job state where a failure shows.

The order exercise gives each learner their own change since the last run (which decides
whether the environment image is rebuilt) and their own input mode (which decides how the
data reaches the node).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from autograder.exercises import decision_exercise, register

BackendStep = Literal[
    "resolve the job spec",
    "build the environment image",
    "allocate compute nodes",
    "pull the image onto the nodes",
    "mount or download the inputs",
    "run the command and log metrics",
    "upload outputs and logs",
    "release the compute nodes",
]

# Possible changes since the learner's last run, each mapped to whether it changes the environment definition.
CHANGES = {
    "a new scikit-learn pin in the conda file": True,
    "a new tag of the base image": True,
    "a new learning rate passed on the command line": False,
    "a new version of the training data": False,
    "a bug fix in train.py": False,
}
INPUT_MODES = ("ro_mount", "download")

JobState = Literal["rejected at submission", "NotStarted", "Starting", "Preparing", "Queued", "Running", "Finalizing"]


class BackendOrder(BaseModel):
    """Answer to: the order of the backend steps, and what happens to the image and the data today."""

    steps: list[BackendStep] = Field(description="all eight steps, first to last, for an environment never built before")
    image: Literal["build a new image", "reuse the cached image"] = Field(description="what happens to the image in today's job")
    data_access: Literal[
        "the script reads files from storage as it opens them",
        "all input files are copied to the node's disk before the command starts",
    ] = Field(description="how today's job input reaches the script")


class FailureStates(BaseModel):
    """Answer to: in which job state each failure shows."""

    misspelled_key: JobState
    missing_package_version: JobState
    quota_exhausted: JobState
    missing_column: JobState
    missing_import: JobState
    output_upload: JobState


def job_scenario(seed: int) -> dict[str, Any]:
    """Generate a learner's change since the last run and the input mode of today's job."""
    rng = np.random.default_rng(seed)
    return {
        "change": str(rng.choice(list(CHANGES))),
        "input_mode": str(rng.choice(INPUT_MODES)),
    }


register(decision_exercise("m05.backend_order", "Order the backend steps of a job", BackendOrder,
                           scenario=job_scenario))
register(decision_exercise("m05.failure_state", "Place each failure in a job state", FailureStates))
