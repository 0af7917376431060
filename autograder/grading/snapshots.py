"""Snapshots of azure-ai-ml entities and pydantic models, rebuilt from plain data.

An entity reaches the grader as its class name and the spec :func:`to_spec` made of it in
the kernel. :class:`EntitySnapshot` gives that spec back through ``_to_dict()``, and a
pipeline node's snapshot also has ``_to_job()``. The snapshot's class bears the entity's
class name, so ``entity_kind``, ``is_entity``, ``to_spec``, ``load_spec`` and the exercises'
own checks treat it as the entity. Inputs and outputs that azure-ai-ml wrote as text are
kept with their own ``_to_dict()``, because ``load_spec`` restores them from the ports.

A pydantic model of the course (a class of the ``autograder`` package) is validated again
from its ``model_dump``; any other model becomes a :class:`ModelSnapshot`.
"""

from __future__ import annotations

import copy
import sys
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from autograder.checks.specs.groups import to_spec
from autograder.checks.specs.loading import plain_copy
from autograder.errors import TamperedRecordingError
from autograder.grading.untrusted import check_error, describe_error, field, named_class, rebuild_error

Part = Callable[[Any], Any]
PORT_SECTIONS = ("inputs", "outputs")


class EntitySnapshot:
    """An azure-ai-ml entity as its recorded spec, or as the error its serialisation raised."""

    def __init__(self, spec: dict[str, Any] | None, error: dict[str, Any] | None, ports: dict[str, dict[str, Any]]):
        self._spec = spec
        self._error = error
        self.inputs = {name: PortSnapshot(value) for name, value in ports.get("inputs", {}).items()}
        self.outputs = {name: PortSnapshot(value) for name, value in ports.get("outputs", {}).items()}

    def _to_dict(self) -> dict[str, Any]:
        if self._error is not None:
            raise rebuild_error(self._error)
        return copy.deepcopy(self._spec)

    def __repr__(self) -> str:
        return f"<snapshot of an azure-ai-ml {type(self).__name__}>"


class NodeSnapshot(EntitySnapshot):
    """A pipeline node (``Command``, ``Sweep``), whose ``_to_job()`` returns the snapshot of its standalone job."""

    def __init__(self, spec: dict[str, Any] | None, error: dict[str, Any] | None, ports: dict[str, dict[str, Any]],
                 job: EntitySnapshot | Exception):
        super().__init__(spec, error, ports)
        self._job = job

    def _to_job(self) -> EntitySnapshot:
        if isinstance(self._job, Exception):
            raise self._job
        return self._job


class PortSnapshot:
    """An input or output of a job, as the dict its own ``_to_dict()`` returned."""

    def __init__(self, spec: dict[str, Any]):
        self._spec = spec

    def _to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._spec)


class ModelSnapshot:
    """A pydantic model of a class outside the course, as the fields of its ``model_dump``."""

    def __init__(self, dump: dict[str, Any]):
        self._dump = dump

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return copy.deepcopy(self._dump)

    def __getattr__(self, name: str) -> Any:
        dump = self.__dict__.get("_dump", {})
        if name in dump:
            return dump[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._dump!r})"


def is_entity(value: Any) -> bool:
    """Tell whether ``value`` is serialised as an entity: anything with ``_to_dict``, as ``to_spec`` decides."""
    try:
        return hasattr(value, "_to_dict")
    except Exception:  # noqa: BLE001 - a learner's __getattr__ may raise anything; such an object is no entity
        return False


def is_model(value: Any) -> bool:
    """Tell whether ``value`` is a pydantic model."""
    return issubclass(type(value), BaseModel)


# --- Kernel side ----------------------------------------------------------------------------------


def encode_entity(entity: Any, encode: Part) -> dict[str, Any]:
    """Encode an entity as its class name and spec, with its standalone job when it has ``_to_job``."""
    data = {"$": "entity", **_entity_entry(entity, encode)}
    if hasattr(entity, "_to_job"):
        try:
            job = entity._to_job()
        except Exception as error:  # noqa: BLE001 - the learner's entity failed; the grader replays the failure
            data["job"] = {"error": describe_error(error)}
        else:
            data["job"] = _entity_entry(job, encode)
    return data


def _entity_entry(entity: Any, encode: Part) -> dict[str, Any]:
    entry: dict[str, Any] = {"class": type(entity).__name__}
    try:
        spec = to_spec(entity)
    except Exception as error:  # noqa: BLE001 - replayed as the error of _to_dict(), where checks meet it
        entry["error"] = describe_error(error)
        return entry
    entry["spec"] = encode(spec)
    entry["ports"] = encode(_text_ports(entity, spec))
    return entry


def _text_ports(entity: Any, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the ``_to_dict()`` of each input and output that the spec contains as text."""
    found: dict[str, dict[str, Any]] = {}
    for section in PORT_SECTIONS:
        written = spec.get(section)
        ports = getattr(entity, section, None) or {}
        if not isinstance(written, dict) or not hasattr(ports, "get"):
            continue
        for name, value in written.items():
            port = ports.get(name)
            if isinstance(value, str) and hasattr(port, "_to_dict"):
                try:
                    found.setdefault(section, {})[name] = plain_copy(port._to_dict())
                except Exception:  # noqa: BLE001 - load_spec keeps the text when the port cannot say more
                    continue
    return found


def encode_model(model: BaseModel, encode: Part) -> dict[str, Any]:
    cls = type(model)
    return {"$": "model", "module": cls.__module__, "qualname": cls.__qualname__, "dump": encode(model.model_dump())}


# --- Grader side ------------------------------------------------------------------------------------


def decode_entity(data: dict[str, Any], decode: Part) -> EntitySnapshot:
    """Rebuild an entity snapshot from :func:`encode_entity`'s data."""
    name, spec, error, ports = _entry_parts(data, decode)
    if "job" not in data:
        return named_class(EntitySnapshot, "autograder.grading.snapshots", name)(spec, error, ports)
    job_data = field(data, "job", dict)
    if "error" in job_data:
        job: EntitySnapshot | Exception = rebuild_error(check_error(job_data["error"]))
    else:
        job_name, job_spec, job_error, job_ports = _entry_parts(job_data, decode)
        job = named_class(EntitySnapshot, "autograder.grading.snapshots", job_name)(job_spec, job_error, job_ports)
    return named_class(NodeSnapshot, "autograder.grading.snapshots", name)(spec, error, ports, job)


def _entry_parts(entry: dict[str, Any], decode: Part) -> tuple[str, dict | None, dict | None, dict]:
    name = field(entry, "class", str)
    if not name.isidentifier():
        raise TamperedRecordingError(f"entity class {name!r} is not a Python class name")
    if "error" in entry:
        return name, None, check_error(entry["error"]), {}
    spec = decode(entry.get("spec"))
    ports = decode(entry.get("ports"))
    if not isinstance(spec, dict):
        raise TamperedRecordingError(f"the spec of a {name} must be a dict, got {type(spec).__name__}")
    if not isinstance(ports, dict) or not all(
        section in PORT_SECTIONS and isinstance(values, dict) and all(isinstance(v, dict) for v in values.values())
        for section, values in ports.items()
    ):
        raise TamperedRecordingError(f"the ports of a {name} must map inputs or outputs to dicts of port specs")
    return name, spec, None, ports


def decode_model(data: dict[str, Any], decode: Part) -> Any:
    """Rebuild a pydantic model: the course's own class validated again, any other class as a snapshot."""
    module, qualname = field(data, "module", str), field(data, "qualname", str)
    dump = decode(data.get("dump"))
    if not isinstance(dump, dict):
        raise TamperedRecordingError(f"the dump of pydantic model {qualname} must be a dict, got {type(dump).__name__}")
    cls = _course_model(module, qualname)
    if cls is not None:
        try:
            return cls.model_validate(dump)
        except ValidationError:
            pass
    return named_class(ModelSnapshot, module, qualname)(dump)


def _course_model(module: str, qualname: str) -> type[BaseModel] | None:
    # Only classes of modules already imported from this package: a recording never makes the grader import anything.
    if not module.startswith("autograder."):
        return None
    value: Any = sys.modules.get(module)
    for name in qualname.split("."):
        value = getattr(value, name, None)
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None
