"""Files of ``spine3d kinematics``: kinematics.mot, simspine.h5 (virtual markers), and its camera rig.

The virtual markers are the scaled body's SIMSPINE-37 sites at the solved coordinates, low-passed
like SIMSPINE's (2nd-order zero-phase Butterworth, 5 Hz). The HDF5 file needs a calibration per
subject: the input's cameras when given a calibration file, else a *virtual* rig of four
1000 x 1000 px cameras 4 m around the subject, 1.4 m up, so the file stays readable and trainable.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.formats.opensim import write_mot
from spine3d.formats.simspine_h5 import KINEMATIC_AXES, RigArrays, SimSpineSequence, write_simspine_h5
from spine3d.skeletons import SIMSPINE_37
from spine3d.triangulation.filtering import lowpass

FILTER_ORDER = 2
VIRTUAL_CAMERAS = {"distance": 4.0, "height": 1.4, "aim": 1.0, "focal": 1145.0, "size": 1000.0}  # m, m, m, px, px


def filtered(markers: np.ndarray, fps: float, cutoff: float) -> np.ndarray:
    """(T, M, 3) markers low-passed at ``cutoff`` Hz (unchanged when the rate cannot carry it)."""
    if not cutoff < fps / 2 or len(markers) <= 3 * (FILTER_ORDER + 1):
        return markers
    return lowpass(markers, fps, cutoff, FILTER_ORDER)


def write_kinematics_mot(path: str | os.PathLike, q: np.ndarray, fps: float) -> None:
    """(T, 62) coordinates in SIMSPINE's order, degrees (pelvis_t*, Abs_t* metres), as an OpenSim .mot."""
    write_mot(path, q, KINEMATIC_AXES, fps, title="Coordinates", in_degrees=True)


def virtual_rig(centre: np.ndarray) -> RigArrays:
    """Four cameras looking at ``centre`` (3,) m world Z-up from the diagonals (see module docstring)."""
    v = VIRTUAL_CAMERAS
    target = np.array([centre[0], centre[1], v["aim"]])
    angles = np.deg2rad([45.0, 135.0, 225.0, 315.0])
    positions = target + np.stack([v["distance"] * np.cos(angles), v["distance"] * np.sin(angles),
                                   np.full(4, v["height"] - v["aim"])], axis=1)
    forward = target - positions
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    R = np.stack([right, np.cross(forward, right), forward], axis=1)  # rows: x right, y down, z forward
    K = np.array([[v["focal"], 0.0, v["size"] / 2], [0.0, v["focal"], v["size"] / 2], [0.0, 0.0, 1.0]])
    return RigArrays([f"virtual_{i + 1}" for i in range(4)], np.repeat(K[None], 4, 0), np.zeros((4, 5)), R,
                     -np.einsum("cij,cj->ci", R, positions), np.full((4, 2), v["size"]))


def rig_arrays(calib: str | os.PathLike | None, markers: np.ndarray) -> tuple[RigArrays, str]:
    """The rig to store: from a calibration TOML, else virtual around the markers; and a label."""
    if calib is not None:
        return RigArrays(**CameraRig.from_toml(calib).to_arrays()), f"cameras of {Path(calib).name}"
    centre = np.nanmedian(markers.reshape(-1, 3), axis=0)
    return virtual_rig(np.nan_to_num(centre)), "virtual rig (no calibration given)"


def write_h5(path: str | os.PathLike, subject: str, action: str, markers: np.ndarray, q: np.ndarray,
             fps: float, rig: RigArrays) -> None:
    """simspine.h5 with one trial: markers (T, 37, 3) m world Z-up in SIMSPINE_37 order, q (T, 62)."""
    seq = SimSpineSequence(subject, action, markers.astype(np.float32), q.astype(np.float32), np.arange(len(q)) / fps)
    write_simspine_h5(path, [seq], {subject: rig}, SIMSPINE_37.names)
