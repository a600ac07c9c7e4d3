"""Bundle adjustment: refine camera poses (optionally focal lengths) and 3D points from 2D keypoints.

Minimises the robust (``soft_l1`` / ``huber``, scale in px) sum of squared reprojection errors of all
observations with scipy's ``least_squares`` ("trf", ``x_scale="jac"``) and a sparse Jacobian
pattern (a residual depends only on its camera's parameters and its point's 3 coordinates).
Initial points come from :func:`triangulate_linear` (DLT on undistorted rays).

Gauge (the reprojection error is unchanged by any similarity transform of the world, 7 degrees of
freedom). The reference camera's pose is held fixed (6 dof); the scale is fixed by one of:

- ``fixed_camera``: a second camera whose centre is held fixed (its rotation is refined); use it
  when that camera's position is trusted (e.g. both cameras measured).
- ``known_length=(i, j, metres)``: the mean distance between points ``i`` and ``j`` (ints or equal
  length index arrays, e.g. one bone in every frame) is set to ``metres``. Applied exactly after
  the optimisation by scaling the world about the reference camera's centre, which leaves every
  reprojection unchanged.
- neither: the distance from the reference camera to the "scale camera" (the first other camera)
  keeps its initial value; that camera's centre moves on a sphere around the reference centre.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import least_squares

from calibration.bundle_problem import BundleProblem, observations
from calibration.rig import CameraRig
from spine3d.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundleResult:
    """Refined rig and points.

    Attributes:
        rig: refined cameras (same order and names).
        points3d: (N, 3) m, world frame; NaN for points seen in fewer than 2 views.
        initial_rms, final_rms: RMS reprojection error over the used observations, px (unweighted).
        iterations: residual evaluations of the optimiser (``nfev``).
        n_observations: 2D observations used.
        message: the optimiser's termination message.
    """

    rig: CameraRig
    points3d: np.ndarray
    initial_rms: float
    final_rms: float
    iterations: int
    n_observations: int
    message: str


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
    uv, w = _check_inputs(points2d, weights, len(rig))
    xy = np.stack([cam.undistort_normalized(np.nan_to_num(uv[c])) for c, cam in enumerate(rig)])  # (C, N, 2)
    Rt = np.stack([np.concatenate([cam.R, cam.t[:, None]], axis=1) for cam in rig])  # (C, 3, 4)
    rows = xy[..., None] * Rt[:, None, 2:3, :] - Rt[:, None, :2, :]  # (C, N, 2, 4)
    rows = rows * w[..., None, None]
    A = rows.transpose(1, 0, 2, 3).reshape(uv.shape[1], -1, 4)  # (N, 2C, 4)
    A = A / np.maximum(np.linalg.norm(A, axis=(1, 2), keepdims=True), 1e-300)
    _, _, vh = np.linalg.svd(A)
    X = vh[:, -1]  # (N, 4) homogeneous, null vector of A
    with np.errstate(divide="ignore", invalid="ignore"):
        points = X[:, :3] / X[:, 3:]
    points[(w > 0).sum(axis=0) < 2] = np.nan
    return points


def bundle_adjust(rig: CameraRig, points2d: Any, weights: Any = None, *, reference: int | str = 0,
                  fixed_camera: int | str | None = None, known_length: tuple[Any, Any, float] | None = None,
                  refine_focal: bool = False, points3d: Any = None,
                  loss: Literal["soft_l1", "huber", "cauchy", "linear"] = "soft_l1", f_scale: float = 2.0,
                  max_nfev: int = 200, verbose: int = 0) -> BundleResult:
    """Refine the rig's poses (and focal lengths) and the 3D points; gauge as in the module docstring.

    Args:
        rig: initial cameras (C >= 2); intrinsics and distortion are kept unless ``refine_focal``.
        points2d: (C, N, 2) px, NaN for missing (N points, e.g. frames x joints flattened).
        weights: optional (C, N) confidences >= 0; residuals are scaled by sqrt(weight).
        reference: camera (index or name) whose pose is held fixed.
        fixed_camera: optional second camera whose centre is held fixed (sets the scale).
        known_length: optional (i, j, metres): point indices (ints or (P,) arrays) and their distance.
        refine_focal: also refine one focal scale per camera (fx / fy ratio kept).
        points3d: optional (N, 3) m initial points; default :func:`triangulate_linear`.
        loss: robust loss of ``least_squares``; ``f_scale`` is its inlier scale, px.
        max_nfev: cap on residual evaluations.
    """
    uv, w = _check_inputs(points2d, weights, len(rig))
    if len(rig) < 2:
        raise InputError(f"bundle adjustment needs at least 2 cameras, got {len(rig)}")
    if fixed_camera is not None and known_length is not None:
        raise InputError("give either fixed_camera or known_length to fix the scale, not both")
    ref = _index(rig, reference)
    scale_cam = _index(rig, fixed_camera) if fixed_camera is not None else (1 if ref == 0 else 0)
    if scale_cam == ref:
        raise InputError(f"fixed camera {rig[scale_cam].name!r} is the reference camera; choose another")
    init = triangulate_linear(uv, rig, w) if points3d is None else _check_points(points3d, uv.shape[1])
    obs = observations(uv, w, valid_points=np.isfinite(init).all(axis=1))
    if obs.count == 0:
        raise InputError("no point is seen by 2 or more cameras; nothing to adjust")
    problem = BundleProblem(rig, obs, init, ref, scale_cam, "fixed" if fixed_camera is not None else "sphere",
                            refine_focal)
    x0 = problem.x0()
    initial_rms = problem.rms(x0)
    fit = least_squares(problem.residuals, x0, jac_sparsity=problem.jac_sparsity(), method="trf",
                        loss=loss, f_scale=f_scale, x_scale="jac", max_nfev=max_nfev, verbose=verbose)
    new_rig, points = problem.unpack(fit.x)
    if known_length is not None:
        new_rig, points = _rescale(new_rig, points, ref, known_length)
    final_rms = problem.rms(fit.x)
    log.info("bundle adjustment: %d observations, RMS %.3f -> %.3f px in %d evaluations (%s)", obs.count,
             initial_rms, final_rms, fit.nfev, fit.message)
    return BundleResult(new_rig, points, initial_rms, final_rms, int(fit.nfev), obs.count, str(fit.message))


def _rescale(rig: CameraRig, points: np.ndarray, ref: int, known_length: tuple[Any, Any, float]
             ) -> tuple[CameraRig, np.ndarray]:
    """Scale the world about the reference camera centre so that mean |X_i - X_j| = known length."""
    i, j, metres = known_length
    i, j = np.atleast_1d(np.asarray(i)), np.atleast_1d(np.asarray(j))
    n = len(points)
    if i.shape != j.shape or not (np.issubdtype(i.dtype, np.integer) and np.issubdtype(j.dtype, np.integer)):
        raise InputError(f"known_length indices must be integers of one shape, got {i.shape} and {j.shape}")
    if i.size == 0 or i.min() < -n or j.min() < -n or i.max() >= n or j.max() >= n:
        raise InputError(f"known_length indices must lie in [0, {n}) (the points' axis)")
    if not float(metres) > 0:
        raise InputError(f"known length must be positive, got {metres}")
    d = np.linalg.norm(points[i] - points[j], axis=-1)
    d = d[np.isfinite(d)]
    if d.size == 0 or d.mean() <= 0:
        raise InputError("the known-length points were not reconstructed (seen in < 2 views)")
    s = float(metres) / d.mean()
    c0 = rig[ref].center
    cams = [cam if k == ref else cam.with_pose(cam.R, -cam.R @ (c0 + s * (cam.center - c0)))
            for k, cam in enumerate(rig)]
    return CameraRig(tuple(cams), rig.metadata), c0 + s * (points - c0)


def _check_inputs(points2d: Any, weights: Any, n_cameras: int) -> tuple[np.ndarray, np.ndarray]:
    """-> (C, N, 2) px and (C, N) weights with 0 wherever a coordinate or weight is missing."""
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


def _check_points(points3d: Any, n: int) -> np.ndarray:
    points = np.asarray(points3d, dtype=np.float64)
    if points.shape != (n, 3):
        raise InputError(f"initial points3d must have shape ({n}, 3), got {points.shape}")
    return points


def _index(rig: CameraRig, key: int | str) -> int:
    if isinstance(key, str):
        if key not in rig.names:
            raise InputError(f"no camera named {key!r}; the rig has {', '.join(rig.names)}")
        return rig.names.index(key)
    if not -len(rig) <= key < len(rig):
        raise InputError(f"camera index {key} out of range for {len(rig)} cameras")
    return int(key) % len(rig)
