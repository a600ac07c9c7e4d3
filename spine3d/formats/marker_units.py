"""Plausibility of 3D markers read as metres: finite values and a body-sized spread.

A person's markers span a bounding box whose diagonal is between :data:`MIN_SPREAD` and
:data:`MAX_SPREAD` metres (the 15 SIMSPINE markers, hip to head, about 0.6-0.8 m; a whole body about
2 m). Markers stored in millimetres or centimetres read as metres are 1000 or 100 times larger; values
in metres under a ``Units mm`` TRC header 1000 times smaller. :func:`check_metres` (ground-truth
data: a whole person) names the likely unit; marker files of any kind (a few markers, an estimate)
are held to the looser :data:`MIN_ANY_SPREAD` .. :data:`MAX_ANY_SPREAD`, which a factor of 1000 still breaks.
"""

from __future__ import annotations

import os

import numpy as np

from spine3d.errors import InputError

MIN_SPREAD, MAX_SPREAD = 0.3, 3.0  # m, bounding-box diagonal of one person's markers in a frame
# m, the spread any marker file may have (a few markers, a poor estimate): a 1000x unit mix-up falls outside
MIN_ANY_SPREAD, MAX_ANY_SPREAD = 0.03, 30.0
MIN_MARKERS_FOR_SIZE = 9  # fewer markers may legitimately span less than MIN_SPREAD (a few vertebrae)
_UNITS = (("millimetres", 1e-3), ("centimetres", 1e-2), ("metres", 1.0), ("kilometres", 1e3))


def marker_spread(markers: np.ndarray) -> float:
    """Median over frames of the bounding-box diagonal of the finite markers, m; NaN when undefined.

    Args:
        markers: (T, K, 3) positions.
    """
    pts = np.asarray(markers, dtype=np.float64)
    finite = np.isfinite(pts).all(axis=-1)  # (T, K)
    rows = finite.sum(axis=1) >= 2
    if not rows.any():
        return float("nan")
    lo = np.where(finite[..., None], pts, np.inf).min(axis=1)[rows]
    hi = np.where(finite[..., None], pts, -np.inf).max(axis=1)[rows]
    return float(np.median(np.linalg.norm(hi - lo, axis=-1)))


def likely_unit(spread: float) -> str:
    """The unit in which a spread read as metres would be body-sized (e.g. "millimetres")."""
    for name, metres in _UNITS:
        if MIN_SPREAD <= spread * metres <= MAX_SPREAD:
            return name
    return "an unknown unit"


def check_metres(markers: np.ndarray, where: str, path: str | os.PathLike | None = None) -> None:
    """InputError naming ``where`` (e.g. ``"S1/Walking/markers"``) for infinite values or a spread no
    person has in metres (with the unit the values look like)."""
    pts = np.asarray(markers)
    if np.isinf(pts).any():
        raise InputError(f"{where} holds infinite values (use NaN for missing markers)", path)
    spread = marker_spread(pts)
    small = spread < MIN_SPREAD and pts.shape[-2] >= MIN_MARKERS_FOR_SIZE
    if spread > MAX_SPREAD or small:
        raise InputError(f"{where}: the markers span {spread:.4g} per frame, which is no person in metres; they look "
                         f"like {likely_unit(spread)} (convert to metres)", path)
