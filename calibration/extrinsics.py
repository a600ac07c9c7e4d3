"""Camera pose from 2D-3D correspondences (Perspective-n-Point) with the camera's own intrinsics.

Pinhole cameras go straight to OpenCV with K and the distortion coefficients. Other lens models
("fisheye", "h36m") are first undistorted to normalised coordinates with the camera's own model
(:meth:`Camera.undistort_normalized`) and solved with K = I and no distortion, so PnP always sees
the exact projection model the rest of the toolkit uses.

Solver: ``cv2.SOLVEPNP_SQPNP`` (globally optimal for N >= 3, any configuration) for the initial pose,
or ``cv2.solvePnPRansac`` when outliers are expected, then Levenberg-Marquardt refinement
(``SOLVEPNP_ITERATIVE`` from that guess) on the inliers.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np

from spine3d.calibration.camera import Camera
from spine3d.calibration.rotations import rotvec_to_rotmat
from spine3d.errors import InputError

log = logging.getLogger(__name__)

MIN_POINTS = 4


def solve_pnp(points3d: Any, points2d: Any, camera: Camera, ransac: bool = False,
              threshold_px: float = 8.0) -> Camera:
    """Estimate the pose of ``camera`` from correspondences; intrinsics and distortion are kept.

    Args:
        points3d: (N, 3) m, world frame.
        points2d: (N, 2) px, distorted image coordinates in ``camera``. Rows with a non-finite value
            in either array are ignored.
        camera: provides K, distortion and lens model (its pose is ignored).
        ransac: reject outliers with RANSAC (``threshold_px`` reprojection threshold) before refining.
        threshold_px: RANSAC inlier threshold, px.

    Returns:
        ``camera`` with the estimated pose (x_cam = R x_world + t).
    """
    points3d, points2d = _check(points3d, points2d, camera.name)
    if camera.model == "pinhole":
        image, K, dist = points2d, camera.K, _opencv_dist(camera.dist)
        threshold = threshold_px
    else:  # solve on undistorted normalised coordinates: K = I, no distortion
        image, K, dist = camera.undistort_normalized(points2d), np.eye(3), None
        threshold = threshold_px / np.sqrt(camera.K[0, 0] * camera.K[1, 1])
    obj, img = points3d.reshape(-1, 1, 3), image.reshape(-1, 1, 2)
    inliers = np.arange(len(obj))
    if ransac:
        ok, rvec, tvec, found = cv2.solvePnPRansac(obj, img, K, dist, reprojectionError=float(threshold),
                                                   iterationsCount=1000, confidence=0.999,
                                                   flags=cv2.SOLVEPNP_SQPNP)
        if not ok or found is None or len(found) < MIN_POINTS:
            raise InputError(f"camera {camera.name}: RANSAC PnP found no pose with >= {MIN_POINTS} inliers "
                             f"(threshold {threshold_px} px)")
        inliers = found.reshape(-1)
        log.info("camera %s: PnP RANSAC kept %d of %d points", camera.name, len(inliers), len(obj))
    else:
        ok, rvec, tvec = cv2.solvePnP(obj, img, K, dist, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            raise InputError(f"camera {camera.name}: PnP failed (degenerate points?)")
    ok, rvec, tvec = cv2.solvePnP(obj[inliers], img[inliers], K, dist, rvec, tvec, useExtrinsicGuess=True,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise InputError(f"camera {camera.name}: PnP refinement failed")
    return camera.with_pose(rotvec_to_rotmat(rvec.reshape(3)), tvec.reshape(3))


def reprojection_errors(camera: Camera, points3d: Any, points2d: Any) -> np.ndarray:
    """(N,) px distance between ``camera.project(points3d (N, 3) m)`` and ``points2d`` (N, 2) px (NaN kept)."""
    uv = camera.project(np.asarray(points3d, dtype=np.float64))
    return np.linalg.norm(uv - np.asarray(points2d, dtype=np.float64), axis=-1)


def _opencv_dist(dist: np.ndarray) -> np.ndarray:
    """Zero-pad pinhole coefficients to a length OpenCV accepts (4, 5 or 8)."""
    size = next(n for n in (4, 5, 8) if n >= dist.size)
    return np.concatenate([dist, np.zeros(size - dist.size)])


def _check(points3d: Any, points2d: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    p3 = np.asarray(points3d, dtype=np.float64)
    p2 = np.asarray(points2d, dtype=np.float64)
    if p3.ndim != 2 or p3.shape[1] != 3:
        raise InputError(f"camera {name}: points3d must have shape (N, 3), got {p3.shape}")
    if p2.shape != (len(p3), 2):
        raise InputError(f"camera {name}: points2d must have shape ({len(p3)}, 2) to match points3d, got {p2.shape}")
    valid = np.isfinite(p3).all(axis=1) & np.isfinite(p2).all(axis=1)
    if valid.sum() < MIN_POINTS:
        raise InputError(f"camera {name}: PnP needs at least {MIN_POINTS} finite 2D-3D correspondences, "
                         f"got {int(valid.sum())}")
    return p3[valid], p2[valid]
