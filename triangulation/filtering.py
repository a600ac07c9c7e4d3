"""Temporal post-processing of 3D trajectories: gap filling and zero-phase low-pass filtering.

Both work along the first axis (frames) of ``(T, ..., D)`` arrays, vectorised over everything
else, and never invent points inside long gaps: gap filling only interpolates interior gaps of
at most ``max_gap`` frames (no extrapolation before the first or after the last valid frame), and
the low-pass filter runs on each run of consecutive valid frames separately and keeps every
missing frame missing.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, filtfilt

from spine3d.errors import InputError


def fill_gaps(points: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over short interior gaps.

    Args:
        points: (T, ..., D) values (e.g. (T, J, 3) m); a sample is missing when any of its D
            values is NaN.
        max_gap: longest gap filled, frames (0: nothing filled).

    Returns:
        filled: (T, ..., D) copy with gaps of at most ``max_gap`` frames interpolated.
        was_filled: (T, ...) bool, the samples that were filled.
    """
    if max_gap < 0:
        raise InputError(f"max_gap must be >= 0 frames, got {max_gap}")
    points = np.asarray(points, dtype=np.float64)
    t = points.shape[0]
    flat = points.reshape(t, -1, points.shape[-1])  # (T, M, D)
    valid = np.isfinite(flat).all(axis=-1)  # (T, M)
    frames = np.arange(t)[:, None]
    prev = np.maximum.accumulate(np.where(valid, frames, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, frames, t)[::-1], axis=0)[::-1]
    fill = ~valid & (prev >= 0) & (nxt < t) & (nxt - prev - 1 <= max_gap)
    prev_c, nxt_c = np.clip(prev, 0, t - 1), np.clip(nxt, 0, t - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = ((frames - prev_c) / (nxt_c - prev_c))[..., None]
    before = np.take_along_axis(flat, prev_c[..., None], axis=0)
    after = np.take_along_axis(flat, nxt_c[..., None], axis=0)
    out = np.where(fill[..., None], (1 - w) * before + w * after, flat)
    return out.reshape(points.shape), fill.reshape(points.shape[:-1])


def lowpass(points: np.ndarray, fps: float, cutoff: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass (``scipy.signal.filtfilt``) of every valid run of frames.

    Args:
        points: (T, ..., D) values; a sample is missing when any of its D values is NaN.
        fps: frame rate, Hz.
        cutoff: cut-off frequency, Hz (0 < cutoff < fps / 2).
        order: filter order (the forward-backward pass doubles the effective order).

    Returns:
        (T, ..., D) filtered copy; missing samples stay NaN. Runs of consecutive valid frames
        too short for filtfilt's edge padding (3 (order + 1) frames or fewer) are left as they are.
    """
    if not fps > 0:
        raise InputError(f"the frame rate must be positive, got {fps} Hz")
    if not 0 < cutoff < fps / 2:
        raise InputError(f"the low-pass cut-off must be in (0, {fps / 2:g}) Hz (half the frame rate), got {cutoff}")
    if order < 1:
        raise InputError(f"the filter order must be >= 1, got {order}")
    b, a = butter(order, cutoff, btype="low", fs=fps)
    padlen = 3 * max(len(a), len(b))
    points = np.asarray(points, dtype=np.float64)
    t = points.shape[0]
    flat = points.reshape(t, -1, points.shape[-1])
    out = flat.copy()
    valid = np.isfinite(flat).all(axis=-1)  # (T, M)
    for (start, stop), series in valid_runs(valid).items():  # loop over distinct runs, not frames or joints
        if stop - start > padlen:
            out[start:stop, series] = filtfilt(b, a, flat[start:stop, series], axis=0, padlen=padlen)
    return out.reshape(points.shape)


def valid_runs(valid: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Runs of consecutive True along axis 0 of a (T, M) mask, grouped by their frame range.

    Returns:
        {(start, stop): (K,) indices of the series (columns) having a run exactly over
        frames start..stop-1}.
    """
    m = valid.shape[1]
    padded = np.zeros((m, valid.shape[0] + 2), dtype=np.int8)
    padded[:, 1:-1] = valid.T
    edges = np.diff(padded, axis=1)  # +1 at a run's first frame, -1 after its last
    series, starts = np.nonzero(edges == 1)
    _, stops = np.nonzero(edges == -1)  # same (series, time) order as the starts
    keys = np.stack([starts, stops], axis=1)
    if not len(keys):
        return {}
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    order = np.argsort(inverse.reshape(-1), kind="stable")
    groups = np.split(series[order], np.cumsum(np.bincount(inverse.reshape(-1)))[:-1])
    return {(int(s), int(e)): g for (s, e), g in zip(unique, groups)}
