"""Tests of the module 08 decisions: online, batch or edge for each plant, and the trade-offs.

The grading data comes from the rubric files in ``solutions/m08/rubrics/``. The correct
answers come from executing the solution notebook's cells for a given learner, so the tests
also prove that the notebook's solution code is right for every learner's numbers.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
from pathlib import Path
from typing import Any

import nbformat
import pytest

from autograder.authoring import rubric_problems
from autograder.checks.core import CheckResult, run_groups
from autograder.checks.rubrics import parse_rubric
from autograder.exercises import exercise_data, get_exercise
from autograder.learner import check, grade

REPO = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO / "solutions" / "m08"
POINTS = {"m08.serving_pattern": 4.5, "m08.tradeoffs": 4.5}
MANY_LEARNERS = [f"learner-{i}" for i in range(60)]


@functools.cache
def code_cells() -> dict[str, str]:
    notebook = nbformat.read(MODULE_DIR / "decisions.ipynb", as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells if cell.cell_type == "code"}


def rubric(exercise_id: str) -> str:
    return (MODULE_DIR / "rubrics" / f"{exercise_id.split('.')[1]}.yaml").read_text(encoding="utf-8")


def solution_answer(exercise_id: str) -> Any:
    """Run the notebook's setup, data and solution cells for the current learner and return the answer."""
    name = exercise_id.split(".")[1]
    cells = code_cells()
    variable = ast.parse(cells[f"{name}_check"]).body[0].value.args[1].id
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for grade_id in ("setup", f"{name}_data", f"{name}_solution"):
            if grade_id in cells:
                exec(cells[grade_id], namespace)
    return namespace[variable]


def graded(exercise_id: str, answer: Any) -> CheckResult:
    groups = get_exercise(exercise_id).graded_groups(rubric=rubric(exercise_id))
    return run_groups(exercise_id, groups, answer)


def failures(result: CheckResult) -> dict[str, str]:
    return {outcome.group: outcome.message for outcome in result.outcomes if not outcome.passed}


def points(exercise_id: str, answer: Any) -> float:
    return grade(exercise_id, answer, points=POINTS[exercise_id], rubric=rubric(exercise_id))


@pytest.fixture
def as_learner(monkeypatch: pytest.MonkeyPatch):
    def use(learner: str) -> None:
        monkeypatch.setenv("AZML_LEARNER_ID", learner)

    return use


# --- Notebook and rubric files -------------------------------------------------------------------


@pytest.mark.parametrize("exercise_id", POINTS)
def test_hidden_cell_rubric_matches_file(exercise_id):
    name = exercise_id.split(".")[1]

    assert rubric_problems(REPO, "m08", name, code_cells()[f"{name}_tests"]) == []


@pytest.mark.parametrize("exercise_id", POINTS)
def test_points_agree(exercise_id):
    name = exercise_id.split(".")[1]
    notebook = nbformat.read(MODULE_DIR / "decisions.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{name}_tests")
    call = next(node for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "grade")
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}

    assert keywords["points"] == POINTS[exercise_id]
    assert cell.metadata["nbgrader"]["points"] == POINTS[exercise_id]
    assert parse_rubric(rubric(exercise_id)).points == POINTS[exercise_id]


@pytest.mark.parametrize("exercise_id", POINTS)
def test_solution_passes_check(exercise_id, as_learner):
    as_learner("ada")

    result = check(exercise_id, solution_answer(exercise_id))

    assert result.passed, result.messages


@pytest.mark.parametrize("exercise_id", POINTS)
def test_solution_full_marks_every_learner(exercise_id, as_learner):
    for learner in MANY_LEARNERS:
        as_learner(learner)

        assert points(exercise_id, solution_answer(exercise_id)) == POINTS[exercise_id], learner


@pytest.mark.parametrize("exercise_id", POINTS)
def test_template_fails_check_without_traceback(exercise_id, as_learner):
    as_learner("ada")
    template = ast.literal_eval(code_cells()[f"{exercise_id.split('.')[1]}_solution"].split("### BEGIN SOLUTION")[0].split("=", 1)[1])

    report = check(exercise_id, template).report()

    assert "not passed yet" in report
    assert "Traceback" not in report
    assert "your code raised" not in report


# --- Serving pattern ---------------------------------------------------------------------------------

ADA_PLANTS = {
    "a_latency_ms": 86_400_000, "a_round_trip_ms": 140, "a_offline_hours": 0,
    "a_photos_per_day": 1_693_000, "a_photo_kb": 800, "a_uplink_mbps": 500,
    "b_latency_ms": 10, "b_round_trip_ms": 90, "b_offline_hours": 0,
    "b_photos_per_day": 1_222_000, "b_photo_kb": 120, "b_uplink_mbps": 100,
    "c_latency_ms": 28_800_000, "c_round_trip_ms": 180, "c_offline_hours": 2,
    "c_photos_per_day": 137_000, "c_photo_kb": 250, "c_uplink_mbps": 10,
}
ADA_SERVING = {
    "pattern": {"plant_a": "batch", "plant_b": "edge", "plant_c": "edge"},
    "driver": {
        "plant_a": "results can wait for a scheduled run",
        "plant_b": "latency budget below the network round trip",
        "plant_c": "site offline part of the day",
    },
}
PATTERN_TYPE = "a dict mapping one of 'plant_a', 'plant_b', 'plant_c' to one of 'online', 'batch', 'edge' (serving pattern of each plant)"


def test_serving_scenario_pinned():
    assert exercise_data("m08.serving_pattern", "ada") == ADA_PLANTS


def test_serving_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m08.serving_pattern")

    assert answer == ADA_SERVING
    assert points("m08.serving_pattern", answer) == 4.5


def test_serving_answers_differ_between_learners(as_learner):
    as_learner("alan")
    alan = solution_answer("m08.serving_pattern")

    assert alan["pattern"] == {"plant_a": "edge", "plant_b": "online", "plant_c": "edge"}
    assert points("m08.serving_pattern", alan) == 4.5


def test_serving_ada_answer_wrong_for_alan(as_learner):
    as_learner("alan")

    assert points("m08.serving_pattern", ADA_SERVING) == 1.0


def test_serving_uplink_rule_for_grace(as_learner):
    as_learner("grace")
    grace = solution_answer("m08.serving_pattern")

    assert grace["driver"]["plant_c"] == "daily data exceeds the uplink"
    assert points("m08.serving_pattern", grace) == 4.5


def test_serving_scenarios_reach_every_rule(as_learner):
    drivers = set()
    for learner in MANY_LEARNERS:
        as_learner(learner)
        drivers.update(solution_answer("m08.serving_pattern")["driver"].values())

    assert len(drivers) == 5


def test_serving_ignores_round_trip(as_learner):
    as_learner("ada")
    answer = {
        "pattern": {**ADA_SERVING["pattern"], "plant_b": "online"},
        "driver": {**ADA_SERVING["driver"], "plant_b": "a caller waits for each prediction"},
    }

    result = graded("m08.serving_pattern", answer)

    assert points("m08.serving_pattern", answer) == 3.0
    assert failures(result) == {
        "pattern.plant_b (1 pt)": "a verdict within 10 ms is shorter than the 90 ms round trip to Azure, "
        "so only a model on site answers in time",
        "driver.plant_b (0.5 pt)": "rule 2 applies first: 10 ms is less than the 90 ms round trip",
    }


def test_serving_swapped_drivers(as_learner):
    as_learner("ada")
    answer = {**ADA_SERVING, "driver": {**ADA_SERVING["driver"],
                                        "plant_b": "site offline part of the day",
                                        "plant_c": "latency budget below the network round trip"}}

    result = graded("m08.serving_pattern", answer)

    assert points("m08.serving_pattern", answer) == 3.5
    assert failures(result) == {
        "driver.plant_b (0.5 pt)": "rule 2 applies first: 10 ms is less than the 90 ms round trip",
        "driver.plant_c (0.5 pt)": "rule 1 applies first: the link of plant C is down 2 hours a day",
    }


def test_serving_batch_plant_online(as_learner):
    as_learner("ada")
    answer = {**ADA_SERVING, "pattern": {**ADA_SERVING["pattern"], "plant_a": "online"}}

    assert failures(graded("m08.serving_pattern", answer)) == {
        "pattern.plant_a (1 pt)": "nobody waits: verdicts are due within 86,400,000 ms, "
        "so a batch endpoint scores the photos in bulk on a schedule",
    }


def test_serving_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    answer = {
        "pattern": {"plant_a": "online", "plant_b": "online", "plant_c": "online"},
        "driver": dict.fromkeys(("plant_a", "plant_b", "plant_c"), "daily data exceeds the uplink"),
    }

    result = graded("m08.serving_pattern", answer)

    assert points("m08.serving_pattern", answer) == 0
    assert len(result.messages) == 6


def test_serving_missing_plant_graded(as_learner):
    as_learner("ada")
    pattern = {key: value for key, value in ADA_SERVING["pattern"].items() if key != "plant_c"}

    result = graded("m08.serving_pattern", {**ADA_SERVING, "pattern": pattern})

    assert failures(result) == {"pattern.plant_c (1 pt)": "missing entry `plant_c` in `pattern`"}


def test_serving_wrong_type():
    result = check("m08.serving_pattern", {**ADA_SERVING, "pattern": "edge"})

    assert result.messages == [
        "field `pattern`: invalid value 'edge' for `pattern`: Input should be a valid dictionary; "
        f"`pattern` takes {PATTERN_TYPE}"
    ]


def test_serving_unknown_pattern():
    answer = {**ADA_SERVING, "pattern": {**ADA_SERVING["pattern"], "plant_a": "cloud"}}

    assert check("m08.serving_pattern", answer).messages == [
        "field `pattern`: invalid value {'plant_a': 'cloud', 'plant_b': 'edge', 'plant_c': 'edge'} for `pattern`; "
        f"`pattern` takes {PATTERN_TYPE}"
    ]


def test_serving_missing_field():
    result = check("m08.serving_pattern", {"pattern": ADA_SERVING["pattern"]})

    assert result.messages == [
        "field `driver`: missing key `driver`; `driver` takes a dict mapping one of 'plant_a', 'plant_b', 'plant_c' "
        "to one of 'site offline part of the day', 'latency budget below the network round trip', "
        "'daily data exceeds the uplink', 'a caller waits for each prediction', "
        "'results can wait for a scheduled run' (first rule that applies to each plant)"
    ]


def test_serving_unknown_field():
    result = check("m08.serving_pattern", {**ADA_SERVING, "reason": "cheap"})

    assert result.messages == [
        "answer is a dict of the listed keys: unknown key(s) ['reason']; the allowed keys are pattern, driver"
    ]


# --- Trade-offs ----------------------------------------------------------------------------------------

ADA_SERVICES = {
    "card_reply_ms": 200, "card_sla_pct": 99.5, "card_auc_gain": 0.045,
    "churn_rows": 30_000_000, "churn_deadline_hours": 6, "churn_auc_gain": 0.045,
    "loan_reply_ms": 86_400_000, "loan_sla_pct": 99.95, "loan_auc_gain": 0.015,
}
ADA_TRADEOFFS = {
    "latency_or_throughput": {"card_checks": "latency", "churn_scores": "throughput", "loan_offers": "throughput"},
    "cost_or_availability": {"card_checks": "cost", "churn_scores": "cost", "loan_offers": "cost"},
    "accuracy_or_interpretability": {"card_checks": "accuracy", "churn_scores": "accuracy", "loan_offers": "interpretability"},
}


def test_tradeoff_scenario_pinned():
    assert exercise_data("m08.tradeoffs", "ada") == ADA_SERVICES


def test_tradeoff_solution_for_ada(as_learner):
    as_learner("ada")
    answer = solution_answer("m08.tradeoffs")

    assert answer == ADA_TRADEOFFS
    assert points("m08.tradeoffs", answer) == 4.5


def test_tradeoff_answers_differ_between_learners(as_learner):
    as_learner("alan")
    alan = solution_answer("m08.tradeoffs")

    assert alan["accuracy_or_interpretability"] == {
        "card_checks": "interpretability", "churn_scores": "interpretability", "loan_offers": "interpretability",
    }
    assert points("m08.tradeoffs", alan) == 4.5


def test_tradeoff_scenarios_reach_both_sides(as_learner):
    sides: dict[str, set[str]] = {}
    for learner in MANY_LEARNERS:
        as_learner(learner)
        for tradeoff, choices in solution_answer("m08.tradeoffs").items():
            for service, side in choices.items():
                sides.setdefault(f"{tradeoff}.{service}", set()).add(side)

    assert {key for key, found in sides.items() if len(found) == 2} == {
        "latency_or_throughput.loan_offers",
        "cost_or_availability.card_checks",
        "cost_or_availability.loan_offers",
        "accuracy_or_interpretability.card_checks",
        "accuracy_or_interpretability.churn_scores",
    }


def test_tradeoff_always_available(as_learner):
    as_learner("ada")
    answer = {**ADA_TRADEOFFS, "cost_or_availability": dict.fromkeys(("card_checks", "churn_scores", "loan_offers"), "availability")}

    result = graded("m08.tradeoffs", answer)

    assert points("m08.tradeoffs", answer) == 3.0
    assert failures(result) == {
        "cost_or_availability.card_checks (0.5 pt)": "a 99.5 % SLA allows hours of downtime a month, "
        "so one instance is enough and three would triple the bill",
        "cost_or_availability.churn_scores (0.5 pt)": "batch work: the cluster scales down to zero between nightly runs "
        "and retries a failed mini-batch, so always-on instances buy nothing",
        "cost_or_availability.loan_offers (0.5 pt)": "next-day offers are batch work: "
        "a cluster that scales to zero between runs costs least",
    }


def test_tradeoff_accuracy_for_loans(as_learner):
    as_learner("ada")
    answer = {**ADA_TRADEOFFS, "accuracy_or_interpretability": {**ADA_TRADEOFFS["accuracy_or_interpretability"],
                                                                "loan_offers": "accuracy"}}

    result = graded("m08.tradeoffs", answer)

    assert points("m08.tradeoffs", answer) == 4.0
    assert failures(result) == {
        "accuracy_or_interpretability.loan_offers (0.5 pt)": "each declined applicant must be told the main reasons, "
        "which a scorecard gives directly, so the law decides whatever the AUC gain (0.015)",
    }


def test_tradeoff_all_wrong_scores_zero(as_learner):
    as_learner("ada")
    flipped = {"latency": "throughput", "throughput": "latency", "cost": "availability", "availability": "cost",
               "accuracy": "interpretability", "interpretability": "accuracy"}
    answer = {tradeoff: {service: flipped[side] for service, side in choices.items()} for tradeoff, choices in ADA_TRADEOFFS.items()}

    assert points("m08.tradeoffs", answer) == 0
    assert len(graded("m08.tradeoffs", answer).messages) == 9


def test_tradeoff_wrong_type():
    answer = {**ADA_TRADEOFFS, "latency_or_throughput": ["latency", "throughput", "throughput"]}

    assert check("m08.tradeoffs", answer).messages == [
        "field `latency_or_throughput`: invalid value ['latency', 'throughput', 'throughput'] for `latency_or_throughput`: "
        "Input should be a valid dictionary; `latency_or_throughput` takes a dict mapping one of 'card_checks', "
        "'churn_scores', 'loan_offers' to one of 'latency', 'throughput'"
    ]


def test_tradeoff_missing_and_unknown_fields():
    answer = {key: value for key, value in ADA_TRADEOFFS.items() if key != "cost_or_availability"}

    assert check("m08.tradeoffs", {**answer, "cost_or_uptime": {}}).messages == [
        "answer is a dict of the listed keys: unknown key(s) ['cost_or_uptime']; the allowed keys are "
        "latency_or_throughput, cost_or_availability, accuracy_or_interpretability",
        "field `cost_or_availability`: missing key `cost_or_availability`; `cost_or_availability` takes a dict mapping "
        "one of 'card_checks', 'churn_scores', 'loan_offers' to one of 'cost', 'availability'",
    ]
