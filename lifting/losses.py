"""Training loss of the lifters: MPJPE + 0.5 N-MPJPE + a velocity term (weights from :class:`LossConfig`).

All terms come from the shared differentiable metrics in :mod:`spine3d.evaluation.torch_metrics`, so the
loss is the same arithmetic as the scores reported at test time. Poses are in millimetres, camera
frame. The targets are root-relative (root at the origin) and the prediction is compared as it is,
root included (VideoPose3D's convention): the model learns to put its root at the origin. Subtracting
the predicted root first would leave a direction the loss ignores (a common offset of all joints,
e.g. the output bias), whose zero gradient Adam turns into rounding-noise steps. Scores at test time
subtract the predicted root (see :mod:`spine3d.lifting.infer`).

Masking: padding frames (``valid`` False) are turned into missing targets (NaN), which the shared
metrics exclude from both the value and the gradient; velocity pairs that touch one are excluded too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from spine3d.evaluation import torch_metrics
from spine3d.errors import InputError

if TYPE_CHECKING:  # only for the annotation; the loss needs the three weights
    from spine3d.lifting.config import LossConfig

LOSS_TERMS = ("mpjpe", "n_mpjpe", "velocity")
MAX_SCALE = 2.0  # bound on the N-MPJPE scale factor inside the loss (see scale_aligned)


def scale_aligned(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``pred`` times its per-frame least-squares scale onto ``target`` (N-MPJPE's alignment), for the loss.

    The scale is detached and clamped to [0, MAX_SCALE]. Through an undetached scale s = <p, t> / <p, p>
    the N-MPJPE gradient grows like 1 / |pred|: a prediction that shrinks early in training makes that
    term dominate Adam's step statistics, and MPJPE can no longer pull the output back to the right
    size (seen as a run stuck at near-zero outputs for a whole short schedule). Scores still use the
    exact metric (:func:`spine3d.evaluation.torch_metrics.n_mpjpe`); the two agree whenever s <= MAX_SCALE.

    Args:
        pred: (B, F, J, 3) mm. target: (B, F, J, 3) mm, NaN where missing.
    """
    valid = torch.isfinite(target).all(dim=-1, keepdim=True)
    t = torch.where(valid, target, torch.zeros_like(target))
    p = torch.where(valid, pred, torch.zeros_like(pred))
    num = (p * t).sum(dim=(-2, -1), keepdim=True)
    den = (p * p).sum(dim=(-2, -1), keepdim=True).clamp_min(1e-9)
    return pred * (num / den).detach().clamp(0.0, MAX_SCALE)


def lifting_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    weights: "LossConfig",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum of MPJPE, N-MPJPE and velocity error over the valid frames.

    Args:
        pred: (B, F, J, 3) mm, model output.
        target: (B, F, J, 3) mm, camera frame, root-relative; NaN marks a missing joint.
        valid: (B, F) bool, False on padding frames.
        weights: loss weights (``mpjpe``, ``n_mpjpe``, ``velocity``).

    Returns:
        (total, terms): the scalar loss in float32 and each unweighted term (mm; velocity in mm/frame),
        detached. Windows of a single frame have no velocity term (it is 0).
    """
    if pred.shape != target.shape or pred.ndim != 4 or pred.shape[-1] != 3:
        raise InputError(f"lifting_loss: expected pred and target of shape (B, F, J, 3), "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")
    if tuple(valid.shape) != tuple(pred.shape[:2]):
        raise InputError(f"lifting_loss: expected valid of shape {tuple(pred.shape[:2])}, got {tuple(valid.shape)}")
    pred = pred.float()  # autocast may hand over half precision; the metrics need float32 sums
    missing = torch.full_like(target, float("nan"), dtype=torch.float32)
    target = torch.where(valid[..., None, None], target.float(), missing)
    terms = {
        "mpjpe": torch_metrics.mpjpe(pred, target),
        "n_mpjpe": torch_metrics.mpjpe(scale_aligned(pred, target), target),
        "velocity": torch_metrics.mpjve(pred, target) if pred.shape[1] > 1 else pred.new_zeros(()),
    }
    total = sum(getattr(weights, name) * value for name, value in terms.items())
    return total, {name: value.detach() for name, value in terms.items()}
