"""Geometric checks of a solved point: cheirality and the conditioning of its rays.

Cheirality: a point seen by a camera lies in front of it (z > 0 in its frame); a solution behind a
camera it uses is no point that camera saw (Hartley & Zisserman, 21).

Conditioning: the DLT's normal equations restricted to the point (the upper-left 3x3 block of
A^T A over the views used, with the row weights w the method solves with, see
:mod:`spine3d.calibration.dlt`) are ``G = sum_c w_c^2 B_c``, where each view's ``B_c`` is positive
semi-definite with its viewing ray as null vector and eigenvalues 1 and 1 + x^2 + y^2 across it
(x, y: the undistorted normalised observation). For two views of equal weight through the image
centres, ``G``'s smallest eigenvalue is ``W sin^2(theta / 2)`` with ``W = sum_c w_c^2``, theta the
angle between the rays as lines (0 for parallel and anti-parallel rays: cameras side by side, in a
row or facing each other). So the *effective triangulation angle*

    theta_eff = 2 asin(sqrt(lambda_min(G) / W))

is the triangulation angle for two views and its generalisation (the narrowest direction of the
bundle of rays, views weighted as the solver weights them: a view of low confidence counts less)
for more; depth errors grow as 1 / sin(theta_eff / 2). A point is ill-conditioned when
theta_eff < ``min_ray_angle``. The test never computes an eigenvalue: with
``s = W sin^2(min_ray_angle / 2)``, lambda_min < s exactly when the characteristic polynomial
``p(s) = det(s I - G) = s^3 - tr s^2 + e2 s - det`` is positive, because G's second eigenvalue is
at least W / 2 > s for any min_ray_angle below 90 deg (G's largest eigenvalue is at most the sum of
the w_c^2 B_c's largest, w_c^2 (1 + x^2 + y^2) each, i.e. tr - W, so the other two sum to at least
W). The compiled kernel (:mod:`.kernel`) evaluates the same polynomial on its own normal matrix.
"""

from __future__ import annotations

import numpy as np

from spine3d.calibration.dlt import single_thread_matmul, view_features
from spine3d.calibration.views import RigConstants, Views
from spine3d.triangulation.reprojection import camera_points
from spine3d.triangulation.status import (AMBIGUOUS, BEHIND_CAMERA, DEGENERATE, ILL_CONDITIONED, NO_CONSENSUS, OK,
                                          TOO_FEW_VIEWS, UNVERIFIED)

BLOCK_ROWS = (0, 1, 2, 4, 5, 7)  # g00 g01 g02 g11 g12 g22 among the 10 upper-triangle entries of the 4x4


def behind_a_camera(const: RigConstants, points: np.ndarray, used: np.ndarray) -> np.ndarray:
    """(n,) bool: the point (3, n) m world lies on or behind (z <= 0) a camera of ``used`` (C, n) bool."""
    z = camera_points(const, points)[:, 2]  # (C, n) m
    return (used & (z <= 0.0)).any(axis=0)  # NaN compares False: unsolved points are not behind


def ray_block(const: RigConstants, x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(6, n) G = sum over the views of w^2 B_c (entries g00 g01 g02 g11 g12 g22), from undistorted
    normalised x, y (C, n) and row weights ``weight`` (C, n) (0 = unused; bool: unit weights)."""
    features = view_features(x, y, weight)
    return single_thread_matmul(const.normal_map_all[list(BLOCK_ROWS)], features.reshape(-1, features.shape[-1]))


def view_blocks(const: RigConstants, x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(C, 6, n) each view's w^2 B_c; their sum over C is :func:`ray_block`."""
    return single_thread_matmul(const.normal_map[:, list(BLOCK_ROWS)], view_features(x, y, weight))


def squared_weights(weight: np.ndarray) -> np.ndarray:
    """(C, n) w^2 of row weights (bool: unit weights)."""
    return weight.astype(np.float64) if weight.dtype == bool else weight * weight


def rests_on_one_view(blocks: np.ndarray, w2: np.ndarray, min_ray_angle: float) -> np.ndarray:
    """(n,) bool: leaving out one of the views used makes the rest ill-conditioned, i.e. the
    point's depth rests on that single view and no other view checks it (always so with two
    views; with more, when the others are nearly parallel, e.g. a facing pair).

    Args:
        blocks: (C, 6, n) from :func:`view_blocks`; w2: (C, n) squared row weights (0 = unused).
    """
    rest = np.moveaxis(blocks.sum(axis=0)[None] - blocks, 1, 0)  # (6, C, n): G without view c
    return ((w2 > 0) & ill_conditioned(rest, w2.sum(axis=0)[None] - w2, min_ray_angle)).any(axis=0)


def ill_conditioned(block: np.ndarray, weight_sum: np.ndarray, min_ray_angle: float) -> np.ndarray:
    """(...) bool: effective triangulation angle below ``min_ray_angle`` deg (see the module docstring).

    Args:
        block: (6, ...) G from :func:`ray_block` (any trailing shape).
        weight_sum: (...) W, the sum of the squared row weights of the views used.
        min_ray_angle: deg, in [0, 90).
    """
    g00, g01, g02, g11, g12, g22 = block
    s = weight_sum * np.sin(np.radians(min_ray_angle) / 2.0) ** 2
    trace = g00 + g11 + g22
    e2 = g00 * g11 + g00 * g22 + g11 * g22 - g01 * g01 - g02 * g02 - g12 * g12
    det = g00 * (g11 * g22 - g12 * g12) - g01 * (g01 * g22 - g12 * g02) + g02 * (g01 * g12 - g11 * g02)
    return ((s - trace) * s + e2) * s - det > 0.0


def effective_angle(block: np.ndarray, weight_sum: np.ndarray) -> np.ndarray:
    """(n,) deg, the effective triangulation angle theta_eff (for reports and tests; eigvalsh per point).
    block: (6, n) G; weight_sum: (n,) W."""
    g00, g01, g02, g11, g12, g22 = block
    full = np.stack([np.stack([g00, g01, g02], -1), np.stack([g01, g11, g12], -1), np.stack([g02, g12, g22], -1)], -2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.clip(np.linalg.eigvalsh(full)[:, 0] / weight_sum, 0.0, 1.0)
    return np.degrees(2.0 * np.arcsin(np.sqrt(ratio)))


def point_status(const: RigConstants, views: Views, points: np.ndarray, weight: np.ndarray, available: np.ndarray,
                 ambiguous: np.ndarray | None, min_views: int, min_ray_angle: float,
                 unchecked: np.ndarray | None = None) -> np.ndarray:
    """(n,) uint8 status of solved points, first cause first (the compiled kernel's order too).

    Args:
        views: the observations (undistorted normalised x, y).
        points: (3, n) m world, the solutions (NaN where none).
        weight: (C, n) the row weights the point was solved with, 0 on the views not used (RANSAC:
            confidence on its inliers); bool: unit weights on the True views.
        available: (n,) usable views; ambiguous: (n,) bool (RANSAC, whose consensus is what a
            third view verifies) or None (the linear methods, which verify nothing).
        min_views: views a point needs; min_ray_angle: deg, see :func:`ill_conditioned`.
        unchecked: (n,) bool, RANSAC: an inlier view the others do not predict
            (:func:`spine3d.triangulation.ransac.unchecked_views`).

    Returns:
        too_few_views (fewer usable views than ``min_views``), no_consensus (fewer used), degenerate
        (no finite solution), behind_camera, ambiguous, ill_conditioned, unverified (two views;
        RANSAC: or a depth that rests on one view, :func:`rests_on_one_view`, or ``unchecked``),
        else ok.
    """
    used = weight > 0
    count = used.sum(axis=0)
    w2 = squared_weights(weight)
    if ambiguous is None:
        status = np.where(count == 2, UNVERIFIED, OK).astype(np.uint8)
        block = ray_block(const, views.x, views.y, weight)
    else:
        blocks = view_blocks(const, views.x, views.y, weight)
        alone = rests_on_one_view(blocks, w2, min_ray_angle)
        status = np.where(alone if unchecked is None else alone | unchecked, UNVERIFIED, OK).astype(np.uint8)
        block = blocks.sum(axis=0)
    status[ill_conditioned(block, w2.sum(axis=0), min_ray_angle)] = ILL_CONDITIONED
    if ambiguous is not None:
        status[ambiguous] = AMBIGUOUS
    status[behind_a_camera(const, points, used)] = BEHIND_CAMERA
    status[~np.isfinite(points).all(axis=0)] = DEGENERATE
    status[count < min_views] = NO_CONSENSUS
    status[available < min_views] = TOO_FEW_VIEWS
    return status
