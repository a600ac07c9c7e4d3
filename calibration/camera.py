"""A calibrated camera: intrinsics, lens distortion and pose, with projection in numpy or torch."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from spine3d.calibration import projection as proj
from spine3d.calibration.lens.model import MODELS, DistortionModel
from spine3d.calibration.rotations import rotmat_to_rotvec, rotvec_to_rotmat
from spine3d.errors import InputError


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera (OpenCV conventions; x_cam = R x_world + t).

    Attributes:
        name: camera identifier (e.g. ``"cam_01"`` or the Human3.6M id ``"54138969"``).
        size: (2,) image [width, height], px.
        K: (3, 3) intrinsic matrix, px.
        dist: (D,) distortion coefficients of ``model`` (OpenCV order for "pinhole").
        R: (3, 3) world->camera rotation.
        t: (3,) world->camera translation, m.
        model: "pinhole" (OpenCV k1 k2 p1 p2 [k3 ...]), "fisheye" (OpenCV k1..k4) or "h36m".
    """

    name: str
    size: np.ndarray
    K: np.ndarray
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))
    model: DistortionModel = "pinhole"
    rotation_vector: np.ndarray | None = field(default=None, repr=False)  # as read from a file, for exact round trips

    def __post_init__(self) -> None:
        for attr, shape in (("size", (2,)), ("K", (3, 3)), ("R", (3, 3)), ("t", (3,))):
            value = np.asarray(getattr(self, attr), dtype=np.float64)
            if value.shape != shape:
                raise InputError(f"camera {self.name}: {attr} must have shape {shape}, got {value.shape}")
            object.__setattr__(self, attr, value)
        dist = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        object.__setattr__(self, "dist", dist)
        if self.model not in MODELS:
            raise InputError(f"camera {self.name}: unknown distortion model {self.model!r}; expected {MODELS}")
        limit = {"pinhole": 8, "fisheye": 4, "h36m": 5}[self.model]
        if dist.size > limit:
            raise InputError(f"camera {self.name}: {self.model} takes at most {limit} distortion coefficients, got {dist.size}")
        for attr in ("size", "K", "dist", "R", "t"):
            if not np.all(np.isfinite(getattr(self, attr))):
                raise InputError(f"camera {self.name}: {attr} has non-finite values")
        if abs(np.linalg.det(self.R) - 1.0) > 1e-6 or not np.allclose(self.R @ self.R.T, np.eye(3), atol=1e-6):
            raise InputError(f"camera {self.name}: R is not a rotation matrix")
        if self.K[0, 0] <= 0 or self.K[1, 1] <= 0:
            raise InputError(f"camera {self.name}: focal lengths in K must be positive, got {self.K[0, 0]}, {self.K[1, 1]}")
        if self.K[1, 0] != 0 or self.K[2, 0] != 0 or self.K[2, 1] != 0 or self.K[2, 2] != 1:
            raise InputError(f"camera {self.name}: K must be upper-triangular with last row [0, 0, 1], got rows "
                             f"{self.K[1].tolist()}, {self.K[2].tolist()}")
        if not (self.size > 0).all():
            raise InputError(f"camera {self.name}: size must be positive [width, height] px, got {self.size.tolist()}")

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_rvec(cls, name: str, size: Any, K: Any, dist: Any, rvec: Any, t: Any,
                  model: DistortionModel = "pinhole") -> "Camera":
        """Build from a Rodrigues rotation vector (3,) rad, as stored in calibration TOMLs."""
        rvec = np.asarray(rvec, dtype=np.float64).reshape(3)
        return cls(name, size, K, dist, rotvec_to_rotmat(rvec), t, model, rotation_vector=rvec)

    @classmethod
    def looking_at(cls, name: str, center: Any, target: Any, focal: float = 1000.0, size: Any = (1000, 1000),
                   up: Any = (0.0, 0.0, 1.0)) -> "Camera":
        """A distortion-free camera at ``center`` (3,) m whose optical axis passes through ``target``
        (3,) m, image x to the right and y down with ``up`` (3,) (world, default Z-up) upwards;
        ``focal`` px, principal point at the image centre of ``size`` (2,) px."""
        center, target = np.asarray(center, dtype=np.float64), np.asarray(target, dtype=np.float64)
        forward = target - center
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, np.asarray(up, dtype=np.float64))
        if np.linalg.norm(right) < 1e-9:
            raise InputError(f"camera {name}: looking along the up direction {up}; give another up vector")
        right /= np.linalg.norm(right)
        R = np.stack([right, np.cross(forward, right), forward])  # rows: camera x, y, z in world axes
        w, h = np.asarray(size, dtype=np.float64)
        K = np.array([[focal, 0.0, w / 2], [0.0, focal, h / 2], [0.0, 0.0, 1.0]])
        return cls(name, (w, h), K, np.zeros(5), R, -R @ center)

    def with_pose(self, R: Any, t: Any) -> "Camera":
        """A copy with another pose (R (3, 3), t (3,) m)."""
        return replace(self, R=np.asarray(R, dtype=np.float64), t=np.asarray(t, dtype=np.float64), rotation_vector=None)

    # -- derived quantities ---------------------------------------------------------------------
    @property
    def rvec(self) -> np.ndarray:
        """(3,) Rodrigues vector of R, rad (the file's own vector when the camera was read from one)."""
        return self.rotation_vector if self.rotation_vector is not None else rotmat_to_rotvec(self.R)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates, m (= -R^T t)."""
        return -self.R.T @ self.t

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix K [R | t] for undistorted pixels."""
        return proj.projection_matrix(self.K, self.R, self.t)

    # -- geometry -------------------------------------------------------------------------------
    def world_to_camera(self, points: Any) -> Any:
        """(..., 3) m world -> (..., 3) m camera frame (numpy or torch)."""
        return proj.world_to_camera(points, self.R, self.t)

    def camera_to_world(self, points: Any) -> Any:
        """(..., 3) m camera frame -> (..., 3) m world (numpy or torch)."""
        return proj.camera_to_world(points, self.R, self.t)

    def project(self, points_world: Any) -> Any:
        """(..., 3) m world -> (..., 2) px with distortion (numpy or differentiable torch)."""
        return proj.project_points(points_world, self.K, self.dist, self.R, self.t, self.model)

    def project_camera(self, points_cam: Any) -> Any:
        """(..., 3) m camera frame -> (..., 2) px with distortion."""
        return proj.project_camera_points(points_cam, self.K, self.dist, self.model)

    def undistort_normalized(self, uv: Any) -> Any:
        """(..., 2) distorted px -> (..., 2) undistorted normalised coordinates (x/z, y/z)."""
        return proj.undistort_to_normalized(uv, self.K, self.dist, self.model)

    def undistort_pixels(self, uv: Any) -> Any:
        """(..., 2) distorted px -> (..., 2) px of an ideal distortion-free camera with the same K."""
        return proj.normalized_to_pixels(self.undistort_normalized(uv), self.K)

    def in_image(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) px -> (...,) bool: inside [0, width) x [0, height)."""
        uv = np.asarray(uv)
        return (uv[..., 0] >= 0) & (uv[..., 0] < self.size[0]) & (uv[..., 1] >= 0) & (uv[..., 1] < self.size[1])

    def __repr__(self) -> str:
        f = self.K[0, 0], self.K[1, 1]
        return (f"Camera({self.name!r}, size={self.size.astype(int).tolist()}, f=({f[0]:.1f}, {f[1]:.1f}), "
                f"model={self.model!r}, center={np.round(self.center, 3).tolist()})")
