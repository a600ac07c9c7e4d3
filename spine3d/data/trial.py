"""2D detections of one multi-camera trial from disk: camera folders of OpenPose-style JSON, or one npz.

- **folders**: ``DIR/<camera>/`` of per-frame JSON files (OpenPose, SpinePose), one sub-folder per
  camera, paired with the calibration's cameras by the one camera-identity rule
  (:func:`spine3d.calibration.identity.pair_labels`: ``cam01_json`` <-> ``[cam_01]`` by name, else by
  the number in the names, else by sorted order; the rule used is reported). Frames are aligned on
  the numbers in the file names.
- **npz**: a keypoints npz (:mod:`spine3d.formats.keypoints_npz`) with ``keypoints`` (C, T, J, 2|3)
  in calibration order (+ ``confidence`` (C, T, J), ``skeleton``).

The layout comes from the one rule of every reader (:func:`spine3d.skeletons.keypoints_layout`);
confidences from the one default-confidence rule (:func:`~spine3d.formats.keypoints_npz.split_confidence`).
Every person of every frame is kept: choosing one person across the views is the triangulation's
job (:func:`spine3d.triangulation.detections.choose_person`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.calibration.identity import PairingRule, pair_labels
from spine3d.errors import InputError
from spine3d.formats.keypoints_npz import read_keypoints_npz, split_confidence
from spine3d.formats.openpose_json import read_openpose_folders
from spine3d.skeletons import Skeleton, keypoints_layout


@dataclass(frozen=True, eq=False)
class TrialDetections:
    """Everyone each camera detected, in the rig's camera order.

    Attributes:
        people: (C, T, P, J, 3) u px, v px, confidence; NaN u, v and confidence 0 where missing (P: the
            most people any camera saw in a frame).
        layout: the keypoints' layout.
        frame_numbers: (T,) int.
        sources: (C,) the folder (or npz camera index) read for each camera of the rig.
        pairing: (C,) lines "source -> camera", in rig order.
        pairing_rule: "name", "number", "sorted" (folders) or "npz order".
    """

    people: np.ndarray
    layout: Skeleton
    frame_numbers: np.ndarray
    sources: list[str]
    pairing: list[str]
    pairing_rule: PairingRule | str


def read_trial(path: str | os.PathLike, rig: CameraRig, layout: str | Skeleton | None = None) -> TrialDetections:
    """Read a trial's detections for ``rig`` (module docstring); ``layout``: the keypoints' layout, when
    the file does not identify it."""
    path = Path(path)
    if path.is_file():
        return _from_npz(path, rig, layout)
    folders = camera_folders(path)
    if len(folders) != len(rig):
        raise InputError(f"{len(folders)} camera folders ({', '.join(f.name for f in folders)}) but the "
                         f"calibration has {len(rig)} cameras ({', '.join(rig.names)})", path)
    order, rule = pair_labels([f.name for f in folders], rig.names, rig.keys)
    folders = [folders[i] for i in order]
    sequences = read_openpose_folders(folders)
    try:
        found = keypoints_layout(sequences[0].num_joints, layout, source="json")
    except InputError as exc:
        raise InputError(str(exc), path) from None
    people = _stack_people([s.people for s in sequences])
    return TrialDetections(people, found, sequences[0].frame_numbers, [str(f) for f in folders],
                           [f"{f.name} -> {cam}" for f, cam in zip(folders, rig.names)], rule)


def camera_folders(path: str | os.PathLike) -> list[Path]:
    """Sub-folders of ``path`` holding ``.json`` files, sorted by name."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "no such detections folder or file", str(path))
    folders = sorted(p for p in path.iterdir() if p.is_dir() and any(q.suffix.lower() == ".json" for q in p.iterdir()))
    if not folders:
        raise InputError("no camera folders with .json files inside (expected one folder per camera)", path)
    return folders


def _stack_people(arrays: list[np.ndarray]) -> np.ndarray:
    """Per-camera (T, P_c, J, 3) -> (C, T, P, J, 3) padded with missing people."""
    t, _, j, _ = arrays[0].shape
    out = np.full((len(arrays), t, max(a.shape[1] for a in arrays), j, 3), np.nan)
    out[..., 2] = 0.0
    for c, a in enumerate(arrays):
        out[c, :, : a.shape[1]] = a
    return out


def _from_npz(path: Path, rig: CameraRig, layout: str | Skeleton | None) -> TrialDetections:
    data = read_keypoints_npz(path)
    kp = data["keypoints"]
    if kp.ndim != 4 or kp.shape[0] != len(rig):
        raise InputError(f"'keypoints' must have shape (C={len(rig)}, T, J, 2|3) for a {len(rig)}-camera "
                         f"calibration, got {kp.shape}", path)
    try:
        found = keypoints_layout(kp.shape[2], layout, data.get("skeleton"))
    except InputError as exc:
        raise InputError(str(exc), path) from None
    uv, conf = split_confidence(kp, data.get("confidence"))
    people = np.concatenate([uv, conf[..., None]], axis=-1)[:, :, None]  # (C, T, 1, J, 3): one person
    pairing = [f"{path.name}[{c}] -> {cam}" for c, cam in enumerate(rig.names)]
    return TrialDetections(people, found, np.arange(kp.shape[1]), [f"{path}[{c}]" for c in range(len(rig))],
                           pairing, "npz order")
