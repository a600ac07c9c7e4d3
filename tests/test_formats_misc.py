"""Human3.6M npz, the SIMSPINE+H36M merge, SIMSPINE's MMPose npz and the keypoints npz."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from spine3d.errors import InputError
from spine3d.formats.h36m_npz import read_h36m_positions, write_h36m_positions
from spine3d.formats.keypoints_npz import read_keypoints_npz, write_keypoints_npz
from spine3d.formats.merge import merge_simspine_h36m, merged_sequences
from spine3d.formats.mmpose_npz import read_simspine_mmpose
from spine3d.formats.simspine_h5 import KINEMATIC_AXES, RigArrays, SimSpineH5, SimSpineSequence, write_simspine_h5
from spine3d.skeletons import H36M_32, SIMSPINE_15, SIMSPINE_37

SEED = 11

# Hand-written reference: SIMSPINE_37 limb joint -> the Human3.6M mocap joint (its own names).
LIMBS_FROM_H36M = {
    "RShoulder": "RightArm", "RElbow": "RightForeArm", "RWrist": "RightHand",
    "LShoulder": "LeftArm", "LElbow": "LeftForeArm", "LWrist": "LeftHand",
    "RHip": "RightUpLeg", "RKnee": "RightLeg", "RAnkle": "RightFoot",
    "LHip": "LeftUpLeg", "LKnee": "LeftLeg", "LAnkle": "LeftFoot",
}
NO_SOURCE = ("REye", "LEye", "REar", "LEar", "RBigToe", "RSmallToe", "RHeel", "LBigToe", "LSmallToe", "LHeel")


def _tagged(frames: int, joints: int, source: float) -> np.ndarray:
    """(T, J, 3) m with point (t, j) = (0.05 j, 0.001 t, source): every value says where it came from, and
    the joints span a body (0.05 m apart)."""
    t, j = np.meshgrid(np.arange(frames), np.arange(joints), indexing="ij")
    return np.stack([0.05 * j, 0.001 * t, np.full(t.shape, float(source))], axis=-1)


# ---- Human3.6M npz ---------------------------------------------------------------------------
def test_h36m_round_trip(tmp_path):
    rng = np.random.default_rng(SEED)
    positions = {"S1": {"Walking 1": rng.normal(size=(5, 32, 3)).astype(np.float32),
                        "Directions": np.zeros((3, 32, 3))},
                 "S9": {"Photo": rng.normal(size=(4, 32, 3))}}
    path = tmp_path / "data_3d_h36m.npz"
    write_h36m_positions(path, positions)
    with np.load(path, allow_pickle=True) as raw:  # VideoPose3D's layout: one pickled dict
        assert raw.files == ["positions_3d"] and raw["positions_3d"].shape == ()
    got = read_h36m_positions(path)
    assert got.keys() == positions.keys() and got["S1"].keys() == positions["S1"].keys()
    for s in positions:
        for a in positions[s]:
            np.testing.assert_array_equal(got[s][a], positions[s][a])


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"other": np.zeros(3)}, "missing key 'positions_3d'"),
        ({"positions_3d": np.zeros((2, 32, 3))}, "must be a pickled dict"),
        ({"positions_3d": np.array({"S1": {"Eating": np.zeros((4, 17, 3))}}, dtype=object)},
         r"\['S1'\]\['Eating'\] has shape \(4, 17, 3\), expected \(T, 32, 3\)"),
        ({"positions_3d": np.array({"S1": {"Eating": np.full((4, 32, 3), np.nan)}}, dtype=object)}, "finite"),
        ({"positions_3d": np.array({"S1": [1, 2]}, dtype=object)}, "must be a dict action -> array"),
    ],
)
def test_h36m_errors_name_the_file(tmp_path, payload, message):
    path = tmp_path / "h.npz"
    np.savez(path, **payload)
    with pytest.raises(InputError, match=message) as err:
        read_h36m_positions(path)
    assert str(path) in str(err.value)


def test_h36m_not_an_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 32, 3)))
    with pytest.raises(InputError, match="single array"):
        read_h36m_positions(tmp_path / "a.npy")
    (tmp_path / "b.npz").write_text("text")
    with pytest.raises(InputError, match="not a readable npz"):
        read_h36m_positions(tmp_path / "b.npz")
    with pytest.raises(InputError, match=r"expected \(T, 32, 3\)"):
        write_h36m_positions(tmp_path / "c.npz", {"S1": {"Eating": np.zeros((3, 17, 3))}})
    assert not (tmp_path / "c.npz").exists()


# ---- merge -----------------------------------------------------------------------------------
def test_merge_places_joints_by_name():
    spine, body = _tagged(20, 15, source=1.0), _tagged(20, 32, source=2.0)
    merged = merge_simspine_h36m(spine, body)
    assert merged.shape == (20, 37, 3)
    for i, name in enumerate(SIMSPINE_37.names):
        got = merged[:, i]
        if name in SIMSPINE_15.names:  # includes Hip: the pelvis comes from SIMSPINE, not H36M
            np.testing.assert_array_equal(got, spine[:, SIMSPINE_15.names.index(name)])
        elif name in LIMBS_FROM_H36M:
            np.testing.assert_array_equal(got, body[:, H36M_32.names.index(LIMBS_FROM_H36M[name])])
        else:
            assert name in NO_SOURCE and np.isnan(got).all()
    assert len(SIMSPINE_15.names) + len(LIMBS_FROM_H36M) + len(NO_SOURCE) == 37


def test_merge_frame_counts(caplog):
    spine = SimSpineSequence("S1", "Eating", _tagged(200, 15, 1.0), np.zeros((200, 62)), np.arange(200) / 50)
    with caplog.at_level(logging.INFO):
        merged = merge_simspine_h36m(spine, _tagged(198, 32, 2.0), name="S1/Eating")
    assert merged.shape == (198, 37, 3) and "truncated to 198" in caplog.text
    with pytest.raises(InputError, match=r"S1/Eating: SIMSPINE has 200 frames and Human3.6M 197 \(1.5% apart"):
        merge_simspine_h36m(spine, _tagged(197, 32, 2.0), name="S1/Eating")
    with pytest.raises(InputError, match=r"expected \(T, 32, 3\)"):
        merge_simspine_h36m(spine, _tagged(200, 17, 2.0))
    with pytest.raises(InputError, match=r"expected \(T, 15, 3\)"):
        merge_simspine_h36m(_tagged(200, 37, 1.0), _tagged(200, 32, 2.0))


def test_merge_warns_when_frames_disagree(caplog):
    spine, body = _tagged(10, 15, 0.0), _tagged(10, 32, 0.0)
    body[:, 0] = spine[:, 0] * 1000  # pelvis in mm: an obvious unit mismatch
    body[:, 0, 0] += 1000
    with caplog.at_level(logging.WARNING):
        merge_simspine_h36m(spine, body, name="S5/Posing")
    assert "S5/Posing: SIMSPINE and Human3.6M pelvis are" in caplog.text


def _rig() -> RigArrays:
    return RigArrays(["c1"], np.eye(3)[None], np.zeros((1, 4)), np.eye(3)[None], np.zeros((1, 3)),
                     np.array([[640.0, 480.0]]))


def test_merged_sequences(tmp_path, caplog):
    seqs = [SimSpineSequence("S1", a, _tagged(t, 15, 1.0), np.full((t, 62), float(t)), np.arange(t) / 50)
            for a, t in (("Walking 1", 100), ("Photo", 50), ("WalkDog", 40), ("Eating", 30))]
    path = tmp_path / "s.h5"
    write_simspine_h5(path, seqs, {"S1": _rig()}, SIMSPINE_15.names)
    h36m = {"S1": {"Walking 1": _tagged(99, 32, 2.0), "TakingPhoto": _tagged(50, 32, 3.0),
                   "WalkDog": _tagged(40, 32, 4.0)}}
    with caplog.at_level(logging.WARNING):
        out = {s.action: s for s in merged_sequences(SimSpineH5(path), h36m)}
    assert "1 SIMSPINE trials have no Human3.6M counterpart: S1/Eating" in caplog.text
    assert sorted(out) == ["Photo", "WalkDog", "Walking 1"]
    walk = out["Walking 1"]
    assert walk.markers.shape == (99, 37, 3) and walk.kinematics.shape == (99, 62) and walk.timestamps.shape == (99,)
    assert (out["Photo"].markers[:, SIMSPINE_37.index("LElbow"), 2] == 3.0).all()  # matched TakingPhoto
    with pytest.raises(InputError, match="S1/Eating"):
        list(merged_sequences(SimSpineH5(path), h36m, on_missing="raise"))
    with pytest.raises(InputError, match="no Human3.6M counterpart"):
        list(merged_sequences(SimSpineH5(path), {"S9": {}}))


# ---- SIMSPINE MMPose npz ---------------------------------------------------------------------
def _mmpose_arrays(n: int = 6, k: int = 15) -> dict:
    rng = np.random.default_rng(SEED)
    meta = {"root_name": "Hip", "root_index": 0, "joint_names": list(SIMSPINE_15.names)[:k],
            "param_names": list(KINEMATIC_AXES), "parent_ids": list(SIMSPINE_15.parents)[:k]}
    return {"imgname": np.array([f"S1_Eating.54138969_{i:06d}.jpg" for i in range(n)]),
            "center": rng.uniform(0, 1000, (n, 2)), "scale": rng.uniform(1, 5, n),
            "part": rng.normal(size=(n, k, 3)), "S": rng.normal(size=(n, k, 4)), "S_world": rng.normal(size=(n, k, 4)),
            "angles": rng.normal(size=(n, 62)), "metadata": np.array(meta, dtype=object)}


def test_mmpose_read(tmp_path):
    arrays = _mmpose_arrays()
    arrays["scale"] = arrays["scale"][:, None]  # (N, 1) is accepted and squeezed
    path = tmp_path / "simspine_train.npz"
    np.savez(path, **arrays)
    got = read_simspine_mmpose(path)
    assert got["metadata"]["root_name"] == "Hip" and got["scale"].shape == (6,)
    for key in ("imgname", "center", "part", "S", "S_world", "angles"):
        np.testing.assert_array_equal(got[key], arrays[key])
    subset = read_simspine_mmpose(path, keys=["S_world"])
    assert set(subset) == {"S_world", "metadata"}


def test_mmpose_S_is_not_the_camera_frame_but_S_world_and_the_cameras_give_it():
    """Built as SIMSPINE's preprocessor builds a row (S = R (X - t)): root-relative S is the camera frame's,
    absolute S is not; camera_points(S_world, R, t) is, checked against Camera.world_to_camera."""
    from spine3d.calibration import h36m_rig
    from spine3d.formats.mmpose_npz import camera_points, parse_imgname

    camera = h36m_rig("S9")[0]
    world = np.random.default_rng(8).normal([0.0, 0.0, 1.0], [0.3, 0.3, 0.5], (5, 15, 3))
    S = (world - camera.t) @ camera.R.T  # the preprocessor's R (X - t)
    truth = camera.world_to_camera(world)
    np.testing.assert_allclose(S - S[:, :1], truth - truth[:, :1], atol=1e-12)
    assert np.abs(S - truth).max() > 1.0  # absolute positions: metres off
    np.testing.assert_allclose(camera_points(np.concatenate([world, np.ones((5, 15, 1))], -1), camera.R, camera.t),
                               truth, atol=1e-12)
    assert parse_imgname("S9/S9_Walking 1.54138969/S9_Walking 1.54138969_000012.jpg") == ("S9", "Walking 1",
                                                                                          "54138969", 12)
    with pytest.raises(InputError, match="is not <subject>_<action>.<camera>_<frame>.jpg"):
        parse_imgname("frame.jpg")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda a: a.pop("S_world"), "missing keys S_world"),
        (lambda a: a.update(S=np.zeros((6, 15, 3))), r"'S' has shape \(6, 15, 3\), expected \(6, 15, 4\)"),
        (lambda a: a.update(angles=np.zeros((6, 61))), r"'angles' has shape \(6, 61\), expected \(6, 62\)"),
        (lambda a: a.update(part=np.zeros((6, 37, 3))), r"expected \(6, 15, 3\) \(N rows, K=15"),
        (lambda a: a.update(metadata=np.array({"root_name": "Hip"}, dtype=object)), "metadata lacks root_index"),
        (lambda a: a.update(center=np.full((6, 2), np.inf)), "'center' holds infinite"),
    ],
)
def test_mmpose_errors_name_the_file(tmp_path, edit, message):
    arrays = _mmpose_arrays()
    edit(arrays)
    path = tmp_path / "simspine_test.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError, match=message) as err:
        read_simspine_mmpose(path)
    assert str(path) in str(err.value)


# ---- keypoints npz ---------------------------------------------------------------------------
def test_keypoints_round_trip(tmp_path):
    rng = np.random.default_rng(SEED)
    kp = rng.uniform(0, 1000, (4, 30, 25, 3))
    kp[1, 3, 7] = np.nan
    path = tmp_path / "kp.npz"
    write_keypoints_npz(path, keypoints=kp, image_size=np.array([[1088, 1920]] * 4), skeleton="body25b", fps=60.0)
    got = read_keypoints_npz(path)
    np.testing.assert_array_equal(got["keypoints"], kp)
    assert got["skeleton"] == "body25b" and got["image_size"].shape == (4, 2) and float(got["fps"]) == 60.0
    assert not list(p for p in tmp_path.iterdir() if p.name != "kp.npz")


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"points": np.zeros((3, 17, 2))}, "missing key 'keypoints'"),
        ({"keypoints": np.zeros((3, 17))}, r"'keypoints' has shape \(3, 17\), expected \(T, J, 2\|3\)"),
        ({"keypoints": np.zeros((3, 17, 4))}, "expected"),
        ({"keypoints": np.zeros((3, 17, 2)), "skeleton": np.array("coco17x")}, "unknown skeleton 'coco17x'"),
        ({"keypoints": np.zeros((3, 17, 2)), "skeleton": np.array("body25b")}, "17 joints but skeleton body25b has 25"),
        ({"keypoints": np.zeros((3, 17, 2)), "confidence": np.zeros((3, 16))}, r"'confidence' has shape \(3, 16\)"),
        ({"keypoints": np.ones((3, 17, 3)), "confidence": np.zeros((3, 17))}, "disagrees with the third channel"),
        ({"keypoints": np.zeros((2, 3, 17, 2)), "image_size": np.array([[640, 480]] * 3)}, r"\(2,\) or \(2, 2\)"),
        ({"keypoints": np.zeros((3, 17, 2)), "image_size": np.array([640, 0])}, "positive"),
        ({"keypoints": np.full((3, 17, 2), np.inf)}, "infinite"),
    ],
)
def test_keypoints_errors_name_the_file(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError, match=message) as err:
        read_keypoints_npz(path)
    assert str(path) in str(err.value)


def test_keypoints_not_an_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 17, 2)))
    with pytest.raises(InputError, match="single array"):
        read_keypoints_npz(tmp_path / "a.npy")
    (tmp_path / "b.npz").write_text("text")
    with pytest.raises(InputError, match="not a readable npz"):
        read_keypoints_npz(tmp_path / "b.npz")
    with pytest.raises(InputError, match="infinite"):
        write_keypoints_npz(tmp_path / "c.npz", keypoints=np.full((2, 3, 2), -np.inf))
    assert not (tmp_path / "c.npz").exists()
