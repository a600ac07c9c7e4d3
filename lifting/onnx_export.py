"""Export a lifter to ONNX and check it against PyTorch with onnxruntime (optional extra ``onnx``).

The exported graph maps ``keypoints_2d`` (B, F, J, 3) float32 [x, y, conf] (normalised screen
coordinates, :func:`spine3d.lifting.normalize.make_inputs`) to ``points_3d`` (B, F, J, 3) float32 mm, camera
frame, root-relative (the predicted root is subtracted inside the graph), for one window of exactly
F frames; the batch axis is dynamic. Longer sequences need the windowing of :mod:`spine3d.lifting.infer`.
Uses the TorchScript-based exporter (``dynamo=False``), which needs no ``onnxscript``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch

from spine3d import __version__
from spine3d.errors import InputError
from spine3d.io import atomic_path
from spine3d.skeletons import Skeleton

INPUT_NAME, OUTPUT_NAME = "keypoints_2d", "points_3d"


class RootRelative(torch.nn.Module):
    """A lifter followed by subtraction of the predicted root joint: (B, F, J, 3) -> (B, F, J, 3) mm."""

    def __init__(self, model: torch.nn.Module, root: int) -> None:
        super().__init__()
        self.model, self.root = model, root

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pred = self.model(x)
        return pred - pred[:, :, self.root : self.root + 1, :]


def example_input(frames: int, num_joints: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    """(B, F, J, 3) plausible random inputs: x, y in [-1, 1], confidence in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, frames, num_joints, 3, generator=gen)
    x[..., :2] = x[..., :2] * 2 - 1
    return x


def export_onnx(model: torch.nn.Module, path: str | os.PathLike, frames: int, skeleton: Skeleton,
                opset: int = 17) -> None:
    """Write ``model`` (eval mode, CPU) as ONNX to ``path`` (atomically), with metadata on the encoding."""
    if frames < 1:
        raise InputError(f"--frames must be >= 1, got {frames}")
    wrapped = RootRelative(model.cpu().eval(), skeleton.root).eval()
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)  # the legacy exporter announces itself
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(wrapped, (example_input(frames, skeleton.num_joints),), str(tmp), dynamo=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=opset,
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
        _add_metadata(tmp, frames, skeleton)


def _add_metadata(path: os.PathLike, frames: int, skeleton: Skeleton) -> None:
    import onnx

    proto = onnx.load(str(path))
    meta = {"spine3d_version": __version__, "skeleton": skeleton.name, "joint_names": ",".join(skeleton.names),
            "frames": str(frames), "input": "(B, F, J, 3) x = u / w * 2 - 1, y = v / w * 2 - h / w, confidence",
            "output": "(B, F, J, 3) mm, camera frame, root-relative"}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def max_onnx_difference(path: str | os.PathLike, model: torch.nn.Module, frames: int, skeleton: Skeleton,
                        batch: int = 3, seed: int = 1) -> float:
    """Largest |onnxruntime - PyTorch| (mm) on random inputs of ``batch`` windows (a batch size not exported)."""
    import onnxruntime

    x = example_input(frames, skeleton.num_joints, batch, seed)
    with torch.inference_mode():
        expected = RootRelative(model.cpu().eval(), skeleton.root)(x).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
    return float(np.abs(got - expected).max())
