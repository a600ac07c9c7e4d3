"""PnP: known poses recovered for pinhole (with distortion), Human3.6M and fisheye cameras; CLI."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.calibration import Camera, CameraRig, h36m_rig
from spine3d.calibration.extrinsics import reprojection_errors, solve_pnp
from spine3d.calibration.rotations import rotmat_to_rotvec
from spine3d.cli.main import main
from spine3d.errors import InputError

SEED = 7


def volume_points(n: int, seed: int = SEED) -> np.ndarray:
    """(n, 3) m points in a 3 x 3 x 2 m capture volume around the origin (Z-up)."""
    return np.random.default_rng(seed).uniform([-1.5, -1.5, 0.0], [1.5, 1.5, 2.0], (n, 3))


def pose_error(a: Camera, b: Camera) -> tuple[float, float]:
    """(rotation difference rad, translation difference m)."""
    return float(np.linalg.norm(rotmat_to_rotvec(a.R.T @ b.R))), float(np.linalg.norm(a.t - b.t))


def unposed(camera: Camera) -> Camera:
    return camera.with_pose(np.eye(3), np.zeros(3))


@pytest.mark.parametrize("model", ["pinhole", "h36m"])
def test_exact_correspondences_give_the_exact_pose(model):
    truth = h36m_rig("S1", model)[1]  # real Human3.6M camera, with its distortion
    assert np.abs(truth.dist).max() > 0
    points = volume_points(40)
    estimate = solve_pnp(points, truth.project(points), unposed(truth))
    rot, trans = pose_error(truth, estimate)
    assert rot < 1e-9 and trans < 1e-9
    assert estimate.model == model and np.array_equal(estimate.K, truth.K)


def test_noisy_correspondences_and_planar_points():
    truth = h36m_rig("S9")[2]
    rng = np.random.default_rng(SEED)
    points = volume_points(60)
    estimate = solve_pnp(points, truth.project(points) + rng.normal(0, 0.5, (60, 2)), unposed(truth))
    rot, trans = pose_error(truth, estimate)
    assert rot < np.radians(0.05) and trans < 0.01
    floor = volume_points(12) * [1, 1, 0]  # coplanar markers on the floor
    rot, trans = pose_error(truth, solve_pnp(floor, truth.project(floor), unposed(truth)))
    assert rot < 1e-8 and trans < 1e-8


def test_fisheye_camera_pose():
    truth = Camera("fish", [1280, 960], [[500.0, 0, 640.0], [0, 500.0, 480.0], [0, 0, 1]],
                   [0.02, -0.01, 0.003, -0.001], model="fisheye").with_pose(h36m_rig("S1")[0].R, h36m_rig("S1")[0].t)
    points = volume_points(30)
    rot, trans = pose_error(truth, solve_pnp(points, truth.project(points), unposed(truth)))
    assert rot < 1e-9 and trans < 1e-9


@pytest.mark.parametrize("model", ["pinhole", "h36m"])
def test_ransac_ignores_outliers(model):
    truth = h36m_rig("S1", model)[3]
    rng = np.random.default_rng(SEED)
    points = volume_points(80)
    uv = truth.project(points) + rng.normal(0, 0.3, (80, 2))
    uv[:16] += rng.uniform(40, 200, (16, 2)) * rng.choice([-1, 1], (16, 2))  # 20 % gross outliers
    rot, trans = pose_error(truth, solve_pnp(points, uv, unposed(truth), ransac=True, threshold_px=3.0))
    assert rot < np.radians(0.05) and trans < 0.01
    plain_rot, _ = pose_error(truth, solve_pnp(points, uv, unposed(truth)))
    assert plain_rot > 5 * rot  # the outliers do matter without RANSAC


def test_non_finite_rows_are_ignored_and_bad_shapes_rejected():
    truth = h36m_rig("S1")[0]
    points = volume_points(10)
    uv = truth.project(points)
    uv[2] = np.nan
    points[5] = np.nan
    estimate = solve_pnp(points, uv, unposed(truth))
    assert pose_error(truth, estimate)[0] < 1e-9
    errors = reprojection_errors(estimate, points, uv)
    assert np.isnan(errors[[2, 5]]).all() and np.nanmax(errors) < 1e-6
    with pytest.raises(InputError, match="at least 4 finite"):
        solve_pnp(points[:4], uv[:4], truth)  # row 2 is NaN: 3 left
    with pytest.raises(InputError, match=r"shape \(10, 2\)"):
        solve_pnp(points, uv[:9], truth)
    with pytest.raises(InputError, match=r"\(N, 3\)"):
        solve_pnp(points[:, :2], uv, truth)


# -- CLI --------------------------------------------------------------------------------------------

def test_cli_extrinsics_csv_and_npz(tmp_path, capsys):
    truth = h36m_rig("S1")
    intrinsics = CameraRig(tuple(unposed(c) for c in truth))
    intrinsics.to_toml(tmp_path / "in.toml")
    points = volume_points(25)
    uv = truth.project(points)  # (C, N, 2)
    uv[1, 3] = np.nan  # one point not seen by camera 1
    with open(tmp_path / "p3.csv", "w") as fh:
        fh.write("x,y,z  # metres\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in points))
    table = uv[[2, 0]].transpose(1, 0, 2).reshape(25, 4)  # cameras 2 and 0, u v per camera
    with open(tmp_path / "p2.csv", "w") as fh:
        cells = [["" if np.isnan(v) else repr(float(v)) for v in row] for row in table]  # empty = not seen
        fh.write("u2,v2,u0,v0\n" + "\n".join(",".join(row) for row in cells))
    names = [truth[2].name, truth[0].name]
    base = ["calibrate", "extrinsics", "--calib", str(tmp_path / "in.toml")]
    code = main(base + ["--points3d", str(tmp_path / "p3.csv"), "--points2d", str(tmp_path / "p2.csv"),
                        "--cameras", *names, "--out", str(tmp_path / "a.toml")])
    assert code == 0 and names[0] in capsys.readouterr().out
    out = CameraRig.from_toml(tmp_path / "a.toml")
    for k in (0, 2):
        assert pose_error(truth[k], out[k])[0] < 1e-8
    assert np.array_equal(out[1].R, np.eye(3))  # not listed: pose kept
    np.savez(tmp_path / "p3.npz", points3d=points)
    np.savez(tmp_path / "p2.npz", points2d=uv)
    code = main(base + ["--points3d", str(tmp_path / "p3.npz"), "--points2d", str(tmp_path / "p2.npz"),
                        "--out", str(tmp_path / "b.toml"), "--ransac"])
    assert code == 0
    out = CameraRig.from_toml(tmp_path / "b.toml")
    assert max(pose_error(a, b)[1] for a, b in zip(truth, out)) < 1e-6


def test_cli_extrinsics_bad_inputs(tmp_path, capsys):
    h36m_rig("S1").to_toml(tmp_path / "in.toml")
    np.savez(tmp_path / "p3.npz", points3d=volume_points(8))
    np.savez(tmp_path / "p2.npz", points2d=np.zeros((3, 8, 2)))
    np.savez(tmp_path / "wrong.npz", other=np.zeros(3))
    base = ["calibrate", "extrinsics", "--calib", str(tmp_path / "in.toml"), "--out", str(tmp_path / "o.toml")]
    p3, p2 = ["--points3d", str(tmp_path / "p3.npz")], ["--points2d", str(tmp_path / "p2.npz")]
    cases = [(p3 + p2, "expected (4 cameras"),
             (["--points3d", str(tmp_path / "wrong.npz")] + p2, "missing key 'points3d'"),
             (["--points3d", str(tmp_path / "none.csv")] + p2, "none.csv"),
             (p3 + p2 + ["--cameras", "nope"], "no camera named 'nope'")]
    for argv, message in cases:
        assert main(base + argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
    assert not (tmp_path / "o.toml").exists()
