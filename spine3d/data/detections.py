"""2D detections for the "detected" protocol, from disk: an npz file or a directory of JSON folders.

:class:`DetectionsFile` is the one entry point (the lifter's data and the multi-view benchmark use
it); it dispatches on the path. Both forms hold one *item* per (subject, action, camera), whose
T is the sequence's frame count, and give the same arrays: u, v px (top-left origin) and confidence
in the data skeleton's order; NaN u, v or a non-finite confidence mark a missed point.

- **npz file**: one array per item, key ``"{subject}/{action}/{camera}"`` (camera name as in the
  calibration, e.g. ``"S9/Walking 1/54138969"``), shape (T, J, 3). An optional ``skeleton`` entry
  (a layout name, e.g. ``"spinepose37"``) says the joints are in another layout than the data's.
- **directory** ``DIR``: one folder of per-frame OpenPose JSON files per item, as written by
  ``spinepose --save-path`` or OpenPose for one video, at ``DIR/<subject>/<action>/<camera>/`` or
  ``DIR/<subject>/<action>.<camera>/`` (Human3.6M video stems, e.g. ``S9/Walking 1.54138969/``);
  see :mod:`spine3d.data.detections_json` for camera names, frames and people.

A layout given explicitly (``layout``: ``data.detections_skeleton``, ``--detections-skeleton``)
overrides the npz's ``skeleton`` entry and the JSON keypoint count. Joints are remapped into the
data skeleton by canonical name (:func:`spine3d.skeletons.remap`); joints the layout lacks are
missed points (NaN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spine3d.data.detections_json import JsonDetections
from spine3d.errors import InputError
from spine3d.skeletons import Skeleton, get_skeleton, remap

__all__ = ["DetectionsFile", "NpzDetections", "JsonDetections"]


class NpzDetections:
    """Lazy reader of a detections npz (module docstring): opened once, arrays read on demand."""

    kind = "npz"

    def __init__(self, path: str | Path, skeleton: Skeleton, layout: str | Skeleton | None = None) -> None:
        self.path = Path(path)
        self.skeleton = skeleton
        self.npz = np.load(self.path, allow_pickle=False)
        if layout is not None:
            self.layout = get_skeleton(layout)
        else:
            self.layout = get_skeleton(str(self.npz["skeleton"])) if "skeleton" in self.npz.files else skeleton

    def get(self, subject: str, action: str, camera: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, J, 2) px and (T, J) confidence of one item, in ``self.skeleton`` order."""
        key = f"{subject}/{action}/{camera}"
        if key not in self.npz.files:
            raise InputError(f"no detections for {key!r} (keys look like 'subject/action/camera')", self.path)
        det = np.asarray(self.npz[key], dtype=np.float64)
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
