"""Training: loss masking, LR schedule, sampler sharding, overfitting, exact resume, DDP equivalence."""

from __future__ import annotations

import math
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from spine3d.lifting.checkpoint import read_checkpoint
from spine3d.lifting.config import DataConfig, LossConfig, ModelConfig, OptimConfig, TrainConfig
from spine3d.lifting.distributed import DistInfo, GlobalBatchSampler
from spine3d.lifting.losses import lifting_loss
from spine3d.lifting.schedule import lr_factor, make_generator, rng_state, set_rng_state
from spine3d.lifting.train import Trainer
from spine3d.errors import InputError

F = 16


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Synthetic S1 (train) and S9 (test), 2 actions of 1.2 s, 4 cameras: 8 items of 60 frames per split."""
    from spine3d.data.synth import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("data"), subjects=["S1", "S9"], seconds_per_action=1.2,
                            actions=["Walking", "Sitting"])


def tiny_config(epochs: int = 2, dropout: float = 0.1, flip: float = 0.5, batch: int = 8, lr: float = 2e-3,
                dim: int = 16) -> TrainConfig:
    return TrainConfig(name="tiny", seed=3,
                       model=ModelConfig(frames=F, dim=dim, depth=1, heads=2, dropout=dropout),
                       data=DataConfig(frames=F, stride=8, batch_size=batch, flip_prob=flip),
                       optim=OptimConfig(epochs=epochs, lr=lr, warmup_epochs=0.5))


def make_trainer(cfg: TrainConfig, data: Path, out: Path, dist: DistInfo = DistInfo(), eval_every: int = 1) -> Trainer:
    return Trainer(cfg, data, out, dist=dist, progress=False, tensorboard=False, eval_every=eval_every)


# ---- loss -----------------------------------------------------------------------------------------------------


def test_loss_closed_form_and_padding_mask():
    """pred = target + a fixed per-joint offset: MPJPE = mean offset norm, zero velocity error."""
    rng = np.random.default_rng(0)
    target = torch.from_numpy(rng.normal(0, 200, (2, 6, 5, 3)))
    target -= target[..., :1, :].clone()
    offset = torch.from_numpy(rng.normal(0, 30, (5, 3)))
    valid = torch.ones(2, 6, dtype=torch.bool)
    valid[1, 4:] = False
    pred = target + offset
    pred[1, 4:] = 1e6  # garbage on padding frames
    target[1, 4:] = float("nan")
    loss, terms = lifting_loss(pred, target, valid, LossConfig(mpjpe=1.0, n_mpjpe=0.0, velocity=1.0))
    expected = offset.norm(dim=-1).mean().item()
    assert terms["mpjpe"].item() == pytest.approx(expected, rel=1e-5)
    assert terms["velocity"].item() == pytest.approx(0.0, abs=1e-4)
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    weighted, _ = lifting_loss(pred, target, valid, LossConfig(mpjpe=1.0, n_mpjpe=0.5, velocity=2.0))
    assert weighted.item() == pytest.approx(expected + 0.5 * terms["n_mpjpe"].item(), rel=1e-4)


def test_loss_gradient_is_finite_with_missing_targets():
    pred = torch.randn(1, 4, 5, 3, requires_grad=True)
    target = torch.randn(1, 4, 5, 3)
    target[0, 1, 2] = float("nan")
    loss, _ = lifting_loss(pred, target, torch.ones(1, 4, dtype=torch.bool), LossConfig())
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_loss_shape_errors():
    with pytest.raises(InputError, match="valid of shape"):
        lifting_loss(torch.zeros(2, 4, 5, 3), torch.zeros(2, 4, 5, 3), torch.ones(2, 3, dtype=torch.bool), LossConfig())


# ---- schedule, seeds, sampler -----------------------------------------------------------------------------------


def test_lr_schedule_shapes():
    cos = [lr_factor(s, 10, 100, 1.0, "cosine", 0.9) for s in range(100)]
    np.testing.assert_allclose(cos[:10], np.arange(1, 11) / 10)  # linear warm-up over one epoch
    assert cos[10] == pytest.approx(1.0) and cos[55] == pytest.approx(0.5)
    assert cos[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 89 / 90)))
    assert all(a >= b for a, b in zip(cos[10:], cos[11:]))
    exp = [lr_factor(s, 10, 100, 0.0, "exponential", 0.9) for s in (0, 10, 25)]
    np.testing.assert_allclose(exp, [1.0, 0.9, 0.9**2.5])


def test_rng_state_round_trip():
    gen = make_generator(5)
    state = rng_state(gen)
    first = (torch.rand(3), np.random.rand(3), __import__("random").random(), torch.rand(2, generator=gen))
    set_rng_state(state, gen)
    again = (torch.rand(3), np.random.rand(3), __import__("random").random(), torch.rand(2, generator=gen))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_sampler_ranks_share_the_global_batches():
    n, batch, world = 43, 8, 2
    single = list(GlobalBatchSampler(n, batch, seed=1))
    ranks = [list(GlobalBatchSampler(n, batch, world, r, seed=1)) for r in range(world)]
    steps = n // batch
    assert len(single) == steps * batch and all(len(r) == steps * batch // world for r in ranks)
    local = batch // world
    for k in range(steps):
        union = sorted(i for r in ranks for i in r[k * local : (k + 1) * local])
        assert union == sorted(single[k * batch : (k + 1) * batch])
    sampler = GlobalBatchSampler(n, batch, seed=1)
    sampler.set_epoch(1)
    assert list(sampler) != single and len(set(single)) == len(single)
    with pytest.raises(InputError, match="multiple of the number of processes"):
        GlobalBatchSampler(n, 6, world_size=4)
    with pytest.raises(InputError, match="fewer than one batch"):
        GlobalBatchSampler(5, 8)


# ---- training -----------------------------------------------------------------------------------------------------


def test_loss_decreases_on_a_tiny_overfit_run(dataset, tmp_path):
    trainer = make_trainer(tiny_config(epochs=6, dropout=0.0, flip=0.0, dim=32, lr=3e-3), dataset, tmp_path)
    trainer.fit()
    import csv

    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    losses = [float(r["train_loss"]) for r in rows]
    assert len(rows) == 6 and [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert losses[-1] < 0.5 * losses[0]
    assert float(rows[-1]["test_p_mpjpe_spine"]) < float(rows[0]["test_p_mpjpe_spine"])
    best = read_checkpoint(tmp_path / "best.pt")
    assert best["best_metric"] == pytest.approx(min(float(r["test_p_mpjpe_spine"]) for r in rows), rel=1e-5)
    assert (tmp_path / "last.pt").is_file()


def fit_windows(dataset: Path, steps: int) -> tuple[float, float]:
    """Fit a small transformer to the training windows; -> (its final MPJPE, the mean-pose MPJPE) in mm, train set."""
    from spine3d.data.source import SequenceSource
    from spine3d.lifting.data import LiftingWindows
    from spine3d.lifting.model import build_model

    cfg = tiny_config(dropout=0.0, flip=0.0, dim=32)
    windows = LiftingWindows(SequenceSource(dataset, cfg.data.skeleton), "train", cfg.data, train=False)
    batch = torch.utils.data.default_collate([windows[i] for i in range(len(windows))])
    torch.manual_seed(0)
    model = build_model(cfg.model, windows.num_joints)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        loss, terms = lifting_loss(model(batch["inputs"]), batch["target"], batch["valid"], cfg.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    target = batch["target"].numpy()
    mean_pose = np.linalg.norm(target - target.mean(axis=(0, 1)), axis=-1).mean()
    return float(terms["mpjpe"]), float(mean_pose)


def test_the_transformer_fit_uses_its_input(dataset):
    """Far below always predicting the mean training pose, the level an input-blind model stalls at
    (fed raw screen coordinates, the transformer once sat there for whole epochs)."""
    fitted, mean_pose = fit_windows(dataset, steps=150)
    assert fitted < 0.6 * mean_pose


def test_resume_reproduces_the_uninterrupted_run_exactly(dataset, tmp_path):
    cfg = tiny_config(epochs=2, dropout=0.1, flip=0.5)  # dropout and flips: RNG state must be restored
    full = make_trainer(cfg, dataset, tmp_path / "full")
    full.fit()
    killed = make_trainer(cfg, dataset, tmp_path / "part")
    killed.fit(until=1)  # a run stopped after its first epoch
    resumed = make_trainer(cfg, dataset, tmp_path / "part")
    resumed.resume()
    assert resumed.state.epoch == 1
    resumed.fit()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert resumed.state.step == full.state.step
    assert len(open(tmp_path / "part" / "metrics.csv").read().splitlines()) == 3  # header + 2 epochs


def test_resume_with_another_config_is_refused(dataset, tmp_path):
    make_trainer(tiny_config(epochs=1), dataset, tmp_path).fit()
    other = make_trainer(tiny_config(epochs=1, lr=1e-3), dataset, tmp_path)
    with pytest.raises(InputError, match="different config"):
        other.resume()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, cfg_dict: dict, data: str, out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        make_trainer(TrainConfig.from_dict(cfg_dict), Path(data), Path(out), DistInfo(rank, world, rank), 0).fit()
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_match_one_process(dataset, tmp_path):
    cfg = tiny_config(epochs=2, dropout=0.0, flip=0.5, batch=8)
    single = make_trainer(cfg, dataset, tmp_path / "single", eval_every=0)
    initial = {k: v.clone() for k, v in single.model.state_dict().items()}
    single.fit()
    # fork: the workers inherit the imported modules (torch, dynamo), saving seconds of start-up each
    mp.start_processes(_ddp_worker, args=(2, _free_port(), cfg.to_dict(), str(dataset), str(tmp_path / "ddp")),
                       nprocs=2, start_method="fork")
    ddp = read_checkpoint(tmp_path / "ddp" / "last.pt")
    assert ddp["step"] == single.state.step
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(ddp["model"][name], value, rtol=0, atol=1e-5)
    moved = max((v - initial[k]).abs().max().item() for k, v in single.model.state_dict().items()
                if v.is_floating_point())
    assert moved > 1e-3  # training changed the weights: the comparison is not between two initialisations
