"""Lifting data: input encoding, targets, windows, padding, flips, protocols, workers, 37-keypoint merge."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from spine3d.data.config import DataConfig, NoiseConfig
from spine3d.data.source import SequenceSource
from spine3d.lifting.data import LiftingWindows, eval_sequences, make_inputs, window_starts
from spine3d.lifting.normalize import denormalize_screen, flip_keypoints, normalize_screen
from spine3d.errors import InputError
from spine3d.formats.h36m_npz import write_h36m_positions
from spine3d.formats.simspine_h5 import KINEMATIC_AXES, RigArrays, SimSpineSequence, write_simspine_h5
from spine3d.skeletons import H36M_32, SIMSPINE_15, SIMSPINE_37, remap

F, STRIDE = 32, 10
LENGTHS = {("S1", "Walking"): 75, ("S1", "Sitting"): 20, ("S9", "Walking"): 50, ("S9", "Greeting"): 32}


def _rig() -> RigArrays:
    """Two cameras 4 m from the origin: a landscape one with distortion, a portrait one without."""
    rvecs = np.array([[np.pi / 2, 0, 0], [1.2, -1.2, -1.2]])  # both look horizontally at the subject
    R = np.stack([cv2.Rodrigues(r)[0] for r in rvecs])
    K = np.array([[[1150.0, 0, 530], [0, 1140, 390], [0, 0, 1]], [[900.0, 0, 400], [0, 900, 650], [0, 0, 1]]])
    dist = np.array([[-0.2, 0.1, 1e-3, -2e-3], [0, 0, 0, 0]])
    return RigArrays(["cam_a", "cam_b"], K, dist, R, np.array([[0, -1.0, 4.0], [0.1, -1.0, 4.2]]),
                     np.array([[1000.0, 800.0], [800.0, 1300.0]]))


def _motion(t: int, key: tuple[str, str]) -> np.ndarray:
    """(T, 15, 3) m world Z-up: a standing spine swaying, distinct per sequence."""
    rng = np.random.default_rng(sum(map(ord, "/".join(key))))
    rest = np.zeros((15, 3))
    rest[:, 2] = np.linspace(0.95, 1.75, 15)
    rest[:, 0] = rng.uniform(-0.2, 0.2, 15)
    time = np.arange(t)[:, None, None] / 50.0
    return rest + 0.05 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0, (15, 3)) * time + rng.uniform(0, 6, (15, 3)))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("simspine")
    seqs = [SimSpineSequence(s, a, _motion(t, (s, a)), np.zeros((t, len(KINEMATIC_AXES))), np.arange(t) / 50.0)
            for (s, a), t in LENGTHS.items()]
    write_simspine_h5(folder / "simspine.h5", seqs, {"S1": _rig(), "S9": _rig()}, SIMSPINE_15.names)
    return folder


@pytest.fixture(scope="module")
def source(dataset) -> SequenceSource:
    return SequenceSource(dataset, "simspine15")


def _cfg(**kw) -> DataConfig:
    return DataConfig(**{"frames": F, "stride": STRIDE, **kw})


def test_normalize_screen_matches_hand_computation():
    uv = np.array([[0.0, 0.0], [1000.0, 800.0], [250.0, 600.0]])
    expected = np.array([[-1.0, -0.8], [1.0, 0.8], [250 / 1000 * 2 - 1, 600 / 1000 * 2 - 800 / 1000]])
    np.testing.assert_allclose(normalize_screen(uv, [1000, 800]), expected)
    np.testing.assert_allclose(denormalize_screen(expected, [1000, 800]), uv, atol=1e-12)
    t = torch.tensor(uv, dtype=torch.float64)
    np.testing.assert_allclose(normalize_screen(t, torch.tensor([1000, 800])).numpy(), expected)
    with pytest.raises(InputError, match="image_size"):
        normalize_screen(uv, [1000, 800, 3])


def test_make_inputs_encodes_conf_and_missing_points():
    uv = np.array([[[500.0, 400.0], [np.nan, 3.0], [10.0, 20.0]]])
    x = make_inputs(uv, np.array([[0.7, 0.9, np.nan]]), [1000, 800])
    assert x.dtype == np.float32 and x.shape == (1, 3, 3)
    np.testing.assert_allclose(x[0], [[0, 0, 0.7], [0, 0, 0], [0, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(make_inputs(uv[:, :1], None, [1000, 800])[0, 0], [0, 0, 1])
    with pytest.raises(InputError, match="confidences must have shape"):
        make_inputs(uv, np.ones((1, 2)), [1000, 800])


def test_window_starts_cover_and_align_to_end():
    np.testing.assert_array_equal(window_starts(75, 32, 10), [0, 10, 20, 30, 40, 43])
    np.testing.assert_array_equal(window_starts(72, 32, 10), [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(window_starts(20, 32, 10), [0])


def test_windows_cover_every_frame_of_every_camera(source):
    ds = LiftingWindows(source, "train", _cfg(), train=False)
    pairs = source.sequences("train")
    seen = {(s, c): np.zeros(LENGTHS[pairs[s]], int) for s in range(len(pairs)) for c in range(2)}
    for i in range(len(ds)):
        item = ds[i]
        seq, cam, start = item["index"].tolist()
        seen[(seq, cam)][start : start + int(item["valid"].sum())] += 1
    assert all((count > 0).all() for count in seen.values())
    assert len(ds) == 2 * (len(window_starts(75, F, STRIDE)) + 1)


def test_item_shapes_and_padding(source):
    ds = LiftingWindows(source, "train", _cfg(), train=False)
    pairs = source.sequences("train")
    short = pairs.index(("S1", "Sitting"))
    i = next(i for i in range(len(ds)) if ds[i]["index"][0] == short)
    item = ds[i]
    assert item["inputs"].shape == (F, 15, 3) and item["inputs"].dtype == torch.float32
    assert item["target"].shape == (F, 15, 3) and item["target"].dtype == torch.float32
    assert item["valid"].dtype == torch.bool and item["index"].dtype == torch.long
    np.testing.assert_array_equal(item["valid"].numpy(), np.arange(F) < 20)
    for key in ("inputs", "target"):  # edge-replicated padding
        np.testing.assert_array_equal(item[key][20:].numpy(), np.broadcast_to(item[key][19].numpy(), (F - 20, 15, 3)))


def _window(ds: LiftingWindows, source, subject, action, cam, start) -> dict:
    seq = source.sequences("train").index((subject, action))
    return next(ds[i] for i in range(len(ds)) if ds[i]["index"].tolist() == [seq, cam, start])


@pytest.mark.parametrize("cam", [0, 1])
def test_inputs_are_opencv_projections_normalised_by_width(source, cam):
    ds = LiftingWindows(source, "train", _cfg(), train=False)
    item = _window(ds, source, "S1", "Walking", cam, 10)
    rig = _rig()
    world = _motion(75, ("S1", "Walking"))[10 : 10 + F].reshape(-1, 3)
    uv, _ = cv2.projectPoints(world, cv2.Rodrigues(rig.R[cam])[0], rig.t[cam], rig.K[cam], rig.dist[cam])
    w, h = rig.size[cam]
    uv = uv.reshape(F, 15, 2)
    expected = np.stack([uv[..., 0] / w * 2 - 1, uv[..., 1] / w * 2 - h / w, np.ones((F, 15))], axis=-1)
    np.testing.assert_allclose(item["inputs"].numpy(), expected, atol=2e-6)


def test_targets_are_root_relative_camera_frame_mm(source):
    ds = LiftingWindows(source, "train", _cfg(), train=False)
    item = _window(ds, source, "S1", "Walking", 1, 43)
    rig = _rig()
    world = _motion(75, ("S1", "Walking"))[43:]
    cam = np.einsum("ij,tkj->tki", rig.R[1], world) + rig.t[1]
    expected = (cam - cam[:, :1]) * 1000.0
    np.testing.assert_allclose(item["target"].numpy(), expected, atol=1e-3)
    assert np.all(item["target"][:, 0].numpy() == 0)


def test_flip_is_an_involution_and_maps_the_skeleton():
    perm = SIMSPINE_15.flip_permutation
    lc, rc = SIMSPINE_15.index("LClavicle"), SIMSPINE_15.index("RClavicle")
    assert perm[lc] == rc and perm[rc] == lc
    assert perm[SIMSPINE_15.index("LLatissimus")] == SIMSPINE_15.index("RLatissimus")
    for name in ("Hip", "Spine_03", "Neck", "Head", "Nose"):
        assert perm[SIMSPINE_15.index(name)] == SIMSPINE_15.index(name)
    x = np.random.default_rng(0).normal(size=(4, 15, 3)).astype(np.float32)
    fx = flip_keypoints(x, SIMSPINE_15)
    np.testing.assert_array_equal(fx[:, rc], x[:, lc] * [-1, 1, 1])
    np.testing.assert_array_equal(flip_keypoints(fx, SIMSPINE_15), x)
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(flip_keypoints(t, SIMSPINE_15).numpy(), fx)
    assert torch.equal(flip_keypoints(flip_keypoints(t, SIMSPINE_15), SIMSPINE_15), t)


def test_flipped_3d_projects_to_flipped_2d():
    """Camera at the principal axis (cx = w/2), no distortion: flipping 3D then projecting == projecting then flipping."""
    w, h, f = 1000.0, 700.0, 1100.0
    K = np.array([[f, 0, w / 2], [0, f, 330.0], [0, 0, 1]])
    rng = np.random.default_rng(1)
    cam_pts = rng.normal(size=(5, 15, 3)) * 0.3 + [0.2, 0.1, 4.0]

    def encode(p):  # camera-frame 3D -> lifter inputs
        uv = (p @ K.T)[..., :2] / p[..., 2:]
        return make_inputs(uv, None, [w, h])

    np.testing.assert_allclose(encode(flip_keypoints(cam_pts, SIMSPINE_15)),
                               flip_keypoints(encode(cam_pts), SIMSPINE_15), atol=1e-6)


def test_train_flip_is_seeded_per_epoch_and_consistent(source):
    plain = LiftingWindows(source, "train", _cfg(), train=False)
    ds = LiftingWindows(source, "train", _cfg(flip_prob=0.5), train=True, seed=7)

    def flips(epoch):
        ds.set_epoch(epoch)
        out = []
        for i in range(len(ds)):
            a, b = ds[i], plain[i]
            flipped = not torch.equal(a["inputs"], b["inputs"])
            if flipped:  # inputs and targets flipped together
                assert torch.equal(a["inputs"], flip_keypoints(b["inputs"], SIMSPINE_15))
                assert torch.equal(a["target"], flip_keypoints(b["target"], SIMSPINE_15))
            out.append(flipped)
        return out

    first = flips(0)
    assert flips(0) == first and flips(1) != first and 0 < sum(first) < len(first)
    always = LiftingWindows(source, "train", _cfg(flip_prob=1.0), train=True)
    assert torch.equal(always[0]["inputs"], flip_keypoints(plain[0]["inputs"], SIMSPINE_15))
    assert torch.equal(LiftingWindows(source, "test", _cfg(flip_prob=1.0), train=False)[0]["inputs"],
                       LiftingWindows(source, "test", _cfg(), train=False)[0]["inputs"])


def test_dataloader_with_two_workers_matches_direct_access(source):
    ds = LiftingWindows(source, "train", _cfg(), train=True, seed=3)
    ds.set_epoch(2)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, shuffle=False)
    batches = list(loader)
    assert sum(len(b["index"]) for b in batches) == len(ds)
    direct = torch.stack([ds[i]["inputs"] for i in range(len(ds))])
    assert torch.equal(torch.cat([b["inputs"] for b in batches]), direct)


def test_detected_protocol_is_reproducible_and_noisy(source):
    cfg = _cfg(protocol="detected", noise=NoiseConfig(seed=5))
    a = list(eval_sequences(source, "test", cfg))
    b = list(eval_sequences(source, "test", cfg))
    gt = list(eval_sequences(source, "test", _cfg()))
    assert [(s.subject, s.action, s.camera) for s in a] == [(s.subject, s.action, s.camera) for s in gt]
    assert len(a) == 2 * 2 and all(len(s.inputs) == LENGTHS[(s.subject, s.action)] for s in a)
    for x, y, g in zip(a, b, gt):
        np.testing.assert_array_equal(x.inputs, y.inputs)
        np.testing.assert_array_equal(x.target, g.target)
        assert x.inputs[..., 2].mean() < 1 and np.all(g.inputs[..., 2] == 1)
        px = (x.inputs[..., :2] - g.inputs[..., :2]) * x.image_size[0] / 2  # back to pixels
        ok = x.inputs[..., 2] > 0.05
        assert 0.5 < np.median(np.linalg.norm(px[ok], axis=-1)) < 20
    other = list(eval_sequences(source, "test", _cfg(protocol="detected", noise=NoiseConfig(seed=6))))
    assert not np.array_equal(other[0].inputs, a[0].inputs)


def test_eval_sequences_match_windows(source):
    seqs = list(eval_sequences(source, "test", _cfg()))
    ds = LiftingWindows(source, "test", _cfg(), train=False)
    item = ds[len(ds) - 1]
    seq, cam, start = item["index"].tolist()
    match = seqs[seq * 2 + cam]
    assert (match.subject, match.action) == source.sequences("test")[seq]
    np.testing.assert_array_equal(match.inputs[start:], item["inputs"].numpy()[item["valid"].numpy()])


def test_detections_file(source, tmp_path):
    rng = np.random.default_rng(2)
    arrays = {}
    for subject, action in source.sequences("test"):
        for cam in ("cam_a", "cam_b"):
            det = rng.uniform(0, 700, (LENGTHS[(subject, action)], 15, 3))
            det[..., 2] = rng.uniform(0, 1, det.shape[:2])
            arrays[f"{subject}/{action}/{cam}"] = det
    path = tmp_path / "det.npz"
    np.savez(path, **arrays)
    seqs = list(eval_sequences(source, "test", _cfg(protocol="detected", detections=str(path))))
    det = arrays[f"{seqs[3].subject}/{seqs[3].action}/{seqs[3].camera}"]
    np.testing.assert_allclose(seqs[3].inputs, make_inputs(det[..., :2], det[..., 2], seqs[3].image_size))
    np.savez(path, **{k: v[:5] for k, v in arrays.items()})
    with pytest.raises(InputError, match=r"expected \(\d+, 15, 3\)"):
        list(eval_sequences(source, "test", _cfg(protocol="detected", detections=str(path))))
    np.savez(path, **{k: v for k, v in arrays.items() if k != "S9/Walking/cam_b"})
    with pytest.raises(InputError, match="no detections for 'S9/Walking/cam_b'"):
        list(eval_sequences(source, "test", _cfg(protocol="detected", detections=str(path))))


def test_simspine37_from_the_15_marker_file_and_h36m(dataset, tmp_path):
    shutil.copy(dataset / "simspine.h5", tmp_path / "simspine.h5")
    dataset = tmp_path
    positions = {}
    for (subject, action), t in LENGTHS.items():
        body = np.random.default_rng(t).normal(size=(t, 32, 3))
        body[:, H36M_32.index("Hip")] = _motion(t, (subject, action))[:, 0]  # same pelvis: same world frame
        positions.setdefault(subject, {})[action] = body
    (dataset / "h36m").mkdir()
    write_h36m_positions(dataset / "h36m" / "data_3d_h36m.npz", positions)
    source = SequenceSource(dataset / "simspine.h5", "simspine37")
    assert source.skeleton is SIMSPINE_37 and source.sequences("test") == [("S9", "Greeting"), ("S9", "Walking")]
    world = source.world("S9", "Walking")
    np.testing.assert_allclose(remap(world, SIMSPINE_37, SIMSPINE_15), _motion(50, ("S9", "Walking")), atol=1e-12)
    np.testing.assert_allclose(world[:, SIMSPINE_37.index("LKnee")], positions["S9"]["Walking"][:, H36M_32.index("LKnee")])
    seq = next(eval_sequences(source, "test", _cfg()))
    eyes = SIMSPINE_37.index("LEye")
    assert seq.inputs.shape[1] == 37 and np.all(seq.inputs[:, eyes] == 0) and np.isnan(seq.target[:, eyes]).all()
    assert np.isfinite(seq.target[:, SIMSPINE_37.index("LKnee")]).all()
    (dataset / "h36m" / "data_3d_h36m.npz").unlink()
    with pytest.raises(FileNotFoundError, match="data_3d_h36m.npz"):
        SequenceSource(dataset, "simspine37")


def test_source_rejects_bad_input(dataset, tmp_path):
    with pytest.raises(InputError, match="no SIMSPINE dataset here"):
        SequenceSource(tmp_path, "simspine15")
    with pytest.raises(FileNotFoundError):
        SequenceSource(tmp_path / "missing", "simspine15")
    with pytest.raises(InputError, match="simspine15 or simspine37"):
        SequenceSource(dataset, "coco17")
    with pytest.raises(InputError, match="detections is only read"):
        DataConfig(detections="x.npz")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    from spine3d.data.synth import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("synth"), subjects=["S1", "S9"], seconds_per_action=2)


@pytest.mark.parametrize("skeleton", ["simspine15", "simspine37"])
def test_synthetic_dataset_loads_unchanged(synthetic, skeleton):
    source = SequenceSource(synthetic, skeleton)
    ds = LiftingWindows(source, "train", _cfg(frames=81, stride=27), train=True)
    j = source.skeleton.num_joints
    assert source.subjects("train") == ["S1"] and source.subjects("test") == ["S9"]
    assert len(ds) == len(source.sequences("train")) * 4 * len(window_starts(100, 81, 27))
    item = ds[5]
    assert item["inputs"].shape == (81, j, 3) and item["valid"].all()
    x = torch.stack([ds[i]["inputs"] for i in range(len(ds))]).numpy()
    y = torch.stack([ds[i]["target"] for i in range(len(ds))]).numpy()
    seen = x[..., 2] > 0
    assert np.abs(x[..., :2][seen]).max() < 1.0  # every projected marker inside the image
    spine = source.skeleton.group("spine")
    assert np.isfinite(y[..., spine, :]).all() and 100 < np.abs(y[..., spine, :]).max() < 1500  # mm, not m
    if skeleton == "simspine37":  # limbs come from Human3.6M; eyes, ears and feet tips have no source
        assert np.isfinite(y[..., SIMSPINE_37.index("RWrist"), :]).all()
        assert np.isnan(y[..., SIMSPINE_37.index("REye"), :]).all()
