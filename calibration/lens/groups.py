"""Lens distortion in the solvers' layout: per-camera constants, values and Jacobians, batched over cameras.

The two radial-tangential models of :mod:`spine3d.calibration.lens.model` ("pinhole": OpenCV's k1 k2 p1 p2
k3 k4 k5 k6; "h36m": Human3.6M's variant) share one form, on normalised coordinates (x, y):

    D(x, y) = (x T + p2 r^2,  y T + p1 r^2),   T = R(r^2) + a (p1 y + p2 x),   r^2 = x^2 + y^2,

with R(s) = (1 + k1 s + k2 s^2 + k3 s^3) / (1 + k4 s + k5 s^2 + k6 s^3) the radial factor and a = 2
for OpenCV (``2 p1 x y + p2 (r^2 + 2 x^2)``), a = 1 for Human3.6M (``x (p1 y + p2 x) + p2 r^2``).
Arrays are (G, n), one row per camera of a :class:`LensGroup`, and coefficients (G, 1) columns, so
one numpy call serves all the cameras of a group. The inverse is in :mod:`.undistortion`; other
models (fisheye) are left to :mod:`spine3d.calibration.lens.model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # the camera model uses the lens model, not the reverse
    from spine3d.calibration.camera import Camera

GroupModel = Literal["pinhole", "fisheye", "h36m", "none"]  # a camera's lens model; "none": no distortion
RADIAL_TANGENTIAL = {"pinhole": 2.0, "h36m": 1.0}  # model -> a, the factor of its tangential term
_INVERSE_DEGREE = 4  # degree in s = r_d^2 of the fitted inverse radial factor (undistortion's start)
_FIT_MARGIN = 1.25  # the fit covers distorted radii up to this times the image corners' radius
_FIT_MIN_SLOPE = 0.2  # ... where d r_d / d r stays above this


@dataclass(frozen=True, eq=False)
class LensGroup:
    """Cameras of one radial-tangential model, coefficients as (G, 1) columns (see module docstring).

    Attributes:
        index: (G,) the cameras' indices in the rig.
        model: "pinhole" or "h36m" (radial-tangential), "none" (no distortion) or another model of
            :mod:`spine3d.calibration.lens.model` (undistorted by the generic solver).
        dist: (G, D) the cameras' coefficients, zero-padded (for the generic solver).
        rational: whether any camera has k4, k5 or k6 (the radial factor is then a ratio).
        k1 .. k6, p1, p2: (G, 1) coefficients; ap1, ap2 = a p1, a p2; cp1, cp2 = (a + 2) p1, (a + 2) p2.
        inverse: (_INVERSE_DEGREE + 1, G, 1) polynomial in r_d^2 (highest degree first) fitting the
            inverse radial factor r / r_d (identity for the other models).
        focal: (G, 1) px, the larger focal length (normalised units -> px).
    """

    index: np.ndarray
    model: GroupModel
    dist: np.ndarray
    rational: bool
    k1: np.ndarray
    k2: np.ndarray
    k3: np.ndarray
    k4: np.ndarray
    k5: np.ndarray
    k6: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    ap1: np.ndarray
    ap2: np.ndarray
    cp1: np.ndarray
    cp2: np.ndarray
    inverse: np.ndarray
    focal: np.ndarray

    @property
    def symmetric(self) -> bool:
        """OpenCV's model has a symmetric Jacobian (a = 2)."""
        return self.model == "pinhole"

    def take(self, rows: np.ndarray) -> "LensGroup":
        """The group's coefficients for (m,) row indices, as (m, 1) columns (for (m, 1) data)."""
        per_row = {f.name: getattr(self, f.name)[..., rows, :] for f in fields(self)
                   if f.name not in ("index", "model", "dist", "rational")}
        return replace(self, index=self.index[rows], dist=self.dist[rows], **per_row)


def lens_groups(cameras: Sequence[Camera]) -> tuple[LensGroup, ...]:
    """Cameras (a rig) grouped by distortion model; cameras without distortion form the "none" group."""
    keys = ["none" if not np.any(cam.dist) else cam.model for cam in cameras]
    return tuple(_group(cameras, np.flatnonzero(np.array(keys) == key), key) for key in dict.fromkeys(keys))


def _group(cameras: Sequence[Camera], index: np.ndarray, model: GroupModel) -> LensGroup:
    cams = [cameras[int(i)] for i in index]
    dist = np.zeros((len(cams), 8))
    for row, cam in enumerate(cams):
        dist[row, :cam.dist.size] = cam.dist
    col = lambda v: np.ascontiguousarray(v, dtype=np.float64).reshape(-1, 1)  # noqa: E731
    if model in RADIAL_TANGENTIAL:
        k1, k2, p1, p2, k3, k4, k5, k6 = (col(dist[:, i]) for i in range(8))
        a = RADIAL_TANGENTIAL[model]
    else:
        k1 = k2 = k3 = k4 = k5 = k6 = p1 = p2 = col(np.zeros(len(cams)))
        a = 0.0
    inverse = np.stack([_inverse_fit(model, tuple(d), tuple(cam.K.ravel()), tuple(cam.size))
                        for d, cam in zip(dist, cams)], axis=1)[:, :, None]
    focal = col([max(cam.K[0, 0], cam.K[1, 1]) for cam in cams])
    return LensGroup(index, model, dist[:, :max(cam.dist.size for cam in cams)], bool(np.any(dist[:, 5:])),
                     k1, k2, k3, k4, k5, k6, p1, p2, a * p1, a * p2, (a + 2) * p1, (a + 2) * p2, inverse, focal)


@lru_cache(maxsize=256)
def _inverse_fit(model: GroupModel, dist: tuple, K: tuple, size: tuple) -> np.ndarray:
    """(_INVERSE_DEGREE + 1,) polynomial in s = r_d^2 (highest degree first) fitting r / r_d.

    Weighted least squares (weight r_d: uniform error in px) over distorted radii up to
    ``_FIT_MARGIN`` times the image corners', stopping before the radial map flattens out
    (d r_d / d r < ``_FIT_MIN_SLOPE``: near a fold the inverse has no polynomial approximation).
    Cached: each camera is fitted once; the array is shared and never modified.
    """
    fit = np.zeros(_INVERSE_DEGREE + 1)
    fit[-1] = 1.0
    if model not in RADIAL_TANGENTIAL or not any(dist):
        return fit
    k = np.asarray(K).reshape(3, 3)
    corners = np.array([[0.0, 0.0], [size[0], size[1]], [0.0, size[1]], [size[0], 0.0]])
    corners = (corners - k[:2, 2]) / np.diag(k)[:2]  # normalised (the skew hardly moves the radius)
    rd_max = _FIT_MARGIN * np.sqrt((corners ** 2).sum(axis=1)).max()
    r = np.linspace(0.0, 4.0 * rd_max, 4097)[1:]
    factor = _radial_factor(np.asarray(dist), r * r)
    rd = r * factor
    keep = np.cumprod(np.gradient(rd, r) >= _FIT_MIN_SLOPE).astype(bool) & (rd <= rd_max)
    if keep.sum() <= 4 * _INVERSE_DEGREE:
        return fit
    return np.polynomial.polynomial.polyfit(rd[keep] ** 2, 1.0 / factor[keep], _INVERSE_DEGREE, w=rd[keep])[::-1]


def _radial_factor(dist: np.ndarray, s: np.ndarray) -> np.ndarray:
    """R(s) for (8,) coefficients k1 k2 p1 p2 k3 k4 k5 k6 (reference form, used by the fit only)."""
    k1, k2, _, _, k3, k4, k5, k6 = dist
    return (1 + s * (k1 + s * (k2 + s * k3))) / (1 + s * (k4 + s * (k5 + s * k6)))


def radial(g: LensGroup, s: np.ndarray, derivative: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Radial factor R(s) and, with ``derivative``, 2 dR/ds; s (G, n) = r^2 -> two (G, n) arrays (or None)."""
    r = g.k3 * s
    r += g.k2
    r *= s
    r += g.k1
    r *= s
    d = None
    if derivative:  # 2 dN/ds = 2 k1 + 4 k2 s + 6 k3 s^2 (N = r + 1)
        d = 3.0 * g.k3 * s
        d += 2.0 * g.k2
        d *= s
        d += g.k1
        d *= 2.0
    r += 1.0
    if g.rational:  # R = N / Q: 2 dR/ds = (2 dN/ds - R 2 dQ/ds) / Q
        q = g.k6 * s
        q += g.k5
        q *= s
        q += g.k4
        q *= s
        q += 1.0
        r /= q
        if derivative:
            dq = 3.0 * g.k6 * s
            dq += 2.0 * g.k5
            dq *= s
            dq += g.k4
            dq *= 2.0
            dq *= r
            d -= dq
            d /= q
    return r, d


def distort(g: LensGroup, x: np.ndarray, y: np.ndarray, jacobian: bool = False) -> tuple[np.ndarray, ...]:
    """Distorted coordinates of (G, n) undistorted normalised x, y (radial-tangential groups).

    Returns:
        xd, yd: (G, n); with ``jacobian``, also j00, j01, j10, j11: (G, n) entries of d(xd, yd)/d(x, y)
        (j10 is j01 for OpenCV's model, whose Jacobian is symmetric).
    """
    s = x * x
    s += y * y
    r, d = radial(g, s, jacobian)
    t = g.ap1 * y
    t += g.ap2 * x
    t += r  # T = R + a (p1 y + p2 x)
    xd = x * t
    xd += g.p2 * s
    yd = y * t
    yd += g.p1 * s
    if not jacobian:
        return xd, yd
    # d xd/dx = T + 2 x^2 R' + (a + 2) p2 x,  d xd/dy = 2 x y R' + a p1 x + 2 p2 y  (d = 2 R')
    dx, dy = d * x, d * y
    j00 = dx + g.cp2
    j00 *= x
    j00 += t
    j11 = dy + g.cp1
    j11 *= y
    j11 += t
    j01 = 2.0 * g.p2 + dx
    j01 *= y
    j01 += g.ap1 * x
    if g.symmetric:
        return xd, yd, j00, j01, j01, j11
    j10 = 2.0 * g.p1 + dy
    j10 *= x
    j10 += g.ap2 * y
    return xd, yd, j00, j01, j10, j11
