"""An ordered set of calibrated cameras, with the calibration TOML of Pose2Sim / anipose / SIMSPINE.

TOML layout (one section per camera, plus an optional ``[metadata]`` section)::

    [cam_01]
    name = "cam_01"
    size = [ 1088.0, 1920.0]                  # [width, height] px
    matrix = [ [ fx, 0, cx], [ 0, fy, cy], [ 0, 0, 1]]
    distortions = [ k1, k2, p1, p2]           # OpenCV order (k1..k4 when fisheye)
    rotation = [ rx, ry, rz]                  # Rodrigues, world -> camera
    translation = [ tx, ty, tz]               # m, x_cam = R x_world + t
    fisheye = false

Floats are written with Python's shortest round-trip repr, so read -> write -> read is exact.
A camera in Human3.6M's own distortion convention carries the extra key ``distortion_model = "h36m"``
(other readers ignore unknown keys).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from spine3d.calibration.arrays import namespace
from spine3d.calibration.camera import Camera
from spine3d.calibration.identity import find_camera
from spine3d.calibration.lens.model import DistortionModel
from spine3d.errors import InputError
from spine3d.io import write_text_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_REQUIRED = ("size", "matrix", "distortions", "rotation", "translation")


@dataclass(frozen=True, eq=False)
class CameraRig:
    """Ordered cameras, iterable and indexable by position or name.

    A camera is found by its ``name``, its TOML section key or any label of the same camera under
    :mod:`spine3d.calibration.identity` (a Human3.6M id and its ``cam_0N`` place are one camera).

    Attributes:
        cameras: the C cameras, in order (this order is the C axis of every multi-view array).
        metadata: extra TOML ``[metadata]`` entries, kept for round trips.
        keys: (C,) the TOML section keys; () means the names (written back as section keys).
    """

    cameras: tuple[Camera, ...]
    metadata: dict = field(default_factory=dict)
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "keys", tuple(self.keys) or tuple(c.name for c in self.cameras))
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise InputError(f"camera names must be unique, got {names}")
        if len(self.keys) != len(names) or len(set(self.keys)) != len(names):
            raise InputError(f"section keys must be unique, one per camera, got {list(self.keys)}")

    # -- container protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        return self.cameras[self.index(key) if isinstance(key, str) else key]

    def index(self, label: str) -> int:
        """Position of the camera ``label`` names (name, section key or an alias; see the class doc)."""
        found = find_camera(label, self.names, self.keys)
        if found is None:
            raise KeyError(f"no camera named {label!r}; rig has {', '.join(self.names)}")
        return found

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def subset(self, keys: Sequence[int | str]) -> "CameraRig":
        """A rig of the chosen cameras, in the given order."""
        index = [k if isinstance(k, int) else self.index(k) for k in keys]
        return replace(self, cameras=tuple(self.cameras[i] for i in index), keys=tuple(self.keys[i] for i in index))

    # -- batched geometry ---------------------------------------------------------------------
    def project(self, points_world: Any) -> Any:
        """(..., 3) m world -> (C, ..., 2) px, distortion applied (numpy or torch)."""
        xp = namespace(points_world)
        return xp.stack([cam.project(points_world) for cam in self.cameras], axis=0)

    @property
    def projection_matrices(self) -> np.ndarray:
        """(C, 3, 4) matrices K [R | t] for undistorted pixels."""
        return np.stack([cam.P for cam in self.cameras])

    @property
    def centers(self) -> np.ndarray:
        """(C, 3) camera centres, m, world frame."""
        return np.stack([cam.center for cam in self.cameras])

    # -- arrays (the SIMSPINE HDF5 calibration block) --------------------------------------------
    def to_arrays(self) -> dict[str, Any]:
        """names (C,), K (C,3,3), dist (C,D) (zero-padded), R (C,3,3), t (C,3) m, size (C,2) px."""
        width = max(c.dist.size for c in self.cameras)
        dist = np.zeros((len(self), width))
        for i, cam in enumerate(self.cameras):  # C is tiny; this is I/O, not a hot path
            dist[i, : cam.dist.size] = cam.dist
        return {"names": self.names, "K": np.stack([c.K for c in self.cameras]), "dist": dist,
                "R": np.stack([c.R for c in self.cameras]), "t": np.stack([c.t for c in self.cameras]),
                "size": np.stack([c.size for c in self.cameras])}

    @classmethod
    def from_arrays(cls, names: Sequence[str], K: Any, dist: Any, R: Any, t: Any, size: Any,
                    model: DistortionModel = "pinhole") -> "CameraRig":
        """Inverse of :meth:`to_arrays` (OpenCV convention unless ``model`` says otherwise)."""
        return cls(tuple(Camera(str(n), size[i], K[i], dist[i], R[i], t[i], model) for i, n in enumerate(names)))

    # -- TOML ---------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> "CameraRig":
        """Read a Pose2Sim / anipose / SIMSPINE calibration TOML (see module docstring)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not a valid TOML file ({exc})", path) from None
        sections = {key: sec for key, sec in data.items() if key != "metadata" and isinstance(sec, dict)}
        if not sections:
            raise InputError("no camera sections found (expected [cam_01]-style tables with size, matrix, ...)", path)
        cameras = [_camera_from_section(key, sec, path) for key, sec in sections.items()]
        try:
            return cls(tuple(cameras), dict(data.get("metadata", {})), tuple(sections))
        except InputError as exc:
            raise InputError(str(exc), path) from None

    def to_toml(self, path: str | Path) -> None:
        """Write the calibration TOML atomically (exact float round trip)."""
        blocks = [_section_text(key, cam) for key, cam in zip(self.keys, self.cameras)]
        meta = self.metadata or {"adjusted": False, "error": 0.0}
        blocks.append("[metadata]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in meta.items()))
        write_text_atomic(path, "\n".join(blocks))

    def __repr__(self) -> str:
        return f"CameraRig({len(self)} cameras: {', '.join(self.names)})"


def _camera_from_section(key: str, sec: dict, path: Path) -> Camera:
    missing = [k for k in _REQUIRED if k not in sec]
    if missing:
        raise InputError(f"section [{key}] lacks {', '.join(missing)}", path)
    fisheye = sec.get("fisheye", False)
    if not isinstance(fisheye, bool):
        raise InputError(f"section [{key}]: fisheye must be true or false, got {fisheye!r}", path)
    model = sec.get("distortion_model", "fisheye" if fisheye else "pinhole")
    try:
        arrays = {k: np.asarray(sec[k], dtype=np.float64) for k in _REQUIRED}
    except (TypeError, ValueError) as exc:
        raise InputError(f"section [{key}] has a non-numeric value ({exc})", path) from None
    if arrays["rotation"].shape != (3,):
        hint = " (a 3x3 matrix: give its Rodrigues vector, e.g. cv2.Rodrigues(R)[0].ravel())" \
            if arrays["rotation"].shape == (3, 3) else ""
        raise InputError(f"section [{key}]: rotation must be a Rodrigues vector [rx, ry, rz] (rad), got shape "
                         f"{arrays['rotation'].shape}{hint}", path)
    try:
        return Camera.from_rvec(str(sec.get("name", key)), arrays["size"], arrays["matrix"], arrays["distortions"],
                                arrays["rotation"], arrays["translation"], model)
    except InputError as exc:
        raise InputError(f"section [{key}]: {exc}", path) from None
    except ValueError as exc:
        raise InputError(f"section [{key}]: {exc}", path) from None


def _section_text(key: str, cam: Camera) -> str:
    key = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)
    lines = [f"[{key}]", f"name = {_toml_value(cam.name)}", f"size = {_toml_value(cam.size)}",
             f"matrix = {_toml_value(cam.K)}", f"distortions = {_toml_value(cam.dist)}",
             f"rotation = {_toml_value(cam.rvec)}", f"translation = {_toml_value(cam.t)}",
             f"fisheye = {_toml_value(cam.model == 'fisheye')}"]
    if cam.model == "h36m":
        lines.append('distortion_model = "h36m"')
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if np.ndim(value) == 0:
        return _toml_value(np.asarray(value).item())
    return "[ " + ", ".join(_toml_value(v) for v in np.asarray(value).tolist()) + "]"
