"""Digests of the arguments a check passes to the learner's function.

The recorder keys each call by the digest of its arguments, and the grader looks the call
up by the digest of the arguments its own check passes. Both processes build the
arguments with the same check code, so equal arguments give equal digests. Functions and
classes count by their qualified name, other objects by their class and ``__dict__``, and
a handle by its index in the recording.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from autograder.grading.encoding import MAX_DEPTH, Handle


def call_digests(args: tuple, kwargs: dict[str, Any]) -> tuple[str, dict[str | int, str]]:
    """Return the key of a call and the digest of each argument, by position or keyword.

    Both processes build the arguments with the same check code, so equal arguments give
    equal keys. The key covers keyword arguments in name order.
    """
    parts: dict[str | int, str] = {index: value_digest(value) for index, value in enumerate(args)}
    parts.update({name: value_digest(kwargs[name]) for name in sorted(kwargs)})
    hasher = hashlib.blake2b(digest_size=16)
    for name, digest in parts.items():
        hasher.update(f"{name}={digest};".encode())
    return hasher.hexdigest(), parts


def value_digest(value: Any) -> str:
    """Return a hex digest of ``value`` that is the same in every process for an equal value."""
    hasher = hashlib.blake2b(digest_size=16)
    _feed(hasher, value, ())
    return hasher.hexdigest()


def _feed(hasher: Any, value: Any, path: tuple[int, ...]) -> None:
    if isinstance(value, Handle):
        hasher.update(f"handle:{object.__getattribute__(value, '_handle_id')};".encode())
    elif value is None or isinstance(value, bool):
        hasher.update(f"{value!r};".encode())
    elif isinstance(value, (np.ndarray, np.generic)):
        _feed_array(hasher, np.asarray(value), path)
    elif isinstance(value, (int, float, str, bytes)):
        _feed_scalar(hasher, value)
    elif id(value) in path or len(path) >= MAX_DEPTH:
        hasher.update(b"cycle;")
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        _feed_container(hasher, value, (*path, id(value)))
    elif callable(value) and hasattr(value, "__qualname__"):
        hasher.update(f"callable:{getattr(value, '__module__', '')}.{value.__qualname__};".encode())
    else:
        hasher.update(f"object:{type(value).__module__}.{type(value).__qualname__};".encode())
        state = getattr(value, "__dict__", None)
        if isinstance(state, dict):
            _feed_container(hasher, dict(state), (*path, id(value)))


def _feed_scalar(hasher: Any, value: Any) -> None:
    if isinstance(value, int):
        text = f"int:{int.__repr__(value)}"
    elif isinstance(value, float):
        text = f"float:{float.__repr__(value)}"
    elif isinstance(value, str):
        text = f"str:{len(value)}:{str.__str__(value)}"
    else:
        text = f"bytes:{len(value)}:{bytes(value).hex()}"
    hasher.update(text.encode("utf-8", "surrogatepass") + b";")


def _feed_array(hasher: Any, array: np.ndarray, path: tuple[int, ...]) -> None:
    hasher.update(f"array:{array.dtype.str}:{array.shape};".encode())
    if array.dtype.kind == "O":
        for item in array.ravel():
            _feed(hasher, item, path)
    elif array.dtype.kind != "V":
        hasher.update(np.ascontiguousarray(array).view(np.uint8))
    else:
        hasher.update(array.tobytes())


def _feed_container(hasher: Any, value: Any, path: tuple[int, ...]) -> None:
    hasher.update(f"{type(value).__name__}:{len(value)}[".encode())
    if isinstance(value, dict):
        for key, item in dict.items(value):
            _feed(hasher, key, path)
            _feed(hasher, item, path)
    elif isinstance(value, (set, frozenset)):
        for digest in sorted(value_digest(item) for item in value):
            hasher.update(digest.encode())
    else:
        for item in value:
            _feed(hasher, item, path)
    hasher.update(b"];")
