"""Training windows and evaluation sequences for the 2D-to-3D lifter.

Every camera of every sequence of a split becomes one *item*: its inputs (T, J, 3) [x, y, conf]
(:func:`spine3d.lifting.normalize.make_inputs`: pixels normalised by the camera's own width) and targets
(T, J, 3) mm, camera frame, root (Hip) relative. Items are computed once, vectorised over the whole
sequence, into two contiguous float32 arrays held in memory; a window is a slice of them.

Input protocols (``DataConfig.protocol``):

- ``gt``: the 3D markers projected with the real camera model (distortion included), confidence 1.
- ``detected``: a detections file when ``DataConfig.detections`` is set, else the seeded
  detector-noise model (:mod:`spine3d.data.detector_noise`) with seed ``derive_seed(noise.seed, subject,
  action, camera)``, so the noisy 2D of each item is fixed and reproducible.

Detections (``DataConfig.detections``, read by :class:`spine3d.data.detections.DetectionsFile`): an npz
with one (T, J, 3) array [u px, v px, confidence] per item keyed ``"{subject}/{action}/{camera}"``
(camera name as in the calibration, e.g. ``"S9/Walking 1/54138969"``), or a directory of per-frame
OpenPose / SpinePose JSON folders, ``DIR/<subject>/<action>/<camera>/`` or
``DIR/<subject>/<action>.<camera>/`` (Human3.6M video stems). Keypoints in another layout (the npz's
``skeleton`` entry, the JSON keypoint count, or ``DataConfig.detections_skeleton``) are remapped by
canonical name; joints that layout lacks are missed points.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator, Literal

import numpy as np
import torch
from tqdm import tqdm

from spine3d.calibration import Camera
from spine3d.data.config import DataConfig
from spine3d.data.detections import DetectionsFile
from spine3d.data.protocol import camera_keypoints
from spine3d.data.detector_noise import derive_seed
from spine3d.data.source import SequenceSource
from spine3d.data.virtual_cameras import random_cameras
from spine3d.errors import InputError
from spine3d.lifting.augment import MissingPoints
from spine3d.lifting.normalize import flip_keypoints, make_inputs
from spine3d.skeletons import Skeleton

__all__ = ["LiftingWindows", "EvalSequence", "eval_sequences", "make_inputs", "window_starts", "camera_targets",
           "camera_inputs"]
logger = logging.getLogger(__name__)


@dataclass
class EvalSequence:
    """One sequence seen by one camera, for every-frame scoring.

    Attributes:
        inputs: (T, J, 3) float32 [x, y, conf], normalised screen coordinates.
        target: (T, J, 3) float32 mm, camera frame, root-relative (NaN for joints the data lacks).
        image_size: (2,) [width, height] px of the camera.
    """

    subject: str
    action: str
    camera: str
    inputs: np.ndarray
    target: np.ndarray
    image_size: np.ndarray


def window_starts(length: int, frames: int, stride: int) -> np.ndarray:
    """Start frames of windows of ``frames`` every ``stride`` frames, plus one ending at the last frame.

    A sequence no longer than ``frames`` gives one window at 0 (padded by the caller).
    """
    if length <= frames:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, length - frames + 1, stride, dtype=np.int64)
    return starts if starts[-1] == length - frames else np.append(starts, length - frames)


def camera_targets(world: np.ndarray, camera: Camera, root: int) -> np.ndarray:
    """(T, J, 3) m world -> (T, J, 3) float32 mm, camera frame, minus the root joint."""
    cam = camera.world_to_camera(np.asarray(world, dtype=np.float64))
    return ((cam - cam[..., root : root + 1, :]) * 1000.0).astype(np.float32)


def camera_inputs(world: np.ndarray, camera: Camera, skeleton: Skeleton, cfg: DataConfig, subject: str,
                  action: str, detections: DetectionsFile | None = None) -> np.ndarray:
    """(T, J, 3) m world -> (T, J, 3) float32 lifter inputs of one camera under ``cfg.protocol``."""
    uv, conf = camera_keypoints(world, camera, skeleton, cfg, subject, action, detections)
    return make_inputs(uv, None if cfg.protocol == "gt" and detections is None else conf, camera.size)


def _items(source: SequenceSource, split: Literal["train", "test"], cfg: DataConfig,
           desc: str) -> Iterator[tuple[int, int, str, str, Camera, np.ndarray, np.ndarray]]:
    """(sequence id, camera id, subject, action, camera, inputs, target) of every item of the split.

    Training items also see the sequence through ``cfg.virtual_cameras.count`` random cameras (ids after
    the rig's, drawn from ``derive_seed(noise.seed, subject, action, "virtual cameras")``)."""
    detections = DetectionsFile(cfg.detections, source.skeleton, cfg.detections_skeleton) if cfg.detections else None
    pairs = source.sequences(split)
    if not pairs:
        raise InputError(f"no {split} sequences (subjects {', '.join(source.dataset.subjects)})", source.dataset.path)
    for seq_id, (subject, action) in enumerate(tqdm(pairs, desc=desc, unit="seq", leave=False, disable=None)):
        world = source.world(subject, action)
        cameras = list(source.cameras(subject))
        if split == "train" and cfg.virtual_cameras.count:
            rng = np.random.default_rng(derive_seed(cfg.noise.seed, subject, action, "virtual cameras"))
            cameras += random_cameras(world, cfg.virtual_cameras, rng)
        for cam_id, camera in enumerate(cameras):
            inputs = camera_inputs(world, camera, source.skeleton, cfg, subject, action, detections)
            target = camera_targets(world, camera, source.skeleton.root)
            yield seq_id, cam_id, subject, action, camera, inputs, target


def eval_sequences(source: SequenceSource, split: Literal["train", "test"], cfg: DataConfig) -> Iterator[EvalSequence]:
    """Every (sequence, camera) of the split, whole, for every-frame scoring (computed lazily)."""
    for _, _, subject, action, camera, inputs, target in _items(source, split, cfg, f"{split} sequences"):
        yield EvalSequence(subject, action, camera.name, inputs, target, camera.size.copy())


class LiftingWindows(torch.utils.data.Dataset):
    """Windows of F frames over every camera of every sequence of a split.

    Window starts every ``cfg.stride`` frames plus one aligned to the sequence end, so every frame is
    covered; a sequence shorter than F gives one window padded by repeating its last frame, with
    ``valid`` False there. With ``train=True`` a window is mirrored (:func:`flip_keypoints`, inputs and
    targets) with probability ``cfg.flip_prob``, then loses points as ``cfg.augment`` says
    (:class:`spine3d.lifting.augment.MissingPoints`), all drawn from ``(seed, epoch, index)``: call
    :meth:`set_epoch` before each epoch (DataLoader workers see it when they are started per epoch,
    i.e. ``persistent_workers=False``).

    Items: ``inputs`` (F, J, 3) float32 [x, y, conf]; ``target`` (F, J, 3) float32 mm, camera frame,
    root-relative (NaN for joints the data lacks); ``valid`` (F,) bool; ``index`` (3,) long
    [sequence id in ``source.sequences(split)``, camera id in the subject's rig, start frame].
    """

    def __init__(self, source: SequenceSource, split: Literal["train", "test"], cfg: DataConfig, train: bool,
                 seed: int = 0) -> None:
        self.skeleton: Skeleton = source.skeleton
        self.num_joints = self.skeleton.num_joints
        self.frames, self.train, self.seed, self.epoch = cfg.frames, train, seed, 0
        self.flip_prob = cfg.flip_prob if train else 0.0
        self.missing = MissingPoints(cfg.augment, self.skeleton) if train else None
        inputs, targets, meta = [], [], []
        for seq_id, cam_id, *_, x, y in _items(source, split, cfg, f"{split} windows"):
            inputs.append(x)
            targets.append(y)
            meta.append((seq_id, cam_id, len(x)))
        if not inputs:
            raise InputError(f"no {split} sequences to make windows of", source.dataset.path)
        self._inputs = np.concatenate(inputs)    # (N, J, 3) all items' frames, back to back
        self._targets = np.concatenate(targets)  # (N, J, 3) mm
        self.target_joints = np.isfinite(self._targets).all(axis=-1).any(axis=0)  # (J,) joints with a 3D target
        if not self.target_joints.any():
            raise InputError(f"no finite 3D marker in the {split} split: nothing to train on (all NaN?)",
                             source.dataset.path)
        seq_cam = np.array([m[:2] for m in meta], dtype=np.int64)          # (I, 2)
        lengths = np.array([m[2] for m in meta], dtype=np.int64)           # (I,)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])           # (I,)
        starts = [window_starts(int(t), cfg.frames, cfg.stride) for t in lengths]
        item = np.repeat(np.arange(len(lengths)), [len(s) for s in starts])
        self._start = np.concatenate(starts)
        self._offset, self._length, self._seq_cam = offsets[item], lengths[item], seq_cam[item]
        logger.info("%s windows: %d items, %d frames, %d windows of %d frames", split, len(lengths),
                    len(self._inputs), len(self), cfg.frames)

    def __len__(self) -> int:
        return len(self._start)

    def set_epoch(self, epoch: int) -> None:
        """Select the flip draws of ``epoch`` (deterministic per (seed, epoch, index))."""
        self.epoch = int(epoch)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        start, offset, length = int(self._start[i]), int(self._offset[i]), int(self._length[i])
        n = min(self.frames, length - start)
        rows = offset + start + np.minimum(np.arange(self.frames), n - 1)  # edge-replicate padding
        x, y = self._inputs[rows], self._targets[rows]  # fancy indexing: copies
        rng = np.random.default_rng([self.seed, self.epoch, i])
        if self.flip_prob > 0 and rng.random() < self.flip_prob:
            x, y = flip_keypoints(x, self.skeleton), flip_keypoints(y, self.skeleton)
        if self.missing is not None and self.missing.active:
            x = self.missing(x, rng)
        return {"inputs": torch.from_numpy(x), "target": torch.from_numpy(y),
                "valid": torch.from_numpy(np.arange(self.frames) < n),
                "index": torch.tensor([*self._seq_cam[i], start], dtype=torch.long)}
