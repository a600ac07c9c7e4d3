"""Bone-length steadiness: how much rigid limb segments change length over a trial.

A limb segment (upper arm, forearm, thigh, shank) is rigid, so the standard deviation of its
length over the frames of a trial measures the noise of the reconstruction along it, without any
ground truth. A low reprojection error does not imply steady 3D: fitting each frame's noise with
a different small view subset can lower the error and make the points jump.
"""

from __future__ import annotations

import numpy as np

from spine3d.skeletons import Skeleton

LIMB_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("LShoulder", "LElbow"), ("RShoulder", "RElbow"),  # upper arms
    ("LElbow", "LWrist"), ("RElbow", "RWrist"),  # forearms
    ("LHip", "LKnee"), ("RHip", "RKnee"),  # thighs
    ("LKnee", "LAnkle"), ("RKnee", "RAnkle"),  # shanks
)


def segment_length_std(points: np.ndarray, skeleton: Skeleton,
                       segments: tuple[tuple[str, str], ...] = LIMB_SEGMENTS) -> dict[str, float]:
    """Standard deviation over frames of each segment's length.

    Args:
        points: (T, J, 3) m, in ``skeleton``'s joint order; NaN = missing.
        skeleton: the layout (joints found by their own or canonical names).
        segments: (parent, child) joint names.

    Returns:
        {"LShoulder-LElbow": std in mm, ...} over the frames where both ends are finite (NaN when
        fewer than two such frames); segments whose joints the layout lacks are left out.
    """
    out = {}
    for a, b in segments:  # loop over the 8 segments
        try:
            i, j = skeleton.index(a), skeleton.index(b)
        except KeyError:
            continue
        length = np.linalg.norm(points[:, i] - points[:, j], axis=-1)
        length = length[np.isfinite(length)]
        out[f"{a}-{b}"] = 1000.0 * float(length.std()) if length.size >= 2 else float("nan")
    return out


def steadiness_summary(points: np.ndarray, skeleton: Skeleton) -> dict[str, float | dict[str, float]]:
    """Median and max over the limb segments of :func:`segment_length_std` (mm), and the per-segment values."""
    per_segment = segment_length_std(points, skeleton)
    values = np.array([v for v in per_segment.values() if np.isfinite(v)])
    return {"median_mm": float(np.median(values)) if values.size else float("nan"),
            "max_mm": float(values.max()) if values.size else float("nan"), "per_segment_mm": per_segment}
