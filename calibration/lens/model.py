"""Lens distortion models on normalised image coordinates (numpy and torch, any batch shape).

Three models, named by :data:`DistortionModel`:

- ``"pinhole"``: OpenCV's Brown-Conrady model, coefficients (k1, k2, p1, p2[, k3[, k4, k5, k6]])
  (the rational k4..k6 terms divide the radial factor, as in ``cv2.projectPoints``).
- ``"fisheye"``: OpenCV's equidistant fisheye model, coefficients (k1, k2, k3, k4) (``cv2.fisheye``).
- ``"h36m"``: Human3.6M's own convention, coefficients (k1, k2, p1, p2, k3) with
  ``x_d = x (radial + p1 y + p2 x) + p2 r^2`` and ``y_d = y (radial + p1 y + p2 x) + p1 r^2``
  (the dataset's 2D annotations were made with it; OpenCV's tangential terms differ by ~0.2 px).

Normalised coordinates are x = X/Z, y = Y/Z in the camera frame.
"""

from __future__ import annotations

from typing import Any, Literal

from spine3d.calibration.arrays import device_kwargs, like, namespace

DistortionModel = Literal["pinhole", "fisheye", "h36m"]
MODELS: tuple[str, ...] = ("pinhole", "fisheye", "h36m")


def _coeffs(dist: Any, ref: Any, count: int) -> list:
    """Distortion coefficients as ``count`` scalars of ``ref``'s array type, zero-padded."""
    d = like(dist, ref).reshape(-1)
    n = d.shape[0]
    if n > count:
        raise ValueError(f"expected at most {count} distortion coefficients, got {n}")
    return [d[i] for i in range(n)] + [0.0] * (count - n)


def distort(xy: Any, dist: Any, model: DistortionModel = "pinhole") -> Any:
    """Apply lens distortion to normalised coordinates.

    Args:
        xy: (..., 2) undistorted normalised coordinates (X/Z, Y/Z).
        dist: (D,) coefficients of ``model`` (see module docstring); fewer than the model's count
            are zero-padded.
        model: "pinhole" (OpenCV), "fisheye" (OpenCV fisheye) or "h36m".

    Returns:
        (..., 2) distorted normalised coordinates, same array type as ``xy``.
    """
    xp = namespace(xy)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    if model == "pinhole":
        k1, k2, p1, p2, k3, k4, k5, k6 = _coeffs(dist, x, 8)
        radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    elif model == "h36m":
        k1, k2, p1, p2, k3 = _coeffs(dist, x, 5)
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        tan = p1 * y + p2 * x
        xd = x * (radial + tan) + p2 * r2
        yd = y * (radial + tan) + p1 * r2
    elif model == "fisheye":
        k1, k2, k3, k4 = _coeffs(dist, x, 4)
        small = r2 < 1e-16
        r = xp.sqrt(xp.where(small, xp.ones_like(r2), r2))
        theta = xp.atan(r)
        t2 = theta * theta
        theta_d = theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
        # theta_d / r -> 1 as r -> 0 (keeps the gradient finite at the optical axis)
        scale = xp.where(small, xp.ones_like(r2), theta_d / r)
        xd, yd = x * scale, y * scale
    else:
        raise ValueError(f"unknown distortion model {model!r}; expected one of {MODELS}")
    return xp.stack([xd, yd], axis=-1)


def undistort(xy_distorted: Any, dist: Any, model: DistortionModel = "pinhole", iterations: int = 12) -> Any:
    """Invert :func:`distort` by Newton's method (vectorised; same code for every model).

    The Jacobian of the distortion map is taken by central differences; the residual is exact, so
    the fixed point is the exact inverse and convergence is quadratic for the small distortions of
    real lenses (residual < 1e-12 in 4-6 iterations). Starts from the distorted point.

    Args:
        xy_distorted: (..., 2) distorted normalised coordinates.
        dist: (D,) distortion coefficients of ``model``.
        model: distortion model, as in :func:`distort`.
        iterations: Newton steps.

    Returns:
        (..., 2) undistorted normalised coordinates.
    """
    xp = namespace(xy_distorted)
    target = xy_distorted
    xy = xy_distorted
    h = 1e-6
    ex = xp.asarray([h, 0.0], dtype=xy.dtype, **device_kwargs(xy))
    ey = xp.asarray([0.0, h], dtype=xy.dtype, **device_kwargs(xy))
    for _ in range(iterations):  # loop over Newton steps, not over points
        f = distort(xy, dist, model) - target
        jx = (distort(xy + ex, dist, model) - distort(xy - ex, dist, model)) / (2 * h)  # d f / d x
        jy = (distort(xy + ey, dist, model) - distort(xy - ey, dist, model)) / (2 * h)  # d f / d y
        det = jx[..., 0] * jy[..., 1] - jy[..., 0] * jx[..., 1]
        dx = (jy[..., 1] * f[..., 0] - jy[..., 0] * f[..., 1]) / det
        dy = (jx[..., 0] * f[..., 1] - jx[..., 1] * f[..., 0]) / det
        xy = xy - xp.stack([dx, dy], axis=-1)
    return xy

