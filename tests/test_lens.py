"""The lens model in its three forms (calibration.lens: .model in numpy and torch, .groups /
.undistortion batched over cameras, .compiled per point) against each other, and the solvers'
views, reprojection and DLT, against independent references: OpenCV's projectPoints and
undistortPoints run to convergence, central differences, per-camera projection and per-point
least squares. Seeds are fixed in each test."""

from __future__ import annotations

import torch

import cv2
import numpy as np
import pytest

from spine3d.calibration import CameraRig, h36m_rig
from spine3d.calibration.lens.model import distort as reference_distort
from spine3d.calibration.lens.model import undistort as reference_undistort
from spine3d.calibration.projection import pixels_to_normalized
from spine3d.calibration.lens import compiled, undistortion
from spine3d.calibration.dlt import dlt, single_thread_matmul, solve_normal, view_normal_matrices
from spine3d.calibration.lens.groups import distort, lens_groups
from spine3d.triangulation.reprojection import pixel_errors
from spine3d.calibration.lens.undistortion import UNDISTORT_TOLERANCE, undistort
from spine3d.calibration.views import normalized, prepare_views, rig_constants

from rigs import RIGS, rational_rig

RNG_SEED = 11


def _observations(rig: CameraRig, n: int, rng: np.random.Generator, margin: float = 0.2) -> np.ndarray:
    """(C, n, 2) px uniform over each image widened by ``margin`` of its size on every side, a few NaN."""
    sizes = np.stack([c.size for c in rig])[:, None, :]
    uv = rng.uniform(-margin, 1.0 + margin, (len(rig), n, 2)) * sizes
    uv[:, ::53] = np.nan
    uv[1, ::31, 1] = np.nan  # one coordinate missing
    return uv


def _radial_tangential_groups(rig: CameraRig):
    return [g for g in lens_groups(rig.cameras) if g.model in ("pinhole", "h36m")]


@pytest.mark.parametrize("name", ["opencv", "h36m", "rational-skewed"])
def test_distort_and_jacobian_match_calibration(name):
    rng = np.random.default_rng(RNG_SEED)
    rig = RIGS[name]()
    (g,) = _radial_tangential_groups(rig)
    x, y = rng.uniform(-0.7, 0.7, (2, len(rig), 500))
    xd, yd, j00, j01, j10, j11 = distort(g, x, y, jacobian=True)
    h = 1e-6
    for c, cam in enumerate(rig):
        ref = lambda dx, dy: reference_distort(np.stack([x[c] + dx, y[c] + dy], -1), cam.dist, cam.model)  # noqa: E731
        np.testing.assert_allclose(np.stack([xd[c], yd[c]], -1), ref(0, 0), rtol=1e-14, atol=1e-15)
        jx, jy = (ref(h, 0) - ref(-h, 0)) / (2 * h), (ref(0, h) - ref(0, -h)) / (2 * h)
        np.testing.assert_allclose(np.stack([j00[c], j10[c], j01[c], j11[c]]),
                                   np.stack([jx[:, 0], jx[:, 1], jy[:, 0], jy[:, 1]]), atol=1e-8)


@pytest.mark.parametrize("name", ["opencv", "h36m", "rational-skewed"])
def test_every_form_of_the_lens_model_agrees(name):
    """model (numpy), model (torch, float64), groups (batched) and compiled give the same distortion,
    and the batched and compiled undistortions give the same exact inverse."""
    rng = np.random.default_rng(RNG_SEED)
    rig = RIGS[name]()
    (g,) = _radial_tangential_groups(rig)
    x, y = rng.uniform(-0.7, 0.7, (2, len(rig), 400))
    batched = np.stack(distort(g, x, y), axis=-1)                                  # (C, n, 2)
    table, inverse = compiled.lens_table((g,), len(rig))
    for c, cam in enumerate(rig):
        xy = np.stack([x[c], y[c]], axis=-1)
        reference = reference_distort(xy, cam.dist, cam.model)
        in_torch = reference_distort(torch.from_numpy(xy), torch.from_numpy(cam.dist), cam.model).numpy()
        per_point = np.array([compiled.distorted(table[c], a, b, bool(table[c, compiled.RATIONAL]))
                              for a, b in xy])
        for other in (in_torch, batched[c], per_point):
            np.testing.assert_allclose(other, reference, rtol=1e-13, atol=1e-15)
    # the inverse: batched (numpy) vs compiled, from pixels of the image
    const = rig_constants(rig)
    uv = _observations(rig, 300, rng, margin=0.0)
    xd, yd = normalized(const, uv)
    ux, uy = undistort(g, xd, yd)
    intrinsics = np.concatenate([const.fx, const.fy, const.cx, const.cy, const.skew], axis=1)
    for c in range(len(rig)):
        cx, cy, bad = np.empty(uv.shape[1]), np.empty(uv.shape[1]), np.zeros(uv.shape[1], dtype=bool)
        compiled.undistort_pixels(np.ascontiguousarray(uv[c]).reshape(-1), intrinsics[c], table[c], inverse[c],
                                  cx, cy, bad)
        assert not bad.any()
        np.testing.assert_allclose(np.stack([cx, cy]), np.stack([ux[c], uy[c]]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("coefficients", [5, 8])
def test_undistort_matches_opencv_run_to_convergence(coefficients):
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1") if coefficients == 5 else rational_rig()
    uv = _observations(rig, 4000, rng, margin=0.0)
    x, y = undistort(lens_groups(rig.cameras)[0], *normalized(rig_constants(rig), uv))
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-16)
    for c, cam in enumerate(rig):
        if cam.K[0, 1] != 0:  # OpenCV's undistortPoints ignores the skew
            continue
        ref = cv2.undistortPoints(uv[c].reshape(-1, 1, 2), cam.K, cam.dist, criteria=criteria).reshape(-1, 2)
        ref[~np.isfinite(uv[c]).all(-1)] = np.nan
        error = np.hypot(x[c] - ref[:, 0], y[c] - ref[:, 1]) * cam.K[0, 0]  # px
        assert np.nanmax(error) < UNDISTORT_TOLERANCE
        assert (np.isnan(x[c]) == np.isnan(ref[:, 0])).all()


@pytest.mark.parametrize("name", list(RIGS))
def test_undistortion_is_exact_for_every_model(name):
    """Every result re-distorts within the tolerance (checked with calibration.distort), equals
    calibration.undistort run long, and NaN observations stay NaN."""
    rng = np.random.default_rng(RNG_SEED)
    rig = RIGS[name]()
    const = rig_constants(rig)
    uv = _observations(rig, 3000, rng)
    views = prepare_views(const, uv, np.ones(uv.shape[:2]), 0.0, whiten=False)
    for c, cam in enumerate(rig):
        missing = ~np.isfinite(uv[c]).all(-1)
        assert not views.usable[c, missing].any() and views.usable[c, ~missing].all()
        xy = np.stack([views.x[c], views.y[c]], -1)[~missing]
        observed = pixels_to_normalized(uv[c][~missing], cam.K)
        redistorted = reference_distort(xy, cam.dist, cam.model)
        assert np.hypot(*(redistorted - observed).T).max() * max(cam.K[0, 0], cam.K[1, 1]) <= UNDISTORT_TOLERANCE
        ref = reference_undistort(observed, cam.dist, cam.model, iterations=40)
        np.testing.assert_allclose(xy, ref, atol=UNDISTORT_TOLERANCE / cam.K[0, 0])


@pytest.mark.parametrize("name", ["opencv", "h36m", "rational-skewed"])
def test_one_newton_step_from_the_start_point_is_exact_over_the_image(name):
    """For usual lenses the fast path alone (start point, one Newton step) passes the check
    everywhere in the image, with a wide margin for the Human3.6M lenses: the repair path is for
    points far outside the image or extreme lenses ("strong", covered by the exactness test)."""
    rng = np.random.default_rng(RNG_SEED)
    rig = RIGS[name]()
    uv = _observations(rig, 20000, rng, margin=0.0)
    xd, yd = normalized(rig_constants(rig), uv)
    (g,) = _radial_tangential_groups(rig)
    x, y = undistortion._newton_step(g, *undistortion._start(g, xd, yd), xd, yd)
    ex, ey = distort(g, x, y)
    error = np.hypot(ex - xd, ey - yd) * g.focal  # px
    assert np.nanmax(error) < (1e-6 if name in ("opencv", "h36m") else UNDISTORT_TOLERANCE)


def test_points_far_outside_the_fit_are_repaired_exactly(monkeypatch):
    """Beyond the fitted range the start is poor: the check sends those points to the repair steps
    (counted here), and they come back exact."""
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S1")
    (g,) = lens_groups(rig.cameras)
    repaired = []
    original = undistortion._repair
    monkeypatch.setattr(undistortion, "_repair", lambda g, x, y, xd, yd, bad: (repaired.append(bad.sum()),
                                                                              original(g, x, y, xd, yd, bad)))
    xd, yd = rng.uniform(-1.0, 1.0, (2, 4, 2000))  # normalised: up to ~2.5 image half-widths
    x, y = undistort(g, xd, yd)
    assert repaired and repaired[0] > 100
    ex, ey = distort(g, x, y)
    assert (np.hypot(ex - xd, ey - yd) * g.focal).max() <= UNDISTORT_TOLERANCE


@pytest.mark.parametrize("name", ["h36m", "rational-skewed", "mixed"])
def test_whitening_maps_match_finite_differences_in_pixels(name):
    rng = np.random.default_rng(RNG_SEED)
    rig = RIGS[name]()
    const = rig_constants(rig)
    uv = _observations(rig, 500, rng, margin=0.0)
    views = prepare_views(const, uv, np.ones(uv.shape[:2]), 0.0, whiten=True)
    h = 1e-6
    for c, cam in enumerate(rig):
        usable = views.usable[c]
        xy = np.stack([views.x[c], views.y[c]], -1)[usable]
        px = lambda dx, dy: cam.project_camera(np.concatenate([xy + [dx, dy], np.ones((len(xy), 1))], -1))  # noqa: E731
        ju, jv = (px(h, 0) - px(-h, 0)) / (2 * h), (px(0, h) - px(0, -h)) / (2 * h)
        s00, s01, s10, s11 = views.whiten[:, c, usable]
        np.testing.assert_allclose(np.stack([s00, s01, s10, s11]),
                                   np.stack([ju[:, 0], jv[:, 0], ju[:, 1], jv[:, 1]]), rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("name", list(RIGS))
def test_pixel_errors_match_per_camera_projection(name):
    rng = np.random.default_rng(RNG_SEED)
    rig = RIGS[name]()
    points = rng.normal([0.0, 0.0, 1.0], [0.5, 0.5, 0.5], (300, 3))
    points[::37] = np.nan
    uv = rig.project(points) + rng.normal(0.0, 5.0, (len(rig), 300, 2))
    uv[:, ::41] = np.nan
    ours = pixel_errors(rig_constants(rig), points.T, uv)
    ref = np.stack([np.hypot(*(cam.project(points) - uv[c]).T) for c, cam in enumerate(rig)])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-9)
    assert (np.isnan(ours) == np.isnan(ref)).all()


def test_dlt_matches_per_point_least_squares_with_distortion():
    """The summed normal matrices (one product over all views) give the per-point least-squares
    solution of the weighted DLT rows built from spine3d.calibration.undistort's coordinates; bool weights
    are unit weights; the per-view matrices sum to the same thing."""
    rng = np.random.default_rng(RNG_SEED)
    rig = h36m_rig("S9")
    const = rig_constants(rig)
    n = 2500  # several matmul column blocks
    points = rng.normal([0.0, 0.0, 1.0], [0.4, 0.4, 0.5], (n, 3))
    uv = rig.project(points) + rng.normal(0.0, 3.0, (4, n, 2))
    conf = rng.uniform(0.0, 1.0, (4, n))
    views = prepare_views(const, uv, conf, 0.3, whiten=False)
    weighted = dlt(const, views.x, views.y, views.confidence)
    np.testing.assert_allclose(weighted, solve_normal(const, view_normal_matrices(
        const, views.x, views.y, views.confidence).sum(axis=0)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dlt(const, views.x, views.y, views.usable),
                               dlt(const, views.x, views.y, views.usable.astype(float)), rtol=1e-12, atol=1e-14)
    for i in rng.choice(n, 40, replace=False):  # reference loop over a few points (test only)
        rows = []
        for c, cam in enumerate(rig):
            xn = reference_undistort(pixels_to_normalized(uv[c, i], cam.K), cam.dist, cam.model, iterations=40)
            w = views.confidence[c, i]
            P = np.hstack([cam.R, cam.t[:, None]])
            rows += [w * (xn[0] * P[2] - P[0]), w * (xn[1] * P[2] - P[1])]
        rows = np.array(rows)
        if np.linalg.matrix_rank(rows[:, :3]) == 3:
            ref = np.linalg.lstsq(rows[:, :3], -rows[:, 3], rcond=None)[0]
            np.testing.assert_allclose(weighted[:, i], ref, atol=1e-7)


def test_single_thread_matmul_matches_numpy():
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.normal(size=(10, 16)), rng.normal(size=(16, 2500))
    np.testing.assert_allclose(single_thread_matmul(a, b), a @ b, rtol=1e-13, atol=1e-13)
    a, b = rng.normal(size=(4, 10, 4)), rng.normal(size=(4, 4, 2049))
    np.testing.assert_allclose(single_thread_matmul(a, b), a @ b, rtol=1e-13, atol=1e-13)
