"""The 2D a camera sees of a 3D sequence under an input protocol ("gt" or "detected").

Shared by the lifter's data (:mod:`spine3d.lifting.data`) and the multi-view benchmark, so both see
the same draws of the detector-noise model for the same (subject, action, camera).
"""

from __future__ import annotations

import numpy as np

from spine3d.calibration import Camera
from spine3d.data.config import DataConfig
from spine3d.data.detections import DetectionsFile
from spine3d.data.detector_noise import apply_detector_noise, derive_seed
from spine3d.skeletons import Skeleton


def camera_keypoints(world: np.ndarray, camera: Camera, skeleton: Skeleton, cfg: DataConfig, subject: str,
                     action: str, detections: DetectionsFile | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 2D one camera sees of a sequence under ``cfg.protocol``: (T, J, 2) px and (T, J) confidence.

    ``world``: (T, J, 3) m, world frame. "gt": exact projection, confidence 1 (0 where the 3D point is
    missing). "detected": the detections file when given, else the seeded detector-noise model (the
    same draws for the lifter and for the multi-view benchmark).
    """
    if detections is not None:
        return detections.get(subject, action, camera.name, len(world))
    uv = camera.project(np.asarray(world, dtype=np.float64))
    if cfg.protocol == "gt":
        return uv, np.isfinite(uv).all(axis=-1).astype(np.float64)
    seed = derive_seed(cfg.noise.seed, subject, action, camera.name)
    return apply_detector_noise(uv, skeleton, cfg.noise, seed, image_size=camera.size)
