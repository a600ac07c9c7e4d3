"""OpenPose JSON: real Pose2Sim frames, missing keypoints, imperfect files, frame gaps, camera alignment."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from spine3d.errors import InputError
from spine3d.formats.openpose_json import (
    frame_number,
    read_openpose_folder,
    read_openpose_folders,
    read_openpose_frame,
)

LOCAL = Path(__file__).resolve().parent / "data" / "openpose"


def _write(path: Path, people: list[list[float]]) -> Path:
    path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": p} for p in people]}))
    return path


def test_frame_number():
    assert frame_number("cam01.0012.json") == 12
    assert frame_number("/x/run2_000000000012_keypoints.json") == 12
    assert frame_number("12.json") == 12
    assert frame_number("cam.json") is None


def test_read_real_frame_matches_raw_json():
    path = LOCAL / "cam03.0051.json"
    (person,) = read_openpose_frame(path)
    raw = np.array(json.loads(path.read_text())["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)
    assert person.shape == (25, 3)
    detected = ~(raw == 0).all(axis=1)
    np.testing.assert_array_equal(person[detected], raw[detected])
    assert np.isnan(person[~detected, :2]).all() and (person[~detected, 2] == 0).all()


def test_person_without_keypoints_is_skipped_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert read_openpose_frame(LOCAL / "cam03.0052.json") == []
    assert "person 0 has no pose_keypoints_2d" in caplog.text


def test_several_people():
    people = read_openpose_frame(LOCAL / "cam01.0037.json")
    assert len(people) == 3 and all(p.shape == (25, 3) for p in people)


def test_undetected_keypoints_become_nan(tmp_path):
    (person,) = read_openpose_frame(_write(tmp_path / "f.0001.json", [[10, 20, 0.9, 0, 0, 0, 5, 0, 0.4]]))
    np.testing.assert_array_equal(person[[0, 2]], [[10, 20, 0.9], [5, 0, 0.4]])  # x = 5, y = 0 is a detection
    assert np.isnan(person[1, :2]).all() and person[1, 2] == 0


def test_bad_files_warn_instead_of_crashing(tmp_path, caplog):
    (tmp_path / "a.0000.json").write_text("")
    (tmp_path / "a.0001.json").write_text("{not json")
    _write(tmp_path / "a.0002.json", [[1, 2, 0.5] * 4])
    with caplog.at_level(logging.WARNING):
        assert read_openpose_frame(tmp_path / "a.0000.json") == []
        seq = read_openpose_folder(tmp_path)
    assert "not readable OpenPose JSON" in caplog.text
    assert seq.people.shape == (3, 1, 4, 3) and np.isnan(seq.people[:2, ..., :2]).all()
    assert (seq.people[:2, ..., 2] == 0).all()
    np.testing.assert_array_equal(seq.people[2, 0], [[1, 2, 0.5]] * 4)


def test_nothing_readable_is_an_input_error(tmp_path):
    (tmp_path / "a.0000.json").write_bytes(b"\x89PNG\r\n")
    (tmp_path / "a.0001.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="none of the 2 .json files") as err:
        read_openpose_folder(tmp_path)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(InputError, match="no .json files"):
        read_openpose_folder(_empty(tmp_path / "empty"))


def _empty(path: Path) -> Path:
    path.mkdir()
    return path


def test_inconsistent_joint_count_names_the_file(tmp_path):
    _write(tmp_path / "c.0000.json", [[1, 1, 1] * 25])
    bad = _write(tmp_path / "c.0001.json", [[1, 1, 1] * 25, [1, 1, 1] * 17])
    with pytest.raises(InputError, match="17 keypoints per person, expected 25") as err:
        read_openpose_folder(tmp_path)
    assert bad.name in str(err.value)
    with pytest.raises(InputError, match="expected 17"):
        read_openpose_folder(tmp_path, num_joints=17)


def test_frame_gaps_insert_nan_rows(tmp_path, caplog):
    for n in (3, 4, 7, 10):  # numeric order, not name order: 10 after 7
        _write(tmp_path / f"cam.{n}.json", [[n, n, 1.0] * 2])
    with caplog.at_level(logging.WARNING):
        seq = read_openpose_folder(tmp_path)
    assert "4 frame numbers missing" in caplog.text
    np.testing.assert_array_equal(seq.frame_numbers, np.arange(3, 11))
    assert seq.people.shape == (8, 1, 2, 3)
    present = np.array([n in (3, 4, 7, 10) for n in range(3, 11)])
    np.testing.assert_array_equal(seq.people[present, 0, 0, 0], [3, 4, 7, 10])
    assert np.isnan(seq.people[~present, ..., :2]).all() and (seq.people[~present, ..., 2] == 0).all()
    assert [f is None for f in seq.files] == list(~present)
    assert seq.files[4].name == "cam.7.json"


def test_duplicate_frame_numbers(tmp_path):
    _write(tmp_path / "a.0001.json", [[1, 1, 1]])
    _write(tmp_path / "b.1.json", [[1, 1, 1]])
    with pytest.raises(InputError, match="both frame 1"):
        read_openpose_folder(tmp_path)


def test_alignment_across_cameras(tmp_path, caplog):
    a, b = _empty(tmp_path / "a"), _empty(tmp_path / "b")
    for n in range(0, 5):
        _write(a / f"a_{n:012d}_keypoints.json", [[n, 0, 1.0] * 3])
    for n in range(2, 7):
        _write(b / f"b_{n:012d}_keypoints.json", [[n, 1, 1.0] * 3, [n, 2, 1.0] * 3])
    with caplog.at_level(logging.WARNING):
        sa, sb = read_openpose_folders([a, b])
    assert "NaN rows added" in caplog.text
    for s in (sa, sb):
        np.testing.assert_array_equal(s.frame_numbers, np.arange(7))
    assert sa.people.shape == (7, 1, 3, 3) and sb.people.shape == (7, 2, 3, 3)
    np.testing.assert_array_equal(sa.people[:5, 0, 0, 0], np.arange(5))
    np.testing.assert_array_equal(sb.people[2:, 1, 0, :2], np.column_stack([np.arange(2, 7), np.full(5, 2)]))
    assert np.isnan(sa.people[5:, ..., :2]).all() and np.isnan(sb.people[:2, ..., :2]).all()


def test_real_associated_folders(shared_data, caplog):
    root = shared_data / "pose2sim_balancing" / "pose-associated"
    start = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        seqs = read_openpose_folders([root / f"cam0{i}_json" for i in range(1, 5)])
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"reading 4 x 100 files took {elapsed:.2f} s"
    for seq in seqs:
        assert seq.people.shape == (100, 1, 25, 3)
        np.testing.assert_array_equal(seq.frame_numbers, np.arange(100))
    assert "cam03.0052.json: person 0 has no pose_keypoints_2d" in caplog.text
    cam3 = seqs[2].people
    assert np.isnan(cam3[52, 0, :, :2]).all() and not np.isnan(cam3[51, 0, :, :2]).all()
    raw = json.loads((root / "cam01_json" / "cam01.0042.json").read_text())["people"][0]["pose_keypoints_2d"]
    raw = np.array(raw).reshape(25, 3)
    ok = raw[:, 2] > 0
    np.testing.assert_array_equal(seqs[0].people[42, 0][ok], raw[ok])
    assert (seqs[0].people[..., 2] <= 1).all() and (seqs[0].people[..., 2] >= 0).all()


def test_real_raw_folders_with_several_people(shared_data):
    root = shared_data / "pose2sim_balancing" / "pose"
    counts = [read_openpose_folder(root / f"cam0{i}_json").num_people for i in range(1, 5)]
    assert counts == [3, 2, 1, 1]
    seq = read_openpose_folder(root / "cam01_json")
    two_people = seq.people[0]  # frame 0 has 2 people: the third slot is padding
    assert not np.isnan(two_people[:2, :, :2]).all(axis=(1, 2)).any() and np.isnan(two_people[2, :, :2]).all()

