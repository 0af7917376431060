"""Module 09, CI/CD and safe rollout as specs: a blue/green rollout of an online endpoint, a
retraining schedule, and a release workflow with an approval gate.

The helpers in the first section are shared by the sdk exercises of modules 09 to 12, whose
answers are azure-ai-ml entities or dicts of them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from autograder.checks.core import CaseGroup
from autograder.checks.specs import TEACHING_RULES, check_spec, field_value, is_entity, passes_spec_check
from autograder.checks.specs.loading import load_spec
from autograder.errors import SpecInputError
from autograder.exercises import Exercise, register

# --- Helpers shared by the sdk exercises of modules 09 to 12 ---------------------------------------

# Monitoring findings that are warnings for the checker, because azure-ai-ml accepts the spec, but
# mean that a threshold the learner set never reaches the monitor.
DROPPED_THRESHOLD_CODES = ("AML070", "AML071", "AML072")


def spec_copy(answer: Any) -> Any:
    """Return a deep copy of an azure-ai-ml entity, or the answer itself when it cannot be copied.

    azure-ai-ml 1.35's ``_to_dict()`` replaces the user-assigned identities of an endpoint with
    plain dicts in place, so the second check of the same endpoint object fails. Each case
    group therefore checks a copy. Pipeline nodes raise on ``deepcopy``, and their
    ``_to_dict()`` leaves them unchanged, so they are checked as they are.
    """
    try:
        return copy.deepcopy(answer)
    except Exception:  # noqa: BLE001 - any object that cannot be copied is checked as it is
        return answer


def on_copy(group: CaseGroup, select: Callable[[Any], Any] | None = None, prefix: str = "") -> CaseGroup:
    """Return ``group`` run on a copy of the answer, or of the part that ``select`` picks.

    A spec the checker cannot read at all (``SpecInputError``) fails the group with the
    checker's message, as any other mistake does.
    """

    def run(answer: Any) -> str | None:
        part = select(answer) if select else answer
        try:
            return group.run(spec_copy(part))
        except SpecInputError as error:
            raise AssertionError(str(error)) from None

    return CaseGroup(prefix + group.name, run, group.hint, group.weight)


def answer_part(answer: Any, key: str, keys: tuple[str, ...]) -> Any:
    """Return ``answer[key]`` of an answer that is a dict of specs, or fail naming the expected keys."""
    if not isinstance(answer, dict) or hasattr(answer, "_to_dict"):
        # azure-ai-ml pipeline nodes are dict subclasses, and a plain dict has no _to_dict.
        raise AssertionError(f"expected a dict with the keys {', '.join(map(repr, keys))}, got {type(answer).__name__}")
    if key not in answer:
        raise AssertionError(f"the dict has no {key!r} entry; give one entry for each of {', '.join(map(repr, keys))}")
    return answer[key]


def part_groups(keys: tuple[str, ...], groups: dict[str, list[CaseGroup]]) -> list[CaseGroup]:
    """Run each list of groups on one entry of a dict answer; each group's name starts with its key."""
    return [
        on_copy(group, lambda answer, key=key: answer_part(answer, key, keys), f"{key}: ")
        for key, key_groups in groups.items()
        for group in key_groups
    ]


def entity(kind: str) -> CaseGroup:
    """Build a group that passes when the answer is an azure-ai-ml entity of ``kind``, such as ``job_schedule``."""
    return is_entity(kind)


def spec_of(answer: Any) -> dict[str, Any]:
    """Return the spec of an entity, dict or YAML string as the plain dict its YAML would hold, unset fields left out."""
    return load_spec(answer).data


def field_check(name: str, path: str, rule: Callable[[Any], bool], problem: str) -> CaseGroup:
    """Build a group like ``field_rule`` whose spec comes from :func:`spec_of`.

    ``field_rule`` calls ``_to_dict()`` itself, so an entity that azure-ai-ml cannot serialise
    fails it with marshmallow's bare ``ValidationError``; here the checker's message explains it.
    """

    def run(answer: Any) -> None:
        value = field_value(spec_of(answer), path)
        if value is None:
            raise AssertionError(f"`{path}` is not set")
        if not rule(value):
            raise AssertionError(f"`{path}` = {value!r}: {problem}")

    return CaseGroup(name, run)


def spec_rule(name: str, rule: Callable[[dict[str, Any]], None]) -> CaseGroup:
    """Build a group that runs ``rule`` on the spec; ``rule`` raises ``AssertionError`` naming the mistake."""

    def run(answer: Any) -> None:
        rule(spec_of(answer))

    return CaseGroup(name, run)


def teaching_rule(kind: str, rule: str, *, weight: float = 1.0) -> CaseGroup:
    """Build a group that fails on the findings of one teaching rule, so that each rule earns its own credit.

    Schema and Azure ML rule errors are left to ``passes_spec_check``. A spec of another kind
    (AML001, AML002) fails too, because the rule would not apply to it at all.
    """
    code = TEACHING_RULES[rule].code

    def run(answer: Any) -> None:
        found = [f for f in check_spec(answer, kind=kind, teaching_rules=(rule,)) if f.code in (code, "AML001", "AML002")]
        if found:
            raise AssertionError("; ".join(f"{f.code} {f.path or 'spec'}: {f.message} (fix: {f.fix})" for f in found))

    return CaseGroup(f"teaching rule {rule}", run, weight=weight)


def thresholds_reach_monitor() -> CaseGroup:
    """Build a group that fails when azure-ai-ml would drop or replace a monitoring threshold (AML070-AML072).

    The spec check reports these as warnings, because the service accepts the monitor, so
    ``passes_spec_check`` lets them pass.
    """

    def run(answer: Any) -> None:
        dropped = [finding for finding in check_spec(answer) if finding.code in DROPPED_THRESHOLD_CODES]
        if dropped:
            listed = "; ".join(f"{f.code} {f.path}: {f.message} (fix: {f.fix})" for f in dropped[:3])
            more = f"; and {len(dropped) - 3} more" if len(dropped) > 3 else ""
            raise AssertionError(listed + more)

    return CaseGroup("thresholds reach the monitor", run)


WEEK_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
# Names a day-of-week cron field may use for its numbers. Azure ML takes 0-6 with 0 for Sunday.
_CRON_DAY_NAMES = {day[:3]: str(number) for number, day in enumerate(WEEK_DAYS)}
_CRON_ITEM = re.compile(r"^(\*|\d+|\d+-\d+)(/[1-9]\d*)?$")


@dataclass(frozen=True)
class Timing:
    """When a schedule fires: the unit and interval of repetition, the week days, hours and minutes, and the time zone.

    ``week_days`` is empty when the schedule runs on every day.
    """

    frequency: str
    interval: int
    week_days: frozenset[str]
    hours: frozenset[int]
    minutes: frozenset[int]
    time_zone: str


def read_timing(trigger: Any) -> Timing:
    """Read when a cron or recurrence trigger of a schedule spec fires."""
    if not isinstance(trigger, dict):
        raise AssertionError("the schedule has no trigger: use a CronTrigger or a RecurrenceTrigger")
    time_zone = str(trigger.get("time_zone") or "UTC")
    if trigger.get("type") == "cron":
        return _cron_timing(str(trigger.get("expression", "")), time_zone)
    if trigger.get("type") == "recurrence":
        schedule = trigger.get("schedule") if isinstance(trigger.get("schedule"), dict) else {}
        if not _as_list(schedule.get("hours")) or not _as_list(schedule.get("minutes")):
            raise AssertionError(
                "the recurrence has no schedule.hours and schedule.minutes, so it runs when it is created and then at that "
                "time of day: set both with a RecurrencePattern"
            )
        return Timing(
            frequency=str(trigger.get("frequency")),
            interval=int(trigger.get("interval") or 1),
            week_days=frozenset(str(day).lower() for day in _as_list(schedule.get("week_days"))),
            hours=frozenset(int(hour) for hour in _as_list(schedule["hours"])),
            minutes=frozenset(int(minute) for minute in _as_list(schedule["minutes"])),
            time_zone=time_zone,
        )
    raise AssertionError(f"trigger type {trigger.get('type')!r} is not cron or recurrence")


def require_timing(timing: Timing, *, frequency: str, week_days: frozenset[str], hour: int, minute: int) -> None:
    """Fail, naming the difference, unless the schedule fires once per ``frequency`` at ``hour:minute`` UTC."""
    if timing.frequency != frequency or timing.interval != 1:
        raise AssertionError(f"the trigger repeats every {timing.interval} {timing.frequency}(s), not once every {frequency}")
    if timing.week_days != week_days:
        found = ", ".join(sorted(timing.week_days, key=WEEK_DAYS.index)) or "every day"
        expected_days = "every day" if not week_days else "the day the exercise gives"
        raise AssertionError(f"the trigger fires on {found}; it should fire on {expected_days} only")
    if timing.hours != {hour} or timing.minutes != {minute}:
        times = ", ".join(f"{h:02d}:{m:02d}" for h in sorted(timing.hours) for m in sorted(timing.minutes))
        raise AssertionError(f"the trigger fires at {times}; use the single time of day the exercise gives, in 24-hour time")
    if timing.time_zone.upper() not in ("UTC", "COORDINATED UNIVERSAL TIME"):
        raise AssertionError(f"time_zone is {timing.time_zone!r}, but the exercise gives the time in UTC")


def _cron_timing(expression: str, time_zone: str) -> Timing:
    fields = expression.split()
    if len(fields) != 5:
        raise AssertionError(
            f"cron expression {expression!r} has {len(fields)} fields; Azure ML cron expressions have five: "
            "minute, hour, day of month, month and day of week, with no seconds field"
        )
    minute, hour, day_of_month, month, day_of_week = fields
    if day_of_month != "*" or month != "*":
        raise AssertionError(
            f"cron expression {expression!r} sets the day of the month or the month, which Azure ML ignores and reads as *: "
            "leave both as *"
        )
    days = frozenset()
    if day_of_week != "*":
        days = frozenset(WEEK_DAYS[value] for value in _cron_values(day_of_week, 0, 6, expression, _CRON_DAY_NAMES))
    return Timing(
        frequency="day" if not days else "week",
        interval=1,
        week_days=days,
        hours=frozenset(_cron_values(hour, 0, 23, expression)),
        minutes=frozenset(_cron_values(minute, 0, 59, expression)),
        time_zone=time_zone,
    )


def _cron_values(field: str, low: int, high: int, expression: str, names: dict[str, str] | None = None) -> list[int]:
    """Expand one cron field (``*``, numbers, lists, ranges and ``/`` steps) into its values from ``low`` to ``high``.

    ``names`` maps names such as ``mon`` to the numbers they stand for.
    """
    text = field.lower()
    for name, number in (names or {}).items():
        text = text.replace(name, number)
    values: list[int] = []
    for item in text.split(","):
        if not _CRON_ITEM.match(item):
            raise AssertionError(f"cron expression {expression!r} has a field {field!r} that is not a number, list, range or step")
        base, _, step = item.partition("/")
        first, _, last = base.partition("-")
        start, stop = (low, high) if base == "*" else (int(first), int(last or first))
        if step and base != "*" and not last:
            stop = high
        values.extend(range(start, stop + 1, int(step or 1)))
    if any(not low <= value <= high for value in values):
        raise AssertionError(f"cron expression {expression!r} has a field {field!r} with a value outside {low}-{high}")
    return values


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def require_current_folder(value: Any, folder: str) -> None:
    """Fail unless a scheduled job's data input is the datastore folder ``folder``, which each run reads afresh.

    azure-ai-ml 1.35 resolves a ``name@label`` data input to one version when it sends a job or a
    schedule, so a schedule created with ``@latest`` reads that same version at every run.
    """
    text = str(value or "")
    if text.rstrip("/") == folder.rstrip("/"):
        return
    if "@" in text:
        raise AssertionError(
            f"the input is {text}; azure-ai-ml resolves <name>@latest to one version when the schedule is created, "
            "so every run would read that version: read the datastore folder the exercise names instead"
        )
    if re.fullmatch(r"azureml:[^/:@]+:\d+", text):
        raise AssertionError(f"the input is {text}, a pinned version, so every run would train on the same rows: read the datastore folder the exercise names")
    raise AssertionError(f"the input is {text or 'not set'}; read the datastore folder the exercise names, azureml://datastores/<datastore>/paths/<folder>/")


# --- Blue/green rollout -----------------------------------------------------------------------------

ENDPOINT = "fare-endpoint"
ROLLOUT_KEYS = ("green", "shadow", "canary")
# The endpoint already has blue, the deployment in production; the exercise adds green.
ROLLOUT_CONTEXT = {"deployments": ["blue", "green"]}
CANDIDATE_MODEL = "azureml:taxi-fare-model:8"
MIRROR_PERCENT = 20
CANARY_PERCENT = 10


def _traffic(spec: dict[str, Any], section: str) -> dict[str, Any]:
    values = spec.get(section)
    return values if isinstance(values, dict) else {}


def _shadow_live(spec: dict[str, Any]) -> None:
    traffic = _traffic(spec, "traffic")
    if traffic.get("green", 0) != 0:
        raise AssertionError(
            "green takes live traffic; while it shadows, blue serves every request and green only receives copies"
        )
    if traffic.get("blue") != 100:
        raise AssertionError("blue must keep all live traffic while green shadows it: give blue 100 and green 0")


def _shadow_mirror(spec: dict[str, Any]) -> None:
    mirror = _traffic(spec, "mirror_traffic")
    if mirror.get("green") != MIRROR_PERCENT:
        raise AssertionError(
            f"mirror_traffic is {mirror or 'not set'}; copy the share of live requests the exercise gives to green, "
            "whose answers the endpoint then discards"
        )


def _canary_split(spec: dict[str, Any]) -> None:
    traffic = _traffic(spec, "traffic")
    if traffic.get("green") != CANARY_PERCENT:
        raise AssertionError(f"green takes {traffic.get('green', 0)} % of live traffic; the canary gives it the small share the exercise names")
    if traffic.get("blue") != 100 - CANARY_PERCENT:
        raise AssertionError(f"blue takes {traffic.get('blue', 0)} %; blue keeps the rest of the live traffic, so that the two add up to 100")


def _endpoint_name(name: str) -> CaseGroup:
    return field_check(
        "endpoint name", name, lambda value: value == ENDPOINT,
        "blue and green run behind the one endpoint the exercise names, so every traffic update is for that endpoint",
    )


def _blue_green_groups() -> list[CaseGroup]:
    return part_groups(ROLLOUT_KEYS, {
        "green": [
            entity("managed_online_deployment"),
            passes_spec_check("managed_online_deployment", teaching_rules=("high_availability",)),
            field_check("deployment name", "name", lambda value: value == "green",
                       "the candidate runs in a second deployment named green, next to blue"),
            _endpoint_name("endpoint_name"),
            field_check("candidate model", "model", lambda value: value == CANDIDATE_MODEL,
                       "green serves the candidate version of taxi-fare-model, written azureml:<name>:<version>; blue keeps the current one"),
        ],
        "shadow": [
            entity("managed_online_endpoint"),
            passes_spec_check("managed_online_endpoint", context=ROLLOUT_CONTEXT),
            _endpoint_name("name"),
            spec_rule("live traffic on blue", _shadow_live),
            spec_rule("mirror traffic to green", _shadow_mirror),
        ],
        "canary": [
            entity("managed_online_endpoint"),
            passes_spec_check("managed_online_endpoint", context=ROLLOUT_CONTEXT),
            _endpoint_name("name"),
            spec_rule("canary split", _canary_split),
        ],
    })


# --- Retraining schedule ----------------------------------------------------------------------------

RETRAIN_TIMING = {"frequency": "week", "week_days": frozenset({"monday"}), "hour": 2, "minute": 0}
# The ingestion job writes each day's trips into this folder, so a run reads every trip so far.
TRIPS_FOLDER = "azureml://datastores/workspaceblobstore/paths/taxi/trips/"


def _training_job(spec: dict[str, Any]) -> None:
    job = spec.get("create_job")
    if not isinstance(job, dict) or job.get("type") != "command":
        raise AssertionError("create_job must be the training command job itself, built with command()")
    if "train.py" not in str(job.get("command", "")):
        raise AssertionError("the job's command must run train.py, the training script in src/")
    model = (job.get("outputs") or {}).get("model")
    if not isinstance(model, dict) or model.get("type") != "mlflow_model":
        raise AssertionError("the job must declare the output `model` as mlflow_model, where train.py saves the model")
    if str(job.get("compute", "")).removeprefix("azureml:") != "cpu-cluster":
        raise AssertionError("the job must run on the compute cluster the exercise names")


def _reads_trips_folder(spec: dict[str, Any]) -> None:
    inputs = (spec.get("create_job") or {}).get("inputs") or {}
    data = inputs.get("training_data")
    require_current_folder(data.get("path") if isinstance(data, dict) else data, TRIPS_FOLDER)


def _pinned_environment(value: Any) -> bool:
    return bool(re.fullmatch(r"azureml:[A-Za-z0-9_.-]+:\d+", str(value)))


def _retrain_schedule_groups() -> list[CaseGroup]:
    groups = [
        entity("job_schedule"),
        passes_spec_check("job_schedule"),
        field_check("schedule name", "name", lambda value: value == "weekly-retraining",
                   "use the schedule name the exercise gives, so the release workflow can find and disable it"),
        spec_rule("every Monday at 02:00 UTC", lambda spec: require_timing(read_timing(spec.get("trigger")), **RETRAIN_TIMING)),
        spec_rule("training job", _training_job),
        spec_rule("new trips at every run", _reads_trips_folder),
        field_check("pinned environment", "create_job.environment", _pinned_environment,
                   "keep the environment pinned as azureml:<name>:<version>, so only the data changes from one run to the next"),
    ]
    return [on_copy(group) for group in groups]


# --- Release workflow -------------------------------------------------------------------------------

WORKFLOW_JOBS = ("train", "register", "deploy")
APPROVAL_ENVIRONMENT = "production"
LOGIN_ACTION = "azure/login"


def _workflow(answer: Any) -> dict[str, Any]:
    """Parse a GitHub Actions workflow from YAML text or a dict."""
    if isinstance(answer, str):
        try:
            data = yaml.safe_load(answer)
        except yaml.YAMLError as error:
            raise AssertionError(f"the workflow is not valid YAML: {' '.join(str(error).split())}") from None
    elif isinstance(answer, dict):
        data = answer
    else:
        raise AssertionError(f"expected the workflow as a YAML string, got {type(answer).__name__}")
    if not isinstance(data, dict):
        raise AssertionError("the workflow must be a YAML mapping with the keys `on` and `jobs`")
    if True in data and "on" not in data:
        # YAML 1.1, which PyYAML reads, turns a bare `on` key into the boolean true.
        data = {("on" if key is True else key): value for key, value in data.items()}
    return data


def _jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    jobs = workflow.get("jobs")
    if not isinstance(jobs, dict):
        raise AssertionError("the workflow has no `jobs` mapping")
    missing = [name for name in WORKFLOW_JOBS if not isinstance(jobs.get(name), dict)]
    if missing:
        raise AssertionError(f"the workflow has no job(s) named {', '.join(missing)}; name the jobs {', '.join(WORKFLOW_JOBS)}")
    return jobs


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps") or [] if isinstance(step, dict)]


def _workflow_structure(workflow: dict[str, Any]) -> None:
    if "on" not in workflow:
        raise AssertionError("the workflow has no `on` section, so no event ever starts it")
    for name, job in _jobs(workflow).items():
        if "runs-on" not in job or not _steps(job):
            raise AssertionError(f"job {name!r} needs `runs-on` and a list of `steps`")


def _push_to_main(workflow: dict[str, Any]) -> None:
    events = workflow.get("on")
    push = events.get("push") if isinstance(events, dict) else None
    branches = push.get("branches") if isinstance(push, dict) else None
    if branches is None or "main" not in _as_list(branches):
        raise AssertionError("the workflow must run on pushes to main only: set on.push.branches, so feature branches never deploy")


def _needs(job: dict[str, Any]) -> list[str]:
    return [str(name) for name in _as_list(job.get("needs"))]


def _job_order(workflow: dict[str, Any]) -> None:
    jobs = _jobs(workflow)
    for job, previous in (("register", "train"), ("deploy", "register")):
        if previous not in _needs(jobs[job]):
            raise AssertionError(f"job {job!r} does not list {previous!r} in `needs`, so it may start before {previous} has finished")


def _environment_name(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return None if environment is None else str(environment)


def _approval_gate(workflow: dict[str, Any]) -> None:
    jobs = _jobs(workflow)
    if _environment_name(jobs["deploy"]) != APPROVAL_ENVIRONMENT:
        raise AssertionError(
            "the deploy job does not run in the GitHub environment whose required reviewers approve releases; set its `environment`"
        )
    gated = [name for name in ("train", "register") if _environment_name(jobs[name]) == APPROVAL_ENVIRONMENT]
    if gated:
        raise AssertionError(f"job(s) {', '.join(gated)} also wait for the production approval; only the deploy job reaches customers")


def _login_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in _steps(job) if str(step.get("uses", "")).split("@")[0].lower() == LOGIN_ACTION]


def _federated_login(workflow: dict[str, Any]) -> None:
    jobs = _jobs(workflow)
    for name in WORKFLOW_JOBS:
        logins = _login_steps(jobs[name])
        if not logins:
            raise AssertionError(f"job {name!r} has no {LOGIN_ACTION} step, so its az ml commands run without a sign-in")
        for step in logins:
            settings = step.get("with") if isinstance(step.get("with"), dict) else {}
            if "creds" in settings or "client-secret" in settings:
                raise AssertionError(
                    f"job {name!r} signs in with a stored client secret; use OpenID Connect: client-id, tenant-id and subscription-id only"
                )
            if not {"client-id", "tenant-id", "subscription-id"} <= settings.keys():
                raise AssertionError(f"the {LOGIN_ACTION} step of job {name!r} needs client-id, tenant-id and subscription-id")
        permissions = jobs[name].get("permissions", workflow.get("permissions"))
        if not isinstance(permissions, dict) or permissions.get("id-token") != "write":
            raise AssertionError(f"job {name!r} cannot request an OpenID Connect token: grant `permissions: id-token: write`")


def _run_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in _steps(job))


def _safe_rollout(workflow: dict[str, Any]) -> None:
    jobs = _jobs(workflow)
    if any("--all-traffic" in _run_text(job) for job in jobs.values()):
        raise AssertionError("`--all-traffic` sends every request to the new deployment at once; create it without live traffic")
    script = _run_text(jobs["deploy"])
    if not re.search(r"az ml online-deployment (create|update)", script):
        raise AssertionError("the deploy job never creates the green deployment: run `az ml online-deployment create`")
    if not re.search(r"az ml online-endpoint update[^\n]*--traffic", script):
        raise AssertionError("the deploy job never shifts the canary share: run `az ml online-endpoint update` with `--traffic`")


def _workflow_rule(name: str, rule: Callable[[dict[str, Any]], None]) -> CaseGroup:
    return CaseGroup(name, lambda answer: rule(_workflow(answer)))


def _release_workflow_groups() -> list[CaseGroup]:
    return [
        _workflow_rule("workflow structure", _workflow_structure),
        _workflow_rule("runs on pushes to main", _push_to_main),
        _workflow_rule("train, register, deploy in order", _job_order),
        _workflow_rule("approval before deploy", _approval_gate),
        _workflow_rule("sign-in without a stored secret", _federated_login),
        _workflow_rule("safe rollout in deploy", _safe_rollout),
    ]


register(Exercise("m09.blue_green", "sdk", "A blue/green rollout with shadow and canary traffic",
                  _blue_green_groups, lambda: _blue_green_groups()))
register(Exercise("m09.retrain_schedule", "sdk", "A weekly retraining schedule",
                  _retrain_schedule_groups, lambda: _retrain_schedule_groups()))
register(Exercise("m09.release_workflow", "sdk", "A release workflow with an approval gate",
                  _release_workflow_groups, lambda: _release_workflow_groups()))
