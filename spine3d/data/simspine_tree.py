"""SIMSPINE's raw release tree, read like ``simspine.h5``.

The release (SIMSPINE's ``docs/dataset.md``) lays a dataset out as::

    ROOT/cameras/Calib_<S>.toml                      the subject's calibration (section keys cam_01, ...)
    ROOT/positions/<S>/<S>_<Action>.trc              markers (OpenSim TRC, Y-up; 37 SIMSPINE markers)
    ROOT/kinematics/<S>/<S>_<Action>/<S>_<Action>.mot the 62 coordinates (OpenSim storage, degrees)
    ROOT/models/<S>.osim                             the scaled model (not needed to read the data)

:class:`SimSpineTree` offers the reading interface of :class:`spine3d.formats.simspine_h5.SimSpineH5`
over it, with the release's own rules: a trial is one with both markers and kinematics (others
are skipped with a warning), marker and kinematics rows are cut to the shorter of the two, cameras
are named by their TOML section keys. SIMSPINE's pipeline writes ``Units mm`` over TRC values in
metres: the markers are read in the unit their values fit (:func:`spine3d.formats.opensim.read_trc`,
``units="auto"``, with a warning naming the file).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Literal

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.errors import InputError
from spine3d.formats.marker_units import check_metres
from spine3d.formats.opensim import read_mot, read_mot_header, read_trc
from spine3d.formats.simspine_schema import (KINEMATIC_AXES, TEST_SUBJECTS, TRAIN_SUBJECTS, RigArrays,
                                             SimSpineSequence, skeleton_for_markers, subject_sort_key)

logger = logging.getLogger(__name__)
FOLDERS = ("cameras", "positions", "kinematics")


def is_release_tree(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder laid out as the raw release (cameras/, positions/, kinematics/)."""
    path = Path(path)
    return path.is_dir() and all((path / folder).is_dir() for folder in FOLDERS)


class SimSpineTree:
    """A raw release tree (module docstring), with the reading interface of ``SimSpineH5``.

    Attributes:
        path: the tree's root.
        skeleton: SIMSPINE_15 or SIMSPINE_37, from the first trial's marker names.
        marker_names: the skeleton's names.
        subjects: subjects with a calibration and at least one complete trial, in subject order.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.path = Path(root)
        if not is_release_tree(self.path):
            raise InputError(f"not a SIMSPINE release tree (expected the folders {', '.join(FOLDERS)})", self.path)
        self._trials: dict[str, dict[str, tuple[Path, Path]]] = {}
        for subject_dir in sorted(p for p in (self.path / "positions").iterdir() if p.is_dir()):
            trials = self._subject_trials(subject_dir.name)
            if trials:
                self._trials[subject_dir.name] = trials
        self.subjects = sorted(self._trials, key=subject_sort_key)
        if not self.subjects:
            raise InputError("no subject with a calibration, markers and kinematics", self.path)
        first = next(iter(self._trials[self.subjects[0]].values()))[0]
        _, names, _ = read_trc(first, units="auto")
        self.skeleton = skeleton_for_markers(names, first)
        self.marker_names = list(self.skeleton.names)

    def _subject_trials(self, subject: str) -> dict[str, tuple[Path, Path]]:
        """action -> (TRC, MOT) of one subject's complete trials."""
        if not (self.path / "cameras" / f"Calib_{subject}.toml").is_file():
            logger.warning("%s: no cameras/Calib_%s.toml; subject %s skipped", self.path, subject, subject)
            return {}
        trials = {}
        for trc in sorted((self.path / "positions" / subject).glob(f"{subject}_*.trc")):
            action = trc.stem[len(subject) + 1:]
            mot = self.path / "kinematics" / subject / trc.stem / f"{trc.stem}.mot"
            if mot.is_file():
                trials[action] = (trc, mot)
            else:
                logger.warning("%s: no kinematics %s; trial skipped", trc, mot.relative_to(self.path))
        return trials

    def actions(self, subject: str) -> list[str]:
        """Trial names of ``subject`` (e.g. ``"Walking 1"``), sorted."""
        if subject not in self._trials:
            raise InputError(f"no subject {subject!r}; the tree holds {', '.join(self.subjects)}", self.path)
        return sorted(self._trials[subject])

    def calibration(self, subject: str) -> RigArrays:
        """The subject's rig, cameras named by their section keys (as the release's HDF5 writer does)."""
        self.actions(subject)
        rig = CameraRig.from_toml(self.path / "cameras" / f"Calib_{subject}.toml")
        arrays = rig.to_arrays()
        return RigArrays(list(rig.keys), arrays["K"], arrays["dist"], arrays["R"], arrays["t"], arrays["size"])

    def sequence(self, subject: str, action: str, frames: slice | None = None) -> SimSpineSequence:
        """One trial: markers (world Z-up, m, in ``self.skeleton`` order), kinematics and timestamps."""
        if action not in self.actions(subject):
            raise InputError(f"subject {subject} has no action {action!r}", self.path)
        markers, kinematics, times = _read_trial(*self._trials[subject][action], tuple(self.marker_names))
        sl = slice(None) if frames is None else frames
        return SimSpineSequence(subject, action, markers[sl].copy(), kinematics[sl].copy(), times[sl].copy())

    def split(self, name: Literal["train", "test"]) -> list[tuple[str, str]]:
        """(subject, action) pairs of the official split present in the tree."""
        splits = {"train": TRAIN_SUBJECTS, "test": TEST_SUBJECTS}
        if name not in splits:
            raise InputError(f"unknown split {name!r}; expected 'train' or 'test'")
        return [(s, a) for s in self.subjects if s in splits[name] for a in self.actions(s)]

    def num_frames(self, subject: str, action: str) -> int:
        """Frame count of a trial (reads it)."""
        return len(self.sequence(subject, action).timestamps)

    def __iter__(self) -> Iterator[SimSpineSequence]:
        for subject in self.subjects:
            for action in self.actions(subject):
                yield self.sequence(subject, action)

    def __len__(self) -> int:
        return sum(len(t) for t in self._trials.values())

    def close(self) -> None:
        """Nothing stays open (for the ``SimSpineH5`` interface)."""

    def __repr__(self) -> str:
        return f"SimSpineTree({str(self.path)!r}, subjects={self.subjects}, sequences={len(self)})"


@lru_cache(maxsize=4)
def _read_trial(trc: Path, mot: Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, K, 3) m world markers in ``names`` order, (T, 62) kinematics, (T,) s, cut to the shorter file."""
    points, file_names, _ = read_trc(trc, units="auto")
    missing = [n for n in names if n not in file_names]
    if missing:
        raise InputError(f"lacks the markers {', '.join(missing)}", trc)
    markers = points[:, [file_names.index(n) for n in names]]
    check_metres(markers, "the markers", trc)
    if read_mot_header(mot).get("inDegrees", "yes").lower() != "yes":
        raise InputError("the coordinates must be in degrees (inDegrees=yes), as SIMSPINE writes them", mot)
    times, values, columns = read_mot(mot)
    absent = [a for a in KINEMATIC_AXES if a not in columns]
    if absent:
        raise InputError(f"lacks the SIMSPINE coordinates {', '.join(absent[:3])}{' ...' if len(absent) > 3 else ''}",
                         mot)
    kinematics = values[:, [columns.index(a) for a in KINEMATIC_AXES]]
    n = min(len(markers), len(kinematics))
    return markers[:n], kinematics[:n], times[:n]
