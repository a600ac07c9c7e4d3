"""Per-frame alignment of predicted poses onto ground truth (numpy, vectorised over leading axes).

- :func:`procrustes_align`: similarity Procrustes (scale, proper rotation, translation), the
  alignment of Protocol #2 (P-MPJPE). Closed form of Umeyama, "Least-squares estimation of
  transformation parameters between two point patterns", IEEE TPAMI 13(4), 1991, eqs. 38-42:
  with centred points P (pred) and G (gt), M = P^T G = U S V^T, the best rotation (row-vector
  convention, aligned = s P R + mu_gt) is R = U D V^T with D = diag(1, 1, sign det(U V^T)),
  which forbids reflections, and the best scale is s = tr(D S) / ||P||_F^2.
- :func:`scale_align`: least-squares scale only, about the origin (VideoPose3D's N-MPJPE); meant
  for root-relative poses.

Missing joints (non-finite in pred or gt) take no part in estimating a frame's transform; the
transform is still applied to every finite pred joint. Frames with fewer than ``MIN_PROCRUSTES``
valid joints (or none, for the scale) come out all-NaN.
"""

from __future__ import annotations

import numpy as np

from spine3d.evaluation._validate import check_pair, valid_joints

MIN_PROCRUSTES = 3  # 3 non-collinear points fix a rotation; fewer leave it undetermined


def procrustes_align(pred: np.ndarray, gt: np.ndarray, scale: bool = True) -> np.ndarray:
    """Align each frame of ``pred`` to ``gt`` by a similarity (or rigid) transform without reflection.

    Args:
        pred: (..., J, 3) predicted keypoints, any length unit.
        gt: (..., J, 3) ground truth in the same unit and frame.
        scale: estimate the scale too (similarity); False gives a rigid (rotation + translation) fit.

    Returns:
        (..., J, 3) float64 aligned prediction; NaN where pred is non-finite and for whole frames
        with fewer than 3 valid joints.

    Raises:
        InputError: shapes differ or are not (..., J, 3).
    """
    pred, gt = check_pair(pred, gt, "procrustes_align")
    valid = valid_joints(pred, gt)
    aligned, _ = _procrustes(pred, gt, valid, scale)
    return aligned


def scale_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Scale each frame of ``pred`` by the least-squares factor s = sum(p . g) / sum(p . p).

    Args:
        pred: (..., J, 3) predicted keypoints (root-relative: the scale is about the origin).
        gt: (..., J, 3) ground truth in the same unit and frame.

    Returns:
        (..., J, 3) float64 scaled prediction; whole frames without a valid joint are NaN.
    """
    pred, gt = check_pair(pred, gt, "scale_align")
    aligned, _ = _scale(pred, gt, valid_joints(pred, gt))
    return aligned


def _procrustes(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, scale: bool) -> tuple[np.ndarray, np.ndarray]:
    """Similarity fit on the ``valid`` (..., J) joints; returns (aligned (..., J, 3), frame_ok (...,))."""
    w = valid[..., None].astype(pred.dtype)  # (..., J, 1) 0/1 weights
    n = w.sum(-2, keepdims=True)  # (..., 1, 1) valid joints per frame
    frame_ok = n[..., 0, 0] >= MIN_PROCRUSTES
    p0 = np.where(valid[..., None], pred, 0.0)  # zero the missing joints so NaN cannot leak into sums
    g0 = np.where(valid[..., None], gt, 0.0)
    mu_p = p0.sum(-2, keepdims=True) / np.maximum(n, 1)
    mu_g = g0.sum(-2, keepdims=True) / np.maximum(n, 1)
    p_c = (p0 - mu_p) * w
    g_c = (g0 - mu_g) * w
    m = np.swapaxes(p_c, -1, -2) @ g_c  # (..., 3, 3)
    u, s, vt = np.linalg.svd(m)
    d = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)  # reflection fix: flip the weakest axis
    s = s.copy()
    s[..., -1] *= d
    u = u.copy()
    u[..., :, -1] *= d[..., None]
    rot = u @ vt  # (..., 3, 3), det +1
    if scale:
        norm = (p_c**2).sum((-2, -1))
        # A frame whose valid pred joints coincide (norm 0) is best served by s = 0 (everything at mu_gt).
        factor = s.sum(-1) / np.where(norm > 0, norm, 1.0)
    else:
        factor = np.ones(pred.shape[:-2], dtype=pred.dtype)
    aligned = factor[..., None, None] * ((pred - mu_p) @ rot) + mu_g
    aligned = np.where(frame_ok[..., None, None], aligned, np.nan)
    return aligned, frame_ok


def _scale(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares scale about the origin on the ``valid`` joints; returns (aligned, frame_ok)."""
    p0 = np.where(valid[..., None], pred, 0.0)
    g0 = np.where(valid[..., None], gt, 0.0)
    num = (p0 * g0).sum((-2, -1))
    den = (p0 * p0).sum((-2, -1))
    frame_ok = valid.any(-1)
    factor = num / np.where(den > 0, den, 1.0)  # all-zero pred: s = 0
    aligned = np.where(frame_ok[..., None, None], factor[..., None, None] * pred, np.nan)
    return aligned, frame_ok
