"""Temporal post-processing: gap filling and zero-phase low-pass, checked against brute-force loops,
scipy on gap-free data, and the promise never to invent points inside long gaps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, filtfilt

from spine3d.errors import InputError
from spine3d.triangulation.filtering import fill_gaps, lowpass, valid_runs

RNG_SEED = 5


def _with_gaps(t=200, j=6, seed=RNG_SEED):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, 0.01, (t, j, 3)), axis=0)
    x[rng.random((t, j)) < 0.15] = np.nan
    x[50:80, 0] = np.nan  # a long gap
    x[:4, 1] = np.nan  # leading and trailing gaps
    x[-3:, 2] = np.nan
    return x


def test_fill_gaps_matches_a_brute_force_loop():
    x = _with_gaps()
    for max_gap in (0, 1, 3, 10, 100):
        filled, mask = fill_gaps(x, max_gap)
        ref = x.copy()
        for j in range(x.shape[1]):  # reference loops over joints and gaps (test only)
            valid = np.flatnonzero(np.isfinite(x[:, j, 0]))
            for a, b in zip(valid[:-1], valid[1:]):
                if 1 < b - a <= max_gap + 1:
                    w = (np.arange(a + 1, b) - a) / (b - a)
                    ref[a + 1:b, j] = (1 - w)[:, None] * x[a, j] + w[:, None] * x[b, j]
        np.testing.assert_allclose(filled, ref, equal_nan=True)
        np.testing.assert_array_equal(mask, np.isnan(x[..., 0]) & ~np.isnan(ref[..., 0]))


def test_fill_gaps_never_invents_long_gaps_or_extrapolates():
    x = _with_gaps()
    filled, mask = fill_gaps(x, 10)
    assert np.isnan(filled[50:80, 0]).all()  # 30-frame gap stays empty
    assert np.isnan(filled[:4, 1]).all() and np.isnan(filled[-3:, 2]).all()
    assert not mask[50:80, 0].any()
    kept = np.isfinite(x)
    np.testing.assert_array_equal(filled[kept], x[kept])  # valid samples untouched


def test_fill_gaps_reproduces_linear_motion():
    t = np.arange(50.0)
    x = np.stack([t, 2 * t, -t], axis=-1)[:, None, :] * 0.01
    holed = x.copy()
    holed[[3, 4, 5, 20, 30, 31]] = np.nan
    filled, _ = fill_gaps(holed, 3)
    np.testing.assert_allclose(filled, x, atol=1e-12)


def test_lowpass_matches_scipy_on_gap_free_data():
    rng = np.random.default_rng(RNG_SEED)
    x = rng.normal(size=(300, 4, 3))
    b, a = butter(2, 5.0, fs=50.0)
    np.testing.assert_allclose(lowpass(x, 50.0, 5.0, 2), filtfilt(b, a, x, axis=0, padlen=9), atol=1e-12)


def test_lowpass_properties():
    fps = 60.0
    t = np.arange(600) / fps
    slow = np.sin(2 * np.pi * 0.5 * t)
    fast = 0.3 * np.sin(2 * np.pi * 20.0 * t)
    x = np.stack([slow + fast, np.full_like(t, 2.0), 0.1 * t], axis=-1)[:, None, :]
    y = lowpass(x, fps, 5.0, 2)
    inner = slice(60, -60)
    np.testing.assert_allclose(y[inner, 0, 0], slow[inner], atol=0.01)  # 20 Hz removed, 0.5 Hz kept
    np.testing.assert_allclose(y[:, 0, 1], 2.0, atol=1e-9)  # constants untouched
    np.testing.assert_allclose(y[inner, 0, 2], 0.1 * t[inner], atol=1e-9)  # ramps kept: zero phase, unit DC gain
    np.testing.assert_allclose(y[:, 0, 2], 0.1 * t, atol=1e-3)  # small transients at the ends only


def test_lowpass_keeps_gaps_and_filters_runs_separately():
    x = _with_gaps()
    y = lowpass(x, 60.0, 6.0, 2)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    # each valid run is filtered on its own: equal to filtering that run alone
    clean = np.cumsum(np.random.default_rng(1).normal(0, 0.01, (100, 1, 3)), axis=0)
    clean[40:45] = np.nan
    b, a = butter(2, 6.0, fs=60.0)
    y = lowpass(clean, 60.0, 6.0, 2)
    for run in (slice(0, 40), slice(45, 100)):
        np.testing.assert_allclose(y[run], filtfilt(b, a, clean[run], axis=0, padlen=9), atol=1e-12)
    # runs too short for the padding stay as they were
    short = np.full((30, 1, 3), np.nan)
    short[10:15] = np.random.default_rng(0).normal(size=(5, 1, 3))
    np.testing.assert_array_equal(lowpass(short, 60.0, 6.0, 2), short)


def test_valid_runs_matches_a_loop():
    rng = np.random.default_rng(RNG_SEED)
    valid = rng.random((40, 7)) < 0.7
    runs = valid_runs(valid)
    ref: dict = {}
    for m in range(7):  # reference loop (test only)
        t = 0
        while t < 40:
            if valid[t, m]:
                s = t
                while t < 40 and valid[t, m]:
                    t += 1
                ref.setdefault((s, t), []).append(m)
            else:
                t += 1
    assert {k: sorted(v.tolist()) for k, v in runs.items()} == {k: sorted(v) for k, v in ref.items()}


@pytest.mark.parametrize("call", [
    lambda x: lowpass(x, 60.0, 30.0),
    lambda x: lowpass(x, 60.0, 0.0),
    lambda x: lowpass(x, -1.0, 5.0),
    lambda x: lowpass(x, 60.0, 5.0, order=0),
    lambda x: fill_gaps(x, -1),
])
def test_bad_filter_settings_raise(call):
    with pytest.raises(InputError):
        call(np.zeros((20, 2, 3)))
