"""Human3.6M cameras: import of ``cameras.pkl`` and the shipped per-subject calibration TOMLs.

``cameras.pkl`` (as published with MMPose's test data) maps (subject, camera id) to ``R`` (3x3,
camera->world), ``T`` (3x1, camera centre in world, m), ``f``, ``c`` (2x1 px), ``k`` (3x1 radial),
``p`` (2x1 tangential), ``w``, ``h``. In the toolkit's world->camera form R_w2c = R^T and
t = -R^T T. Human3.6M's 2D annotations use the dataset's own distortion formula (the "h36m"
model of :mod:`spine3d.calibration.lens.model`), which :func:`load_h36m_cameras` keeps.

The project ships the 11 subjects x 4 cameras as ``calibration/data/h36m/Calib_<S>.toml`` in the
calibration-TOML convention (OpenCV distortion order k1 k2 p1 p2 k3, same numbers); the synthetic
SIMSPINE data uses them, and :func:`h36m_rig` loads them with either distortion model.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from spine3d.calibration.camera import Camera
from spine3d.calibration.identity import H36M_CAMERA_IDS
from spine3d.calibration.rig import CameraRig
from spine3d.errors import InputError

H36M_SUBJECTS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11")
SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "h36m"
_KEYS = ("R", "T", "f", "c", "k", "p", "w", "h")


def h36m_camera_from_params(name: str, param: dict, model: Literal["h36m", "pinhole"] = "h36m") -> Camera:
    """One camera from a ``cameras.pkl`` entry (see module docstring for the conventions)."""
    R_c2w = np.asarray(param["R"], dtype=np.float64).reshape(3, 3)
    T = np.asarray(param["T"], dtype=np.float64).reshape(3)
    f = np.asarray(param["f"], dtype=np.float64).reshape(2)
    c = np.asarray(param["c"], dtype=np.float64).reshape(2)
    k = np.asarray(param["k"], dtype=np.float64).reshape(3)
    p = np.asarray(param["p"], dtype=np.float64).reshape(2)
    K = np.array([[f[0], 0.0, c[0]], [0.0, f[1], c[1]], [0.0, 0.0, 1.0]])
    dist = np.array([k[0], k[1], p[0], p[1], k[2]])
    return Camera(name, [float(param["w"]), float(param["h"])], K, dist, R_c2w.T, -R_c2w.T @ T, model)


def load_h36m_cameras(path: str | Path) -> dict[str, CameraRig]:
    """Read Human3.6M's ``cameras.pkl`` -> {subject: CameraRig} projecting with the dataset's own formula.

    Camera names are the Human3.6M ids ("54138969", ...), in the dataset's order.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = pickle.load(fh)
    except FileNotFoundError:
        raise
    except Exception as exc:  # unpickling errors come in many types
        raise InputError(f"cannot unpickle Human3.6M cameras ({type(exc).__name__}: {exc})", path) from None
    if not isinstance(data, dict) or not data:
        raise InputError("expected a dict keyed by (subject, camera id)", path)
    cams: dict[str, list[Camera]] = {}
    for key, param in data.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise InputError(f"key {key!r} is not a (subject, camera id) pair", path)
        missing = [k for k in _KEYS if k not in param]
        if missing:
            raise InputError(f"entry {key} lacks {', '.join(missing)}", path)
        try:
            cam = h36m_camera_from_params(str(key[1]), param)
        except (InputError, ValueError) as exc:
            raise InputError(f"entry {key}: {exc}", path) from None
        cams.setdefault(str(key[0]), []).append(cam)
    return {s: CameraRig(tuple(sorted(c, key=_camera_order))) for s, c in sorted(cams.items(), key=lambda kv: _subject_order(kv[0]))}


def h36m_rig(subject: str, model: Literal["pinhole", "h36m"] = "pinhole") -> CameraRig:
    """The shipped Human3.6M cameras of ``subject`` ("S1" .. "S11").

    ``model="pinhole"`` (default) projects with OpenCV's distortion formula, as any consumer of the
    calibration TOML does (the synthetic data's convention); ``model="h36m"`` with the dataset's own
    formula (matches the original 2D annotations).
    """
    rig = _shipped(subject)
    if model == "pinhole":
        return rig
    return replace(rig, cameras=tuple(replace(c, model=model) for c in rig.cameras))


@lru_cache(maxsize=None)
def _shipped(subject: str) -> CameraRig:
    path = SHIPPED_DIR / f"Calib_{subject}.toml"
    if subject not in H36M_SUBJECTS or not path.is_file():
        raise InputError(f"no shipped Human3.6M calibration for subject {subject!r}; subjects: {', '.join(H36M_SUBJECTS)}")
    return CameraRig.from_toml(path)


def _camera_order(cam: Camera) -> int:
    return H36M_CAMERA_IDS.index(cam.name) if cam.name in H36M_CAMERA_IDS else len(H36M_CAMERA_IDS)


def _subject_order(subject: str) -> tuple[int, str]:
    digits = "".join(ch for ch in subject if ch.isdigit())
    return (int(digits) if digits else 10**6, subject)
