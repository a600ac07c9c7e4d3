"""Lift a 2D keypoint sequence of any length to 3D with a trained lifter.

The model sees windows of F frames. A sequence shorter than F is padded by repeating its last
frame; a longer one is cut into windows every ``stride`` frames (default: F minus a quarter of F of
overlap, so each frame costs ~1.33 window-frames), the last window aligned to the sequence end, run
in batches, and blended: each window's frames are weighted by a raised-cosine ramp over the overlap
(never 0), so every frame is the weighted mean of the windows covering it, window seams leave no
step, and frames near a window edge (less temporal context) count less. Optional flip test-time
augmentation averages the prediction with the un-flipped prediction of the mirrored input.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from spine3d.lifting.data import window_starts
from spine3d.lifting.normalize import flip_keypoints
from spine3d.errors import InputError
from spine3d.skeletons import Skeleton

logger = logging.getLogger(__name__)

OVERLAP = 0.25  # default overlap of consecutive windows, fraction of F


def default_stride(frames: int) -> int:
    """Frames between window starts for an overlap of ``OVERLAP`` x F (at least 1)."""
    return max(1, frames - int(round(OVERLAP * frames)))


def blend_weights(frames: int, overlap: int) -> np.ndarray:
    """(F,) window weights: a raised-cosine ramp over ``overlap`` frames at each end, 1 in between, > 0 everywhere."""
    ramp = max(1, min(overlap, frames // 2))
    i = np.arange(frames, dtype=np.float64)
    edge = np.minimum(i + 0.5, frames - 0.5 - i)  # distance to the nearer window end, in frames
    return (0.5 - 0.5 * np.cos(np.pi * np.clip(edge / ramp, 0.0, 1.0))).astype(np.float32)


def prepare_inputs(inputs: np.ndarray, num_joints: int, path: str | None = None) -> np.ndarray:
    """Validate model inputs and turn NaN keypoints into missing points (x = y = 0, confidence 0).

    Args:
        inputs: (T, J, 3) normalised screen x, y and confidence (see :func:`spine3d.lifting.data.make_inputs`);
            NaN in x, y or confidence marks a missing keypoint.
        num_joints: J expected by the model.
        path: file the inputs came from, for error messages.

    Returns:
        (T, J, 3) float32 without NaN. Raises InputError on a wrong shape, infinite values or a
        sequence in which every keypoint is missing.
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 3 or inputs.shape[1:] != (num_joints, 3) or inputs.shape[0] == 0:
        raise InputError(f"expected inputs of shape (T>=1, {num_joints}, 3) [x, y, confidence] for a model of "
                         f"{num_joints} keypoints, got {inputs.shape}", path)
    if np.isinf(inputs).any():
        raise InputError("inputs hold infinite values (use NaN for missing keypoints)", path)
    missing = np.isnan(inputs).any(-1)
    if missing.all():
        raise InputError("every keypoint of every frame is missing (NaN); nothing to lift", path)
    if missing.any():
        logger.info("%d of %d keypoints are missing (NaN): lifted with confidence 0", missing.sum(), missing.size)
    return np.where(missing[..., None], np.float32(0.0), inputs)


def lift_sequence(
    model: torch.nn.Module,
    inputs: np.ndarray,
    frames: int,
    flip_tta: bool,
    skeleton: Skeleton,
    stride: int | None = None,
    batch_size: int = 16,
) -> np.ndarray:
    """Lift one sequence, every frame scored.

    Args:
        model: a lifter mapping (B, F, J, 3) inputs to (B, F, J, 3) mm; run in eval mode on its own device.
        inputs: (T, J, 3) normalised screen x, y and confidence, any T >= 1 (NaN = missing keypoint).
        frames: F, the model's window length.
        flip_tta: also lift the mirrored input and average (horizontal-flip test-time augmentation).
        skeleton: layout of the J joints (flip pairs, root).
        stride: frames between window starts (default :func:`default_stride`).
        batch_size: windows per forward pass.

    Returns:
        (T, J, 3) float32 mm, camera frame, root-relative (the predicted root subtracted); NaN for the
        joints the model's training data lacked (``model.trained_joints``).
    """
    x = prepare_inputs(inputs, skeleton.num_joints)
    length = x.shape[0]
    padded = max(length, frames)
    x = x[np.minimum(np.arange(padded), length - 1)]  # repeat the last frame up to F
    stride = default_stride(frames) if stride is None else stride
    if stride < 1:
        raise InputError(f"window stride must be >= 1 frame, got {stride}")
    starts = window_starts(padded, frames, stride)
    index = starts[:, None] + np.arange(frames)  # (W, F)
    weights = torch.from_numpy(blend_weights(frames, frames - stride))
    pred = _run_windows(model, torch.from_numpy(x[index]), flip_tta, skeleton, batch_size)  # (W, F, J, 3)
    pred = pred - pred[..., skeleton.root : skeleton.root + 1, :]
    flat = torch.from_numpy(index.reshape(-1))
    weighted = (pred * weights[:, None, None]).flatten(0, 1)  # (W * F, J, 3)
    total = torch.zeros((padded, skeleton.num_joints, 3)).index_add_(0, flat, weighted)
    norm = torch.zeros(padded).index_add_(0, flat, weights.repeat(len(starts)))
    out = (total / norm[:, None, None])[:length].numpy()
    trained = getattr(model, "trained_joints", None)
    if trained is not None:  # joints without training data: unknown, not a guess
        out[:, ~trained.cpu().numpy()] = np.nan
    return out


@torch.inference_mode()
def _run_windows(model: torch.nn.Module, windows: torch.Tensor, flip_tta: bool, skeleton: Skeleton,
                 batch_size: int) -> torch.Tensor:
    """(W, F, J, 3) inputs -> (W, F, J, 3) mm predictions on the CPU, optionally flip-averaged."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        for chunk in torch.split(windows, batch_size):
            chunk = chunk.to(device)
            if flip_tta:
                both = model(torch.cat([chunk, flip_keypoints(chunk, skeleton)])).float()
                plain, mirrored = both.chunk(2)
                out.append(((plain + flip_keypoints(mirrored, skeleton)) / 2).cpu())
            else:
                out.append(model(chunk).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)
