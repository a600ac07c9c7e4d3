"""Where the lifter's sequences come from: a SIMSPINE dataset folder, opened once.

A dataset folder ``DIR`` holds ``DIR/simspine.h5`` (15 released markers, or all 37) and, for the
37-keypoint skeleton from the 15-marker file, ``DIR/h36m/data_3d_h36m.npz`` (VideoPose3D layout):
the limbs are then taken from Human3.6M (:func:`spine3d.formats.merge.merged_sequences`) and joints
neither source has (eyes, ears, toes, heels) are NaN. The released file, the merged 37-keypoint data
and the synthetic default dataset all read through this one class.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.errors import InputError
from spine3d.formats.h36m_npz import read_h36m_positions
from spine3d.formats.merge import merged_sequences
from spine3d.formats.simspine_h5 import SimSpineH5
from spine3d.skeletons import SIMSPINE_15, SIMSPINE_37, Skeleton, get_skeleton, remap

logger = logging.getLogger(__name__)

H5_NAME = "simspine.h5"
H36M_NAME = Path("h36m") / "data_3d_h36m.npz"
Split = Literal["train", "test"]


class SequenceSource:
    """The sequences and camera rigs of a SIMSPINE dataset, in one skeleton.

    Attributes:
        skeleton: SIMSPINE_15 or SIMSPINE_37, the layout of every array returned.
        h5: the opened file (picklable; DataLoader workers reopen it lazily).
    """

    def __init__(self, data: str | Path, skeleton: str | Skeleton, h36m: str | Path | None = None) -> None:
        """``data``: a dataset folder holding ``simspine.h5``, or the ``.h5`` file itself; ``h36m``: the
        Human3.6M ``data_3d_h36m.npz`` for the 37-keypoint skeleton (default: ``h36m/`` beside the file)."""
        path = Path(data)
        h5_path = path / H5_NAME if path.is_dir() else path
        if not h5_path.is_file():
            raise FileNotFoundError(f"{h5_path}: no such file (expected a dataset folder with {H5_NAME} or the file)")
        self.skeleton = get_skeleton(skeleton)
        if self.skeleton not in (SIMSPINE_15, SIMSPINE_37):
            raise InputError(f"the lifter trains on simspine15 or simspine37, not {self.skeleton.name}")
        self.h5 = SimSpineH5(h5_path)
        self._merged: dict[tuple[str, str], np.ndarray] | None = None
        if self.skeleton is SIMSPINE_37 and self.h5.skeleton is SIMSPINE_15:
            self._merged = _read_merged(self.h5, Path(h36m) if h36m else h5_path.parent / H36M_NAME)
        self._rigs: dict[str, CameraRig] = {}

    def sequences(self, split: Split) -> list[tuple[str, str]]:
        """(subject, action) pairs of the split (for merged data: those with a Human3.6M counterpart)."""
        pairs = self.h5.split(split)
        if self._merged is not None:
            pairs = [p for p in pairs if p in self._merged]
        return pairs

    def subjects(self, split: Split) -> list[str]:
        """Subjects of the split present in the data, in file order."""
        return list(dict.fromkeys(s for s, _ in self.sequences(split)))

    def cameras(self, subject: str) -> CameraRig:
        """The subject's calibrated rig (from the file's calibration block)."""
        if subject not in self._rigs:
            rig = self.h5.calibration(subject)
            self._rigs[subject] = CameraRig.from_arrays(rig.names, rig.K, rig.dist, rig.R, rig.t, rig.size)
        return self._rigs[subject]

    def world(self, subject: str, action: str) -> np.ndarray:
        """(T, J, 3) m, world frame Z-up, in ``self.skeleton`` order (NaN for joints the data lacks)."""
        if self._merged is not None:
            if (subject, action) not in self._merged:
                raise InputError(f"{subject}/{action} has no merged 37-keypoint sequence", self.h5.path)
            return self._merged[(subject, action)]
        markers = self.h5.sequence(subject, action).markers
        return markers if self.h5.skeleton is self.skeleton else remap(markers, self.h5.skeleton, self.skeleton)

    def __repr__(self) -> str:
        return f"SequenceSource({str(self.h5.path)!r}, skeleton={self.skeleton.name})"


def _read_merged(h5: SimSpineH5, h36m_path: Path) -> dict[tuple[str, str], np.ndarray]:
    """Every trial of a 15-marker file completed with Human3.6M limbs: (subject, action) -> (T, 37, 3) m."""
    if not h36m_path.is_file():
        raise FileNotFoundError(f"{h36m_path}: no such file (the 37-keypoint skeleton needs Human3.6M's "
                                f"data_3d_h36m.npz beside {h5.path.name}, or a 37-marker {h5.path.name})")
    positions = read_h36m_positions(h36m_path)
    merged = {(seq.subject, seq.action): seq.markers for seq in merged_sequences(h5, positions)}
    logger.info("merged %d SIMSPINE trials with Human3.6M limbs from %s", len(merged), h36m_path)
    return merged
