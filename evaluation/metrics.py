"""3D pose metrics in numpy: MPJPE (Protocol #1), P-MPJPE (#2), N-MPJPE, MPJVE, 3D PCK and AUC.

All metrics are NaN-aware: a joint whose prediction or ground truth has a non-finite coordinate
is left out of every mean and counted as missing; a metric with nothing left to average is NaN.
Errors come out in the unit of the inputs (metres in, metres out). Every function takes any
leading axes: ``(..., J, 3)`` poses, or ``(..., T, J, 3)`` sequences for velocities.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from spine3d.evaluation._validate import broadcast_mask, check_pair, nanmean_or_nan, valid_joints
from spine3d.evaluation.procrustes import _procrustes, _scale
from spine3d.errors import InputError

Alignment = Literal["none", "procrustes", "scale"]


def root_relative(x: np.ndarray, root: int) -> np.ndarray:
    """Subtract the root joint from every joint.

    Args:
        x: (..., J, 3) keypoints.
        root: index of the root joint (negative indices count from the end).

    Returns:
        (..., J, 3) keypoints relative to the root; a frame with a non-finite root is all-NaN.
    """
    x = np.asarray(x)
    if x.ndim < 2 or not -x.shape[-2] <= root < x.shape[-2]:
        raise InputError(f"root_relative: root {root} out of range for keypoints of shape {x.shape}")
    return x - x[..., root : root + 1, :]


def joint_errors(pred: np.ndarray, gt: np.ndarray, aligned: Alignment = "none") -> np.ndarray:
    """Per-joint Euclidean errors after an optional per-frame alignment.

    Args:
        pred: (..., J, 3) predicted keypoints.
        gt: (..., J, 3) ground truth, same unit and frame.
        aligned: "none" (Protocol #1), "procrustes" (similarity, Protocol #2) or "scale" (N-MPJPE).

    Returns:
        (..., J) errors in the input unit; NaN for missing joints and for frames the alignment
        excludes (fewer than 3 valid joints for Procrustes, none for the scale).
    """
    pred, gt = check_pair(pred, gt, "joint_errors")
    valid = valid_joints(pred, gt)
    if aligned == "procrustes":
        pred, _ = _procrustes(pred, gt, valid, scale=True)
    elif aligned == "scale":
        pred, _ = _scale(pred, gt, valid)
    elif aligned != "none":
        raise InputError(f"joint_errors: aligned must be 'none', 'procrustes' or 'scale', got {aligned!r}")
    err = np.linalg.norm(pred - gt, axis=-1)
    return np.where(valid, err, np.nan)


def mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Protocol #1: mean per-joint position error, no alignment.

    Args:
        pred: (..., J, 3) predicted keypoints.
        gt: (..., J, 3) ground truth, same unit and frame.
        mask: optional (J,) or (..., J) bool selecting the joints to score (e.g. a skeleton group).

    Returns:
        Mean Euclidean distance over valid selected joints, in the input unit (NaN if none).
    """
    return _masked_mean(joint_errors(pred, gt, "none"), mask, "mpjpe")


def p_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Protocol #2: MPJPE after a per-frame similarity Procrustes alignment of pred onto gt.

    The alignment uses every valid joint of the frame; ``mask`` (J,) or (..., J) only selects the
    joints averaged afterwards. Frames with fewer than 3 valid joints are excluded.
    """
    return _masked_mean(joint_errors(pred, gt, "procrustes"), mask, "p_mpjpe")


def n_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """N-MPJPE: MPJPE after a per-frame least-squares scale of pred about the origin.

    Use root-relative poses (the scale is not translation invariant). ``mask`` as in :func:`p_mpjpe`.
    """
    return _masked_mean(joint_errors(pred, gt, "scale"), mask, "n_mpjpe")


def velocity_errors(pred: np.ndarray, gt: np.ndarray, fps: float | None = None) -> np.ndarray:
    """Per-joint velocity errors between consecutive frames.

    Args:
        pred: (..., T, J, 3) predicted sequences, T >= 2.
        gt: (..., T, J, 3) ground-truth sequences.
        fps: frame rate in Hz; None gives errors per frame, a number gives errors per second.

    Returns:
        (..., T-1, J) |(pred[t+1]-pred[t]) - (gt[t+1]-gt[t])|, NaN where either frame misses the joint.
    """
    pred, gt = check_pair(pred, gt, "mpjve", min_ndim=3)
    if pred.shape[-3] < 2:
        raise InputError(f"mpjve: need at least 2 frames along the T axis, got shape {pred.shape}")
    if fps is not None and not fps > 0:
        raise InputError(f"mpjve: fps must be a positive frame rate in Hz, got {fps}")
    err = np.linalg.norm(np.diff(pred, axis=-3) - np.diff(gt, axis=-3), axis=-1)
    valid = valid_joints(pred, gt)
    err = np.where(valid[..., 1:, :] & valid[..., :-1, :], err, np.nan)
    return err * fps if fps is not None else err


def mpjve(pred: np.ndarray, gt: np.ndarray, fps: float | None = None) -> float:
    """Mean per-joint velocity error along the T axis of (..., T, J, 3) sequences.

    Unit: input unit per frame, or per second when ``fps`` (Hz) is given. A velocity needs the
    joint in both frames; pairs where it is missing in either are excluded.
    """
    err = velocity_errors(pred, gt, fps)
    return nanmean_or_nan(err, np.isfinite(err))


def pck3d(pred: np.ndarray, gt: np.ndarray, threshold: float = 150.0, mask: np.ndarray | None = None) -> float:
    """3D PCK: percentage of valid joints within ``threshold`` (error <= threshold; no alignment).

    ``threshold`` is in the input unit: the default 150 is the usual 150 mm, for inputs in mm
    (pass 0.15 for metres). Returns a percentage in [0, 100], NaN if no joint is valid.
    """
    err = joint_errors(pred, gt, "none")
    sel = broadcast_mask(mask, err.shape, "pck3d") & np.isfinite(err)
    return nanmean_or_nan((err <= threshold).astype(np.float64), sel) * 100.0


def auc(pred: np.ndarray, gt: np.ndarray, max_threshold: float = 150.0, steps: int = 31,
        mask: np.ndarray | None = None) -> float:
    """Area under the 3D PCK curve: mean PCK over ``steps`` thresholds evenly spaced on [0, max_threshold].

    The default 31 thresholds 0, 5, ..., 150 follow the MPI-INF-3DHP protocol for inputs in mm; a
    joint counts at a threshold when its error is <= it, so a perfect prediction scores 100.
    Returns a percentage in [0, 100], NaN if no joint is valid.
    """
    err = joint_errors(pred, gt, "none")
    sel = broadcast_mask(mask, err.shape, "auc") & np.isfinite(err)
    return float(pck_curve(err[sel], max_threshold, steps).mean()) if sel.any() else float("nan")


def pck_curve(errors: np.ndarray, max_threshold: float = 150.0, steps: int = 31) -> np.ndarray:
    """(steps,) PCK percentages of a flat array of finite errors at thresholds linspace(0, max, steps)."""
    thresholds = np.linspace(0.0, max_threshold, steps)
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    return (errors[None, :] <= thresholds[:, None]).mean(-1) * 100.0


def per_joint_error(pred: np.ndarray, gt: np.ndarray, aligned: Alignment = "none") -> tuple[np.ndarray, np.ndarray]:
    """Mean error of each joint over all frames (all leading axes).

    Args:
        pred: (..., J, 3) predicted keypoints.
        gt: (..., J, 3) ground truth.
        aligned: "none", "procrustes" or "scale" (see :func:`joint_errors`).

    Returns:
        ((J,) mean error in the input unit, NaN for a joint never valid; (J,) int number of frames
        that scored each joint).
    """
    err = joint_errors(pred, gt, aligned).reshape(-1, np.shape(pred)[-2])
    valid = np.isfinite(err)
    counts = valid.sum(0)
    sums = np.where(valid, err, 0.0).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means, counts


def _masked_mean(err: np.ndarray, mask: np.ndarray | None, name: str) -> float:
    sel = broadcast_mask(mask, err.shape, name) & np.isfinite(err)
    return nanmean_or_nan(err, sel)
