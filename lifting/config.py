"""Training configuration: YAML -> typed dataclasses, with every default in this one file.

A YAML file has the sections of :class:`TrainConfig` (``name``, ``seed``, ``model``, ``data``,
``optim``, ``loss``); absent keys take the defaults below, unknown keys and values of the wrong type
raise :class:`spine3d.errors.InputError` naming the file and the key (``configs/lifting/*.yaml``
document each value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from spine3d.data.config import DataConfig, NoiseConfig
from spine3d.errors import InputError
from spine3d.typed_yaml import config_path, from_mapping, load_yaml, save_yaml, to_plain

__all__ = ["ModelConfig", "DataConfig", "NoiseConfig", "OptimConfig", "LossConfig", "TrainConfig", "load_config",
           "save_config"]


@dataclass
class ModelConfig:
    """Lifter architecture.

    Attributes:
        kind: "transformer" (:class:`spine3d.lifting.model.SpineLifter`) or "mlp" (single-frame baseline).
        frames: F, the longest window the model accepts (size of the temporal position embedding).
        dim: token width (MLP: hidden width). depth: transformer layers (MLP: residual blocks).
        heads: attention heads (``dim % heads == 0``). mlp_ratio: hidden width of the MLP blocks / dim.
        dropout: dropout rate. dual_stream: DSTformer-style fused S->T and T->S streams, else S,T alternating.
        pose_embedding: transformer: every joint's token also gets a linear map of the whole frame's 2D
            pose (J x 5 -> J x dim), so each token starts from all keypoints, as the MLP's first layer
            does, instead of its own keypoint only.
        input_norm: how the 2D inputs are expressed (:func:`spine3d.lifting.model.encode_inputs`):
            "screen": centred on each frame's keypoints, in units of the image width, with the centre
            kept (depends on the camera's image size and focal length); "pose": centred on each
            frame's keypoint box and divided by the window's mean box size, so neither the image's
            size or aspect ratio nor the camera's focal length or distance changes the input.
    """

    kind: Literal["transformer", "mlp"] = "transformer"
    frames: int = 243
    dim: int = 128
    depth: int = 4
    heads: int = 8
    mlp_ratio: float = 2.0
    dropout: float = 0.0
    dual_stream: bool = True
    pose_embedding: bool = False
    input_norm: Literal["screen", "pose"] = "screen"

    def __post_init__(self) -> None:
        for name in ("frames", "dim", "depth", "heads"):
            if getattr(self, name) < 1:
                raise InputError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if self.dim % self.heads:
            raise InputError(f"model.dim ({self.dim}) must be a multiple of model.heads ({self.heads})")
        if not 0 <= self.dropout < 1 or self.mlp_ratio <= 0:
            raise InputError(f"model.dropout must be in [0, 1) and model.mlp_ratio > 0, got {self.dropout}, "
                             f"{self.mlp_ratio}")


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine or exponential (per epoch, ``lr_decay``) decay."""

    epochs: int = 20
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_epochs: float = 1.0
    schedule: Literal["cosine", "exponential"] = "cosine"
    lr_decay: float = 0.99
    grad_clip: float = 1.0
    amp: bool = True  # mixed precision, only used on GPU


@dataclass
class LossConfig:
    """Weights of the loss terms (MPJPE, scale-normalised MPJPE, velocity error)."""

    mpjpe: float = 1.0
    n_mpjpe: float = 0.5
    velocity: float = 1.0


@dataclass
class TrainConfig:
    """A whole training run."""

    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model.kind == "transformer" and self.data.frames > self.model.frames:
            raise InputError(f"data.frames ({self.data.frames}) exceeds model.frames ({self.model.frames}), the "
                             "longest window the transformer accepts")

    def to_dict(self) -> dict:
        """Plain nested dict (lists, not tuples): YAML- and checkpoint-friendly; inverse of :meth:`from_dict`."""
        return to_plain(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str | Path | None = None) -> "TrainConfig":
        """Build from a nested dict; ``path`` names the source file in error messages."""
        try:
            return from_mapping(cls, d, "config")
        except InputError as exc:
            raise InputError(str(exc), path) from None


def load_config(path: str | Path) -> TrainConfig:
    """Read a YAML config (a path, or a shipped name such as ``"small"``); ``name`` defaults to the file's stem."""
    path = config_path(path, "lifting")
    return load_yaml(TrainConfig, path, "config", name=path.stem)


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    """Write ``cfg`` as YAML (atomically); :func:`load_config` reads it back equal."""
    save_yaml(cfg, path)
