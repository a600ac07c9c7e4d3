"""Initial 3D points for bundle adjustment: linear triangulation, made robust to one bad view per point.

Kept inside :mod:`spine3d.calibration` (the ``triangulation`` package builds on calibration, not the reverse).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spine3d.calibration.rig import CameraRig
from spine3d.errors import InputError


def check_observations(points2d: Any, weights: Any, n_cameras: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate (C, N, 2) px points and optional (C, N) weights >= 0 for a rig of ``n_cameras``.

    Returns:
        points2d (C, N, 2) px and weights (C, N), 0 wherever a coordinate or the weight is missing.
    """
    uv = np.asarray(points2d, dtype=np.float64)
    if uv.ndim != 3 or uv.shape[0] != n_cameras or uv.shape[2] != 2:
        raise InputError(f"points2d must have shape (C={n_cameras}, N, 2) (one row per camera of the rig), "
                         f"got {uv.shape}")
    w = np.ones(uv.shape[:2]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != uv.shape[:2]:
        raise InputError(f"weights must have shape {uv.shape[:2]} (C, N), got {w.shape}")
    if np.any(w < 0):
        raise InputError("weights must be >= 0")
    w = np.where(np.isfinite(uv).all(axis=-1) & np.isfinite(w), w, 0.0)
    return uv, w


def triangulate_linear(points2d: Any, rig: CameraRig, weights: Any = None) -> np.ndarray:
    """Linear (DLT) triangulation of distortion-corrected rays, Hartley & Zisserman sec. 12.2.

    Each view contributes rows ``x P3 - P1`` and ``y P3 - P2`` with P = [R | t] and (x, y) the
    undistorted normalised coordinates (better conditioned than pixels), weighted by ``weights``.

    Args:
        points2d: (C, N, 2) px, NaN where a point is not seen.
        rig: the C cameras.
        weights: optional (C, N) confidences >= 0 (0 or NaN = not seen).

    Returns:
        (N, 3) m, world frame; NaN where fewer than 2 views see a point.
    """
    uv, w = check_observations(points2d, weights, len(rig))
    return _dlt(_normalized(uv, rig), _extrinsics(rig), w)


def initial_points(points2d: Any, rig: CameraRig, weights: Any = None,
                   outlier_ratio: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """DLT points made robust to one bad view per point, to start bundle adjustment from.

    For points seen by >= 3 cameras, the C leave-one-view-out DLT solutions are also computed; a
    point takes the best of them (smallest worst-view reprojection error) when the all-view
    solution's worst error is more than ``outlier_ratio`` times larger, or lies behind a camera
    that sees it. Points behind a camera in every candidate are NaN.

    Args:
        points2d: (C, N, 2) px, NaN where not seen. weights: optional (C, N) confidences.

    Returns:
        points (N, 3) m, world frame (NaN where no valid solution exists), and used (C, N) bool:
        the views each point was triangulated from (a dropped view is a likely outlier).
    """
    uv, w = check_observations(points2d, weights, len(rig))
    xy, Rt = _normalized(uv, rig), _extrinsics(rig)
    seen = w > 0
    candidates = [(_dlt(xy, Rt, w), seen)]
    if len(rig) >= 3:
        for c in range(len(rig)):  # C leave-one-out solves, each vectorised over all points
            used = seen.copy()
            used[c] = False
            candidates.append((_dlt(xy, Rt, np.where(used, w, 0.0)), used))
    scores = np.stack([_worst_error(points, used, uv, rig) for points, used in candidates])  # (1 + C, N)
    best = np.argmin(scores[1:], axis=0) + 1 if len(candidates) > 1 else np.zeros(uv.shape[1], dtype=int)
    best_score = np.take_along_axis(scores, best[None], axis=0)[0]
    pick = np.where(scores[0] / outlier_ratio > best_score, best, 0)
    columns = np.arange(uv.shape[1])
    points = np.stack([p for p, _ in candidates])[pick, columns]
    used = np.stack([u for _, u in candidates])[pick, :, columns].T  # (C, N)
    invalid = ~np.isfinite(scores[pick, columns])
    points[invalid] = np.nan
    used[:, invalid] = False
    return points, used


def _normalized(uv: np.ndarray, rig: CameraRig) -> np.ndarray:
    """(C, N, 2) px -> (C, N, 2) undistorted normalised coordinates (NaN -> 0; such views have weight 0)."""
    return np.stack([cam.undistort_normalized(np.nan_to_num(uv[c])) for c, cam in enumerate(rig)])


def _extrinsics(rig: CameraRig) -> np.ndarray:
    """(C, 3, 4) [R | t] of each camera."""
    return np.stack([np.concatenate([cam.R, cam.t[:, None]], axis=1) for cam in rig])


def _dlt(xy: np.ndarray, Rt: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted DLT: xy (C, N, 2) normalised, Rt (C, 3, 4), w (C, N) -> (N, 3) m (NaN if < 2 views)."""
    rows = (xy[..., None] * Rt[:, None, 2:3, :] - Rt[:, None, :2, :]) * w[..., None, None]  # (C, N, 2, 4)
    A = rows.transpose(1, 0, 2, 3).reshape(xy.shape[1], -1, 4)  # (N, 2C, 4)
    A = A / np.maximum(np.linalg.norm(A, axis=(1, 2), keepdims=True), 1e-300)
    X = np.linalg.svd(A)[2][:, -1]  # (N, 4): right singular vector of the smallest singular value
    with np.errstate(divide="ignore", invalid="ignore"):
        points = X[:, :3] / X[:, 3:]
    points[(w > 0).sum(axis=0) < 2] = np.nan
    return points


def _worst_error(points: np.ndarray, used: np.ndarray, uv: np.ndarray, rig: CameraRig) -> np.ndarray:
    """(N,) largest reprojection error (px) over the used views; inf if behind a used camera or undefined."""
    worst = np.zeros(len(points))
    for c, cam in enumerate(rig):  # C cameras, vectorised over points
        depth = cam.world_to_camera(points)[:, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.linalg.norm(cam.project(points) - uv[c], axis=-1)
        err = np.where(depth > 0, err, np.inf)
        worst = np.where(used[c], np.fmax(worst, np.nan_to_num(err, nan=np.inf)), worst)
    return np.where(used.sum(axis=0) >= 2, worst, np.inf)
