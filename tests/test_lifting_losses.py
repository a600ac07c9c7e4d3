"""The N-MPJPE term of the lifting loss: exact where it can be, bounded where the exact one explodes."""

from __future__ import annotations

import torch

from spine3d.evaluation import torch_metrics
from spine3d.lifting.losses import MAX_SCALE, scale_aligned


def _pose(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 5, 15, 3, generator=g, dtype=torch.float64) * 300.0


def test_equals_exact_n_mpjpe_for_moderate_scales():
    target = _pose(0)
    pred = 0.8 * target + 20.0 * _pose(1) / 300.0
    ours = torch_metrics.mpjpe(scale_aligned(pred, target), target)
    assert torch.allclose(ours, torch_metrics.n_mpjpe(pred, target), rtol=1e-10)


def test_gradient_stays_bounded_when_prediction_collapses():
    target = _pose(0)
    pred = (1e-3 * target + _pose(2) * 1e-3).requires_grad_(True)
    torch_metrics.n_mpjpe(pred, target).backward()
    exact = pred.grad.abs().max().item()
    pred.grad = None
    torch_metrics.mpjpe(scale_aligned(pred, target), target).backward()
    ours = pred.grad.abs().max().item()
    assert exact > 100 * ours  # the exact term's gradient explodes like 1 / |pred|
    per_joint = 1.0 / (target.shape[1] * target.shape[2] * target.shape[0])
    assert ours <= MAX_SCALE * per_joint * (1 + 1e-9)


def test_missing_joints_ignored():
    target = _pose(0)
    target[0, :, 3] = float("nan")
    out = scale_aligned(0.5 * torch.nan_to_num(target), target)
    assert torch.isfinite(out).all()
    ok = torch.isfinite(target).all(-1)
    assert torch.allclose(out[ok], torch.nan_to_num(target)[ok])
