"""Weighted linear triangulation (DLT, Hartley & Zisserman 12.2), batched over points.

For a view with undistorted normalised observation (x, y), conditioned projection rows P1, P2,
P3 (see :mod:`.views`) and weight w, the DLT rows are ``w (x P3 - P1)`` and ``w (y P3 - P2)``;
the algebraic error of a homogeneous point v is ``|A v|^2 = v^T M v`` with the 4x4 normal matrix
M = A^T A. Two shortcuts make this fast:

- M is linear in the per-view features (w^2 (x^2 + y^2), w^2 x, w^2 y, w^2), so all normal matrices
  come from one small matrix product with per-camera constants (:attr:`RigConstants.normal_map`),
  instead of building and decomposing (N, 2C, 4) matrices.
- The minimiser with v_4 = 1 (Hartley & Sturm's "linear-LS" triangulation) is ``adj(M) e_4``, the
  last column of the adjugate adj(M) = det(M) M^-1, computed in closed form. Unlike the unit-norm
  eigenvector solution ("linear-eigen", the smallest eigenvector of M) it does not depend on the
  choice of world frame (adding a zero-weight camera, which moves the conditioning frame, changes
  nothing), it needs no eigen-decomposition of the (N, 4, 4) matrices, and it is as accurate (the
  benchmark measures both). ``steps > 0`` runs power iterations on adj(M), whose dominant
  eigenvector is M's smallest (ratio lambda_1 / lambda_2 per step), to get the eigenvector solution.

Matrices are stored as their 10 upper-triangle entries, ``(10, n)``, in the order
m00 m01 m02 m03 m11 m12 m13 m22 m23 m33.
"""

from __future__ import annotations

import numpy as np

from spine3d.calibration.views import RigConstants

POWER_STEPS = 0  # 0: linear-LS (v_4 = 1); > 0: power steps towards the unit-eigenvector solution
_AT_INFINITY = 1e-9  # |v_4| / |v| below this: point at infinity (degenerate)
# multiply-adds per BLAS call: below the size at which a multi-threaded BLAS (OpenBLAS: m n k >
# 65536 * 4) hands a product to its own threads. Waking them costs microseconds on an idle machine
# and milliseconds on a busy one, for a product of ~10 microseconds, and the chunks already run one
# worker per core.
SINGLE_THREAD_WORK = 2 ** 17


def view_features(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The features the normal matrices are linear in.

    Args:
        x, y: (C, n) undistorted normalised coordinates (any finite value where ``weight`` is 0).
        weight: (C, n) row weights w (0 = view unused), or bool (unit weights on the True views).

    Returns:
        (C, 4, n): w^2 (x^2 + y^2), w^2 x, w^2 y, w^2.
    """
    features = np.empty((x.shape[0], 4, x.shape[1]))
    f0, f1, f2, f3 = features.transpose(1, 0, 2)  # (C, n) views
    if weight.dtype == bool:
        f3[...] = weight  # w^2 = w
    else:
        np.multiply(weight, weight, out=f3)
    np.multiply(x, x, out=f0)
    np.multiply(y, y, out=f1)
    f0 += f1
    f0 *= f3
    np.multiply(f3, x, out=f1)
    np.multiply(f3, y, out=f2)
    return features


def view_normal_matrices(const: RigConstants, x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-view DLT normal matrices.

    Args:
        const: rig constants (conditioned projections).
        x, y: (C, n) undistorted normalised coordinates (any finite value where ``weight`` is 0).
        weight: (C, n) row weights w (0 = view unused), or bool (unit weights on the True views).

    Returns:
        (C, 10, n) upper triangles of w^2 (r1 r1^T + r2 r2^T) per view; sum over C for a point.
    """
    return single_thread_matmul(const.normal_map, view_features(x, y, weight))  # (C, 10, 4) @ (C, 4, n)


def single_thread_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for (..., m, k) @ (..., k, n), in column blocks of b small enough to stay on the
    calling thread (see :data:`SINGLE_THREAD_WORK`)."""
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out = np.empty(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (m, n))
    columns = max(64, SINGLE_THREAD_WORK // (m * k))
    for start in range(0, n, columns):  # loop over column blocks of a chunk
        block = slice(start, start + columns)
        np.matmul(a, b[..., block], out=out[..., block])
    return out


def first_rows_minors(m: np.ndarray) -> tuple[np.ndarray, ...]:
    """The six 2x2 minors of the first two rows of symmetric 4x4 matrices given as (10, n) upper triangles.

    Order: columns (0,1), (0,2), (0,3), (1,2), (1,3), (2,3); each an (n,) array.
    """
    m00, m01, m02, m03, m11, m12, m13 = m[:7]
    return (_minor(m00, m11, m01, m01), _minor(m00, m12, m01, m02), _minor(m00, m13, m01, m03),
            _minor(m01, m12, m11, m02), _minor(m01, m13, m11, m03), _minor(m02, m13, m12, m03))


def _minor(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """a b - c d, elementwise (one temporary fewer than the expression)."""
    out = a * b
    out -= c * d
    return out


def symmetric_adjugate(m: np.ndarray) -> np.ndarray:
    """Adjugate of symmetric 4x4 matrices given as (10, n) upper triangles -> (10, n) (same order).

    Cofactors by the 2x2-minor expansion (Laplace along the first two rows).
    """
    m00, m01, m02, m03, m11, m12, m13, m22, m23, m33 = m
    s0, s1, s2, s3, s4, s5 = first_rows_minors(m)
    c5 = m22 * m33 - m23 * m23
    c4 = m12 * m33 - m13 * m23
    c3 = m12 * m23 - m13 * m22
    c2 = m02 * m33 - m03 * m23
    c1 = m02 * m23 - m03 * m22
    return np.stack([
        m11 * c5 - m12 * c4 + m13 * c3,
        -m01 * c5 + m02 * c4 - m03 * c3,
        m13 * s5 - m23 * s4 + m33 * s3,
        -m12 * s5 + m22 * s4 - m23 * s3,
        m00 * c5 - m02 * c2 + m03 * c1,
        -m03 * s5 + m23 * s2 - m33 * s1,
        m02 * s5 - m22 * s2 + m23 * s1,
        m03 * s4 - m13 * s2 + m33 * s0,
        -m02 * s4 + m12 * s2 - m23 * s0,
        m02 * s3 - m12 * s1 + m22 * s0,
    ])


def smallest_eigenvector(m: np.ndarray, steps: int = POWER_STEPS) -> np.ndarray:
    """Minimiser of v^T M v for symmetric PSD 4x4 matrices, as a unit vector.

    Args:
        m: (10, n) upper triangles.
        steps: 0 gives the minimiser with v_4 = 1 (adj(M) e_4); each further power-iteration
            step on adj(M) moves it towards the eigenvector of M's smallest eigenvalue.

    Returns:
        (4, n) unit vectors; NaN where M has rank < 3.
    """
    a00, a01, a02, a03, a11, a12, a13, a22, a23, a33 = symmetric_adjugate(m)
    v0, v1, v2, v3 = a03, a13, a23, a33  # adj(M) e_4: the inhomogeneous solution
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # rank < 3 gives 0 / 0 = NaN
        for _ in range(steps):
            norm = np.sqrt(v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3)
            v0, v1, v2, v3 = v0 / norm, v1 / norm, v2 / norm, v3 / norm  # rescale (avoids overflow)
            v0, v1, v2, v3 = (a00 * v0 + a01 * v1 + a02 * v2 + a03 * v3,
                              a01 * v0 + a11 * v1 + a12 * v2 + a13 * v3,
                              a02 * v0 + a12 * v1 + a22 * v2 + a23 * v3,
                              a03 * v0 + a13 * v1 + a23 * v2 + a33 * v3)
        v = np.stack([v0, v1, v2, v3])
        return v / np.sqrt((v * v).sum(axis=0))


def last_adjugate_column(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """adj(M) e_4 of symmetric 4x4 matrices given as (10, n) upper triangles: four (n,) arrays.

    Only the six 2x2 minors of the first two rows are needed (a quarter of the full adjugate).
    """
    m02, m12, m22, m23 = m[2], m[5], m[7], m[8]
    s0, s1, s2, s3, s4, s5 = first_rows_minors(m)
    v0 = _minor(m22, s4, m12, s5)  # m22 s4 - m12 s5 - m23 s3
    v0 -= m23 * s3
    v1 = _minor(m02, s5, m22, s2)  # m02 s5 - m22 s2 + m23 s1
    v1 += m23 * s1
    v2 = _minor(m12, s2, m02, s4)  # m12 s2 - m02 s4 - m23 s0
    v2 -= m23 * s0
    v3 = _minor(m02, s3, m12, s1)  # m02 s3 - m12 s1 + m22 s0
    v3 += m22 * s0
    return v0, v1, v2, v3


def solve_normal(const: RigConstants, m: np.ndarray, steps: int = POWER_STEPS) -> np.ndarray:
    """Points from summed normal matrices.

    Args:
        const: rig constants (conditioning).
        m: (10, n) summed normal matrices.
        steps: power-iteration steps (see :func:`smallest_eigenvector`); 0 = linear-LS.

    Returns:
        (3, n) m, world frame; NaN where the system is degenerate (rank < 3, point at infinity).
    """
    v = last_adjugate_column(m) if steps == 0 else tuple(smallest_eigenvector(m, steps))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        norm2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
        v3_2 = v[3] * v[3]
        norm2 += v3_2
        finite = v3_2 > _AT_INFINITY ** 2 * norm2  # False for NaN (rank < 3 gives 0 / 0)
        scale = np.divide(const.scale, v[3], out=np.full_like(v3_2, np.nan), where=finite)
        points = np.empty((3, m.shape[-1]))
        for axis in range(3):  # loop over the three coordinates
            np.multiply(v[axis], scale, out=points[axis])
            points[axis] += const.center[axis]
        return points


def dlt(const: RigConstants, x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted DLT of n points: (C, n) normalised x, y and row weights (or a bool mask of unit
    weights, see :func:`view_features`) -> (3, n) m world (NaN where degenerate).

    The summed normal matrices are one (10, 4 C) @ (4 C, n) product.
    """
    features = view_features(x, y, weight)
    return solve_normal(const, single_thread_matmul(const.normal_map_all, features.reshape(-1, features.shape[-1])))


def upper_to_full(m: np.ndarray) -> np.ndarray:
    """(10, n) upper triangles -> (n, 4, 4) symmetric matrices (for tests and debugging)."""
    full = np.empty((m.shape[1], 4, 4))
    for k, (i, j) in enumerate(((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3))):
        full[:, i, j] = full[:, j, i] = m[k]
    return full
