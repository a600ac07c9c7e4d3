"""Reprojection residuals: first-order pixel residuals for the solvers, exact ones for the output.

Solvers work in undistorted normalised coordinates; a residual ``d = pi(X) - x`` there becomes a
pixel residual ``S d`` with ``S = K_2x2 J_distort(x)`` (see :class:`spine3d.calibration.views.Views`),
exact to first order in |d| with the lens distortion included (the second-order term is of order
|d|^2 k / f; the triangulation benchmark reports it as "LM residual model").
Reported errors (:func:`pixel_errors`) project with the full camera model instead.
"""

from __future__ import annotations

import numpy as np

from spine3d.calibration.dlt import single_thread_matmul
from spine3d.calibration.views import RigConstants, Views, distort_views


def camera_points(const: RigConstants, points: np.ndarray) -> np.ndarray:
    """(3, n) m world -> (C, 3, n) m in each camera frame (one product with [R | t])."""
    homogeneous = np.empty((4, points.shape[-1]))
    homogeneous[:3] = points
    homogeneous[3] = 1.0
    return single_thread_matmul(const.pose, homogeneous)


def whitened_residuals(views: Views, cam_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-order pixel residuals of every view.

    Args:
        views: observations with ``whiten`` maps.
        cam_points: (C, 3, n) m, the points in each camera frame.

    Returns:
        r0, r1: (C, n) px, the two components of ``S (pi(X) - x)`` (meaningless where not usable).
    """
    s00, s01, s10, s11 = views.whiten
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # a point on a camera's plane: inf, NaN
        inv_z = 1.0 / cam_points[:, 2]
        du = cam_points[:, 0] * inv_z - views.x
        dv = cam_points[:, 1] * inv_z - views.y
        return s00 * du + s01 * dv, s10 * du + s11 * dv


def squared_errors(views: Views, cam_points: np.ndarray) -> np.ndarray:
    """(C, n) px^2 first-order squared reprojection errors; inf behind a camera, NaN where undefined."""
    r0, r1 = whitened_residuals(views, cam_points)
    e2 = r0 * r0 + r1 * r1
    return np.where(cam_points[:, 2] > 0, e2, np.inf)  # NaN stays NaN (compares False to any threshold)


def pixel_errors(const: RigConstants, points: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Exact reprojection errors with the full camera model (distortion included).

    Args:
        const: rig constants.
        points: (3, n) m world (NaN = none).
        uv: (C, n, 2) px observations (NaN = missing).

    Returns:
        (C, n) px Euclidean distance between the projection and the observation; NaN where
        either is missing.
    """
    cam = camera_points(const, points)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # far points: inf errors
        inv_z = np.divide(1.0, cam[:, 2])
        x, y = distort_views(const, np.multiply(cam[:, 0], inv_z), np.multiply(cam[:, 1], inv_z, out=inv_z))
        du = const.fx * x  # projection - observation, px (K applied to the distorted point)
        if const.skewed:
            du += const.skew * y
        du += const.cx
        du -= uv[..., 0]
        dv = np.multiply(const.fy, y, out=y)
        dv += const.cy
        dv -= uv[..., 1]
        du *= du
        dv *= dv
        du += dv
        return np.sqrt(du, out=du)
