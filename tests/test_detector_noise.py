"""Detector-noise model: statistics match the parameters, events, confidence, determinism, bad input."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from spine3d.data.detector_noise import DEFAULT_DIFFICULTY, DetectorNoise, apply_detector_noise, correlated_noise, derive_seed
from spine3d.errors import InputError
from spine3d.skeletons import SIMSPINE_15, SIMSPINE_37

QUIET = dict(gross_rate=0.0, swap_rate=0.0, drop_rate=0.0)  # jitter only


def _clean(shape=(3, 4000), joints=15, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(100, 900, (*shape, joints, 2))


def test_jitter_rms_per_joint_is_sigma_times_difficulty():
    noise = DetectorNoise(sigma_px=3.0, **QUIET)
    uv = _clean()
    out, conf = apply_detector_noise(uv, SIMSPINE_15, noise, 0)
    rms = np.sqrt(((out - uv) ** 2).mean(axis=(0, 1, 3)))  # per joint, per axis
    expected = 3.0 * np.array([DEFAULT_DIFFICULTY[n] for n in SIMSPINE_15.canonical])
    np.testing.assert_allclose(rms, expected, rtol=0.06)
    assert rms[SIMSPINE_15.index("Spine_03")] > rms[SIMSPINE_15.index("Neck")] > rms[SIMSPINE_15.index("Nose")]
    assert conf.shape == uv.shape[:-1] and conf.min() >= 0 and conf.max() <= 1


def test_pixel_parameters_scale_with_image_width():
    noise = DetectorNoise(sigma_px=2.0, smooth_frames=0.0, **QUIET)
    uv = _clean()
    small, _ = apply_detector_noise(uv, SIMSPINE_15, noise, 1, image_size=[1000, 1000])
    large, _ = apply_detector_noise(uv, SIMSPINE_15, noise, 1, image_size=[2000, 1000])
    np.testing.assert_allclose(large - uv, 2 * (small - uv), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("smooth", [0.0, 1.5, 3.0])
def test_temporal_correlation_matches_the_gaussian_filter(smooth):
    x = correlated_noise(np.random.default_rng(2), (400, 120, 4, 2), smooth)
    assert abs(x.var() - 1) < 0.05
    for lag in (1, 3):
        corr = (x[:, lag:] * x[:, :-lag]).mean() / x.var()
        expected = np.exp(-lag**2 / (4 * smooth**2)) if smooth else 0.0
        assert abs(corr - expected) < 0.03, (lag, corr, expected)
    for frame in (0, -1):  # stationary up to the sequence ends
        assert abs((x[:, frame] ** 2).mean() - 1) < 0.08


def test_gross_errors_rate_size_and_duration():
    noise = DetectorNoise(sigma_px=0.01, gross_rate=0.02, swap_rate=0.0, drop_rate=0.0, gross_px=(20, 80),
                          event_frames=(2, 4))
    uv = _clean()
    out, conf = apply_detector_noise(uv, SIMSPINE_15, noise, 3)
    err = np.linalg.norm(out - uv, axis=-1)
    gross = err > 1
    assert abs(gross.mean() - 0.02) < 0.004
    assert err[gross].min() > 19.9 and err[gross].max() < 80.1
    runs = np.diff(np.concatenate([np.zeros((3, 1, 15)), gross, np.zeros((3, 1, 15))], axis=1).astype(int), axis=1)
    lengths = np.nonzero(runs.transpose(0, 2, 1) == -1)[2] - np.nonzero(runs.transpose(0, 2, 1) == 1)[2]
    assert lengths.min() >= 2 and np.median(lengths) <= 4  # overlapping events may merge into longer runs
    assert conf[gross].mean() < 0.35 and conf[~gross].mean() > 0.9


def test_drops_are_nan_with_near_zero_confidence():
    noise = DetectorNoise(gross_rate=0.0, swap_rate=0.0, drop_rate=0.05)
    uv = _clean()
    uv[0, 10, 3] = np.nan  # a point with no ground truth stays missing
    out, conf = apply_detector_noise(uv, SIMSPINE_15, noise, 4)
    dropped = np.isnan(out).any(axis=-1)
    assert np.array_equal(np.isnan(out[..., 0]), np.isnan(out[..., 1]))
    assert abs(dropped.mean() - 0.05) < 0.006
    assert conf[dropped].max() <= 0.02 and conf[0, 10, 3] == 0.0 and dropped[0, 10, 3]


def test_swaps_exchange_left_right_pairs_only():
    noise = DetectorNoise(sigma_px=0.0, gross_rate=0.0, drop_rate=0.0, swap_rate=0.05)
    uv = _clean(joints=37)
    out, _ = apply_detector_noise(uv, SIMSPINE_37, noise, 5)
    perm = SIMSPINE_37.flip_permutation
    moved = (out != uv).any(axis=-1)
    assert 0.01 < moved.mean() < 0.1
    assert not moved[..., perm == np.arange(37)].any()  # midline joints never move
    np.testing.assert_array_equal(out[moved], uv[..., perm, :][moved])  # a moved joint sits on its mirror's spot


def test_confidence_decreases_with_error():
    out_uv = _clean()
    out, conf = apply_detector_noise(out_uv, SIMSPINE_15, DetectorNoise(gross_rate=0.05), 6)
    err = np.linalg.norm(out - out_uv, axis=-1)
    ok = np.isfinite(err)
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    spearman = np.corrcoef(rank(err[ok]), rank(conf[ok]))[0, 1]
    assert spearman < -0.6


def test_defaults_give_a_few_pixels_at_1000px():
    uv = _clean()
    out, _ = apply_detector_noise(uv, SIMSPINE_15, DetectorNoise(), 7, image_size=[1000, 1002])
    err = np.linalg.norm(out - uv, axis=-1)
    assert 3.0 < np.nanmean(err) < 8.0 and 2.0 < np.nanmedian(err) < 6.0


def test_deterministic_per_seed():
    uv = _clean((2, 300))
    noise = DetectorNoise(gross_rate=0.05, drop_rate=0.05, swap_rate=0.05)
    a = apply_detector_noise(uv, SIMSPINE_15, noise, derive_seed(0, "S9", "Walking", "cam_01"))
    b = apply_detector_noise(uv, SIMSPINE_15, noise, derive_seed(0, "S9", "Walking", "cam_01"))
    c = apply_detector_noise(uv, SIMSPINE_15, noise, derive_seed(0, "S9", "Walking", "cam_02"))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(np.nan_to_num(a[0]), np.nan_to_num(c[0]))
    assert derive_seed(3, "S9") == [3, zlib.crc32(b"S9")]
    gen = np.random.default_rng(1)
    np.testing.assert_array_equal(apply_detector_noise(uv, SIMSPINE_15, noise, gen)[1],
                                  apply_detector_noise(uv, SIMSPINE_15, noise, 1)[1])


def test_difficulty_overrides_and_defaults():
    noise = DetectorNoise(difficulty={"Nose": 3.0}, default_difficulty=0.5)
    d = noise.joint_difficulty(SIMSPINE_15)
    assert d[SIMSPINE_15.index("Nose")] == 3.0 and d[SIMSPINE_15.index("Spine_03")] == DEFAULT_DIFFICULTY["Spine_03"]
    assert DetectorNoise(difficulty={"Spine_03": 0.0}).joint_difficulty(SIMSPINE_15)[3] == 0.0


def test_bad_input():
    with pytest.raises(InputError, match=r"\(\.\.\., T, 15, 2\)"):
        apply_detector_noise(np.zeros((10, 14, 2)), SIMSPINE_15, DetectorNoise(), 0)
    with pytest.raises(InputError, match="drop_rate"):
        DetectorNoise(drop_rate=1.5)
    with pytest.raises(InputError, match="gross_px"):
        DetectorNoise(gross_px=(80, 20))
    with pytest.raises(InputError, match="event_frames"):
        DetectorNoise(event_frames=(0, 3))
