"""3D results: the one schema of every file of 3D points spine3d writes and reads.

``spine3d triangulate`` and ``spine3d lift`` write it; ``spine3d visualize`` and ``spine3d kinematics``
read it. An npz (or HDF5) holds these arrays, plus any producer-specific ones (triangulation:
inliers, reprojection errors, the 2D input, ...), which are kept as :attr:`Result3D.extras`:

=================  ==========  ================================================================
key                shape       meaning
=================  ==========  ================================================================
``schema``         ()          :data:`SCHEMA`
``points``         (T, J, 3)   the points, in ``unit`` and ``frame``; NaN = not reconstructed
``joint_names``    (J,)        names of the J joints, in order
``frame``          ()          "world" (Z-up) or "camera" (x right, y down, z forward)
``unit``           ()          "m" or "mm"
``root_relative``  ()          bool: points are relative to the root joint
``skeleton``       ()          layout name ("" when unknown)
``fps``            ()          Hz (NaN when unknown)
``frame_numbers``  (T,)        input frame number of each row
``status``         (T, J)      uint8 index into ``status_names`` (optional)
``status_names``   (S,)        names of the status codes (with ``status``)
``evidence``       (T, J)      bool: the point rests on input evidence (optional)
=================  ==========  ================================================================

A TRC file (OpenSim markers, Y-up) written by :func:`write_result3d` holds the points only; points
outside the producer's ``keep`` mask are left empty. :func:`read_result3d` reads all three forms, and
the keys of files written before this schema (``points_3d`` + ``joint_names`` from ``lift``,
``points`` + ``marker_names`` from ``triangulate``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.npz import open_npz
from spine3d.io import atomic_path

SCHEMA = "spine3d.points3d/1"
Frame = Literal["world", "camera"]
Unit = Literal["m", "mm"]
SUFFIXES = (".npz", ".h5", ".hdf5", ".trc")
_CORE = ("schema", "points", "joint_names", "frame", "unit", "root_relative", "skeleton", "fps", "frame_numbers",
         "status", "status_names", "evidence")
_TO_METRES = {"m": 1.0, "mm": 1e-3}


@dataclass(frozen=True, eq=False)
class Result3D:
    """A sequence of 3D points with everything needed to read it right (see the module docstring).

    Attributes:
        points: (T, J, 3) float, in ``unit``, in ``frame``.
        joint_names: (J,) names; () when unknown (files of plain arrays).
        frame: "world" (Z-up) or "camera" (x right, y down, z forward).
        unit: "m" or "mm".
        root_relative: whether points are relative to the root joint.
        skeleton: layout name, or None.
        fps: frame rate, Hz, or None.
        frame_numbers: (T,) int.
        status: (T, J) uint8 index into ``status_names``, or None.
        status_names: names of the status codes.
        evidence: (T, J) bool, or None.
        extras: other arrays of the producer, by name.
    """

    points: np.ndarray
    joint_names: tuple[str, ...]
    frame: Frame
    unit: Unit
    root_relative: bool = False
    skeleton: str | None = None
    fps: float | None = None
    frame_numbers: np.ndarray | None = None
    status: np.ndarray | None = None
    status_names: tuple[str, ...] = ()
    evidence: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points)
        if pts.ndim != 3 or pts.shape[-1] != 3:
            raise InputError(f"points must have shape (T, J, 3), got {pts.shape}")
        if self.joint_names and len(self.joint_names) != pts.shape[1]:
            raise InputError(f"{len(self.joint_names)} joint names for {pts.shape[1]} joints")
        if self.frame not in ("world", "camera") or self.unit not in _TO_METRES:
            raise InputError(f"frame must be 'world' or 'camera' and unit 'm' or 'mm', got {self.frame!r}, {self.unit!r}")
        for name in ("status", "evidence"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != pts.shape[:2]:
                raise InputError(f"{name} must have shape {pts.shape[:2]} (T, J), got {np.shape(value)}")
        if self.frame_numbers is not None and np.shape(self.frame_numbers) != pts.shape[:1]:
            raise InputError(f"frame_numbers must have shape ({len(pts)},), got {np.shape(self.frame_numbers)}")
        clash = sorted(set(self.extras) & set(_CORE))
        if clash:
            raise ValueError(f"extra arrays may not use the schema's names: {clash}")

    @property
    def num_frames(self) -> int:
        return int(self.points.shape[0])

    def in_metres(self) -> np.ndarray:
        """(T, J, 3) the points in metres (same frame)."""
        return np.asarray(self.points, dtype=np.float64) * _TO_METRES[self.unit]

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the file, by key."""
        core = {
            "schema": np.array(SCHEMA), "points": np.asarray(self.points), "joint_names": np.array(self.joint_names),
            "frame": np.array(self.frame), "unit": np.array(self.unit), "root_relative": np.array(self.root_relative),
            "skeleton": np.array(self.skeleton or ""), "fps": np.array(np.nan if self.fps is None else self.fps),
            "frame_numbers": np.arange(self.num_frames) if self.frame_numbers is None else self.frame_numbers,
        }
        if self.status is not None:
            core |= {"status": np.asarray(self.status, np.uint8), "status_names": np.array(self.status_names)}
        if self.evidence is not None:
            core["evidence"] = np.asarray(self.evidence, bool)
        return core | self.extras


def write_result3d(path: str | os.PathLike, result: Result3D, keep: np.ndarray | None = None) -> Path:
    """Write ``result`` atomically; the format follows the suffix (.npz, .h5 / .hdf5, .trc).

    Args:
        path: output file.
        result: the points and their labels.
        keep: (T, J) bool, TRC only: points written (others are left empty); None = every point.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"unsupported output type {path.suffix or '(none)'!r}; use {', '.join(SUFFIXES)}", path)
    if suffix == ".trc":
        _write_trc(path, result, keep)
    elif suffix == ".npz":
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, **result.arrays())
    else:
        _write_h5(path, result.arrays())
    return path


def read_result3d(path: str | os.PathLike) -> Result3D:
    """Read a 3D result: this schema's npz / HDF5, a TRC (world frame, m), or a file of the older keys."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".trc":
        from spine3d.formats.opensim import read_trc

        points, names, fps = read_trc(path)
        return Result3D(points, tuple(names), "world", "m", fps=fps)
    if suffix not in SUFFIXES:
        raise InputError(f"unsupported input {path.suffix!r}; expected {', '.join(SUFFIXES)}", path)
    arrays = _read_h5(path) if suffix in (".h5", ".hdf5") else _read_npz(path)
    try:
        return _from_arrays(arrays)
    except InputError as exc:
        raise InputError(str(exc), path) from None


def _from_arrays(arrays: dict[str, np.ndarray]) -> Result3D:
    arrays = dict(arrays)
    if "schema" not in arrays:  # the keys written before this schema
        if "points_3d" in arrays:  # spine3d lift: camera frame, mm, root-relative
            arrays |= {"points": arrays.pop("points_3d"), "frame": np.array("camera"), "unit": np.array("mm"),
                       "root_relative": np.array(True)}
            arrays.pop("units", None)
        elif "marker_names" in arrays:  # spine3d triangulate: world frame, m
            arrays |= {"joint_names": arrays.pop("marker_names"), "frame": np.array("world"), "unit": np.array("m")}
        elif "points" not in arrays:
            raise InputError(f"no 'points' array (keys: {', '.join(sorted(arrays))}); not a 3D result file")
    points = arrays.pop("points")
    if not np.issubdtype(points.dtype, np.number):
        raise InputError(f"points must be numeric, got dtype {points.dtype}")
    names = arrays.pop("joint_names", None)
    scalar = lambda key, default=None: arrays.pop(key).item() if key in arrays else default  # noqa: E731
    skeleton, fps = scalar("skeleton"), scalar("fps")
    arrays.pop("schema", None)
    return Result3D(
        points.astype(np.float64),
        tuple(str(n) for n in np.ravel(names)) if names is not None else (),
        str(scalar("frame", "world")), str(scalar("unit", "m")), bool(scalar("root_relative", False)),
        str(skeleton) if skeleton else None, float(fps) if fps is not None and np.isfinite(fps) else None,
        arrays.pop("frame_numbers", None), arrays.pop("status", None),
        tuple(str(n) for n in np.ravel(arrays.pop("status_names", np.array([], dtype=str)))),
        arrays.pop("evidence", None), arrays)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with open_npz(path, "the key 'points' (a 3D result)", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _write_trc(path: Path, result: Result3D, keep: np.ndarray | None) -> None:
    from spine3d.formats.opensim import write_trc

    points = result.in_metres()
    if keep is not None:
        points = np.where(np.asarray(keep, bool)[..., None], points, np.nan)
    if result.frame == "camera":  # upright in OpenSim's Y-up axes: TRC X = x_cam, Y = -y_cam, Z = -z_cam
        points = np.stack([-points[..., 2], points[..., 0], -points[..., 1]], axis=-1)  # as Z-up world for write_trc
    write_trc(path, points, list(result.joint_names), result.fps or 0.0, units=result.unit)


def _write_h5(path: Path, arrays: dict[str, np.ndarray]) -> None:
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for key, value in arrays.items():
                value = np.asarray(value)
                if value.dtype.kind == "U":
                    f.create_dataset(key, data=value.astype(object), dtype=h5py.string_dtype())
                else:
                    f.create_dataset(key, data=value, compression="gzip" if value.ndim else None)


def _read_h5(path: Path) -> dict[str, np.ndarray]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return {k: _h5_value(f[k][()]) for k in f.keys() if isinstance(f[k], h5py.Dataset)}
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file ({exc})", path) from None


def _h5_value(value: object) -> np.ndarray:
    value = np.asarray(value)
    if value.dtype.kind in "OS":
        return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else str(v), otypes=[str])(value) \
            if value.ndim else np.array(value.item().decode() if isinstance(value.item(), bytes) else value.item())
    return value
