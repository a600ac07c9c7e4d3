"""Bundle adjustment: recovery of perturbed Human3.6M cameras, Jacobian pattern, gauge modes, CLI."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from spine3d.calibration import Camera, CameraRig, h36m_rig
from spine3d.calibration.bundle import bundle_adjust, initial_points, triangulate_linear
from spine3d.calibration.bundle_init import check_observations
from spine3d.calibration.bundle_problem import BundleProblem, observations
from spine3d.calibration.rotations import rotmat_to_rotvec, rotvec_to_rotmat
from spine3d.cli.main import main
from spine3d.errors import InputError

SEED = 20240611
T, J = 200, 17


def moving_skeleton(seed: int = SEED, frames: int = T) -> tuple[np.ndarray, np.ndarray]:
    """A rigid 17-joint body (1.8 m tall) random-walking (10 cm / frame) and turning in a 3 x 3 m floor area.

    Returns (frames, J, 3) m world points (Z-up) and the (J, 3) template.
    """
    rng = np.random.default_rng(seed)
    template = np.column_stack([rng.uniform(-0.25, 0.25, J), rng.uniform(-0.15, 0.15, J), rng.uniform(0.0, 1.8, J)])
    yaw = np.cumsum(rng.normal(0, 0.1, frames))
    walk = np.cumsum(rng.normal(0, 0.1, (frames, 2)), axis=0)
    root = 1.5 - np.abs((walk + 1.5) % 6.0 - 3.0)  # reflected into [-1.5, 1.5] m
    turn = rotvec_to_rotmat(np.column_stack([np.zeros((frames, 2)), yaw]))
    return np.einsum("tij,kj->tki", turn, template) + np.column_stack([root, np.zeros(frames)])[:, None], template


def perturbed(rig: CameraRig, seed: int, degrees: float = 2.0, metres: float = 0.05, fixed: tuple[int, ...] = (0,)):
    """Cameras not in ``fixed`` rotated by ``degrees`` about a random axis and moved by ``metres``."""
    rng = np.random.default_rng(seed)
    cams = []
    for k, cam in enumerate(rig):
        if k in fixed:
            cams.append(cam)
            continue
        axis, shift = rng.normal(size=3), rng.normal(size=3)
        R = rotvec_to_rotmat(axis / np.linalg.norm(axis) * np.radians(degrees)) @ cam.R
        cams.append(cam.with_pose(R, -R @ (cam.center + metres * shift / np.linalg.norm(shift))))
    return CameraRig(tuple(cams))


def errors(truth: CameraRig, estimate: CameraRig) -> tuple[np.ndarray, np.ndarray]:
    """(C,) rotation errors, degrees, and (C,) camera-centre errors, m."""
    rot = [np.degrees(np.linalg.norm(rotmat_to_rotvec(a.R.T @ b.R))) for a, b in zip(truth, estimate)]
    return np.array(rot), np.linalg.norm(truth.centers - estimate.centers, axis=1)


@pytest.fixture(scope="module")
def scene():
    """Human3.6M S1 cameras, the moving skeleton and its projections with 1 px noise (NaN outside the image)."""
    rig = h36m_rig("S1")
    points, template = moving_skeleton()
    flat = points.reshape(-1, 3)
    uv = rig.project(flat) + np.random.default_rng(SEED).normal(0, 1.0, (len(rig), len(flat), 2))
    inside = np.stack([cam.in_image(p) for cam, p in zip(rig, uv)])
    uv[~inside] = np.nan
    return rig, flat, template, uv


def test_perturbed_cameras_are_recovered_with_a_known_length(scene):
    rig, flat, template, uv = scene
    start = perturbed(rig, seed=1)
    i, j = np.unravel_index(np.argmax(np.linalg.norm(template[:, None] - template[None], axis=-1)), (J, J))
    known = (np.arange(T) * J + i, np.arange(T) * J + j, float(np.linalg.norm(template[i] - template[j])))
    result = bundle_adjust(start, uv, known_length=known)
    rot, centre = errors(rig, result.rig)
    print(f"\nBA recovery: rotation errors {np.round(rot, 4)} deg, centre errors {np.round(100 * centre, 3)} cm, "
          f"RMS {result.initial_rms:.2f} -> {result.final_rms:.3f} px, {result.iterations} evaluations")
    assert rot.max() < 0.2 and centre.max() < 0.01
    assert np.array_equal(result.rig[0].R, rig[0].R) and np.array_equal(result.rig[0].t, rig[0].t)
    assert result.initial_rms > 10 and result.final_rms < 1.3  # 1 px noise per coordinate, minus fitted dof
    assert np.nanmedian(np.linalg.norm(result.points3d - flat, axis=1)) < 0.01
    lengths = np.linalg.norm(result.points3d[known[0]] - result.points3d[known[1]], axis=1)
    assert np.nanmean(lengths) == pytest.approx(known[2], rel=1e-12)  # the gauge holds exactly


def test_outliers_are_set_aside(scene):
    rig, flat, _, uv = scene
    rng = np.random.default_rng(3)
    frames = 60 * J  # a shorter sequence keeps this test fast
    bad = uv[:, :frames].copy()
    gross = rng.random(bad.shape[:2]) < 0.1
    bad[gross] += rng.uniform(30, 200, (gross.sum(), 2)) * rng.choice([-1, 1], (gross.sum(), 2))
    result = bundle_adjust(perturbed(rig, seed=2), bad)
    rot, _ = errors(rig, result.rig)
    assert rot.max() < 0.2
    clean = np.isfinite(bad).all(axis=-1) & ~gross
    single = gross & (gross.sum(axis=0) < 2)  # 2 bad views of 4 can out-vote the good ones: not those
    assert not result.inliers[single].any()  # every other gross error set aside
    assert result.inliers[clean].mean() > 0.95  # measured 0.965: points with 2 bad views lose their good ones
    assert result.n_outliers == (np.isfinite(bad).all(axis=-1) & ~result.inliers).sum()


def test_fixed_camera_gauge_keeps_both_positions(scene):
    rig, _, _, uv = scene
    start = perturbed(rig, seed=4, fixed=(0,), metres=0.0)  # camera 1 rotated only: its centre is right
    result = bundle_adjust(start, uv, reference=rig[0].name, fixed_camera=1)
    np.testing.assert_allclose(result.rig.centers[:2], rig.centers[:2], atol=1e-12)
    rot, centre = errors(rig, result.rig)
    assert rot.max() < 0.2 and centre.max() < 0.01


def test_default_gauge_keeps_the_baseline_and_reference(scene):
    rig, _, _, uv = scene
    start = perturbed(rig, seed=5)
    result = bundle_adjust(start, uv[:, : 40 * J], reference=2)
    assert np.array_equal(result.rig[2].R, start[2].R) and np.array_equal(result.rig[2].t, start[2].t)
    baseline = lambda r: np.linalg.norm(r[0].center - r[2].center)  # noqa: E731 - scale camera = first non-reference
    assert baseline(result.rig) == pytest.approx(baseline(start), rel=1e-12)


def test_refined_focal_length(scene):
    rig, _, _, uv = scene
    cams = list(perturbed(rig, seed=6, degrees=0.5, metres=0.01))
    K = cams[2].K.copy()
    K[:2, :2] *= 1.03  # 3 % focal error
    cams[2] = replace(cams[2], K=K)
    result = bundle_adjust(CameraRig(tuple(cams)), uv[:, : 100 * J], fixed_camera=1, refine_focal=True)
    assert result.rig[2].K[0, 0] == pytest.approx(rig[2].K[0, 0], rel=3e-3)


# -- the problem's structure -----------------------------------------------------------------------

@pytest.mark.parametrize("mode, focal", [("sphere", True), ("fixed", False)])
def test_jacobian_sparsity_matches_finite_differences(mode, focal):
    rig = perturbed(h36m_rig("S5"), seed=8).subset([0, 1, 2])
    rng = np.random.default_rng(9)
    points = rng.uniform([-1, -1, 0], [1, 1, 1.8], (6, 3))
    uv = rig.project(points) + rng.normal(0, 1, (3, 6, 2))
    uv[2, 4] = np.nan  # a missing observation
    uv, w = check_observations(uv, rng.uniform(0.5, 1.0, (3, 6)), 3)
    obs = observations(uv, w, np.ones(6, bool))
    problem = BundleProblem(rig, obs, points + 0.01, reference=1, scale_camera=0, scale_mode=mode, refine_focal=focal)
    x = problem.x0() + rng.normal(0, 1e-3, problem.x0().shape)
    h = 1e-6
    dense = np.stack([(problem.residuals(x + h * e) - problem.residuals(x - h * e)) / (2 * h)
                      for e in np.eye(len(x))], axis=1)  # brute force, column by column
    pattern = problem.jac_sparsity().toarray().astype(bool)
    assert pattern.shape == dense.shape == (2 * obs.count, len(x))
    np.testing.assert_array_equal(np.abs(dense) > 1e-9, pattern)
    assert problem.n_camera_params == {"sphere": 3 + 2 + 3 + 3, "fixed": 3 + 3 + 3}[mode] + 3 * focal


def test_triangulate_linear_matches_references_and_initial_points_drops_a_bad_view():
    """Noisy rays: the inhomogeneous linear least squares of the DLT rows, solved per point (the
    estimator of spine3d.calibration.dlt); noise-free rays: OpenCV's triangulatePoints."""
    import cv2

    rig = h36m_rig("S1")
    ideal = CameraRig(tuple(Camera(c.name, c.size, c.K, np.zeros(5), c.R, c.t) for c in rig))
    points = np.random.default_rng(10).uniform([-1, -1, 0], [1, 1, 1.8], (50, 3))
    uv = ideal.project(points) + np.random.default_rng(11).normal(0, 2.0, (4, 50, 2))
    mine = triangulate_linear(uv, ideal)
    for i in range(50):  # reference loop over points (test only)
        rows = []
        for c, u in zip(ideal, uv[:, i]):
            xn = np.linalg.solve(c.K, [*u, 1.0])[:2]
            P = np.column_stack([c.R, c.t])
            rows += [xn[0] * P[2] - P[0], xn[1] * P[2] - P[1]]
        rows = np.array(rows)
        np.testing.assert_allclose(mine[i], np.linalg.lstsq(rows[:, :3], -rows[:, 3], rcond=None)[0], atol=1e-9)
    clean = ideal.project(points)[:2]
    rays = [np.linalg.solve(c.K, np.vstack([u.T, np.ones(50)]))[:2] for c, u in zip(ideal, clean)]  # normalised
    ref = cv2.triangulatePoints(*(np.column_stack([c.R, c.t]) for c in ideal.cameras[:2]), *rays)
    np.testing.assert_allclose(triangulate_linear(clean, ideal.subset([0, 1])), (ref[:3] / ref[3]).T, atol=1e-9)
    exact = triangulate_linear(rig.project(points), rig)  # with distortion: undistorted rays
    np.testing.assert_allclose(exact, points, atol=1e-9)
    bad = rig.project(points)
    bad[3, :10] += 150.0
    bad[1, 10] = np.nan
    bad[2, 10] = np.nan
    fixed, used = initial_points(bad, rig)
    np.testing.assert_allclose(fixed[:10], points[:10], atol=1e-8)
    assert not used[3, :10].any() and used[:3, :10].all() and np.isfinite(fixed[10]).all()
    assert np.isnan(triangulate_linear(bad[:, 10:11][[0, 1]], rig.subset([1, 2]))).all()  # one view only


def test_bad_inputs():
    rig = h36m_rig("S1")
    uv = rig.project(np.zeros((5, 3)) + [0, 0, 1])
    with pytest.raises(InputError, match="not both"):
        bundle_adjust(rig, uv, fixed_camera=1, known_length=(0, 1, 0.5))
    with pytest.raises(InputError, match=r"\(C=4, N, 2\)"):
        bundle_adjust(rig, uv[:3])
    with pytest.raises(InputError, match="no camera named 'x'"):
        bundle_adjust(rig, uv, reference="x")
    with pytest.raises(InputError, match="is the reference camera"):
        bundle_adjust(rig, uv, fixed_camera=0)
    with pytest.raises(InputError, match="weights must have shape"):
        bundle_adjust(rig, uv, np.ones(5))
    with pytest.raises(InputError, match=r"must lie in \[0, 5\)"):
        bundle_adjust(rig, uv, known_length=(0, 5, 1.0))
    with pytest.raises(InputError, match="must be positive"):
        bundle_adjust(rig, uv, known_length=(0, 1, 0.0))
    unposed = CameraRig(tuple(cam.with_pose(np.eye(3), np.zeros(3)) for cam in rig))  # intrinsics only
    with pytest.raises(InputError, match="same centre"):
        bundle_adjust(unposed, uv)


# -- CLI --------------------------------------------------------------------------------------------

def test_cli_refine(scene, tmp_path, capsys):
    rig, _, template, uv = scene
    start = perturbed(rig, seed=12)
    start.to_toml(tmp_path / "start.toml")
    frames = 80
    keypoints = uv[:, : frames * J].reshape(4, frames, J, 2)
    np.savez(tmp_path / "kp.npz", keypoints=keypoints, confidence=np.ones(keypoints.shape[:3]))
    length = float(np.linalg.norm(template[0] - template[1]))
    code = main(["calibrate", "refine", "--calib", str(tmp_path / "start.toml"), "--detections",
                 str(tmp_path / "kp.npz"), "--out", str(tmp_path / "out.toml"), "--ref-camera", rig[0].name,
                 "--known-length", "0", "1", repr(length)])
    assert code == 0
    assert "reprojection RMS" in capsys.readouterr().out
    out = CameraRig.from_toml(tmp_path / "out.toml")
    rot, _ = errors(rig, out)
    assert rot.max() < 0.2 and np.allclose(out[0].R, rig[0].R, atol=1e-14)  # via the TOML rotation vector
    assert out.metadata["adjusted"] is True
    np.savez(tmp_path / "bad.npz", keypoints=keypoints[:3])
    code = main(["calibrate", "refine", "--calib", str(tmp_path / "start.toml"), "--detections",
                 str(tmp_path / "bad.npz"), "--out", str(tmp_path / "bad.toml")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "(C=4, T, J, 2|3)" in err and "\n" not in err
