"""Compiled Levenberg-Marquardt: every frame's whole solve in one numba loop, frames in parallel.

The same mathematics as the numpy path of :class:`spine3d.biomechanics.solver.IKSolver` (which stays
the reference it is tested against): forward kinematics of the body's chain, the analytic Jacobian
(``a x (x - o)`` per rotation, the world axis per translation), the Gauss-Newton matrix accumulated
marker by marker over the coordinates that move that marker, Marquardt-scaled damping with
Nielsen's update, coordinates pinned at their bounds, steps projected onto the box. Per frame and
iteration this is a few ten thousand flops in cache, instead of numpy's passes over (T, n, M, 3)
arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from spine3d.biomechanics.coupling import Parametrisation
from spine3d.biomechanics.model import DEG, BodyModel

FLOOR = 1e-9  # curvature added to every diagonal entry (as the numpy path)
PARALLEL_FRAMES = 256  # fewer frames run on one thread: a parallel region costs more than it saves


@dataclass(frozen=True)
class Tables:
    """The body, markers and parametrisation as flat arrays for the kernel."""

    parent: np.ndarray
    rest: np.ndarray
    offset: np.ndarray
    rot_start: np.ndarray
    rot_count: np.ndarray
    rot_axis: np.ndarray
    rot_coord: np.ndarray
    rot_gain: np.ndarray
    rot_joint: np.ndarray
    trans_start: np.ndarray
    trans_count: np.ndarray
    trans_axis: np.ndarray
    trans_coord: np.ndarray
    site_body: np.ndarray
    local: np.ndarray
    owner: np.ndarray
    linear: np.ndarray
    quadratic: np.ndarray
    fixed: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    pair_rot: np.ndarray
    pair_rot_marker: np.ndarray
    pair_trans: np.ndarray
    pair_trans_marker: np.ndarray
    nonzero: np.ndarray
    nonzero_count: np.ndarray

    @classmethod
    def build(cls, model: BodyModel, par: Parametrisation) -> "Tables":
        joints = model.chain.joints
        rot_count = np.array([len(j.rotations) for j in joints])
        trans_count = np.array([len(j.translations) for j in joints])
        plan = model.plan(par.owner, par.size)
        nonzero, counts = _nonzero(model, par, plan)
        trans_axis = np.array([a for j in joints for a, _ in j.translations], np.float64).reshape(-1, 3)
        return cls(
            np.array([j.parent for j in joints]), np.stack([j.rest for j in joints]),
            np.stack([j.offset for j in joints]), np.r_[0, np.cumsum(rot_count)[:-1]], rot_count,
            model.chain.rot_axes.astype(np.float64), model.rot_coord, model.rot_gain * DEG, model.rot_joint,
            np.r_[0, np.cumsum(trans_count)[:-1]], trans_count, trans_axis, model.trans_coord,
            model.site_body, model.local, par.owner, par.linear, par.quadratic, par.fixed,
            par.lower, par.upper, plan.rot.index, plan.rot.marker, plan.trans.index, plan.trans.marker,
            nonzero, counts)

    def arrays(self) -> tuple:
        return tuple(np.ascontiguousarray(getattr(self, f)) for f in self.__dataclass_fields__)


def _nonzero(model: BodyModel, par: Parametrisation, plan) -> tuple[np.ndarray, np.ndarray]:
    """(M, K) sorted solved coordinates moving each marker (padded with -1) and (M,) their counts."""
    sets: list[set[int]] = [set() for _ in range(model.num_markers)]
    for index, marker, coords in ((plan.rot.index, plan.rot.marker, model.rot_coord),
                                  (plan.trans.index, plan.trans.marker, model.trans_coord)):
        for k, m in zip(par.owner[coords[index]], marker):  # a few hundred pairs, once per solve
            sets[m].add(int(k))
    width = max([len(s) for s in sets] + [1])
    out = np.full((model.num_markers, width), -1, np.int64)
    for m, s in enumerate(sets):
        out[m, :len(s)] = sorted(s)
    return out, np.array([len(s) for s in sets], np.int64)


def solve_frames(tables: Tables, p: np.ndarray, obs: np.ndarray, w: np.ndarray, max_iterations: int,
                 tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded LM of every frame from p (T, n); obs (T, M, 3) m OpenSim frame; w (T, M).

    Returns:
        p (T, n), cost (T,) m^2, iterations (T,).
    """
    p = np.ascontiguousarray(p, np.float64).copy()
    cost = np.empty(len(p))
    its = np.zeros(len(p), np.int64)
    run = _lm_all if len(p) >= PARALLEL_FRAMES else _lm_serial
    run(p, np.ascontiguousarray(obs, np.float64), np.ascontiguousarray(w, np.float64), max_iterations, tolerance,
        cost, its, *tables.arrays())
    return p, cost, its


@numba.njit(parallel=True, cache=True)
def _lm_all(p, obs, w, max_iterations, tolerance, cost, its, parent, rest, offset, rot_start, rot_count, rot_axis,
            rot_coord, rot_gain, rot_joint, trans_start, trans_count, trans_axis, trans_coord, site_body, local, owner,
            linear, quadratic, fixed, lower, upper, pair_rot, pair_rot_marker, pair_trans, pair_trans_marker, nonzero,
            nonzero_count):  # pragma: no cover - compiled
    for i in numba.prange(p.shape[0]):
        cost[i], its[i] = _lm(p[i], obs[i], w[i], max_iterations, tolerance, parent, rest, offset, rot_start,
                              rot_count, rot_axis, rot_coord, rot_gain, rot_joint, trans_start, trans_count,
                              trans_axis, trans_coord, site_body, local, owner, linear, quadratic, fixed, lower,
                              upper, pair_rot, pair_rot_marker, pair_trans, pair_trans_marker, nonzero, nonzero_count)


@numba.njit(cache=True)
def _lm_serial(p, obs, w, max_iterations, tolerance, cost, its, parent, rest, offset, rot_start, rot_count, rot_axis,
            rot_coord, rot_gain, rot_joint, trans_start, trans_count, trans_axis, trans_coord, site_body, local, owner,
            linear, quadratic, fixed, lower, upper, pair_rot, pair_rot_marker, pair_trans, pair_trans_marker, nonzero,
            nonzero_count):  # pragma: no cover - compiled
    for i in range(p.shape[0]):
        cost[i], its[i] = _lm(p[i], obs[i], w[i], max_iterations, tolerance, parent, rest, offset, rot_start,
                              rot_count, rot_axis, rot_coord, rot_gain, rot_joint, trans_start, trans_count,
                              trans_axis, trans_coord, site_body, local, owner, linear, quadratic, fixed, lower,
                              upper, pair_rot, pair_rot_marker, pair_trans, pair_trans_marker, nonzero, nonzero_count)


@numba.njit(cache=True)
def _lm(p, obs, w, max_iterations, tolerance, parent, rest, offset, rot_start, rot_count, rot_axis, rot_coord,
        rot_gain, rot_joint, trans_start, trans_count, trans_axis, trans_coord, site_body, local, owner, linear,
        quadratic, fixed, lower, upper, pair_rot, pair_rot_marker, pair_trans, pair_trans_marker, nonzero,
        nonzero_count):  # pragma: no cover - compiled
    n, m, b = p.shape[0], obs.shape[0], parent.shape[0]
    nr, nt = rot_axis.shape[0], trans_axis.shape[0]
    q, gain = np.empty(owner.shape[0]), np.empty(owner.shape[0])
    R, P = np.empty((b, 3, 3)), np.empty((b, 3))
    raxis, taxis, x = np.empty((nr, 3)), np.empty((nt, 3)), np.empty((m, 3))
    jac, hess, grad, work = np.zeros((n, m, 3)), np.zeros((n, n)), np.zeros(n), np.empty((n, n))
    trial = np.empty(n)
    for k in range(n):
        p[k] = min(max(p[k], lower[k]), upper[k])
    damping, nu, current, new, it = 1e-3, 2.0, 0.0, 0.0, 0
    while it < max_iterations:
        _pose(p, q, gain, R, P, raxis, taxis, parent, rest, offset, rot_start, rot_count, rot_axis, rot_coord,
              rot_gain, trans_start, trans_count, trans_axis, trans_coord, owner, linear, quadratic, fixed)
        current = _markers(R, P, site_body, local, obs, w, x)
        _normal(x, obs, w, gain, P, raxis, taxis, jac, hess, grad, rot_coord, rot_gain, rot_joint, trans_coord,
                owner, pair_rot, pair_rot_marker, pair_trans, pair_trans_marker, nonzero, nonzero_count)
        predicted = _step(p, hess, grad, damping, lower, upper, trial, work)
        _pose(trial, q, gain, R, P, raxis, taxis, parent, rest, offset, rot_start, rot_count, rot_axis, rot_coord,
              rot_gain, trans_start, trans_count, trans_axis, trans_coord, owner, linear, quadratic, fixed)
        new = _markers(R, P, site_body, local, obs, w, x)
        better = new < current
        if better:
            ratio = min(max((current - new) / max(predicted, 1e-300), 0.0), 1.0)
            damping *= max(1.0 / 3.0, 1.0 - (2.0 * ratio - 1.0) ** 3)
            nu = 2.0
            p[:] = trial
        else:
            damping *= nu
            nu *= 2.0
        it += 1
        small = tolerance * current
        if predicted <= small or (better and current - new <= small) or current <= 1e-16 or damping > 1e10:
            break
        if better:
            current = new
    if it > 0 and new < current:
        current = new
    return current, it


@numba.njit(cache=True)
def _pose(p, q, gain, R, P, raxis, taxis, parent, rest, offset, rot_start, rot_count, rot_axis, rot_coord,
          rot_gain, trans_start, trans_count, trans_axis, trans_coord, owner, linear, quadratic, fixed
          ):  # pragma: no cover - compiled
    """Coordinates, their gains, body poses and world axes at solved coordinates p."""
    for c in range(q.shape[0]):
        k = owner[c]
        if k >= 0:
            v = p[k]
            q[c] = linear[c] * v + quadratic[c] * v * v
            gain[c] = linear[c] + 2.0 * quadratic[c] * v
        else:
            q[c] = fixed[c]
            gain[c] = 0.0
    parent_r, frame, rq, tmp = np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3))
    shift = np.empty(3)
    for i in range(parent.shape[0]):
        j = parent[i]
        for a in range(3):
            for c in range(3):
                parent_r[a, c] = R[j, a, c] if j >= 0 else (1.0 if a == c else 0.0)
            shift[a] = offset[i, a]
        for k in range(trans_start[i], trans_start[i] + trans_count[i]):
            for a in range(3):
                shift[a] += q[trans_coord[k]] * trans_axis[k, a]
                taxis[k, a] = parent_r[a, 0] * trans_axis[k, 0] + parent_r[a, 1] * trans_axis[k, 1] \
                    + parent_r[a, 2] * trans_axis[k, 2]
        _matmul(parent_r, rest[i], frame)
        for r in range(rot_start[i], rot_start[i] + rot_count[i]):
            for a in range(3):
                raxis[r, a] = frame[a, 0] * rot_axis[r, 0] + frame[a, 1] * rot_axis[r, 1] + frame[a, 2] * rot_axis[r, 2]
            _rodrigues(rot_axis[r], rot_gain[r] * q[rot_coord[r]], rq)
            tmp[:] = frame
            _matmul(tmp, rq, frame)
        for a in range(3):
            P[i, a] = (P[j, a] if j >= 0 else 0.0) + parent_r[a, 0] * shift[0] + parent_r[a, 1] * shift[1] \
                + parent_r[a, 2] * shift[2]
            for c in range(3):
                R[i, a, c] = frame[a, c]


@numba.njit(cache=True)
def _markers(R, P, site_body, local, obs, w, x):  # pragma: no cover - compiled
    """Marker positions into x (M, 3); returns the weighted sum of squared errors."""
    total = 0.0
    for m in range(x.shape[0]):
        bd = site_body[m]
        for a in range(3):
            x[m, a] = P[bd, a] + R[bd, a, 0] * local[m, 0] + R[bd, a, 1] * local[m, 1] + R[bd, a, 2] * local[m, 2]
        if w[m] > 0.0:
            total += w[m] * ((x[m, 0] - obs[m, 0]) ** 2 + (x[m, 1] - obs[m, 1]) ** 2 + (x[m, 2] - obs[m, 2]) ** 2)
    return total


@numba.njit(cache=True)
def _normal(x, obs, w, gain, P, raxis, taxis, jac, hess, grad, rot_coord, rot_gain, rot_joint, trans_coord, owner,
            pair_rot, pair_rot_marker, pair_trans, pair_trans_marker, nonzero, nonzero_count
            ):  # pragma: no cover - compiled
    """Jacobian (n, M, 3), then J^T W J and J^T W e accumulated marker by marker."""
    jac[:] = 0.0
    for i in range(pair_rot.shape[0]):
        r, m = pair_rot[i], pair_rot_marker[i]
        k = owner[rot_coord[r]]
        f = rot_gain[r] * gain[rot_coord[r]]
        o = rot_joint[r]
        d0, d1, d2 = x[m, 0] - P[o, 0], x[m, 1] - P[o, 1], x[m, 2] - P[o, 2]
        jac[k, m, 0] += f * (raxis[r, 1] * d2 - raxis[r, 2] * d1)
        jac[k, m, 1] += f * (raxis[r, 2] * d0 - raxis[r, 0] * d2)
        jac[k, m, 2] += f * (raxis[r, 0] * d1 - raxis[r, 1] * d0)
    for i in range(pair_trans.shape[0]):
        t, m = pair_trans[i], pair_trans_marker[i]
        k = owner[trans_coord[t]]
        f = gain[trans_coord[t]]
        for a in range(3):
            jac[k, m, a] += f * taxis[t, a]
    hess[:] = 0.0
    grad[:] = 0.0
    for m in range(x.shape[0]):
        if w[m] <= 0.0:
            continue
        e0, e1, e2 = x[m, 0] - obs[m, 0], x[m, 1] - obs[m, 1], x[m, 2] - obs[m, 2]
        for ia in range(nonzero_count[m]):
            a = nonzero[m, ia]
            grad[a] += w[m] * (jac[a, m, 0] * e0 + jac[a, m, 1] * e1 + jac[a, m, 2] * e2)
            for ib in range(ia, nonzero_count[m]):
                c = nonzero[m, ib]
                hess[a, c] += w[m] * (jac[a, m, 0] * jac[c, m, 0] + jac[a, m, 1] * jac[c, m, 1]
                                      + jac[a, m, 2] * jac[c, m, 2])
    for a in range(hess.shape[0]):
        for c in range(a + 1, hess.shape[0]):
            hess[c, a] = hess[a, c]


@numba.njit(cache=True)
def _step(p, hess, grad, damping, lower, upper, trial, a):  # pragma: no cover - compiled
    """Damped, bounded step into ``trial`` (``a``: (n, n) workspace); returns the cost decrease the
    Gauss-Newton model predicts for it."""
    n = p.shape[0]
    for i in range(n):
        pinned = (p[i] <= lower[i] and grad[i] > 0.0) or (p[i] >= upper[i] and grad[i] < 0.0)
        for j in range(n):
            a[i, j] = hess[i, j]
        a[i, i] += damping * hess[i, i] + FLOOR
        trial[i] = -grad[i]
        if pinned:
            for j in range(n):
                a[i, j] = 0.0
                a[j, i] = 0.0
            a[i, i] = 1.0
            trial[i] = 0.0
    _cholesky_solve(a, trial)  # trial holds the step now
    predicted = 0.0
    for i in range(n):
        step = min(max(p[i] + trial[i], lower[i]), upper[i]) - p[i]
        trial[i] = step
    for i in range(n):
        predicted -= 2.0 * grad[i] * trial[i]
        for j in range(n):
            predicted -= trial[i] * hess[i, j] * trial[j]
    for i in range(n):
        trial[i] += p[i]
    return predicted


@numba.njit(cache=True)
def _cholesky_solve(a, b):  # pragma: no cover - compiled
    """Solve a x = b in place (x into b) for symmetric positive definite a (n, n), overwritten by L."""
    n = a.shape[0]
    for j in range(n):
        d = a[j, j]
        for k in range(j):
            d -= a[j, k] * a[j, k]
        d = np.sqrt(max(d, 1e-300))
        a[j, j] = d
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            a[i, j] = s / d
    for i in range(n):  # L y = b
        s = b[i]
        for k in range(i):
            s -= a[i, k] * b[k]
        b[i] = s / a[i, i]
    for i in range(n - 1, -1, -1):  # L^T x = y
        s = b[i]
        for k in range(i + 1, n):
            s -= a[k, i] * b[k]
        b[i] = s / a[i, i]


@numba.njit(cache=True)
def _matmul(a, b, out):  # pragma: no cover - compiled
    for i in range(3):
        for j in range(3):
            out[i, j] = a[i, 0] * b[0, j] + a[i, 1] * b[1, j] + a[i, 2] * b[2, j]


@numba.njit(cache=True)
def _rodrigues(axis, angle, out):  # pragma: no cover - compiled
    """Rotation by ``angle`` rad about unit ``axis`` (3,) into out (3, 3)."""
    s, c = np.sin(angle), np.cos(angle)
    x, y, z = axis[0], axis[1], axis[2]
    v = 1.0 - c
    out[0, 0], out[0, 1], out[0, 2] = c + x * x * v, x * y * v - z * s, x * z * v + y * s
    out[1, 0], out[1, 1], out[1, 2] = y * x * v + z * s, c + y * y * v, y * z * v - x * s
    out[2, 0], out[2, 1], out[2, 2] = z * x * v - y * s, z * y * v + x * s, c + z * z * v
