"""2D keypoints in a plain npz: the exchange format between detectors, the lifter and the triangulator.

Keys:
    keypoints   (T, J, 2|3) or (C, T, J, 2|3) px, origin top-left; an optional third channel is
                the confidence. NaN marks a missing keypoint.
    confidence  optional (T, J) or (C, T, J) in [0, 1] (must agree with a third channel if both exist).
    image_size  optional [width, height] px, (2,) or (C, 2) (one per camera).
    skeleton    optional layout name (see ``spine3d.skeletons.get_skeleton``); J must match it.
Other keys are passed through unchanged.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.npz import read_npz_arrays
from spine3d.io import atomic_path
from spine3d.skeletons import get_skeleton


def validate_keypoints(arrays: dict[str, Any], path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Check a keypoints dict (see module doc); returns a copy with float arrays and ``skeleton`` as str."""
    if "keypoints" not in arrays:
        raise InputError(f"missing key 'keypoints' (keys: {', '.join(arrays) or 'none'})", path)
    out = dict(arrays)
    kp = _float_array(arrays["keypoints"], "keypoints", path)
    if kp.ndim not in (3, 4) or kp.shape[-1] not in (2, 3):
        raise InputError(f"'keypoints' has shape {kp.shape}, expected (T, J, 2|3) or (C, T, J, 2|3)", path)
    if kp.shape[-3] == 0 or kp.shape[-2] == 0:
        raise InputError(f"'keypoints' holds no {'frames' if kp.shape[-3] == 0 else 'joints'} (shape {kp.shape})", path)
    out["keypoints"] = kp
    if "confidence" in arrays:
        conf = _float_array(arrays["confidence"], "confidence", path)
        if conf.shape != kp.shape[:-1]:
            raise InputError(f"'confidence' has shape {conf.shape}, expected {kp.shape[:-1]} (keypoints' leading "
                             "axes)", path)
        if kp.shape[-1] == 3 and not np.allclose(conf, kp[..., 2], equal_nan=True):
            raise InputError("'confidence' disagrees with the third channel of 'keypoints'; keep one", path)
        out["confidence"] = conf
    confidence = out.get("confidence", kp[..., 2] if kp.shape[-1] == 3 else None)
    if confidence is not None and (confidence < 0).any():
        raise InputError(f"negative confidence {np.nanmin(confidence):g} (confidences are in [0, 1])", path)
    if "image_size" in arrays:
        size = _float_array(arrays["image_size"], "image_size", path)
        cams = kp.shape[0] if kp.ndim == 4 else None
        if size.shape not in ((2,), (cams, 2)) or not (size > 0).all():
            wanted = "(2,)" if cams is None else f"(2,) or ({cams}, 2)"
            raise InputError(f"'image_size' must be positive [width, height] of shape {wanted}, got {size.shape}",
                             path)
        out["image_size"] = size
    if "skeleton" in arrays:
        name = str(np.asarray(arrays["skeleton"]).item()) if np.size(arrays["skeleton"]) == 1 else None
        if name is None:
            raise InputError("'skeleton' must be a single layout name", path)
        try:
            skeleton = get_skeleton(name)
        except InputError as exc:
            raise InputError(str(exc), path) from exc
        if skeleton.num_joints != kp.shape[-2]:
            raise InputError(f"'keypoints' has {kp.shape[-2]} joints but skeleton {skeleton.name} has "
                             f"{skeleton.num_joints}", path)
        out["skeleton"] = name
    return out


def _float_array(value: Any, key: str, path) -> np.ndarray:
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InputError(f"'{key}' must be numeric, got dtype {array.dtype}", path)
    array = array.astype(np.result_type(array.dtype, np.float32), copy=False)
    if np.isinf(array).any():
        raise InputError(f"'{key}' holds infinite values (use NaN for missing)", path)
    return array


def read_keypoints_npz(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a keypoints npz (see module doc); returns a dict of arrays (``skeleton`` as str)."""
    return validate_keypoints(read_npz_arrays(path, "a 'keypoints' key"), path)


def split_confidence(keypoints: np.ndarray, confidence: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The one default-confidence rule of every keypoints reader.

    Args:
        keypoints: (..., J, 2|3) px; an optional third channel is the confidence.
        confidence: (..., J) optional separate confidences (they win over a third channel).

    Returns:
        uv (..., J, 2) float64 px and confidence (..., J) float64: the given one, else the third
        channel, else 1 wherever the point is finite; 0 wherever u or v is not finite, and for a
        non-finite confidence.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    uv = kp[..., :2]
    if confidence is None:
        confidence = kp[..., 2] if kp.shape[-1] == 3 else np.ones(kp.shape[:-1])
    conf = np.asarray(confidence, dtype=np.float64)
    seen = np.isfinite(uv).all(axis=-1) & np.isfinite(conf)
    return uv, np.where(seen, conf, 0.0)


def write_keypoints_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """Validate and write keypoints (see module doc) to an npz, atomically (compressed)."""
    checked = validate_keypoints(arrays, path)
    if "skeleton" in checked:
        checked["skeleton"] = np.array(checked["skeleton"])
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **checked)
