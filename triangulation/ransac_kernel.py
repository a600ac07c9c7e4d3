"""Compiled leave-one-out check of a RANSAC consensus, with numba: the loop form of
:func:`spine3d.triangulation.ransac.unchecked_views`.

For every point with three or more inlier views and each of them: the confidence-weighted DLT of the
other inliers (their summed normal matrices, solved by the adjugate as :func:`spine3d.calibration.dlt.solve_normal`
with no power steps, the linear kernel's :func:`spine3d.triangulation.kernel.solve_block`), projected into the
left-out camera, must land within ``factor`` x threshold px (first-order pixel residual through the
whitening map) and in front of it. Blocks of 256 points go through each step as a branch-free loop
(as :mod:`.kernel`); the numpy function stays the reference (``TriangulationOptions.compiled = False``)
and the tests check the two flag the same points. Compiled once per installation and releasing the GIL.
"""

from __future__ import annotations

import numpy as np

from spine3d.calibration.lens.compiled import jit
from spine3d.triangulation.kernel import solve_block

_BLOCK = 256  # points per pass (their temporaries stay in L1 / L2)


def unchecked_points(normals: np.ndarray, inliers: np.ndarray, x: np.ndarray, y: np.ndarray, whiten: np.ndarray,
                     pose: np.ndarray, center: np.ndarray, scale: float, limit: float) -> np.ndarray:
    """(n,) bool: some inlier view of the point is not predicted by its other inliers.

    Args:
        normals: (C, 10, n) per-view normal matrices (conditioned, confidence-weighted).
        inliers: (C, n) bool.
        x, y: (C, n) undistorted normalised observations; whiten: (4, C, n) their pixel-whitening maps.
        pose: (C, 3, 4) [R | t] world -> camera, m; center (3,) m and scale m: the conditioning.
        limit: px^2, the largest squared first-order error of a predicted view.
    """
    flagged = np.zeros(inliers.shape[1], dtype=np.bool_)
    _unchecked(normals, inliers, x, y, whiten, np.ascontiguousarray(pose), np.ascontiguousarray(center),
               float(scale), float(limit), flagged)
    return flagged


@jit
def _unchecked(normals, inliers, x, y, whiten, pose, center, scale, limit, flagged):
    cams, n = inliers.shape
    total, m = np.empty((10, _BLOCK)), np.empty((10, _BLOCK))
    p, count = np.empty((3, _BLOCK)), np.empty(_BLOCK, dtype=np.int64)
    for first in range(0, n, _BLOCK):  # compiled loop over blocks of points
        k = min(_BLOCK, n - first)
        total[:, :k] = 0.0
        count[:k] = 0
        for c in range(cams):  # loop over cameras: the inliers' summed normal matrices
            for e in range(10):
                for i in range(k):
                    total[e, i] += normals[c, e, first + i] if inliers[c, first + i] else 0.0
            for i in range(k):
                count[i] += inliers[c, first + i]
        for c in range(cams):  # loop over cameras: leave each one out
            for e in range(10):
                for i in range(k):
                    m[e, i] = total[e, i] - normals[c, e, first + i]
            solve_block(m, center, scale, p, k)
            _predicts(p, pose[c], x[c, first:first + k], y[c, first:first + k], whiten[0, c, first:first + k],
                      whiten[1, c, first:first + k], whiten[2, c, first:first + k], whiten[3, c, first:first + k],
                      inliers[c, first:first + k], count, limit, flagged[first:first + k], k)


@jit
def _predicts(p, pose, x, y, s00, s01, s10, s11, inlier, count, limit, flagged, n):
    """flagged (n,) |= this inlier view of a point with three or more is not predicted by the others' point p (3, n)."""
    r00, r01, r02, t0 = pose[0, 0], pose[0, 1], pose[0, 2], pose[0, 3]
    r10, r11, r12, t1 = pose[1, 0], pose[1, 1], pose[1, 2], pose[1, 3]
    r20, r21, r22, t2 = pose[2, 0], pose[2, 1], pose[2, 2], pose[2, 3]
    for i in range(n):
        z = r20 * p[0, i] + r21 * p[1, i] + r22 * p[2, i] + t2
        du = (r00 * p[0, i] + r01 * p[1, i] + r02 * p[2, i] + t0) / z - x[i]
        dv = (r10 * p[0, i] + r11 * p[1, i] + r12 * p[2, i] + t1) / z - y[i]
        a, b = s00[i] * du + s01[i] * dv, s10[i] * du + s11[i] * dv
        predicted = (a * a + b * b <= limit) & (z > 0.0)  # False for NaN
        flagged[i] |= inlier[i] & (count[i] >= 3) & ~predicted
