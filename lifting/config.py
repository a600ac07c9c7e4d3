"""Training configuration: YAML -> typed dataclasses, with every default in this one file.

A YAML file has the sections of :class:`TrainConfig` (``name``, ``seed``, ``model``, ``data``,
``optim``, ``loss``); absent keys take the defaults below, unknown keys and values of the wrong type
raise :class:`spine3d.errors.InputError` naming the file and the key (``configs/lifting/*.yaml``
document each value).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml

from spine3d.detector_noise import DetectorNoise
from spine3d.errors import InputError
from spine3d.io import write_text_atomic
from spine3d.skeletons import get_skeleton

_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass
class ModelConfig:
    """Lifter architecture.

    Attributes:
        kind: "transformer" (:class:`lifting.model.SpineLifter`) or "mlp" (single-frame baseline).
        frames: F, the longest window the model accepts (size of the temporal position embedding).
        dim: token width (MLP: hidden width). depth: transformer layers (MLP: residual blocks).
        heads: attention heads (``dim % heads == 0``). mlp_ratio: hidden width of the MLP blocks / dim.
        dropout: dropout rate. dual_stream: DSTformer-style fused S->T and T->S streams, else S,T alternating.
        pose_embedding: transformer: every joint's token also gets a linear map of the whole frame's 2D
            pose (J x 5 -> J x dim), so each token starts from all keypoints, as the MLP's first layer
            does, instead of its own keypoint only.
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
class NoiseConfig(DetectorNoise):
    """Detector-noise model of the "detected" protocol (fields: :class:`spine3d.detector_noise.DetectorNoise`).

    Attributes:
        seed: base seed; each (subject, action, camera) draws from ``derive_seed(seed, subject, action,
            camera)``, so the noisy test set is fixed whatever the training seed.
    """

    seed: int = 0


@dataclass
class DataConfig:
    """Windows, input protocol and loading.

    Attributes:
        skeleton: "simspine15" (the released markers) or "simspine37" (merged with Human3.6M limbs).
        frames: F, window length. stride: frames between training window starts.
        protocol: "gt" (projected ground truth, confidence 1) or "detected".
        detections: detections for the "detected" protocol, an npz or a directory of per-camera OpenPose /
            SpinePose JSON folders (see :mod:`lifting.detections`); None: noise model.
        detections_skeleton: layout of the detections (e.g. "spinepose37", "coco17"); None: the npz's
            ``skeleton`` entry (else the data's), or inferred from the JSON keypoint count.
        flip_prob: probability of the horizontal-flip augmentation (training only).
        noise: detector-noise model used when ``protocol == "detected"`` and no ``detections``.
        batch_size: windows per batch (per process). num_workers: DataLoader worker processes.
    """

    skeleton: Literal["simspine15", "simspine37"] = "simspine15"
    frames: int = 243
    stride: int = 81
    protocol: Literal["gt", "detected"] = "gt"
    detections: str | None = None
    detections_skeleton: str | None = None
    flip_prob: float = 0.5
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    batch_size: int = 32
    num_workers: int = 0

    def __post_init__(self) -> None:
        for name in ("frames", "stride", "batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"data.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_workers < 0 or not 0 <= self.flip_prob <= 1:
            raise InputError(f"data.num_workers must be >= 0 and data.flip_prob in [0, 1], got {self.num_workers}, "
                             f"{self.flip_prob}")
        if self.detections is not None and self.protocol != "detected":
            raise InputError("data.detections is only read with data.protocol: detected")
        if self.detections_skeleton is not None:
            if self.detections is None:
                raise InputError("data.detections_skeleton is only read with data.detections")
            get_skeleton(self.detections_skeleton)  # InputError for an unknown layout name

    def for_protocol(self, protocol: Literal["gt", "detected"]) -> "DataConfig":
        """A copy under ``protocol``; the detections (and their layout) are kept for "detected" only."""
        detected = protocol == "detected"
        return replace(self, protocol=protocol, detections=self.detections if detected else None,
                       detections_skeleton=self.detections_skeleton if detected else None)


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
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str | Path | None = None) -> "TrainConfig":
        """Build from a nested dict; ``path`` names the source file in error messages."""
        try:
            return _build(cls, d, "config")
        except InputError as exc:
            raise InputError(str(exc), path) from None


def load_config(path: str | Path) -> TrainConfig:
    """Read a YAML config; ``name`` defaults to the file's stem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({' '.join(str(exc).split())})", path) from None
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of sections at the top level, got {type(data).__name__}", path)
    return TrainConfig.from_dict({"name": path.stem, **data}, path)


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    """Write ``cfg`` as YAML (atomically); :func:`load_config` reads it back equal."""
    write_text_atomic(path, yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, data: Any, where: str) -> Any:
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
    return cls(**{k: _convert(v, hints[k], f"{where}.{k}") for k, v in data.items()})


def _required(f: Any) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _convert(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert (int -> float, list -> tuple)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_dataclass(tp):
        return _build(tp, value, where)
    if origin is Literal:
        if value not in args:
            raise InputError(f"{where} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise InputError(f"{where} must be a list of {len(args)} values, got {value!r}")
        return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise InputError(f"{where} must be a mapping, got {value!r}")
        return {str(k): _convert(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)  # PyYAML reads 5e-4 (no dot) as a string
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (bool, str) and isinstance(value, tp):
        return value
    raise InputError(f"{where} must be {getattr(tp, '__name__', tp)}, got {value!r}")
