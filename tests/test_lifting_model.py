"""Lifter models and configs: shapes, window lengths, mixing axes, parameter counts, gradients, YAML."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from spine3d.lifting.config import DataConfig, ModelConfig, TrainConfig, load_config, save_config
from spine3d.lifting.model import INPUT_SCALE, OUTPUT_SCALE_MM, MLPLifter, SpineLifter, build_model, count_parameters, encode_inputs
from spine3d.errors import InputError

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "lifting"
TINY = ModelConfig(frames=12, dim=16, depth=2, heads=2)


@pytest.fixture(autouse=True)
def seeded_single_thread():
    """Tiny models run faster on one thread, and OpenMP threads crawl on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def _transformer_params(cfg: ModelConfig, j: int) -> int:
    """Closed-form parameter count of SpineLifter (independent of the module code)."""
    d, hidden = cfg.dim, int(cfg.dim * cfg.mlp_ratio)
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d)
    layer = 2 * block + ((4 * block + 2 * d * 2 + 2) - 2 * block if cfg.dual_stream else 0)
    pose = (5 * j * j * d + j * d) if cfg.pose_embedding else 0
    return 6 * d + pose + j * d + cfg.frames * d + cfg.depth * layer + 2 * d + (d * d + d) + (3 * d + 3)


def _mlp_params(cfg: ModelConfig, j: int) -> int:
    d = cfg.dim
    return (5 * j * d + d) + cfg.depth * 2 * (d * d + d + 2 * d) + (d * 3 * j + 3 * j)


@pytest.mark.parametrize("dual, pose", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("frames", [12, 5, 1])
def test_transformer_shapes_for_shorter_windows(dual, pose, frames):
    model = SpineLifter(replace(TINY, dual_stream=dual, pose_embedding=pose), 15).eval()
    out = model(torch.randn(3, frames, 15, 3))
    assert out.shape == (3, frames, 15, 3) and out.dtype == torch.float32 and torch.isfinite(out).all()


def test_bad_inputs_raise_clear_errors():
    model = SpineLifter(TINY, 15)
    with pytest.raises(InputError, match="at most 12"):
        model(torch.randn(1, 13, 15, 3))
    with pytest.raises(InputError, match=r"\(B, F, 15, 3\)"):
        model(torch.randn(1, 12, 17, 3))
    with pytest.raises(InputError, match=r"\(B, F, 15, 3\)"):
        MLPLifter(replace(TINY, kind="mlp"), 15)(torch.randn(1, 4, 15, 2))


def test_transformer_mixes_frames_and_joints_mlp_only_joints():
    x = torch.randn(2, 12, 15, 3)
    y = x.clone()
    y[:, 0, 3] += 0.5  # perturb one joint of frame 0
    for kind, mixes_time in (("transformer", True), ("mlp", False)):
        model = build_model(replace(TINY, kind=kind), 15).eval()
        with torch.no_grad():
            delta = (model(y) - model(x)).abs().amax(dim=(0, 3))  # (F, J)
        assert delta[0, 7] > 0  # other joints of the same frame react
        assert (delta[5:].amax() > 0) == mixes_time  # later frames react only through temporal attention


def test_eval_mode_is_deterministic_and_train_mode_uses_dropout():
    model = SpineLifter(replace(TINY, dropout=0.3), 15)
    x = torch.randn(2, 12, 15, 3)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize("kind, pose", [("transformer", False), ("transformer", True), ("mlp", False)])
def test_every_parameter_gets_a_gradient(kind, pose):
    """No unused parameter (DistributedDataParallel would refuse them)."""
    model = build_model(replace(TINY, kind=kind, pose_embedding=pose), 15)
    model(torch.randn(2, 6, 15, 3)).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing


@pytest.mark.parametrize("kind, head", [("transformer", "head"), ("mlp", "out")])
def test_outputs_are_the_head_in_metres_scaled_to_mm(kind, head):
    model = build_model(replace(TINY, kind=kind), 15).eval()
    seen = []
    getattr(model, head).register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        out = model(torch.randn(1, 12, 15, 3))
    assert OUTPUT_SCALE_MM == 1000.0
    torch.testing.assert_close(out, seen[0].reshape(out.shape) * 1000.0)


@pytest.mark.parametrize("name", ["tiny", "small", "base", "mlp"])
@pytest.mark.parametrize("joints", [15, 37])
def test_config_parameter_counts(name, joints):
    cfg = load_config(CONFIGS / f"{name}.yaml")
    with torch.device("meta"):  # no memory, no initialisation: counting only
        model = build_model(cfg.model, joints)
    expected = (_transformer_params if cfg.model.kind == "transformer" else _mlp_params)(cfg.model, joints)
    assert count_parameters(model) == expected
    if name == "base":  # MotionBERT's DSTformer (depth 5, width 512, 8 heads, F 243) has ~42 M; the pose
        # embedding adds 5 J^2 dim + J dim (0.6 M for 15 joints, 3.5 M for 37)
        assert (cfg.model.depth, cfg.model.dim, cfg.model.heads, cfg.model.frames) == (5, 512, 8, 243)
        assert 40e6 < expected - cfg.model.pose_embedding * (5 * joints + 1) * joints * cfg.model.dim < 45e6
    if name in ("tiny", "small"):
        assert cfg.model.kind == "transformer" and expected < 1e6


def test_pose_embedding_gives_every_token_the_whole_frame():
    """With pose_embedding, the tokens entering the first layer depend on every keypoint of their frame
    (and only of their frame); without it, each token on its own keypoint (and the frame's centre)."""
    x = torch.randn(1, 12, 15, 3)
    x[..., 2] = 1.0
    y = x.clone()
    y[0, 4, 3, 0] += 0.1  # move one keypoint of frame 4 (this also moves the frame's centre)
    for pose in (True, False):
        model = SpineLifter(replace(TINY, pose_embedding=pose), 15).eval()
        tokens = []
        model.layers[0].register_forward_pre_hook(lambda m, args: tokens.append(args[0]))
        with torch.no_grad():
            model(x), model(y)
        delta = (tokens[1] - tokens[0]).abs().amax(dim=-1)[0]  # (F, J)
        assert delta[4].min() > 0 and delta[[3, 5]].max() == 0
        if not pose:  # the other keypoints of frame 4 see only the shifted centre: the same change for all
            others = (tokens[1] - tokens[0])[0, 4, [0, 7, 12]]
            torch.testing.assert_close(others[0], others[1])
            torch.testing.assert_close(others[0], others[2])
        else:
            others = (tokens[1] - tokens[0])[0, 4, [0, 7]]
            assert not torch.allclose(others[0], others[1])


def test_alternating_config_has_half_the_blocks():
    dual = count_parameters(SpineLifter(TINY, 15))
    single = count_parameters(SpineLifter(replace(TINY, dual_stream=False), 15))
    assert dual - single == _transformer_params(TINY, 15) - _transformer_params(replace(TINY, dual_stream=False), 15)
    assert single == _transformer_params(replace(TINY, dual_stream=False), 15)


def test_config_round_trip_and_defaults(tmp_path):
    cfg = load_config(CONFIGS / "small.yaml")
    assert cfg.name == "small" and cfg.data.frames <= cfg.model.frames
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    save_config(cfg, tmp_path / "copy.yaml")
    assert load_config(tmp_path / "copy.yaml") == cfg
    (tmp_path / "min.yaml").write_text("model: {dim: 32, heads: 4}\noptim: {lr: 5e-4}\n")
    minimal = load_config(tmp_path / "min.yaml")
    assert minimal.name == "min" and minimal.model.dim == 32 and minimal.optim.lr == 5e-4
    assert minimal.data == DataConfig() and minimal.data.noise.sigma_px == 2.5


@pytest.mark.parametrize("text, message", [
    ("model: {dimm: 3}", r"unknown key 'config.model.dimm'"),
    ("data: {noise: {sigma: 1}}", r"unknown key 'config.data.noise.sigma'"),
    ("model: {dim: 6.5}", r"config.model.dim must be int"),
    ("model: {dual_stream: 1}", r"config.model.dual_stream must be bool"),
    ("data: {protocol: noisy}", r"config.data.protocol must be one of 'gt', 'detected'"),
    ("data: {noise: {gross_px: [1, 2, 3]}}", r"gross_px must be a list of 2"),
    ("model: {dim: 30, heads: 4}", r"multiple of model.heads"),
    ("model: {frames: 27}\ndata: {frames: 81}", r"exceeds model.frames"),
    ("- 1\n- 2", r"expected a mapping"),
    ("model: [1, 2]", r"config.model must be a mapping"),
])
def test_bad_configs_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_encode_inputs_matches_a_per_frame_loop():
    x = torch.rand(2, 4, 15, 3, dtype=torch.float64)
    x[0, 1, 3] = 0.0  # a missing point: (0, 0, 0)
    x[1, 2, :, 2] = 0.0  # a frame with no point seen
    out = encode_inputs(x)
    for b in range(2):
        for f in range(4):
            xy, conf = x[b, f, :, :2], x[b, f, :, 2]
            c = (xy * conf[:, None]).sum(0) / conf.sum() if conf.sum() > 0 else torch.zeros(2, dtype=x.dtype)
            for j in range(15):
                rel = (xy[j] - c) * INPUT_SCALE if conf[j] > 0 else torch.zeros(2, dtype=x.dtype)
                torch.testing.assert_close(out[b, f, j], torch.cat([rel, conf[j : j + 1], c]))


def test_encode_inputs_is_translation_invariant_and_flip_equivariant():
    x = torch.rand(1, 3, 15, 3, dtype=torch.float64)
    shifted = x.clone()
    shifted[..., :2] += torch.tensor([0.3, -0.2], dtype=x.dtype)
    torch.testing.assert_close(encode_inputs(shifted)[..., :3], encode_inputs(x)[..., :3])
    flipped = x.clone()
    flipped[..., 0] *= -1  # mirror about the image centre line (joint order is irrelevant here)
    expected = encode_inputs(x) * torch.tensor([-1.0, 1.0, 1.0, -1.0, 1.0], dtype=x.dtype)
    torch.testing.assert_close(encode_inputs(flipped), expected)
