"""Lifter checkpoints: one ``torch.save`` dict, written atomically, loaded with ``weights_only=True``.

Keys (``format`` = "spine3d-lifter", ``format_version`` = 1):

- ``model``: the model's state_dict; ``config``: :meth:`TrainConfig.to_dict`; ``model_kind``;
  ``skeleton`` (layout name) and ``joint_names`` (the J joints, in order); ``spine3d_version``.
- Training state (absent from exported inference-only files): ``optimizer``, ``scheduler``,
  ``scaler``, ``epoch`` (completed epochs), ``step`` (optimiser steps), ``best_metric`` /
  ``best_epoch`` / ``best_key``, ``rng`` (torch, numpy, python, CUDA and DataLoader-generator states,
  see :func:`spine3d.lifting.schedule.rng_state`), ``metrics`` (the last evaluation).

Only tensors, numbers, strings and plain containers are stored, so loading never unpickles code.

The default checkpoint (:data:`DEFAULT_CHECKPOINT`, ``lifting/weights/default.pt`` in the source tree)
ships inside the package: an inference-only export (:func:`export_checkpoint`) of a model trained
here on the built-in synthetic data (README, "Lifters", gives its recipe and scores).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from spine3d.lifting.config import TrainConfig
from spine3d.lifting.model import build_model
from spine3d import __version__
from spine3d.errors import InputError
from spine3d.io import atomic_path
from spine3d.skeletons import Skeleton, get_skeleton

FORMAT = "spine3d-lifter"
FORMAT_VERSION = 1
_REQUIRED = ("model", "config", "model_kind", "skeleton", "joint_names")
_EXPORTED = ("format", "format_version", "spine3d_version", "config", "model_kind", "skeleton", "joint_names", "model",
             "data", "epoch", "step", "best_key", "best_metric", "best_epoch", "metrics")  # what an export keeps
DEFAULT_CHECKPOINT = Path(str(resources.files("spine3d.lifting") / "weights" / "default.pt"))


def checkpoint_header(cfg: TrainConfig, skeleton: Skeleton) -> dict[str, Any]:
    """The descriptive keys every checkpoint carries (config, layout, versions)."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "spine3d_version": __version__,
            "config": cfg.to_dict(), "model_kind": cfg.model.kind, "skeleton": skeleton.name,
            "joint_names": list(skeleton.names)}


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write ``payload`` (header + ``model`` + optional training state) to ``path`` atomically."""
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {', '.join(missing)}")
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU and check its header (InputError when it is not one of ours)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such checkpoint file", str(path))
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types (pickle, zip, runtime) for foreign files
        raise InputError(f"not a readable spine3d checkpoint ({type(exc).__name__}: {_first_line(exc)})", path) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"not a spine3d lifter checkpoint (expected format {FORMAT!r})", path)
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(f"checkpoint format version {payload['format_version']} is newer than this spine3d "
                         f"supports ({FORMAT_VERSION})", path)
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise InputError(f"checkpoint lacks {', '.join(missing)}", path)
    return payload


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Write an inference-only copy of checkpoint ``src`` to ``dst``: header, weights, what it was trained
    on (``data``), its epoch and scores; no optimiser, scheduler or RNG state."""
    payload = read_checkpoint(src)
    save_checkpoint(dst, {k: v for k, v in payload.items() if k in _EXPORTED})


def config_of(payload: dict[str, Any], path: str | os.PathLike | None = None) -> tuple[TrainConfig, Skeleton]:
    """The training config and skeleton stored in a checkpoint, checked against each other."""
    try:
        cfg = TrainConfig.from_dict(payload["config"])
        skeleton = get_skeleton(payload["skeleton"])
    except (InputError, TypeError, KeyError) as exc:
        raise InputError(f"checkpoint holds an invalid config ({_first_line(exc)})", path) from exc
    if list(payload["joint_names"]) != list(skeleton.names):
        raise InputError(f"checkpoint joint names do not match skeleton {skeleton.name}", path)
    if payload["model_kind"] != cfg.model.kind:
        raise InputError(f"checkpoint model kind {payload['model_kind']!r} differs from its config's "
                         f"{cfg.model.kind!r}", path)
    return cfg, skeleton


def model_from_payload(payload: dict[str, Any], path: str | os.PathLike | None = None) -> torch.nn.Module:
    """Build the model the stored config describes and load the stored weights (strict)."""
    cfg, skeleton = config_of(payload, path)
    model = build_model(cfg.model, skeleton.num_joints)
    state = dict(payload["model"])
    state.setdefault("trained_joints", model.trained_joints)  # checkpoints before it was stored: every joint
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # missing / unexpected keys or size mismatches
        raise InputError(f"weights do not match the stored config (model {cfg.model.kind}, dim {cfg.model.dim}, "
                         f"depth {cfg.model.depth}, {skeleton.num_joints} joints): {_first_line(exc)}", path) from exc
    return model


def load_checkpoint(path: str | os.PathLike,
                    device: str | torch.device = "cpu") -> tuple[torch.nn.Module, TrainConfig, Skeleton]:
    """Model (eval mode, on ``device``), training config and skeleton of a checkpoint."""
    payload = read_checkpoint(path)
    cfg, skeleton = config_of(payload, path)
    model = model_from_payload(payload, path).to(device).eval()
    return model, cfg, skeleton


def _first_line(exc: BaseException) -> str:
    """The first meaningful line of an exception message (torch's are multi-line)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(exc).__name__
