"""Settings of the SIMSPINE data as a lifter sees it: skeleton, 2D input protocol, windows and loading.

:class:`DataConfig` is the ``data`` section of a lifter config (``configs/lifting/*.yaml``); the
multi-view benchmark reads its protocol and noise model too, which is why it lives in the data layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from spine3d.data.detector_noise import DetectorNoise
from spine3d.data.virtual_cameras import VirtualCameras
from spine3d.errors import InputError
from spine3d.skeletons import get_skeleton

Protocol = Literal["gt", "detected"]


@dataclass
class NoiseConfig(DetectorNoise):
    """Detector-noise model of the "detected" protocol (fields: :class:`spine3d.data.detector_noise.DetectorNoise`).

    Attributes:
        seed: base seed; each (subject, action, camera) draws from ``derive_seed(seed, subject, action,
            camera)``, so the noisy test set is fixed whatever the training seed.
    """

    seed: int = 0


@dataclass
class AugmentConfig:
    """Missing keypoints as real inputs lack them, drawn per training window (training only).

    A point made missing gets x = y = confidence = 0, exactly as a joint the input layout lacks or a
    keypoint the detector missed (:func:`spine3d.lifting.normalize.make_inputs`); the 3D target keeps
    every joint, so the lifter learns to infer what it does not see.

    Attributes:
        layout_prob: probability that a window keeps only the joints of one detector layout, drawn
            uniformly from ``layouts`` (e.g. BODY_25B: no vertebrae, no root, no clavicles).
        layouts: detector layouts to draw from (names of :func:`spine3d.skeletons.get_skeleton`).
        joint_dropout: probability that a joint is missing for a whole window.
        point_dropout: probability that a joint is missing in one frame.
        frame_dropout: probability that a whole frame is missing.
        confidence: [low, high]: the confidence of each point still seen is multiplied by U(low, high)
            (clipped to [0.05, 1]); [1, 1] leaves confidences alone.
    """

    layout_prob: float = 0.0
    layouts: tuple[str, ...] = ("body25b", "coco17", "halpe26", "spinepose9", "spinepose37")
    joint_dropout: float = 0.0
    point_dropout: float = 0.0
    frame_dropout: float = 0.0
    confidence: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        for name in ("layout_prob", "joint_dropout", "point_dropout", "frame_dropout"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"data.augment.{name} must be a probability in [0, 1], got {getattr(self, name)}")
        if not 0 < self.confidence[0] <= self.confidence[1]:
            raise InputError(f"data.augment.confidence must be [low, high] with 0 < low <= high, got {self.confidence}")
        if self.layout_prob > 0 and not self.layouts:
            raise InputError("data.augment.layouts is empty but layout_prob > 0")
        for name in self.layouts:
            get_skeleton(name)  # InputError for an unknown layout name


@dataclass
class DataConfig:
    """Windows, input protocol and loading.

    Attributes:
        skeleton: "simspine15" (the released markers) or "simspine37" (merged with Human3.6M limbs).
        frames: F, window length. stride: frames between training window starts.
        protocol: "gt" (projected ground truth, confidence 1) or "detected".
        detections: detections for the "detected" protocol, an npz or a directory of per-camera OpenPose /
            SpinePose JSON folders (see :mod:`spine3d.data.detections`); None: noise model.
        detections_skeleton: layout of the detections (e.g. "spinepose37", "coco17"); None: the npz's
            ``skeleton`` entry (else the data's), or inferred from the JSON keypoint count.
        flip_prob: probability of the horizontal-flip augmentation (training only).
        noise: detector-noise model used when ``protocol == "detected"`` and no ``detections``.
        augment: missing-keypoint augmentation of training windows (:class:`AugmentConfig`).
        virtual_cameras: random cameras added to each training sequence besides its rig
            (:class:`spine3d.data.virtual_cameras.VirtualCameras`); the test split keeps the rig only.
        synthetic: the built-in synthetic dataset used when no data is given: "h36m" (the 15
            Human3.6M actions) or "spine" (plus forward / lateral bending, trunk rotation, squats,
            lifting from the floor, one-leg stance and reaching).
        batch_size: windows per batch (per process). num_workers: DataLoader worker processes.
    """

    skeleton: Literal["simspine15", "simspine37"] = "simspine15"
    frames: int = 243
    stride: int = 81
    protocol: Protocol = "gt"
    detections: str | None = None
    detections_skeleton: str | None = None
    flip_prob: float = 0.5
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    virtual_cameras: VirtualCameras = field(default_factory=VirtualCameras)
    synthetic: Literal["h36m", "spine"] = "h36m"
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

    def for_protocol(self, protocol: Protocol) -> "DataConfig":
        """A copy under ``protocol``; the detections (and their layout) are kept for "detected" only."""
        detected = protocol == "detected"
        return replace(self, protocol=protocol, detections=self.detections if detected else None,
                       detections_skeleton=self.detections_skeleton if detected else None)
