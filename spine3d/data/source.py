"""Where the sequences come from: a SIMSPINE dataset, opened once.

A dataset is ``simspine.h5`` (15 released markers, or all 37), a folder holding it, or SIMSPINE's raw
release tree (cameras/, positions/, kinematics/; :mod:`spine3d.data.simspine_tree`). For the
37-keypoint skeleton from the 15-marker file, ``DIR/h36m/data_3d_h36m.npz`` (VideoPose3D layout)
supplies the limbs (:func:`spine3d.formats.merge.merged_sequences`); joints neither source has (eyes,
ears, toes, heels) are NaN. The released file, the raw tree, the merged 37-keypoint data and the
synthetic default dataset all read through this one class.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Literal

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.errors import InputError
from spine3d.formats.h36m_npz import read_h36m_positions
from spine3d.formats.merge import merged_sequences
from spine3d.data.simspine_tree import FOLDERS, SimSpineTree, is_release_tree
from spine3d.formats.simspine_h5 import SimSpineH5
from spine3d.skeletons import SIMSPINE_15, SIMSPINE_37, Skeleton, get_skeleton, remap

logger = logging.getLogger(__name__)

H5_NAME = "simspine.h5"
H36M_NAME = Path("h36m") / "data_3d_h36m.npz"
Split = Literal["train", "test"]


def open_dataset(data: str | Path) -> SimSpineH5 | SimSpineTree:
    """Open a SIMSPINE dataset: ``simspine.h5``, a folder holding it, or a raw release tree."""
    path = Path(data)
    if path.is_file():
        return SimSpineH5(path)
    if (path / H5_NAME).is_file():
        return SimSpineH5(path / H5_NAME)
    if is_release_tree(path):
        return SimSpineTree(path)
    if path.is_dir():
        raise InputError(f"no SIMSPINE dataset here: expected {H5_NAME}, or the release tree's folders "
                         f"{', '.join(FOLDERS)}", path)
    raise FileNotFoundError(2, "no such dataset file or folder", str(path))


class SequenceSource:
    """The sequences and camera rigs of a SIMSPINE dataset, in one skeleton.

    Attributes:
        skeleton: SIMSPINE_15 or SIMSPINE_37, the layout of every array returned.
        dataset: the opened dataset (:class:`SimSpineH5` or :class:`SimSpineTree`; picklable,
            DataLoader workers reopen the file lazily).
    """

    def __init__(self, data: str | Path, skeleton: str | Skeleton, h36m: str | Path | None = None) -> None:
        """``data``: ``simspine.h5``, a folder holding it, or a raw release tree (:func:`open_dataset`);
        ``h36m``: the Human3.6M ``data_3d_h36m.npz`` for the 37-keypoint skeleton (default: ``h36m/``
        beside the data)."""
        self.skeleton = get_skeleton(skeleton)
        if self.skeleton not in (SIMSPINE_15, SIMSPINE_37):
            raise InputError(f"the lifter trains on simspine15 or simspine37, not {self.skeleton.name}")
        self.dataset = open_dataset(data)
        beside = self.dataset.path.parent if self.dataset.path.is_file() else self.dataset.path
        self._merged: dict[tuple[str, str], np.ndarray] | None = None
        self._h36m_path = Path(h36m) if h36m else beside / H36M_NAME
        if self.skeleton is SIMSPINE_37 and self.dataset.skeleton is SIMSPINE_15:
            self._merged = _read_merged(self.dataset, self._h36m_path)
        self._rigs: dict[str, CameraRig] = {}

    def sequences(self, split: Split) -> list[tuple[str, str]]:
        """(subject, action) pairs of the split (for merged data: those with a Human3.6M counterpart)."""
        pairs = self.dataset.split(split)
        if self._merged is not None:
            pairs = [p for p in pairs if p in self._merged]
        return pairs

    def subjects(self, split: Split) -> list[str]:
        """Subjects of the split present in the data, in file order."""
        return list(dict.fromkeys(s for s, _ in self.sequences(split)))

    def cameras(self, subject: str) -> CameraRig:
        """The subject's calibrated rig (from the file's calibration block)."""
        if subject not in self._rigs:
            rig = self.dataset.calibration(subject)
            self._rigs[subject] = CameraRig.from_arrays(rig.names, rig.K, rig.dist, rig.R, rig.t, rig.size)
        return self._rigs[subject]

    def world(self, subject: str, action: str) -> np.ndarray:
        """(T, J, 3) m, world frame Z-up, in ``self.skeleton`` order (NaN for joints the data lacks)."""
        if self._merged is not None:
            if (subject, action) not in self._merged:
                raise InputError(f"{subject}/{action} has no merged 37-keypoint sequence", self.dataset.path)
            return self._merged[(subject, action)]
        markers = self.dataset.sequence(subject, action).markers
        return markers if self.dataset.skeleton is self.skeleton else remap(markers, self.dataset.skeleton, self.skeleton)

    def fingerprint(self) -> dict[str, str]:
        """What the data is: the file's path and a digest of its bytes (and of the Human3.6M file merged
        in), so a run can tell whether it is given the same data again."""
        root = self.dataset.path
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        files += [self._h36m_path] if self._merged is not None else []
        digest = hashlib.blake2b(digest_size=16)
        for path in files:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    digest.update(block)
        return {"path": str(Path(self.dataset.path).resolve()), "digest": digest.hexdigest()}

    def __repr__(self) -> str:
        return f"SequenceSource({str(self.dataset.path)!r}, skeleton={self.skeleton.name})"


def _read_merged(h5: SimSpineH5 | SimSpineTree, h36m_path: Path) -> dict[tuple[str, str], np.ndarray]:
    """Every trial of a 15-marker file completed with Human3.6M limbs: (subject, action) -> (T, 37, 3) m."""
    if not h36m_path.is_file():
        raise FileNotFoundError(f"{h36m_path}: no such file (the 37-keypoint skeleton needs Human3.6M's "
                                f"data_3d_h36m.npz beside {h5.path.name}, or a 37-marker {h5.path.name})")
    positions = read_h36m_positions(h36m_path)
    merged = {(seq.subject, seq.action): seq.markers for seq in merged_sequences(h5, positions)}
    logger.info("merged %d SIMSPINE trials with Human3.6M limbs from %s", len(merged), h36m_path)
    return merged
