"""Bundle adjustment: refine camera poses (optionally focal lengths) and 3D points from 2D keypoints.

Solver: scipy's ``least_squares`` ("trf", ``x_scale="jac"``) with a sparse Jacobian pattern (a
residual depends only on its camera's parameters and its point's 3 coordinates; see
:mod:`spine3d.calibration.bundle_problem`), started from :func:`initial_points` (DLT robust to one bad view).

Outliers. Keypoint detectors make gross errors (swapped sides, another person), and a robust loss
alone is not enough: from a rig a few degrees off, every residual is far beyond a px-sized
``f_scale`` and the robust fit either crawls or settles where the outliers pull it. So the fit runs
in rounds: observations whose error exceeds ``max(outlier_factor * median error, min_threshold)``
are set aside (those dropped by :func:`initial_points` in the first round) and the rest fitted by
plain least squares (fast, a few iterations); the rounds stop when the inlier set is stable. A final
fit uses the robust ``loss`` (``f_scale`` px) on the inliers.

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
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy.optimize import least_squares

from spine3d.calibration.bundle_init import check_observations, initial_points, triangulate_linear
from spine3d.calibration.bundle_problem import BundleProblem, observations
from spine3d.calibration.rig import CameraRig
from spine3d.errors import InputError

__all__ = ["BundleResult", "bundle_adjust", "initial_points", "triangulate_linear"]

log = logging.getLogger(__name__)

LSMR_MAXITER = 100  # inner iterations per trust-region step (see _fit)

Loss = Literal["soft_l1", "huber", "cauchy", "arctan", "linear"]


@dataclass(frozen=True)
class BundleResult:
    """Refined rig and points.

    Attributes:
        rig: refined cameras (same order and names).
        points3d: (N, 3) m, world frame; NaN for points not reconstructed (seen in < 2 views).
        initial_rms: RMS reprojection error of all observations before adjustment, px (unweighted).
        final_rms: RMS reprojection error of the inlier observations after adjustment, px.
        iterations: residual evaluations of the optimiser (``nfev``, all rounds).
        n_observations: 2D observations kept as inliers.
        n_outliers: observations set aside as outliers.
        inliers: (C, N) bool, the observations of the final fit.
        message: the final fit's termination message.
    """

    rig: CameraRig
    points3d: np.ndarray
    initial_rms: float
    final_rms: float
    iterations: int
    n_observations: int
    n_outliers: int
    inliers: np.ndarray
    message: str


def bundle_adjust(rig: CameraRig, points2d: Any, weights: Any = None, *, reference: int | str = 0,
                  fixed_camera: int | str | None = None, known_length: tuple[Any, Any, float] | None = None,
                  refine_focal: bool = False, points3d: Any = None, loss: Loss = "soft_l1",
                  f_scale: float = 2.0, outlier_factor: float = 5.0, min_threshold: float = 4.0,
                  max_rounds: int = 8, max_nfev: int = 100) -> BundleResult:
    """Refine the rig's poses (and focal lengths) and the 3D points (see module docstring).

    Args:
        rig: initial cameras (C >= 2); intrinsics and distortion are kept unless ``refine_focal``.
        points2d: (C, N, 2) px, NaN for missing (N points, e.g. frames x joints flattened).
        weights: optional (C, N) confidences >= 0; residuals are scaled by sqrt(weight).
        reference: camera (index or name) whose pose is held fixed.
        fixed_camera: optional second camera whose centre is held fixed (sets the scale).
        known_length: optional (i, j, metres): point indices (ints or (P,) arrays) and their distance.
        refine_focal: also refine one focal scale per camera (fx / fy ratio kept).
        points3d: optional (N, 3) m initial points; default :func:`initial_points`.
        loss: robust loss of the final fit; ``f_scale`` is its inlier scale, px.
        outlier_factor, min_threshold: outlier threshold = max(factor x median error, min_threshold px).
        max_rounds: cap on outlier-rejection rounds. max_nfev: cap on evaluations of each fit.
    """
    uv, w = check_observations(points2d, weights, len(rig))
    ref, scale_cam = _gauge_cameras(rig, reference, fixed_camera, known_length)
    pairs = None if known_length is None else _known_pairs(known_length, uv.shape[1])
    if points3d is None:
        init, used = initial_points(uv, rig, w)
    else:
        init, used = _check_points(points3d, uv.shape[1]), w > 0
    depth = np.stack([cam.world_to_camera(init)[:, 2] for cam in rig])  # (C, N) m
    w = np.where(depth > 0, w, 0.0)  # a view behind its camera has no meaningful projection
    obs = observations(uv, w, valid_points=np.isfinite(init).all(axis=1))
    if obs.count == 0:
        raise InputError("no point is seen by 2 or more cameras with a valid initial position; nothing to adjust")
    problem = BundleProblem(rig, obs, init, ref, scale_cam, "fixed" if fixed_camera is not None else "sphere",
                            refine_focal)
    x, initial_rms = problem.x0(), problem.rms(problem.x0())
    keep = used[obs.cam, obs.point_index[obs.point]]
    x, keep, result = _solve(problem, x, keep, loss, f_scale, outlier_factor, min_threshold, max_rounds, max_nfev)
    new_rig, points = problem.unpack(x)
    points[obs.point_index[np.bincount(obs.point[keep], minlength=len(obs.point_index)) < 2]] = np.nan
    if pairs is not None:
        new_rig, points = _rescale(new_rig, points, ref, pairs)
    errors = np.linalg.norm(problem.reprojection(x), axis=-1)[keep]
    final_rms = float(np.sqrt(np.mean(errors**2)))
    log.info("bundle adjustment: %d inlier observations (%d outliers), RMS %.3f -> %.3f px, %d evaluations",
             keep.sum(), obs.count - keep.sum(), initial_rms, final_rms, result.nfev)
    inliers = np.zeros(uv.shape[:2], dtype=bool)
    inliers[obs.cam[keep], obs.point_index[obs.point[keep]]] = True
    return BundleResult(new_rig, points, initial_rms, final_rms, result.nfev, int(keep.sum()),
                        int(obs.count - keep.sum()), inliers, str(result.message))


def _solve(problem: BundleProblem, x: np.ndarray, keep: np.ndarray, loss: str, f_scale: float, factor: float,
           min_threshold: float, max_rounds: int, max_nfev: int) -> tuple[np.ndarray, np.ndarray, Any]:
    """Outlier-rejection rounds of plain least squares, then the robust fit (module docstring).

    Returns the parameters, the (O,) inlier mask and the final ``least_squares`` result, whose
    ``nfev`` counts the evaluations of all rounds.
    """
    sparsity, nfev = problem.jac_sparsity(), 0
    for round_ in range(max_rounds):  # a handful of rounds, each a vectorised fit
        errors = np.linalg.norm(problem.reprojection(x), axis=-1)  # (O,) px
        if not keep.any():
            break
        threshold = max(factor * float(np.median(errors[keep])), min_threshold)
        new_keep = _enough_views((errors < threshold) & (keep if round_ == 0 else True), problem.obs.point)
        if round_ > 0 and np.array_equal(new_keep, keep):
            break
        keep = new_keep
        result = _fit(problem, x, sparsity, keep, "linear", 1.0, max_nfev)
        x, nfev = result.x, nfev + result.nfev
        log.debug("bundle round %d: threshold %.2f px, %d inliers", round_, threshold, keep.sum())
    if not keep.any():
        raise InputError("bundle adjustment found no inlier observations; are the cameras and points2d consistent?")
    result = _fit(problem, x, sparsity, keep, loss, f_scale, max_nfev)
    result.nfev += nfev
    return result.x, keep, result


def _enough_views(keep: np.ndarray, point: np.ndarray) -> np.ndarray:
    """(O,) keep mask without the observations of points left with fewer than 2 kept views."""
    return keep & (np.bincount(point[keep], minlength=point.max() + 1) >= 2)[point]


def _fit(problem: BundleProblem, x: np.ndarray, sparsity: Any, keep: np.ndarray, loss: str, f_scale: float,
         max_nfev: int) -> Any:
    """One ``least_squares`` run on the kept observations (others get zero residuals)."""
    mask = np.repeat(keep, 2).astype(np.float64)  # (2 O,) residuals come in (u, v) pairs
    # LSMR (trf's solver for sparse Jacobians) may take thousands of inner iterations on some steps;
    # capping them keeps each step cheap (inexact Newton) at the price of a few more outer steps.
    return least_squares(lambda v: problem.residuals(v) * mask, x, jac_sparsity=sparsity, method="trf", loss=loss,
                         f_scale=f_scale, x_scale="jac", max_nfev=max_nfev, tr_options={"maxiter": LSMR_MAXITER})


def _gauge_cameras(rig: CameraRig, reference: int | str, fixed_camera: int | str | None,
                   known_length: Any) -> tuple[int, int]:
    """-> (reference index, scale camera index), validated."""
    if len(rig) < 2:
        raise InputError(f"bundle adjustment needs at least 2 cameras, got {len(rig)}")
    if fixed_camera is not None and known_length is not None:
        raise InputError("give either fixed_camera or known_length to fix the scale, not both")
    ref = _index(rig, reference)
    scale_cam = _index(rig, fixed_camera) if fixed_camera is not None else (1 if ref == 0 else 0)
    if scale_cam == ref:
        raise InputError(f"fixed camera {rig[scale_cam].name!r} is the reference camera; choose another")
    gaps = np.linalg.norm(rig.centers[:, None] - rig.centers[None], axis=-1) + np.eye(len(rig))
    if gaps.min() < 1e-6:
        a, b = np.unravel_index(np.argmin(gaps), gaps.shape)
        raise InputError(f"cameras {rig[a].name!r} and {rig[b].name!r} have the same centre; bundle adjustment "
                         "needs an initial rig with poses (e.g. from `spine3d calibrate extrinsics`)")
    return ref, scale_cam


def _known_pairs(known_length: tuple[Any, Any, float], n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate ``(i, j, metres)`` against N = ``n`` points -> ((P,) int, (P,) int, metres)."""
    if len(known_length) != 3:
        raise InputError(f"known_length must be (i, j, metres), got {known_length!r}")
    i, j = (np.atleast_1d(np.asarray(v)) for v in known_length[:2])
    integers = np.issubdtype(i.dtype, np.integer) and np.issubdtype(j.dtype, np.integer)
    if i.shape != j.shape or i.ndim != 1 or not integers:
        raise InputError(f"known_length indices must be integer arrays of one shape, got {i.shape} and {j.shape}")
    if i.size == 0 or min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n:
        raise InputError(f"known_length indices must lie in [0, {n}) (the points' axis)")
    metres = float(known_length[2])
    if not metres > 0:
        raise InputError(f"known length must be positive, got {metres}")
    return i, j, metres


def _rescale(rig: CameraRig, points: np.ndarray, ref: int, pairs: tuple[np.ndarray, np.ndarray, float]
             ) -> tuple[CameraRig, np.ndarray]:
    """Scale the world about the reference camera centre so that mean |X_i - X_j| = known length."""
    i, j, metres = pairs
    d = np.linalg.norm(points[i] - points[j], axis=-1)
    d = d[np.isfinite(d)]
    if d.size == 0 or d.mean() <= 0:
        raise InputError("the known-length points were not reconstructed (seen in < 2 views)")
    s = metres / d.mean()
    c0 = rig[ref].center
    cams = [cam if k == ref else cam.with_pose(cam.R, -cam.R @ (c0 + s * (cam.center - c0)))
            for k, cam in enumerate(rig)]
    return replace(rig, cameras=tuple(cams)), c0 + s * (points - c0)


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
