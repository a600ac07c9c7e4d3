"""Human3.6M 3D positions in VideoPose3D's ``data_3d_h36m.npz``.

The file holds one key, ``positions_3d``: a pickled dict ``subject -> action -> (T, 32, 3)``
array of motion-capture joints in the H36M_32 layout (:data:`spine3d.skeletons.H36M_32`), world
frame Z-up, metres, 50 Hz. Reading it needs ``allow_pickle``: only open files you trust.
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.npz import open_npz
from spine3d.io import atomic_path
from spine3d.skeletons import H36M_32

H36M_FPS = 50.0  # Hz, the motion-capture rate of data_3d_h36m.npz

Positions = dict[str, dict[str, np.ndarray]]


def validate_h36m_positions(positions: object, path: str | os.PathLike | None = None) -> Positions:
    """Check the nested dict ``subject -> action -> (T, 32, 3) finite array``; returns it as plain dicts."""
    if not isinstance(positions, Mapping):
        raise InputError(f"positions_3d must be a dict subject -> action -> array, got {type(positions).__name__}",
                         path)
    out: Positions = {}
    for subject, actions in positions.items():
        if not isinstance(actions, Mapping):
            raise InputError(f"positions_3d[{subject!r}] must be a dict action -> array, got "
                             f"{type(actions).__name__}", path)
        out[str(subject)] = {}
        for action, array in actions.items():
            array = np.asarray(array)
            where = f"positions_3d[{subject!r}][{action!r}]"
            if array.ndim != 3 or array.shape[1:] != (H36M_32.num_joints, 3):
                raise InputError(f"{where} has shape {array.shape}, expected (T, {H36M_32.num_joints}, 3)", path)
            if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
                raise InputError(f"{where} must hold finite floats (dtype {array.dtype})", path)
            out[str(subject)][str(action)] = array
    return out


def read_h36m_positions(path: str | os.PathLike) -> Positions:
    """Read ``data_3d_h36m.npz``: subject -> action -> (T, 32, 3) m, world Z-up, H36M_32 order."""
    data = open_npz(path, "the key 'positions_3d'")
    with data:
        if "positions_3d" not in data.files:
            raise InputError(f"missing key 'positions_3d' (keys: {', '.join(data.files) or 'none'})", path)
        raw = data["positions_3d"]
    if raw.dtype != object or raw.shape != ():
        raise InputError(f"positions_3d must be a pickled dict, got an array of shape {raw.shape}", path)
    return validate_h36m_positions(raw.item(), path)


def write_h36m_positions(path: str | os.PathLike, positions: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    """Write ``positions`` (subject -> action -> (T, 32, 3) m) in VideoPose3D's npz layout, atomically."""
    checked = validate_h36m_positions(positions)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, positions_3d=np.array(checked, dtype=object))
