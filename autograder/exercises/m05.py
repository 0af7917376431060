"""Module 05, what happens when a job runs: an estimate of a command job's wall time from its
queue wait, image build, data access and run time."""

from __future__ import annotations

import numpy as np

from autograder.checks.core import CaseGroup
from autograder.checks.formulas import Inputs, Mistake, Tolerance, matches_reference, raises_value_error, satisfies
from autograder.exercises import Exercise, register, seeded

TOLERANCE = Tolerance(rtol=1e-6, atol=1e-9)
PUBLIC_SEED = 0
MODES = ("download", "ro_mount")
# Storage throughput is quoted in decimal megabytes per second, so 1 GB = 1000 MB here.
MB_PER_GB = 1000


# --- Job wall time ---------------------------------------------------------------------------------
# Arguments, in this order: queue_s, build_s, cache_hit, data_gb, mode, download_mb_s, mount_mb_s,
# run_s, read_fraction. Times are in seconds, sizes in GB, throughputs in MB/s.


def _data_seconds(data_gb, mode, download_mb_s, mount_mb_s, read_fraction):
    if mode == "download":
        # The whole input is copied to the node's disk before the script starts.
        return data_gb * MB_PER_GB / download_mb_s
    # A mount copies nothing upfront. The script streams only what it reads, at the mount's throughput.
    return read_fraction * data_gb * MB_PER_GB / mount_mb_s


def reference_job_wall_time(queue_s, build_s, cache_hit, data_gb, mode, download_mb_s, mount_mb_s, run_s, read_fraction=1.0):
    if mode not in MODES:
        raise ValueError(f"invalid mode {mode!r}; expected 'download' or 'ro_mount'")
    if min(queue_s, build_s, data_gb, run_s) < 0:
        raise ValueError("times and sizes must be 0 or more")
    if min(download_mb_s, mount_mb_s) <= 0:
        raise ValueError("throughputs must be greater than 0")
    if not 0 <= read_fraction <= 1:
        raise ValueError(f"invalid read_fraction {read_fraction}; expected a fraction in [0, 1]")
    build = 0.0 if cache_hit else build_s
    return float(queue_s + build + _data_seconds(data_gb, mode, download_mb_s, mount_mb_s, read_fraction) + run_s)


def _wall_time_with(*, build=None, data=None, queue=True):
    """Build a mistaken wall time that replaces the build term or the data term, or drops the queue."""

    def compute(queue_s, build_s, cache_hit, data_gb, mode, download_mb_s, mount_mb_s, run_s, read_fraction=1.0):
        if build is not None:
            build_term = build(build_s, cache_hit)
        else:
            build_term = 0.0 if cache_hit else build_s
        data_term = (data or _data_seconds)(data_gb, mode, download_mb_s, mount_mb_s, read_fraction)
        queue_term = queue_s if queue else 0.0
        return queue_term + build_term + data_term + run_s

    return compute


def _download_then_mount(data_gb, mode, download_mb_s, mount_mb_s, read_fraction):
    upfront = data_gb * MB_PER_GB / download_mb_s
    return upfront + (0.0 if mode == "download" else read_fraction * data_gb * MB_PER_GB / mount_mb_s)


WALL_TIME_MISTAKES = (
    Mistake("the image is built although the cache has it: on a cache hit the build takes no time",
            _wall_time_with(build=lambda build_s, hit: build_s)),
    Mistake("the image build is missing: a cache miss builds the image before the job can run",
            _wall_time_with(build=lambda build_s, hit: 0.0)),
    Mistake("the queue wait is missing: the job waits in the Queued state before it runs",
            _wall_time_with(queue=False)),
    Mistake("a mounted input is also downloaded: ro_mount copies nothing before the script starts",
            _wall_time_with(data=_download_then_mount)),
    Mistake("a mounted input is timed like a download: a mount costs nothing upfront, and the script reads "
            "read_fraction of the data at mount_mb_s",
            _wall_time_with(data=lambda gb, mode, down, mount, fraction: gb * MB_PER_GB / down)),
    Mistake("GB and MB/s are mixed: convert GB to MB (times 1000) before dividing by a throughput in MB/s",
            _wall_time_with(data=lambda gb, mode, down, mount, fraction:
                            _data_seconds(gb, mode, down, mount, fraction) / MB_PER_GB)),
    Mistake("1 GB is 1000 MB here (decimal units, as storage throughput is quoted), not 1024",
            _wall_time_with(data=lambda gb, mode, down, mount, fraction:
                            _data_seconds(gb, mode, down, mount, fraction) * 1024 / MB_PER_GB)),
    Mistake("a download copies the whole input, not only read_fraction of it",
            _wall_time_with(data=lambda gb, mode, down, mount, fraction:
                            fraction * gb * MB_PER_GB / (down if mode == "download" else mount))),
    Mistake("a mount reads only read_fraction of the data: scale the mounted read time by it",
            _wall_time_with(data=lambda gb, mode, down, mount, fraction:
                            gb * MB_PER_GB / (down if mode == "download" else mount))),
    Mistake("the throughputs are swapped: a download runs at download_mb_s, a mount at mount_mb_s",
            _wall_time_with(data=lambda gb, mode, down, mount, fraction: _data_seconds(gb, mode, mount, down, fraction))),
)

# A training job on 20 GB: 2 min in the queue, a 10 min image build, a 15 min run.
WALL_TIME_REFERENCE_CASES: list[Inputs] = [
    (120.0, 600.0, False, 20.0, "download", 200.0, 50.0, 900.0, 1.0),   # 1720 s
    (120.0, 600.0, True, 20.0, "download", 200.0, 50.0, 900.0, 0.25),   # 1120 s
    (120.0, 600.0, False, 20.0, "ro_mount", 200.0, 50.0, 900.0, 0.5),   # 1820 s
    (120.0, 600.0, True, 20.0, "ro_mount", 200.0, 50.0, 900.0, 0.1),    # 1060 s
]


def _random_jobs(seed: int, count: int = 8) -> list[Inputs]:
    rng = np.random.default_rng(seed)
    jobs = []
    for i in range(count):
        download = float(rng.uniform(50, 500))
        jobs.append((
            float(rng.uniform(0, 900)),
            float(rng.uniform(60, 1500)),
            bool(i % 2),
            float(10 ** rng.uniform(-1, 2.5)),
            MODES[(i // 2) % 2],
            download,
            float(download * rng.uniform(0.1, 0.9)),
            float(rng.uniform(30, 7200)),
            float(rng.uniform(0.05, 1.0)),
        ))
    return jobs


def _cache_hit_saves_build(function) -> None:
    for job in _random_jobs(17, 4):
        miss, hit = list(job), list(job)
        miss[2], hit[2] = False, True
        if not np.isclose(function(*miss) - function(*hit), job[1], rtol=1e-6):
            raise AssertionError("a cache miss must take exactly build_s longer than a cache hit")


def _wall_time_groups(seed: int) -> list[CaseGroup]:
    base = WALL_TIME_REFERENCE_CASES[0]
    return [
        matches_reference("reference jobs", reference_job_wall_time, WALL_TIME_REFERENCE_CASES,
                          tolerance=TOLERANCE, mistakes=WALL_TIME_MISTAKES),
        matches_reference("generated jobs", reference_job_wall_time, lambda: _random_jobs(seed),
                          tolerance=TOLERANCE, mistakes=WALL_TIME_MISTAKES),
        satisfies("cache hit saves the build", _cache_hit_saves_build),
        matches_reference("no input data", reference_job_wall_time,
                          [(60.0, 300.0, False, 0.0, mode, 100.0, 25.0, 600.0, 1.0) for mode in MODES],
                          tolerance=TOLERANCE, mistakes=WALL_TIME_MISTAKES),
        raises_value_error("unknown mode", [(*base[:4], "mount", *base[5:]), (*base[:4], "rw_mount", *base[5:])],
                           why="an input mode is 'download' or 'ro_mount'"),
        raises_value_error("zero throughput", [(*base[:5], 0.0, *base[6:]), (*base[:6], 0.0, *base[7:])],
                           why="data cannot move at 0 MB/s"),
        raises_value_error("negative time or size", [(-1.0, *base[1:]), (*base[:3], -2.0, *base[4:]), (*base[:7], -5.0, 1.0)],
                           why="a time or a size below 0 has no meaning"),
        raises_value_error("read fraction outside [0, 1]", [(*base[:8], 1.5), (*base[:8], -0.1)],
                           why="read_fraction is the share of the input the script reads"),
    ]


register(Exercise("m05.job_wall_time", "math", "Estimate a job's wall time",
                  lambda: _wall_time_groups(PUBLIC_SEED), seeded(_wall_time_groups)))
