"""RANSAC's inlier threshold, measured from the data's own residuals.

A fixed small pixel threshold fits each frame's noise with a different small view subset: the
reprojection error drops and the 3D jumps. A view should be dropped only when it disagrees with
the others by more than the detector's noise explains, so the threshold is ``noise_factor`` times
the noise scale sigma (px per image axis) measured on the data itself:

1. RANSAC on an evenly spaced sample of at most :data:`SAMPLE` points, starting from
   ``threshold`` px;
2. sigma from the points with at least three inlier views: each gives the unbiased estimate
   ``s^2 = sum of squared inlier errors / (2 n - 3)`` (2 n residuals, 3 unknowns), divided by the
   median of chi-square(2 n - 3) / (2 n - 3) so that its median over points is sigma^2 for
   Gaussian noise, whatever the mix of view counts; sigma^2 = the median over points (robust to
   the points whose inlier set still holds an outlier);
3. threshold = max(``threshold``, ``noise_factor`` sigma), and back to 1 until it changes by less
   than 2 % (at most :data:`ROUNDS` rounds). A threshold that was too small truncates the
   residuals and under-estimates sigma, so the threshold grows towards the noise; ``threshold``
   is the floor (noise-free input has sigma = 0).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import chi2

from spine3d.triangulation.config import TriangulationOptions
from spine3d.triangulation.status import OK

SAMPLE = 8192  # points in the sample (a median over thousands of points: sigma to about 1 / sqrt(n))
ROUNDS = 6  # at most (each round multiplies a truncated sigma estimate up towards the noise)
_CONVERGED = 0.02  # relative change of the threshold that ends the rounds


def inlier_threshold(solve: Callable[..., dict[str, np.ndarray]], uv: np.ndarray, conf: np.ndarray,
                     opts: TriangulationOptions) -> float:
    """px, the inlier threshold to use (``opts.threshold`` when ``threshold_from_data`` is off).

    Args:
        solve: ``solve(uv, conf, first_index=..., threshold=...)`` -> the output arrays of
            :func:`spine3d.triangulation.core.solve_chunk` (RANSAC).
        uv: (C, N, 2) px; conf: (C, N).
        opts: options (threshold, noise_factor, threshold_from_data).
    """
    if not opts.threshold_from_data:
        return opts.threshold
    n = uv.shape[1]
    sample = np.unique(np.linspace(0, n - 1, min(n, SAMPLE)).astype(np.int64))
    threshold = opts.threshold
    for _ in range(ROUNDS):  # loop over rounds of the fixed-point iteration
        out = solve(uv[:, sample], conf[:, sample], threshold=threshold)
        sigma = noise_scale(out["view_errors"], out["inliers"], out["status"] == OK)
        new = max(opts.threshold, opts.noise_factor * sigma) if np.isfinite(sigma) else threshold
        done = abs(new - threshold) <= _CONVERGED * threshold
        threshold = new
        if done:
            break
    return float(threshold)


def noise_scale(view_errors: np.ndarray, inliers: np.ndarray, ok: np.ndarray) -> float:
    """px per image axis, the detector noise sigma from solved points (see the module docstring).

    Args:
        view_errors: (C, n) px, exact reprojection errors.
        inliers: (C, n) bool, the views each point was fitted to.
        ok: (n,) bool, points to use (those with fewer than 3 inliers are left out).

    Returns:
        sigma, px; NaN when no point has three inlier views.
    """
    views = inliers.sum(axis=0)
    use = ok & (views >= 3)
    if not use.any():
        return float("nan")
    dof = 2 * views[use] - 3
    squared = np.where(inliers[:, use], view_errors[:, use], 0.0) ** 2
    s2 = squared.sum(axis=0) / dof
    return float(np.sqrt(np.median(s2 / (chi2.median(dof) / dof))))
