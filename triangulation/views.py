"""Camera constants and per-view observations in the layout the solvers use.

Arrays are structure-of-arrays: one contiguous row per camera, ``(C, n)``, so that every solver
step is an elementwise numpy operation over ``n`` points.

Conditioning (Hartley & Zisserman, 4.4.4 and 12.2): observations are undistorted normalised
coordinates (x/z, y/z), of order 1, and the unknown point is expressed as
``X = center + scale * X'`` with ``center`` the centroid of the camera centres and ``scale`` their
RMS distance to it, so that ``X'`` is of order 1 for anything the rig films.

Undistortion: OpenCV's ``undistortPoints`` (fixed-point iteration in C++, ~20x faster than the
generic Newton solver of :mod:`calibration.distortion`) for the OpenCV pinhole model; every result
is checked by re-distorting it and points off by more than ``UNDISTORT_TOLERANCE`` px (and all other
models) go through :func:`calibration.undistort`, the exact inverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from calibration import CameraRig
from calibration.distortion import distort, undistort
from calibration.projection import pixels_to_normalized

UNDISTORT_TOLERANCE = 1e-4  # px; max error of the fast undistortion before falling back to the exact one
_CV2_ITERATIONS = 5  # fixed-point steps of cv2.undistortPoints (checked against UNDISTORT_TOLERANCE)
_FD_STEP = 1e-7  # forward-difference step on normalised coordinates for the distortion Jacobian
_UPPER = ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3))


@dataclass(frozen=True, eq=False)
class RigConstants:
    """Per-camera constants derived once per call.

    Attributes:
        rig: the cameras.
        R: (C, 3, 3) world->camera rotations.
        t: (C, 3) m, world->camera translations.
        center: (3,) m and ``scale`` m: the conditioning ``X = center + scale * X'``.
        quad: (C, 4, 10) per camera, maps the view features (w^2 (x^2 + y^2), w^2 x, w^2 y, w^2)
            to the 10 upper-triangle entries of the conditioned DLT normal matrix A^T A (see :mod:`.dlt`).
    """

    rig: CameraRig
    R: np.ndarray
    t: np.ndarray
    center: np.ndarray
    scale: float
    quad: np.ndarray


def rig_constants(rig: CameraRig) -> RigConstants:
    """Derive the solver constants of a rig (conditioning, DLT quadratic forms)."""
    R = np.stack([c.R for c in rig])
    t = np.stack([c.t for c in rig])
    centers = rig.centers
    center = centers.mean(axis=0)
    scale = float(np.sqrt(((centers - center) ** 2).sum(axis=1).mean())) or 1.0
    # conditioned normalised projection P' = [R | (R center + t) / scale] (up to the factor scale)
    P = np.concatenate([R, ((R @ center + t) / scale)[:, :, None]], axis=2)  # (C, 3, 4)
    p1, p2, p3 = P[:, 0], P[:, 1], P[:, 2]
    outer = lambda a, b: a[:, :, None] * b[:, None, :]  # noqa: E731  (C, 4, 4)
    forms = np.stack([outer(p3, p3), -(outer(p3, p1) + outer(p1, p3)), -(outer(p3, p2) + outer(p2, p3)),
                      outer(p1, p1) + outer(p2, p2)], axis=1)  # (C, 4 features, 4, 4)
    quad = np.stack([forms[:, :, i, j] for i, j in _UPPER], axis=2)  # (C, 4, 10)
    return RigConstants(rig, R, t, center, scale, np.ascontiguousarray(quad))


@dataclass(frozen=True, eq=False)
class Views:
    """Observations of n points in C cameras (structure of arrays).

    Attributes:
        uv: (C, n, 2) px, the input (NaN = missing).
        x, y: (C, n) undistorted normalised coordinates; 0 where not usable.
        confidence: (C, n) detector confidence; 0 where not usable.
        usable: (C, n) bool, finite and confidence >= threshold: the views that may vote.
        whiten: (4, C, n) or None; rows s00, s01, s10, s11 of the 2x2 map S = K_2x2 J_distort
            from a small step in undistorted normalised coordinates to a step in image pixels,
            evaluated at each observation (so ``S (pi(X) - x)`` is the pixel residual to first
            order, distortion included).
    """

    uv: np.ndarray
    x: np.ndarray
    y: np.ndarray
    confidence: np.ndarray
    usable: np.ndarray
    whiten: np.ndarray | None


def prepare_views(const: RigConstants, uv: np.ndarray, confidence: np.ndarray, threshold: float,
                  whiten: bool) -> Views:
    """Undistort and mask one chunk of observations.

    Args:
        const: rig constants.
        uv: (C, n, 2) px, distorted image coordinates (NaN = missing).
        confidence: (C, n) detector confidence in [0, 1].
        threshold: minimum confidence of a usable view.
        whiten: also compute the pixel-whitening maps (needed by RANSAC and refinement).
    """
    xy = np.empty_like(uv)
    jac = np.empty((len(const.rig), 4, uv.shape[1])) if whiten else None
    for c, cam in enumerate(const.rig):  # loop over cameras
        xy[c] = undistort_normalized(cam, uv[c])
        if whiten:
            jac[c] = whitening(cam, xy[c])
    x, y = xy[..., 0], xy[..., 1]
    usable = np.isfinite(x + y) & (confidence >= threshold) & (confidence > 0)
    x, y = np.where(usable, x, 0.0), np.where(usable, y, 0.0)
    maps = np.where(usable, jac.transpose(1, 0, 2), 0.0) if whiten else None
    conf = np.where(usable, confidence, 0.0)
    return Views(uv, x, y, conf, usable, maps)


def undistort_normalized(cam, uv: np.ndarray) -> np.ndarray:
    """(n, 2) distorted px -> (n, 2) undistorted normalised coordinates (NaN stays NaN).

    Same result as ``cam.undistort_normalized`` to within ``UNDISTORT_TOLERANCE`` px (checked).
    """
    xd = pixels_to_normalized(uv, cam.K)
    if not np.any(cam.dist):
        return xd
    if cam.model != "pinhole" or cam.K[0, 1] != 0:
        return undistort(xd, cam.dist, cam.model)
    dist8 = np.zeros(8)
    dist8[: cam.dist.size] = cam.dist
    xu = _cv2_undistort(uv, cam.K, dist8, _CV2_ITERATIONS)
    slow = _undistort_error(cam, xu, xd) > UNDISTORT_TOLERANCE  # NaN compares False: missing stays NaN
    if slow.any():  # far from the image centre: more fixed-point steps, then the exact Newton solver
        xu[slow] = _cv2_undistort(uv[slow], cam.K, dist8, 10 * _CV2_ITERATIONS)
        slow[slow] = _undistort_error(cam, xu[slow], xd[slow]) > UNDISTORT_TOLERANCE
        if slow.any():
            xu[slow] = undistort(xd[slow], cam.dist, cam.model)
    return xu


def whitening(cam, xy: np.ndarray) -> np.ndarray:
    """(n, 2) undistorted normalised -> (4, n) entries s00, s01, s10, s11 of S = K_2x2 d(distort)/d(xy).

    The Jacobian is taken by forward differences of :func:`calibration.distort` (relative error
    ~1e-7, far below what a pixel threshold or a least-squares weight can notice).
    """
    fx, skew, fy = cam.K[0, 0], cam.K[0, 1], cam.K[1, 1]
    n = len(xy)
    if not np.any(cam.dist):
        j00, j01, j10, j11 = np.ones(n), np.zeros(n), np.zeros(n), np.ones(n)
    else:
        h = _FD_STEP
        d = distort(np.concatenate([xy, xy + [h, 0.0], xy + [0.0, h]]), cam.dist, cam.model)
        j00, j10 = (d[n:2 * n, 0] - d[:n, 0]) / h, (d[n:2 * n, 1] - d[:n, 1]) / h
        j01, j11 = (d[2 * n:, 0] - d[:n, 0]) / h, (d[2 * n:, 1] - d[:n, 1]) / h
    return np.stack([fx * j00 + skew * j10, fx * j01 + skew * j11, fy * j10, fy * j11])


def _cv2_undistort(uv: np.ndarray, K: np.ndarray, dist8: np.ndarray, iterations: int) -> np.ndarray:
    criteria = (cv2.TERM_CRITERIA_COUNT, iterations, 0.0)
    out = cv2.undistortPoints(np.ascontiguousarray(uv).reshape(-1, 1, 2), K, dist8, criteria=criteria)
    return out.reshape(-1, 2)


def _undistort_error(cam, xu: np.ndarray, xd: np.ndarray) -> np.ndarray:
    """(n,) px: how far ``distort(xu)`` lands from the distorted observation ``xd``."""
    d = distort(xu, cam.dist, cam.model) - xd
    return np.sqrt(np.einsum("ij,ij->i", d, d)) * max(cam.K[0, 0], cam.K[1, 1])
