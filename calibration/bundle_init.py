"""Initial 3D points for bundle adjustment: the rig's linear triangulation (:mod:`.dlt`, the same DLT
:mod:`spine3d.triangulation` uses), made robust to one bad view per point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spine3d.calibration.dlt import dlt
from spine3d.calibration.rig import CameraRig
from spine3d.calibration.views import RigConstants, prepare_views, rig_constants
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
    """Linear (DLT) triangulation of distortion-corrected rays (:func:`spine3d.calibration.dlt.dlt`).

    Args:
        points2d: (C, N, 2) px, NaN where a point is not seen.
        rig: the C cameras.
        weights: optional (C, N) confidences >= 0 (0 or NaN = not seen); the DLT rows are weighted by them.

    Returns:
        (N, 3) m, world frame; NaN where fewer than 2 views see a point.
    """
    uv, w = check_observations(points2d, weights, len(rig))
    const = rig_constants(rig)
    return _dlt(const, *_normalized(const, uv, w))


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
    const = rig_constants(rig)
    x, y, w = _normalized(const, uv, w)
    seen = w > 0
    candidates = [(_dlt(const, x, y, w), seen)]
    if len(rig) >= 3:
        for c in range(len(rig)):  # C leave-one-out solves, each vectorised over all points
            used = seen.copy()
            used[c] = False
            candidates.append((_dlt(const, x, y, np.where(used, w, 0.0)), used))
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


def _normalized(const: RigConstants, uv: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(C, N, 2) px and (C, N) weights -> undistorted normalised x, y (C, N) and the weights, 0 where a
    view is unusable (missing, or its undistortion failed)."""
    views = prepare_views(const, uv, w, threshold=0.0, whiten=False)
    return views.x, views.y, views.confidence


def _dlt(const: RigConstants, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted DLT: (C, N) normalised x, y and weights -> (N, 3) m (NaN if fewer than 2 views)."""
    points = dlt(const, x, y, w).T.copy()
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
