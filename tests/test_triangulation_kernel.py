"""The compiled linear kernel (triangulation.kernel) against the numpy reference path
(``compiled=False``): every output, every lens model, degenerate and missing views, the points the
kernel hands back for repair, threads. Seeds are fixed in each test."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from spine3d.calibration import CameraRig, h36m_rig
from spine3d.errors import InputError
from spine3d.triangulation import STATUS_NAMES, triangulate
from spine3d.triangulation.kernel import kernel_constants, solve_linear
from spine3d.calibration.views import rig_constants

from rigs import RIGS, fisheye

RNG_SEED = 23


def _two_groups() -> CameraRig:
    """Two lens groups: OpenCV distortion and none."""
    cams = list(h36m_rig("S5"))
    cams[1] = replace(cams[1], dist=np.zeros(5))
    return CameraRig(tuple(cams))


KERNEL_RIGS = {"opencv": RIGS["opencv"], "h36m": RIGS["h36m"], "rational-skewed": RIGS["rational-skewed"],
               "strong": RIGS["strong"], "two-groups": _two_groups}


def _observations(rig: CameraRig, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noisy projections of points in the capture volume, with outliers, missing and low-confidence views."""
    x = rng.normal([0.0, 0.0, 1.0], [0.5, 0.5, 0.6], (n, 3))
    uv = rig.project(x) + rng.normal(0.0, 2.0, (len(rig), n, 2))
    uv[rng.random((len(rig), n)) < 0.1] = rng.uniform(0.0, 1000.0, 2)
    uv[rng.random((len(rig), n)) < 0.1] = np.nan
    uv[0, ::17, 1] = np.nan  # one coordinate missing
    conf = rng.uniform(0.0, 1.0, (len(rig), n))
    conf[:, ::29] = 0.0
    return uv, conf


def _assert_same(a, b) -> None:
    """Every output of two Triangulation results equal (float outputs to rounding)."""
    for key in ("inliers", "num_views", "status"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    np.testing.assert_allclose(a.points, b.points, rtol=0, atol=1e-9)  # m
    np.testing.assert_allclose(a.reprojection_error, b.reprojection_error, rtol=1e-9, atol=1e-9)  # px
    np.testing.assert_allclose(a.view_errors, b.view_errors, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", list(KERNEL_RIGS))
@pytest.mark.parametrize("method", ["dlt", "weighted"])
def test_kernel_matches_the_numpy_path(name, method):
    rng = np.random.default_rng(RNG_SEED)
    rig = KERNEL_RIGS[name]()
    uv, conf = _observations(rig, 5000, rng)
    compiled = triangulate(rig, uv, conf, method=method, compiled=True)
    reference = triangulate(rig, uv, conf, method=method, compiled=False)
    _assert_same(compiled, reference)
    counts = compiled.status_counts()
    assert counts["ok"] > 2000  # every status the kernel gives is exercised (behind_camera: outliers)
    assert all(counts[k] > 0 for k in ("too_few_views", "unverified", "behind_camera")), counts


def test_degenerate_and_missing_points_match():
    rig = h36m_rig("S9")
    uv = np.full((4, 6, 2), np.nan)
    uv[:, 0] = rig.project(np.array([[0.1, 0.2, 1.0]]))[:, 0]  # fine
    uv[:2, 1] = uv[:2, 0]  # two views
    uv[0, 2] = uv[0, 0]  # one view: too few
    uv[:, 3] = 500.0  # every camera sees the same pixel: rays disagree but the system is regular
    uv[:, 5] = uv[:, 0]
    conf = np.ones((4, 6))
    conf[:, 5] = 0.0  # all views unusable
    for method in ("dlt", "weighted"):
        compiled = triangulate(rig, uv, conf, method=method, compiled=True)
        _assert_same(compiled, triangulate(rig, uv, conf, method=method, compiled=False))
        assert [STATUS_NAMES[s] for s in compiled.status[[0, 1, 2, 4, 5]]] == \
            ["ok", "unverified"] + ["too_few_views"] * 3
        assert np.isnan(compiled.reprojection_error[[2, 4, 5]]).all()


def test_points_the_kernel_cannot_undistort_are_finished_by_the_numpy_path():
    """Observations far outside the images fail the kernel's one-step undistortion check: the kernel
    reports them and triangulate gives them the numpy path's repaired, exact answer."""
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1")
    uv, conf = _observations(rig, 400, rng)
    uv[2, :50] = rng.uniform(-4000.0, 5000.0, (50, 2))  # ~4 image widths out
    kc = kernel_constants(rig_constants(rig))
    n = uv.shape[1]
    out = {"points": np.empty((n, 3)), "inliers": np.empty((4, n), bool), "reprojection_error": np.empty(n),
           "num_views": np.empty(n, np.int64), "status": np.empty(n, np.uint8), "view_errors": np.empty((4, n))}
    todo, invalid = solve_linear(kc, uv, conf, 0, n, out, weighted=True, threshold=0.3, min_views=2,
                                 min_ray_angle=3.0)
    assert 0 < todo.size <= 50 and (todo < 50).all() and not invalid
    compiled = triangulate(rig, uv, conf, method="weighted", chunk_size=128)
    _assert_same(compiled, triangulate(rig, uv, conf, method="weighted", compiled=False))


def test_kernel_declines_other_lens_models():
    """A fisheye camera sends the whole rig to the numpy path (same results by construction)."""
    assert kernel_constants(rig_constants(RIGS["mixed"]())) is None
    rig = h36m_rig("S5")
    assert kernel_constants(rig_constants(rig)) is not None
    rig = CameraRig((*rig.cameras[:3], fisheye(rig[3])))
    assert kernel_constants(rig_constants(rig)) is None


def test_kernel_results_do_not_depend_on_threads_or_chunks():
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S9")
    uv, conf = _observations(rig, 20000, rng)
    a = triangulate(rig, uv, conf, method="weighted", num_threads=1, chunk_size=20000)
    b = triangulate(rig, uv, conf, method="weighted", num_threads=2, chunk_size=777)
    for key, value in a.arrays().items():  # to the last bits: SIMD lanes and the loop tail may round apart
        np.testing.assert_allclose(value, b.arrays()[key], rtol=1e-11, atol=0, err_msg=key)


@pytest.mark.parametrize("method", ["dlt", "ransac"])
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_bad_values_in_any_chunk_raise(method, value):
    """Value checks run per chunk (in the kernel for "dlt"): a bad value in the last chunk still raises."""
    rig = h36m_rig("S1")
    uv = np.zeros((4, 3000, 2))
    uv[1, -1, 0] = value
    with pytest.raises(InputError, match="infinite"):
        triangulate(rig, uv, method=method, chunk_size=256)
    for bad in (-0.5, np.nan, np.inf):
        conf = np.ones((4, 3000))
        conf[3, -1] = bad
        with pytest.raises(InputError, match="confidence"):
            triangulate(rig, np.zeros((4, 3000, 2)), conf, method=method, chunk_size=256)


def test_kernel_flags_exactly_the_rejected_values():
    rig = h36m_rig("S1")
    kc = kernel_constants(rig_constants(rig))
    n = 10
    out = {"points": np.empty((n, 3)), "inliers": np.empty((4, n), bool), "reprojection_error": np.empty(n),
           "num_views": np.empty(n, np.int64), "status": np.empty(n, np.uint8), "view_errors": np.empty((4, n))}
    uv, conf = np.full((4, n, 2), 500.0), np.ones((4, n))
    uv[0, 3] = np.nan  # missing: fine
    conf[1, 4] = 0.0  # unusable: fine
    kw = dict(weighted=False, threshold=0.3, min_views=2, min_ray_angle=3.0)
    assert not solve_linear(kc, uv, conf, 0, n, out, **kw)[1]
    for array, index, value in ((uv, (2, 5, 1), -np.inf), (conf, (3, 6), np.nan), (conf, (3, 6), -1e-9)):
        bad = array.copy()
        bad[index] = value
        args = (bad, conf) if array is uv else (uv, bad)
        assert solve_linear(kc, *args, 0, n, out, **kw)[1]
