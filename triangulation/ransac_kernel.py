"""Compiled stages of RANSAC, with numba: the loop forms of :func:`spine3d.triangulation.ransac.consensus`
(every camera pair: rigs with at most ``max_pair_views`` cameras), :func:`spine3d.triangulation.ransac.refit`
(the weighted refit and inlier re-selection) and :func:`spine3d.triangulation.ransac.unchecked_views` (the
leave-one-out check).

Each takes blocks of points through the numpy function's steps, each step one branch-free loop over the
block (as :mod:`.kernel`): a pair hypothesis is the adjugate solve of the two views' summed normal matrices
(:func:`spine3d.calibration.dlt.solve_normal` with no power steps, the linear kernel's
:func:`spine3d.triangulation.kernel.solve_block`), scored by its views' first-order pixel errors through
the whitening maps, the winner and its rivals chosen by the same rules in the same pair order; a refit
solves the inliers' summed normal matrices and re-selects the views within the threshold by the same
rules; the leave-one-out prediction is the other inliers' solve, projected into the left-out camera. The numpy
functions stay the reference (``TriangulationOptions.compiled = False``); the tests check that both give
the same points to rounding, inliers, ambiguity and flags. Compiled once per installation and releasing the GIL.
"""

from __future__ import annotations

import numpy as np

from spine3d.calibration.lens.compiled import finite, inline, jit
from spine3d.triangulation.kernel import solve_block

_BLOCK = 256  # points per pass (their temporaries stay in L1 / L2)


def pair_consensus(normals: np.ndarray, usable: np.ndarray, x: np.ndarray, y: np.ndarray, whiten: np.ndarray,
                   pose: np.ndarray, center: np.ndarray, scale: float, threshold: float, max_cos2: float,
                   rival_distance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best hypothesis over every camera pair per point (see :func:`spine3d.triangulation.ransac.consensus`).

    Args:
        normals: (C, 10, n) per-view normal matrices; usable: (C, n) bool.
        x, y: (C, n) undistorted normalised observations; whiten: (4, C, n) their pixel-whitening maps.
        pose: (C, 3, 4) [R | t] world -> camera, m; center (3,) m and scale m: the conditioning.
        threshold: px; max_cos2: the squared cosine of the smallest angle between a pair's rays;
        rival_distance: thresholds (0: never ambiguous).

    Returns:
        points (3, n) m (NaN: no valid hypothesis), inliers (C, n) bool, ambiguous (n,) bool.
    """
    cams, n = usable.shape
    first, second = np.triu_indices(cams, 1)  # itertools.combinations order
    points, inliers, ambiguous = np.empty((3, n)), np.empty((cams, n), dtype=np.bool_), np.empty(n, dtype=np.bool_)
    _consensus(normals, usable, x, y, whiten, np.ascontiguousarray(pose), np.ascontiguousarray(center), float(scale),
               float(threshold), float(max_cos2), float(rival_distance), first, second, points, inliers, ambiguous)
    return points, inliers, ambiguous


def refit_points(normals: np.ndarray, usable: np.ndarray, x: np.ndarray, y: np.ndarray, whiten: np.ndarray,
                 pose: np.ndarray, center: np.ndarray, scale: float, points: np.ndarray, inliers: np.ndarray,
                 threshold: float, rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """The confidence-weighted refit of each point's inliers, ``rounds`` of re-selection, and the final check
    (see :func:`spine3d.triangulation.ransac.refit`; arguments as :func:`pair_consensus`).

    Args:
        points: (3, n) m, the hypotheses; inliers: (C, n) bool, theirs.

    Returns:
        points (3, n) m and inliers (C, n) bool.
    """
    fit, chosen = np.empty_like(points), np.array(inliers, dtype=np.bool_, order="C")
    _refit(normals, usable, x, y, whiten, np.ascontiguousarray(pose), np.ascontiguousarray(center), float(scale),
           np.ascontiguousarray(points), float(threshold) ** 2, int(rounds), fit, chosen)
    return fit, chosen


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


@inline
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


@jit
def _consensus(normals, usable, x, y, whiten, pose, center, scale, threshold, max_cos2, rival_distance, first,
               second, points, inliers, ambiguous):
    cams, n = usable.shape
    pairs = first.shape[0]
    thr2 = threshold * threshold
    rays, m = np.empty((cams, 3, _BLOCK)), np.empty((10, _BLOCK))
    keys, hyp = np.empty((pairs, _BLOCK)), np.empty((pairs, 3, _BLOCK))
    err2, agree = np.empty((pairs, cams, _BLOCK)), np.empty((pairs, cams, _BLOCK), dtype=np.bool_)
    for start in range(0, n, _BLOCK):  # compiled loop over blocks of points
        k = min(_BLOCK, n - start)
        block = slice(start, start + k)
        for c in range(cams):  # loop over cameras: unit viewing rays, world frame
            _rays(pose[c], x[c, block], y[c, block], rays[c], k)
        for h in range(pairs):  # loop over camera pairs: hypothesis, its errors and inliers, its score
            a, b = first[h], second[h]
            for e in range(10):
                for i in range(k):
                    m[e, i] = normals[a, e, start + i] + normals[b, e, start + i]
            solve_block(m, center, scale, hyp[h], k)
            for c in range(cams):
                _hypothesis_errors(hyp[h], pose[c], x[c, block], y[c, block], whiten[0, c, block],
                                   whiten[1, c, block], whiten[2, c, block], whiten[3, c, block], usable[c, block],
                                   thr2, err2[h, c], agree[h, c], k)
            _score(agree[h], err2[h], rays[a], rays[b], max_cos2, thr2, a, b, keys[h], k)
        _choose(keys, hyp, err2, agree, threshold, rival_distance, points[:, block], inliers[:, block],
                ambiguous[block], k)


@jit
def _rays(pose, x, y, rays, n):
    """rays (3, n): R^T (x, y, 1), normalised (:func:`spine3d.triangulation.ransac.ray_directions`)."""
    for i in range(n):
        r0 = pose[0, 0] * x[i] + pose[1, 0] * y[i] + pose[2, 0]
        r1 = pose[0, 1] * x[i] + pose[1, 1] * y[i] + pose[2, 1]
        r2 = pose[0, 2] * x[i] + pose[1, 2] * y[i] + pose[2, 2]
        norm = np.sqrt(r0 * r0 + r1 * r1 + r2 * r2)
        rays[0, i], rays[1, i], rays[2, i] = r0 / norm, r1 / norm, r2 / norm


@jit
def _hypothesis_errors(p, pose, x, y, s00, s01, s10, s11, usable, thr2, err2, agree, n):
    """One camera: the squared first-order pixel errors (n,) of the hypotheses p (3, n), and whether the view
    agrees (usable, within the threshold, in front)."""
    r00, r01, r02, t0 = pose[0, 0], pose[0, 1], pose[0, 2], pose[0, 3]
    r10, r11, r12, t1 = pose[1, 0], pose[1, 1], pose[1, 2], pose[1, 3]
    r20, r21, r22, t2 = pose[2, 0], pose[2, 1], pose[2, 2], pose[2, 3]
    for i in range(n):
        z = r20 * p[0, i] + r21 * p[1, i] + r22 * p[2, i] + t2
        inv_z = 1.0 / z
        du = (r00 * p[0, i] + r01 * p[1, i] + r02 * p[2, i] + t0) * inv_z - x[i]
        dv = (r10 * p[0, i] + r11 * p[1, i] + r12 * p[2, i] + t1) * inv_z - y[i]
        a, b = s00[i] * du + s01[i] * dv, s10[i] * du + s11[i] * dv
        e = a * a + b * b
        err2[i] = e
        agree[i] = usable[i] & (e < thr2) & (z > 0.0)  # NaN compares False


@jit
def _score(agree, err2, ray_a, ray_b, max_cos2, thr2, a, b, keys, n):
    """keys (n,): the inlier count less half the inliers' mean squared error in thresholds^2, -inf unless both
    views of the pair agree and their rays are at least the smallest angle apart."""
    for i in range(n):
        count, sq = 0, 0.0
        for c in range(agree.shape[0]):
            count += agree[c, i]
            sq += err2[c, i] if agree[c, i] else 0.0
        cos = ray_a[0, i] * ray_b[0, i] + ray_a[1, i] * ray_b[1, i] + ray_a[2, i] * ray_b[2, i]
        valid = agree[a, i] & agree[b, i] & (cos * cos <= max_cos2)
        keys[i] = count - 0.5 * sq / (max(count, 1) * thr2) if valid else -np.inf


@jit
def _choose(keys, hyp, err2, agree, threshold, rival_distance, points, inliers, ambiguous, n):
    """The first best-scoring hypothesis per point (points (3, n), inliers (C, n); NaN / none when no valid one)
    and whether it has a rival (:func:`spine3d.triangulation.ransac.rivals`)."""
    pairs, cams = agree.shape[0], agree.shape[1]
    far2, outside2 = (rival_distance * threshold) ** 2, 4.0 * threshold * threshold
    for i in range(n):
        best = 0
        for h in range(1, pairs):
            if keys[h, i] > keys[best, i]:
                best = h
        found = keys[best, i] > -np.inf
        count = 0
        for c in range(cams):
            inliers[c, i] = agree[best, c, i] & found
            count += inliers[c, i]
        for a in range(3):
            points[a, i] = hyp[best, a, i] if found else np.nan
        rival = False
        for h in range(pairs):
            counts, far, outside, different = 0, False, False, False
            for c in range(cams):
                counts += agree[h, c, i]
                seen = err2[h, c, i] if inliers[c, i] else 0.0
                far |= not seen <= far2  # NaN: far
                outside |= not seen <= outside2
                different |= agree[h, c, i] != inliers[c, i]
            valid = keys[h, i] > -np.inf
            rival |= valid & (counts == 2) & far & (count == 2)
            rival |= valid & (counts == count) & different & outside & (count >= 3)
        ambiguous[i] = found & rival & (rival_distance > 0.0)


@jit
def _refit(normals, usable, x, y, whiten, pose, center, scale, points, thr2, rounds, fit, inliers):
    """``fit`` (3, n) and ``inliers`` (C, n, in: the hypotheses' inliers) after the refit rounds, in blocks."""
    cams, n = usable.shape
    m, p = np.empty((10, _BLOCK)), np.empty((3, _BLOCK))
    err2, candidate = np.empty((cams, _BLOCK)), np.empty((cams, _BLOCK), dtype=np.bool_)
    every = np.ones(_BLOCK, dtype=np.bool_)  # refit every point (the last refit: only the changed ones)
    for start in range(0, n, _BLOCK):  # compiled loop over blocks of points
        k = min(_BLOCK, n - start)
        block = slice(start, start + k)
        f, chosen = fit[:, block], inliers[:, block]
        f[:, :] = points[:, block]
        _fit(normals[:, :, block], chosen, every, center, scale, m, p, f, k)
        for _ in range(rounds):  # loop over rounds of re-selection
            _candidates(f, pose, x[:, block], y[:, block], whiten[:, :, block], usable[:, block], thr2, err2,
                        candidate, k)
            for i in range(k):
                grow = 0
                for c in range(cams):
                    grow += candidate[c, i]
                    grow -= chosen[c, i]
                for c in range(cams):
                    chosen[c, i] = candidate[c, i] if grow >= 0 else chosen[c, i]
            _fit(normals[:, :, block], chosen, every, center, scale, m, p, f, k)
        _candidates(f, pose, x[:, block], y[:, block], whiten[:, :, block], usable[:, block], thr2, err2,
                    candidate, k)
        for i in range(k):  # the last selection: the views within the threshold of the final point
            changed = False
            for c in range(cams):
                changed |= candidate[c, i] != chosen[c, i]
            for c in range(cams):
                chosen[c, i] = candidate[c, i] if changed else chosen[c, i]
            candidate[0, i] = changed  # reused as the flag of the points refitted once more
        _fit(normals[:, :, block], chosen, candidate[0], center, scale, m, p, f, k)


@inline
def _fit(normals, inliers, where, center, scale, m, p, fit, n):
    """fit (3, n) = the weighted DLT of the inlier views, for the points ``where`` (n,) is True and the DLT
    finite (elsewhere kept)."""
    _sum_normals(normals, inliers, m, n)
    solve_block(m, center, scale, p, n)
    for i in range(n):
        ok = where[i] & finite(p[0, i]) & finite(p[1, i]) & finite(p[2, i])
        for a in range(3):
            fit[a, i] = p[a, i] if ok else fit[a, i]


@inline
def _sum_normals(normals, inliers, m, n):
    """m (10, n): the summed normal matrices of the inlier views (:func:`spine3d.triangulation.ransac.fit_inliers`)."""
    m[:, :n] = 0.0
    for c in range(normals.shape[0]):
        for e in range(10):
            for i in range(n):
                m[e, i] += normals[c, e, i] if inliers[c, i] else 0.0


@inline
def _candidates(p, pose, x, y, whiten, usable, thr2, err2, candidate, n):
    """candidate (C, n): the usable views within the threshold of the points p (3, n), in front."""
    for c in range(pose.shape[0]):
        _hypothesis_errors(p, pose[c], x[c], y[c], whiten[0, c], whiten[1, c], whiten[2, c], whiten[3, c],
                           usable[c], thr2, err2[c], candidate[c], n)
