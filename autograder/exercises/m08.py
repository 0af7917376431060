"""Module 08, deployment patterns: the core quota a managed online deployment needs and the
parallelism of a batch deployment."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import Inputs, Mistake, Tolerance, matches_reference, raises_value_error, satisfies
from autograder.exercises import Exercise, register, seeded

# Both exercises return whole numbers, so the checks compare them exactly.
EXACT = Tolerance(rtol=0.0, atol=1e-9)
PUBLIC_SEED = 0


_GENERIC_MISMATCH = "your result differs from the reference beyond the "


def _compared_exactly(group: CaseGroup, subject: str) -> CaseGroup:
    """Reword the tolerance in ``group``'s message for a mismatch that no typical mistake explains.

    Results compared exactly have no tolerance to speak of, so the message names ``subject``
    (such as "some flags") and the inputs instead.
    """

    def run(answer: Any) -> None:
        try:
            group.run(answer)
        except AssertionError as error:
            message = str(error)
            if not message.startswith(_GENERIC_MISMATCH):
                raise
            inputs = message.split(" on ", 1)[1]
            raise AssertionError(f"{subject} differ from the reference on {inputs}") from None

    return CaseGroup(group.name, run, group.hint, group.weight)


def _is_count(value, minimum: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum


# --- Online quota -------------------------------------------------------------------------------------
# Azure ML reserves 20 % extra compute for performing upgrades of a managed online deployment:
# 10 instances need quota for 12. The quota is that VM count, rounded up to whole VMs, times the
# cores of one VM. Source: "Manage and increase quotas and limits for resources with Azure
# Machine Learning", table of online endpoint limits, note 4.
# NOTE: the same note exempts some VM sizes from the reserve without listing them there. This
# exercise assumes a size that is not exempt.


def reference_online_quota(instance_count, cores_per_vm):
    if not _is_count(instance_count, 1) or not _is_count(cores_per_vm, 1):
        raise ValueError("instance_count and cores_per_vm must be whole numbers of at least 1")
    # ceil(1.2 * n) in integer arithmetic: ceil(6n / 5) = (6n + 4) // 5.
    return (6 * instance_count + 4) // 5 * cores_per_vm


QUOTA_MISTAKES = (
    Mistake("the 20 % reserve is missing: Azure ML holds ceil(1.2 x instance_count) VMs for upgrades",
            lambda n, cores: n * cores),
    Mistake("the VM count is not rounded up: quota comes in whole VMs, so take ceil(1.2 x instance_count)",
            lambda n, cores: 1.2 * n * cores),
    Mistake("the rounding is applied to cores, not VMs: round 1.2 x instance_count up to whole VMs first, "
            "then multiply by cores_per_vm",
            lambda n, cores: math.ceil(1.2 * n * cores)),
    # Rounding to the nearest VM gives either the ceiling or the floor, so one mistake covers both.
    Mistake("1.2 x instance_count is rounded down or to the nearest VM: round it up with ceil",
            lambda n, cores: math.floor(1.2 * n) * cores),
    Mistake("the reserve is added as one extra VM: it is 20 % of instance_count, rounded up",
            lambda n, cores: (n + 1) * cores),
    Mistake("looks like the reserve alone: the quota covers instance_count plus the 20 % reserve",
            lambda n, cores: math.ceil(0.2 * n) * cores),
)

# Ten Standard_DS3_v2 instances with 4 cores each: ceil(12) x 4 = 48 cores. 13 and 12 instances
# come before the small counts, because for those, rounding down gives instance_count or
# instance_count + 1, the same numbers as a missing reserve or one extra VM.
QUOTA_REFERENCE_CASES: list[Inputs] = [(10, 4), (13, 2), (12, 8), (3, 4), (1, 16), (7, 2)]


def _random_quota_cases(seed: int, count: int = 10) -> list[Inputs]:
    rng = np.random.default_rng(seed)
    cores = (2, 4, 8, 16, 24, 32, 64)
    # From 10 instances on, rounding 1.2 x instance_count down gives at least instance_count + 2,
    # so it cannot be mistaken for a missing reserve or a single extra VM.
    return [(int(rng.integers(10, 120)), int(rng.choice(cores))) for _ in range(count)]


def _quota_is_integer(function) -> None:
    for n, cores in QUOTA_REFERENCE_CASES:
        result = function(n, cores)
        if not isinstance(result, (int, np.integer)) or isinstance(result, bool):
            raise AssertionError(f"expected a whole number of cores as an int, got {type(result).__name__}: "
                                 "quota is requested in cores, so return int(...)")


def _quota_groups(seed: int) -> list[CaseGroup]:
    return [
        _compared_exactly(matches_reference("reference deployments", reference_online_quota, QUOTA_REFERENCE_CASES,
                                            tolerance=EXACT, mistakes=QUOTA_MISTAKES), "the core counts"),
        _compared_exactly(matches_reference("generated deployments", reference_online_quota,
                                            lambda: _random_quota_cases(seed), tolerance=EXACT, mistakes=QUOTA_MISTAKES),
                          "the core counts"),
        satisfies("whole number of cores", _quota_is_integer),
        raises_value_error("no instances", [(0, 4), (-2, 4)], why="a deployment runs at least one instance"),
        raises_value_error("invalid cores", [(3, 0), (3, 2.5)], why="a VM has a whole number of cores, at least 1"),
    ]


# --- Batch parallelism --------------------------------------------------------------------------------
# A batch deployment over a folder of files splits it into mini-batches of mini_batch_size files.
# Each instance runs max_concurrency_per_instance mini-batches at once. The function returns the
# tuple (mini_batches, parallel_slots, waves).


def reference_batch_parallelism(file_count, mini_batch_size, instance_count, max_concurrency_per_instance):
    if not _is_count(file_count, 0):
        raise ValueError(f"invalid file_count {file_count!r}; expected a whole number of 0 or more")
    for name, value in (("mini_batch_size", mini_batch_size), ("instance_count", instance_count),
                        ("max_concurrency_per_instance", max_concurrency_per_instance)):
        if not _is_count(value, 1):
            raise ValueError(f"invalid {name} {value!r}; expected a whole number of at least 1")
    mini_batches = -(-file_count // mini_batch_size)
    slots = instance_count * max_concurrency_per_instance
    return mini_batches, slots, -(-mini_batches // slots)


def _batch_with(*, mini_batches=None, slots=None, waves=None):
    """Build a mistaken result that replaces one or more of the three formulas."""

    def compute(files, size, instances, concurrency):
        count = mini_batches(files, size) if mini_batches else math.ceil(files / size)
        parallel = slots(instances, concurrency) if slots else instances * concurrency
        return count, parallel, waves(count, parallel, files) if waves else math.ceil(count / parallel)

    return compute


BATCH_MISTAKES = (
    Mistake("the mini-batch count is rounded down: the last, smaller mini-batch still runs, so round up",
            _batch_with(mini_batches=lambda files, size: files // size)),
    Mistake("the mini-batch count is always one more than files // mini_batch_size: round up instead, "
            "which adds no mini-batch when the files divide evenly",
            _batch_with(mini_batches=lambda files, size: files // size + 1)),
    Mistake("the concurrency is missing: each instance runs max_concurrency_per_instance mini-batches at once",
            _batch_with(slots=lambda instances, concurrency: instances)),
    Mistake("the parallel slots add instances and concurrency: multiply them",
            _batch_with(slots=lambda instances, concurrency: instances + concurrency)),
    Mistake("the number of waves is rounded down: a partly filled last wave still takes a full turn, so round up",
            _batch_with(waves=lambda count, parallel, files: count // parallel)),
    Mistake("the waves count files, not mini-batches: divide the number of mini-batches by the slots",
            _batch_with(waves=lambda count, parallel, files: math.ceil(files / parallel))),
    Mistake("the mini-batch count multiplies instead of divides: it is ceil(file_count / mini_batch_size)",
            _batch_with(mini_batches=lambda files, size: files * size)),
)

# 1000 files, mini_batch_size 10, 4 instances with 2 concurrent mini-batches each: (100, 8, 13).
BATCH_REFERENCE_CASES: list[Inputs] = [(1000, 10, 4, 2), (1001, 10, 4, 2), (95, 10, 3, 1), (24, 5, 2, 3)]


def _random_batch_cases(seed: int, count: int = 10) -> list[Inputs]:
    rng = np.random.default_rng(seed)
    return [
        (int(rng.integers(1, 20_000)), int(rng.choice([1, 5, 10, 20, 50, 64])), int(rng.integers(1, 9)), int(rng.integers(1, 5)))
        for _ in range(count)
    ]


BATCH_SUBJECT = "(mini_batches, slots, waves)"


def _batch_groups(seed: int) -> list[CaseGroup]:
    return [
        _compared_exactly(matches_reference("reference jobs", reference_batch_parallelism, BATCH_REFERENCE_CASES,
                                            tolerance=EXACT, mistakes=BATCH_MISTAKES), BATCH_SUBJECT),
        _compared_exactly(matches_reference("generated jobs", reference_batch_parallelism, lambda: _random_batch_cases(seed),
                                            tolerance=EXACT, mistakes=BATCH_MISTAKES), BATCH_SUBJECT),
        _compared_exactly(matches_reference("no files", reference_batch_parallelism, [(0, 10, 2, 2)],
                                            tolerance=EXACT, mistakes=BATCH_MISTAKES), BATCH_SUBJECT),
        raises_value_error("invalid settings", [(100, 0, 2, 2), (100, 10, 0, 2), (100, 10, 2, 0), (-5, 10, 2, 2)],
                           why="file_count must be 0 or more, and mini_batch_size, instance_count and "
                               "max_concurrency_per_instance at least 1"),
    ]


register(Exercise("m08.online_quota", "math", "Core quota of a managed online deployment",
                  lambda: _quota_groups(PUBLIC_SEED), seeded(_quota_groups)))
register(Exercise("m08.batch_parallelism", "math", "Mini-batches, parallel slots and waves of a batch deployment",
                  lambda: _batch_groups(PUBLIC_SEED), seeded(_batch_groups)))
