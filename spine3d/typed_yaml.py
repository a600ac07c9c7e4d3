"""YAML -> typed dataclasses: the one loader behind every spine3d config.

A config is a dataclass whose field annotations say what each YAML value may be (``float``, ``int``,
``bool``, ``str``, ``Literal[...]``, ``X | None``, ``tuple[...]`` (``tuple[X, ...]``: any length), ``dict[str, X]`` or a nested
dataclass for a section). :func:`from_mapping` checks every value against its annotation and builds
the dataclass; an unknown key, a missing required key or a value of the wrong type raises
:class:`spine3d.errors.InputError` naming the key (``model.dim``) and, through :func:`load_yaml`,
the file. Defaults live in the dataclasses only; the shipped YAML files document each value.

Shipped configs (``configs/`` in the source tree) install as package data of ``spine3d.configs``:
:func:`config_path` resolves ``"lifting/small"`` or ``"small"`` as well as a path.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import MISSING, asdict, fields, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar

import yaml

from spine3d.errors import InputError
from spine3d.io import write_text_atomic

T = TypeVar("T")
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def from_mapping(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass ``cls`` from a nested mapping, checking each value against its annotation.

    Args:
        cls: a dataclass type.
        data: a mapping of field name -> value (nested mappings for dataclass fields).
        where: the dotted name of ``data`` in messages, e.g. ``"config"`` or ``"triangulation"``.
    """
    if not isinstance(data, Mapping):
        raise InputError(f"{where} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    unknown = [k for k in data if k not in known]
    if unknown:
        raise InputError(f"unknown key '{where}.{unknown[0]}' (known: {', '.join(known)})")
    missing = [f.name for f in fields(cls) if f.name not in data and _required(f)]
    if missing:
        raise InputError(f"missing key '{where}.{missing[0]}'")
    return cls(**{k: convert(v, hints[k], f"{where}.{k}") for k, v in data.items()})


def convert(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert it (int -> float, list -> tuple).

    Booleans are never numbers and numbers never booleans (``"false"`` is not False).
    """
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_dataclass(tp):
        return from_mapping(tp, value, where)
    if origin is Literal:
        if value not in args or isinstance(value, bool) != any(isinstance(a, bool) for a in args):
            raise InputError(f"{where} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return convert(value, next(a for a in args if a is not type(None)), where)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:  # tuple[X, ...]: any length
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where} must be a list, got {value!r}")
        return tuple(convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise InputError(f"{where} must be a list of {len(args)} values, got {value!r}")
        return tuple(convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise InputError(f"{where} must be a mapping, got {value!r}")
        return {str(k): convert(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)  # PyYAML reads 5e-4 (no dot) as a string
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (bool, str) and isinstance(value, tp):
        return value
    raise InputError(f"{where} must be {getattr(tp, '__name__', tp)}, got {value!r}")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file (an empty file is ``{}``); InputError naming the file otherwise."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML ({' '.join(str(exc).split())})", path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of sections at the top level, got {type(data).__name__}", path)
    return data


def load_yaml(cls: type[T], path: str | Path, where: str = "config", **extra: Any) -> T:
    """Read ``path`` into dataclass ``cls``; ``extra`` fills keys the file may omit (e.g. a name)."""
    data = {**extra, **read_yaml(path)}
    try:
        return from_mapping(cls, data, where)
    except InputError as exc:
        raise InputError(str(exc), path) from None


def to_plain(obj: Any) -> Any:
    """A dataclass (or nested dicts / tuples) as plain dicts and lists: YAML- and checkpoint-friendly."""
    value = asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def save_yaml(obj: Any, path: str | Path) -> None:
    """Write a dataclass as YAML (atomically); :func:`load_yaml` reads it back equal."""
    write_text_atomic(path, yaml.safe_dump(to_plain(obj), sort_keys=False))


def shipped_configs() -> Path:
    """The folder of the shipped configs (``configs/`` in the source tree, package data when installed)."""
    return Path(str(resources.files("spine3d.configs")))


def config_path(name: str | Path, folder: str = "") -> Path:
    """A config file by path, or by shipped name: ``"small"`` -> ``configs/<folder>/small.yaml``.

    Raises FileNotFoundError naming both places looked at when neither exists.
    """
    path = Path(name)
    if path.is_file():
        return path
    shipped = shipped_configs() / folder / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    available = sorted(p.stem for p in (shipped_configs() / folder).glob("*.yaml"))
    raise FileNotFoundError(f"{name}: no such config file, and no shipped config of that name "
                            f"(shipped: {', '.join(available)})")


def _required(f: Any) -> bool:
    return f.default is MISSING and f.default_factory is MISSING
