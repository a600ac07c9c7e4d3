"""Detections as folders of OpenPose / SpinePose JSON (``--detections DIR``): same arrays as the npz form,
person choice, frame fitting, clear errors, and ``spine3d benchmark --quick --detections DIR`` end to end.

The data: a small synthetic dataset; its markers projected with each subject's real cameras, written as
SpinePose-37 JSON (confidences drawn with a fixed seed, a dimmer second person in every 4th frame, one
frame file removed). S1 uses the nested layout with ``cam_0N`` folder names, S9 the Human3.6M video
stems ``Action.<camera id>``, so both layouts and both camera namings are exercised.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from spine3d.data.config import DataConfig
from spine3d.data.detections import DetectionsFile
from spine3d.data.source import SequenceSource
from spine3d.data.detections_json import best_person, camera_key
from spine3d.cli.main import main
from spine3d.errors import InputError
from spine3d.skeletons import SIMSPINE_15, SPINEPOSE_37, remap
from spine3d.data.synth import generate_dataset

SUBJECTS, ACTIONS = ("S1", "S9"), ("Walking", "Greeting")
MISSING = ("S9", "Walking", 0, 7)  # subject, action, camera index, frame without a file
SECOND_EVERY = 4                    # a second (dimmer) person in frames 0, 4, 8, ...


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return generate_dataset(tmp_path_factory.mktemp("data"), subjects=SUBJECTS, seconds_per_action=2.0, seed=0,
                            actions=ACTIONS)


@pytest.fixture(scope="module")
def source(data) -> SequenceSource:
    return SequenceSource(data, "simspine15")


def _truth(source: SequenceSource) -> dict[tuple[str, str, str], np.ndarray]:
    """(subject, action, camera) -> (T, 37, 3) SpinePose-37 [u px, v px, conf] (NaN where the layout lacks a marker)."""
    rng = np.random.default_rng(5)
    out = {}
    for subject, action in [(s, a) for s in SUBJECTS for a in ACTIONS]:
        world = source.world(subject, action)
        for cam in source.cameras(subject):
            uv = cam.project(world)                                               # (T, 15, 2) px
            conf = rng.uniform(0.3, 1.0, uv.shape[:-1])
            out[subject, action, cam.name] = remap(np.concatenate([uv, conf[..., None]], -1), SIMSPINE_15,
                                                   SPINEPOSE_37)
    return out


def _flat(person: np.ndarray) -> list[float]:
    """(J, 3) -> OpenPose's flat list, 0, 0, 0 for an undetected keypoint."""
    return np.where(np.isnan(person), 0.0, person).ravel().tolist()


def write_folder(folder: Path, stem: str, det: np.ndarray, skip: tuple[int, ...] = ()) -> None:
    """One OpenPose file per frame: the person ``det[t]``, plus a dimmer shifted one every 4th frame (listed first)."""
    folder.mkdir(parents=True)
    for t, person in enumerate(det):
        if t in skip:
            continue
        people = [{"pose_keypoints_2d": _flat(person)}]
        if t % SECOND_EVERY == 0:
            other = person + [40.0, -25.0, 0.0]
            other[:, 2] *= 0.5
            people.insert(0, {"pose_keypoints_2d": _flat(other)})
        (folder / f"{stem}_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))


@pytest.fixture(scope="module")
def detections(source, tmp_path_factory) -> tuple[Path, Path, dict]:
    """(JSON directory, equivalent npz, truth)."""
    truth = _truth(source)
    root = tmp_path_factory.mktemp("det") / "spinepose"
    arrays = {}
    for (subject, action, camera), det in truth.items():
        index = source.cameras(subject).names.index(camera)
        skip = (MISSING[3],) if (subject, action, index) == MISSING[:3] else ()
        if subject == "S1":
            write_folder(root / subject / action / f"cam_{index + 1:02d}", f"{action}", det, skip)
        else:
            write_folder(root / subject / f"{action}.{camera}", f"{action}.{camera}", det, skip)
        det = det.copy()
        det[list(skip)] = (np.nan, np.nan, 0.0)  # what a missing frame reads as
        arrays[f"{subject}/{action}/{camera}"] = det
    npz = root.parent / "det.npz"
    np.savez(npz, skeleton="spinepose37", **arrays)
    return root, npz, truth


def test_camera_names_match_ids_and_calibration_names():
    assert camera_key("54138969") == camera_key("cam_01") == camera_key("Cam1") == camera_key("camera01")
    assert camera_key("60457274") == camera_key("cam_04") != camera_key("cam_03")
    assert camera_key("cam_a") == camera_key("CAM_A") != camera_key("cam_b")


def test_directory_equals_npz_bit_for_bit(source, detections):
    root, npz, truth = detections
    from_dir, from_npz = DetectionsFile(root, SIMSPINE_15), DetectionsFile(npz, SIMSPINE_15)
    assert from_dir.kind == "json" and from_npz.kind == "npz"
    for (subject, action, camera), det in truth.items():
        uv, conf = from_dir.get(subject, action, camera, len(det))
        uv_npz, conf_npz = from_npz.get(subject, action, camera, len(det))
        np.testing.assert_array_equal(uv, uv_npz)
        np.testing.assert_array_equal(conf, conf_npz)
        expected = remap(det, SPINEPOSE_37, SIMSPINE_15)  # the projected markers, written and read back
        missing = MISSING[3] if (subject, action) == MISSING[:2] and camera == source.cameras(subject)[0].name else None
        rows = np.arange(len(det)) != missing
        np.testing.assert_array_equal(uv[rows], expected[rows, :, :2])
        np.testing.assert_array_equal(conf[rows], expected[rows, :, 2])
        if missing is not None:
            assert np.isnan(uv[missing]).all() and (conf[missing] == 0).all()


def test_cached_and_read_only(detections):
    root, _, truth = detections
    reader = DetectionsFile(root, SIMSPINE_15)
    key = next(iter(truth))
    first = reader.get(*key, len(truth[key]))
    assert reader.get(*key, len(truth[key]))[0] is first[0]
    with pytest.raises(ValueError):
        first[0][0, 0, 0] = 1.0


def test_person_with_highest_mean_confidence():
    people = np.full((3, 2, 4, 3), np.nan)
    people[..., 2] = 0.0
    people[0, 0] = [[1, 1, 0.5]] * 4
    people[0, 1] = [[2, 2, 0.9], [2, 2, 0.9], [2, 2, 0.0], [2, 2, 0.6]]  # mean 0.6 > 0.5
    people[1, 0] = [[3, 3, 0.2]] * 4                                    # alone
    people[2, 0] = people[2, 1] = [[4, 4, 0.7]] * 4                     # tie: the first
    people[2, 1, :, 0] = 5
    chosen, several = best_person(people)
    np.testing.assert_array_equal(chosen[:, 0, 0], [2, 3, 4])
    assert several == 2


def test_second_person_is_ignored_and_logged_once(detections, caplog):
    root, _, truth = detections
    keys = [k for k in truth if k[:2] == ("S9", "Greeting")][:2]
    reader = DetectionsFile(root, SIMSPINE_15)
    with caplog.at_level(logging.INFO, logger="spine3d.data.detections_json"):
        for key in keys:
            uv, _ = reader.get(*key, len(truth[key]))
            expected = remap(truth[key], SPINEPOSE_37, SIMSPINE_15)[..., :2]
            np.testing.assert_array_equal(uv[::SECOND_EVERY], expected[::SECOND_EVERY])
    lines = [r.getMessage() for r in caplog.records if "several people" in r.getMessage()]
    frames = len(truth[keys[0]])
    several = len(range(0, frames, SECOND_EVERY))
    assert len(lines) == 1 and f"{several} of {frames} frames have several people" in lines[0]


def test_fewer_and_more_files_than_frames(tmp_path, caplog):
    det = np.random.default_rng(1).uniform(10, 900, (10, 37, 3))
    write_folder(tmp_path / "S9" / "Walking" / "54138969", "v", det)
    reader = DetectionsFile(tmp_path, SIMSPINE_15)
    with caplog.at_level(logging.WARNING):
        uv, conf = reader.get("S9", "Walking", "cam_01", 13)   # calibration named cam_01, folder the id
    assert uv.shape == (13, 15, 2) and np.isnan(uv[10:]).all() and (conf[10:] == 0).all()
    np.testing.assert_array_equal(uv[:10], remap(det, SPINEPOSE_37, SIMSPINE_15)[:, :, :2])
    assert sum("the last 3 frames are missed points" in r.getMessage() for r in caplog.records) == 1
    short, _ = reader.get("S9", "Walking", "cam_01", 6)
    np.testing.assert_array_equal(short, uv[:6])


def test_missing_camera_folder_names_dir_and_folder(detections, tmp_path):
    root, _, _ = detections
    partial = tmp_path / "partial"
    shutil.copytree(root / "S9" / "Walking.54138969", partial / "S9" / "Walking.54138969")
    reader = DetectionsFile(partial, SIMSPINE_15)
    assert reader.get("S9", "Walking", "54138969", 100)[0].shape == (100, 15, 2)
    with pytest.raises(InputError) as err:
        reader.get("S9", "Walking", "55011271", 100)
    message = str(err.value)
    assert str(partial) in message and "S9/Walking.55011271/" in message and "S9/Walking/55011271/" in message
    assert "'cam_02'" in message


def test_malformed_and_empty_folders(tmp_path):
    folder = tmp_path / "S9" / "Walking" / "54138969"
    write_folder(folder, "v", np.random.default_rng(2).uniform(10, 900, (5, 37, 3)))
    bad = folder / "v_000000000003_keypoints.json"
    bad.write_text('{"people": [{"pose_keypoints_2d": [1, 2,')
    with pytest.raises(InputError, match="not readable OpenPose JSON") as err:
        DetectionsFile(tmp_path, SIMSPINE_15).get("S9", "Walking", "54138969", 5)
    assert err.value.path == str(bad)
    bad.write_text('{"persons": []}')
    with pytest.raises(InputError, match="no 'people' list") as err:
        DetectionsFile(tmp_path, SIMSPINE_15).get("S9", "Walking", "54138969", 5)
    assert err.value.path == str(bad)
    empty = tmp_path / "S9" / "Greeting" / "54138969"
    empty.mkdir(parents=True)
    with pytest.raises(InputError, match="no .json files") as err:
        DetectionsFile(tmp_path, SIMSPINE_15).get("S9", "Greeting", "54138969", 5)
    assert err.value.path == str(empty)


def test_layout_inferred_or_given(tmp_path):
    """17 keypoints in detector JSON are COCO's (the only detector layout with 17); a count no detector
    layout has needs the layout named; a named layout must fit the count."""
    folder = tmp_path / "S9" / "Walking" / "cam_01"
    write_folder(folder, "v", np.random.default_rng(3).uniform(10, 900, (4, 17, 3)))
    uv, conf = DetectionsFile(tmp_path, SIMSPINE_15).get("S9", "Walking", "cam_01", 4)
    nose = SIMSPINE_15.index("Nose")
    assert np.isfinite(uv[:, nose]).all() and np.isnan(uv[:, SIMSPINE_15.index("Spine_03")]).all()
    with pytest.raises(InputError, match="fit no known layout.*--detections-skeleton"):
        write_folder(tmp_path / "S9" / "Eating" / "cam_01", "v", np.ones((2, 20, 3)))
        DetectionsFile(tmp_path, SIMSPINE_15).get("S9", "Eating", "cam_01", 2)
    with pytest.raises(InputError, match="17 keypoints per person, expected 26"):
        DetectionsFile(tmp_path, SIMSPINE_15, "halpe26").get("S9", "Walking", "cam_01", 4)


def test_config_keeps_detections_for_the_detected_protocol_only():
    cfg = DataConfig(protocol="detected", detections="det", detections_skeleton="spinepose37")
    assert cfg.for_protocol("gt").detections is None and cfg.for_protocol("gt").detections_skeleton is None
    assert cfg.for_protocol("detected") == cfg
    with pytest.raises(InputError, match="unknown skeleton 'spinepose99'"):
        DataConfig(protocol="detected", detections="det", detections_skeleton="spinepose99")
    with pytest.raises(InputError, match="detections_skeleton is only read with data.detections"):
        DataConfig(protocol="detected", detections_skeleton="coco17")


@pytest.fixture(scope="module")
def quick_run(data, detections, tmp_path_factory, torch_one_thread) -> Path:
    out = tmp_path_factory.mktemp("bench")
    assert main(["benchmark", "--quick", "--data", str(data), "--detections", str(detections[0]), "--out",
                 str(out)]) == 0
    return out


def test_benchmark_quick_with_json_detections(quick_run, detections):
    report = (quick_run / "report.md").read_text()
    assert f"{detections[0]} (per-camera OpenPose / SpinePose JSON folders)" in report
    doc = json.loads((quick_run / "report.json").read_text())
    detected = doc["multiview"]["results"]["detected"]["DLT"]["overall"]["mpjpe"]["full"]
    assert detected < 0.1  # the JSON holds exact projections: exact 3D (the noise model gives ~20 mm)
    assert np.isfinite(doc["monocular"]["results"]["detected"]["plain"]["overall"]["mpjpe"]["spine"])


def test_benchmark_checkpoint_scores_on_the_detections(quick_run, data, detections, tmp_path, caplog):
    """--checkpoint: the model's own config must not replace the user's detections by the noise model."""
    args = ["benchmark", "--quick", "--data", str(data), "--detections", str(detections[0]), "--skip-multiview",
            "--checkpoint", str(quick_run / "lifter_gt" / "last.pt"), "--out", str(tmp_path)]
    with caplog.at_level(logging.INFO, logger="spine3d.data.detections_json"):
        assert main(args) == 0
    assert any("several people" in r.getMessage() and "S9" in r.getMessage() for r in caplog.records)


def test_spine_only_folders_fill_the_column(tmp_path):
    """spinepose --spine-only folders: 9 keypoints read as spinepose9 and placed on the column by name."""
    det = np.random.default_rng(5).uniform(10, 900, (4, 9, 3))
    write_folder(tmp_path / "S9" / "Walking" / "cam_02", "frame", det)
    uv, conf = DetectionsFile(tmp_path, SIMSPINE_15).get("S9", "Walking", "55011271", 4)
    np.testing.assert_allclose(uv[:, :9], det[..., :2])
    assert np.isnan(uv[:, 9:]).all() and not (conf[:, 9:] > 0).any()  # joints the layout lacks: missed points
