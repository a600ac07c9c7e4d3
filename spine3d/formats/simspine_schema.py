"""SIMSPINE data model shared by the HDF5 reader and writer: names, per-trial and per-rig arrays.

Facts from ``shared/data/simspine_schema.md``. Markers are stored in the OpenSim frame (Y-up); the
toolkit's world frame is Z-up: ``world = markers[..., [2, 0, 1]]``, ``markers = world[..., [1, 2, 0]]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from spine3d.errors import InputError
from spine3d.skeletons import SIMSPINE_15, SIMSPINE_37, Skeleton

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

CALIBRATION_KEYS = ("names", "K", "dist", "R", "t", "size")
SEQUENCE_KEYS = ("markers", "kinematics", "timestamps")


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
            check_shape(getattr(self, key), shape, f"{where}/{key}", path)
        check_shape(self.dist, (v, None), f"{where}/dist", path)
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


def check_shape(array, shape: tuple, what: str, path) -> None:
    """Raise unless ``array.shape`` matches ``shape`` (``None`` entries match any size)."""
    actual = tuple(array.shape)
    if len(actual) != len(shape) or any(e is not None and e != a for e, a in zip(shape, actual)):
        wanted = "(" + ", ".join("*" if e is None else str(e) for e in shape) + ")"
        raise InputError(f"{what} has shape {actual}, expected {wanted}", path)


def decode_names(values: np.ndarray) -> list[str]:
    """HDF5 string arrays (fixed-length bytes or variable-length str) -> list of str."""
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def skeleton_for_markers(names: Sequence[str], path=None) -> Skeleton:
    """SIMSPINE_15 or SIMSPINE_37, whichever has exactly this set of marker names."""
    for skel in (SIMSPINE_15, SIMSPINE_37):
        if sorted(names) == sorted(skel.names):
            return skel
    unknown = sorted(set(names) - set(SIMSPINE_37.names))
    detail = f"unknown markers {unknown}" if unknown else f"{len(names)} markers match neither layout"
    raise InputError(f"metadata/markers_names is not the SIMSPINE 15 or 37 marker set ({detail})", path)


def subject_sort_key(name: str) -> tuple:
    """Order of subject names: S1, S5, ..., S11 by number, then any other name alphabetically."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return (0, int(digits), name) if name.startswith("S") and digits else (1, 0, name)
