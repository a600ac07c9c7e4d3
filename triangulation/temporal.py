"""Time in a sequence of triangulated points: stable view sets, and the check of 2-view points.

Both work on a batch shape (T, J, ...) whose first axis is frames, vectorised over everything else.

Stable view sets (RANSAC). Choosing a different view subset in each frame fits each frame's noise
and makes the points jump. A view's inlier flag is replaced by the majority of its flags in the
frame before, the frame itself and the frame after (frames whose point was not kept do not vote;
a tie, e.g. one voting neighbour against the frame's own flag, keeps the frame's flag). A view the
neighbours keep comes back only when its error is below ``bound`` px (``stable_factor`` x the inlier threshold): a gross error is never re-admitted. A
view the neighbours drop goes (a gross run that dips under the threshold for a frame is still
the same wrong detection), unless fewer than two views would be left.

Temporal check of 2-view points. Two agreeing views cannot be checked by a third: an outlier that
lies near the epipolar line of an inlier gives a point anywhere along that line, with a small
reprojection error. In a sequence such a point is checked against its trusted neighbours in time:
the nearest "ok" points (three or more agreeing views) of the same joint before and after it,
within ``window`` frames. The prediction is their linear interpolation at its frame (or the one
neighbour, at the start or end of a run); within ``tolerance`` m of it the point is
"verified_in_time", farther it is a "temporal_outlier" (rejected); without such a neighbour it stays
"unverified".
"""

from __future__ import annotations

import numpy as np

from spine3d.triangulation.status import OK, TEMPORAL_OUTLIER, UNVERIFIED, VERIFIED_IN_TIME


def stable_view_sets(inliers: np.ndarray, view_errors: np.ndarray, usable: np.ndarray, kept: np.ndarray,
                     bound: float) -> np.ndarray:
    """Inlier flags smoothed over time (see the module docstring).

    Args:
        inliers: (C, T, ...) bool, each point's inlier views.
        view_errors: (C, T, ...) px, every view's exact error at its point (NaN: no view or no point).
        usable: (C, T, ...) bool, the views that may vote (confidence above the threshold).
        kept: (T, ...) bool, frames whose point was kept (the others neither vote nor change).
        bound: px, largest error of a view re-admitted by its neighbours.

    Returns:
        (C, T, ...) bool, the new inlier flags (equal to ``inliers`` where nothing changes).
    """
    votes = np.where(kept, np.where(inliers, 1, -1), 0)  # (C, T, ...) +1 in, -1 out, 0 no vote
    neighbours = np.zeros_like(votes)
    neighbours[:, 1:] += votes[:, :-1]
    neighbours[:, :-1] += votes[:, 1:]
    total = votes + neighbours
    majority = (total > 0) | ((total == 0) & inliers)  # a tie keeps the frame's own flag
    add = majority & ~inliers & usable & (view_errors < bound)  # NaN compares False
    drop = ~majority & inliers
    stable = np.where(kept, (inliers | add) & ~drop, inliers)
    too_few = (stable.sum(axis=0) < 2) & kept
    return np.where(too_few, inliers, stable)


def verify_in_time(points: np.ndarray, status: np.ndarray, window: int, tolerance: float) -> np.ndarray:
    """Temporal check of the "unverified" (2-view) points.

    Args:
        points: (T, ..., 3) m.
        status: (T, ...) uint8.
        window: frames, how far a trusted neighbour may be (each side).
        tolerance: m, largest distance to the prediction from the neighbours.

    Returns:
        (T, ...) uint8, the status with "unverified" points made "verified_in_time" or
        "temporal_outlier" where a neighbour decides.
    """
    t = points.shape[0]
    anchor = status == OK
    frames = np.arange(t).reshape((t,) + (1,) * (status.ndim - 1))
    before = np.maximum.accumulate(np.where(anchor, frames, -t - window - 1), axis=0)  # last anchor <= t
    after = np.minimum.accumulate(np.where(anchor, frames, 2 * t + window + 1)[::-1], axis=0)[::-1]  # first >= t
    has_before, has_after = frames - before <= window, after - frames <= window
    b, a = np.clip(before, 0, t - 1), np.clip(after, 0, t - 1)
    p_before = np.take_along_axis(points, b[..., None], axis=0)
    p_after = np.take_along_axis(points, a[..., None], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(has_before & has_after, (frames - b) / np.maximum(a - b, 1), np.where(has_after, 1.0, 0.0))
    predicted = (1.0 - w[..., None]) * p_before + w[..., None] * p_after
    distance = np.linalg.norm(points - predicted, axis=-1)
    check = (status == UNVERIFIED) & (has_before | has_after)
    out = status.copy()
    out[check & (distance <= tolerance)] = VERIFIED_IN_TIME
    out[check & ~(distance <= tolerance)] = TEMPORAL_OUTLIER  # NaN distance: rejected
    return out
