"""Monocular 2D-to-3D lifting: a spatio-temporal transformer (and an MLP baseline) trained on SIMSPINE.

Units: inputs are 2D keypoints in normalised screen coordinates (x = u / w * 2 - 1,
y = v / w * 2 - h / w, plus a confidence); outputs are millimetres in the camera frame, root (Hip)
relative.

Modules (names below are importable from ``lifting`` directly, imported on first use):

- :mod:`.config`: YAML -> :class:`TrainConfig`; :mod:`.source`, :mod:`.data`: sequences and windows;
  :mod:`.normalize`: input encoding and flip; :mod:`.model`: the lifters
- :mod:`.losses`, :mod:`.schedule`, :mod:`.distributed`, :mod:`.runlog`, :mod:`.train`: training
- :mod:`.checkpoint`: save / load; :mod:`.infer`, :mod:`.inputs`: lifting sequences of any length;
  :mod:`.evaluate`: every-frame test scores; :mod:`.onnx_export`: ONNX export
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "config": ("TrainConfig", "load_config"),
    "model": ("build_model",),
    "losses": ("lifting_loss",),
    "train": ("Trainer",),
    "checkpoint": ("load_checkpoint", "save_checkpoint"),
    "infer": ("lift_sequence",),
    "inputs": ("load_lift_input",),
    "evaluate": ("evaluate_checkpoint", "evaluate_lifter"),
    "onnx_export": ("export_onnx",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
