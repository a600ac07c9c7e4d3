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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Literal, Sequence

import h5py
import numpy as np

from spine3d.errors import InputError
from spine3d.io import atomic_path
from spine3d.skeletons import SIMSPINE_15, SIMSPINE_37, Skeleton

logger = logging.getLogger(__name__)

KINEMATIC_AXES: tuple[str, ...] = (
    "pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz",
    "hip_flexion_r", "hip_adduction_r", "hip_rotation_r", "knee_angle_r", "knee_angle_r_beta", "ankle_angle_r",
    "subtalar_angle_r", "mtp_angle_r", "hip_flexion_l", "hip_adduction_l", "hip_rotation_l", "knee_angle_l",
    "knee_angle_l_beta", "ankle_angle_l", "subtalar_angle_l", "mtp_angle_l",
    "L5_S1_Flex_Ext", "L5_S1_Lat_Bending", "L5_S1_axial_rotation", "L4_L5_Flex_Ext", "L4_L5_Lat_Bending",
    "L4_L5_axial_rotation", "L3_L4_Flex_Ext", "L3_L4_Lat_Bending", "L3_L4_axial_rotation", "L2_L3_Flex_Ext",
    "L2_L3_Lat_Bending", "L2_L3_axial_rotation", "L1_L2_Flex_Ext", "L1_L2_Lat_Bending", "L1_L2_axial_rotation",
    "L1_T12_Flex_Ext", "L1_T12_Lat_Bending", "L1_T12_axial_rotation", "Abs_r3", "Abs_r2", "Abs_r1", "Abs_t1",
    "Abs_t2", "neck_flexion", "neck_bending", "neck_rotation", "arm_flex_r", "arm_add_r", "arm_rot_r",
    "elbow_flex_r", "pro_sup_r", "wrist_flex_r", "wrist_dev_r", "arm_flex_l", "arm_add_l", "arm_rot_l",
    "elbow_flex_l", "pro_sup_l", "wrist_flex_l", "wrist_dev_l",
)
TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS: tuple[str, ...] = ("S9", "S11")
ACTIONS: tuple[str, ...] = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases", "Sitting",
    "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether",
)
SIMSPINE_FPS = 50.0  # Hz, the release's nominal rate (used only when a sequence has < 2 timestamps)

_CALIB_KEYS = ("names", "K", "dist", "R", "t", "size")
_SEQ_KEYS = ("markers", "kinematics", "timestamps")


@dataclass
class RigArrays:
    """Calibration of one subject's camera rig, in the file's convention.

    Attributes:
        names: (V,) camera names.
        K: (V, 3, 3) intrinsic matrices, px.
        dist: (V, D) distortion coefficients in OpenCV order (k1, k2, p1, p2[, k3...]).
        R: (V, 3, 3) world->camera rotations.
        t: (V, 3) world->camera translations, m: x_cam = R x_world + t.
        size: (V, 2) image [width, height], px.
    """

    names: list[str]
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    size: np.ndarray

    def validate(self, where: str = "calibration", path: str | os.PathLike | None = None) -> None:
        """Raise :class:`InputError` unless every array has the shape of ``len(names)`` views and is finite."""
        v = len(self.names)
        expected = {"K": (v, 3, 3), "R": (v, 3, 3), "t": (v, 3), "size": (v, 2)}
        for key, shape in expected.items():
            _check_shape(getattr(self, key), shape, f"{where}/{key}", path)
        _check_shape(self.dist, (v, None), f"{where}/dist", path)
        for key in ("K", "dist", "R", "t", "size"):
            if not np.isfinite(getattr(self, key)).all():
                raise InputError(f"{where}/{key} holds non-finite values", path)
        ortho = np.abs(self.R @ np.swapaxes(self.R, -1, -2) - np.eye(3)).max(initial=0.0)
        if ortho > 1e-3:  # loose enough for float32 files; catches Rodrigues vectors or transposed blocks
            raise InputError(f"{where}/R is not a stack of rotation matrices (|R R^T - I| = {ortho:.2g})", path)


@dataclass
class SimSpineSequence:
    """One trial of one subject.

    Attributes:
        subject: e.g. ``"S1"``.
        action: trial name as in the file, e.g. ``"Walking 1"``.
        markers: (T, K, 3) m, world frame Z-up.
        kinematics: (T, 62) OpenSim coordinates in KINEMATIC_AXES order (deg; pelvis_t* in m).
        timestamps: (T,) s.
    """

    subject: str
    action: str
    markers: np.ndarray
    kinematics: np.ndarray
    timestamps: np.ndarray

    @property
    def fps(self) -> float:
        """Frame rate (Hz) from the median timestamp step (SIMSPINE_FPS when T < 2)."""
        if len(self.timestamps) < 2:
            return SIMSPINE_FPS
        return float(1.0 / np.median(np.diff(self.timestamps)))


def world_to_file(points: np.ndarray) -> np.ndarray:
    """(..., 3) world Z-up -> (..., 3) OpenSim Y-up (the file's frame)."""
    return points[..., [1, 2, 0]]


def file_to_world(points: np.ndarray) -> np.ndarray:
    """(..., 3) OpenSim Y-up (the file's frame) -> (..., 3) world Z-up."""
    return points[..., [2, 0, 1]]


def _check_shape(array: np.ndarray | h5py.Dataset, shape: tuple, what: str, path) -> None:
    """Raise unless ``array.shape`` matches ``shape`` (``None`` entries match any size)."""
    actual = tuple(array.shape)
    if len(actual) != len(shape) or any(e is not None and e != a for e, a in zip(shape, actual)):
        wanted = "(" + ", ".join("*" if e is None else str(e) for e in shape) + ")"
        raise InputError(f"{what} has shape {actual}, expected {wanted}", path)


def _decode(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def skeleton_for_markers(names: Sequence[str], path=None) -> Skeleton:
    """SIMSPINE_15 or SIMSPINE_37, whichever has exactly this set of marker names."""
    for skel in (SIMSPINE_15, SIMSPINE_37):
        if sorted(names) == sorted(skel.names):
            return skel
    unknown = sorted(set(names) - set(SIMSPINE_37.names))
    detail = f"unknown markers {unknown}" if unknown else f"{len(names)} markers match neither layout"
    raise InputError(f"metadata/markers_names is not the SIMSPINE 15 or 37 marker set ({detail})", path)


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
        axes = _decode(f["metadata/kinematic_axes"][()])
        if tuple(axes) != KINEMATIC_AXES:
            raise InputError(f"metadata/kinematic_axes holds {len(axes)} names, expected the 62 SIMSPINE axes "
                             "in order", self.path)
        file_names = _decode(f["metadata/markers_names"][()])
        self.skeleton = skeleton_for_markers(file_names, self.path)
        self.marker_names = list(self.skeleton.names)
        self._order = np.array([file_names.index(n) for n in self.marker_names])
        if (self._order != np.arange(len(file_names))).any():
            logger.info("%s: markers stored in a non-standard order; reordered to %s", self.path, self.skeleton.name)
        self.subjects: list[str] = sorted((k for k in f if k != "metadata"), key=_subject_key)
        if not self.subjects:
            raise InputError("no subject groups", self.path)
        for subject in self.subjects:
            if not isinstance(f[subject], h5py.Group):
                raise InputError(f"top-level entry {subject!r} is not a subject group", self.path)
        self._calib = {s: self._read_calibration(f, s) for s in self.subjects}
        self._actions = {s: self._read_actions(f, s) for s in self.subjects}

    def _read_calibration(self, f: h5py.File, subject: str) -> RigArrays:
        where = f"{subject}/calibration"
        missing = [k for k in _CALIB_KEYS if f"{where}/{k}" not in f]
        if missing:
            raise InputError(f"{where} lacks {', '.join(missing)}", self.path)
        g = f[where]
        rig = RigArrays(names=_decode(g["names"][()]), **{k: np.asarray(g[k][()], np.float64) for k in _CALIB_KEYS[1:]})
        _check_shape(g["names"], (len(rig.names),), f"{where}/names", self.path)
        rig.validate(where, self.path)
        return rig

    def _read_actions(self, f: h5py.File, subject: str) -> list[str]:
        actions = sorted(k for k in f[subject] if k != "calibration")
        k = len(self.marker_names)
        for action in actions:
            where = f"{subject}/{action}"
            if not isinstance(f[where], h5py.Group):
                raise InputError(f"{where} is not a group of {', '.join(_SEQ_KEYS)}", self.path)
            missing = [key for key in _SEQ_KEYS if key not in f[where]]
            if missing:
                raise InputError(f"{where} lacks {', '.join(missing)}", self.path)
            t = f[where]["timestamps"].shape[0] if f[where]["timestamps"].ndim == 1 else None
            _check_shape(f[where]["timestamps"], (t,), f"{where}/timestamps", self.path)
            _check_shape(f[where]["markers"], (t, k, 3), f"{where}/markers", self.path)
            _check_shape(f[where]["kinematics"], (t, len(KINEMATIC_AXES)), f"{where}/kinematics", self.path)
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

    def sequence(self, subject: str, action: str) -> SimSpineSequence:
        """Read one trial; markers come back in world Z-up, in ``self.skeleton`` order."""
        if action not in self.actions(subject):
            raise InputError(f"subject {subject} has no action {action!r}", self.path)
        g = self._handle()[subject][action]
        markers = file_to_world(g["markers"][()][:, self._order])
        timestamps = np.asarray(g["timestamps"][()], np.float64)
        if len(timestamps) > 1 and not (np.diff(timestamps) > 0).all():
            raise InputError(f"{subject}/{action}/timestamps are not strictly increasing", self.path)
        return SimSpineSequence(subject, action, markers, g["kinematics"][()], timestamps)

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

    def __len__(self) -> int:
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


def _subject_key(name: str) -> tuple:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (0, int(digits), name) if name.startswith("S") and digits else (1, 0, name)


# ---- writer -----------------------------------------------------------------------------------
def _names_array(names: Sequence[str]) -> np.ndarray:
    return np.array([n.encode("utf-8") for n in names], dtype="S")


def write_simspine_h5(
    path: str | os.PathLike,
    sequences: Iterable[SimSpineSequence],
    calibrations: dict[str, RigArrays],
    marker_names: Sequence[str],
    kinematic_axes: Sequence[str] = KINEMATIC_AXES,
    compression: Literal["gzip", "lzf"] | None = "gzip",
    chunk_frames: int = 1024,
) -> None:
    """Write sequences to a ``simspine.h5`` file, one sequence in memory at a time.

    Args:
        path: output file; written to a temporary file and renamed on success.
        sequences: iterable (a generator is fine) of :class:`SimSpineSequence`, markers (T, K, 3) m
            in world Z-up (stored Y-up), kinematics (T, 62), timestamps (T,) s.
        calibrations: subject -> rig; every subject of ``sequences`` needs one.
        marker_names: (K,) names; must be the SIMSPINE 15 or 37 marker set.
        kinematic_axes: the 62 axis names (must equal KINEMATIC_AXES).
        compression: HDF5 filter for the per-frame datasets, or None.
        chunk_frames: frames per HDF5 chunk.
    """
    skeleton_for_markers(list(marker_names))
    if tuple(kinematic_axes) != KINEMATIC_AXES:
        raise InputError(f"kinematic_axes must be the 62 SIMSPINE axes in order, got {len(kinematic_axes)} names")
    for subject, rig in calibrations.items():
        rig.validate(f"calibrations[{subject!r}]")
    opts = {"compression": compression, "shuffle": compression is not None}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f["metadata/markers_names"] = _names_array(marker_names)
        f["metadata/kinematic_axes"] = _names_array(kinematic_axes)
        for subject, rig in calibrations.items():
            g = f.create_group(f"{subject}/calibration")
            g["names"] = _names_array(rig.names)
            for key in _CALIB_KEYS[1:]:
                g[key] = np.asarray(getattr(rig, key))
        count = 0
        for seq in sequences:
            _write_sequence(f, seq, len(marker_names), calibrations, opts, chunk_frames)
            count += 1
        logger.info("wrote %d sequences to %s", count, path)


def _write_sequence(f: h5py.File, seq: SimSpineSequence, k: int, calibrations: dict, opts: dict, chunk: int) -> None:
    where = f"{seq.subject}/{seq.action}"
    if "/" in seq.action or seq.action == "calibration" or not seq.action:
        raise InputError(f"invalid action name {seq.action!r} (no '/', not 'calibration', not empty)")
    if seq.subject not in calibrations:
        raise InputError(f"sequence {where}: subject {seq.subject} has no calibration")
    if where in f:
        raise InputError(f"sequence {where} given twice")
    t = len(seq.timestamps)
    if t == 0:
        raise InputError(f"sequence {where} has no frames")
    _check_shape(seq.timestamps, (t,), f"{where}/timestamps", None)
    _check_shape(seq.markers, (t, k, 3), f"{where}/markers", None)
    _check_shape(seq.kinematics, (t, len(KINEMATIC_AXES)), f"{where}/kinematics", None)
    g = f.create_group(where)
    g.create_dataset("markers", data=world_to_file(np.asarray(seq.markers)), chunks=(min(t, chunk), k, 3), **opts)
    g.create_dataset("kinematics", data=np.asarray(seq.kinematics), chunks=(min(t, chunk), len(KINEMATIC_AXES)),
                     **opts)
    g.create_dataset("timestamps", data=np.asarray(seq.timestamps, np.float64), chunks=(min(t, chunk),), **opts)
