"""The lifter's input encoding and the horizontal-flip augmentation.

Screen normalisation (MotionBERT / VideoPose3D convention): pixels are divided by the camera's own
image width, so x spans [-1, 1] and y keeps the aspect ratio::

    x = u / w * 2 - 1,    y = v / w * 2 - h / w

(the image centre maps to (0, 0)). A keypoint's input is (x, y, confidence). Functions take numpy
arrays or torch tensors with any leading batch shape.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np
import torch

from spine3d.errors import InputError
from spine3d.skeletons import Skeleton


def _size(image_size: Any, like: Any) -> tuple[Any, Any]:
    """(w, h) of ``image_size`` (..., 2) as arrays/tensors broadcastable against ``like[..., 0]``."""
    if isinstance(like, torch.Tensor):
        size = torch.as_tensor(image_size, dtype=like.dtype, device=like.device)
    else:
        size = np.asarray(image_size, dtype=np.result_type(like, np.float32))
    if size.shape[-1:] != (2,):
        raise InputError(f"image_size must be [width, height] (shape (..., 2)), got shape {tuple(size.shape)}")
    return size[..., 0], size[..., 1]


def _stack(a: Any, b: Any, like: Any) -> Any:
    return torch.stack([a, b], dim=-1) if isinstance(like, torch.Tensor) else np.stack([a, b], axis=-1)


def normalize_screen(uv: Any, image_size: Any) -> Any:
    """Pixels -> normalised screen coordinates.

    Args:
        uv: (..., 2) px.
        image_size: (2,) or (..., 2) [width, height] px.

    Returns:
        (..., 2): x = u / w * 2 - 1, y = v / w * 2 - h / w.
    """
    w, h = _size(image_size, uv)
    return _stack(uv[..., 0] / w * 2 - 1, uv[..., 1] / w * 2 - h / w, uv)


def denormalize_screen(xy: Any, image_size: Any) -> Any:
    """Inverse of :func:`normalize_screen`: (..., 2) normalised -> (..., 2) px."""
    w, h = _size(image_size, xy)
    return _stack((xy[..., 0] + 1) * w / 2, (xy[..., 1] + h / w) * w / 2, xy)


def make_inputs(uv: np.ndarray, conf: np.ndarray | None, image_size: Sequence[float] | np.ndarray) -> np.ndarray:
    """The lifter's input encoding of 2D keypoints (used for training data and by ``spine3d lift``).

    Args:
        uv: (..., T, J, 2) px; NaN for missing points.
        conf: (..., T, J) confidences in [0, 1], or None for ground truth (1 everywhere).
        image_size: (2,) [width, height] px of the camera.

    Returns:
        (..., T, J, 3) float32 [x, y, conf] with :func:`normalize_screen` coordinates; a missing point
        (non-finite uv or confidence) becomes (0, 0, 0).
    """
    uv = np.asarray(uv, dtype=np.float64)
    if uv.ndim < 2 or uv.shape[-1] != 2:
        raise InputError(f"2D keypoints must have shape (..., T, J, 2) px, got {uv.shape}")
    size = np.asarray(image_size, dtype=np.float64)
    if size.shape != (2,) or not np.all(np.isfinite(size)) or not np.all(size > 0):
        raise InputError(f"image_size must be [width, height] > 0, got {size.tolist()}")
    conf = np.ones(uv.shape[:-1]) if conf is None else np.asarray(conf, dtype=np.float64)
    if conf.shape != uv.shape[:-1]:
        raise InputError(f"confidences must have shape {uv.shape[:-1]} to match keypoints {uv.shape}, got {conf.shape}")
    ok = np.isfinite(uv).all(axis=-1) & np.isfinite(conf)
    out = np.zeros((*uv.shape[:-1], 3), dtype=np.float32)
    out[..., :2] = np.where(ok[..., None], normalize_screen(np.nan_to_num(uv), size), 0.0)
    out[..., 2] = np.where(ok, conf, 0.0)
    return out


def flip_keypoints(x: Any, skeleton: Skeleton, axis_value: Literal["x", "y"] = "x") -> Any:
    """Mirror keypoints: negate one coordinate and swap left/right joints (an involution).

    Works for 2D inputs (x, y, conf) in normalised screen coordinates (a mirror about the image's
    vertical centre line) and for 3D camera-frame targets (x, y, z) (a mirror in the camera's y-z
    plane): for a camera with cx = w / 2 and no distortion, projecting the flipped 3D gives the
    flipped 2D. Midline joints (Hip, Spine_*, Neck, Nose...) keep their index.

    Args:
        x: (..., J, D) numpy array or torch tensor, D >= 1 (>= 2 for ``"y"``).
        skeleton: layout of the J joints (``flip_permutation``).
        axis_value: channel negated: "x" (0, the horizontal flip) or "y" (1).

    Returns:
        A new array/tensor of the same shape and type.
    """
    channel = {"x": 0, "y": 1}.get(axis_value)
    if channel is None:
        raise InputError(f"axis_value must be 'x' or 'y', got {axis_value!r}")
    if x.ndim < 2 or x.shape[-2] != skeleton.num_joints or x.shape[-1] <= channel:
        raise InputError(f"flip_keypoints expects (..., {skeleton.num_joints}, D) for skeleton {skeleton.name}, "
                         f"got {tuple(x.shape)}")
    perm = skeleton.flip_permutation
    if isinstance(x, torch.Tensor):
        out = x.index_select(-2, torch.as_tensor(perm, device=x.device))
    else:
        out = np.asarray(x)[..., perm, :].copy()
    out[..., channel] = -out[..., channel]
    return out
