"""One camera identity (spine3d.calibration.identity): a camera found by its name, its TOML section
key or any label of the same camera, wherever cameras are looked up."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from spine3d.calibration import CameraRig, h36m_rig
from spine3d.calibration.identity import aliases, camera_key, find_camera, pair_labels
from spine3d.data.detections import DetectionsFile
from spine3d.errors import InputError
from spine3d.skeletons import SIMSPINE_15


def test_labels_of_one_camera_share_a_key():
    for label in ("54138969", "cam_01", "cam1", "Camera01", "CAM-1", "cam01_json", "cam_01.mp4"):
        assert camera_key(label) == "cam1", label
    assert camera_key("60457274") == "cam4" and camera_key("left") == "left" and camera_key("Left") == "left"
    assert aliases("cam_02") == ["55011271"] and aliases("55011271") == ["cam_02"] and aliases("left") == []


def test_find_camera_prefers_exact_names_and_refuses_ambiguity():
    names, keys = ["54138969", "55011271"], ["cam_01", "cam_02"]
    assert find_camera("cam_02", names, keys) == 1 and find_camera("54138969", names, keys) == 0
    assert find_camera("cam2", names, keys) == 1 and find_camera("cam3", names, keys) is None
    assert find_camera("cam1", ["cam_01", "camera1"]) is None  # two cameras share the key: no guess


def test_pairing_rules_in_order():
    names = ["cam_01", "cam_02", "cam_03"]
    assert pair_labels(["cam03_json", "cam01_json", "cam02_json"], names) == ([1, 2, 0], "name")
    assert pair_labels(["view3", "view1", "view2"], names) == ([1, 2, 0], "number")
    assert pair_labels(["c", "a", "b"], names) == ([1, 2, 0], "sorted")


def test_rig_looks_cameras_up_by_key_name_or_id(tmp_path):
    """SIMSPINE's calibration names sections cam_01.. and cameras by their Human3.6M id (or the reverse)."""
    rig = h36m_rig("S9")  # names are the Human3.6M ids
    renamed = CameraRig(tuple(replace(c, name=f"camera {i}") for i, c in enumerate(rig)),
                        keys=tuple(f"cam_{i + 1:02d}" for i in range(4)))
    renamed.to_toml(tmp_path / "calib.toml")
    back = CameraRig.from_toml(tmp_path / "calib.toml")
    assert back.keys == ("cam_01", "cam_02", "cam_03", "cam_04") and back.names == renamed.names
    assert back["cam_03"] is back.cameras[2] and back["camera 1"] is back.cameras[1]
    assert rig["cam_02"] is rig.cameras[1] and rig["cam2"] is rig.cameras[1]  # id names, cam_0N labels
    assert back.subset(["cam_04", 0]).keys == ("cam_04", "cam_01")
    with pytest.raises(KeyError, match="no camera named 'cam_07'"):
        rig["cam_07"]


def test_detections_npz_keyed_by_any_label_of_the_camera(tmp_path):
    det = np.random.default_rng(0).uniform(1, 900, (6, 15, 3))
    np.savez(tmp_path / "det.npz", **{"S9/Walking/cam_01": det}, skeleton=np.array("simspine15"))
    uv, conf = DetectionsFile(tmp_path / "det.npz", SIMSPINE_15).get("S9", "Walking", "54138969", 6)
    np.testing.assert_array_equal(uv, det[..., :2])
    with pytest.raises(InputError, match="no detections for 'S9/Walking/55011271'.*'cam_02'"):
        DetectionsFile(tmp_path / "det.npz", SIMSPINE_15).get("S9", "Walking", "55011271", 6)
