"""Detections as a directory of per-item OpenPose / SpinePose JSON folders (see :mod:`spine3d.data.detections`).

Folders: ``DIR/<subject>/<action>/<camera>/*.json`` or ``DIR/<subject>/<action>.<camera>/*.json``,
one JSON file per frame (:func:`spine3d.formats.openpose_json.read_openpose_folder`: frame numbers
are the last integer of the file name). A folder's camera matches a calibration camera by the one
camera-identity rule (:mod:`spine3d.calibration.identity`): equal names up to case, and a Human3.6M
camera's id (``54138969``) and its place in the dataset's order (``cam_01``, ``cam1``, ``camera01``)
are one camera.

Per folder:

- layout: the one given, else the keypoint count among the detector layouts
  (:func:`spine3d.skeletons.keypoints_layout`: 37 keypoints are SpinePose's, 9 its spine-only
  output); remapped into the data skeleton by canonical name (lacking joints: NaN).
- people: per frame the person with the highest mean confidence (over all the layout's keypoints,
  0 for undetected ones); the count of frames with several people is logged per folder (INFO for the
  first such folder, DEBUG for the others).
- frames: row t of the item is the t-th frame counted from the lowest-numbered file. Frames without
  a file (gaps, or fewer files than the sequence's T) are missed points (NaN u, v, confidence 0),
  with one warning per folder; with more files than T the first T are used (with a warning).
- errors: InputError naming DIR and the expected folder when an item's folder is missing, naming the
  folder when it holds no JSON, and naming the file for unreadable or malformed JSON.

Folders are read lazily, only for the items asked for, and each item is read once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from spine3d.calibration.identity import aliases, camera_key
from spine3d.errors import InputError
from spine3d.formats.openpose_json import read_openpose_folder
from spine3d.skeletons import Skeleton, get_skeleton, keypoints_layout, remap

__all__ = ["JsonDetections", "best_person", "fit_frames"]
logger = logging.getLogger(__name__)


def best_person(people: np.ndarray) -> tuple[np.ndarray, int]:
    """The person with the highest mean confidence in each frame.

    Args:
        people: (T, P, J, 3) x px, y px, confidence (0 where undetected), as read by
            :func:`~spine3d.formats.openpose_json.read_openpose_folder`.

    Returns:
        (T, J, 3) the chosen person per frame (the first on ties), and the number of frames with
        more than one person (a person counts when at least one keypoint has confidence > 0).
    """
    conf = people[..., 2]                                   # (T, P, J)
    pick = conf.mean(axis=-1).argmax(axis=1)                # (T,)
    chosen = np.take_along_axis(people, pick[:, None, None, None], axis=1)[:, 0]
    present = (conf > 0).any(axis=-1).sum(axis=1)           # (T,) people per frame
    return chosen, int((present > 1).sum())


def fit_frames(det: np.ndarray, frames: int, folder: Path) -> np.ndarray:
    """(T', J, 3) -> (T, J, 3), T = ``frames``: the first T rows, or missed points appended (warned)."""
    n = len(det)
    if n > frames:
        logger.warning("%s: %d frames of JSON files for a %d-frame sequence; using the first %d", folder, n, frames,
                       frames)
        return det[:frames]
    if n < frames:
        logger.warning("%s: %d frames of JSON files for a %d-frame sequence; the last %d frames are missed points",
                       folder, n, frames, frames - n)
        pad = np.full((frames - n, *det.shape[1:]), np.nan)
        pad[..., 2] = 0.0
        return np.concatenate([det, pad])
    return det


class JsonDetections:
    """Lazy reader of a detections directory (module docstring); cached per item."""

    kind = "json"

    def __init__(self, root: str | Path, skeleton: Skeleton, layout: str | Skeleton | None = None) -> None:
        """``skeleton``: the data's layout; ``layout``: the JSON keypoints' (None: from their count)."""
        self.root = Path(root)
        self.skeleton = skeleton
        self.layout = None if layout is None else get_skeleton(layout)
        self._subject_dirs: dict[str, list[Path]] = {}
        self._items: dict[tuple[str, str, str, int], tuple[np.ndarray, np.ndarray]] = {}
        self._people_logged = False

    def get(self, subject: str, action: str, camera: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, J, 2) px and (T, J) confidence of one item, in ``self.skeleton`` order (read-only arrays)."""
        key = (subject, action, camera, int(frames))
        if key not in self._items:
            uv, conf = self._read(self.folder(subject, action, camera), int(frames))
            uv.setflags(write=False)
            conf.setflags(write=False)
            self._items[key] = uv, conf
        return self._items[key]

    def folder(self, subject: str, action: str, camera: str) -> Path:
        """The JSON folder of one item, in either layout; InputError when there is none or several."""
        want = camera_key(camera)
        found = [p for p in _subdirs(self.root / subject / action) if camera_key(p.name) == want]
        prefix = f"{action}."
        found += [p for p in self._subject_entries(subject)
                  if p.name.startswith(prefix) and camera_key(p.name[len(prefix):]) == want]
        if len(found) == 1:
            return found[0]
        item = f"{subject}/{action}/{camera}"
        if found:
            names = ", ".join(str(p.relative_to(self.root)) for p in found)
            raise InputError(f"several detections folders for {item}: {names}", self.root)
        names = " or ".join(repr(n) for n in (camera, *aliases(camera)))
        raise InputError(f"no detections folder for {item}: expected {subject}/{action}/{camera}/ or "
                         f"{subject}/{action}.{camera}/ of *.json files (camera named {names})", self.root)

    def _subject_entries(self, subject: str) -> list[Path]:
        if subject not in self._subject_dirs:
            self._subject_dirs[subject] = _subdirs(self.root / subject)
        return self._subject_dirs[subject]

    def _read(self, folder: Path, frames: int) -> tuple[np.ndarray, np.ndarray]:
        seq = read_openpose_folder(folder, None if self.layout is None else self.layout.num_joints, strict=True)
        try:
            layout = self.layout or keypoints_layout(seq.num_joints, source="json")
        except InputError as exc:
            raise InputError(f"{exc} (--detections-skeleton, data.detections_skeleton)", folder) from None
        det, several = best_person(seq.people)
        if several:  # INFO for the first such folder of this reader, DEBUG after
            level, self._people_logged = logging.DEBUG if self._people_logged else logging.INFO, True
            logger.log(level, "%s: %d of %d frames have several people; took the one with the highest mean "
                       "confidence%s", folder, several, seq.num_frames,
                       "" if level == logging.DEBUG else " (other folders: logged at debug level)")
        det = fit_frames(det, frames, folder)
        if layout is not self.skeleton:
            det = remap(det, layout, self.skeleton)
        return det[..., :2], det[..., 2]


def _subdirs(path: Path) -> list[Path]:
    """Sub-folders of ``path`` by name ([] when ``path`` is not a folder)."""
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
