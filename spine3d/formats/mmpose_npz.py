"""SIMSPINE's MMPose-style annotation files ``simspine_{train,test}.npz`` (one row per frame and camera).

Keys (N rows, K joints): ``imgname`` (N,), ``center`` (N, 2) px, ``scale`` (N,), ``part``
(N, K, 3) 2D px + visibility, ``S`` (N, K, 4) m + visibility, ``S_world`` (N, K, 4) world frame
Z-up m + visibility, ``angles`` (N, 62), ``metadata`` (dict: root_name, root_index, joint_names,
param_names, parent_ids). Arrays are returned as stored (no frame conversion).

``S`` is not a true camera frame. SIMSPINE's preprocessor computes it as ``R (X - t)`` from the
world points X and the world->camera calibration (R, t), where the camera frame is ``R X + t``: the
two differ by the constant ``R t + t``, so root-relative ``S`` is right (what monocular lifting is
scored on) but its absolute positions are off by metres. Absolute camera-frame positions come from
``S_world`` and the cameras: :func:`camera_points`, with the subject and camera of each row from
:func:`parse_imgname`.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.npz import open_npz

ARRAY_KEYS: tuple[str, ...] = ("imgname", "center", "scale", "part", "S", "S_world", "angles")
METADATA_KEYS: tuple[str, ...] = ("root_name", "root_index", "joint_names", "param_names", "parent_ids")
NUM_ANGLES = 62


def _expected_shapes(n: int, k: int) -> dict[str, tuple[int, ...]]:
    return {"imgname": (n,), "center": (n, 2), "scale": (n,), "part": (n, k, 3), "S": (n, k, 4),
            "S_world": (n, k, 4), "angles": (n, NUM_ANGLES)}


def _read_metadata(data: Any, path) -> dict:
    raw = data["metadata"]
    meta = raw.item() if raw.dtype == object and raw.shape == () else None
    if not isinstance(meta, dict):
        raise InputError("'metadata' must be a pickled dict", path)
    missing = [k for k in METADATA_KEYS if k not in meta]
    if missing:
        raise InputError(f"metadata lacks {', '.join(missing)}", path)
    return meta


def read_simspine_mmpose(path: str | os.PathLike, keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Read and validate a ``simspine_{train,test}.npz`` file.

    Args:
        path: the npz (pickled metadata: only open files you trust).
        keys: array keys to load (default: all of ARRAY_KEYS); ``metadata`` is always loaded.

    Returns:
        dict of the arrays above plus ``metadata`` (a dict); ``scale`` stored as (N, 1) comes back (N,).
    """
    keys = ARRAY_KEYS if keys is None else tuple(keys)
    unknown = [k for k in keys if k not in ARRAY_KEYS]
    if unknown:
        raise InputError(f"unknown keys requested {unknown}; the file format has {', '.join(ARRAY_KEYS)}", path)
    data = open_npz(path, "the SIMSPINE MMPose keys")
    with data:
        missing = [k for k in (*ARRAY_KEYS, "metadata") if k not in data.files]
        if missing:
            raise InputError(f"missing keys {', '.join(missing)}", path)
        meta = _read_metadata(data, path)
        shapes = {k: _stored_shape(data, k) for k in ARRAY_KEYS}  # from the headers: nothing loaded yet
        if len(shapes["scale"]) == 2 and shapes["scale"][1] == 1:
            shapes["scale"] = shapes["scale"][:1]
        _check_shapes(shapes, len(meta["joint_names"]), path)
        out: dict[str, Any] = {k: data[k] for k in keys}
    if len(meta["param_names"]) != NUM_ANGLES:
        raise InputError(f"metadata param_names has {len(meta['param_names'])} names, expected {NUM_ANGLES}", path)
    if "scale" in out:
        out["scale"] = out["scale"].reshape(-1)
    for key in ("center", "scale", "part", "S", "S_world", "angles"):
        if key in out and np.isinf(out[key]).any():  # NaN may mark missing values; inf is always corrupt
            raise InputError(f"'{key}' holds infinite values", path)
    out["metadata"] = meta
    return out


def parse_imgname(imgname: str) -> tuple[str, str, str, int]:
    """(subject, action, camera, frame) of an image name as the preprocessor writes it,
    ``S9/S9_Walking 1.54138969/S9_Walking 1.54138969_000001.jpg`` -> ("S9", "Walking 1", "54138969", 1)."""
    stem = str(imgname).replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]  # drop folders and .jpg
    video, _, frame = stem.rpartition("_")
    trial, _, camera = video.rpartition(".")
    subject, _, action = trial.partition("_")
    if not (subject and action and camera and frame.isdigit()):
        raise InputError(f"image name {imgname!r} is not <subject>_<action>.<camera>_<frame>.jpg")
    return subject, action, camera, int(frame)


def camera_points(s_world: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """True camera-frame positions of rows seen by one camera: ``R X + t``.

    Args:
        s_world: (N, K, 3|4) m, world frame Z-up (``S_world``; a fourth visibility channel is dropped).
        R: (3, 3) world->camera rotation. t: (3,) m, world->camera translation.

    Returns:
        (N, K, 3) m, camera frame (x right, y down, z forward).
    """
    return np.asarray(s_world, dtype=np.float64)[..., :3] @ np.asarray(R).T + np.asarray(t).reshape(3)


def _stored_shape(data: np.lib.npyio.NpzFile, key: str) -> tuple[int, ...]:
    """Shape of an array inside an npz, read from its .npy header without loading the data."""
    with data.zip.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return tuple(read(f)[0])


def _check_shapes(shapes: dict[str, tuple[int, ...]], k: int, path) -> None:
    n = shapes["imgname"][0] if len(shapes["imgname"]) == 1 else -1
    for key, expected in _expected_shapes(n, k).items():
        if shapes[key] != expected:
            wanted = str(expected).replace("-1", "N")
            raise InputError(f"'{key}' has shape {shapes[key]}, expected {wanted} (N rows, K={k} joints "
                             "from metadata joint_names)", path)
