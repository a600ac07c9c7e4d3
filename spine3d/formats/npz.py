"""Opening npz archives with the one-line errors the readers share."""

from __future__ import annotations

import os
import pickle

import numpy as np

from spine3d.errors import InputError


def open_npz(path: str | os.PathLike, expected: str) -> np.lib.npyio.NpzFile:
    """Open an npz archive (pickled objects allowed: the formats store dicts in object arrays).

    Args:
        path: the file. A missing file raises FileNotFoundError as usual.
        expected: what the archive should hold, for the error message (e.g. "the key 'positions_3d'").

    Raises:
        InputError: the file is not a readable npz, or holds a single ``.npy`` array.
    """
    try:
        data = np.load(path, allow_pickle=True)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, pickle.UnpicklingError) as exc:
        raise InputError(f"not a readable npz file ({exc})", path) from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise InputError(f"holds a single array; expected an npz with {expected}", path)
    return data
