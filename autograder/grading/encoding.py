"""Plain JSON values for what crosses from a grading kernel to the grader.

The learner's code runs in the grading kernel and can change anything there, so the
grader scores only data: numbers, strings, containers, numpy arrays, snapshots of
azure-ai-ml entities and pydantic models (see :mod:`autograder.grading.snapshots`) and
references to handles. A handle is a function or another object that stays in the kernel;
the recording lists what it returned there. :func:`decode` checks every part it reads and
raises :class:`~autograder.errors.TamperedRecordingError` on anything :func:`encode` does
not write.

Every encoded container is a JSON object whose ``"$"`` key names its kind, except a list,
which is a JSON array. Floats that JSON cannot hold (nan, inf) are tagged too.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any, Callable

import numpy as np

from autograder.errors import TamperedRecordingError
from autograder.grading import snapshots
from autograder.grading.untrusted import field

# dtype kinds that np.load reads back with allow_pickle=False: bool, integers, floats,
# complex numbers, bytes, str, datetimes and time deltas. Object arrays hold references,
# which only pickle can carry.
ARRAY_KINDS = "biufcSUmM"
MAX_DEPTH = 100

Encoder = Callable[[Any], int]
Resolver = Callable[[int], Any]


class Handle:
    """A function or object that stays in the grading kernel, known by its index in the recording's handle table."""

    __slots__ = ("_handle_id", "_handle_label")

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_handle_label')} in the grading kernel>"

    def __copy__(self) -> Handle:
        return self

    def __deepcopy__(self, memo: dict) -> Handle:
        # A copy would share the same recording, so a handle is its own copy.
        return self


class RefusedValue:
    """A value the encoder does not carry, such as an object array; checks see an opaque object."""

    def __init__(self, type_name: str, reason: str):
        self.type_name = type_name
        self.reason = reason

    def __repr__(self) -> str:
        return f"<{self.type_name} not sent by the grading kernel: {self.reason}>"


def encode(value: Any, handle_of: Encoder) -> Any:
    """Encode ``value`` as JSON-compatible data; ``handle_of`` returns the handle id of a function or other object."""
    return _encode(value, handle_of, ())


def decode(data: Any, resolve: Resolver) -> Any:
    """Rebuild a value from :func:`encode`'s data; ``resolve`` returns the object of a handle id.

    Raises :class:`TamperedRecordingError` naming the first part that :func:`encode` would not write.
    """
    return _decode(data, resolve, 0)


def _encode(value: Any, handle_of: Encoder, path: tuple[int, ...]) -> Any:
    # type() rather than isinstance(): a learner's class can make __class__ report another class.
    cls = type(value)
    if issubclass(cls, Handle):
        # Checked first: asking a handle for _to_dict would record a lookup on the learner's object.
        return {"$": "handle", "id": handle_of(value)}
    if value is None or cls is bool:
        return value
    if issubclass(cls, np.generic):
        # Checked before float and str, which np.float64 and np.str_ subclass.
        return _encode_array(np.array(value), "numpy")
    if issubclass(cls, (int, float, str)):
        return _encode_scalar(value, cls)
    if issubclass(cls, bytes):
        return {"$": "bytes", "base64": base64.b64encode(bytes.__bytes__(value)).decode("ascii")}
    if snapshots.is_entity(value):
        # Checked before dict, because azure-ai-ml pipeline nodes are dict subclasses.
        return snapshots.encode_entity(value, lambda part: _encode(part, handle_of, ()))
    if snapshots.is_model(value):
        return snapshots.encode_model(value, lambda part: _encode(part, handle_of, ()))
    if issubclass(cls, np.ndarray):
        return _encode_array(np.ndarray.view(value, np.ndarray), "ndarray")
    if issubclass(cls, (list, tuple, dict, set, frozenset)):
        return _encode_container(value, handle_of, path)
    return {"$": "handle", "id": handle_of(value)}


def _encode_scalar(value: Any, cls: type) -> Any:
    # The base classes' methods read the stored value, so a subclass's overrides cannot change it.
    if issubclass(cls, int):
        return int.__int__(value)
    if issubclass(cls, float):
        return _encode_float(float.__float__(value))
    return str.__str__(value)


def _encode_float(number: float) -> Any:
    if math.isfinite(number):
        return number
    if math.isnan(number):
        return {"$": "float", "value": "nan"}
    return {"$": "float", "value": "inf" if number > 0 else "-inf"}


def _encode_array(array: np.ndarray, tag: str) -> dict[str, Any]:
    if not isinstance(array, np.ndarray):
        raise TamperedRecordingError(f"an encoded array is a {type(array).__name__}, not a single .npy array")
    if array.dtype.kind not in ARRAY_KINDS:
        return _refused(f"numpy.{type(array).__name__}", f"an array of dtype {array.dtype} needs pickle, which the grader does not load")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return {"$": tag, "npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _encode_container(value: Any, handle_of: Encoder, path: tuple[int, ...]) -> Any:
    if id(value) in path or len(path) >= MAX_DEPTH:
        return _refused(type(value).__name__, "a container nested deeper than 100 levels, or one that contains itself")
    inner = (*path, id(value))

    def part(item: Any) -> Any:
        return _encode(item, handle_of, inner)

    # The base classes' methods read the stored items, so a subclass cannot hide or add any.
    cls = type(value)
    if issubclass(cls, list):
        return [part(item) for item in list.__iter__(value)]
    if issubclass(cls, tuple):
        return {"$": "tuple", "items": [part(item) for item in tuple.__iter__(value)]}
    if issubclass(cls, dict):
        pairs = list(dict.items(value))
        if all(type(key) is str for key, _ in pairs):
            return {"$": "dict", "items": {key: part(item) for key, item in pairs}}
        return {"$": "dict", "pairs": [[part(key), part(item)] for key, item in pairs]}
    if issubclass(cls, frozenset):
        return {"$": "frozenset", "items": [part(item) for item in frozenset.__iter__(value)]}
    return {"$": "set", "items": [part(item) for item in set.__iter__(value)]}


def _refused(type_name: str, reason: str) -> dict[str, Any]:
    return {"$": "refused", "type": type_name, "reason": reason}


# --- Decoding ---------------------------------------------------------------------------------


def _decode(data: Any, resolve: Resolver, depth: int) -> Any:
    if depth > MAX_DEPTH + 2:
        raise TamperedRecordingError(f"a value is nested deeper than {MAX_DEPTH} levels, which the recorder never writes")
    if data is None or isinstance(data, (bool, int, str)):
        return data
    if isinstance(data, float):
        if not math.isfinite(data):
            raise TamperedRecordingError(f"the float {data!r} is written as a number; the recorder tags nan and inf")
        return data
    if isinstance(data, list):
        return [_decode(item, resolve, depth + 1) for item in data]
    if not isinstance(data, dict):
        raise TamperedRecordingError(f"a value of type {type(data).__name__} is not encoded data")
    tag = data.get("$")
    decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decoder is None:
        raise TamperedRecordingError(f"unknown value tag {tag!r}; the recorder writes {', '.join(sorted(_DECODERS))}")
    return decoder(data, lambda part: _decode(part, resolve, depth + 1), resolve)


def _decode_float(data: dict, part: Callable, resolve: Resolver) -> float:
    text = field(data, "value", str)
    if text not in ("nan", "inf", "-inf"):
        raise TamperedRecordingError(f"a tagged float must be nan, inf or -inf, got {text!r}")
    return float(text)


def _decode_array(data: dict, part: Callable, resolve: Resolver) -> Any:
    try:
        raw = base64.b64decode(field(data, "npy", str), validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - any failure to load untrusted bytes means the recorder did not write them
        raise TamperedRecordingError(f"an encoded array cannot be read: {error}") from None
    if not isinstance(array, np.ndarray):
        raise TamperedRecordingError(f"an encoded array is a {type(array).__name__}, not a single .npy array")
    if array.dtype.kind not in ARRAY_KINDS:
        raise TamperedRecordingError(f"an encoded array has dtype {array.dtype}, which the recorder never writes")
    if data["$"] == "numpy":
        if array.ndim != 0:
            raise TamperedRecordingError(f"a numpy scalar is written as an array of shape {array.shape}")
        return array[()]
    return array


def _decode_bytes(data: dict, part: Callable, resolve: Resolver) -> bytes:
    try:
        return base64.b64decode(field(data, "base64", str), validate=True)
    except binascii.Error as error:
        raise TamperedRecordingError(f"encoded bytes are not base64: {error}") from None


def _decode_dict(data: dict, part: Callable, resolve: Resolver) -> dict:
    if "items" in data:
        return {key: part(item) for key, item in field(data, "items", dict).items()}
    result = {}
    for pair in field(data, "pairs", list):
        if not isinstance(pair, list) or len(pair) != 2:
            raise TamperedRecordingError("a dict entry must be a [key, value] pair")
        result[_hashable(part(pair[0]))] = part(pair[1])
    return result


def _decode_items(data: dict, part: Callable, resolve: Resolver) -> Any:
    items = [part(item) for item in field(data, "items", list)]
    if data["$"] == "tuple":
        return tuple(items)
    members = [_hashable(item) for item in items]
    return frozenset(members) if data["$"] == "frozenset" else set(members)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        raise TamperedRecordingError(f"a dict key or set member of type {type(value).__name__} is not hashable") from None
    return value


def _decode_handle(data: dict, part: Callable, resolve: Resolver) -> Any:
    return resolve(field(data, "id", int))


def _decode_refused(data: dict, part: Callable, resolve: Resolver) -> RefusedValue:
    return RefusedValue(field(data, "type", str), field(data, "reason", str))


_DECODERS: dict[str, Callable[[dict, Callable, Resolver], Any]] = {
    "float": _decode_float,
    "numpy": _decode_array,
    "ndarray": _decode_array,
    "bytes": _decode_bytes,
    "tuple": _decode_items,
    "set": _decode_items,
    "frozenset": _decode_items,
    "dict": _decode_dict,
    "handle": _decode_handle,
    "refused": _decode_refused,
    "entity": lambda data, part, resolve: snapshots.decode_entity(data, part),
    "model": lambda data, part, resolve: snapshots.decode_model(data, part),
}
