"""Read 2D keypoints for ``spine3d lift``: an npz or a folder of OpenPose JSON, in any known layout.

The detector's layout is mapped onto the checkpoint's by canonical joint name
(:func:`spine3d.skeletons.remap`); joints the detector lacks (e.g. the vertebrae for BODY_25B) become
missing points, x = y = 0 with confidence 0, as are NaN keypoints. Inputs are then encoded exactly as
for training (:func:`spine3d.lifting.normalize.make_inputs`).

Layout of the input: the one rule of every reader (:func:`spine3d.skeletons.keypoints_layout`):
``--skeleton`` when given, else the npz's ``skeleton`` entry, else the keypoint count where it
identifies one layout (OpenPose-style JSON: the detector layouts, so 37 keypoints are SpinePose's);
never the checkpoint's layout because the count happens to match. Frames with several people lift
the most confident person (:func:`spine3d.data.detections_json.best_person`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from spine3d.lifting.infer import prepare_inputs
from spine3d.lifting.normalize import make_inputs
from spine3d.data.detections_json import best_person
from spine3d.errors import InputError
from spine3d.formats.keypoints_npz import read_keypoints_npz, split_confidence
from spine3d.formats.openpose_json import read_openpose_folder
from spine3d.skeletons import Skeleton, keypoints_layout, remap

logger = logging.getLogger(__name__)


@dataclass
class LiftInput:
    """Model-ready inputs of one sequence.

    Attributes:
        inputs: (T, J, 3) float32 [x, y, conf] in the checkpoint's layout, no NaN.
        layout: the layout the keypoints were read in.
        image_size: (2,) [width, height] px.
        frame_numbers: (T,) frame number of each row (0..T-1 for npz input).
        missing: names of the checkpoint's joints the input layout lacks.
    """

    inputs: np.ndarray
    layout: Skeleton
    image_size: np.ndarray
    frame_numbers: np.ndarray
    missing: list[str]


def load_lift_input(path: str | os.PathLike, target: Skeleton, skeleton: str | None = None,
                    image_size: Sequence[float] | None = None) -> LiftInput:
    """Read keypoints from an npz file or an OpenPose JSON folder and encode them for a ``target`` model.

    Args:
        path: ``.npz`` with ``keypoints`` (T, J, 2|3) px (+ ``confidence``, ``image_size``, ``skeleton``),
            or a folder of per-frame OpenPose JSON files (the first person of each frame is used).
        target: the checkpoint's layout.
        skeleton: layout name of the input keypoints (overrides the file's).
        image_size: [width, height] px (overrides the file's; required for OpenPose JSON).
    """
    path = Path(path)
    if path.is_dir():
        kp, file_size, file_skeleton, frames = _read_openpose(path)
    elif path.exists():
        kp, file_size, file_skeleton, frames = _read_npz(path)
    else:
        raise FileNotFoundError(2, "no such keypoints file or folder", str(path))
    size = np.asarray(image_size if image_size is not None else file_size if file_size is not None else [],
                      dtype=np.float64)
    if size.shape != (2,):
        raise InputError("the image size is unknown: pass --image-size WIDTH HEIGHT (px)", path)
    try:
        layout = keypoints_layout(kp.shape[1], skeleton, file_skeleton, "json" if path.is_dir() else "arrays")
    except InputError as exc:
        raise InputError(str(exc), path) from None
    if layout is not target:
        kp = remap(kp, layout, target)  # joints the layout lacks: NaN (missing)
    missing = [target.names[i] for i in np.flatnonzero(~layout.provides(target))]
    if missing:
        logger.warning("%s: the %s layout lacks %d of the model's %d joints (%s): lifted as missing points",
                       path, layout.name, len(missing), target.num_joints, ", ".join(missing))
    inputs = prepare_inputs(make_inputs(kp[..., :2], kp[..., 2], size), target.num_joints, str(path))
    if not inputs[..., 2].any():
        raise InputError("no keypoint has a positive confidence; nothing to lift", path)
    return LiftInput(inputs, layout, size, frames, missing)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None, str | None, np.ndarray]:
    """(T, J, 3) px + conf, image size or None, skeleton name or None, frame numbers."""
    data = read_keypoints_npz(path)
    kp = data["keypoints"]
    if kp.ndim != 3:
        raise InputError(f"'keypoints' has shape {kp.shape}; spine3d lift takes one camera, (T, J, 2|3)", path)
    uv, conf = split_confidence(kp, data.get("confidence"))
    size = data.get("image_size")
    return np.concatenate([uv, conf[..., None]], axis=-1), size, data.get("skeleton"), np.arange(len(kp))


def _read_openpose(path: Path) -> tuple[np.ndarray, None, None, np.ndarray]:
    seq = read_openpose_folder(path)
    people, several = best_person(seq.people)
    if several:
        logger.warning("%s: several people in %d frames; lifting the most confident person of each frame "
                       "(associate people across frames first for multi-person videos)", path, several)
    return people, None, None, seq.frame_numbers
