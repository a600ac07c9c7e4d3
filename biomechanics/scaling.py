"""Scaling: fit the body's dimensions to a capture.

The body has six dimension parameters (:func:`spine3d.data.synth.body.body_dims`): stature and the
relative leg, trunk, arm, width and spinal-curvature factors. They are fitted to a few frames of the
capture (the most complete ones, spread over the trial, or a static trial's) by nested least squares
(``scipy.optimize.least_squares``): for candidate dimensions, inverse kinematics of those frames gives
the marker residuals, which the outer fit reduces. A Gaussian prior keeps each factor near 1 (SD
``prior_sigma``), so a dimension no marker measures stays at the average adult's. The start is the
stature at which the body's pose-independent marker distances (pairs on one segment, or across one
joint centre) match the capture's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from spine3d.biomechanics.config import ScalingOptions, SolverOptions
from spine3d.biomechanics.coupling import Parametrisation
from spine3d.biomechanics.model import BodyModel
from spine3d.biomechanics.solver import IKSolver, nan_rms
from spine3d.data.synth.body import BodyDims, body_dims
from spine3d.errors import InputError
from spine3d.formats.simspine_schema import world_to_file

logger = logging.getLogger(__name__)

PARAMETERS = ("height", "legs", "trunk", "arms", "width", "curvature")
_LOWER = np.array([1.2, 0.8, 0.8, 0.8, 0.7, 0.3])
_UPPER = np.array([2.2, 1.2, 1.2, 1.2, 1.3, 1.7])
_REFERENCE_HEIGHT = 1.70  # m, stature of the body the start is measured against
_TIGHT = SolverOptions(max_iterations=60, tolerance=1e-12, levels=1)  # smooth residuals for the outer fit


@dataclass(frozen=True)
class ScaleResult:
    """Fitted dimensions and how well the scaled body reaches the markers.

    Attributes:
        dims: the fitted body. values: PARAMETERS -> fitted value (m for height, else relative).
        frames: (K,) the frames fitted.
        residual_mm: marker -> RMS distance (mm) over the fitted frames after scaling.
        rms_mm: RMS over every marker and fitted frame (mm).
        start_height: m, the starting stature.
    """

    dims: BodyDims
    values: dict[str, float]
    frames: np.ndarray
    residual_mm: dict[str, float]
    rms_mm: float
    start_height: float


def pick_frames(evidence: np.ndarray, count: int) -> np.ndarray:
    """(K,) frames to fit: among those with the most markers present, ``count`` spread evenly."""
    present = (evidence > 0).sum(axis=1)
    if present.max(initial=0) == 0:
        raise InputError("no frame has any marker")
    full = np.flatnonzero(present >= present.max())
    if len(full) < count:
        full = np.sort(np.argsort(-present, kind="stable")[:count])
    return full[np.unique(np.linspace(0, len(full) - 1, min(count, len(full))).round().astype(int))]


def fit_body(markers: np.ndarray, weights: np.ndarray, names: tuple[str, ...], par: Parametrisation,
             options: ScalingOptions = ScalingOptions(), frames: np.ndarray | None = None) -> ScaleResult:
    """Fit the body dimensions to markers (T, M, 3) m world Z-up with weights (T, M); see the module docstring."""
    frames = pick_frames(weights, options.frames) if frames is None else np.asarray(frames)
    obs, w = markers[frames], weights[frames]
    start = np.array([start_height(obs, w, names), 1.0, 1.0, 1.0, 1.0, 1.0])
    state = {"q": None}
    prior = np.sqrt(len(frames)) * options.prior_mm / 1000.0 / options.prior_sigma

    def residuals(x: np.ndarray) -> np.ndarray:
        model = BodyModel(_dims(x), names)
        result = IKSolver(model, par, _TIGHT).solve(obs, w, initial=state["q"])
        state["q"] = result.q
        error = model.markers(model.forward(result.q)) - np.nan_to_num(world_to_file(obs))
        return np.concatenate([(np.sqrt(w)[..., None] * error).ravel(), prior * (x[1:] - 1.0)])

    state["q"] = _first_pose(obs, w, names, par, start)
    fit = least_squares(residuals, start, bounds=(_LOWER, _UPPER), x_scale=np.r_[0.1, 0.05 * np.ones(5)],
                        diff_step=1e-4, xtol=1e-6, ftol=1e-8)
    dims = _dims(fit.x)
    model = BodyModel(dims, names)
    result = IKSolver(model, par, _TIGHT).solve(obs, w, initial=state["q"])
    error = result.marker_error * 1000.0
    per_marker = nan_rms(error, axis=0)
    return ScaleResult(dims, dict(zip(PARAMETERS, map(float, fit.x))), frames,
                       {n: float(v) for n, v in zip(names, per_marker) if np.isfinite(v)},
                       float(nan_rms(error)), float(start[0]))


def start_height(markers: np.ndarray, weights: np.ndarray, names: tuple[str, ...]) -> float:
    """Stature (m) at which the reference body's pose-independent marker distances match the capture's."""
    model = BodyModel(body_dims(_REFERENCE_HEIGHT), names)
    i, j = rigid_pairs(model)
    present = weights > 0
    both = present[:, i] & present[:, j]
    if not both.any():
        return _REFERENCE_HEIGHT
    data = np.linalg.norm(markers[:, i] - markers[:, j], axis=-1)[both]
    rest = model.world_markers(np.zeros((1, 62)))[0]
    ref = np.broadcast_to(np.linalg.norm(rest[i] - rest[j], axis=-1), both.shape)[both]
    return float(np.clip(_REFERENCE_HEIGHT * np.median(data / ref), _LOWER[0], _UPPER[0]))


def rigid_pairs(model: BodyModel, samples: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Marker pairs (i, j), i < j, whose distance the body keeps in every pose (and is at least 5 cm)."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(-40.0, 40.0, (samples, 62))
    x = model.world_markers(q)
    dist = np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)  # (S, M, M)
    i, j = np.triu_indices(model.num_markers, 1)
    keep = (np.ptp(dist[:, i, j], axis=0) < 1e-9) & (dist[0, i, j] > 0.05)
    return i[keep], j[keep]


def _first_pose(obs: np.ndarray, w: np.ndarray, names: tuple[str, ...], par: Parametrisation,
                x: np.ndarray) -> np.ndarray:
    """IK of the fitted frames with the starting dimensions (the warm start of every later solve)."""
    return IKSolver(BodyModel(_dims(x), names), par).solve(obs, w).q


def _dims(x: np.ndarray) -> BodyDims:
    height, legs, trunk, arms, width, curvature = (float(v) for v in x)
    return body_dims(height, legs=legs, trunk=trunk, arms=arms, width=width, curvature=curvature)
