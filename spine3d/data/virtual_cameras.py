"""Random virtual cameras around a 3D sequence: viewpoints that the four Human3.6M cameras never give.

A lifter trained only on Human3.6M's rig learns its four viewpoints (about 1.6 m high, 4-6 m away,
pitched slightly down, landscape 1000 x 1000-ish images). Real users film from a tripod at hip height,
from above, in portrait, with a phone's wide lens or a telephoto. :func:`random_cameras` draws such
cameras for one sequence so that the lifter's training items cover them:

- position: a random azimuth around the sequence's mean position, a horizontal distance and a height
  drawn from :class:`VirtualCameras` (the distance grows where the subject walks about, so every frame
  stays in front of the camera);
- orientation: looking at the sequence's centre (pitch follows from the height), plus a random roll;
- image: a landscape or portrait size, principal point at the image centre, no distortion;
- focal length: chosen so that the sequence's points fill a random fraction of the image (``fill``),
  i.e. the person is small or large in the frame whatever the distance.

Deterministic in the ``rng`` passed; world frame Z-up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.calibration import Camera
from spine3d.errors import InputError

__all__ = ["VirtualCameras", "random_cameras", "look_at"]

MIN_DEPTH = 0.5  # m, the nearest a point of the sequence may be to a virtual camera (along its axis)


@dataclass
class VirtualCameras:
    """Ranges of the random cameras added to each training sequence (``DataConfig.virtual_cameras``).

    Attributes:
        count: cameras per training sequence, besides the sequence's own rig (0: none).
        distance: [min, max] horizontal distance from the sequence's mean position, m.
        height: [min, max] camera height above the floor, m.
        roll: the roll is drawn uniformly in [-roll, roll], deg.
        fill: [min, max] fraction of the image's shorter side that the sequence's points span.
        portrait: probability of a portrait image.
        sizes: landscape image sizes [width, height] px to draw from (portrait swaps them).
    """

    count: int = 0
    distance: tuple[float, float] = (2.0, 8.0)
    height: tuple[float, float] = (0.3, 2.8)
    roll: float = 8.0
    fill: tuple[float, float] = (0.35, 0.9)
    portrait: float = 0.4
    sizes: tuple[tuple[int, int], ...] = ((1920, 1080), (1280, 720), (1000, 1000), (640, 480))

    def __post_init__(self) -> None:
        if self.count < 0:
            raise InputError(f"virtual_cameras.count must be >= 0, got {self.count}")
        for name, low in (("distance", 0.5), ("height", -5.0), ("fill", 0.01)):
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not low <= lo_hi[0] <= lo_hi[1]:
                raise InputError(f"virtual_cameras.{name} must be [min, max] with {low} <= min <= max, got {lo_hi}")
        if self.fill[1] > 1.0 or not 0 <= self.portrait <= 1 or not 0 <= self.roll < 90:
            raise InputError("virtual_cameras: fill must be <= 1, portrait in [0, 1] and roll in [0, 90) deg")
        if not self.sizes or any(len(s) != 2 or min(s) < 16 for s in self.sizes):
            raise InputError(f"virtual_cameras.sizes must be [[width, height], ...] px >= 16, got {self.sizes}")


def look_at(centre: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """World->camera rotation and translation of a camera at ``centre`` looking at ``target``.

    Args:
        centre, target: (3,) m, world frame Z-up; not vertically above one another.
        roll_deg: rotation about the optical axis, deg (positive: image turns clockwise).

    Returns:
        R (3, 3) and t (3,) m with x_cam = R x_world + t; camera x right, y down, z forward.
    """
    forward = np.asarray(target, float) - np.asarray(centre, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-6:
        raise InputError("look_at: the camera looks straight up or down; its roll is undefined")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    a = np.radians(roll_deg)
    roll = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    R = roll @ np.stack([right, down, forward])
    return R, -R @ np.asarray(centre, float)


def random_cameras(world: np.ndarray, ranges: VirtualCameras, rng: np.random.Generator,
                   prefix: str = "virtual") -> list[Camera]:
    """``ranges.count`` random pinhole cameras that see every point of a sequence.

    Args:
        world: (T, J, 3) m, world frame Z-up (NaN for missing points).
        ranges: what to draw (see :class:`VirtualCameras`).
        rng: the random source (seed it per sequence for reproducible data).
        prefix: camera names are ``f"{prefix}_{k}"``.

    Returns:
        The cameras; each has the whole sequence in front of it and inside its image.
    """
    pts = np.asarray(world, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        raise InputError("random_cameras: the sequence has no finite 3D point")
    centre = pts.mean(axis=0)
    reach = np.linalg.norm(pts[:, :2] - centre[:2], axis=1).max()  # how far the subject strays, m
    return [_one_camera(pts, centre, reach, ranges, rng, f"{prefix}_{k}") for k in range(ranges.count)]


def _one_camera(pts: np.ndarray, centre: np.ndarray, reach: float, ranges: VirtualCameras,
                rng: np.random.Generator, name: str) -> Camera:
    """One draw of :func:`random_cameras`. pts: (N, 3) m world; centre: (3,) m; reach: m."""
    azimuth, height, roll = rng.uniform(0.0, 2 * np.pi), rng.uniform(*ranges.height), rng.uniform(-ranges.roll, ranges.roll)
    distance = max(rng.uniform(*ranges.distance), reach + 1.0)
    size = np.array(ranges.sizes[rng.integers(len(ranges.sizes))], dtype=np.float64)
    if rng.random() < ranges.portrait:
        size = size[::-1].copy()
    for _ in range(20):  # step back until every point is at least MIN_DEPTH in front of the camera
        position = np.array([centre[0] + distance * np.cos(azimuth), centre[1] + distance * np.sin(azimuth), height])
        R, t = look_at(position, centre, roll)
        cam = pts @ R.T + t  # (N, 3) camera frame
        if cam[:, 2].min() >= MIN_DEPTH:
            break
        distance *= 1.3
    slope = np.abs(cam[:, :2] / cam[:, 2:]).max(axis=0)  # (2,) largest |x/z|, |y/z|
    fill = rng.uniform(*ranges.fill)
    focal = fill * size.min() / 2 / max(slope.max(), 1e-6)  # the widest half-extent spans fill / 2 of the short side
    focal = min(focal, 0.98 * (size / 2 / np.maximum(slope, 1e-6)).min())  # and never leaves the image
    K = np.array([[focal, 0.0, size[0] / 2], [0.0, focal, size[1] / 2], [0.0, 0.0, 1.0]])
    return Camera(name, size, K, np.zeros(5), R, t)
