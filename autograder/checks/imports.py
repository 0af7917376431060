"""Detect a learner's function that calls a library an exercise asks to do without.

Exercises that say "from scratch with numpy" must not pass by calling scikit-learn or
scipy. A function reaches a library through names in its code: a module or function
imported at the top of the notebook (found in the function's globals) or an import
statement inside the function (found in its code object's constants and names). Both are
followed into nested functions, lambdas and the helper functions it calls.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable

from autograder.checks.core import CaseGroup

FORBIDDEN_BY_DEFAULT = ("sklearn", "scipy")


def forbidden_libraries(function: Callable[..., Any], forbidden: tuple[str, ...] = FORBIDDEN_BY_DEFAULT) -> set[str]:
    """Return the forbidden top-level packages that ``function`` uses, directly or through its helpers.

    A function replayed from a grading kernel (see :mod:`autograder.grading.replay`) has no
    code in this process; the libraries its code reached were recorded in the kernel.
    """
    # Imported here, because autograder.grading imports this module.
    from autograder.grading.replay import recorded_libraries

    recorded = recorded_libraries(function)
    if recorded is not None:
        return recorded & set(forbidden)
    found: set[str] = set()
    _scan(function, forbidden, found, seen=set())
    return found


def from_scratch(
    forbidden: tuple[str, ...] = FORBIDDEN_BY_DEFAULT,
    *,
    probe: tuple[Any, ...] | None = None,
    weight: float = 1.0,
) -> CaseGroup:
    """Build a group that fails when the learner's function uses one of the ``forbidden`` libraries.

    ``probe``, when given, holds arguments the function is called with first: a function
    that still raises ``NotImplementedError`` then fails the group, so the released stub,
    which uses no library, earns nothing from it.
    """

    def run(function: Callable[..., Any]) -> None:
        if probe is not None and callable(function):
            try:
                function(*probe)
            except NotImplementedError:
                raise
            except Exception:  # noqa: BLE001 - other groups grade the result; this one only needs a body
                pass
        used = forbidden_libraries(function, forbidden) if callable(function) else set()
        if used:
            names = " and ".join(sorted(used))
            raise AssertionError(
                f"your function uses {names}; this exercise asks for an implementation from scratch "
                "with numpy, so write the formula with numpy operations"
            )

    return CaseGroup("from scratch with numpy", run, weight=weight)


def _scan(function: Any, forbidden: tuple[str, ...], found: set[str], seen: set[int]) -> None:
    function = inspect.unwrap(function) if callable(function) else function
    code = getattr(function, "__code__", None)
    if code is None or id(code) in seen:
        return
    seen.add(id(code))
    namespace = getattr(function, "__globals__", {})
    closure = {
        name: cell.cell_contents
        for name, cell in zip(code.co_freevars, getattr(function, "__closure__", None) or ())
        if _has_contents(cell)
    }
    _scan_code(code, {**namespace, **closure}, forbidden, found, seen)


def _scan_code(code: types.CodeType, namespace: dict[str, Any], forbidden: tuple[str, ...], found: set[str], seen: set[int]) -> None:
    # Free variables name objects of an enclosing scope, such as a closure over an imported
    # function; an import statement inside the function leaves the module name in co_names.
    for name in (*code.co_names, *code.co_freevars):
        root = name.split(".")[0]
        if root in forbidden:
            found.add(root)
        value = namespace.get(name)
        library = _library_of(value)
        if library in forbidden:
            found.add(library)
        elif isinstance(value, types.FunctionType):
            _scan(value, forbidden, found, seen)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType) and id(constant) not in seen:
            seen.add(id(constant))
            _scan_code(constant, namespace, forbidden, found, seen)


def _library_of(value: Any) -> str:
    if isinstance(value, types.ModuleType):
        return value.__name__.split(".")[0]
    module = getattr(value, "__module__", None)
    return module.split(".")[0] if isinstance(module, str) else ""


def _has_contents(cell: types.CellType) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True
