"""Decision checks: a structured answer to an MLOps scenario, graded by a rubric.

The learner fills in a dict whose keys and allowed values a pydantic model fixes. The
public check only validates the form of the answer, field by field. The rubric (see
``autograder.checks.rubrics``) holds the expected choices; it lives with the instructor's
notebooks, never in the learner's package, and reaches the grader through the hidden-test
cell.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from autograder.checks.core import CaseGroup
from autograder.checks.rubrics import Criterion, Rubric, grade_value, parse_rubric


def form_groups(model: type[BaseModel]) -> list[CaseGroup]:
    """Build one group per answer field that checks its type and allowed values."""
    groups = [CaseGroup("answer is a dict of the listed keys", _known_keys_only(model))]
    for name in model.model_fields:
        groups.append(CaseGroup(f"field `{name}`", _valid_field(model, name)))
    return groups


def rubric_groups(model: type[BaseModel], rubric: Rubric, scenario: dict[str, Any] | None = None) -> list[CaseGroup]:
    """Build one weighted group per rubric criterion, graded against the learner's ``scenario``.

    A field that does not fit the model fails only the criteria that grade it, with the
    validation message, so one wrong type never costs the whole answer.
    """
    return [
        CaseGroup(f"{c.field} ({c.points:g} pt)", _meets(model, c, scenario or {}), weight=c.points)
        for c in rubric.criteria
    ]


def _known_keys_only(model: type[BaseModel]):
    def run(answer: Any) -> None:
        if not isinstance(answer, dict):
            raise AssertionError(f"expected a dict with keys {_key_list(model)}, got {type(answer).__name__}")
        unknown = sorted(set(answer) - set(model.model_fields))
        if unknown:
            raise AssertionError(f"unknown key(s) {unknown}; the allowed keys are {_key_list(model)}")

    return run


def _valid_field(model: type[BaseModel], name: str):
    def run(answer: Any) -> None:
        value = _field_value(model, answer, name)
        annotation = model.model_fields[name].annotation
        # A dict keyed by a fixed set of choices must hold every key, which the type alone
        # does not enforce; without this, a missing entry would surface only at grading.
        if get_origin(annotation) is dict and get_origin(get_args(annotation)[0]) is Literal:
            missing = [key for key in get_args(get_args(annotation)[0]) if key not in value]
            if missing:
                raise AssertionError(f"`{name}` has no entry for {missing}; {_describe_field(model, name)}")

    return run


def _meets(model: type[BaseModel], criterion: Criterion, scenario: dict[str, Any]):
    top, _, rest = criterion.field.partition(".")

    def run(answer: Any) -> str:
        value = _field_value(model, answer, top)
        for key in rest.split(".") if rest else []:
            if not isinstance(value, dict) or key not in value:
                raise AssertionError(f"missing entry `{key}` in `{top}`")
            value = value[key]
        try:
            return grade_value(value, criterion, scenario)
        except ValueError as error:
            # A gap in the rubric, not in the answer: say so, so the learner asks the instructor.
            raise AssertionError(f"the rubric cannot grade this criterion ({error}); tell your instructor") from None

    return run


def _field_value(model: type[BaseModel], answer: Any, name: str) -> Any:
    if not isinstance(answer, dict):
        raise AssertionError(f"expected a dict with keys {_key_list(model)}, got {type(answer).__name__}")
    if name not in answer:
        raise AssertionError(f"missing key `{name}`; {_describe_field(model, name)}")
    field = model.model_fields[name]
    try:
        adapter = TypeAdapter(field.annotation)
        value = adapter.validate_python(answer[name])
    except ValidationError as error:
        first = error.errors()[0]
        # A literal error repeats the allowed values that the field description lists anyway.
        problem = "" if first["type"] == "literal_error" else f": {first['msg']}"
        raise AssertionError(f"invalid value {answer[name]!r} for `{name}`{problem}; {_describe_field(model, name)}") from None
    # dump_python turns models nested in lists and dicts into plain values too, so rubric
    # paths such as `steps.step_1.green` reach them.
    return adapter.dump_python(value)


def _describe_field(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    text = f"`{name}` takes {describe_type(field.annotation)}"
    return f"{text} ({field.description})" if field.description else text


def describe_type(annotation: Any) -> str:
    """Describe the values a field annotation accepts, in words a learner can act on."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return describe_type(args[0])
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"a list of {describe_type(args[0])}" if args else "a list"
    if origin is dict:
        return f"a dict mapping {describe_type(args[0])} to {describe_type(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a dict with keys " + _key_list(annotation)
    return {int: "an integer", float: "a number", str: "a string", bool: "True or False"}.get(annotation, str(annotation))


def _key_list(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)
