"""Which solved coordinates the available markers can see.

A coordinate is observed when moving it moves some marker the input has: its Jacobian column is
non-zero at some pose. This is checked numerically at random poses inside the bounds, because
"downstream" is not enough: a wrist marker on the forearm's long axis does not move with pronation.
Coordinates nobody sees are held at 0 by both backends, rather than left to numerical drift.
"""

from __future__ import annotations

import numpy as np

from spine3d.biomechanics.coupling import Parametrisation
from spine3d.biomechanics.model import BodyModel

_SAMPLES = 8
_MIN_MOTION = 1e-6  # m per degree (per metre): below this no marker moves


def observed(model: BodyModel, par: Parametrisation, present: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n,) bool: the solved coordinates that move at least one present marker.

    Args:
        model: the body and its markers (M); par: the parametrisation.
        present: (M,) bool, the markers the input has (in at least one frame).
        seed: seed of the random poses.
    """
    rng = np.random.default_rng(seed)
    lo = np.where(np.isfinite(par.lower), par.lower, -30.0)
    hi = np.where(np.isfinite(par.upper), par.upper, 30.0)
    p = rng.uniform(lo, hi, (_SAMPLES, par.size))
    pose = model.forward(par.expand(p))
    x = model.markers(pose)
    jac = model.jacobian(pose, x, par.derivative(p), model.plan(par.owner, par.size))  # (S, n, M, 3)
    motion = np.linalg.norm(jac[:, :, present], axis=-1).max(axis=(0, 2)) if present.any() else np.zeros(par.size)
    return motion > _MIN_MOTION
