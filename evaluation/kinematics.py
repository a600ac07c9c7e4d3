"""Joint-angle metrics: RMS and mean absolute error per coordinate, in degrees, grouped by body region.

Pure array functions over SIMSPINE-style kinematics ``(T, K)`` with one column per named coordinate
(degrees; translations in metres). Angle differences are wrapped to [-180, 180) so that a pelvis
rotation of 179 vs -179 deg counts as 2 deg. Translations (``pelvis_t*``, ``Abs_t*``) are not angles
and stay out of the groups; :func:`coordinate_errors` still reports them, in millimetres.
NaN-aware: a frame where either side is NaN is left out of that coordinate's means (a coordinate
the prediction does not provide can be passed as NaN and comes out as None).

Groups (by coordinate name): ``lumbar`` (the 18 L5_S1 .. L1_T12 axes), ``thoracic_neck`` (Abs_r*
and neck_*), ``pelvis`` (tilt, list, rotation), ``limbs`` (hips, knees, ankles, feet, arms, hands).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from spine3d.errors import InputError

GROUPS: tuple[str, ...] = ("lumbar", "thoracic_neck", "pelvis", "limbs")
TRANSLATIONS = ("pelvis_tx", "pelvis_ty", "pelvis_tz", "Abs_t1", "Abs_t2")
_LUMBAR_PREFIX = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")


def coordinate_group(name: str) -> str | None:
    """The group of a coordinate name (None for translations)."""
    if name in TRANSLATIONS:
        return None
    if name.startswith(_LUMBAR_PREFIX):
        return "lumbar"
    if name.startswith(("Abs_", "neck_")):
        return "thoracic_neck"
    if name.startswith("pelvis_"):
        return "pelvis"
    return "limbs"


def angle_differences(pred: np.ndarray, gt: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(T, K) pred - gt: degrees wrapped to [-180, 180) for angles, millimetres for translations."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 2 or pred.shape[1] != len(names):
        raise InputError(f"kinematics: pred and gt must both be (T, {len(names)}), got {pred.shape} and {gt.shape}")
    diff = pred - gt
    translation = np.array([n in TRANSLATIONS for n in names])
    wrapped = (diff + 180.0) % 360.0 - 180.0
    return np.where(translation, 1000.0 * diff, wrapped)


def coordinate_errors(pred: np.ndarray, gt: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Per coordinate: RMS and MAE over frames (deg; mm for translations) and the frames counted."""
    diff = angle_differences(pred, gt, names)
    out = {}
    for k, name in enumerate(names):
        d = diff[:, k][np.isfinite(diff[:, k])]
        out[name] = {"rms": float(np.sqrt(np.mean(d ** 2))) if len(d) else None,
                     "mae": float(np.mean(np.abs(d))) if len(d) else None, "frames": int(len(d))}
    return out


def group_errors(pred: np.ndarray, gt: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Per group: RMS and MAE (deg) pooled over its coordinates and frames (None when it has none)."""
    diff = angle_differences(pred, gt, names)
    out = {}
    for group in GROUPS:
        cols = [k for k, n in enumerate(names) if coordinate_group(n) == group]
        d = diff[:, cols].ravel()
        d = d[np.isfinite(d)]
        out[group] = {"rms": float(np.sqrt(np.mean(d ** 2))) if len(d) else None,
                      "mae": float(np.mean(np.abs(d))) if len(d) else None, "values": int(len(d))}
    return out
