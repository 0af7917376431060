"""Turn any form of a spec into a plain dict and a map from field paths to YAML lines.

A spec arrives as an azure-ai-ml entity or pipeline node, a dict, a YAML string, or a YAML
file (a ``Path``, or a one-line string that ends in ``.yml`` or ``.yaml``). Whatever the form,
the result is the dict that the Azure ML CLI v2 YAML would hold, with JSON-compatible
values, and for YAML the 1-based line of every key and list item.
"""

from __future__ import annotations

import contextlib
import copy

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from autograder.checks.specs.findings import PathParts
from autograder.errors import SpecInputError

# libyaml parses about ten times faster than the pure-Python parser; both build the same data.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Class name of an azure-ai-ml entity -> kind of spec. Pipeline nodes (Command, Sweep) are
# first turned into the standalone job that `az ml job create` takes.
ENTITY_KINDS = {
    "Data": "data",
    "Environment": "environment",
    "Model": "model",
    "CommandComponent": "command_component",
    "Command": "command_job",
    "CommandJob": "command_job",
    "Sweep": "sweep_job",
    "SweepJob": "sweep_job",
    "PipelineJob": "pipeline_job",
    "ManagedOnlineEndpoint": "managed_online_endpoint",
    "KubernetesOnlineEndpoint": "kubernetes_online_endpoint",
    "ManagedOnlineDeployment": "managed_online_deployment",
    "KubernetesOnlineDeployment": "kubernetes_online_deployment",
    "BatchEndpoint": "batch_endpoint",
    "ModelBatchDeployment": "model_batch_deployment",
    "PipelineComponentBatchDeployment": "pipeline_component_batch_deployment",
    "BatchDeployment": "batch_deployment",
    "JobSchedule": "job_schedule",
    "MonitorSchedule": "monitor_schedule",
    "Registry": "registry",
    "Workspace": "workspace",
}


@dataclass
class LoadedSpec:
    """A spec as a plain dict, with where it came from.

    ``lines`` maps path parts such as ``("jobs", "train", "inputs")`` to 1-based YAML lines
    and is empty for entities and dicts. ``file`` is the YAML file, if any. ``entity_kind``
    is the kind of an azure-ai-ml entity, None for other forms.
    """

    data: dict[str, Any]
    lines: dict[PathParts, int] = field(default_factory=dict)
    file: Path | None = None
    entity_kind: str | None = None
    source: str = "dict"


def load_spec(answer: Any) -> LoadedSpec:
    """Turn an entity, a dict, a YAML string or a YAML file into a :class:`LoadedSpec`.

    Raises :class:`~autograder.errors.SpecInputError` for a missing or unreadable file,
    YAML that does not parse or does not hold a mapping, and any other type of value.
    """
    if isinstance(answer, Path) or _looks_like_file_name(answer):
        return _load_file(Path(answer))
    if hasattr(answer, "_to_dict"):
        # Checked before dict, because azure-ai-ml pipeline nodes are dict subclasses.
        return _load_entity(answer)
    if isinstance(answer, dict):
        return LoadedSpec(plain_copy(answer), source="dict")
    if isinstance(answer, str):
        data, lines = parse_yaml(answer, "the YAML string")
        return LoadedSpec(data, lines, source="yaml")
    raise SpecInputError(
        f"cannot check a spec of type {type(answer).__name__}: pass an azure-ai-ml entity, a dict, "
        "a YAML string or the path of a YAML file"
    )


def parse_yaml(text: str, origin: str) -> tuple[dict[str, Any], dict[PathParts, int]]:
    """Parse YAML text into a dict and the line of every key and list item.

    ``origin`` names the text in error messages, such as a file path.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        raise SpecInputError(f"{origin} is not valid YAML: {_one_line(error)}") from error
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise SpecInputError(f"{origin} contains {found}; a spec is a YAML mapping of keys to values")
    lines: dict[PathParts, int] = {}
    _record_lines(node, (), lines)
    return data, lines


def plain_copy(value: Any) -> Any:
    """Copy nested dicts and lists, turning values JSON cannot hold (paths, dates) into strings."""
    if isinstance(value, dict):
        return {str(key): plain_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.loads(json.dumps(value, default=str))


def _looks_like_file_name(answer: Any) -> bool:
    return isinstance(answer, str) and "\n" not in answer and answer.strip().lower().endswith((".yml", ".yaml"))


# When set, spec files may be read only inside this folder (see confine_files).
_FILE_ROOT: ContextVar[Path | None] = ContextVar("spec_file_root", default=None)


@contextlib.contextmanager
def confine_files(folder: Path):
    """Read spec files only inside ``folder`` while the block runs.

    The grader scores a learner's recorded answer in its own process; a file name in that
    answer must not reach the grader's files, such as the course's rubrics.
    """
    token = _FILE_ROOT.set(Path(folder).resolve())
    try:
        yield
    finally:
        _FILE_ROOT.reset(token)


def _load_file(path: Path) -> LoadedSpec:
    root = _FILE_ROOT.get()
    if root is not None and not path.resolve().is_relative_to(root):
        raise SpecInputError(f"spec file {path} is outside the notebook's folder; save the spec next to the notebook")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise SpecInputError(f"spec file not found: {path}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise SpecInputError(f"cannot read spec file {path}: {error}") from error
    data, lines = parse_yaml(text, str(path))
    return LoadedSpec(data, lines, file=path, source="file")


def _load_entity(entity: Any) -> LoadedSpec:
    kind = ENTITY_KINDS.get(type(entity).__name__)
    if hasattr(entity, "_to_job") and type(entity).__name__ in ("Command", "Sweep"):
        # A node from command() or a pipeline step; `az ml job create` takes the standalone job.
        entity = entity._to_job()
    try:
        spec = serialise_entity(entity)
    except Exception as error:  # noqa: BLE001 - any failure of the learner's entity is reported, not raised
        raise SpecInputError(f"azure-ai-ml cannot turn the {type(entity).__name__} into a spec: {_one_line(error)}") from error
    data = _drop_none(plain_copy(spec))
    _restore_ports(entity, data)
    return LoadedSpec(_undo_reference_prefix(data), entity_kind=kind, source="entity")


def _restore_ports(entity: Any, data: dict[str, Any]) -> None:
    """Put back inputs and outputs that azure-ai-ml wrote as the text of their dict.

    A job's ``_to_dict()`` writes an Input it cannot serialise, such as one with a mode its
    schema rejects, as a string; that string would pass as a literal input value and hide
    the error. The port's own ``_to_dict()`` keeps the fields, so the schema reports them.
    """
    for section in ("inputs", "outputs"):
        ports = getattr(entity, section, None) or {}
        written = data.get(section)
        if not isinstance(written, dict):
            continue
        for name, value in written.items():
            port = ports.get(name) if hasattr(ports, "get") else None
            if isinstance(value, str) and hasattr(port, "_to_dict"):
                try:
                    written[name] = _drop_none(plain_copy(port._to_dict()))
                except Exception:  # noqa: BLE001 - keep what azure-ai-ml wrote when the port cannot say more
                    continue


def serialise_entity(entity: Any) -> Any:
    """Return ``entity._to_dict()`` without changing the learner's object.

    azure-ai-ml's ``_to_dict()`` rewrites some entities in place (an endpoint's user-assigned
    identities become dicts), so a second check of the same object would fail; serialising a
    deep copy avoids it. Pipeline nodes cannot be deep-copied, but serialising leaves them as
    they were.
    """
    try:
        target = copy.deepcopy(entity)
    except Exception:  # noqa: BLE001 - any object that refuses a deep copy is serialised as is
        target = entity
    return target._to_dict()


def _drop_none(value: Any) -> Any:
    # An entity writes unset fields as None, which the YAML schemas reject as "may not be null".
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_none(item) for item in value]
    return value


def _undo_reference_prefix(spec: dict[str, Any]) -> dict[str, Any]:
    # azure-ai-ml's _to_dict() writes a local code folder as "azureml:./src", which its own
    # schema then rejects; the YAML a learner writes contains "./src".
    code = spec.get("code")
    if isinstance(code, str) and code.startswith("azureml:") and not code.startswith(("azureml://", "azureml:/")):
        bare = code.removeprefix("azureml:")
        if bare.startswith((".", "/")) or ":" not in bare:
            spec["code"] = bare
    return spec


def _record_lines(node: yaml.Node, parts: PathParts, lines: dict[PathParts, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            child = (*parts, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*parts, index)
            lines[child] = item.start_mark.line + 1
            _record_lines(item, child, lines)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
