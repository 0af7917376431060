"""Reading data that comes from a grading kernel: required fields, and exceptions as data.

An exception the learner's code raises in the kernel reaches the grader as its class name,
its built-in base classes and its message. :func:`rebuild_error` turns that back into an
exception that ``except ValueError`` and the other built-in classes catch as they would
have caught the original, while a class of the autograder's own, such as
``PartialCredit``, is never rebuilt.
"""

from __future__ import annotations

import builtins
from typing import Any

from autograder.errors import TamperedRecordingError


def field(data: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """Return ``data[key]``; raise :class:`TamperedRecordingError` when it is missing or not of ``kind``.

    ``bool`` counts as ``int`` only where ``kind`` names ``bool`` itself.
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    value = data.get(key) if isinstance(data, dict) else None
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if not isinstance(value, kinds) or wrong_bool:
        names = " or ".join(k.__name__ for k in kinds)
        owner = data.get("$", "record") if isinstance(data, dict) else "record"
        raise TamperedRecordingError(f"`{key}` of a {owner} must be {names}, got {type(value).__name__}")
    return value


def describe_error(error: BaseException) -> dict[str, Any]:
    """Describe an exception by its class name, its built-in base classes and its message."""
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - a learner's __str__ may raise; the class name still says what failed
        message = ""
    return {"type": type(error).__name__, "builtins": _builtin_bases(type(error)), "message": message}


def _builtin_bases(cls: type) -> list[str]:
    # Only the most derived built-in classes, in MRO order: scikit-learn's NotFittedError
    # gives ValueError and AttributeError, and PartialCredit gives AssertionError.
    found: list[type] = []
    for klass in cls.__mro__:
        if klass.__module__ != "builtins" or not issubclass(klass, Exception):
            continue
        if not any(issubclass(earlier, klass) for earlier in found):
            found.append(klass)
    return [klass.__name__ for klass in found]


def check_error(description: Any) -> dict[str, Any]:
    """Return ``description`` if it has the form :func:`describe_error` writes; raise :class:`TamperedRecordingError` if not."""
    name = field(description, "type", str)
    field(description, "message", str)
    bases = field(description, "builtins", list)
    if not name.isidentifier() or not all(isinstance(base, str) for base in bases):
        raise TamperedRecordingError(
            f"invalid exception description of type {name!r}: the type must be a Python name and `builtins` a list of names"
        )
    return description


def rebuild_error(description: dict[str, Any]) -> Exception:
    """Return an exception with the described class name that subclasses the described built-in classes.

    Names in ``builtins`` that are not built-in exception classes are ignored. When none is
    left, or Python cannot combine the classes, the result is a ``RuntimeError``.
    """
    candidates = (getattr(builtins, name, None) for name in description["builtins"])
    bases = tuple(klass for klass in candidates if isinstance(klass, type) and issubclass(klass, Exception))
    name, message = description["type"], description["message"]
    if not bases:
        return RuntimeError(f"{name}: {message}")
    try:
        cls = bases[0] if len(bases) == 1 and bases[0].__name__ == name else _error_class(name, bases)
        return cls(message)
    except TypeError:
        # Some built-in classes conflict in instance layout, or take other arguments (UnicodeDecodeError).
        return RuntimeError(f"{name}: {message}")


_ERROR_CLASSES: dict[tuple[str, tuple[type, ...]], type] = {}


def _error_class(name: str, bases: tuple[type, ...]) -> type:
    key = (name, bases)
    if key not in _ERROR_CLASSES:
        _ERROR_CLASSES[key] = type(name, bases, {"__module__": __name__})
    return _ERROR_CLASSES[key]


_NAMED_CLASSES: dict[tuple[type, str, str], type] = {}


def named_class(base: type, module: str, qualname: str) -> type:
    """Return a subclass of ``base`` whose ``__name__``, ``__qualname__`` and ``__module__`` are those of a kernel class.

    Checks report ``type(answer).__name__`` and some compare it (``Command``, ``PipelineJob``),
    so a rebuilt value bears the name of the class it was made from. Equal names give the same class.
    """
    key = (base, module, qualname)
    if key not in _NAMED_CLASSES:
        name = qualname.rpartition(".")[2] or base.__name__
        _NAMED_CLASSES[key] = type(name, (base,), {"__module__": module, "__qualname__": qualname, "__slots__": ()})
    return _NAMED_CLASSES[key]
