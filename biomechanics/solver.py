"""Batched inverse kinematics: bounded Levenberg-Marquardt over all frames at once, warm-started.

The problem is OpenSim's (InverseKinematicsSolver with infinite constraint weight): per frame,
minimise ``sum_m w_m |x_m(q) - x_obs_m|^2`` over the solved coordinates p, with q = expand(p) (the
couplings hold exactly, :mod:`spine3d.biomechanics.coupling`), p inside its bounds, and markers
missing in a frame (NaN, weight 0) left out of that frame.

Every frame takes its own Levenberg-Marquardt steps (Marquardt's diagonal scaling; damping updated
per frame from the gain ratio, Nielsen's rule: Madsen, Nielsen & Tingleff, Methods for Non-Linear
Least Squares Problems, 2004, 3.2), all frames of a chunk in one set
of array operations. Bounds: a coordinate at a bound whose gradient points outwards is frozen for
the step, and every step is projected onto the box. Warm starts run coarse to fine in time: frames
at stride 2^(levels-1) first (from the pelvis-on-markers guess and from ``restarts`` random joint
angles, then each retried from its neighbours' solutions; the lowest cost wins), then each finer level starts from the linear
interpolation of the frames already solved and is retried from its two solved neighbours' solutions
(the better of the three starts wins: a neighbour that found another basin passes it on); frames whose
cost stays far above their level's median get the random restarts as well.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from spine3d.biomechanics.config import SolverOptions
from spine3d.biomechanics.coupling import Parametrisation
from spine3d.biomechanics.initial import initial_coordinates
from spine3d.biomechanics.kernel import Tables, solve_frames
from spine3d.biomechanics.model import BodyModel
from spine3d.data.synth.coordinates import TRANSLATIONS
from spine3d.errors import InputError
from spine3d.formats.simspine_schema import world_to_file

logger = logging.getLogger(__name__)

_FLOOR = 1e-9  # curvature added to every diagonal entry: coordinates no marker sees in a frame stay put
_NEIGHBOUR_SWEEPS = 3  # passes of "restart each coarse frame from its neighbour's solution"
_BASIN = 5.0  # deg: neighbours' solutions closer than this are not tried as starts
_SUSPICIOUS = 2.0  # finer-level frames costing this many times their level's median get random restarts too


@dataclass(frozen=True)
class IKResult:
    """Inverse kinematics of T frames.

    Attributes:
        q: (T, 62) coordinates in KINEMATIC_AXES order, deg (pelvis_t*, Abs_t* m).
        marker_error: (T, M) m, distance between each model marker and its observation (NaN: missing).
        rms: (T,) m, root mean square of marker_error over the markers present in the frame.
        cost: (T,) m^2, the weighted sum of squares minimised.
        iterations: (T,) Levenberg-Marquardt iterations of each frame's last solve.
        seconds: wall time of the solve.
    """

    q: np.ndarray
    marker_error: np.ndarray
    rms: np.ndarray
    cost: np.ndarray
    iterations: np.ndarray
    seconds: float


class IKSolver:
    """Batched inverse kinematics of one body with one parametrisation.

    Args:
        model: the body and its markers (M).
        par: the solved coordinates and couplings.
        options: iterations, tolerance, warm-start levels, chunk size.
    """

    def __init__(self, model: BodyModel, par: Parametrisation, options: SolverOptions = SolverOptions()) -> None:
        self.model, self.par, self.options = model, par, options
        self.plan = model.plan(par.owner, par.size)
        self.tables = Tables.build(model, par) if options.compiled else None
        self._angles = ~np.isin(par.names, TRANSLATIONS)

    # ---- the objective ---------------------------------------------------------------------------
    def cost(self, p: np.ndarray, obs: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(T,) weighted sum of squared marker errors (m^2) at solved coordinates p (T, n)."""
        x = self.model.markers(self.model.forward(self.par.expand(p)))
        return (w * ((x - obs) ** 2).sum(-1)).sum(-1)

    def linearise(self, p: np.ndarray, obs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cost (T,), Gauss-Newton matrix J^T W J (T, n, n) and gradient J^T W e (T, n) at p (T, n).

        obs: (T, M, 3) m observed markers, OpenSim frame (any finite value where w = 0); w: (T, M).
        """
        pose = self.model.forward(self.par.expand(p))
        x = self.model.markers(pose)
        e = x - obs
        cost = (w * (e ** 2).sum(-1)).sum(-1)
        jac = self.model.jacobian(pose, x, self.par.derivative(p), self.plan)  # (T, n, M, 3)
        t, n = jac.shape[:2]
        weighted = (jac * w[:, None, :, None]).reshape(t, n, -1)
        flat = jac.reshape(t, n, -1)
        return cost, weighted @ flat.transpose(0, 2, 1), (weighted @ e.reshape(t, -1, 1))[..., 0]

    # ---- Levenberg-Marquardt ---------------------------------------------------------------------
    def refine(self, p: np.ndarray, obs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bounded LM from p (T, n); returns (p, cost (T,), iterations (T,)), chunk by chunk."""
        if self.tables is not None:
            return solve_frames(self.tables, p, obs, w, self.options.max_iterations, self.options.tolerance)
        p, cost, its = p.copy(), np.empty(len(p)), np.zeros(len(p), int)
        step = self.options.chunk_frames
        for start in range(0, len(p), step):  # chunks bound the memory of the Jacobians
            sl = slice(start, start + step)
            p[sl], cost[sl], its[sl] = self._refine_chunk(p[sl], obs[sl], w[sl])
        return p, cost, its

    def _refine_chunk(self, p: np.ndarray, obs: np.ndarray, w: np.ndarray):
        lo, hi, opts = self.par.lower, self.par.upper, self.options
        p = np.clip(p, lo, hi)
        damping, nu = np.full(len(p), 1e-3), np.full(len(p), 2.0)
        cost = np.empty(len(p))
        its = np.zeros(len(p), int)
        active = np.arange(len(p))
        for _ in range(opts.max_iterations):  # iterations, each vectorised over the active frames
            if not len(active):
                break
            c, hess, grad = self.linearise(p[active], obs[active], w[active])
            cost[active] = c
            trial = np.clip(p[active] + _step(hess, grad, damping[active], p[active], lo, hi), lo, hi)
            delta = trial - p[active]
            # decrease of the cost that the Gauss-Newton model predicts for the (projected) step
            predicted = -2.0 * (grad * delta).sum(-1) - np.einsum("ti,tij,tj->t", delta, hess, delta)
            new = self.cost(trial, obs[active], w[active])
            better = new < c
            p[active[better]], cost[active[better]] = trial[better], new[better]
            # Nielsen's damping update from the gain ratio (actual / predicted decrease)
            gain = (c - new) / np.maximum(predicted, 1e-300)
            grow = np.maximum(1.0 / 3.0, 1.0 - (2.0 * np.clip(gain, 0.0, 1.0) - 1.0) ** 3)
            damping[active] *= np.where(better, grow, nu[active])
            nu[active] = np.where(better, 2.0, nu[active] * 2.0)
            its[active] += 1
            small = opts.tolerance * c
            done = (predicted <= small) | (better & (c - new <= small)) | (c <= 1e-16) | (damping[active] > 1e10)
            active = active[~done]
        return p, cost, its

    # ---- the whole trial -------------------------------------------------------------------------
    def solve(self, markers: np.ndarray, weights: np.ndarray, initial: np.ndarray | None = None,
              progress: bool = False) -> IKResult:
        """Inverse kinematics of a trial.

        Args:
            markers: (T, M, 3) m, world frame (Z-up), in the model's marker order; NaN = missing.
            weights: (T, M) >= 0 marker weights (0: ignored in that frame).
            initial: (T, 62) starting coordinates (deg; m) instead of the warm-start pyramid.
            progress: tqdm bar over the warm-start levels.
        """
        t0 = time.perf_counter()
        obs, w = self._observations(markers, weights)
        if initial is not None:
            p, cost, its = self.refine(self.par.reduce(initial), obs, w)
        else:
            p, cost, its = self._pyramid(obs, w, np.where(w[..., None] > 0, obs, np.nan), progress)
        q = self.par.expand(p)
        x = self.model.markers(self.model.forward(q))
        error = np.where(w > 0, np.linalg.norm(x - obs, axis=-1), np.nan)
        return IKResult(q, error, nan_rms(error, axis=1), cost, its, time.perf_counter() - t0)

    def _observations(self, markers: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        markers, weights = np.asarray(markers, np.float64), np.asarray(weights, np.float64)
        m = self.model.num_markers
        if markers.ndim != 3 or markers.shape[1:] != (m, 3) or weights.shape != markers.shape[:2]:
            raise InputError(f"markers must be (T, {m}, 3) and weights (T, {m}); got {markers.shape} and {weights.shape}")
        present = np.isfinite(markers).all(-1) & (weights > 0)
        return np.where(present[..., None], world_to_file(markers), 0.0), np.where(present, weights, 0.0)

    def _pyramid(self, obs: np.ndarray, w: np.ndarray, present: np.ndarray, progress: bool):
        """Warm-start levels (see module docstring); ``present``: obs with NaN where the weight is 0."""
        t = len(obs)
        guess = self.par.reduce(initial_coordinates(present, self.model.marker_names))
        p, cost, its = guess.copy(), np.full(t, np.inf), np.zeros(t, int)
        solved = np.zeros(t, bool)
        strides = [2 ** k for k in reversed(range(self.options.levels))]
        for level, stride in enumerate(tqdm(strides, desc="inverse kinematics", unit="level", disable=not progress)):
            frames = np.flatnonzero((np.arange(t) % stride == 0) & ~solved)
            if level > 0 and not len(frames):
                continue
            if level == 0:
                frames = np.union1d(frames, [t - 1])
                p[frames], cost[frames], its[frames] = self.refine(p[frames], obs[frames], w[frames])
                self._restarts(frames, p, cost, its, obs, w)
                self._neighbour_sweeps(frames, p, cost, obs, w)
            else:
                done = np.flatnonzero(solved)
                p[frames] = _interpolate(done, p[done], frames)
                p[frames], cost[frames], its[frames] = self.refine(p[frames], obs[frames], w[frames])
                for side in (-1, 0):  # also start each new frame from its solved neighbours' solutions
                    source = done[np.clip(np.searchsorted(done, frames) + side, 0, len(done) - 1)]
                    self._retry(frames, source, p, cost, its, obs, w)
                odd = frames[cost[frames] > _SUSPICIOUS * np.median(cost[frames])]
                self._restarts(odd, p, cost, its, obs, w)
            solved[frames] = True
        return p, cost, its

    def _neighbour_sweeps(self, frames: np.ndarray, p: np.ndarray, cost: np.ndarray, obs: np.ndarray,
                          w: np.ndarray) -> None:
        """Restart each frame from its neighbours' solutions (previous, then next); keep the lower cost."""
        for _ in range(_NEIGHBOUR_SWEEPS):
            improved = False
            for shift in (1, -1):
                keep = slice(1, None) if shift == 1 else slice(None, -1)
                improved |= self._retry(frames[keep], np.roll(frames, shift)[keep], p, cost, None, obs, w)
            if not improved:
                break

    def _restarts(self, frames: np.ndarray, p: np.ndarray, cost: np.ndarray, its: np.ndarray, obs: np.ndarray,
                  w: np.ndarray) -> None:
        """Solve ``frames`` again from random joint angles (half their ranges) and pelvis angles turned by up
        to 45 deg, keeping the lowest cost."""
        rng = np.random.default_rng(self.options.seed)
        angles = self._angles
        lo = np.where(np.isfinite(self.par.lower), 0.5 * self.par.lower, -45.0)  # pelvis: +-45 deg turns
        hi = np.where(np.isfinite(self.par.upper), 0.5 * self.par.upper, 45.0)
        for _ in range(self.options.restarts):
            start = p[frames].copy()
            pelvis = ~np.isfinite(self.par.lower) & angles
            draw = rng.uniform(lo, hi, (len(frames), len(lo)))
            start[:, angles & ~pelvis] = draw[:, angles & ~pelvis]
            start[:, pelvis] += draw[:, pelvis]
            trial, trial_cost, trial_its = self.refine(start, obs[frames], w[frames])
            better = trial_cost < cost[frames] * (1 - 1e-6)
            p[frames[better]], cost[frames[better]], its[frames[better]] = trial[better], trial_cost[better], \
                trial_its[better]

    def _retry(self, frames: np.ndarray, sources: np.ndarray, p: np.ndarray, cost: np.ndarray,
               its: np.ndarray | None, obs: np.ndarray, w: np.ndarray) -> bool:
        """Solve ``frames`` again starting from the solutions of ``sources``; keep what lowers the cost.

        Only frames whose solution is more than _BASIN deg (in some angle) from their source's are tried:
        a start that close lies in the same basin.
        """
        far = np.abs(p[sources] - p[frames])[:, self._angles].max(axis=1, initial=0.0) > _BASIN
        frames, sources = frames[far], sources[far]
        if not len(frames):
            return False
        trial, trial_cost, trial_its = self.refine(p[sources], obs[frames], w[frames])
        better = trial_cost < cost[frames] * (1 - 1e-6)
        p[frames[better]], cost[frames[better]] = trial[better], trial_cost[better]
        if its is not None:
            its[frames[better]] = trial_its[better]
        return bool(better.any())


def nan_rms(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Root mean square over ``axis`` ignoring NaN (NaN where nothing is left, without a warning)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(total.sum(axis=axis) / np.where(count > 0, count, np.nan))


def _step(hess: np.ndarray, grad: np.ndarray, damping: np.ndarray, p: np.ndarray, lo: np.ndarray,
          hi: np.ndarray) -> np.ndarray:
    """(T, n) LM step: (H + damping diag(H)) d = -g over the coordinates not pinned at a bound."""
    pinned = ((p <= lo) & (grad > 0)) | ((p >= hi) & (grad < 0))
    diag = np.diagonal(hess, axis1=1, axis2=2)
    a = hess + (damping[:, None] * diag + _FLOOR)[..., None] * np.eye(hess.shape[1])
    keep = ~pinned
    a = np.where(keep[:, :, None] & keep[:, None, :], a, np.eye(hess.shape[1]))
    rhs = np.where(keep, -grad, 0.0)
    return np.linalg.solve(a, rhs[..., None])[..., 0]


def _interpolate(known: np.ndarray, values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(F, n) values at ``frames`` linearly interpolated from (K, n) ``values`` at sorted ``known`` frames."""
    i = np.clip(np.searchsorted(known, frames) - 1, 0, max(len(known) - 2, 0))
    j = np.minimum(i + 1, len(known) - 1)
    span = np.maximum(known[j] - known[i], 1)
    u = np.clip((frames - known[i]) / span, 0.0, 1.0)[:, None]
    return values[i] + u * (values[j] - values[i])
