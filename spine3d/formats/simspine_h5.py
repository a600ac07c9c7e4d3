"""SIMSPINE HDF5 (``simspine.h5``): reader and streaming writer.

File layout (see ``shared/data/simspine_schema.md``)::

    metadata/markers_names   (K,) bytes      15 spine markers (released file) or the full 37
    metadata/kinematic_axes  (62,) bytes     KINEMATIC_AXES, in order
    <subject>/calibration/   names (V,), K (V,3,3), dist (V,D), R (V,3,3), t (V,3) m, size (V,2) [w, h]
    <subject>/<action>/      markers (T,K,3) m Y-up, kinematics (T,62), timestamps (T,) s (50 Hz)

Markers are stored in the OpenSim frame (Y-up); this module converts at the boundary so callers
only ever see the toolkit's world frame (Z-up): ``world = markers[..., [2, 0, 1]]``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator, Literal

import h5py
import numpy as np

from spine3d.errors import InputError
from spine3d.formats.simspine_h5_write import write_simspine_h5
from spine3d.formats.marker_units import check_metres
from spine3d.formats.simspine_schema import (subject_sort_key, 
    ACTIONS,
    CALIBRATION_KEYS,
    KINEMATIC_AXES,
    SEQUENCE_KEYS,
    SIMSPINE_FPS,
    TEST_SUBJECTS,
    TRAIN_SUBJECTS,
    RigArrays,
    SimSpineSequence,
    check_shape,
    decode_names,
    file_to_world,
    skeleton_for_markers,
    world_to_file,
)

__all__ = ["ACTIONS", "KINEMATIC_AXES", "SIMSPINE_FPS", "TEST_SUBJECTS", "TRAIN_SUBJECTS", "RigArrays", "SimSpineH5",
           "SimSpineSequence", "file_to_world", "skeleton_for_markers", "world_to_file", "write_simspine_h5"]

logger = logging.getLogger(__name__)


class SimSpineH5:
    """Read-only view of a ``simspine.h5`` file; the schema is validated once, data read lazily.

    Picklable (DataLoader workers): only the path and the validated layout travel; each process
    opens its own h5py handle on first data access.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such file")
        self._file: h5py.File | None = None
        self._pid: int | None = None
        try:
            with h5py.File(self.path, "r") as f:
                self._read_layout(f)
        except OSError as exc:
            raise InputError(f"not a readable HDF5 file ({exc})", self.path) from exc

    # ---- schema -------------------------------------------------------------------------------
    def _read_layout(self, f: h5py.File) -> None:
        for key in ("metadata/markers_names", "metadata/kinematic_axes"):
            if key not in f:
                raise InputError(f"missing dataset {key}", self.path)
        axes = decode_names(f["metadata/kinematic_axes"][()])
        if tuple(axes) != KINEMATIC_AXES:
            raise InputError(f"metadata/kinematic_axes holds {len(axes)} names, expected the 62 SIMSPINE axes "
                             "in order", self.path)
        file_names = decode_names(f["metadata/markers_names"][()])
        self.skeleton = skeleton_for_markers(file_names, self.path)
        self.marker_names = list(self.skeleton.names)
        self._order = np.array([file_names.index(n) for n in self.marker_names])
        if (self._order != np.arange(len(file_names))).any():
            logger.info("%s: markers stored in a non-standard order; reordered to %s", self.path, self.skeleton.name)
        self.subjects: list[str] = sorted((k for k in f if k != "metadata"), key=subject_sort_key)
        if not self.subjects:
            raise InputError("no subject groups", self.path)
        for subject in self.subjects:
            if not isinstance(f[subject], h5py.Group):
                raise InputError(f"top-level entry {subject!r} is not a subject group", self.path)
        self._lengths: dict[tuple[str, str], int] = {}
        self._calib = {s: self._read_calibration(f, s) for s in self.subjects}
        self._actions = {s: self._read_actions(f, s) for s in self.subjects}

    def _read_calibration(self, f: h5py.File, subject: str) -> RigArrays:
        where = f"{subject}/calibration"
        missing = [k for k in CALIBRATION_KEYS if f"{where}/{k}" not in f]
        if missing:
            raise InputError(f"{where} lacks {', '.join(missing)}", self.path)
        g = f[where]
        arrays = {k: np.asarray(g[k][()], np.float64) for k in CALIBRATION_KEYS[1:]}
        rig = RigArrays(names=decode_names(g["names"][()]), **arrays)
        check_shape(g["names"], (len(rig.names),), f"{where}/names", self.path)
        rig.validate(where, self.path)
        return rig

    def _read_actions(self, f: h5py.File, subject: str) -> list[str]:
        actions = sorted(k for k in f[subject] if k != "calibration")
        k = len(self.marker_names)
        for action in actions:
            where = f"{subject}/{action}"
            if not isinstance(f[where], h5py.Group):
                raise InputError(f"{where} is not a group of {', '.join(SEQUENCE_KEYS)}", self.path)
            missing = [key for key in SEQUENCE_KEYS if key not in f[where]]
            if missing:
                raise InputError(f"{where} lacks {', '.join(missing)}", self.path)
            t = f[where]["timestamps"].shape[0] if f[where]["timestamps"].ndim == 1 else None
            check_shape(f[where]["timestamps"], (t,), f"{where}/timestamps", self.path)
            check_shape(f[where]["markers"], (t, k, 3), f"{where}/markers", self.path)
            check_shape(f[where]["kinematics"], (t, len(KINEMATIC_AXES)), f"{where}/kinematics", self.path)
            self._lengths[subject, action] = t
        return actions

    # ---- access -------------------------------------------------------------------------------
    def _handle(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():  # a forked worker reopens its own handle
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def actions(self, subject: str) -> list[str]:
        """Trial names of ``subject`` as stored (e.g. ``"Walking 1"``), sorted."""
        if subject not in self._actions:
            raise InputError(f"no subject {subject!r}; the file holds {', '.join(self.subjects)}", self.path)
        return list(self._actions[subject])

    def calibration(self, subject: str) -> RigArrays:
        """The rig calibration of ``subject`` (a copy, in the file's world->camera convention)."""
        self.actions(subject)  # validates the name
        rig = self._calib[subject]
        return RigArrays(list(rig.names), rig.K.copy(), rig.dist.copy(), rig.R.copy(), rig.t.copy(), rig.size.copy())

    def sequence(self, subject: str, action: str, frames: slice | None = None) -> SimSpineSequence:
        """Read one trial (or the ``frames`` slice of it, read from disk alone).

        Markers come back in world Z-up, in ``self.skeleton`` order; infinite values and markers
        that are not body-sized in metres (stored in mm, say) raise InputError naming the dataset.
        """
        if action not in self.actions(subject):
            raise InputError(f"subject {subject} has no action {action!r}", self.path)
        g = self._handle()[subject][action]
        frames = slice(None) if frames is None else frames
        markers = file_to_world(g["markers"][frames][:, self._order])
        check_metres(markers, f"{subject}/{action}/markers", self.path)
        timestamps = np.asarray(g["timestamps"][frames], np.float64)
        if len(timestamps) > 1 and not (np.diff(timestamps) > 0).all():
            raise InputError(f"{subject}/{action}/timestamps are not strictly increasing", self.path)
        return SimSpineSequence(subject, action, markers, g["kinematics"][frames], timestamps)

    def split(self, name: Literal["train", "test"]) -> list[tuple[str, str]]:
        """(subject, action) pairs of the official split present in the file."""
        splits = {"train": TRAIN_SUBJECTS, "test": TEST_SUBJECTS}
        if name not in splits:
            raise InputError(f"unknown split {name!r}; expected 'train' or 'test'")
        return [(s, a) for s in self.subjects if s in splits[name] for a in self._actions[s]]

    def __iter__(self) -> Iterator[SimSpineSequence]:
        for subject in self.subjects:
            for action in self._actions[subject]:
                yield self.sequence(subject, action)

    def num_frames(self, subject: str, action: str) -> int:
        """Frame count of a trial, without reading it."""
        if action not in self.actions(subject):
            raise InputError(f"subject {subject} has no action {action!r}", self.path)
        return self._lengths[subject, action]

    def __len__(self) -> int:
        """Number of trials."""
        return sum(len(a) for a in self._actions.values())

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file, self._pid = None, None

    def __enter__(self) -> "SimSpineH5":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_file"], state["_pid"] = None, None
        return state

    def __repr__(self) -> str:
        return f"SimSpineH5({str(self.path)!r}, subjects={self.subjects}, sequences={len(self)})"
