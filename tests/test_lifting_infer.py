"""Inference: windows of any length, blending, flip TTA, bad input, checkpoints, input files, ONNX, TRC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spine3d.lifting.checkpoint import checkpoint_header, load_checkpoint, read_checkpoint, save_checkpoint
from spine3d.lifting.config import DataConfig, ModelConfig, TrainConfig
from spine3d.lifting.infer import blend_weights, default_stride, lift_sequence, prepare_inputs
from spine3d.lifting.inputs import load_lift_input
from spine3d.lifting.model import build_model
from spine3d.lifting.normalize import flip_keypoints, make_inputs
from spine3d.errors import InputError
from spine3d.skeletons import BODY_25B, SIMSPINE_15, SPINEPOSE_37, remap

F = 16
SKEL = SIMSPINE_15
J = SKEL.num_joints


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_config(kind: str = "transformer", dim: int = 16) -> TrainConfig:
    return TrainConfig(name=f"tiny-{kind}", model=ModelConfig(kind=kind, frames=F, dim=dim, depth=1, heads=2),
                       data=DataConfig(frames=F, stride=F // 2, batch_size=4))


def make_model(kind: str = "transformer", seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(tiny_config(kind).model, J).eval()
    with torch.no_grad():  # a freshly initialised head outputs ~0; make predictions depend on the input
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def random_inputs(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, (t, J, 3)).astype(np.float32)
    x[..., 2] = rng.uniform(0.5, 1.0, (t, J))
    return x


def brute_force_lift(model, x: np.ndarray, stride: int) -> np.ndarray:
    """Independent reference: python loops over windows and frames, weights from blend_weights."""
    t = len(x)
    padded = np.concatenate([x, np.repeat(x[-1:], max(0, F - t), axis=0)])
    starts = list(range(0, len(padded) - F + 1, stride))
    if starts[-1] != len(padded) - F:
        starts.append(len(padded) - F)
    w = blend_weights(F, F - stride)
    acc = np.zeros((len(padded), J, 3))
    norm = np.zeros(len(padded))
    for s in starts:
        with torch.no_grad():
            pred = model(torch.from_numpy(padded[None, s : s + F]))[0].numpy()
        pred = pred - pred[:, SKEL.root : SKEL.root + 1]
        for i in range(F):
            acc[s + i] += w[i] * pred[i]
            norm[s + i] += w[i]
    return (acc / norm[:, None, None])[:t]


def test_blend_weights_positive_symmetric_ramp():
    for overlap in (1, 4, 8, 40):
        w = blend_weights(F, overlap)
        assert (w > 0).all() and w.max() <= 1.0
        np.testing.assert_allclose(w, w[::-1])
        assert (np.diff(w[: F // 2]) >= 0).all()
    np.testing.assert_array_equal(blend_weights(F, 4)[4:-4], 1.0)  # plateau between the ramps


@pytest.mark.parametrize("t", [5, F, 10 * F + 3])
def test_lift_matches_brute_force_windows(t):
    model, x = make_model(), random_inputs(t)
    out = lift_sequence(model, x, F, False, SKEL)
    assert out.shape == (t, J, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, SKEL.root], 0.0)
    np.testing.assert_allclose(out, brute_force_lift(model, x, default_stride(F)), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(lift_sequence(model, x, F, False, SKEL, stride=3), brute_force_lift(model, x, 3),
                               rtol=1e-4, atol=1e-3)


def test_short_sequence_is_padded_by_repeating_the_last_frame():
    model, x = make_model(), random_inputs(5)
    padded = np.concatenate([x, np.repeat(x[-1:], F - 5, axis=0)])
    with torch.no_grad():
        ref = model(torch.from_numpy(padded[None]))[0, :5].numpy()
    np.testing.assert_allclose(lift_sequence(model, x, F, False, SKEL), ref - ref[:, :1], atol=1e-3)


def test_per_frame_model_is_unchanged_by_windowing():
    """For the single-frame MLP every window predicts the same pose for a frame: blending must return it."""
    model, x = make_model("mlp"), random_inputs(10 * F)
    with torch.no_grad():
        direct = model(torch.from_numpy(x[None]))[0].numpy()
    for stride in (1, 5, F):
        out = lift_sequence(model, x, F, False, SKEL, stride=stride, batch_size=7)
        np.testing.assert_allclose(out, direct - direct[:, :1], rtol=1e-5, atol=1e-3)


def test_flip_tta_is_the_mean_of_plain_and_unflipped_mirror():
    model, x = make_model(), random_inputs(3 * F)
    plain = lift_sequence(model, x, F, False, SKEL)
    mirror = flip_keypoints(lift_sequence(model, flip_keypoints(x, SKEL), F, False, SKEL), SKEL)
    np.testing.assert_allclose(lift_sequence(model, x, F, True, SKEL), (plain + mirror) / 2, atol=1e-3)
    assert np.abs(plain - mirror).max() > 1.0  # the test is not trivially satisfied


def test_nan_keypoints_are_missing_points_and_all_nan_is_an_error():
    model, x = make_model(), random_inputs(2 * F)
    holes = x.copy()
    holes[3, 4, :2] = np.nan
    holes[7, :, 2] = np.nan
    zeroed = x.copy()
    zeroed[3, 4] = 0.0
    zeroed[7] = 0.0
    np.testing.assert_array_equal(prepare_inputs(holes, J), zeroed)
    np.testing.assert_allclose(lift_sequence(model, holes, F, False, SKEL),
                               lift_sequence(model, zeroed, F, False, SKEL))
    with pytest.raises(InputError, match="every keypoint of every frame is missing"):
        lift_sequence(model, np.full((F, J, 3), np.nan, np.float32), F, False, SKEL)
    bad = x.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(InputError, match="infinite"):
        lift_sequence(model, bad, F, False, SKEL)


def test_wrong_keypoint_count_is_an_error():
    with pytest.raises(InputError, match=r"expected inputs of shape \(T>=1, 15, 3\).*got \(20, 17, 3\)"):
        lift_sequence(make_model(), np.zeros((20, 17, 3), np.float32), F, False, SKEL)


# ---- checkpoints --------------------------------------------------------------------------------------------


def write_checkpoint(path: Path, cfg: TrainConfig | None = None, model=None) -> Path:
    cfg = cfg or tiny_config()
    model = model if model is not None else make_model(cfg.model.kind)
    save_checkpoint(path, {**checkpoint_header(cfg, SKEL), "model": model.state_dict()})
    return path


def test_checkpoint_round_trip(tmp_path):
    model = make_model()
    path = write_checkpoint(tmp_path / "m.pt", model=model)
    loaded, cfg, skeleton = load_checkpoint(path)
    assert cfg == tiny_config() and skeleton is SKEL and not loaded.training
    x = torch.from_numpy(random_inputs(F)[None])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_checkpoint_from_another_config_is_rejected(tmp_path):
    path = write_checkpoint(tmp_path / "m.pt")
    payload = read_checkpoint(path)
    payload["config"] = tiny_config(dim=32).to_dict()  # weights of dim 16 under a dim-32 config
    save_checkpoint(tmp_path / "mixed.pt", payload)
    with pytest.raises(InputError, match=r"mixed.pt: weights do not match the stored config"):
        load_checkpoint(tmp_path / "mixed.pt")
    payload["config"] = tiny_config("mlp").to_dict()
    save_checkpoint(tmp_path / "kind.pt", payload)
    with pytest.raises(InputError, match="model kind 'transformer' differs"):
        load_checkpoint(tmp_path / "kind.pt")


def test_foreign_files_are_rejected(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a spine3d lifter checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_text("hello")
    with pytest.raises(InputError, match="not a readable spine3d checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "absent.pt")


# ---- input files ---------------------------------------------------------------------------------------------


def pixel_keypoints(t: int, j: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kp = np.concatenate([rng.uniform(100, 900, (t, j, 2)), rng.uniform(0.3, 1, (t, j, 1))], axis=-1)
    return kp


def test_npz_input_in_the_checkpoint_layout(tmp_path):
    kp = pixel_keypoints(30, J)
    np.savez(tmp_path / "k.npz", keypoints=kp, image_size=np.array([1000.0, 800.0]))
    data = load_lift_input(tmp_path / "k.npz", SKEL)
    np.testing.assert_allclose(data.inputs, make_inputs(kp[..., :2], kp[..., 2], [1000, 800]), atol=1e-6)
    assert data.layout is SKEL and data.missing == []


def test_npz_in_another_layout_is_remapped_by_name(tmp_path):
    kp = pixel_keypoints(30, SPINEPOSE_37.num_joints)
    np.savez(tmp_path / "k.npz", keypoints=kp, image_size=np.array([1000.0, 800.0]), skeleton="spinepose37")
    data = load_lift_input(tmp_path / "k.npz", SKEL)
    expected = remap(kp, SPINEPOSE_37, SKEL)
    have = SPINEPOSE_37.mapping_to(SKEL) >= 0
    encoded = make_inputs(expected[..., :2], expected[..., 2], [1000, 800])
    np.testing.assert_allclose(data.inputs[:, have], encoded[:, have], atol=1e-6)
    np.testing.assert_array_equal(data.inputs[:, ~have], 0.0)  # joints SpinePose lacks: missing, confidence 0
    assert data.missing == [SKEL.names[i] for i in np.flatnonzero(~have)]


def test_wrong_keypoint_count_and_missing_image_size(tmp_path):
    np.savez(tmp_path / "k.npz", keypoints=pixel_keypoints(10, 14), image_size=np.array([1000.0, 800.0]))
    with pytest.raises(InputError, match=r"14 keypoints per person fit no known layout; name the layout with --skeleton"):
        load_lift_input(tmp_path / "k.npz", SKEL)
    np.savez(tmp_path / "n.npz", keypoints=pixel_keypoints(10, J))
    with pytest.raises(InputError, match="pass --image-size"):
        load_lift_input(tmp_path / "n.npz", SKEL)
    with pytest.raises(InputError, match="15 keypoints per person, but --skeleton names body25b, which has 25"):
        load_lift_input(tmp_path / "n.npz", SKEL, skeleton="body25b", image_size=(1000, 800))


def test_openpose_folder_input(tmp_path):
    kp = pixel_keypoints(12, BODY_25B.num_joints)
    kp[4, 3] = 0.0  # an undetected keypoint, OpenPose style
    folder = tmp_path / "json"
    folder.mkdir()
    for t, frame in enumerate(kp):
        doc = {"people": [{"pose_keypoints_2d": frame.ravel().tolist()}]}
        (folder / f"cam.{t + 100:04d}.json").write_text(json.dumps(doc))
    data = load_lift_input(folder, SKEL, image_size=(1000, 800))
    assert data.layout is BODY_25B and data.inputs.shape == (12, J, 3)
    np.testing.assert_array_equal(data.frame_numbers, np.arange(100, 112))
    neck = SKEL.index("Neck")
    np.testing.assert_allclose(data.inputs[:, neck], make_inputs(kp[:, 17, :2], kp[:, 17, 2], [1000, 800]), atol=1e-6)
    with pytest.raises(InputError, match="pass --image-size"):
        load_lift_input(folder, SKEL)


def test_layouts_of_equal_count_are_never_guessed(tmp_path):
    """SpinePose-37 JSON is read as SpinePose, whatever the checkpoint; a 37-joint npz without a layout is
    refused; a spine-only (9) folder is read by name; the most confident person is lifted."""
    from spine3d.skeletons import SIMSPINE_37, SPINEPOSE_9, SPINEPOSE_37

    kp = pixel_keypoints(6, SPINEPOSE_37.num_joints)
    folder = tmp_path / "sp37"
    folder.mkdir()
    for t, frame in enumerate(kp):
        weak = frame.copy()
        weak[:, 2] *= 0.1
        doc = {"people": [{"pose_keypoints_2d": weak.ravel().tolist()}, {"pose_keypoints_2d": frame.ravel().tolist()}]}
        (folder / f"frame_{t:05d}.json").write_text(json.dumps(doc))
    data = load_lift_input(folder, SIMSPINE_37, image_size=(1000, 800))
    assert data.layout is SPINEPOSE_37
    nose, hip = SIMSPINE_37.index("Nose"), SIMSPINE_37.index("Hip")
    expected = make_inputs(kp[..., :2], kp[..., 2], np.array([1000.0, 800.0]))  # the confident person
    np.testing.assert_allclose(data.inputs[:, nose], expected[:, SPINEPOSE_37.index("Nose")], rtol=1e-6)
    np.testing.assert_allclose(data.inputs[:, hip], expected[:, SPINEPOSE_37.index("Hip")], rtol=1e-6)
    np.savez(tmp_path / "k37.npz", keypoints=kp, image_size=np.array([1000.0, 800.0]))
    with pytest.raises(InputError, match="37 keypoints per person fit simspine37, spinepose37"):
        load_lift_input(tmp_path / "k37.npz", SIMSPINE_37)
    spine = tmp_path / "sp9"
    spine.mkdir()
    for t, frame in enumerate(kp[:, [19, 26, 27, 28, 29, 30, 18, 35, 36]]):
        (spine / f"frame_{t:05d}.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": frame.ravel().tolist()}]}))
    data = load_lift_input(spine, SIMSPINE_37, image_size=(1000, 800))
    assert data.layout is SPINEPOSE_9 and len(data.missing) == 37 - 9
    np.testing.assert_allclose(data.inputs[:, SIMSPINE_37.index("Spine_03")],
                               expected[:, SPINEPOSE_37.index("spine_03")], rtol=1e-6)
