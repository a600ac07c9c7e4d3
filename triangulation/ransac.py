"""RANSAC over camera pairs, batched over points, and the confidence-weighted refit on the inliers.

Every point gets the same hypotheses: the 2-view DLT of each pair of its views (all pairs when
C <= ``max_pair_views``, else all pairs among a random ``max_pair_views`` of its usable views).
A hypothesis is valid when both of its views reproject within the threshold, the point is in
front of both cameras, and the two observed rays are at least ``min_ray_angle`` from parallel
(nearly parallel or anti-parallel rays, e.g. cameras facing each other, fix the depth poorly and
can agree with anything along the common line). Consensus: the most inliers, then the smallest
RMS inlier error (lexicographic; inlier counts are compared first so that a 2-view solution with
a tiny error never beats a larger agreeing camera set). Inliers are usable views whose
first-order pixel error is below the threshold.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from triangulation.dlt import solve_normal
from triangulation.reprojection import camera_points, squared_errors
from triangulation.views import RigConstants, Views

Index = int | np.ndarray  # a camera index, or (n,) camera indices (one per point)


def pair_indices(usable: np.ndarray, max_pair_views: int, rng: np.random.Generator) -> list[tuple[Index, Index]]:
    """Camera pairs to hypothesise from.

    Args:
        usable: (C, n) bool usable views.
        max_pair_views: all pairs when C <= this; otherwise pairs among this many views per point,
            drawn at random among its usable views.
        rng: random generator (only used when C > max_pair_views).

    Returns:
        list of (a, b): ints, or (n,) int arrays giving each point's two cameras.
    """
    cams = usable.shape[0]
    if cams <= max_pair_views:
        return list(combinations(range(cams), 2))
    keys = rng.random(usable.shape) + np.where(usable, 0.0, 2.0)  # usable views first, in random order
    order = np.argsort(keys, axis=0)[:max_pair_views]  # (V, n)
    return [(order[i], order[j]) for i, j in combinations(range(max_pair_views), 2)]


def take_view(values: np.ndarray, index: Index) -> np.ndarray:
    """values (C, ..., n) -> (..., n) at camera ``index`` (an int, or one camera per point)."""
    if isinstance(index, (int, np.integer)):
        return values[index]
    idx = index.reshape((1,) + (1,) * (values.ndim - 2) + index.shape)
    return np.take_along_axis(values, idx, axis=0)[0]


def ray_directions(const: RigConstants, views: Views) -> np.ndarray:
    """(C, 3, n) unit viewing rays of the observations, world frame."""
    rays = np.stack([views.x, views.y, np.ones_like(views.x)], axis=1)  # (C, 3, n) camera frame
    rays = np.matmul(const.R.transpose(0, 2, 1), rays)
    return rays / np.sqrt((rays * rays).sum(axis=1, keepdims=True))


def consensus(const: RigConstants, views: Views, normals: np.ndarray, threshold: float, min_ray_angle: float,
              max_pair_views: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Best pair hypothesis per point.

    Args:
        const: rig constants.
        views: observations (with whitening maps).
        normals: (C, 10, n) per-view DLT normal matrices (see :func:`triangulation.dlt.view_normal_matrices`).
        threshold: px, inlier reprojection error.
        min_ray_angle: deg, minimum angle between a pair's rays (and from 180 deg).
        max_pair_views: see :func:`pair_indices`.
        rng: random generator.

    Returns:
        points: (3, n) m, the winning hypothesis (NaN where none is valid).
        inliers: (C, n) bool, its inlier views (all False where none is valid).
    """
    thr2 = threshold * threshold
    max_cos2 = np.cos(np.radians(min_ray_angle)) ** 2
    rays = ray_directions(const, views)
    n = views.x.shape[1]
    best_key = np.full(n, -np.inf)
    best_points = np.full((3, n), np.nan)
    best_inliers = np.zeros(views.usable.shape, dtype=bool)
    for a, b in pair_indices(views.usable, max_pair_views, rng):  # loop over camera pairs
        points = solve_normal(const, take_view(normals, a) + take_view(normals, b), steps=1)
        err2 = squared_errors(views, camera_points(const, points))
        inliers = views.usable & (err2 < thr2)
        count = inliers.sum(axis=0)
        rms = np.sqrt(np.where(inliers, err2, 0.0).sum(axis=0) / np.maximum(count, 1))
        cos = (take_view(rays, a) * take_view(rays, b)).sum(axis=0)
        valid = take_view(inliers, a) & take_view(inliers, b) & (cos * cos <= max_cos2)
        key = np.where(valid, count - 0.5 * rms / threshold, -np.inf)  # count first, then error
        better = key > best_key
        best_key = np.where(better, key, best_key)
        best_points = np.where(better, points, best_points)
        best_inliers = np.where(better, inliers, best_inliers)
    return best_points, best_inliers


def refit(const: RigConstants, views: Views, normals: np.ndarray, points: np.ndarray, inliers: np.ndarray,
          threshold: float, rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidence-weighted DLT on the inliers, then ``rounds`` of inlier re-selection and refit.

    A re-selected inlier set replaces the previous one only when it is at least as large.

    Args:
        points: (3, n) m, the hypotheses; inliers: (C, n) bool, their inliers.
        normals: (C, 10, n) confidence-weighted per-view normal matrices.

    Returns:
        points (3, n) m and inliers (C, n) bool (hypothesis kept where the refit degenerates).
    """
    thr2 = threshold * threshold
    fit = _fit(const, normals, inliers, points)
    for _ in range(rounds):
        candidate = views.usable & (squared_errors(views, camera_points(const, fit)) < thr2)
        grow = candidate.sum(axis=0) >= inliers.sum(axis=0)
        inliers = np.where(grow, candidate, inliers)
        fit = _fit(const, normals, inliers, fit)
    return fit, inliers


def _fit(const: RigConstants, normals: np.ndarray, inliers: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    fit = solve_normal(const, (normals * inliers[:, None, :]).sum(axis=0))
    return np.where(np.isfinite(fit).all(axis=0), fit, fallback)
