"""RANSAC over camera pairs, batched over points, and the confidence-weighted refit on the inliers.

Hypotheses are the 2-view DLTs of pairs of a point's views: all pairs when C <= ``max_pair_views``,
else all pairs among ``max_pair_views`` of its usable views drawn at random (confident ones more
often). A hypothesis is valid when both of its views reproject within the threshold, the point is
in front of both cameras, and the two observed rays are at least ``min_ray_angle`` from parallel
(nearly parallel or anti-parallel rays, e.g. cameras facing each other, fix the depth poorly and
agree with anything along their common line). Inliers are usable views whose first-order pixel
error is below the threshold.

Consensus: the most inliers, then the smallest mean squared inlier error (lexicographic: counts
are compared first, so a 2-view solution with a tiny error never beats a larger agreeing set).
A 2-view consensus is ambiguous when another 2-view set agrees on a clearly different point: an
outlier that happens to lie near an inlier's epipolar line is then as credible as the true pair,
and the point is left out (status "ambiguous") rather than guessed.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from spine3d.calibration.dlt import POWER_STEPS, solve_normal
from spine3d.triangulation.reprojection import camera_points, squared_errors, whitened_residuals
from spine3d.calibration.views import RigConstants, Views

Index = int | np.ndarray  # a camera index, or (n,) camera indices (one per point)


def pair_indices(usable: np.ndarray, confidence: np.ndarray, max_pair_views: int, seed: int = 0,
                 first_index: int = 0) -> list[tuple[Index, Index]]:
    """Camera pairs to hypothesise from.

    Args:
        usable: (C, n) bool usable views.
        confidence: (C, n) their confidences (sampling weights).
        max_pair_views: all pairs when C <= this; otherwise pairs among this many views per point,
            drawn at random among its usable views with probabilities growing with confidence.
        seed: random seed (only used when C > max_pair_views).
        first_index: global index of the first point (the draws depend on the seed and on each
            point's global index only, not on how points are split into chunks).

    Returns:
        list of (a, b): ints, or (n,) int arrays giving each point's two cameras.
    """
    cams = usable.shape[0]
    if cams <= max_pair_views:
        return list(combinations(range(cams), 2))
    # weighted sampling without replacement (Efraimidis & Spirakis): key u^(1/w), largest first, so
    # confident views are drawn more often; unusable views come last
    with np.errstate(divide="ignore"):
        u = uniform_hash(seed, first_index + np.arange(usable.shape[1]), usable.shape[0])
        keys = np.where(usable, u ** (1.0 / np.maximum(confidence, 1e-12)), -1.0)
    order = np.argsort(-keys, axis=0)[:max_pair_views]  # (V, n)
    return [(order[i], order[j]) for i, j in combinations(range(max_pair_views), 2)]


def uniform_hash(seed: int, index: np.ndarray, cams: int) -> np.ndarray:
    """(C, n) counter-based uniform numbers in [0, 1): SplitMix64 of (seed, point index, camera)."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) * np.uint64(0xD1B54A32D192ED03)
             + index.astype(np.uint64)[None, :] * np.uint64(cams)
             + np.arange(cams, dtype=np.uint64)[:, None])
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2 ** 53)


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
              max_pair_views: int, seed: int = 0, first_index: int = 0,
              rival_distance: float = 10.0, compiled: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best pair hypothesis per point.

    Args:
        const: rig constants.
        views: observations (with whitening maps).
        normals: (C, 10, n) per-view DLT normal matrices (see :func:`spine3d.calibration.dlt.view_normal_matrices`).
        threshold: px, inlier reprojection error.
        min_ray_angle: deg, minimum angle between a pair's rays (and from 180 deg).
        max_pair_views, seed, first_index: see :func:`pair_indices`.
        rival_distance: thresholds; see ``ambiguous`` below (0: never ambiguous).
        compiled: with every pair hypothesised (2 <= C <= ``max_pair_views``), the same search in a compiled
            loop (:mod:`.ransac_kernel`); False: this numpy reference (also used when
            :mod:`spine3d.calibration.dlt` solves by power steps).

    Returns:
        points: (3, n) m, the winning hypothesis (NaN where none is valid).
        inliers: (C, n) bool, its inlier views (all False where none is valid).
        ambiguous: (n,) bool, the winner has a rival (:func:`rivals`): views agreeing by chance
            (an outlier on the epipolar line of an inlier) cannot be told from the true ones, so
            no answer is given.
    """
    thr2 = threshold * threshold
    max_cos2 = np.cos(np.radians(min_ray_angle)) ** 2
    if compiled and 2 <= len(const.R) <= max_pair_views and not POWER_STEPS:
        from spine3d.triangulation.ransac_kernel import pair_consensus  # numba: imported on first use

        return pair_consensus(normals, views.usable, views.x, views.y, views.whiten, const.pose, const.center,
                              const.scale, threshold, max_cos2, rival_distance)
    rays = ray_directions(const, views)
    keys, all_points, all_err2, all_inliers = [], [], [], []
    for a, b in pair_indices(views.usable, views.confidence, max_pair_views, seed, first_index):  # camera pairs
        points = solve_normal(const, take_view(normals, a) + take_view(normals, b))
        cam = camera_points(const, points)
        r0, r1 = whitened_residuals(views, cam)
        err2 = r0 * r0 + r1 * r1
        inliers = views.usable & (err2 < thr2) & (cam[:, 2] > 0)  # NaN compares False
        count = inliers.sum(axis=0)
        sq = np.where(inliers, err2, 0.0).sum(axis=0)
        cos = (take_view(rays, a) * take_view(rays, b)).sum(axis=0)
        valid = take_view(inliers, a) & take_view(inliers, b) & (cos * cos <= max_cos2)
        # count first, then the inliers' mean squared error (< thr2, so it never outweighs one view)
        keys.append(np.where(valid, count - 0.5 * sq / (np.maximum(count, 1) * thr2), -np.inf))
        all_points.append(points)
        all_err2.append(err2)
        all_inliers.append(inliers)
    n = views.x.shape[1]
    if not keys:  # fewer than two cameras
        return np.full((3, n), np.nan), np.zeros(views.usable.shape, dtype=bool), np.zeros(n, dtype=bool)
    keys, all_err2, all_inliers = np.stack(keys), np.stack(all_err2), np.stack(all_inliers)  # (P, n), (P, C, n)
    best = keys.argmax(axis=0)
    found = np.isfinite(keys.max(axis=0))
    points = np.where(found, np.take_along_axis(np.stack(all_points), best[None, None], axis=0)[0], np.nan)
    inliers = np.take_along_axis(all_inliers, best[None, None], axis=0)[0] & found
    return points, inliers, rivals(keys, all_inliers, all_err2, inliers, found, threshold, rival_distance)


def rivals(keys: np.ndarray, all_inliers: np.ndarray, all_err2: np.ndarray, inliers: np.ndarray, found: np.ndarray,
           threshold: float, rival_distance: float) -> np.ndarray:
    """(n,) bool: the winning consensus has a rival, so the point is ambiguous.

    Args:
        keys: (P, n) hypothesis scores (-inf: invalid); all_inliers: (P, C, n) their inliers;
            all_err2: (P, C, n) px^2 the squared error of each hypothesis' point in every view.
        inliers: (C, n) the winner's inliers; found: (n,) a winner exists.
        threshold: px; rival_distance: thresholds (0: never ambiguous).

    A 2-view winner's rival is another valid 2-view set whose point lies far (> rival_distance
    thresholds in one of the winner's views) - not a near-duplicate of the same point that a noisy
    view just missed. A winner of 3 or more views has a rival when another valid hypothesis has as
    many inliers, a different set, and a point more than twice the threshold away in one of the
    winner's views: an outlier consistent with two inliers (along their poorly constrained
    direction) ties with the true third view, and the tie cannot be told apart (a rival within
    twice the threshold is the same point seen through the noise of a view near the threshold).
    """
    counts = all_inliers.sum(axis=1)  # (P, n)
    count = inliers.sum(axis=0)
    winner_err2 = np.where(inliers, all_err2, 0.0)  # the hypotheses' points seen in the winner's views
    far = ~(winner_err2 <= (rival_distance * threshold) ** 2).all(axis=1)  # (P, n); NaN compares False
    outside = ~(winner_err2 <= 4.0 * threshold * threshold).all(axis=1)  # beyond twice the threshold
    different = (all_inliers != inliers[None]).any(axis=1)
    valid = np.isfinite(keys)
    pair_rival = valid & (counts == 2) & far & (count == 2)
    tie_rival = valid & (counts == count) & different & outside & (count >= 3)
    return found & (pair_rival | tie_rival).any(axis=0) & (rival_distance > 0)


def refit(const: RigConstants, views: Views, normals: np.ndarray, points: np.ndarray, inliers: np.ndarray,
          threshold: float, rounds: int, compiled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Confidence-weighted DLT on the inliers, then ``rounds`` of inlier re-selection and refit.

    A re-selected inlier set replaces the previous one only when it is at least as large. Last, the
    inliers are the views within the threshold of the final point, refitted once more: a set whose
    own refit leaves some of its views outside the threshold (an outlier that agreed with the
    hypothesis and pulled the refit away) is no consensus, and keeps only the views that fit.

    Args:
        points: (3, n) m, the hypotheses; inliers: (C, n) bool, their inliers.
        normals: (C, 10, n) confidence-weighted per-view normal matrices.
        compiled: the same rounds in a compiled loop (:mod:`.ransac_kernel`); False: this numpy reference
            (also used when :mod:`spine3d.calibration.dlt` solves by power steps).

    Returns:
        points (3, n) m and inliers (C, n) bool (hypothesis kept where the refit degenerates).
    """
    if compiled and not POWER_STEPS:
        from spine3d.triangulation.ransac_kernel import refit_points  # numba: imported on first use

        return refit_points(normals, views.usable, views.x, views.y, views.whiten, const.pose, const.center,
                            const.scale, points, inliers, threshold, rounds)
    thr2 = threshold * threshold
    fit = _fit(const, normals, inliers, points)
    for _ in range(rounds):
        candidate = views.usable & (squared_errors(views, camera_points(const, fit)) < thr2)
        grow = candidate.sum(axis=0) >= inliers.sum(axis=0)
        inliers = np.where(grow, candidate, inliers)
        fit = _fit(const, normals, inliers, fit)
    final = views.usable & (squared_errors(views, camera_points(const, fit)) < thr2)
    changed = (final != inliers).any(axis=0)
    if changed.any():
        inliers = np.where(changed, final, inliers)
        fit = np.where(changed, _fit(const, normals, inliers, fit), fit)
    return fit, inliers


def fit_inliers(const: RigConstants, normals: np.ndarray, inliers: np.ndarray) -> np.ndarray:
    """(3, n) m: the confidence-weighted DLT of the ``inliers`` (C, n) bool views (NaN where degenerate);
    normals (C, 10, n) per-view normal matrices."""
    return solve_normal(const, (normals * inliers[:, None, :]).sum(axis=0))


def _fit(const: RigConstants, normals: np.ndarray, inliers: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    fit = fit_inliers(const, normals, inliers)
    return np.where(np.isfinite(fit).all(axis=0), fit, fallback)


def unchecked_views(const: RigConstants, views: Views, normals: np.ndarray, inliers: np.ndarray, threshold: float,
                    factor: float = 2.0, compiled: bool = False) -> np.ndarray:
    """(n,) bool: some inlier view is not predicted by the other inliers (leave-one-out check).

    For each inlier view, the confidence-weighted DLT of the other inliers must reproject into it
    within ``factor`` x ``threshold`` px. A consensus of three where one view is an outlier that
    happens to agree with two inliers along their poorly constrained direction passes every
    pairwise test, and fails this one: without the outlier, the inliers' point (the true one)
    lands far from it. Points with fewer than three inliers are never flagged here (they have
    nothing to cross-check; :func:`spine3d.triangulation.checks.point_status` flags them).

    Args:
        normals: (C, 10, n) per-view normal matrices; inliers: (C, n) bool; threshold: px.
        compiled: the same check in a compiled loop (:mod:`.ransac_kernel`, the same flags); False: this numpy
            reference (also used when :mod:`spine3d.calibration.dlt` solves by power steps).
    """
    limit = (factor * threshold) ** 2
    if compiled and not POWER_STEPS:
        from spine3d.triangulation.ransac_kernel import unchecked_points  # numba: imported on first use

        return unchecked_points(normals, inliers, views.x, views.y, views.whiten, const.pose, const.center,
                                const.scale, limit)
    total = (normals * inliers[:, None, :]).sum(axis=0)
    flagged = np.zeros(inliers.shape[1], dtype=bool)
    three = inliers.sum(axis=0) >= 3
    for c in range(inliers.shape[0]):  # loop over cameras: leave each one out
        test = np.flatnonzero(inliers[c] & three)
        if not test.size:
            continue
        others = solve_normal(const, total[:, test] - normals[c][:, test])  # (3, k) m
        cam = const.R[c] @ others + const.t[c][:, None]  # (3, k) m, camera c's frame
        with np.errstate(invalid="ignore", divide="ignore"):
            du, dv = cam[0] / cam[2] - views.x[c, test], cam[1] / cam[2] - views.y[c, test]
        s00, s01, s10, s11 = views.whiten[:, c, test]
        r0, r1 = s00 * du + s01 * dv, s10 * du + s11 * dv
        flagged[test] |= ~((r0 * r0 + r1 * r1 <= limit) & (cam[2] > 0))  # NaN or behind flags too
    return flagged
