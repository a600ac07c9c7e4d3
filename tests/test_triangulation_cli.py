"""``spine3d triangulate`` end to end on a synthetic trial written to disk: camera pairing, imperfect
files (warnings, not crashes), outputs (TRC / npz / HDF5 / report), config, and every bad input
that must exit with status 2 and one line."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from spine3d.calibration import CameraRig, h36m_rig
from spine3d.cli.main import main
from spine3d.errors import InputError
from spine3d.formats.keypoints_npz import write_keypoints_npz
from spine3d.formats.opensim import read_trc
from spine3d.triangulation.config import TriangulationConfig, config_from_dict, load_config
from spine3d.triangulation.status import trusted
from spine3d.typed_yaml import config_path
from spine3d.calibration.identity import pair_labels

T, J = 12, 25  # frames, BODY_25B keypoints
RNG_SEED = 21


def _rig() -> CameraRig:
    return CameraRig(tuple(replace(c, name=f"cam_{i + 1:02d}") for i, c in enumerate(h36m_rig("S1"))))


def _truth() -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    base = rng.normal([0.0, 0.0, 1.0], [0.15, 0.15, 0.45], (J, 3))
    return base + np.linspace(0, 0.2, T)[:, None, None] * [1.0, 0.0, 0.0]  # (T, J, 3) walking along x


def _write_frame(path: Path, people: list[np.ndarray]) -> None:
    entries = []
    for p in people:
        flat = np.where(np.isnan(p), 0.0, p).reshape(-1)
        entries.append({"person_id": [-1], "pose_keypoints_2d": [round(float(v), 6) for v in flat]})
    path.write_text(json.dumps({"version": 1.3, "people": entries}))


@pytest.fixture()
def trial(tmp_path):
    """Calib.toml + pose/camNN_json folders with the imperfections real files have."""
    rig = _rig()
    rig.to_toml(tmp_path / "Calib.toml")
    uv = rig.project(_truth())  # (C, T, J, 2)
    conf = np.full((4, T, J), 0.9)
    conf[:, :, 3] = 0.0  # a keypoint never detected (0, 0, 0 in the files)
    root = tmp_path / "pose"
    order = [2, 0, 3, 1]  # folders created in another order than the calibration's
    for c in order:
        folder = root / f"cam{c + 1:02d}_json"
        folder.mkdir(parents=True)
        for t in range(T):
            if (c, t) == (2, 7):
                continue  # missing frame file
            if c == 3 and t >= T - 2:
                continue  # a camera with fewer frames
            path = folder / f"cam{c + 1:02d}.{t:04d}.json"
            if (c, t) == (0, 3):
                path.write_text("")  # empty file
                continue
            person = np.concatenate([uv[c, t], conf[c, t, :, None]], axis=1)
            person[conf[c, t] == 0] = np.nan
            people = [person]
            if (c, t) == (1, 5):
                path.write_text(json.dumps({"people": [{"pose_keypoints_2d": []}, {"pose_keypoints_2d":
                                                       np.nan_to_num(person).reshape(-1).tolist()}]}))
                continue  # a person entry with no keypoints
            _write_frame(path, people)
    return tmp_path


def _run(*argv: str) -> int:
    return main(["triangulate", *argv, "--no-progress"])


def test_cli_end_to_end_with_imperfect_files(trial, caplog, capsys):
    out = trial / "out"
    with caplog.at_level(logging.WARNING):
        rc = _run("--calib", str(trial / "Calib.toml"), "--detections", str(trial / "pose"), "--skeleton", "body25b",
                  "--fps", "60", "--out", str(out / "a.trc"), str(out / "a.npz"), str(out / "a.h5"),
                  "--report", str(out / "r.json"))
    assert rc == 0
    printed = capsys.readouterr().out
    assert "camera pairing (name): cam01_json -> cam_01, cam02_json -> cam_02, cam03_json -> cam_03, " \
           "cam04_json -> cam_04" in printed
    for expected in ("not readable OpenPose JSON", "person 0 has no pose_keypoints_2d", "frame numbers missing",
                     "NaN rows added"):
        assert expected in caplog.text
    truth = _truth()
    points, names, fps = read_trc(out / "a.trc")
    assert fps == 60 and len(names) == J and names[0] == "Nose"
    arrays = np.load(out / "a.npz")
    np.testing.assert_allclose(points, arrays["points"], atol=1e-9, equal_nan=True)
    ok = trusted(arrays["status"])
    assert np.isnan(points[:, 3]).all() and not ok[:, 3].any()  # never detected
    assert ok.sum() == T * (J - 1)  # every other keypoint has >= 3 views even in the damaged frames
    np.testing.assert_allclose(points[ok], truth[ok], atol=1e-4)
    assert arrays["num_views"][3, 0] == 3 and arrays["num_views"][-1, 0] == 3 and arrays["num_views"][0, 0] == 4
    with h5py.File(out / "a.h5") as f:
        np.testing.assert_array_equal(f["inliers"][()], arrays["inliers"])
        assert [n.decode() for n in f["camera_names"][()]] == ["cam_01", "cam_02", "cam_03", "cam_04"]
    report = json.loads((out / "r.json").read_text())
    assert report["camera_pairing"]["rule"] == "name"
    assert report["summary"]["frames_without_any_point"] == 0
    assert report["summary"]["status_counts"]["too_few_views"] == T
    assert report["per_keypoint"]["LEar"]["nan_share"] == 1.0
    assert report["settings"]["method"] == "ransac"
    assert report["per_camera"]["cam_03"]["detections"] == (T - 1) * (J - 1)


def test_npz_detections_give_the_same_points(trial, tmp_path):
    rig = _rig()
    uv = rig.project(_truth())
    conf = np.full((4, T, J), 0.9)
    write_keypoints_npz(tmp_path / "kp.npz", keypoints=np.concatenate([uv, conf[..., None]], axis=-1),
                        skeleton="body25b")
    assert _run("--calib", str(trial / "Calib.toml"), "--detections", str(tmp_path / "kp.npz"), "--skeleton",
                "body25b", "--fps", "50", "--out", str(tmp_path / "k.npz"), "--method", "weighted") == 0
    arrays = np.load(tmp_path / "k.npz")
    np.testing.assert_allclose(arrays["points"], _truth(), atol=1e-6)
    assert str(arrays["method"]) == "weighted" and float(arrays["fps"]) == 50


def test_config_file_and_postprocessing(trial, tmp_path):
    cfg = tmp_path / "tri.yaml"
    cfg.write_text("method: dlt\nfilter:\n  gap_fill: true\n  max_gap: 2\n")
    assert _run("--calib", str(trial / "Calib.toml"), "--detections", str(trial / "pose"), "--skeleton", "body25b",
                "--fps", "60", "--out", str(tmp_path / "c.npz"), "--config", str(cfg)) == 0
    arrays = np.load(tmp_path / "c.npz")
    assert str(arrays["method"]) == "dlt" and not arrays["filled"].any()  # joint 3 is never seen: nothing to fill


def test_camera_pairing_rules():
    rig = _rig()
    names = rig.names
    assert pair_labels(["cam04_json", "cam02_json", "cam01_json", "cam03_json"], names) == ([2, 1, 3, 0], "name")
    assert pair_labels(["v4", "v2", "v1", "v3"], names) == ([2, 1, 3, 0], "number")
    assert pair_labels(["d", "b", "a", "c"], names) == ([2, 1, 3, 0], "sorted")  # no numbers: sorted order
    assert pair_labels(["c1", "c2", "c3", "c5"], names)[1] == "sorted"  # numbers that do not match


def test_yaml_defaults_match_the_dataclasses():
    assert load_config(config_path("triangulation")) == TriangulationConfig()
    for bad in ({"triangulation": {"treshold": 3}}, {"method": "svd"}, {"filter": {"order": "x"}},
                {"triangulation": {"min_views": 1}}, {"extra": {}}):
        with pytest.raises(InputError):
            config_from_dict(bad)


def _one_line_error(capsys, *argv: str) -> str:
    assert _run(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("spine3d triangulate: error:")
    return err


def test_bad_inputs_exit_2_with_one_line(trial, tmp_path, capsys):
    calib, pose = str(trial / "Calib.toml"), str(trial / "pose")
    out = str(tmp_path / "o.trc")
    common = ["--fps", "60", "--out", out]
    assert "unknown skeleton" in _one_line_error(capsys, "--calib", calib, "--detections", pose, "--skeleton",
                                                 "nope", *common)
    assert "25 keypoints per person, but --skeleton names coco17, which has 17" in _one_line_error(
        capsys, "--calib", calib, "--detections", pose, "--skeleton", "coco17", *common)
    # wrong number of camera folders
    three = tmp_path / "three"
    for name in ("cam01_json", "cam02_json", "cam03_json"):
        (three / name).mkdir(parents=True)
        for f in (Path(pose) / name).iterdir():
            (three / name / f.name).write_bytes(f.read_bytes())
    assert "3 camera folders" in _one_line_error(capsys, "--calib", calib, "--detections", str(three),
                                                 "--skeleton", "body25b", *common)
    assert "no such" in _one_line_error(capsys, "--calib", str(tmp_path / "none.toml"), "--detections", pose,
                                        "--skeleton", "body25b", *common).lower()
    assert "unsupported output type" in _one_line_error(capsys, "--calib", calib, "--detections", pose,
                                                        "--skeleton", "body25b", "--fps", "60", "--out",
                                                        str(tmp_path / "o.csv"))
    (tmp_path / "empty").mkdir()
    assert "no camera folders" in _one_line_error(capsys, "--calib", calib, "--detections", str(tmp_path / "empty"),
                                                  "--skeleton", "body25b", *common)
    bad_cfg = tmp_path / "bad.yaml"
    bad_cfg.write_text("triangulation:\n  treshold: 3\n")
    assert "treshold" in _one_line_error(capsys, "--calib", calib, "--detections", pose, "--skeleton", "body25b",
                                         *common, "--config", str(bad_cfg))
    assert "fps must be positive" in _one_line_error(capsys, "--calib", calib, "--detections", pose, "--skeleton",
                                                     "body25b", "--fps", "0", "--out", out)
    write_keypoints_npz(tmp_path / "kp.npz", keypoints=np.zeros((3, 4, J, 2)))
    assert "(C=4, T, J, 2|3)" in _one_line_error(capsys, "--calib", calib, "--detections", str(tmp_path / "kp.npz"),
                                                 "--skeleton", "body25b", *common)
    assert not Path(out).exists()


def test_trc_holds_trusted_points_unless_asked(trial, tmp_path):
    """The nose is seen by two cameras only: nothing can check it, so it is "unverified": kept in the
    npz with its status, empty in the TRC unless --untrusted; the report counts it."""
    rig = _rig()
    uv = rig.project(_truth())
    conf = np.full((4, T, J), 0.9)
    conf[2:, :, 0] = 0.0
    write_keypoints_npz(tmp_path / "kp.npz", keypoints=np.concatenate([uv, conf[..., None]], axis=-1),
                        skeleton="body25b")
    args = ["--calib", str(trial / "Calib.toml"), "--detections", str(tmp_path / "kp.npz"), "--skeleton", "body25b",
            "--fps", "50", "--report", str(tmp_path / "r.json")]
    assert _run(*args, "--out", str(tmp_path / "a.trc"), str(tmp_path / "a.npz")) == 0
    assert _run(*args, "--out", str(tmp_path / "all.trc"), "--untrusted") == 0
    arrays = np.load(tmp_path / "a.npz")
    names = [str(n) for n in arrays["status_names"]]
    assert (arrays["status"][:, 0] == names.index("unverified")).all()
    np.testing.assert_allclose(arrays["points"][:, 0], _truth()[:, 0], atol=1e-6)  # kept, flagged
    trusted_trc, _, _ = read_trc(tmp_path / "a.trc")
    every_trc, _, _ = read_trc(tmp_path / "all.trc")
    assert np.isnan(trusted_trc[:, 0]).all() and np.isfinite(trusted_trc[:, 1:]).all()
    np.testing.assert_allclose(every_trc, arrays["points"], atol=1e-5)
    report = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert report["status_counts"]["unverified"] == T and report["trusted_share"] == pytest.approx(1 - 1 / J)
    assert set(report["status_meanings"]) == set(names) and report["steadiness"]["median_mm"] < 1e-3


def test_spinepose_spine_only_and_full_folders_need_no_skeleton(tmp_path):
    """SpinePose's own file names (frame_00000.json): 9 keypoints (--spine-only) and 37, layout from the count."""
    from spine3d.formats.results3d import read_result3d
    from spine3d.skeletons import SPINEPOSE_9, SPINEPOSE_37

    rig = _rig()
    rig.to_toml(tmp_path / "Calib.toml")
    truth = np.random.default_rng(4).normal([0.0, 0.0, 1.0], [0.2, 0.2, 0.4], (5, 37, 3))
    uv = rig.project(truth)
    for name, columns in (("sp37", list(range(37))), ("sp9", [19, 26, 27, 28, 29, 30, 18, 35, 36])):
        for c in range(4):
            folder = tmp_path / name / f"cam{c + 1:02d}"
            folder.mkdir(parents=True)
            for t in range(5):
                person = np.concatenate([uv[c, t, columns], np.full((len(columns), 1), 0.9)], axis=1)
                _write_frame(folder / f"frame_{t:05d}.json", [person])
        out = tmp_path / f"{name}.npz"
        assert _run("--calib", str(tmp_path / "Calib.toml"), "--detections", str(tmp_path / name), "--fps", "30",
                    "--out", str(out), "--method", "dlt", "--no-progress") == 0
        result = read_result3d(out)
        assert result.skeleton == (SPINEPOSE_37 if name == "sp37" else SPINEPOSE_9).name
        np.testing.assert_allclose(result.points, truth[:, columns], atol=1e-4)
