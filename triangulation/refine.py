"""Levenberg-Marquardt refinement of the pixel reprojection error, batched over points.

Minimises, per point, ``E(X) = sum_c w_c^2 |S_c (pi_c(X) - x_c)|^2`` over the inlier views, with
``pi_c`` the pinhole projection to normalised coordinates, ``x_c`` the undistorted observation,
``S_c`` the pixel-whitening map of the observation (distortion to first order, see
:mod:`spine3d.triangulation.reprojection`) and ``w_c`` the detector confidence (the DLT's row weight).

The Jacobian is analytic: in the camera frame ``d pi / d X_cam = (1/z) [[1, 0, -u], [0, 1, -v]]``,
so ``J_cam = S d pi / d X_cam`` is a 2x3 matrix per view; the normal matrix is
``H = sum_c R_c^T (J_cam^T J_cam) R_c`` and the gradient ``g = sum_c R_c^T J_cam^T r``. The
rotations are constant per camera, so both sums are one small matrix product over all views
(:func:`rotation_maps`). Each point keeps its own damping; a step is accepted only when it lowers
E and keeps the point in front of its cameras, so E never increases.
"""

from __future__ import annotations

import numpy as np

from spine3d.triangulation.reprojection import camera_points
from spine3d.triangulation.solve3 import symmetric3_solution
from spine3d.calibration.views import RigConstants, Views

INITIAL_DAMPING = 1e-3  # lambda of (H + lambda diag(H)) at the first step
_UP3 = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))  # order of symmetric 3x3 entries


def refine(const: RigConstants, views: Views, points: np.ndarray, inliers: np.ndarray,
           iterations: int, compiled: bool = False) -> np.ndarray:
    """Refine points on their inlier views.

    Args:
        const: rig constants.
        views: observations (with whitening maps).
        points: (3, n) m world, the starting points (NaN ones stay NaN).
        inliers: (C, n) bool, the views to fit.
        iterations: LM iterations.
        compiled: run the same steps in the compiled loop (:mod:`.refine_kernel`, blocks of points; the
            same points to rounding); False: this numpy reference.

    Returns:
        (3, n) m world, refined points (never with a larger weighted error than the start).
    """
    maps = views.whiten * np.where(inliers, views.confidence, 0.0)  # (4, C, n): w S
    used = inliers & (views.confidence > 0)
    if compiled:
        from spine3d.triangulation.refine_kernel import refine_points  # numba: imported on first use

        return refine_points(const.pose, views.x, views.y, maps, used, points, iterations, INITIAL_DAMPING)
    rot_h, rot_g = rotation_maps(const.R)
    state = evaluate(const, views, maps, used, points)
    damping = np.full(points.shape[1], INITIAL_DAMPING)
    for _ in range(iterations):  # loop over iterations, not points
        trial = points + lm_step(maps, state, rot_h, rot_g, damping)
        trial_state = evaluate(const, views, maps, used, trial)
        accept = trial_state["cost"] < state["cost"]  # False for NaN / inf
        points = np.where(accept, trial, points)
        state = {k: np.where(accept, trial_state[k], v) for k, v in state.items()}
        damping = np.where(accept, damping * 0.1, damping * 10.0)
    return points


def evaluate(const: RigConstants, views: Views, maps: np.ndarray, used: np.ndarray,
             points: np.ndarray) -> dict[str, np.ndarray]:
    """Projection quantities at ``points`` (3, n): inv_z, u, v, weighted residuals r0, r1 (C, n), cost (n,) px^2.

    The cost is inf where the point is behind a used camera or not finite.
    """
    cam = camera_points(const, points)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inv_z = 1.0 / cam[:, 2]
        u, v = cam[:, 0] * inv_z, cam[:, 1] * inv_z
        du, dv = u - views.x, v - views.y
        s00, s01, s10, s11 = maps
        r0, r1 = s00 * du + s01 * dv, s10 * du + s11 * dv
        cost = (r0 * r0 + r1 * r1).sum(axis=0)
    bad = (used & ~(cam[:, 2] > 0)).any(axis=0) | ~np.isfinite(cost)
    return {"inv_z": inv_z, "u": u, "v": v, "r0": r0, "r1": r1, "cost": np.where(bad, np.inf, cost)}


def lm_step(maps: np.ndarray, state: dict[str, np.ndarray], rot_h: np.ndarray, rot_g: np.ndarray,
            damping: np.ndarray) -> np.ndarray:
    """(3, n) step solving (H + damping diag(H)) step = -g (see module docstring)."""
    s00, s01, s10, s11 = maps
    iz, u, v, r0, r1 = state["inv_z"], state["u"], state["v"], state["r0"], state["r1"]
    with np.errstate(invalid="ignore", over="ignore"):
        a0, b0 = s00 * iz, s01 * iz  # row 0 of J_cam: (a0, b0, c0)
        c0 = -(a0 * u + b0 * v)
        a1, b1 = s10 * iz, s11 * iz  # row 1: (a1, b1, c1)
        c1 = -(a1 * u + b1 * v)
        cols = ((a0, a1), (b0, b1), (c0, c1))
        jtj = np.stack([cols[i][0] * cols[j][0] + cols[i][1] * cols[j][1] for i, j in _UP3], axis=1)  # (C, 6, n)
        jtr = np.stack([p * r0 + q * r1 for p, q in cols], axis=1)  # (C, 3, n)
    # stacked per-camera products, then a sum over cameras (one big 2D product would go through a
    # multi-threaded BLAS call whose thread start-up costs more than the product itself)
    h = np.matmul(rot_h, jtj).sum(axis=0)  # (6, n)
    g = np.matmul(rot_g, jtr).sum(axis=0)  # (3, n)
    scale = 1.0 + damping
    return -solve_symmetric3(h[0] * scale, h[1], h[2], h[3] * scale, h[4], h[5] * scale, g)


def rotation_maps(R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear maps taking per-camera camera-frame quantities to world-frame sums.

    Args:
        R: (C, 3, 3) world->camera rotations.

    Returns:
        rot_h: (C, 6, 6), ``H = sum_c rot_h[c] @ A[c]`` with A (C, 6, n) symmetric camera-frame
            matrices and H = sum_c R_c^T A_c R_c, both as 6 upper-triangle entries.
        rot_g: (C, 3, 3), ``g = sum_c rot_g[c] @ b[c]`` = sum_c R_c^T b_c for b (C, 3, n).
    """
    rot_h = np.zeros((len(R), 6, 6))
    for out, (i, j) in enumerate(_UP3):
        for m, (k, l) in enumerate(_UP3):
            rot_h[:, out, m] = R[:, k, i] * R[:, l, j] + (R[:, l, i] * R[:, k, j] if k != l else 0.0)
    return rot_h, np.ascontiguousarray(R.transpose(0, 2, 1))


def solve_symmetric3(h00, h01, h02, h11, h12, h22, g: np.ndarray) -> np.ndarray:
    """Solve symmetric 3x3 systems H x = g by the adjugate (Cramer); entries (n,), g (3, n) -> (3, n)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.stack(symmetric3_solution(h00, h01, h02, h11, h12, h22, *g))
