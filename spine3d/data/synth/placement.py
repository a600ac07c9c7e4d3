"""Where the synthetic subject stands: the capture area seen by all cameras, floor contact, visibility.

The capture area of a rig is the set of floor positions (world x, y) whose vertical column from the
floor to COLUMN_TOP projects inside every image with a margin; generators receive an ellipse
inscribed in it (:class:`Area`) and place the person there. World frame Z-up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scipy.ndimage import gaussian_filter1d

from spine3d.calibration import CameraRig
from spine3d.data.synth.motion import soft_min

COLUMN_TOP = 2.0  # m, top of the column that must stay in view (the tallest head is 1.95 m)
MARGIN_PX = 30.0  # px, distance the column keeps from the image borders
CONTACT_TAU = 0.004  # m, temperature of the smooth minimum over the sole points
CONTACT_SMOOTHING = 0.04  # s, Gaussian smoothing of the floor contact over time


@dataclass(frozen=True)
class Area:
    """An elliptic floor area.

    Attributes:
        centre: (2,) m, world x, y.
        axes: (2, 2) unit row vectors: major axis, minor axis.
        radii: (2,) m, semi-axes along ``axes``.
    """

    centre: np.ndarray
    axes: np.ndarray
    radii: np.ndarray

    def to_world(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) coordinates in the unit disc -> (..., 2) m world x, y."""
        uv = np.asarray(uv, dtype=np.float64)
        return self.centre + (uv * self.radii) @ self.axes

    def scaled(self, factor: float) -> "Area":
        """The same ellipse with both semi-axes multiplied by ``factor``."""
        return replace(self, radii=self.radii * factor)


def in_view(rig: CameraRig, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(..., 3) m world points -> (...,) bool: in front of and inside every camera, ``margin`` px in."""
    ok = np.ones(points.shape[:-1], dtype=bool)
    for cam in rig.cameras:  # C = 4 cameras; each step is vectorised over the points
        w, h = cam.size
        cam_points = cam.world_to_camera(points)
        uv = cam.project_camera(cam_points)
        ideal = _pinhole(cam.K, cam_points)  # the lens polynomial can fold far-off points back into the image
        ok &= cam_points[..., 2] > 0.1
        ok &= (uv[..., 0] >= margin) & (uv[..., 0] <= w - margin) & (uv[..., 1] >= margin) & (uv[..., 1] <= h - margin)
        ok &= (np.abs(ideal[..., 0] - w / 2) < w) & (np.abs(ideal[..., 1] - h / 2) < h)
    return ok


def _pinhole(K: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
    """(..., 3) m camera frame -> (..., 2) px without distortion (z clamped away from 0)."""
    z = np.maximum(points_cam[..., 2:3], 1e-6)
    return points_cam[..., :2] / z * K[[0, 1], [0, 1]] + K[[0, 1], [2, 2]]


def capture_area(rig: CameraRig, extent: float = 4.0, step: float = 0.05) -> Area:
    """Largest PCA-aligned ellipse of floor positions whose column stays in view of every camera.

    Args:
        rig: the cameras (world frame Z-up, floor at z = 0).
        extent: half-size (m) of the square searched around the world origin.
        step: grid spacing (m).
    """
    xs = np.arange(-extent, extent + step / 2, step)
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    zs = np.linspace(0.0, COLUMN_TOP, 6)
    columns = np.stack(np.broadcast_arrays(gx[..., None], gy[..., None], zs), axis=-1)  # (X, Y, Z, 3)
    mask = in_view(rig, columns, MARGIN_PX).all(axis=-1)
    if not mask.any():
        raise ValueError(f"no floor position within {extent} m of the origin is seen by all cameras of {rig}")
    cells = np.stack([gx[mask], gy[mask]], axis=1)
    centre = cells.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(cells.T))
    axes, spread = evecs[:, ::-1].T, np.sqrt(evals[::-1])
    angles = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)

    def inside(k: float) -> bool:
        pts = Area(centre, axes, k * spread).to_world(ring)
        idx = np.round((pts + extent) / step).astype(int)
        if (idx < 0).any() or (idx >= len(xs)).any():
            return False
        return bool(mask[idx[:, 0], idx[:, 1]].all())

    lo, hi = 0.0, 4.0
    for _ in range(30):  # bisection on the scale of the ellipse
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if inside(mid) else (lo, mid)
    return Area(centre, axes, lo * spread)


def floor_lift(soles_up: np.ndarray, support: np.ndarray | None = None, smoothing: float = 0.0) -> np.ndarray:
    """Vertical shift (T,) m that puts the feet on the floor.

    Args:
        soles_up: (T, F, S) m heights above the floor of S sole points of F feet, before the shift.
        support: (T, F) weights of the feet bearing weight (a walking gait); None: the (smoothly)
            lowest sole point of all touches the floor (standing, sitting). With weights, each foot's
            own lift is blended, so the stance foot carries the body and a swinging foot is ignored.
        smoothing: standard deviation (frames) of a Gaussian filter over time, which rounds off the
            hand-over from heel to toe and from foot to foot (a few mm of floor contact for
            bounded pelvis acceleration).
    """
    if support is None:
        lift = -soft_min(soles_up.reshape(len(soles_up), -1), CONTACT_TAU, axis=1)
    else:
        per_foot = -soft_min(soles_up, CONTACT_TAU, axis=2)  # (T, F)
        lift = (per_foot * support).sum(axis=1) / np.maximum(support.sum(axis=1), 1e-9)
    return gaussian_filter1d(lift, smoothing, mode="nearest") if smoothing > 0 else lift


def planted_anchor(feet: np.ndarray, support: np.ndarray | None = None) -> np.ndarray:
    """Horizontal point (T, 2) m of the feet to hold on the plan's floor spot (the pelvis is shifted by minus it).

    Args:
        feet: (T, F, S, 2) m horizontal positions of S sole points of F feet, before the shift.
        support: (T, F) weights of the feet bearing weight; None: the mean of all sole points is the
            anchor (both feet flat). With weights, the anchor moves with the support-weighted mean
            velocity of the feet (integrated over time), so a foot carrying all the weight stays still
            while a raised one moves freely; it is offset so the weighted mean position of the feet is
            the anchor on average over time.
    """
    if support is None:
        return feet.reshape(len(feet), -1, feet.shape[-1]).mean(axis=1)
    centre = feet.mean(axis=2)  # (T, F, 2)
    w = support / np.maximum(support.sum(axis=1, keepdims=True), 1e-9)
    w_mid = 0.5 * (w[1:] + w[:-1])  # weights between frames
    step = (w_mid[..., None] * np.diff(centre, axis=0)).sum(axis=1)  # (T - 1, 2)
    drift = np.concatenate([np.zeros((1, centre.shape[-1])), np.cumsum(step, axis=0)])
    weighted = (w[..., None] * centre).sum(axis=1)
    return drift + (weighted - drift).mean(axis=0)
