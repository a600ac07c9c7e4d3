"""The body's coordinate ranges and the coordinates it couples, over the 62 SIMSPINE axes.

Both the synthetic generator and the OpenSim model spine3d writes (:mod:`spine3d.biomechanics`) read
them from here: ranges become the .osim coordinate ranges, couplings become coupler constraints.

Units as everywhere for the 62 axes: degrees, metres for pelvis_t* and Abs_t*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.formats.simspine_schema import KINEMATIC_AXES

# Ranges of motion (deg; Abs_t* m). A key matches the axis of that name, else any axis starting or
# ending with it ("hip_flexion" -> hip_flexion_r, "Flex_Ext" -> every lumbar level). The pelvis is free.
JOINT_LIMITS: dict[str, tuple[float, float]] = {
    "hip_flexion": (-30, 125), "hip_adduction": (-45, 30), "hip_rotation": (-40, 45), "knee_angle": (0, 140),
    "knee_angle_beta": (0, 140), "ankle_angle": (-45, 30), "subtalar_angle": (-20, 20), "mtp_angle": (-30, 70),
    "Flex_Ext": (-14, 8), "Lat_Bending": (-8, 8), "axial_rotation": (-5, 5),
    "Abs_r3": (-35, 20), "Abs_r2": (-20, 20), "Abs_r1": (-35, 35), "Abs_t1": (-0.01, 0.01), "Abs_t2": (-0.01, 0.01),
    "neck_flexion": (-60, 70), "neck_bending": (-40, 40), "neck_rotation": (-80, 80),
    "arm_flex": (-60, 180), "arm_add": (-150, 30), "arm_rot": (-90, 90), "elbow_flex": (0, 150),
    "pro_sup": (-90, 90), "wrist_flex": (-70, 70), "wrist_dev": (-25, 35),
}
TRANSLATIONS: tuple[str, ...] = ("pelvis_tx", "pelvis_ty", "pelvis_tz", "Abs_t1", "Abs_t2")  # metres; the rest deg
ABS_SHEAR = 1e-4  # m of anterior shear (Abs_t1) per degree of thoracic flexion (-Abs_r3)


@dataclass(frozen=True)
class Coupling:
    """One coordinate driven by another: ``dependent = linear * independent + quadratic * independent^2``.

    Attributes:
        dependent, independent: axis names.
        linear: gain in (unit of dependent) / (unit of independent), e.g. m/deg.
        quadratic: gain in (unit of dependent) / (unit of independent)^2.
    """

    dependent: str
    independent: str
    linear: float
    quadratic: float = 0.0


# What the body itself couples: the patella follows the knee; the thoracic joint shears as it flexes
# and keeps its length (Abs_t2 = 0; a quadratic shortening made OpenSim's assembly fail to converge).
# (The neck coordinates are shared between three joints by gains, see kinematics.NECK_SHARE.)
BODY_COUPLINGS: tuple[Coupling, ...] = (
    Coupling("knee_angle_r_beta", "knee_angle_r", 1.0),
    Coupling("knee_angle_l_beta", "knee_angle_l", 1.0),
    Coupling("Abs_t1", "Abs_r3", -ABS_SHEAR),
    Coupling("Abs_t2", "Abs_r3", 0.0),
)


def limits_for(axis: str) -> tuple[float, float] | None:
    """(lo, hi) range of a kinematic axis (None for the free pelvis coordinates)."""
    if axis.startswith("pelvis"):
        return None
    if axis in JOINT_LIMITS:
        return JOINT_LIMITS[axis]
    for key, value in JOINT_LIMITS.items():
        if axis.startswith(key) or axis.endswith(key):
            return value
    raise KeyError(f"no joint limit for {axis!r}")


def coordinate_ranges() -> np.ndarray:
    """(62, 2) [lo, hi] of every axis in KINEMATIC_AXES order (deg; m); +-inf for the pelvis."""
    return np.array([limits_for(a) or (-np.inf, np.inf) for a in KINEMATIC_AXES], dtype=np.float64)


def apply_couplings(q: np.ndarray, couplings: tuple[Coupling, ...] = BODY_COUPLINGS) -> np.ndarray:
    """Copy of (T, 62) coordinates with every dependent axis set from its independent one (in order)."""
    out = np.array(q, dtype=np.float64, copy=True)
    index = {name: i for i, name in enumerate(KINEMATIC_AXES)}
    for c in couplings:  # a handful of couplings, each vectorised over frames
        x = out[:, index[c.independent]]
        out[:, index[c.dependent]] = c.linear * x + c.quadratic * x * x
    return out
