"""Compiled kernel of the linear methods ("dlt", "weighted"), with numba.

The numpy path (:mod:`spine3d.calibration.views`, :mod:`spine3d.calibration.lens.undistortion`,
:mod:`spine3d.calibration.dlt`, :mod:`.reprojection`) makes ~200
passes over memory per point. This kernel takes blocks of 256 points through the same steps, each
step one branch-free loop over the block that the compiler turns into SIMD code, with the block's
temporaries in cache (README's triangulation benchmark measures both paths). The numpy
path stays the reference (``TriangulationOptions.compiled = False``); the tests check the two agree:

1. pixels -> distorted normalised coordinates (:func:`views.normalized`);
2. undistortion: fitted start, one Newton step, re-distortion check (the compiled lens,
   :mod:`spine3d.calibration.lens.compiled`); a view
   that fails the check marks its point for the numpy path (``repair``), which finishes it exactly;
3. usable views and the summed normal matrix, here from the DLT rows w (x P3 - P1), w (y P3 - P2)
   (:func:`dlt.view_normal_matrices` expands the same matrices in per-view features);
4. the linear-LS point adj(M) e_4 (:func:`dlt.last_adjugate_column`, :func:`dlt.solve_normal`);
5. cheirality and the ray conditioning test on M's 3x3 block (:func:`checks.point_status`, same
   polynomial), status;
6. exact reprojection errors with the full camera model and their inlier mean
   (:func:`core.outputs`, :func:`reprojection.pixel_errors`).

Rounding differs from the numpy path in the last bits (reciprocals instead of divisions, fused
multiply-adds, another summation order), never in a mask or a status in the tests.
Supported lenses: no distortion and the radial-tangential models (:func:`~spine3d.calibration.lens.compiled.supported`);
other models (fisheye) use the numpy path. Compiled once per installation (``cache=True``; the
first call of a fresh install compiles it) and releases the GIL, so the chunks of
:func:`spine3d.triangulation.triangulate` run on all worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.calibration.dlt import _AT_INFINITY, POWER_STEPS
from spine3d.calibration.lens.compiled import (CX, CY, FX, FY, MODEL, RATIONAL, SKEW, distorted, finite, inline, jit,
                                               lens_table, supported, undistort_pixels)
from spine3d.calibration.views import RigConstants
from spine3d.triangulation.status import (BEHIND_CAMERA, DEGENERATE, ILL_CONDITIONED, OK, TOO_FEW_VIEWS,
                                          UNVERIFIED)

_AT_INFINITY2 = _AT_INFINITY ** 2


@dataclass(frozen=True, eq=False)
class KernelConstants:
    """Rig constants as plain float64 tables for the kernel.

    Attributes:
        intrinsics: (C, 5) px: fx, fy, cx, cy, skew.
        lens: (C, 15) per camera: model code, k1..k6, p1, p2, a p1, a p2, (a + 2) p1, (a + 2) p2,
            rational flag, squared check tolerance (normalised units^2).
        inverse: (C, 5) fitted inverse radial factor, highest degree first (zero-padded).
        projection: (C, 3, 4) conditioned projections, see :class:`views.RigConstants`.
        pose: (C, 3, 4) [R | t], world -> camera, m.
        center: (3,) m and ``scale`` m: the conditioning.
    """

    intrinsics: np.ndarray
    lens: np.ndarray
    inverse: np.ndarray
    projection: np.ndarray
    pose: np.ndarray
    center: np.ndarray
    scale: float


def kernel_constants(const: RigConstants) -> KernelConstants | None:
    """The tables of :class:`KernelConstants`, or None when a lens model (or the power-iteration
    setting of :mod:`.dlt`) needs the numpy path."""
    if POWER_STEPS or not supported(const.lenses):
        return None
    lens, inverse = lens_table(const.lenses, len(const.rig))
    intrinsics = np.concatenate([const.fx, const.fy, const.cx, const.cy, const.skew], axis=1)
    return KernelConstants(np.ascontiguousarray(intrinsics), lens, inverse, np.ascontiguousarray(const.projection),
                           np.ascontiguousarray(const.pose), np.ascontiguousarray(const.center), float(const.scale))


def solve_linear(kc: KernelConstants, uv: np.ndarray, conf: np.ndarray, start: int, stop: int,
                 out: dict[str, np.ndarray], *, weighted: bool, threshold: float,
                 min_views: int, min_ray_angle: float) -> tuple[np.ndarray, bool]:
    """Linear triangulation of points ``start:stop``, written into ``out`` (the arrays of
    :func:`spine3d.triangulation.triangulate`: points (N, 3), inliers (C, N), reprojection_error (N,),
    num_views (N,), status (N,), view_errors (C, N)).

    Args:
        kc: kernel constants.
        uv: (C, N, 2) px, distorted image coordinates (NaN = missing).
        conf: (C, N) detector confidence.
        weighted: confidence weights ("weighted") instead of unit weights ("dlt").
        threshold: minimum confidence of a usable view (0: any positive confidence).
        min_views: usable views a point needs.
        min_ray_angle: deg, effective triangulation angle below which a point is ill-conditioned.

    Returns:
        (k,) int64 indices of the points whose undistortion failed its check somewhere (their
        outputs are not written: the caller solves them with the numpy path), and whether the
        input holds values :func:`spine3d.triangulation.triangulate` rejects (an infinite pixel, a
        confidence that is negative or not finite; the caller reports them).
    """
    repair = np.zeros(stop - start, dtype=np.bool_)
    invalid = np.zeros(1, dtype=np.int64)
    if not out["points"].flags.c_contiguous:
        raise ValueError("out['points'] must be C-contiguous (written through a flat view)")
    sin2 = float(np.sin(np.radians(min_ray_angle) / 2.0) ** 2)  # as in checks.ill_conditioned
    _linear(uv.reshape(uv.shape[0], -1), conf, weighted, threshold, min_views, sin2, start, stop, kc.intrinsics,
            kc.lens, kc.inverse, kc.projection, kc.pose, kc.center, kc.scale, out["points"].reshape(-1),
            out["inliers"], out["reprojection_error"], out["num_views"], out["status"], out["view_errors"], repair,
            invalid)
    return np.flatnonzero(repair) + start, bool(invalid[0])


_BLOCK = 256  # points per pass of the kernel's stages (their temporaries stay in L1 / L2)


@jit
def _linear(uv, conf, weighted, threshold, min_views, sin2, start, stop, intrinsics, lens, inverse, projection,
            pose, center, scale, points, inliers, mean_error, num_views, status, view_errors, repair, invalid):
    """Stages over blocks of points; each stage is a branch-free loop over the block (SIMD).

    uv (C, 2 N) and points (3 N,) are flat: constant-stride element access, which vectorises.
    invalid[0] counts rejected input values (infinite pixels, bad confidences).
    """
    cams = uv.shape[0]
    x, y = np.empty((cams, _BLOCK)), np.empty((cams, _BLOCK))
    usable = np.empty((cams, _BLOCK), dtype=np.bool_)
    m, p, count = np.empty((10, _BLOCK)), np.empty((3, _BLOCK)), np.empty(_BLOCK, dtype=np.int64)
    w2sum, behind = np.empty(_BLOCK), np.empty(_BLOCK, dtype=np.bool_)
    for first in range(start, stop, _BLOCK):  # compiled loop over blocks of points
        n = min(_BLOCK, stop - first)
        block = slice(first, first + n)
        bad = repair[first - start:first - start + n]  # zeros on entry; set where an undistortion check fails
        m[:, :n] = 0.0
        w2sum[:n] = 0.0
        count[:n] = 0
        behind[:n] = False
        for c in range(cams):  # loop over cameras: undistortion, normal matrices
            invalid[0] += undistort_pixels(uv[c, 2 * first:2 * (first + n)], intrinsics[c], lens[c], inverse[c], x[c],
                                     y[c], bad)
            invalid[0] += _accumulate(conf[c, block], weighted, threshold, projection[c], x[c], y[c], usable[c],
                                      count, m, w2sum)
        solve_block(m, center, scale, p, n)
        for c in range(cams):  # loop over cameras: cheirality of the views used
            _behind(p, usable[c], pose[c], behind, n)
        _finish(p, count, m, w2sum, behind, min_views, sin2, points[3 * first:3 * (first + n)], num_views[block],
                status[block])
        mean_error[block] = 0.0
        for c in range(cams):  # loop over cameras: exact reprojection errors
            _pixel_errors(p, uv[c, 2 * first:2 * (first + n)], intrinsics[c], lens[c], pose[c], view_errors[c, block])
            _add_inliers(usable[c], num_views[block], view_errors[c, block], inliers[c, block], mean_error[block])
        _divide(mean_error[block], num_views[block])


@jit
def _behind(p, usable, pose, behind, n):
    """behind (n,) |= the point p (3, n) lies on or behind this camera (z <= 0) and the view is used."""
    r20, r21, r22, t2 = pose[2, 0], pose[2, 1], pose[2, 2], pose[2, 3]
    for i in range(n):
        z = r20 * p[0, i] + r21 * p[1, i] + r22 * p[2, i] + t2
        behind[i] |= usable[i] & (z <= 0.0)


@jit
def _finish(p, count, m, w2sum, behind, min_views, sin2, points, num_views, status):
    """Status, views used, output points (flat (3 n,)) of a block (checks.point_status's rules and
    order); points whose status keeps none become NaN in p too. The ray block G is M's upper-left
    3x3 (m00 m01 m02 m11 m12 m22), w2sum (n,) the sum of the squared row weights."""
    for i in range(num_views.shape[0]):
        views = count[i]
        solved = finite(p[0, i]) & finite(p[1, i]) & finite(p[2, i])
        g00, g01, g02, g11, g12, g22 = m[0, i], m[1, i], m[2, i], m[4, i], m[5, i], m[7, i]
        s = w2sum[i] * sin2  # checks.ill_conditioned: the characteristic polynomial of G at s
        trace = g00 + g11 + g22
        e2 = g00 * g11 + g00 * g22 + g11 * g22 - g01 * g01 - g02 * g02 - g12 * g12
        det = g00 * (g11 * g22 - g12 * g12) - g01 * (g01 * g22 - g12 * g02) + g02 * (g01 * g12 - g11 * g02)
        ill = ((s - trace) * s + e2) * s - det > 0.0
        code = UNVERIFIED if views == 2 else OK
        code = ILL_CONDITIONED if ill else code
        code = BEHIND_CAMERA if behind[i] else code
        code = code if solved else DEGENERATE
        code = code if views >= min_views else TOO_FEW_VIEWS
        status[i] = code
        keep = (code == OK) | (code == UNVERIFIED) | (code == ILL_CONDITIONED)  # status.KEPT
        num_views[i] = views if keep else 0
        for a in range(3):  # unrolled by the compiler
            p[a, i] = p[a, i] if keep else np.nan
            points[3 * i + a] = p[a, i]


@jit
def _add_inliers(usable, num_views, errors, inliers, total):
    """One camera: inlier mask (usable view of a solved point) and its errors added to ``total``."""
    for i in range(num_views.shape[0]):
        inlier = usable[i] & (num_views[i] > 0)
        inliers[i] = inlier
        total[i] += errors[i] if inlier else 0.0


@jit
def _divide(total, num_views):
    """Mean error over the inlier views in place (NaN for unsolved points)."""
    for i in range(total.shape[0]):
        total[i] = total[i] / num_views[i] if num_views[i] > 0 else np.nan


@jit
def _accumulate(conf, weighted, threshold, projection, x, y, usable, count, m, w2sum):
    """One camera's usable mask (n,), counted in ``count`` (n,), its DLT normal matrices added to
    m (10, n) and its squared row weights to w2sum (n,). Returns the number of rejected
    confidences (negative or not finite).

    The rows r1 = w (x P3 - P1), r2 = w (y P3 - P2) and m += r1 r1^T + r2 r2^T: the matrices of
    :func:`dlt.view_normal_matrices` (which expands them in per-view features) with fewer operations.
    """
    a0, a1, a2, a3 = projection[0, 0], projection[0, 1], projection[0, 2], projection[0, 3]
    b0, b1, b2, b3 = projection[1, 0], projection[1, 1], projection[1, 2], projection[1, 3]
    c0, c1, c2, c3 = projection[2, 0], projection[2, 1], projection[2, 2], projection[2, 3]
    rejected = 0
    for i in range(conf.shape[0]):
        w = conf[i]
        rejected += not ((w >= 0.0) & (w < np.inf))
        ok = finite(x[i]) & finite(y[i]) & (w >= threshold) & (w > 0.0)
        usable[i] = ok
        count[i] += ok
        w = (w if weighted else 1.0) if ok else 0.0
        w2sum[i] += w * w
        xi = x[i] if ok else 0.0
        yi = y[i] if ok else 0.0
        r0, r1, r2, r3 = w * (xi * c0 - a0), w * (xi * c1 - a1), w * (xi * c2 - a2), w * (xi * c3 - a3)
        q0, q1, q2, q3 = w * (yi * c0 - b0), w * (yi * c1 - b1), w * (yi * c2 - b2), w * (yi * c3 - b3)
        m[0, i] += r0 * r0 + q0 * q0
        m[1, i] += r0 * r1 + q0 * q1
        m[2, i] += r0 * r2 + q0 * q2
        m[3, i] += r0 * r3 + q0 * q3
        m[4, i] += r1 * r1 + q1 * q1
        m[5, i] += r1 * r2 + q1 * q2
        m[6, i] += r1 * r3 + q1 * q3
        m[7, i] += r2 * r2 + q2 * q2
        m[8, i] += r2 * r3 + q2 * q3
        m[9, i] += r3 * r3 + q3 * q3
    return rejected


@jit
def solve_block(m, center, scale, p, n):
    """p (3, n) = the linear-LS points of the summed normal matrices m (10, n) (dlt.solve_normal, steps = 0)."""
    for i in range(n):
        m00, m01, m02, m03, m11, m12, m13, m22, m23 = m[0, i], m[1, i], m[2, i], m[3, i], m[4, i], m[5, i], \
            m[6, i], m[7, i], m[8, i]
        s0 = m00 * m11 - m01 * m01
        s1 = m00 * m12 - m01 * m02
        s2 = m00 * m13 - m01 * m03
        s3 = m01 * m12 - m11 * m02
        s4 = m01 * m13 - m11 * m03
        s5 = m02 * m13 - m12 * m03
        v0 = m22 * s4 - m12 * s5 - m23 * s3
        v1 = m02 * s5 - m22 * s2 + m23 * s1
        v2 = m12 * s2 - m02 * s4 - m23 * s0
        v3 = m02 * s3 - m12 * s1 + m22 * s0
        v3_2 = v3 * v3
        norm2 = v0 * v0 + v1 * v1 + v2 * v2 + v3_2
        k = scale / v3 if v3_2 > _AT_INFINITY2 * norm2 else np.nan
        p[0, i] = v0 * k + center[0]
        p[1, i] = v1 * k + center[1]
        p[2, i] = v2 * k + center[2]


@jit
def _pixel_errors(p, uv, intrinsics, lens, pose, errors):
    """Exact reprojection errors (n,) px of world points p (3, n) in one camera (reprojection.pixel_errors);
    uv (2 n,) flat pixels."""
    if lens[MODEL] == 0.0:
        _pixel_error_loop(p, uv, intrinsics, lens, pose, errors, False, False)
    elif lens[RATIONAL] != 0.0:
        _pixel_error_loop(p, uv, intrinsics, lens, pose, errors, True, True)
    else:
        _pixel_error_loop(p, uv, intrinsics, lens, pose, errors, True, False)


@inline
def _pixel_error_loop(p, uv, intrinsics, lens, pose, errors, with_lens, rational):
    fx, fy, cx, cy, skew = intrinsics[FX], intrinsics[FY], intrinsics[CX], intrinsics[CY], intrinsics[SKEW]
    r00, r01, r02, t0 = pose[0, 0], pose[0, 1], pose[0, 2], pose[0, 3]
    r10, r11, r12, t1 = pose[1, 0], pose[1, 1], pose[1, 2], pose[1, 3]
    r20, r21, r22, t2 = pose[2, 0], pose[2, 1], pose[2, 2], pose[2, 3]
    for i in range(uv.shape[0] // 2):
        inv_z = 1.0 / (r20 * p[0, i] + r21 * p[1, i] + r22 * p[2, i] + t2)
        x = (r00 * p[0, i] + r01 * p[1, i] + r02 * p[2, i] + t0) * inv_z
        y = (r10 * p[0, i] + r11 * p[1, i] + r12 * p[2, i] + t1) * inv_z
        if with_lens:
            x, y = distorted(lens, x, y, rational)
        du = fx * x + skew * y + cx - uv[2 * i]
        dv = fy * y + cy - uv[2 * i + 1]
        errors[i] = np.sqrt(du * du + dv * dv)
