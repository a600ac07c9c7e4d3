"""Linear triangulation: closed-form exactness, independent references (numpy SVD / eigh, OpenCV),
invariances, min_views / status, the fast undistortion. Seeds are fixed in each test."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from spine3d.calibration import CameraRig, h36m_rig
from spine3d.errors import InputError
from spine3d.triangulation import STATUS_NAMES, triangulate
from spine3d.calibration.dlt import (
    smallest_eigenvector,
    solve_normal,
    symmetric_adjugate,
    upper_to_full,
    view_normal_matrices,
)
from spine3d.calibration.views import normalized, prepare_views, rig_constants, undistort_views

RNG_SEED = 7


def _points(n: int, seed: int = RNG_SEED) -> np.ndarray:
    """(n, 3) m points in the Human3.6M capture volume (floor near z = 0)."""
    return np.random.default_rng(seed).normal([0.0, 0.0, 1.0], [0.4, 0.4, 0.5], (n, 3))


def _fisheye_rig() -> CameraRig:
    rig = h36m_rig("S5")
    cams = [replace(c, model="fisheye", dist=np.array([0.05, -0.01, 0.002, 0.0])) for c in rig]
    return CameraRig(tuple(cams))


@pytest.mark.parametrize("rig", [h36m_rig("S1"), h36m_rig("S9", model="h36m"), _fisheye_rig()],
                         ids=["opencv-distortion", "h36m-distortion", "fisheye"])
@pytest.mark.parametrize("method", ["dlt", "weighted", "ransac"])
def test_exact_reprojection_gives_exact_points(rig, method):
    x = _points(2000)
    uv = rig.project(x)  # (C, N, 2) px with the lens distortion
    conf = np.random.default_rng(1).uniform(0.4, 1.0, uv.shape[:2])
    res = triangulate(rig, uv, conf, method)
    assert res.points.shape == (2000, 3)
    np.testing.assert_allclose(res.points, x, atol=1e-6)  # < 1 micrometre
    assert res.inliers.all() and (res.num_views == 4).all() and (res.status == 0).all()
    assert np.nanmax(res.reprojection_error) < 1e-4


def test_batch_shape_is_kept():
    rig = h36m_rig("S1")
    x = _points(6 * 5).reshape(6, 5, 3)  # random points: no sequence, no temporal check
    res = triangulate(rig, rig.project(x), method="dlt", temporal=False)
    assert res.points.shape == (6, 5, 3) and res.inliers.shape == (4, 6, 5)
    assert res.reprojection_error.shape == res.num_views.shape == res.status.shape == (6, 5)
    np.testing.assert_allclose(res.points, x, atol=1e-6)


def test_weighted_dlt_matches_brute_force_least_squares():
    """Independent reference: per-point numpy lstsq of the weighted DLT rows with X_4 = 1 (linear-LS)."""
    rng = np.random.default_rng(RNG_SEED)
    rig = CameraRig(tuple(replace(c, dist=np.zeros(5)) for c in h36m_rig("S1")))
    x = _points(50)
    uv = rig.project(x) + rng.normal(0, 3.0, (4, 50, 2))
    w = rng.uniform(0.3, 1.0, (4, 50))
    res = triangulate(rig, uv, w, "weighted", confidence_threshold=0.0)
    ref = []
    for i in range(50):  # reference loop over points (test only)
        rows = []
        for c, cam in enumerate(rig):
            P = cam.P  # K [R | t], pixels: the same algebraic error up to the K scaling
            P = np.linalg.inv(cam.K) @ P
            xn = np.linalg.solve(cam.K, [uv[c, i, 0], uv[c, i, 1], 1.0])
            rows += [w[c, i] * (xn[0] * P[2] - P[0]), w[c, i] * (xn[1] * P[2] - P[1])]
        rows = np.array(rows)
        ref.append(np.linalg.lstsq(rows[:, :3], -rows[:, 3], rcond=None)[0])
    np.testing.assert_allclose(res.points, np.array(ref), atol=1e-9)


def test_two_views_match_opencv_triangulate_points():
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1").subset([0, 1])
    x = _points(200)
    uv = rig.project(x) + rng.normal(0, 1.0, (2, 200, 2))
    xn = [cam.undistort_normalized(uv[c]) for c, cam in enumerate(rig)]
    # OpenCV returns the unit-eigenvector (homogeneous) solution, which depends on the world frame
    # (Hartley & Zisserman 12.2): compare it with ours in the same conditioned frame
    const = rig_constants(rig)
    Pc = [np.hstack([cam.R, ((cam.R @ const.center + cam.t) / const.scale)[:, None]]) for cam in rig]
    h = cv2.triangulatePoints(Pc[0], Pc[1], xn[0].T, xn[1].T)
    views = prepare_views(const, uv, np.ones((2, 200)), 0.0, whiten=False)
    m = view_normal_matrices(const, views.x, views.y, np.ones((2, 200))).sum(0)
    eigen = solve_normal(const, m, steps=30)
    np.testing.assert_allclose(eigen.T, const.center + const.scale * (h[:3] / h[3]).T, atol=1e-9)
    # the public linear-LS solution is frame-free and agrees with both to a few micrometres
    Rt = [np.hstack([cam.R, cam.t[:, None]]) for cam in rig]
    h = cv2.triangulatePoints(Rt[0], Rt[1], xn[0].T, xn[1].T)
    res = triangulate(rig, uv, method="dlt")
    np.testing.assert_allclose(res.points, (h[:3] / h[3]).T, atol=5e-4)
    np.testing.assert_allclose(res.points, eigen.T, atol=5e-4)


def test_adjugate_and_smallest_eigenvector_match_numpy():
    rng = np.random.default_rng(RNG_SEED)
    a = rng.normal(size=(300, 4, 6))
    full = a @ a.transpose(0, 2, 1)  # PSD
    upper = np.stack([full[:, i, j] for i, j in ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3),
                                                 (2, 2), (2, 3), (3, 3))])
    np.testing.assert_allclose(upper_to_full(upper), full)
    adj = upper_to_full(symmetric_adjugate(upper))
    np.testing.assert_allclose(adj, np.linalg.inv(full) * np.linalg.det(full)[:, None, None], rtol=1e-9, atol=1e-9)
    # near-singular matrices, as in triangulation: the power iteration on the adjugate converges
    v_true = rng.normal(size=(300, 4))
    a = a - np.einsum("nij,nj,nk->nik", a.transpose(0, 2, 1), v_true, v_true).transpose(0, 2, 1) \
        / (v_true ** 2).sum(1)[:, None, None] * 0.999
    full = a @ a.transpose(0, 2, 1)
    upper = np.stack([full[:, i, j] for i, j in ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3),
                                                 (2, 2), (2, 3), (3, 3))])
    ours = smallest_eigenvector(upper, steps=3)
    ref = np.linalg.eigh(full)[1][:, :, 0].T
    np.testing.assert_allclose(np.abs((ours * ref).sum(0)), 1.0, atol=1e-9)


def test_camera_order_permutation_invariance():
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1")
    x = _points(500)
    uv = rig.project(x) + rng.normal(0, 2.0, (4, 500, 2))
    uv[rng.random((4, 500)) < 0.15] += 200.0  # some outliers
    conf = rng.uniform(0.3, 1.0, (4, 500))
    perm = [2, 0, 3, 1]
    for method in ("dlt", "weighted", "ransac"):
        a = triangulate(rig, uv, conf, method)
        b = triangulate(rig.subset(perm), uv[perm], conf[perm], method)
        np.testing.assert_allclose(a.points, b.points, atol=1e-7)
        np.testing.assert_array_equal(a.inliers[perm], b.inliers)
        np.testing.assert_allclose(a.reprojection_error, b.reprojection_error, atol=1e-6)


def test_zero_confidence_view_changes_nothing():
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1")
    extra = h36m_rig("S5")[2].with_pose(h36m_rig("S5")[2].R, h36m_rig("S5")[2].t)
    big = CameraRig(rig.cameras + (replace(extra, name="useless"),))
    x = _points(300)
    uv = rig.project(x) + rng.normal(0, 2.0, (4, 300, 2))
    conf = rng.uniform(0.3, 1.0, (4, 300))
    junk = rng.uniform(0, 1000, (1, 300, 2))
    for method in ("dlt", "weighted", "ransac"):
        a = triangulate(rig, uv, conf, method)
        b = triangulate(big, np.concatenate([uv, junk]), np.concatenate([conf, np.zeros((1, 300))]), method)
        np.testing.assert_allclose(a.points, b.points, atol=1e-7)
        assert not b.inliers[4].any()
        np.testing.assert_array_equal(a.num_views, b.num_views)


def test_min_views_nan_and_status():
    rig = h36m_rig("S1")
    x = _points(4)
    uv = rig.project(x)
    conf = np.ones((4, 4))
    uv[1:, 0] = np.nan  # point 0: one view left
    conf[2:, 1] = 0.1  # point 1: two confident views
    conf[:, 2] = 0.0  # point 2: no view
    for method in ("dlt", "weighted", "ransac"):
        res = triangulate(rig, uv, conf, method, min_views=3)
        names = [STATUS_NAMES[s] for s in res.status]
        assert names == ["too_few_views", "too_few_views", "too_few_views", "ok"]
        assert np.isnan(res.points[:3]).all() and np.isfinite(res.points[3]).all()
        assert not res.inliers[:, :3].any() and (res.num_views[:3] == 0).all()
        assert np.isnan(res.reprojection_error[:3]).all()
    res = triangulate(rig, uv, conf, "weighted")  # default min_views = 2: point 1 is fine
    np.testing.assert_allclose(res.points[1], x[1], atol=1e-6)
    assert res.num_views[1] == 2 and res.inliers[:2, 1].all()


def test_fast_undistortion_matches_calibration():
    rng = np.random.default_rng(RNG_SEED)
    for rig in (h36m_rig("S1"), h36m_rig("S9", model="h36m")):
        uv = rng.uniform([-200, -200], [1200, 1200], (len(rig), 3000, 2))  # also far outside the image
        uv[:, ::97] = np.nan
        const = rig_constants(rig)
        x, y = undistort_views(const, *normalized(const, uv))
        for c, cam in enumerate(rig):
            ref = cam.undistort_normalized(uv[c])
            np.testing.assert_allclose(np.stack([x[c], y[c]], axis=-1), ref, atol=1e-4 / cam.K[0, 0], equal_nan=True)


def test_whitening_maps_normalised_steps_to_pixels():
    """S (x' - x) approximates the pixel difference of two nearby observations (distortion included)."""
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1")
    const = rig_constants(rig)
    uv = rng.uniform(50, 950, (4, 200, 2))
    a = prepare_views(const, uv, np.ones((4, 200)), 0.3, whiten=True)
    for sigma, tol in ((1.0, 5e-3), (0.1, 5e-5)):  # first order: the error shrinks with the step squared
        step = rng.normal(0, sigma, (4, 200, 2))
        b = prepare_views(const, uv + step, np.ones((4, 200)), 0.3, whiten=True)
        dx, dy = b.x - a.x, b.y - a.y
        s00, s01, s10, s11 = a.whiten
        approx = np.stack([s00 * dx + s01 * dy, s10 * dx + s11 * dy], axis=-1)
        np.testing.assert_allclose(approx, step, atol=tol)


def test_normal_matrices_are_sums_of_row_outer_products():
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1")
    const = rig_constants(rig)
    x, y, w = rng.normal(size=(4, 10)), rng.normal(size=(4, 10)), rng.uniform(size=(4, 10))
    m = upper_to_full(view_normal_matrices(const, x, y, w).sum(0))
    P = np.concatenate([const.R, ((const.R @ const.center + const.t) / const.scale)[:, :, None]], axis=2)
    rows = np.concatenate([w[..., None] * (x[..., None] * P[:, None, 2] - P[:, None, 0]),
                           w[..., None] * (y[..., None] * P[:, None, 2] - P[:, None, 1])])  # (2C, n, 4)
    np.testing.assert_allclose(m, np.einsum("kni,knj->nij", rows, rows), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [
    dict(points2d=np.zeros((3, 5, 2))),
    dict(points2d=np.zeros((4, 5, 3))),
    dict(points2d=np.full((4, 5, 2), np.inf)),
    dict(points2d=np.zeros((4, 5, 2)), confidence=np.ones((4, 6))),
    dict(points2d=np.zeros((4, 5, 2)), confidence=-np.ones((4, 5))),
    dict(points2d=np.zeros((4, 5, 2)), method="svd"),
    dict(points2d=np.zeros((4, 5, 2)), threshold=-1.0),
    dict(points2d=np.zeros((4, 5, 2)), min_views=1),
    dict(points2d=np.zeros((4, 5, 2)), no_such_option=1),
])
def test_bad_arguments_raise_one_line_input_error(bad):
    with pytest.raises(InputError) as err:
        triangulate(h36m_rig("S1"), **bad)
    assert "\n" not in str(err.value)


def test_threads_and_chunks_do_not_change_results():
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1")
    x = _points(3000)
    uv = rig.project(x) + rng.normal(0, 2.0, (4, 3000, 2))
    uv[rng.random((4, 3000)) < 0.2] = rng.uniform(0, 1000, 2)
    a = triangulate(rig, uv, chunk_size=4096, num_threads=1)
    b = triangulate(rig, uv, chunk_size=512, num_threads=2)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.inliers, b.inliers)
