"""Compiled Levenberg-Marquardt refinement, with numba: the loop form of :mod:`.refine`.

:func:`spine3d.triangulation.refine.refine` (numpy) makes ~60 passes over (C, n) arrays per iteration.
This kernel takes blocks of 256 points through the same steps, each step one branch-free loop over the
block with the block's temporaries in cache (as :mod:`.kernel` does for the linear methods): every view's
camera-frame point, weighted first-order residuals and the cost (:func:`.refine.evaluate`); the normal
matrix and gradient, here summed from each view's world-frame Jacobian rows ``J_cam R`` (the numpy path
rotates per-camera sums through :func:`.refine.rotation_maps`: the same matrices); the damped 3x3 solve
by the adjugate (the numpy path's own :func:`.solve3.symmetric3_solution`, compiled); the same acceptance
(a lower cost, never behind a used camera) and damping updates. The numpy path stays the reference
(``TriangulationOptions.compiled = False``); tests check the two give the same points to rounding and
the same statuses. Rounding differs in the last bits (fused multiply-adds, another summation order).
Compiled once per installation (``cache=True``) and releasing the GIL, so the chunks run on every worker
thread.
"""

from __future__ import annotations

import numpy as np

from spine3d.calibration.lens.compiled import inline, jit
from spine3d.triangulation.solve3 import symmetric3_solution

_solve3 = inline(symmetric3_solution)  # the numpy path's own adjugate solve, compiled


def refine_points(pose: np.ndarray, x: np.ndarray, y: np.ndarray, maps: np.ndarray, used: np.ndarray,
                  points: np.ndarray, iterations: int, damping: float) -> np.ndarray:
    """(3, n) m world: ``points`` after ``iterations`` LM steps (see :func:`spine3d.triangulation.refine.refine`).

    Args:
        pose: (C, 3, 4) [R | t], world -> camera, m.
        x, y: (C, n) undistorted normalised observations.
        maps: (4, C, n) the weighted whitening maps w S (rows s00, s01, s10, s11; 0 for views not fitted).
        used: (C, n) bool, the views fitted (a step must keep the point in front of them).
        points: (3, n) m world, the start (NaN points stay NaN).
        iterations: LM iterations; damping: the initial damping of every point.
    """
    out = np.empty_like(points)
    _refine(np.ascontiguousarray(pose), x, y, maps, used, points, iterations, damping, out)
    return out


_BLOCK = 256  # points per pass of the kernel's stages (their temporaries stay in L1 / L2)


@jit
def _refine(pose, x, y, maps, used, points, iterations, damping0, out):
    """Stages over blocks of points, each a branch-free loop over the block (SIMD), as in :mod:`.kernel`."""
    cams = x.shape[0]
    state = np.empty((5, cams, _BLOCK))  # inv_z, u, v, r0, r1 per view at the current point
    trial = np.empty((5, cams, _BLOCK))  # the same at the trial point
    p, q, h = np.empty((3, _BLOCK)), np.empty((3, _BLOCK)), np.empty((9, _BLOCK))  # h: H (6) and g (3)
    cost, trial_cost, damping = np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK)
    better = np.empty(_BLOCK, dtype=np.bool_)
    for first in range(0, x.shape[1], _BLOCK):  # compiled loop over blocks of points
        n = min(_BLOCK, x.shape[1] - first)
        for i in range(n):
            p[0, i], p[1, i], p[2, i] = points[0, first + i], points[1, first + i], points[2, first + i]
            damping[i] = damping0
        _cost(pose, x, y, maps, used, first, n, p, state, cost)
        for _ in range(iterations):  # loop over LM iterations
            h[:, :n] = 0.0
            for c in range(cams):  # loop over cameras: normal matrix and gradient
                _normal_equations(pose[c], maps[:, c, first:first + n], state[:, c], h, n)
            _step(p, h, damping, q, n)
            _cost(pose, x, y, maps, used, first, n, q, trial, trial_cost)
            _accept(p, q, state, trial, cost, trial_cost, damping, better, n)
        for i in range(n):
            out[0, first + i], out[1, first + i], out[2, first + i] = p[0, i], p[1, i], p[2, i]


@inline
def _cost(pose, x, y, maps, used, first, n, p, state, cost):
    """state (5, C, n): inv_z, u, v, r0, r1 of every view at the points p (3, n); cost (n,) px^2 (inf: behind a
    used camera, or not finite; :func:`spine3d.triangulation.refine.evaluate`)."""
    cost[:n] = 0.0
    block = slice(first, first + n)
    for c in range(pose.shape[0]):  # loop over cameras
        _view_cost(pose[c], x[c, block], y[c, block], maps[0, c, block], maps[1, c, block], maps[2, c, block],
                   maps[3, c, block], used[c, block], p[0], p[1], p[2], state[0, c], state[1, c], state[2, c],
                   state[3, c], state[4, c], cost, n)
    for i in range(n):
        cost[i] = cost[i] if cost[i] - cost[i] == 0.0 else np.inf  # NaN and inf: inf


@inline
def _view_cost(pose, x, y, s00, s01, s10, s11, used, p0, p1, p2, inv_z, u, v, r0, r1, cost, n):
    """One camera: its view state at the points (p0, p1, p2) (n,) each, and its share of their cost."""
    r00, r01, r02, t0 = pose[0, 0], pose[0, 1], pose[0, 2], pose[0, 3]
    r10, r11, r12, t1 = pose[1, 0], pose[1, 1], pose[1, 2], pose[1, 3]
    r20, r21, r22, t2 = pose[2, 0], pose[2, 1], pose[2, 2], pose[2, 3]
    for i in range(n):
        zc = r20 * p0[i] + r21 * p1[i] + r22 * p2[i] + t2
        iz = 1.0 / zc
        ui = (r00 * p0[i] + r01 * p1[i] + r02 * p2[i] + t0) * iz
        vi = (r10 * p0[i] + r11 * p1[i] + r12 * p2[i] + t1) * iz
        du, dv = ui - x[i], vi - y[i]
        a, b = s00[i] * du + s01[i] * dv, s10[i] * du + s11[i] * dv
        inv_z[i], u[i], v[i], r0[i], r1[i] = iz, ui, vi, a, b
        behind = used[i] & ~(zc > 0.0)
        cost[i] += np.inf if behind else a * a + b * b


@inline
def _normal_equations(pose, maps, state, h, n):
    """One camera's share of H (6 upper entries) and g (3) into h (9, n): the world-frame Jacobian rows
    J_cam R of each point's weighted residual (:func:`spine3d.triangulation.refine.lm_step`)."""
    r00, r01, r02 = pose[0, 0], pose[0, 1], pose[0, 2]
    r10, r11, r12 = pose[1, 0], pose[1, 1], pose[1, 2]
    r20, r21, r22 = pose[2, 0], pose[2, 1], pose[2, 2]
    s00, s01, s10, s11 = maps[0], maps[1], maps[2], maps[3]
    inv_z, us, vs, e0, e1 = state[0], state[1], state[2], state[3], state[4]
    for i in range(n):
        iz, u, v, r0, r1 = inv_z[i], us[i], vs[i], e0[i], e1[i]
        a0, b0 = s00[i] * iz, s01[i] * iz
        c0 = -(a0 * u + b0 * v)
        a1, b1 = s10[i] * iz, s11[i] * iz
        c1 = -(a1 * u + b1 * v)
        x0 = a0 * r00 + b0 * r10 + c0 * r20
        y0 = a0 * r01 + b0 * r11 + c0 * r21
        z0 = a0 * r02 + b0 * r12 + c0 * r22
        x1 = a1 * r00 + b1 * r10 + c1 * r20
        y1 = a1 * r01 + b1 * r11 + c1 * r21
        z1 = a1 * r02 + b1 * r12 + c1 * r22
        h[0, i] += x0 * x0 + x1 * x1
        h[1, i] += x0 * y0 + x1 * y1
        h[2, i] += x0 * z0 + x1 * z1
        h[3, i] += y0 * y0 + y1 * y1
        h[4, i] += y0 * z0 + y1 * z1
        h[5, i] += z0 * z0 + z1 * z1
        h[6, i] += x0 * r0 + x1 * r1
        h[7, i] += y0 * r0 + y1 * r1
        h[8, i] += z0 * r0 + z1 * r1


@inline
def _step(p, h, damping, q, n):
    """q (3, n) = p - (H + damping diag(H))^-1 g (H: h[:6] upper entries, g: h[6:])."""
    for i in range(n):
        scale = 1.0 + damping[i]
        d0, d1, d2 = _solve3(h[0, i] * scale, h[1, i], h[2, i], h[3, i] * scale, h[4, i], h[5, i] * scale,
                             h[6, i], h[7, i], h[8, i])
        q[0, i], q[1, i], q[2, i] = p[0, i] - d0, p[1, i] - d1, p[2, i] - d2


@inline
def _accept(p, q, state, trial, cost, trial_cost, damping, better, n):
    """Keep the trial point and its view state where its cost is lower (False for NaN / inf); damping / 10
    there, x 10 elsewhere."""
    for i in range(n):
        better[i] = trial_cost[i] < cost[i]
        cost[i] = trial_cost[i] if better[i] else cost[i]
        damping[i] = damping[i] * 0.1 if better[i] else damping[i] * 10.0
    for a in range(3):
        for i in range(n):
            p[a, i] = q[a, i] if better[i] else p[a, i]
    for k in range(5):
        for c in range(state.shape[1]):
            for i in range(n):
                state[k, c, i] = trial[k, c, i] if better[i] else state[k, c, i]
