"""Differentiable torch versions of MPJPE, P-MPJPE, N-MPJPE and MPJVE, usable as training losses.

Same math as :mod:`spine3d.evaluation.metrics` (they agree to 1e-9 in float64), on any leading axes:
``(..., J, 3)`` poses, e.g. (B, T, J, 3) batches, and ``(..., T, J, 3)`` for velocities.
Missing joints (a non-finite coordinate in pred or target) are masked with ``torch.where`` before
any arithmetic, so neither the value nor the gradient ever becomes NaN. One difference from numpy:
when nothing at all is valid the result is 0 (with zero gradient) rather than NaN, so a batch of
missing targets does not poison a training step.
"""

from __future__ import annotations

import torch

from spine3d.errors import InputError

MIN_PROCRUSTES = 3  # keep in step with evaluation.procrustes.MIN_PROCRUSTES


def mpjpe(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Protocol #1 MPJPE: scalar mean Euclidean error over valid (and ``mask``-selected) joints.

    Args:
        pred: (..., J, 3) predicted keypoints.
        target: (..., J, 3) ground truth, same unit and frame (may hold NaN for missing joints).
        mask: optional bool tensor broadcastable to (..., J) selecting the joints to score.
    """
    _check(pred, target, "mpjpe")
    valid = _valid(pred, target, mask)
    return _masked_mean(_safe_norm(_zeroed(pred, valid) - _zeroed(target, valid)), valid)


def n_mpjpe(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """N-MPJPE: MPJPE after a per-frame least-squares scale of pred about the origin (root-relative poses)."""
    _check(pred, target, "n_mpjpe")
    valid = _valid(pred, target, None)
    p, g = _zeroed(pred, valid), _zeroed(target, valid)
    num = (p * g).sum((-2, -1), keepdim=True)
    den = (p * p).sum((-2, -1), keepdim=True)
    scale = num / torch.where(den > 0, den, torch.ones_like(den))  # all-zero pred: scale 0
    valid = valid & _user_mask(mask, valid)
    return _masked_mean(_safe_norm(scale * p - g), valid)


def p_mpjpe(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Protocol #2 P-MPJPE: MPJPE after a per-frame similarity Procrustes (no reflection) of pred onto target.

    The alignment uses every valid joint; ``mask`` only selects the joints averaged afterwards.
    Frames with fewer than 3 valid joints are excluded. The SVD gradient is ill-defined for
    degenerate (e.g. collinear) frames, so prefer :func:`mpjpe` / :func:`n_mpjpe` as losses.
    """
    _check(pred, target, "p_mpjpe")
    valid = _valid(pred, target, None)
    w = valid.unsqueeze(-1).to(pred.dtype)
    n = w.sum(-2, keepdim=True)  # (..., 1, 1)
    frame_ok = n[..., 0, 0] >= MIN_PROCRUSTES
    p, g = _zeroed(pred, valid), _zeroed(target, valid)
    mu_p = p.sum(-2, keepdim=True) / n.clamp(min=1)
    mu_g = g.sum(-2, keepdim=True) / n.clamp(min=1)
    p_c, g_c = (p - mu_p) * w, (g - mu_g) * w
    m = p_c.transpose(-1, -2) @ g_c
    # Excluded frames get a harmless well-conditioned matrix: an SVD of zeros has an infinite gradient.
    eye = torch.diag(torch.tensor([3.0, 2.0, 1.0], dtype=m.dtype, device=m.device))
    m = torch.where(frame_ok[..., None, None], m, eye)
    u, s, vt = torch.linalg.svd(m)
    d = torch.where(torch.linalg.det(u @ vt) < 0, -1.0, 1.0).to(m.dtype)  # reflection fix
    flip = torch.cat([torch.ones_like(s[..., :-1]), d[..., None]], dim=-1)  # diag(1, 1, d)
    rot = (u * flip[..., None, :]) @ vt
    norm = (p_c**2).sum((-2, -1))
    factor = (s * flip).sum(-1) / torch.where(norm > 0, norm, torch.ones_like(norm))
    aligned = factor[..., None, None] * (p_c @ rot) + mu_g
    valid = valid & frame_ok[..., None] & _user_mask(mask, valid)
    return _masked_mean(_safe_norm(aligned - g), valid)


def mpjve(pred: torch.Tensor, target: torch.Tensor, fps: float | None = None) -> torch.Tensor:
    """Mean per-joint velocity error along the T axis of (..., T, J, 3); per frame, or per second with ``fps``."""
    _check(pred, target, "mpjve")
    if pred.ndim < 3 or pred.shape[-3] < 2:
        raise InputError(f"mpjve: expected sequences of shape (..., T>=2, J, 3), got {tuple(pred.shape)}")
    valid = _valid(pred, target, None)
    p, g = _zeroed(pred, valid), _zeroed(target, valid)
    pair = valid[..., 1:, :] & valid[..., :-1, :]
    err = _safe_norm(torch.diff(p, dim=-3) - torch.diff(g, dim=-3))
    if fps is not None and not fps > 0:
        raise InputError(f"mpjve: fps must be a positive frame rate in Hz, got {fps}")
    out = _masked_mean(err, pair)
    return out * fps if fps is not None else out


def _check(pred: torch.Tensor, target: torch.Tensor, name: str) -> None:
    if pred.shape != target.shape:
        raise InputError(f"{name}: pred and target must have the same shape; "
                         f"expected {tuple(target.shape)} (target), got {tuple(pred.shape)}")
    if pred.ndim < 2 or pred.shape[-1] != 3:
        raise InputError(f"{name}: expected keypoints of shape (..., J, 3), got {tuple(pred.shape)}")


def _valid(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(..., J) bool: finite in both, and selected by ``mask``."""
    valid = torch.isfinite(pred).all(-1) & torch.isfinite(target).all(-1)
    return valid & _user_mask(mask, valid)


def _user_mask(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    if mask is None:
        return torch.ones_like(like)
    return torch.as_tensor(mask, dtype=torch.bool, device=like.device).expand_as(like)


def _zeroed(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``x`` with missing joints set to 0 (no NaN reaches the arithmetic or the gradient)."""
    return torch.where(valid.unsqueeze(-1), x, torch.zeros_like(x))


def _safe_norm(diff: torch.Tensor) -> torch.Tensor:
    """(..., J) Euclidean norm over the last axis with a zero (not NaN) gradient at 0."""
    sq = (diff * diff).sum(-1)
    pos = sq > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))), torch.zeros_like(sq))


def _masked_mean(err: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    count = valid.sum().clamp(min=1).to(err.dtype)
    return torch.where(valid, err, torch.zeros_like(err)).sum() / count
