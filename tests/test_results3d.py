"""The one 3D-result schema (spine3d.formats.results3d): round trips in every form, the older keys,
and every producer's file read by `spine3d visualize`."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.cli.main import main
from spine3d.errors import InputError
from spine3d.formats.opensim import read_trc
from spine3d.formats.results3d import SCHEMA, Result3D, read_result3d, write_result3d
from spine3d.skeletons import SPINEPOSE_37, SIMSPINE_15

RNG = np.random.default_rng(3)


def _result(frame: str = "world", unit: str = "m", joints=SPINEPOSE_37, frames: int = 12) -> Result3D:
    points = (RNG.normal(0.0, 0.3, (frames, joints.num_joints, 3)) + [0.0, 0.0, 1.0]) * (1000.0 if unit == "mm" else 1.0)
    points[2, 5] = np.nan
    status = RNG.integers(0, 3, (frames, joints.num_joints)).astype(np.uint8)
    return Result3D(points, tuple(joints.names), frame, unit, root_relative=frame == "camera", skeleton=joints.name,
                    fps=60.0, frame_numbers=np.arange(frames) + 7, status=status,
                    status_names=("ok", "too_few_views", "degenerate"), evidence=status == 0,
                    extras={"inliers": RNG.random((4, frames, joints.num_joints)) > 0.5, "method": np.array("dlt")})


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_round_trip_keeps_every_array(tmp_path, suffix):
    result = _result()
    back = read_result3d(write_result3d(tmp_path / f"r{suffix}", result))
    np.testing.assert_array_equal(back.points, result.points)
    for name in ("joint_names", "frame", "unit", "root_relative", "skeleton", "fps", "status_names"):
        assert getattr(back, name) == getattr(result, name), name
    for name in ("frame_numbers", "status", "evidence"):
        np.testing.assert_array_equal(getattr(back, name), getattr(result, name))
    np.testing.assert_array_equal(back.extras["inliers"], result.extras["inliers"])
    assert str(back.extras["method"]) == "dlt"


def test_trc_holds_the_kept_points_in_openSim_axes(tmp_path):
    world = _result()
    keep = world.status == 0
    trc, names, fps = read_trc(write_result3d(tmp_path / "w.trc", world, keep=keep))
    np.testing.assert_allclose(trc, np.where(keep[..., None], world.points, np.nan), atol=1e-9)
    assert names == list(world.joint_names) and fps == 60.0
    camera = _result("camera", "mm")
    trc, _, _ = read_trc(write_result3d(tmp_path / "c.trc", camera))
    columns = trc[..., [1, 2, 0]] * 1000.0  # the file's X, Y, Z in mm: x_cam, -y_cam (up), -z_cam
    p = camera.points
    np.testing.assert_allclose(columns, np.stack([p[..., 0], -p[..., 1], -p[..., 2]], -1), atol=1e-6)


def test_files_of_the_older_keys_still_read(tmp_path):
    lifted = RNG.normal(0.0, 300.0, (5, 15, 3))
    np.savez(tmp_path / "lift.npz", points_3d=lifted, joint_names=np.array(SIMSPINE_15.names), units=np.array("mm"))
    old = read_result3d(tmp_path / "lift.npz")
    assert (old.frame, old.unit, old.root_relative) == ("camera", "mm", True)
    np.testing.assert_allclose(old.in_metres(), lifted / 1000.0)
    np.savez(tmp_path / "tri.npz", points=lifted / 1000.0, marker_names=np.array(SIMSPINE_15.names))
    old = read_result3d(tmp_path / "tri.npz")
    assert (old.frame, old.unit, old.joint_names) == ("world", "m", tuple(SIMSPINE_15.names))


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match="bad.npz.*not a readable npz"):
        read_result3d(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", keypoints=np.zeros((3, 2, 2)))
    with pytest.raises(InputError, match="not a 3D result file"):
        read_result3d(tmp_path / "other.npz")
    with pytest.raises(InputError, match="2 joint names for 3 joints"):
        Result3D(np.zeros((1, 3, 3)), ("a", "b"), "world", "m")


@pytest.mark.parametrize("frame,unit", [("world", "m"), ("camera", "mm")])
def test_visualize_reads_every_producer_file(tmp_path, frame, unit):
    """A 37-joint file (SpinePose layout: 37 joints fit two layouts) renders by its names, in either frame."""
    path = write_result3d(tmp_path / "r.npz", _result(frame, unit, frames=3))
    assert main(["visualize", str(path), "--out", str(tmp_path / "frames"), "--size", "64", "64"]) == 0
    assert len(list((tmp_path / "frames").glob("*.png"))) == 3
    assert SCHEMA in str(np.load(path)["schema"])
