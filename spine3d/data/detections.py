"""2D detections for the "detected" protocol, from disk: an npz file or a directory of JSON folders.

:class:`DetectionsFile` is the one entry point (the lifter's data and the multi-view benchmark use
it); it dispatches on the path. Both forms hold one *item* per (subject, action, camera), whose
T is the sequence's frame count, and give the same arrays: u, v px (top-left origin) and confidence
in the data skeleton's order; NaN u, v or a non-finite confidence mark a missed point.

- **npz file**: one array per item, key ``"{subject}/{action}/{camera}"`` (the camera named as in the
  calibration or by any label of the same camera, :mod:`spine3d.calibration.identity`: e.g.
  ``"S9/Walking 1/54138969"`` or ``"S9/Walking 1/cam_01"``), shape (T, J, 3). A ``skeleton`` entry
  (a layout name, e.g. ``"spinepose37"``) names the joints' layout; without it the keypoint count must
  identify one layout (:func:`spine3d.skeletons.keypoints_layout`).
- **directory** ``DIR``: one folder of per-frame OpenPose JSON files per item, as written by
  ``spinepose --save-path`` or OpenPose for one video, at ``DIR/<subject>/<action>/<camera>/`` or
  ``DIR/<subject>/<action>.<camera>/`` (Human3.6M video stems, e.g. ``S9/Walking 1.54138969/``);
  see :mod:`spine3d.data.detections_json` for camera names, frames and people.

A layout given explicitly (``layout``: ``data.detections_skeleton``, ``--detections-skeleton``)
overrides the npz's ``skeleton`` entry and the JSON keypoint count (one rule for every reader:
:func:`spine3d.skeletons.keypoints_layout`). Joints are remapped into the
data skeleton by canonical name (:func:`spine3d.skeletons.remap`); joints the layout lacks are
missed points (NaN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spine3d.calibration.identity import aliases, camera_key
from spine3d.data.detections_json import JsonDetections
from spine3d.errors import InputError
from spine3d.formats.npz import npz_member, open_npz
from spine3d.skeletons import Skeleton, keypoints_layout, remap

__all__ = ["DetectionsFile", "NpzDetections", "JsonDetections"]


class NpzDetections:
    """Lazy reader of a detections npz (module docstring): opened once, arrays read on demand."""

    kind = "npz"

    def __init__(self, path: str | Path, skeleton: Skeleton, layout: str | Skeleton | None = None) -> None:
        self.path = Path(path)
        self.skeleton = skeleton
        self.npz = open_npz(self.path, "arrays keyed 'subject/action/camera'", allow_pickle=False)
        items = [k for k in self.npz.files if k.count("/") == 2]
        if not items:
            raise InputError("no detections keyed 'subject/action/camera' (e.g. 'S9/Walking 1/54138969')", self.path)
        stored = str(npz_member(self.npz, "skeleton", self.path)) if "skeleton" in self.npz.files else None
        joints = self.npz[items[0]].shape[-2] if self.npz[items[0]].ndim == 3 else -1
        try:
            self.layout = keypoints_layout(joints, layout, stored)
        except InputError as exc:
            raise InputError(f"{exc} (--detections-skeleton, data.detections_skeleton)", self.path) from None
        self._keys = {(*k.split("/")[:2], camera_key(k.split("/")[2])): k for k in items}

    def get(self, subject: str, action: str, camera: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, J, 2) px and (T, J) confidence of one item, in ``self.skeleton`` order."""
        key = self._keys.get((subject, action, camera_key(camera)))
        if key is None:
            names = " or ".join(repr(n) for n in (camera, *aliases(camera)))
            raise InputError(f"no detections for '{subject}/{action}/{camera}' (keys look like 'subject/action/camera', "
                             f"the camera named {names})", self.path)
        det = np.asarray(npz_member(self.npz, key, self.path), dtype=np.float64)
        if det.shape != (frames, self.layout.num_joints, 3):
            raise InputError(f"detections {key!r} have shape {det.shape}, expected ({frames}, "
                             f"{self.layout.num_joints}, 3) (frames, {self.layout.name} joints, u v conf)", self.path)
        if self.layout is not self.skeleton:
            det = remap(det, self.layout, self.skeleton)
        return det[..., :2], det[..., 2]


class DetectionsFile:
    """Detections on disk, either form of the module docstring: an ``.npz`` file or a directory.

    Attributes:
        path: the file or directory. reader: the :class:`NpzDetections` or :class:`JsonDetections` doing the work.
    """

    def __init__(self, path: str | Path, skeleton: Skeleton, layout: str | Skeleton | None = None) -> None:
        """``skeleton``: the data's layout (that of the arrays returned); ``layout``: the detections'
        layout when it must be given (default: the npz's ``skeleton`` entry / the JSON keypoint count)."""
        self.path = Path(path)
        if self.path.is_dir():
            self.reader: NpzDetections | JsonDetections = JsonDetections(self.path, skeleton, layout)
        elif self.path.is_file():
            self.reader = NpzDetections(self.path, skeleton, layout)
        else:
            raise FileNotFoundError(f"{self.path}: no such detections file or folder (an npz, or a folder of "
                                    "per-camera OpenPose JSON folders)")

    @property
    def kind(self) -> str:
        """``"npz"`` or ``"json"``."""
        return self.reader.kind

    def get(self, subject: str, action: str, camera: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, J, 2) px and (T, J) confidence of one item (T = ``frames``), in the data skeleton's order."""
        return self.reader.get(subject, action, camera, frames)
