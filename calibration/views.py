"""Camera constants and per-view observations in the layout the solvers use.

Arrays are structure-of-arrays: one contiguous row per camera, ``(C, n)``, so that every solver
step is an elementwise numpy operation over ``n`` points, and per-camera constants are ``(C, 1)``
columns, so that one numpy call serves every camera.

Conditioning (Hartley & Zisserman, 4.4.4 and 12.2): observations are undistorted normalised
coordinates (x/z, y/z), of order 1, and the unknown point is expressed as
``X = center + scale * X'`` with ``center`` the centroid of the camera centres and ``scale`` their
RMS distance to it, so that ``X'`` is of order 1 for anything the rig films.

Undistortion: :mod:`.undistortion` (fitted start, one analytic Newton step, every result checked
to ``UNDISTORT_TOLERANCE`` px, fallback to :func:`spine3d.calibration.undistort`), batched over the cameras
of each distortion model (:mod:`.lens`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spine3d.calibration.rig import CameraRig
from spine3d.calibration.lens.model import distort as generic_distort
from spine3d.calibration.lens import groups as lens
from spine3d.calibration.lens.groups import LensGroup, lens_groups
from spine3d.calibration.lens.undistortion import undistort

_FD_STEP = 1e-7  # forward-difference step on normalised coordinates for the Jacobian of other models
_UPPER = ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3))


@dataclass(frozen=True, eq=False)
class RigConstants:
    """Per-camera constants derived once per call.

    Attributes:
        rig: the cameras.
        R: (C, 3, 3) world->camera rotations.
        t: (C, 3) m, world->camera translations.
        pose: (C, 3, 4) [R | t], world (homogeneous, m) -> camera frame (m).
        center: (3,) m and ``scale`` m: the conditioning ``X = center + scale * X'``.
        projection: (C, 3, 4) conditioned normalised projections P' = [R | (R center + t) / scale]
            (rows P1, P2, P3: the DLT rows of a view are w (x P3 - P1) and w (y P3 - P2)).
        normal_map: (C, 10, 4) per camera, maps the view features (w^2 (x^2 + y^2), w^2 x, w^2 y, w^2)
            to the 10 upper-triangle entries of the conditioned DLT normal matrix A^T A (see :mod:`.dlt`).
        normal_map_all: (10, 4 C), the same maps side by side: one product with the (C * 4, n)
            features of all views gives the summed normal matrices.
        fx, fy, cx, cy, skew: (C, 1) px, the intrinsics K = [[fx, skew, cx], [0, fy, cy], [0, 0, 1]].
        lenses: the cameras grouped by distortion model (see :mod:`.lens`).
    """

    rig: CameraRig
    R: np.ndarray
    t: np.ndarray
    pose: np.ndarray
    center: np.ndarray
    scale: float
    projection: np.ndarray
    normal_map: np.ndarray
    normal_map_all: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    skew: np.ndarray
    lenses: tuple[LensGroup, ...]

    @property
    def skewed(self) -> bool:
        """Whether any camera has a non-zero skew K[0, 1]."""
        return bool(np.any(self.skew))


def rig_constants(rig: CameraRig) -> RigConstants:
    """Derive the solver constants of a rig (conditioning, DLT quadratic forms, intrinsics, lenses)."""
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
    normal_map = np.stack([forms[:, :, i, j] for i, j in _UPPER], axis=1)  # (C, 10, 4)
    K = np.stack([c.K for c in rig])
    col = lambda v: np.ascontiguousarray(v, dtype=np.float64).reshape(-1, 1)  # noqa: E731
    return RigConstants(rig, R, t, np.concatenate([R, t[:, :, None]], axis=2), center, scale, P,
                        np.ascontiguousarray(normal_map),
                        np.ascontiguousarray(normal_map.transpose(1, 0, 2).reshape(10, -1)),
                        col(K[:, 0, 0]), col(K[:, 1, 1]), col(K[:, 0, 2]), col(K[:, 1, 2]), col(K[:, 0, 1]),
                        lens_groups(rig.cameras))


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
    x, y = undistort_views(const, *normalized(const, uv))
    usable = np.isfinite(x)
    usable &= np.isfinite(y)
    usable &= (confidence >= threshold) if threshold > 0 else (confidence > 0)
    maps = np.where(usable, whitening(const, x, y), 0.0) if whiten else None
    unusable = ~usable
    np.copyto(x, 0.0, where=unusable)
    np.copyto(y, 0.0, where=unusable)
    return Views(uv, x, y, np.where(usable, confidence, 0.0), usable, maps)


def normalized(const: RigConstants, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, n, 2) px -> distorted normalised coordinates xd, yd (C, n) (inverse of K)."""
    yd = uv[..., 1] - const.cy
    yd /= const.fy
    xd = uv[..., 0] - const.cx
    if const.skewed:
        xd -= const.skew * yd
    xd /= const.fx
    return xd, yd


def undistort_views(const: RigConstants, xd: np.ndarray, yd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, n) distorted -> undistorted normalised coordinates (C, n), exact to
    :data:`.undistortion.UNDISTORT_TOLERANCE` px."""
    return _per_group(const.lenses, undistort, xd, yd)


def distort_views(const: RigConstants, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, n) undistorted -> distorted normalised coordinates (C, n), every camera's own model."""
    return _per_group(const.lenses, _distort, x, y)


def _distort(g: LensGroup, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if g.model == "none":
        return x.copy(), y.copy()
    if g.model in lens.RADIAL_TANGENTIAL:
        return lens.distort(g, x, y)
    out = np.stack([generic_distort(np.stack([x[i], y[i]], axis=-1), d, g.model) for i, d in enumerate(g.dist)])
    return out[..., 0], out[..., 1]


def _per_group(groups: tuple[LensGroup, ...], apply: Callable[..., tuple[np.ndarray, ...]], x: np.ndarray,
               y: np.ndarray) -> tuple[np.ndarray, ...]:
    """``apply(group, x_rows, y_rows)`` for each group of cameras, rows put back in the rig's order."""
    if len(groups) == 1 and np.array_equal(groups[0].index, np.arange(x.shape[0])):
        return apply(groups[0], x, y)  # one model for the whole rig: no copies
    out = None
    for g in groups:  # loop over distortion models
        parts = apply(g, x[g.index], y[g.index])
        if out is None:
            out = np.empty((len(parts), *x.shape))
        out[:, g.index] = parts
    return tuple(out)


def whitening(const: RigConstants, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(C, n) undistorted normalised -> (4, C, n) entries s00, s01, s10, s11 of S = K_2x2 d(distort)/d(xy).

    Analytic Jacobians for the radial-tangential models; forward differences of
    :func:`spine3d.calibration.distort` for the others (relative error ~1e-7, far below what a pixel
    threshold or a least-squares weight can notice).
    """
    j00, j01, j10, j11 = _per_group(const.lenses, _jacobian, x, y)
    maps = np.empty((4, *x.shape))
    np.multiply(const.fx, j00, out=maps[0])
    np.multiply(const.fx, j01, out=maps[1])
    if const.skewed:
        maps[0] += const.skew * j10
        maps[1] += const.skew * j11
    np.multiply(const.fy, j10, out=maps[2])
    np.multiply(const.fy, j11, out=maps[3])
    return maps


def _jacobian(g: LensGroup, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """(G, n) -> j00, j01, j10, j11 (G, n) of the distortion at (x, y)."""
    if g.model == "none":
        one, zero = np.ones_like(x), np.zeros_like(x)
        return one, zero, zero, one
    if g.model in lens.RADIAL_TANGENTIAL:
        return lens.distort(g, x, y, jacobian=True)[2:]
    h = _FD_STEP
    d0, d1 = _distort(g, x, y)
    dx0, dx1 = _distort(g, x + h, y)
    dy0, dy1 = _distort(g, x, y + h)
    return (dx0 - d0) / h, (dy0 - d0) / h, (dx1 - d1) / h, (dy1 - d1) / h
