"""Layer 2 rules on ``${{...}}`` bindings of commands and pipeline steps, which azure-ai-ml loads unchecked.

A command may bind ``${{inputs.x}}``, ``${{outputs.y}}`` and, in a sweep trial,
``${{search_space.z}}``; each must be declared. A pipeline step may bind
``${{parent.inputs.x}}``, ``${{parent.outputs.y}}`` and
``${{parent.jobs.<step>.outputs.z}}``; each must exist. A step must bind every required
input of its component, and only inputs and outputs the component declares. A component is
known when it is written inline or in a local YAML file. A registered component
(``azureml:name:version``) is not read, so the steps that run one are checked for their
parent bindings only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from autograder.checks.specs.findings import Finding, PathParts
from autograder.checks.specs.view import SpecView

_BINDING = re.compile(r"\$\{\{\s*([^{}]*?)\s*\}\}")


def command_rules(view: SpecView) -> Iterator[Finding]:
    """Check the bindings of a command job, command component or sweep trial (AML060)."""
    data = view.data
    if view.kind == "sweep_job":
        trial = data.get("trial")
        if isinstance(trial, dict):
            yield from _command_findings(view, ("trial", "command"), trial.get("command"), data, data.get("search_space"))
        return
    yield from _command_findings(view, ("command",), data.get("command"), data, None)


def pipeline_rules(view: SpecView) -> Iterator[Finding]:
    """Check the steps of a pipeline job: parent bindings, required and undeclared inputs (AML060-AML064).

    AML064 is a warning: azure-ai-ml 1.35 accepts a step that binds an undeclared input, and
    whether the service rejects it is not documented.
    """
    jobs = view.data.get("jobs")
    if not isinstance(jobs, dict):
        return
    for step_name, step in jobs.items():
        if not isinstance(step, dict):
            continue
        parts = ("jobs", str(step_name))
        component = _step_component(view, step)
        if isinstance(step.get("component"), dict):
            inline = step["component"]
            yield from _command_findings(view, (*parts, "component", "command"), inline.get("command"), inline, None)
        elif "command" in step and "component" not in step:
            yield from _command_findings(view, (*parts, "command"), step.get("command"), step, None)
        yield from _parent_bindings(view, parts, step, jobs)
        if component is not None:
            yield from _declared_io(view, parts, step, component)


def _command_findings(
    view: SpecView, parts: PathParts, command: Any, declarations: dict[str, Any], search_space: Any
) -> Iterator[Finding]:
    if not isinstance(command, str):
        return
    declared = {
        "inputs": _names(declarations.get("inputs")),
        "outputs": _names(declarations.get("outputs")),
        "search_space": _names(search_space) if search_space is not None else None,
    }
    for expression in dict.fromkeys(_BINDING.findall(command)):
        group, _, rest = expression.partition(".")
        name = rest.split(".", 1)[0]
        names = declared.get(group)
        if names is None or not name or name in names:
            continue
        where = "search_space" if group == "search_space" else group
        listed = ", ".join(sorted(names)) or "none"
        yield view.finding(
            "AML060",
            parts,
            f"the command binds `${{{{{expression}}}}}` but `{where}` declares no `{name}` (declared: {listed})",
            f"declare `{name}` under `{where}`, or correct the name in the command",
        )


def _parent_bindings(view: SpecView, parts: PathParts, step: dict[str, Any], jobs: dict[str, Any]) -> Iterator[Finding]:
    pipeline_inputs = _names(view.data.get("inputs"))
    pipeline_outputs = _names(view.data.get("outputs"))
    for section in ("inputs", "outputs"):
        values = step.get(section)
        if not isinstance(values, dict):
            continue
        for port, value in values.items():
            port_parts = (*parts, section, str(port))
            for expression in _bound_expressions(value):
                yield from _check_parent_expression(view, port_parts, expression, pipeline_inputs, pipeline_outputs, jobs)


def _check_parent_expression(
    view: SpecView,
    parts: PathParts,
    expression: str,
    pipeline_inputs: set[str],
    pipeline_outputs: set[str],
    jobs: dict[str, Any],
) -> Iterator[Finding]:
    tokens = expression.split(".")
    if tokens[0] != "parent" or len(tokens) < 3:
        return
    binding = f"${{{{{expression}}}}}"

    if tokens[1] in ("inputs", "outputs"):
        declared = pipeline_inputs if tokens[1] == "inputs" else pipeline_outputs
        if tokens[2] not in declared:
            listed = ", ".join(sorted(declared)) or "none"
            yield view.finding(
                "AML061",
                parts,
                f"`{binding}` names pipeline {tokens[1][:-1]} `{tokens[2]}`, which the pipeline does not declare (declared: {listed})",
                f"declare `{tokens[2]}` under the pipeline's `{tokens[1]}`, or bind one that exists",
            )
        return

    if tokens[1] != "jobs" or len(tokens) < 5:
        return
    step_name, port_kind, port = tokens[2], tokens[3], tokens[4]
    if step_name not in jobs:
        yield view.finding(
            "AML062",
            parts,
            f"`{binding}` names step `{step_name}`, which the pipeline does not have (steps: {', '.join(map(str, jobs))})",
            "bind the output of an existing step",
        )
        return

    if port_kind != "outputs":
        return
    other = jobs[step_name]
    component = _step_component(view, other) if isinstance(other, dict) else None
    if component is None:
        return
    outputs = _names(component.get("outputs"))
    if port not in outputs:
        yield view.finding(
            "AML062",
            parts,
            f"`{binding}` names output `{port}` of step `{step_name}`, whose component declares "
            f"{', '.join(sorted(outputs)) or 'no outputs'}",
            f"bind one of the outputs of `{step_name}`",
        )


def _declared_io(view: SpecView, parts: PathParts, step: dict[str, Any], component: dict[str, Any]) -> Iterator[Finding]:
    component_inputs = component.get("inputs") if isinstance(component.get("inputs"), dict) else {}
    bound = step.get("inputs") if isinstance(step.get("inputs"), dict) else {}
    for name, declaration in component_inputs.items():
        if _is_required(declaration) and bound.get(name) is None:
            yield view.finding(
                "AML063",
                (*parts, "inputs", str(name)),
                f"step `{parts[-1]}` leaves required input `{name}` of its component unbound",
                f"bind `{name}` under `{'.'.join(map(str, parts))}.inputs`, or give the component input a default or `optional: true`",
            )
    for section in ("inputs", "outputs"):
        declared = _names(component.get(section))
        values = step.get(section)
        if not isinstance(values, dict):
            continue
        for name in values:
            if str(name) not in declared:
                yield view.finding(
                    "AML064",
                    (*parts, section, str(name)),
                    f"step `{parts[-1]}` binds {section[:-1]} `{name}`, which its component does not declare "
                    f"(declared: {', '.join(sorted(declared)) or 'none'}), so the component never receives it",
                    f"remove `{name}` or correct its name",
                )


def _step_component(view: SpecView, step: dict[str, Any]) -> dict[str, Any] | None:
    """Return the component a step runs when it is inline or in a local file, else None."""
    component = step.get("component")
    if isinstance(component, dict):
        return component
    if isinstance(component, str) and (component.startswith("file:") or not re.match(r"^[A-Za-z][\w+.-]*:", component)):
        return view.read_local_yaml(component)
    if component is None and "command" in step:
        return step
    return None


def _is_required(declaration: Any) -> bool:
    if not isinstance(declaration, dict):
        return False
    return not declaration.get("optional", False) and "default" not in declaration


def _bound_expressions(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = value.get("path")
    if not isinstance(value, str):
        return []
    return _BINDING.findall(value)


def _names(section: Any) -> set[str]:
    return {str(name) for name in section} if isinstance(section, dict) else set()
