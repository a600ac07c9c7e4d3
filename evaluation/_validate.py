"""Shape checks and the validity mask shared by the numpy metrics (private to ``evaluation``)."""

from __future__ import annotations

import numpy as np

from spine3d.errors import InputError


def check_pair(pred: np.ndarray, gt: np.ndarray, name: str, min_ndim: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Return ``pred`` and ``gt`` as float arrays after checking they are both (..., J, 3).

    Raises:
        InputError: when the shapes differ, the last axis is not 3 or there are too few axes.
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise InputError(f"{name}: pred and gt must have the same shape; expected {gt.shape} (gt), got {pred.shape}")
    if pred.ndim < min_ndim or pred.shape[-1] != 3:
        axes = "(..., T, J, 3)" if min_ndim == 3 else "(..., J, 3)"
        raise InputError(f"{name}: expected keypoints of shape {axes}, got {pred.shape}")
    dtype = np.result_type(pred.dtype, gt.dtype, np.float64)  # metrics are accumulated in float64
    return pred.astype(dtype, copy=False), gt.astype(dtype, copy=False)


def valid_joints(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(..., J) bool: joints whose three coordinates are finite in both ``pred`` and ``gt``."""
    return np.isfinite(pred).all(-1) & np.isfinite(gt).all(-1)


def broadcast_mask(mask: np.ndarray | None, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Broadcast a user joint mask ((J,) or (..., J) bool) to ``shape`` = (..., J); all True when None."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    try:
        return np.broadcast_to(mask, shape)
    except ValueError:
        raise InputError(f"{name}: mask must broadcast to the joint shape {shape}, got {mask.shape}") from None


def nanmean_or_nan(values: np.ndarray, valid: np.ndarray) -> float:
    """Mean of ``values`` where ``valid``; NaN when nothing is valid (no warning)."""
    count = int(valid.sum())
    return float(np.where(valid, values, 0.0).sum() / count) if count else float("nan")
