"""Time in a sequence of triangulated points: stable view sets, and checks against neighbours in time.

Both work on a batch shape (T, J, ...) whose first axis is frames, vectorised over everything else.

Stable view sets (RANSAC). Choosing a different view subset in each frame fits each frame's noise
and makes the points jump. A view's inlier flag is replaced by the majority of its flags in the
frame before, the frame itself and the frame after (frames whose point was not kept do not vote;
a tie, e.g. one voting neighbour against the frame's own flag, keeps the frame's flag). A view the
neighbours keep comes back only when its error is below ``bound`` px (``stable_factor`` x the
inlier threshold): a gross error is never re-admitted. A view the neighbours drop goes (a gross
run that dips under the threshold for a frame is still the same wrong detection), unless fewer
than two views would be left.

Checks in time. Two agreeing views cannot be checked by a third: an outlier that lies near the
epipolar line of an inlier gives a point anywhere along that line, with a small reprojection
error; and, rarely, two outliers happen to agree with one inlier (a consensus of three). In a
sequence each point is predicted from its neighbours in time: the nearest "ok" points (three or
more agreeing views) of the same series (joint) strictly before and after it, within ``window``
frames, interpolated linearly at its frame (or the one neighbour, at the start or end of a run).
Each series' tolerance is ``max(tolerance, noise_factor * s)``, ``s`` the series' own scale of
deviations from such predictions (noise and motion, :func:`noise_scales`): noisy detections widen it.

1. Spikes (RANSAC): an "ok" point with neighbours on both sides farther than the tolerance from
   their prediction and from each of them (a spike, not a step such as the join of two
   recordings, where a point stays with one side), and farther from its prediction than its two
   frame neighbours are from theirs (a wrong point drags those by half as much), is a
   "temporal_outlier" (rejected) and no longer a neighbour; a few rounds catch runs of them.
   At the edge of a run (neighbours on one side only: a gap follows, often the wrong frames
   that made the consensus a coincidence) the point is predicted by extending the line through
   its two nearest neighbours on that side (within ``window`` frames of each other), and the
   noise part of the tolerance grows as that extrapolation's noise does (:func:`extrapolation_gain`);
   with one neighbour there, by that neighbour, the tolerance widened by the distance the series
   moves in as many frames (its 99th percentile step between consecutive "ok" points,
   :func:`step_scales`). Farther than that and than the tolerance from its nearest neighbour, it
   is a spike too.
2. An "unverified" point within the tolerance of its prediction is "verified_in_time", farther a
   "temporal_outlier"; without such a neighbour it stays "unverified".
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from spine3d.triangulation.status import OK, TEMPORAL_OUTLIER, UNVERIFIED, VERIFIED_IN_TIME
from spine3d.triangulation.threads import thread_map

SPIKE_ROUNDS = 4  # rounds of spike removal among the "ok" points (one per run of frames and round)
MIN_TRIPLETS = 20  # "ok" triplets a series needs for its own tolerance (else the median of all)
MAXWELL_MEDIAN = 1.5382  # median of |v| for v ~ N(0, I_3)
STEP_PERCENTILE = 99.0  # a series' large step per frame (spikes at the edge of a run with one neighbour)


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


def verify_in_time(points: np.ndarray, status: np.ndarray, window: int, tolerance: float, noise_factor: float,
                   spikes: bool = True, rounds: int = SPIKE_ROUNDS, threads: int = 1) -> np.ndarray:
    """Temporal check of the "ok" points (spikes) and of the "unverified" ones (see the module docstring).

    Args:
        points: (T, ..., 3) m.
        status: (T, ...) uint8.
        window: frames, how far a trusted neighbour may be (each side).
        tolerance: m, the smallest tolerance.
        noise_factor: the tolerance in units of the series' own noise (see :func:`noise_scales`).
        spikes: look for spikes among the "ok" points (RANSAC, whose consensus of three can be a
            coincidence; the linear methods check no agreement to begin with).
        rounds: at most this many rounds of spike removal.
        threads: worker threads deciding groups of series at once (each series is decided on its own
            once every series' scales are known: the same statuses for any number).

    Returns:
        (T, ...) uint8, the status with spikes among the "ok" points made "temporal_outlier", and
        "unverified" points made "verified_in_time" or "temporal_outlier" where a neighbour decides.
    """
    if not status.size:
        return status.copy()
    t = status.shape[0]
    flat, codes = points.reshape(t, -1, 3), status.reshape(t, -1)  # (T, M, 3), (T, M)
    anchor = codes == OK
    out = codes.copy()
    columns = np.arange(codes.shape[1]) if spikes else np.unique(np.nonzero(codes == UNVERIFIED)[1])
    if not columns.size:  # the series that need a tolerance: none
        return out.reshape(status.shape)
    # the scales fall back on every series together where one has too few values: found before splitting
    scale, step = np.full(codes.shape[1], np.nan), np.full(codes.shape[1], np.nan)
    scale[columns] = noise_scales(flat, anchor, noise_factor, columns)  # m
    if spikes:
        step[columns] = step_scales(flat, anchor, columns)  # m per frame

    def decide(group: np.ndarray) -> np.ndarray:
        return _decide(flat[:, group], codes[:, group], window, tolerance, scale[group], step[group],
                       rounds if spikes else 0)

    groups = [g for g in np.array_split(columns, max(1, threads)) if g.size]
    for group, decided in zip(groups, thread_map(decide, groups, threads)):
        out[:, group] = decided
    return out.reshape(status.shape)


def _decide(points: np.ndarray, codes: np.ndarray, window: int, tolerance: float, scale: np.ndarray,
            step: np.ndarray, rounds: int) -> np.ndarray:
    """(T, K) uint8: the statuses of K series after the spike rounds and the checks of their unverified points.

    Args:
        points: (T, K, 3) m; codes: (T, K) uint8 statuses; window: frames; tolerance: m, the floor;
        scale: (K,) m, each series' noise part (:func:`noise_scales`); step: (K,) m per frame, each
        series' large step (:func:`step_scales`; unused without rounds); rounds: at most this many
        rounds of spike removal (0: none).
    """
    anchor, out = codes == OK, codes.copy()
    columns, near = np.arange(codes.shape[1]), None  # first round: every series, every "ok" point
    for _ in range(rounds):  # loop over rounds: one spike per run of frames and round
        spike = _spikes(points[:, columns], anchor[:, columns], window, tolerance, scale[columns], step[columns], near)
        hit = spike.any(axis=0)
        if not hit.any():
            break
        frames, which = np.nonzero(spike)
        out[frames, columns[which]] = TEMPORAL_OUTLIER
        anchor[frames, columns[which]] = False
        columns, near = columns[hit], _within(spike[:, hit], _reach(window))
    todo = np.nonzero(codes == UNVERIFIED)
    if todo[0].size:
        predicted, before, after = predict(points, anchor, window, todo)
        distance = np.linalg.norm(points[todo] - predicted, axis=-1)
        check = before | after
        near = distance[check] <= np.maximum(tolerance, scale)[todo[1][check]]  # NaN distance: rejected
        out[tuple(i[check] for i in todo)] = np.where(near, VERIFIED_IN_TIME, TEMPORAL_OUTLIER)
    return out


def _spikes(points: np.ndarray, anchor: np.ndarray, window: int, tolerance: float, scale: np.ndarray,
            step: np.ndarray, near: np.ndarray | None = None) -> np.ndarray:
    """(T, K) bool: the "ok" points of one round that are spikes (module docstring, check 1).

    Args:
        points: (T, K, 3) m; anchor: (T, K) bool, the "ok" points; window: frames;
        tolerance: m, the floor; scale: (K,) m, each series' noise part (:func:`noise_scales`);
        step: (K,) m per frame, each series' large step (:func:`step_scales`).
        near: (T, K) bool, the only points that may be spikes (None: all): after a round, those within
            :func:`_reach` of the spikes it removed; the others' neighbourhoods are unchanged.
    """
    candidate = anchor if near is None else anchor & near
    # a decision compares a point's distance with its two frame neighbours': those are computed too
    at = np.nonzero(anchor & (candidate | _shifted(candidate, 1) | _shifted(candidate, -1)))
    distance, apart, allowed = np.zeros(anchor.shape), np.zeros(anchor.shape), np.zeros(anchor.shape)
    distance[at], apart[at], allowed[at] = _deviations(points, anchor, window, tolerance, scale, step, at)
    limit = np.maximum(tolerance, scale)
    return (candidate & (distance > allowed) & (apart > limit)  # far from every side: not a step
            & (distance >= _shifted(distance, 1)) & (distance >= _shifted(distance, -1)))


def _deviations(points: np.ndarray, anchor: np.ndarray, window: int, tolerance: float, scale: np.ndarray,
                step: np.ndarray, at: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the "ok" points at (frames (N,), columns (N,)): (N,) m each, the distance to their prediction
    (0 without neighbours), to the nearest neighbour side (``apart``) and the distance allowed."""
    columns, frames = at[1], _anchor_frames(anchor, window)  # once for both predictions
    p_before, p_after, w, before, after = neighbours(points, frames, window, at)
    here = points[at]
    predicted = (1.0 - w[..., None]) * p_before + w[..., None] * p_after
    extended, gain, edge, line, nearest, gap = extrapolate(points, frames, window, at)
    distance = np.where(before & after, np.linalg.norm(here - predicted, axis=-1),
                        np.where(edge, np.linalg.norm(here - extended, axis=-1), 0.0))
    apart = np.where(edge, np.linalg.norm(here - nearest, axis=-1),
                     np.minimum(np.linalg.norm(here - p_before, axis=-1), np.linalg.norm(here - p_after, axis=-1)))
    widened = np.maximum(tolerance, gain * scale[columns]) + np.where(line, 0.0, gap * step[columns])
    allowed = np.where(edge, widened, np.maximum(tolerance, scale[columns]))  # one neighbour: it may have moved
    return distance, apart, allowed


def _reach(window: int) -> int:
    """Frames over which removing an anchor can change a spike decision: a prediction uses anchors up to
    ``2 * window`` frames away (the nearest, and the second nearest within ``window`` of it), and a
    decision also compares its frame neighbours' distances."""
    return 2 * window + 1


def _within(marks: np.ndarray, frames: int) -> np.ndarray:
    """(T, K) bool: within ``frames`` frames (either side, same column) of a True of ``marks`` (T, K)."""
    count = np.concatenate([np.zeros((1, marks.shape[1]), np.int64), np.cumsum(marks, axis=0)])
    t = marks.shape[0]
    lo, hi = np.clip(np.arange(t) - frames, 0, t), np.clip(np.arange(t) + frames + 1, 0, t)
    return (count[hi] - count[lo]) > 0


def noise_scales(points: np.ndarray, anchor: np.ndarray, noise_factor: float, columns: np.ndarray) -> np.ndarray:
    """(K,) m, ``noise_factor * s`` for each series of ``columns`` (K,): the noise part of its tolerance.

    ``s`` is the series' own scale of "where it is" against "where its neighbours put it": the
    second differences ``d = |X_t - (X_{t-1} + X_{t+1}) / 2|`` of three consecutive "ok" points,
    whose median is 1.5382 s for Gaussian noise (a Maxwell distribution), noise and motion both.
    Series with fewer than :data:`MIN_TRIPLETS` such triplets take the median over all series
    (0 without any triplet at all).

    Args:
        points: (T, M, 3) m; anchor: (T, M) bool.
    """
    def second_differences(cols: np.ndarray) -> np.ndarray:  # (T - 2, k), NaN where no triplet
        three = anchor[1:-1, cols] & anchor[:-2, cols] & anchor[2:, cols]
        d = np.linalg.norm(points[1:-1, cols] - 0.5 * (points[:-2, cols] + points[2:, cols]), axis=-1)
        return np.where(three, d, np.nan)

    if anchor.shape[0] < 3:  # no triplet at all
        return np.zeros(columns.shape)
    return noise_factor * _series_quantile(second_differences, columns, anchor.shape[1], 0.5) / MAXWELL_MEDIAN


def step_scales(points: np.ndarray, anchor: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """(K,) m per frame: the 99th percentile of each series' step ``|X_t - X_{t-1}|`` between consecutive
    anchors, for the series ``columns`` (K,) (over all series where one has fewer than
    :data:`MIN_TRIPLETS` steps; 0 without any step).

    Args:
        points: (T, M, 3) m; anchor: (T, M) bool.
    """
    def steps(cols: np.ndarray) -> np.ndarray:  # (T - 1, k), NaN where not two consecutive anchors
        two = anchor[1:, cols] & anchor[:-1, cols]
        return np.where(two, np.linalg.norm(points[1:, cols] - points[:-1, cols], axis=-1), np.nan)

    if anchor.shape[0] < 2:
        return np.zeros(columns.shape)
    return _series_quantile(steps, columns, anchor.shape[1], STEP_PERCENTILE / 100.0)


def _series_quantile(values: Callable[[np.ndarray], np.ndarray], columns: np.ndarray, series: int,
                     q: float) -> np.ndarray:
    """(K,) the q-quantile of each series' finite ``values(columns)`` ((N, K), NaN: none), or of every
    series' together (``values(arange(series))``) for those with fewer than :data:`MIN_TRIPLETS`; 0 if none."""
    d = values(columns)
    own, count = _finite_quantile(d, q)
    few = count < MIN_TRIPLETS
    if few.any():
        every = values(np.arange(series))
        overall, total = _finite_quantile(every.reshape(-1, 1), q)
        own = np.where(few, overall[0] if total[0] else 0.0, own)
    return own


def _finite_quantile(d: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """d (N, K) with NaN -> (K,) the q-quantile of each column's finite values (numpy's linear
    interpolation; NaN for a column without any), and (K,) their counts. Vectorised: NaN sorts last."""
    count = np.isfinite(d).sum(axis=0)
    ranked = np.sort(d, axis=0)
    at = np.maximum(count - 1, 0) * q
    low = np.floor(at).astype(np.int64)
    lo = np.take_along_axis(ranked, low[None], axis=0)[0]
    hi = np.take_along_axis(ranked, np.minimum(low + 1, np.maximum(count - 1, 0))[None], axis=0)[0]
    return lo + (hi - lo) * (at - low), count


def extrapolation_gain(r: np.ndarray) -> np.ndarray:
    """How much noisier a point's extrapolation is than its midpoint prediction (std ratio, i.i.d. noise).

    A point at ``t`` predicted by extending the line through anchors at ``n`` (nearest) and ``f``,
    ``r = (t - n) / (n - f)``, differs from it by noise of variance ``(1 + (1 + r)^2 + r^2) s^2``;
    the second difference that scales the tolerance has ``1.5 s^2``. r = 1 (three consecutive frames): 2.
    r = 0 gives the one-anchor prediction (the anchor itself): ``2 s^2``.
    """
    return np.sqrt((1.0 + (1.0 + r) ** 2 + r ** 2) / 1.5)


def extrapolate(points: np.ndarray, frames: tuple[np.ndarray, np.ndarray], window: int,
                at: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Points predicted from the anchors on their only side (the edge of a run).

    Args:
        points: (T, M, 3) m; frames: the anchors' frames before and after each point
            (:func:`_anchor_frames`); window: frames (to the nearest anchor, and between the two nearest).
        at: (frames (K,), columns (K,)) of the points to predict.

    Returns:
        predicted (K, 3) m: the line through the two nearest anchors on that side at the point's frame
        (``line``), else the nearest anchor; gain (K,), :func:`extrapolation_gain`; edge (K,) bool, the
        point has anchors within ``window`` on one side only (elsewhere the other outputs mean nothing);
        line (K,) bool, two of them (within ``window`` of each other); nearest (K, 3) m, the nearest
        anchor; gap (K,) frames to it.
    """
    t, (b, a), (now, columns) = points.shape[0], frames, at
    before, after = now - b[at] <= window, a[at] - now <= window
    near = np.clip(np.where(before, b[at], a[at]), 0, t - 1)
    second = np.where(before, b[near, columns], a[near, columns])
    edge = before ^ after
    line = edge & (np.abs(near - second) <= window)
    r = np.where(line, (now - near) / np.where(line, near - second, 1), 0.0)
    p_near, p_second = points[near, columns], points[np.clip(second, 0, t - 1), columns]
    return (p_near + r[..., None] * (p_near - p_second), extrapolation_gain(r), edge, line, p_near,
            np.abs(now - near))


def predict(points: np.ndarray, anchor: np.ndarray, window: int,
            at: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points predicted from the nearest anchors strictly before and after them.

    Args:
        points: (T, M, 3) m; anchor: (T, M) bool; window: frames (each side).
        at: (frames (K,), columns (K,)) of the points to predict.

    Returns:
        predicted (K, 3) m: the linear interpolation at its frame of the nearest anchors within
        ``window`` frames before and after the point, or the one of them there is;
        before, after (K,) bool: such an anchor exists.
    """
    p_before, p_after, w, before, after = neighbours(points, _anchor_frames(anchor, window), window, at)
    return (1.0 - w[..., None]) * p_before + w[..., None] * p_after, before, after


def neighbours(points: np.ndarray, frames: tuple[np.ndarray, np.ndarray], window: int,
               at: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """The nearest anchors strictly before and after the points ``at`` (see :func:`predict`; ``frames``
    from :func:`_anchor_frames`).

    Returns:
        p_before, p_after: (K, 3) m, the anchors (the nearest anchor at all, or an arbitrary point,
        where there is none within ``window``); w: (K,) the weight of p_after in the prediction (its
        interpolation weight; 1 or 0 with one anchor); before, after: (K,) bool, an anchor exists
        within ``window`` frames.
    """
    t, (now, columns) = points.shape[0], at
    b, a = frames[0][at], frames[1][at]
    before, after = now - b <= window, a - now <= window
    b, a = np.clip(b, 0, t - 1), np.clip(a, 0, t - 1)
    w = np.where(before & after, (now - b) / np.maximum(a - b, 1), np.where(after, 1.0, 0.0))
    return points[b, columns], points[a, columns], w, before, after


def _anchor_frames(anchor: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """anchor (T, M) bool -> the frames (T, M) of the last anchor strictly before and the first strictly
    after each point; more than ``window`` frames away (out of range) where there is none."""
    t = anchor.shape[0]
    far_before, far_after = -t - window - 1, 2 * t + window + 1
    frames = np.arange(t)[:, None]
    last = np.maximum.accumulate(np.where(anchor, frames, far_before), axis=0)  # last anchor <= t
    first = np.minimum.accumulate(np.where(anchor, frames, far_after)[::-1], axis=0)[::-1]  # first >= t
    b = np.concatenate([np.full_like(last[:1], far_before), last[:-1]])  # last anchor < t
    a = np.concatenate([first[1:], np.full_like(first[:1], far_after)])  # first anchor > t
    return b, a


def _shifted(values: np.ndarray, step: int) -> np.ndarray:
    """values (T, ...) moved ``step`` frames along axis 0 (value[t - step] at t), zero-padded."""
    out = np.zeros_like(values)
    if step > 0:
        out[step:] = values[:-step]
    else:
        out[:step] = values[-step:]
    return out
