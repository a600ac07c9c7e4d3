"""Opening npz archives: the one opener every npz reader uses, with one-line errors naming the file."""

from __future__ import annotations

import os
import pickle
import zipfile
import zlib

import numpy as np

from spine3d.errors import InputError


def open_npz(path: str | os.PathLike, expected: str, allow_pickle: bool = True) -> np.lib.npyio.NpzFile:
    """Open an npz archive.

    Args:
        path: the file. A missing file raises FileNotFoundError as usual.
        expected: what the archive should hold, for the error message (e.g. "the key 'positions_3d'").
        allow_pickle: allow object arrays (the dataset formats store dicts in them); False for files
            of plain arrays, so a crafted file cannot run code.

    Raises:
        InputError: the file is not a readable npz (corrupt, truncated, not a zip archive), or holds a
            single ``.npy`` array.
    """
    if os.path.isdir(path):
        raise InputError(f"is a folder; expected an npz file with {expected}", path)
    try:
        data = np.load(path, allow_pickle=allow_pickle)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise InputError(f"not a readable npz file ({' '.join(str(exc).split()) or type(exc).__name__})", path) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise InputError(f"holds a single array; expected an npz with {expected}", path)
    return data


def read_npz_arrays(path: str | os.PathLike, expected: str, keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """Every array of a plain npz (no pickled objects), or those of ``keys`` present, read now.

    A member that is corrupt or truncated inside an otherwise readable archive is an InputError
    naming the file and the array, like a file that is not an npz at all.
    """
    with open_npz(path, expected, allow_pickle=False) as data:
        names = data.files if keys is None else [k for k in keys if k in data.files]
        return {name: npz_member(data, name, path) for name in names}


def npz_member(data: np.lib.npyio.NpzFile, name: str, path: str | os.PathLike) -> np.ndarray:
    """One array of an open npz; InputError naming the file and the array when it cannot be read."""
    try:
        return data[name]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, pickle.UnpicklingError) as exc:
        raise InputError(f"array '{name}' cannot be read ({' '.join(str(exc).split()) or type(exc).__name__}); "
                         "the file is corrupt or truncated", path) from None
