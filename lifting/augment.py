"""Missing-keypoint augmentation of training windows (:class:`spine3d.data.config.AugmentConfig`).

Real inputs lack joints in patterns: a whole layout's worth (a BODY_25B detector has no vertebrae),
a joint for a stretch of frames (occluded), single points, whole frames (the detector found nobody),
and their confidences are rarely 1. :class:`MissingPoints` draws such patterns for one window;
a missing point becomes (0, 0, 0) as in :func:`spine3d.lifting.normalize.make_inputs`.
"""

from __future__ import annotations

import numpy as np

from spine3d.data.config import AugmentConfig
from spine3d.skeletons import Skeleton, get_skeleton

MIN_CONFIDENCE = 0.05  # a point still seen never drops below this confidence


class MissingPoints:
    """Draws missing points for windows in ``skeleton``'s layout.

    Args:
        cfg: what to draw.
        skeleton: the model's layout (the J joints of the inputs).
    """

    def __init__(self, cfg: AugmentConfig, skeleton: Skeleton) -> None:
        self.cfg = cfg
        self.layout_masks = np.stack([get_skeleton(name).provides(skeleton) for name in cfg.layouts]) \
            if cfg.layouts else np.ones((1, skeleton.num_joints), bool)  # (L, J) joints each layout provides

    @property
    def active(self) -> bool:
        c = self.cfg
        return bool(c.layout_prob or c.joint_dropout or c.point_dropout or c.frame_dropout
                    or c.confidence != (1.0, 1.0))

    def keep(self, frames: int, rng: np.random.Generator) -> np.ndarray:
        """(F, J) bool: the points a window keeps."""
        c, joints = self.cfg, self.layout_masks.shape[1]
        keep = np.ones((frames, joints), bool)
        if rng.random() < c.layout_prob:
            keep &= self.layout_masks[rng.integers(len(self.layout_masks))]
        keep &= rng.random(joints) >= c.joint_dropout
        keep &= rng.random((frames, joints)) >= c.point_dropout
        keep &= (rng.random(frames) >= c.frame_dropout)[:, None]
        return keep

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment one window.

        Args:
            x: (F, J, 3) float32 [x, y, conf] lifter inputs.
            rng: the window's random source.

        Returns:
            (F, J, 3) float32, a new array: dropped points (0, 0, 0), the others' confidence scaled.
        """
        keep = self.keep(len(x), rng)
        scale = rng.uniform(*self.cfg.confidence, size=keep.shape)
        out = np.where(keep[..., None], x, np.float32(0.0)).astype(np.float32)
        seen = out[..., 2] > 0
        out[..., 2] = np.where(seen, np.clip(out[..., 2] * scale, MIN_CONFIDENCE, 1.0), 0.0)
        return out
