"""Pure projection functions: world -> camera -> normalised -> pixels, and back (numpy and torch).

Conventions (stated once for the toolkit): world frame Z-up in metres; x_cam = R x_world + t;
pixel origin at the top-left corner of the top-left pixel's centre, as in OpenCV. All functions take
any leading batch shape and work on numpy arrays or torch tensors (differentiable, any device);
camera parameters may be given as numpy arrays or tensors.
"""

from __future__ import annotations

from typing import Any

from spine3d.calibration.arrays import like, namespace
from spine3d.calibration.lens.model import DistortionModel, distort, undistort


def world_to_camera(points: Any, R: Any, t: Any) -> Any:
    """Rigid transform into the camera frame.

    Args:
        points: (..., 3) m, world frame.
        R: (3, 3) world->camera rotation.
        t: (3,) m, world->camera translation.

    Returns:
        (..., 3) m, camera frame (x right, y down, z forward).
    """
    return points @ like(R, points).T + like(t, points)


def camera_to_world(points: Any, R: Any, t: Any) -> Any:
    """Inverse of :func:`world_to_camera`: (..., 3) m camera frame -> (..., 3) m world frame."""
    return (points - like(t, points)) @ like(R, points)


def normalized_to_pixels(xy: Any, K: Any) -> Any:
    """(..., 2) normalised (distorted) coordinates -> (..., 2) px with intrinsics K (3, 3), skew included."""
    xp = namespace(xy)
    k = like(K, xy)
    u = k[0, 0] * xy[..., 0] + k[0, 1] * xy[..., 1] + k[0, 2]
    v = k[1, 1] * xy[..., 1] + k[1, 2]
    return xp.stack([u, v], axis=-1)


def pixels_to_normalized(uv: Any, K: Any) -> Any:
    """(..., 2) px -> (..., 2) normalised coordinates (still distorted) with intrinsics K (3, 3)."""
    xp = namespace(uv)
    k = like(K, uv)
    y = (uv[..., 1] - k[1, 2]) / k[1, 1]
    x = (uv[..., 0] - k[0, 2] - k[0, 1] * y) / k[0, 0]
    return xp.stack([x, y], axis=-1)


def project_camera_points(points_cam: Any, K: Any, dist: Any, model: DistortionModel = "pinhole") -> Any:
    """Project camera-frame points to pixels with lens distortion.

    Args:
        points_cam: (..., 3) m, camera frame. Points at or behind the camera (z <= 0) give
            meaningless pixels; callers that may see them should mask on z.
        K: (3, 3) intrinsics, px.
        dist: (D,) distortion coefficients of ``model``.
        model: distortion model (see :mod:`spine3d.calibration.lens.model`).

    Returns:
        (..., 2) px.
    """
    xy = points_cam[..., :2] / points_cam[..., 2:3]
    return normalized_to_pixels(distort(xy, dist, model), K)


def project_points(points_world: Any, K: Any, dist: Any, R: Any, t: Any, model: DistortionModel = "pinhole") -> Any:
    """World points -> pixels: ``K * distort((R X + t) / z)``; (..., 3) m -> (..., 2) px."""
    return project_camera_points(world_to_camera(points_world, R, t), K, dist, model)


def undistort_to_normalized(uv: Any, K: Any, dist: Any, model: DistortionModel = "pinhole") -> Any:
    """Distorted pixels (..., 2) px -> undistorted normalised coordinates (..., 2) (the ray x/z, y/z)."""
    return undistort(pixels_to_normalized(uv, K), dist, model)


def projection_matrix(K: Any, R: Any, t: Any) -> Any:
    """(3, 4) matrix P = K [R | t] mapping homogeneous world points to undistorted homogeneous pixels."""
    xp = namespace(R)
    Rt = xp.concat([like(R, R), xp.reshape(like(t, R), (3, 1))], axis=1)
    return like(K, R) @ Rt
