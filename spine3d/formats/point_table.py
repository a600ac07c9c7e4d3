"""Point tables: an (N, K) array of numbers from an npz key or a text table (CSV or whitespace).

Used for known 3D points and their pixels (``spine3d calibrate extrinsics``). A text table may have
one header line (detected: a first row that is not all numbers) and ``#`` comments; empty cells are
NaN; infinite values are refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.npz import read_npz_arrays


def read_point_table(path: str | os.PathLike, key: str) -> np.ndarray:
    """(N, K) float64 from ``path``: the array ``key`` of an npz, or the rows of a text table."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        arrays = read_npz_arrays(p, f"the key '{key}'", [key])
        if key not in arrays:
            raise InputError(f"missing key '{key}'", p)
        try:
            array = np.asarray(arrays[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"'{key}' must be numeric, got dtype {arrays[key].dtype}", p) from None
    else:
        array = _text_table(p)
    if np.isinf(array).any():
        raise InputError("holds infinite values (use NaN for missing)", p)
    return array


def _text_table(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not a text table (not UTF-8 text)", path) from None
    lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    sep = "," if lines and "," in lines[0] else None
    rows = [[c.strip() for c in ln.split(sep)] for ln in lines]
    if rows and not all(_is_number(c) for c in rows[0]):
        rows = rows[1:]  # header
    try:
        array = np.array([[float(c) if c else np.nan for c in row] for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"not a numeric table ({exc})", path) from None
    if array.ndim != 2:
        raise InputError("rows have different numbers of columns", path)
    return array


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == ""
    return True
