"""A first guess for inverse kinematics: the pelvis placed on the markers, every joint at 0.

The pelvis origin is the Hip marker (the mid-point of the hip joint centres when Hip is absent); its
right-pointing axis comes from the hip markers (else from a left/right pair on the torso) and its
up axis from the pelvis towards the neck. Frames lacking the markers take the nearest frame's guess.
"""

from __future__ import annotations

import numpy as np

from spine3d.data.synth.kinematics import AXIS, zxy_angles

# Left/right pairs that give the body's right-pointing axis, in order of preference.
_SIDES = (("LHip", "RHip"), ("LShoulder", "RShoulder"), ("LClavicle", "RClavicle"), ("LLatissimus", "RLatissimus"))
_UP = ("Neck", "Spine_05", "Neck_02", "Spine_04", "Head")


def initial_coordinates(markers: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(T, 62) coordinates (deg; m): pelvis on the markers, joints at 0.

    Args:
        markers: (T, M, 3) m, OpenSim frame (Y-up); NaN = missing.
        names: (M,) marker names (SIMSPINE-37 vocabulary).
    """
    t = len(markers)
    get = {n: markers[:, i] for i, n in enumerate(names)}
    origin = _first(get, ("Hip",))
    if "LHip" in get and "RHip" in get:
        origin = np.where(np.isfinite(origin), origin, 0.5 * (get["LHip"] + get["RHip"]))
    origin = np.where(np.isfinite(origin), origin, np.nanmedian(markers, axis=1))
    right = _first(get, _SIDES, pair=True)
    up = _first(get, _UP) - origin
    rotation = _frame(right, up)
    q = np.zeros((t, len(AXIS)))
    q[:, [AXIS["pelvis_tx"], AXIS["pelvis_ty"], AXIS["pelvis_tz"]]] = _fill(origin)
    q[:, [AXIS["pelvis_tilt"], AXIS["pelvis_list"], AXIS["pelvis_rotation"]]] = zxy_angles(_fill(rotation))
    return q


def _first(get: dict[str, np.ndarray], options: tuple, pair: bool = False) -> np.ndarray:
    """(T, 3) per frame, the first option present (a pair gives right minus left); NaN when none is."""
    out = None
    for option in options:
        if pair:
            left, right = option
            if left not in get or right not in get:
                continue
            value = get[right] - get[left]
        elif option in get:
            value = get[option]
        else:
            continue
        out = value if out is None else np.where(np.isfinite(out), out, value)
    return np.full((len(next(iter(get.values()))), 3), np.nan) if out is None else out


def _frame(right: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotation with columns x anterior, y up, z right; identity rows where undefined."""
    up = np.where(np.isfinite(up), up, [0.0, 1.0, 0.0])
    z = right - (right * up).sum(-1, keepdims=True) * up / np.maximum((up * up).sum(-1, keepdims=True), 1e-12)
    y = up / np.linalg.norm(up, axis=-1, keepdims=True)
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1)


def _fill(values: np.ndarray) -> np.ndarray:
    """Replace frames holding NaN by the nearest valid frame (the identity / origin when none is valid)."""
    flat = values.reshape(len(values), -1)
    valid = np.isfinite(flat).all(axis=1)
    if valid.all():
        return values
    if not valid.any():
        default = np.eye(3) if values.ndim == 3 else np.zeros(3)
        return np.broadcast_to(default, values.shape).copy()
    good = np.flatnonzero(valid)
    nearest = good[np.clip(np.searchsorted(good, np.arange(len(values))), 0, len(good) - 1)]
    before = good[np.clip(np.searchsorted(good, np.arange(len(values))) - 1, 0, len(good) - 1)]
    pick = np.where(np.abs(before - np.arange(len(values))) < np.abs(nearest - np.arange(len(values))), before, nearest)
    return values[pick]
