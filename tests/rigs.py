"""Camera rigs shared by the triangulation tests: every lens model the solvers handle, built from
the shipped Human3.6M cameras."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from spine3d.calibration import Camera, CameraRig, h36m_rig


def rational_rig() -> CameraRig:
    """Human3.6M S9 with OpenCV's rational terms k4..k6 added and a skewed first camera."""
    cams = [replace(c, dist=np.r_[c.dist, 0.02, -0.03, 0.01]) for c in h36m_rig("S9")]
    K = cams[0].K.copy()
    K[0, 1] = 3.0
    cams[0] = replace(cams[0], K=K)
    return CameraRig(tuple(cams))


def fisheye(cam):
    return replace(cam, model="fisheye", dist=np.array([0.05, -0.01, 0.002, 0.0]))


def mixed_rig() -> CameraRig:
    """Every lens group, out of model order: OpenCV, fisheye, none, Human3.6M, OpenCV."""
    s9, h36m = h36m_rig("S9"), h36m_rig("S9", model="h36m")
    return CameraRig((s9[0], fisheye(s9[1]), replace(s9[2], dist=np.zeros(5)), h36m[3],
                      replace(h36m_rig("S11")[0], name="S11-0")))


def strong_rig() -> CameraRig:
    """Strong barrel distortion (the radial map folds just outside the image) and large tangential terms."""
    return CameraRig(tuple(replace(c, dist=np.array([-0.3, 0.1, 0.004, -0.006, -0.02])) for c in h36m_rig("S5")))


RIGS = {"opencv": lambda: h36m_rig("S1"), "h36m": lambda: h36m_rig("S9", model="h36m"),
        "rational-skewed": rational_rig, "strong": strong_rig, "mixed": mixed_rig}


def ring_rig(angles_deg, radius: float = 4.0, height: float = 1.5) -> CameraRig:
    """Distortion-free 1000x1000 px cameras (f = 1000 px) on a circle, looking at (0, 0, 1)."""
    return CameraRig(tuple(
        Camera.looking_at(f"cam{i}", [radius * np.cos(a), radius * np.sin(a), height], [0.0, 0.0, 1.0])
        for i, a in enumerate(np.radians(angles_deg))))
