"""Multi-camera 2D detections from disk: camera folders of OpenPose JSON or one keypoints npz.

Camera folders are matched to calibration sections by the number in their names (folder
``cam01_json`` <-> section ``cam_01``) when every folder and every camera carries a distinct
number and the numbers are the same on both sides; otherwise by sorted order. Frames with several
people go through :func:`spine3d.triangulation.people.select_person`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.errors import InputError
from spine3d.formats.keypoints_npz import read_keypoints_npz
from spine3d.formats.openpose_json import read_openpose_folders
from spine3d.skeletons import Skeleton
from spine3d.triangulation.config import PeopleOptions
from spine3d.triangulation.people import select_person

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, eq=False)
class Detections:
    """2D detections of one person, in the rig's camera order.

    Attributes:
        points2d: (C, T, J, 2) px (NaN = missing).
        confidence: (C, T, J) in [0, 1] (0 = missing).
        frame_numbers: (T,) int.
        sources: (C,) the folder (or npz camera index) read for each camera of the rig.
        pairing: (C,) lines "source -> camera", in rig order.
        pairing_rule: "number", "sorted" or "npz order".
        people: summary of the person selection (empty when every frame had one person).
        chosen: (C, T) int candidate taken per camera and frame (-1 = none), or None.
    """

    points2d: np.ndarray
    confidence: np.ndarray
    frame_numbers: np.ndarray
    sources: list[str]
    pairing: list[str]
    pairing_rule: str
    people: dict = field(default_factory=dict)
    chosen: np.ndarray | None = None


def camera_folders(path: str | os.PathLike) -> list[Path]:
    """Sub-folders of ``path`` holding ``.json`` files, sorted by name."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such folder")
    folders = sorted(p for p in path.iterdir() if p.is_dir() and any(q.suffix.lower() == ".json" for q in p.iterdir()))
    if not folders:
        raise InputError("no camera folders with .json files inside (expected one folder per camera)", path)
    return folders


def pair_cameras(labels: list[str], rig: CameraRig) -> tuple[list[int], str]:
    """Index into ``labels`` for each camera of the rig, and the rule used ("number" or "sorted").

    Raises InputError when the counts differ.
    """
    if len(labels) != len(rig):
        raise InputError(f"{len(labels)} camera folders ({', '.join(labels)}) but the calibration has "
                         f"{len(rig)} cameras ({', '.join(rig.names)})")
    folder_numbers, camera_numbers = _numbers(labels), _numbers(rig.names)
    if folder_numbers is not None and camera_numbers is not None and set(folder_numbers) == set(camera_numbers):
        return [folder_numbers.index(n) for n in camera_numbers], "number"
    by_name = sorted(range(len(labels)), key=lambda i: labels[i])
    cameras = sorted(range(len(rig)), key=lambda i: rig.names[i])
    order = [0] * len(rig)
    for label_index, camera_index in zip(by_name, cameras):
        order[camera_index] = label_index
    return order, "sorted"


def _numbers(names: list[str]) -> list[int] | None:
    """The single integer in each name (last one if several), or None when absent or not distinct."""
    found = [_NUMBER.findall(n) for n in names]
    if any(not f for f in found):
        return None
    numbers = [int(f[-1]) for f in found]
    return numbers if len(set(numbers)) == len(numbers) else None


def load_detections(path: str | os.PathLike, rig: CameraRig, skeleton: Skeleton,
                    people: PeopleOptions = PeopleOptions(), confidence_threshold: float = 0.3) -> Detections:
    """Read detections for ``rig`` from a folder of camera folders (OpenPose JSON) or an npz file.

    Args:
        path: folder with one sub-folder of per-frame JSON files per camera, or a keypoints npz
            with ``keypoints`` (C, T, J, 2|3) (see :mod:`spine3d.formats.keypoints_npz`).
        rig: the calibrated cameras.
        skeleton: layout of the keypoints (J must match).
        people: options of the person selection.
        confidence_threshold: confidence below which keypoints are ignored by the selection.
    """
    path = Path(path)
    if path.is_file():
        return _from_npz(path, rig, skeleton)
    folders = camera_folders(path)
    order, rule = pair_cameras([f.name for f in folders], rig)
    folders = [folders[i] for i in order]
    sequences = read_openpose_folders(folders, num_joints=skeleton.num_joints)
    stacked = _stack_people([s.people for s in sequences])  # (C, T, P, J, 3)
    selection = select_person(rig, stacked, people.threshold, people.min_keypoints, confidence_threshold)
    pairing = [f"{f.name} -> {cam}" for f, cam in zip(folders, rig.names)]
    summary = selection.summary() if selection.ambiguous.any() else {}
    return Detections(selection.points2d, selection.confidence, sequences[0].frame_numbers,
                      [str(f) for f in folders], pairing, rule, summary, selection.chosen)


def _stack_people(arrays: list[np.ndarray]) -> np.ndarray:
    """Per-camera (T, P_c, J, 3) -> (C, T, P, J, 3) padded with missing candidates."""
    t, _, j, _ = arrays[0].shape
    out = np.full((len(arrays), t, max(a.shape[1] for a in arrays), j, 3), np.nan)
    out[..., 2] = 0.0
    for c, a in enumerate(arrays):
        out[c, :, : a.shape[1]] = a
    return out


def _from_npz(path: Path, rig: CameraRig, skeleton: Skeleton) -> Detections:
    data = read_keypoints_npz(path)
    kp = data["keypoints"]
    if kp.ndim != 4 or kp.shape[0] != len(rig):
        raise InputError(f"'keypoints' must have shape (C={len(rig)}, T, J, 2|3) for a {len(rig)}-camera "
                         f"calibration, got {kp.shape}", path)
    if kp.shape[2] != skeleton.num_joints:
        raise InputError(f"'keypoints' has {kp.shape[2]} keypoints but skeleton {skeleton.name} has "
                         f"{skeleton.num_joints}", path)
    if "confidence" in data:
        conf = data["confidence"]
    elif kp.shape[-1] == 3:
        conf = kp[..., 2]
    else:
        conf = np.where(np.isfinite(kp).all(axis=-1), 1.0, 0.0)
    conf = np.where(np.isfinite(conf), conf, 0.0).astype(np.float64)
    points = kp[..., :2].astype(np.float64)
    pairing = [f"{path.name}[{c}] -> {cam}" for c, cam in enumerate(rig.names)]
    return Detections(points, conf, np.arange(kp.shape[1]), [f"{path}[{c}]" for c in range(len(rig))], pairing,
                      "npz order")
