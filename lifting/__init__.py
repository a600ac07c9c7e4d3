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

from spine3d.lazy import lazy_exports

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
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
