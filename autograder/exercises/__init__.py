"""The exercises the learner's ``check()`` knows, by id (``m03.mse``).

Each module file (``m01.py`` ...) registers the exercises of one course module. An exercise
has public case groups, which ``check()`` runs for instant feedback, and graded case groups,
which the hidden-test cell runs with the data only the instructor holds (a seed for
generated inputs, a rubric). Neither list holds an expected value a learner could copy:
references are computed, and rubrics arrive from the hidden cell.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal

from pydantic import BaseModel

from autograder.checks import decisions
from autograder.checks.core import CaseGroup
from autograder.checks.seeds import learner_seed
from autograder.errors import UnknownExerciseError

Kind = Literal["math", "sdk", "decision"]


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its id, kind, and the case groups that check an answer.

    ``data``, when set, generates the exercise's per-learner data from a seed; see
    :func:`exercise_data`. ``answer_model`` is the pydantic model of a decision's answer.
    """

    id: str
    kind: Kind
    title: str
    public_groups: Callable[[], list[CaseGroup]]
    graded_groups: Callable[..., list[CaseGroup]]
    data: Callable[[int], Any] | None = None
    answer_model: type[BaseModel] | None = None


_REGISTRY: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to the registry; ids must be unique."""
    if exercise.id in _REGISTRY:
        raise ValueError(f"exercise id {exercise.id!r} is registered twice; give each exercise its own id")
    _REGISTRY[exercise.id] = exercise
    return exercise


def get_exercise(exercise_id: str) -> Exercise:
    """Return the exercise with ``exercise_id``; raise ``UnknownExerciseError`` listing the known ids."""
    _load_modules()
    if not isinstance(exercise_id, str) or exercise_id not in _REGISTRY:
        module = str(exercise_id).split(".")[0]
        broken = {name: error for name, error in _BROKEN_MODULES.items() if name.split("_")[0] == module}
        if broken:
            raise UnknownExerciseError(
                f"exercise {exercise_id!r} could not be loaded because autograder.exercises."
                + "; ".join(f"{name} failed to import ({error})" for name, error in broken.items())
                + "; reinstall azml-course or tell your instructor"
            )
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownExerciseError(
            f"unknown exercise id {exercise_id!r}; check the id in the notebook's check cell. Known ids: {known}"
        )
    return _REGISTRY[exercise_id]


def exercise_data(exercise_id: str, learner: str | None = None) -> Any:
    """Return the data of an exercise for a learner (the current one by default).

    The data is generated from the learner's seed, so every learner gets their own numbers
    and the hidden tests regenerate the same ones.
    """
    exercise = get_exercise(exercise_id)
    if exercise.data is None:
        raise UnknownExerciseError(f"exercise {exercise_id} has no generated data; read the data from the notebook instead")
    return exercise.data(learner_seed(exercise_id, learner))


def all_exercises() -> dict[str, Exercise]:
    """Return every registered exercise by id."""
    _load_modules()
    return dict(_REGISTRY)


_BROKEN_MODULES: dict[str, str] = {}


def _load_modules() -> None:
    # Every module file of this package (m01.py, m04_decisions.py, ...) registers its
    # exercises on import. A file that fails to import must not take every other exercise
    # down with it, so its error is kept and reported when one of its ids is asked for.
    for info in pkgutil.iter_modules(__path__):
        if not re.fullmatch(r"m\d\d(_[a-z]+)?", info.name) or info.name in _BROKEN_MODULES:
            continue
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except Exception as error:  # noqa: BLE001 - reported through get_exercise, see above
            _BROKEN_MODULES[info.name] = f"{type(error).__name__}: {error}"


def seeded(groups: Callable[[int], list[CaseGroup]]) -> Callable[..., list[CaseGroup]]:
    """Adapt a builder of case groups from a seed to the ``seed=`` a hidden-test cell passes."""

    def graded(*, seed: int) -> list[CaseGroup]:
        return groups(seed)

    return graded


def decision_exercise(
    exercise_id: str,
    title: str,
    model: type[BaseModel],
    scenario: Callable[[int], dict[str, Any]] | None = None,
) -> Exercise:
    """Build a decision exercise: the public check validates the form, the rubric grades.

    ``scenario``, when given, generates the learner's scenario numbers from their seed; the
    learner reads them with ``exercise_data()`` and the rubric's ``cases`` pick the right
    answer from the same numbers.
    """

    def graded(*, rubric: str) -> list[CaseGroup]:
        numbers = scenario(learner_seed(exercise_id)) if scenario else {}
        return decisions.rubric_groups(model, decisions.parse_rubric(rubric), numbers)

    def public() -> list[CaseGroup]:
        return decisions.form_groups(model)

    return Exercise(exercise_id, "decision", title, public, graded, data=scenario, answer_model=model)
