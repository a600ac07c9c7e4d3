"""Camera model: numpy vs OpenCV vs torch, distortion inverses, rotations, shapes, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spine3d.calibration import Camera, CameraRig, distort, h36m_rig, rotmat_to_rotvec, rotvec_to_rotmat, undistort
from spine3d.calibration.projection import projection_matrix
from spine3d.errors import InputError

SEED = 1234


def _random_camera(rng: np.random.Generator, dist: np.ndarray, model: str = "pinhole", skew: float = 0.0) -> Camera:
    """A random camera; OpenCV's projectPoints ignores skew, so only the P-matrix test sets it."""
    rvec = rng.normal(size=3)
    K = np.array([[1100.0 + 100 * rng.random(), skew, 500.0], [0.0, 1120.0, 480.0], [0.0, 0.0, 1.0]])
    # place the camera ~4 m from the origin looking at it: t chosen so the origin maps to z = 4
    return Camera.from_rvec("cam", [1000, 1000], K, dist, rvec, [0.1, -0.2, 4.0], model)


def _points(rng: np.random.Generator, n: int = 500) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, size=(n, 3))


@pytest.mark.parametrize("dist", [np.zeros(4), np.array([-0.2, 0.1, 1e-3, -2e-3]),
                                  np.array([-0.21, 0.25, -1.4e-3, -9.8e-4, -3e-3]),
                                  np.array([0.1, -0.05, 1e-3, 2e-3, 0.01, 0.05, -0.01, 0.002])])
def test_project_matches_opencv(dist):
    rng = np.random.default_rng(SEED)
    cam = _random_camera(rng, dist)
    X = _points(rng)
    ref, _ = cv2.projectPoints(X, cam.rvec, cam.t, cam.K, cam.dist)
    np.testing.assert_allclose(cam.project(X), ref[:, 0], atol=1e-6, rtol=0)


def test_fisheye_matches_opencv():
    rng = np.random.default_rng(SEED)
    cam = _random_camera(rng, np.array([0.05, -0.02, 0.004, -0.001]), model="fisheye")
    X = _points(rng)
    K = cam.K.copy()
    ref, _ = cv2.fisheye.projectPoints(X[:, None], cam.rvec, cam.t, K, cam.dist, alpha=K[0, 1] / K[0, 0])
    np.testing.assert_allclose(cam.project(X), ref[:, 0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("model,dist", [("pinhole", [-0.2, 0.1, 1e-3, -2e-3, 0.01]),
                                        ("h36m", [-0.207, 0.248, -1.4e-3, -9.8e-4, -3e-3]),
                                        ("fisheye", [0.05, -0.02, 0.004, -0.001])])
def test_torch_matches_numpy_and_is_differentiable(model, dist):
    rng = np.random.default_rng(SEED)
    cam = _random_camera(rng, np.array(dist), model)
    X = _points(rng).reshape(5, 100, 3)  # any leading batch shape
    uv = cam.project(X)
    Xt = torch.tensor(X, requires_grad=True)
    uvt = cam.project(Xt)
    assert uvt.shape == uv.shape == (5, 100, 2)
    np.testing.assert_allclose(uvt.detach().numpy(), uv, atol=1e-9, rtol=0)
    assert torch.autograd.gradcheck(lambda x: cam.project(x), (Xt[0, :4],))


def test_undistort_inverts_distort_all_models():
    rng = np.random.default_rng(SEED)
    xy = rng.uniform(-0.6, 0.6, size=(2000, 2))
    for model, dist in (("pinhole", [-0.25, 0.12, 1e-3, -2e-3, 0.02]), ("h36m", [-0.2, 0.24, -1.4e-3, -1e-3, -3e-3]),
                        ("fisheye", [0.1, -0.05, 0.01, 1e-3])):
        np.testing.assert_allclose(undistort(distort(xy, dist, model), dist, model), xy, atol=1e-12)


def test_undistort_pixels_matches_opencv():
    rng = np.random.default_rng(SEED)
    cam = _random_camera(rng, np.array([-0.2, 0.1, 1e-3, -2e-3, 0.01]))
    uv = cam.project(_points(rng))
    # OpenCV's iterative undistortion, run to convergence, as the reference
    ref = cv2.undistortPoints(uv[:, None], cam.K, cam.dist, None, np.eye(3), np.eye(3),
                              criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-14))[:, 0]
    np.testing.assert_allclose(cam.undistort_normalized(uv), ref, atol=1e-9)


def test_h36m_distortion_formula_brute_force():
    """The "h36m" model equals the dataset's formula written out point by point."""
    rng = np.random.default_rng(SEED)
    k1, k2, p1, p2, k3 = -0.207, 0.248, -1.4e-3, -9.8e-4, -3.1e-3
    xy = rng.uniform(-0.5, 0.5, size=(50, 2))
    out = distort(xy, [k1, k2, p1, p2, k3], "h36m")
    for (x, y), (xd, yd) in zip(xy, out):
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        tan = p1 * y + p2 * x
        assert xd == pytest.approx(x * (radial + tan) + p2 * r2, abs=1e-15)
        assert yd == pytest.approx(y * (radial + tan) + p1 * r2, abs=1e-15)


def test_h36m_pkl_matches_dataset_projection(h36m_cameras_pkl):
    """load_h36m_cameras reproduces Human3.6M's own projection (x_cam = R^T (X - T), dataset distortion)."""
    import pickle

    from spine3d.calibration import load_h36m_cameras

    rigs = load_h36m_cameras(h36m_cameras_pkl)
    assert sorted(rigs, key=lambda s: int(s[1:])) == [f"S{i}" for i in range(1, 12)]
    params = pickle.loads(h36m_cameras_pkl.read_bytes())
    rng = np.random.default_rng(SEED)
    X = rng.uniform([-1, -1, 0], [1, 1, 1.9], size=(300, 3))
    for (subject, cam_id), p in params.items():
        cam = rigs[subject][cam_id]
        assert cam.model == "h36m"
        Xc = (X - p["T"].reshape(3)) @ p["R"]  # R^T (X - T), row vectors
        x, y = Xc[:, 0] / Xc[:, 2], Xc[:, 1] / Xc[:, 2]
        k, pp = p["k"].reshape(3), p["p"].reshape(2)
        r2 = x**2 + y**2
        radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
        tan = pp[0] * y + pp[1] * x
        u = p["f"][0, 0] * (x * (radial + tan) + pp[1] * r2) + p["c"][0, 0]
        v = p["f"][1, 0] * (y * (radial + tan) + pp[0] * r2) + p["c"][1, 0]
        np.testing.assert_allclose(cam.project(X), np.stack([u, v], -1), atol=1e-8)


def test_shipped_h36m_rigs_equal_pkl(h36m_cameras_pkl):
    from spine3d.calibration import load_h36m_cameras

    rigs = load_h36m_cameras(h36m_cameras_pkl)
    X = np.random.default_rng(SEED).uniform([-1, -1, 0], [1, 1, 1.9], size=(200, 3))
    for subject, rig in rigs.items():
        shipped = h36m_rig(subject, model="h36m")
        assert shipped.names == rig.names
        np.testing.assert_allclose(shipped.project(X), rig.project(X), atol=1e-8)
        # the OpenCV reading of the same numbers differs (that is why the model flag exists) but is close
        diff = np.abs(h36m_rig(subject).project(X) - rig.project(X)).max()
        assert 1e-4 < diff < 2.0


def test_rotations_round_trip_and_match_opencv():
    rng = np.random.default_rng(SEED)
    rv = rng.normal(size=(100, 3))
    rv[0] = 0.0
    rv[1] = [1e-9, 0, 0]
    R = rotvec_to_rotmat(rv)
    for i in range(0, 100, 7):
        np.testing.assert_allclose(R[i], cv2.Rodrigues(rv[i])[0], atol=1e-12)
    np.testing.assert_allclose(rotvec_to_rotmat(rotmat_to_rotvec(R)), R, atol=1e-12)
    Rt = rotvec_to_rotmat(torch.tensor(rv))
    np.testing.assert_allclose(Rt.numpy(), R, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
def test_world_camera_round_trip(a, b, c):
    cam = Camera.from_rvec("c", [640, 480], np.diag([500.0, 500.0, 1.0]), np.zeros(4), [a, b, c], [0.3, 0.1, 2.0])
    X = np.array([[a, b, c], [0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    np.testing.assert_allclose(cam.camera_to_world(cam.world_to_camera(X)), X, atol=1e-12)
    np.testing.assert_allclose(cam.world_to_camera(cam.center), 0.0, atol=1e-12)


def test_projection_matrix_matches_undistorted_projection():
    rng = np.random.default_rng(SEED)
    cam = _random_camera(rng, np.zeros(5), skew=0.7)
    X = _points(rng, 50)
    h = np.c_[X, np.ones(len(X))] @ cam.P.T
    np.testing.assert_allclose(h[:, :2] / h[:, 2:], cam.project(X), atol=1e-9)
    np.testing.assert_allclose(projection_matrix(torch.tensor(cam.K), torch.tensor(cam.R), torch.tensor(cam.t)).numpy(),
                               cam.P, atol=1e-12)


def test_rig_project_shape_and_indexing(shared_data):
    rig = CameraRig.from_toml(shared_data / "pose2sim_balancing" / "Calib.toml")
    assert len(rig) == 4 and rig.names == ["cam_01", "cam_02", "cam_03", "cam_04"]
    assert rig["cam_03"] is rig[2]
    uv = rig.project(np.zeros((7, 3, 3)))
    assert uv.shape == (4, 7, 3, 2)
    assert rig.projection_matrices.shape == (4, 3, 4)
    with pytest.raises(KeyError):
        rig["cam_09"]


def test_toml_round_trip_exact(shared_data, tmp_path):
    import tomllib

    src = shared_data / "pose2sim_balancing" / "Calib.toml"
    rig = CameraRig.from_toml(src)
    rig.to_toml(tmp_path / "out.toml")
    assert tomllib.loads(src.read_text()) == tomllib.loads((tmp_path / "out.toml").read_text())
    again = CameraRig.from_toml(tmp_path / "out.toml")
    for a, b in zip(rig, again):
        for attr in ("K", "dist", "R", "t", "size"):
            assert np.array_equal(getattr(a, attr), getattr(b, attr))


def test_toml_round_trip_models(tmp_path):
    rig = h36m_rig("S9", model="h36m")
    rig.to_toml(tmp_path / "h.toml")
    back = CameraRig.from_toml(tmp_path / "h.toml")
    assert all(c.model == "h36m" for c in back)
    fish = CameraRig((Camera("f", [640, 480], np.diag([300.0, 300.0, 1.0]), [0.1, 0.01, 0.0, 0.0], model="fisheye"),))
    fish.to_toml(tmp_path / "f.toml")
    assert CameraRig.from_toml(tmp_path / "f.toml")[0].model == "fisheye"


def test_arrays_round_trip():
    rig = h36m_rig("S1")
    back = CameraRig.from_arrays(**rig.to_arrays())
    X = np.random.default_rng(SEED).normal(size=(20, 3))
    np.testing.assert_array_equal(back.project(X), rig.project(X))


@pytest.mark.parametrize("text,problem", [
    ("[cam]\nname='c'\nsize=[1,2]\n", "lacks"),
    ("[cam\nsize=1", "not a valid TOML"),
    ("[metadata]\nerror=0.0\n", "no camera sections"),
    ("[cam]\nsize=[10.0,10.0]\nmatrix=[[1,0,0],[0,1,0],[0,0,1]]\ndistortions=[0,0,0,0]\nrotation=[0,0]\n"
     "translation=[0,0,0]\n", "shape"),
    ("[cam]\nsize=[10.0,10.0]\nmatrix=[[1,0,0],[0,1,0],[0,0,1]]\ndistortions=[0,0,0,0]\nrotation=[0,0,0]\n"
     "translation=[0,0,'x']\n", "non-numeric"),
    ("[cam]\nsize=[10.0,10.0]\nmatrix=[[1,0,0],[0,1,0],[0,0,1]]\ndistortions=[0,0,0,0]\nrotation=[0,0,0]\n"
     "translation=[0,0,nan]\n", "non-finite"),
])
def test_bad_toml_names_file_and_problem(tmp_path, text, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        CameraRig.from_toml(path)
    msg = str(info.value)
    assert str(path) in msg and problem in msg and "\n" not in msg


def test_bad_h36m_pickle(tmp_path):
    import pickle

    from spine3d.calibration import load_h36m_cameras

    path = tmp_path / "cams.pkl"
    path.write_bytes(pickle.dumps({("S1", "1"): {"R": np.eye(3)}}))
    with pytest.raises(InputError, match="lacks"):
        load_h36m_cameras(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="cannot unpickle"):
        load_h36m_cameras(path)


def test_camera_validation():
    with pytest.raises(InputError, match="rotation"):
        Camera("c", [1, 1], np.eye(3), np.zeros(4), 2 * np.eye(3), np.zeros(3))
    with pytest.raises(InputError, match="model"):
        Camera("c", [1, 1], np.eye(3), model="kannala")
    with pytest.raises(InputError, match="at most 4"):
        Camera("c", [1, 1], np.eye(3), np.zeros(5), model="fisheye")
    with pytest.raises(InputError, match="unique"):
        CameraRig((Camera("a", [1, 1], np.eye(3)), Camera("a", [1, 1], np.eye(3))))
    with pytest.raises(KeyError):
        h36m_rig("S1")["nope"]
    with pytest.raises(InputError, match="S12"):
        h36m_rig("S12")
