"""The lens model compiled with numba: per-point forms of :mod:`.groups` and :mod:`.undistortion`.

Used by the compiled triangulation kernel (:mod:`spine3d.triangulation.kernel`). A camera's lens is
one row of a float64 table (:func:`lens_table`; columns named below) and its intrinsics another, so
a point loop reads plain scalars. The formulas are those of :mod:`.groups` (radial-tangential models
only: no distortion, OpenCV's pinhole with k1..k6 p1 p2, Human3.6M's); tests/test_lens.py checks
these forms against :mod:`.groups`, :mod:`.undistortion` and the reference :mod:`.model` (numpy and
torch). Compiled once per installation (``cache=True``) and releasing the GIL.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from spine3d.calibration.lens.groups import RADIAL_TANGENTIAL, LensGroup
from spine3d.calibration.lens.undistortion import UNDISTORT_TOLERANCE

# lens table columns (one row per camera); MODEL: 0 no distortion, 1 radial-tangential
MODEL, K1, K2, K3, K4, K5, K6, P1, P2, AP1, AP2, CP1, CP2, RATIONAL, TOLERANCE = range(15)
# intrinsics table columns
FX, FY, CX, CY, SKEW = range(5)
INVERSE_TERMS = 5  # coefficients of the fitted inverse radial factor the point loop evaluates (degree 4)

# IEEE division (inf / NaN, as numpy) and fused multiply-adds; no other fast-math licence
jit = njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
inline = njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")  # loop helpers


def supported(lenses: Sequence[LensGroup]) -> bool:
    """Whether every lens group has a compiled form (no distortion or radial-tangential, inverse fit
    of at most INVERSE_TERMS coefficients)."""
    return all((g.model == "none" or g.model in RADIAL_TANGENTIAL) and g.inverse.shape[0] <= INVERSE_TERMS
               for g in lenses)


def lens_table(lenses: Sequence[LensGroup], cameras: int) -> tuple[np.ndarray, np.ndarray]:
    """The lens rows of a rig: (C, 15) table (columns MODEL .. TOLERANCE) and (C, INVERSE_TERMS)
    fitted inverse radial factors (highest degree first, zero-padded). Requires :func:`supported`."""
    lens = np.zeros((cameras, TOLERANCE + 1))
    inverse = np.zeros((cameras, INVERSE_TERMS))
    for g in lenses:  # loop over distortion models
        if g.model == "none":
            continue
        rows = g.index
        lens[rows, MODEL] = 1.0
        for column, name in ((K1, "k1"), (K2, "k2"), (K3, "k3"), (K4, "k4"), (K5, "k5"), (K6, "k6"),
                             (P1, "p1"), (P2, "p2"), (AP1, "ap1"), (AP2, "ap2"), (CP1, "cp1"), (CP2, "cp2")):
            lens[rows, column] = getattr(g, name)[:, 0]
        lens[rows, RATIONAL] = float(g.rational)
        lens[rows, TOLERANCE] = ((UNDISTORT_TOLERANCE / g.focal) ** 2)[:, 0]
        inverse[rows, inverse.shape[1] - g.inverse.shape[0]:] = g.inverse[:, :, 0].T
    return lens, inverse


@jit
def finite(v):
    return v - v == 0.0  # False for inf and NaN


@inline
def radial(lens, s, rational):
    """Radial factor R(s) and 2 dR/ds (:func:`.groups.radial`) of one camera's lens row; ``rational`` is a
    constant at every call site, so each point loop is compiled without the branch."""
    r = ((lens[K3] * s + lens[K2]) * s + lens[K1]) * s + 1.0
    d = (((3.0 * lens[K3]) * s + 2.0 * lens[K2]) * s + lens[K1]) * 2.0
    if rational:
        inv_q = 1.0 / (((lens[K6] * s + lens[K5]) * s + lens[K4]) * s + 1.0)
        r *= inv_q
        d = (d - (((3.0 * lens[K6]) * s + 2.0 * lens[K5]) * s + lens[K4]) * 2.0 * r) * inv_q
    return r, d


@inline
def distorted(lens, x, y, rational):
    """Distorted normalised coordinates (:func:`.groups.distort`) of one camera's radial-tangential lens row."""
    s = x * x + y * y
    r, _ = radial(lens, s, rational)
    t = lens[AP1] * y + lens[AP2] * x + r
    return x * t + lens[P2] * s, y * t + lens[P1] * s


@jit
def undistort_pixels(uv, intrinsics, lens, inverse, x, y, bad):
    """Pixels (2 n,) (u0, v0, u1, ...) of one camera -> undistorted normalised x, y (n,)
    (:func:`spine3d.calibration.views.normalized`, then :func:`.undistortion.undistort`: start, one
    Newton step, check); ``bad`` |= the
    check failed on a finite point. Returns the number of infinite pixel coordinates. Flat pixels
    give constant-stride loads, which vectorise ((n, 2) rows have a run-time stride and do not)."""
    inv_fx, inv_fy = 1.0 / intrinsics[FX], 1.0 / intrinsics[FY]
    cx, cy, skew = intrinsics[CX], intrinsics[CY], intrinsics[SKEW]
    infinite = 0
    for i in range(uv.shape[0]):
        infinite += abs(uv[i]) == np.inf
    if lens[MODEL] == 0.0:
        for i in range(uv.shape[0] // 2):
            y[i] = (uv[2 * i + 1] - cy) * inv_fy
            x[i] = (uv[2 * i] - cx - skew * y[i]) * inv_fx
    elif lens[RATIONAL] != 0.0:
        _undistort_loop(uv, inv_fx, inv_fy, cx, cy, skew, lens, inverse, x, y, bad, True)
    else:
        _undistort_loop(uv, inv_fx, inv_fy, cx, cy, skew, lens, inverse, x, y, bad, False)
    return infinite


@inline
def _undistort_loop(uv, inv_fx, inv_fy, cx, cy, skew, lens, inverse, x, y, bad, rational):
    p1, p2, ap1, ap2, cp1, cp2 = lens[P1], lens[P2], lens[AP1], lens[AP2], lens[CP1], lens[CP2]
    c0, c1, c2, c3, c4 = inverse[0], inverse[1], inverse[2], inverse[3], inverse[4]
    tolerance = lens[TOLERANCE]
    for i in range(uv.shape[0] // 2):
        yd = (uv[2 * i + 1] - cy) * inv_fy
        xd = (uv[2 * i] - cx - skew * yd) * inv_fx
        s = xd * xd + yd * yd  # start (undistortion._start)
        f = (((c0 * s + c1) * s + c2) * s + c3) * s + c4
        q = ap1 * yd + ap2 * xd
        f2 = f * f
        u = xd - (xd * q + p2 * s) * f2
        v = yd - (yd * q + p1 * s) * f2
        s = u * u + v * v
        f = (((c0 * s + c1) * s + c2) * s + c3) * s + c4
        u *= f
        v *= f
        s = u * u + v * v  # one Newton step, analytic Jacobian (groups.distort(..., jacobian=True))
        r, d = radial(lens, s, rational)
        t = ap1 * v + ap2 * u + r
        ex = u * t + p2 * s - xd
        ey = v * t + p1 * s - yd
        du, dv = d * u, d * v
        j00 = (du + cp2) * u + t
        j11 = (dv + cp1) * v + t
        j01 = (2.0 * p2 + du) * v + ap1 * u
        j10 = (2.0 * p1 + dv) * u + ap2 * v
        inv_det = 1.0 / (j00 * j11 - j01 * j10)
        u = u - (j11 * ex - j01 * ey) * inv_det
        v = v - (j00 * ey - j10 * ex) * inv_det
        ex, ey = distorted(lens, u, v, rational)  # the check (undistortion._converged)
        ex -= xd
        ey -= yd
        failed = not (ex * ex + ey * ey <= tolerance)
        bad[i] = bad[i] | (failed & finite(xd) & finite(yd))
        x[i] = u
        y[i] = v
