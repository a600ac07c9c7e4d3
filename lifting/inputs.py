"""Read 2D keypoints for ``spine3d lift``: an npz or a folder of OpenPose JSON, in any known layout.

The detector's layout is mapped onto the checkpoint's by canonical joint name
(:func:`spine3d.skeletons.remap`); joints the detector lacks (e.g. the vertebrae for BODY_25B) become
missing points, x = y = 0 with confidence 0, as are NaN keypoints. Inputs are then encoded exactly as
for training (:func:`spine3d.lifting.normalize.make_inputs`).

Layout of the input: ``--skeleton`` when given, else the npz's ``skeleton`` entry, else the
checkpoint's own when the keypoint count matches it, else the unique known layout with that count.
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
from spine3d.errors import InputError
from spine3d.formats.keypoints_npz import read_keypoints_npz
from spine3d.formats.openpose_json import read_openpose_folder
from spine3d.skeletons import Skeleton, get_skeleton, remap, skeleton_for_num_joints

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
    else:
        kp, file_size, file_skeleton, frames = _read_npz(path)
    size = np.asarray(image_size if image_size is not None else file_size if file_size is not None else [],
                      dtype=np.float64)
    if size.shape != (2,):
        raise InputError("the image size is unknown: pass --image-size WIDTH HEIGHT (px)", path)
    layout = _layout(kp.shape[1], target, skeleton or file_skeleton, path)
    if layout is not target:
        kp = remap(kp, layout, target)  # joints the layout lacks: NaN (missing)
    missing = [target.names[i] for i in np.flatnonzero(layout.mapping_to(target) < 0)]
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
    conf = data.get("confidence", kp[..., 2] if kp.shape[-1] == 3 else np.ones(kp.shape[:2]))
    size = data.get("image_size")
    return np.concatenate([kp[..., :2], conf[..., None]], axis=-1), size, data.get("skeleton"), np.arange(len(kp))


def _read_openpose(path: Path) -> tuple[np.ndarray, None, None, np.ndarray]:
    seq = read_openpose_folder(path)
    if seq.num_people > 1:
        logger.warning("%s: up to %d people per frame; lifting the first person of each frame (associate "
                       "people across frames first for multi-person videos)", path, seq.num_people)
    return seq.people[:, 0], None, None, seq.frame_numbers


def _layout(num_joints: int, target: Skeleton, name: str | None, path: Path) -> Skeleton:
    """The input's layout (see the module doc); InputError when the keypoint count fits no layout."""
    if name is not None:
        layout = get_skeleton(name)
        if layout.num_joints != num_joints:
            raise InputError(f"the keypoints have {num_joints} joints per frame but skeleton {layout.name} has "
                             f"{layout.num_joints}", path)
        return layout
    if num_joints == target.num_joints:
        return target
    try:
        return skeleton_for_num_joints(num_joints)
    except InputError:
        raise InputError(f"{num_joints} keypoints per frame, but the checkpoint expects {target.num_joints} "
                         f"({target.name}) and no single known layout has {num_joints}; pass --skeleton NAME to "
                         "remap another layout", path) from None
