"""Marker files for inverse kinematics: TRC, ``spine3d triangulate`` npz, ``spine3d lift`` npz.

Whatever the file, joints are mapped by canonical name (:mod:`spine3d.skeletons`) onto the body's
SIMSPINE-37 marker sites; joints without a site (e.g. Human3.6M's thorax) are dropped and listed.
Each marker gets an *evidence* factor in [0, 1] that multiplies its configured weight:

- triangulation npz: 0 where the point failed (status not "ok") unless gap filling made it
  (``filled_weight``); else ``(views - 1) / (cameras - 1)`` (inlier views) times
  ``1 / (1 + (e / reprojection_px)^2)`` (e: mean reprojection error over the inlier views, px);
- TRC and lifter npz: 1 (these files carry no per-point evidence), 0 where the point is NaN.

Lifter output is root-relative in the camera frame (x right, y down, z forward, mm); it is turned
upright (Z-up: ``(-z, x, -y)``, metres) so the body stands as in a world frame; its pelvis position
then means nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from spine3d.biomechanics.config import EvidenceOptions
from spine3d.data.synth.body import body_dims, marker_sites
from spine3d.errors import InputError
from spine3d.formats.opensim import read_trc
from spine3d.skeletons import SKELETONS, Skeleton, get_skeleton
from spine3d.triangulation.status import OK

Frame = Literal["world", "camera"]
SITES = tuple(marker_sites(body_dims(1.7)))  # the SIMSPINE-37 names the body carries
LIFT_FPS = 50.0  # Hz, assumed for lifter npz files (they store no rate): SIMSPINE's


@dataclass(frozen=True)
class MarkerInput:
    """One trial's markers in the body's vocabulary.

    Attributes:
        markers: (T, M, 3) m, world frame Z-up (``frame`` "camera": the lifter's camera frame turned upright).
        names: (M,) SIMSPINE-37 marker names.
        evidence: (T, M) in [0, 1], factor on each marker's weight; 0 where the marker is missing.
        fps: frame rate, Hz.
        frame: "world" or "camera" (root-relative lifter output).
        source: what the file was ("TRC", "triangulation npz", "lifter npz").
        skeleton: layout of the file.
        cameras: camera names the file lists (triangulation), else ().
        dropped: joints of the file that have no marker site.
    """

    markers: np.ndarray
    names: tuple[str, ...]
    evidence: np.ndarray
    fps: float
    frame: Frame
    source: str
    skeleton: str
    cameras: tuple[str, ...] = ()
    dropped: tuple[str, ...] = field(default=())

    @property
    def present(self) -> np.ndarray:
        """(M,) bool, markers present in at least one frame."""
        return (self.evidence > 0).any(axis=0)


def load_markers(path: str | os.PathLike, skeleton: str | None = None, fps: float | None = None,
                 evidence: EvidenceOptions = EvidenceOptions()) -> MarkerInput:
    """Read a TRC or npz marker file (see the module docstring).

    Args:
        path: .trc, or .npz from ``spine3d triangulate`` / ``spine3d lift``.
        skeleton: layout name when the file's joint names do not identify one.
        fps: frame rate, Hz, overriding the file's (required meaning for lifter npz: default 50).
        evidence: how triangulation evidence becomes weights.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".trc":
        points, names, file_fps = read_trc(path)
        return _to_body(points, _layout(names, skeleton, path), np.isfinite(points).all(-1).astype(float),
                        fps or file_fps, "world", "TRC", path)
    if suffix != ".npz":
        raise InputError(f"unsupported marker file {suffix or '(none)'!r}; use .trc or .npz", path)
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    if "points_3d" in data:
        return _lifted(data, skeleton, fps, path)
    if "points" in data and "marker_names" in data:
        return _triangulated(data, skeleton, fps, evidence, path)
    raise InputError("npz holds neither 'points' + 'marker_names' (spine3d triangulate) nor 'points_3d' "
                     "(spine3d lift)", path)


def _triangulated(data: dict, skeleton: str | None, fps: float | None, options: EvidenceOptions,
                  path: Path) -> MarkerInput:
    points = np.asarray(data["points"], np.float64)
    names = [str(n) for n in data["marker_names"]]
    cameras = tuple(str(c) for c in data.get("camera_names", ()))
    ok = data["status"] == OK if "status" in data else np.isfinite(points).all(-1)
    views = np.asarray(data.get("num_views", np.full(ok.shape, max(len(cameras), 2))), np.float64)
    error = np.nan_to_num(np.asarray(data.get("reprojection_error", np.zeros(ok.shape)), np.float64))
    filled = np.asarray(data.get("filled", np.zeros(ok.shape, bool)), bool)
    cams = max(len(cameras), 2)
    quality = np.clip((views - 1.0) / (cams - 1.0), 0.0, 1.0) / (1.0 + (error / options.reprojection_px) ** 2)
    factor = np.where(ok, quality, np.where(filled, options.filled_weight, 0.0))
    factor = np.where(np.isfinite(points).all(-1), factor, 0.0)
    rate = fps or (float(data["fps"]) if "fps" in data else None)
    if not rate:
        raise InputError("the npz has no 'fps'; pass the frame rate", path)
    return _to_body(points, _layout(names, skeleton, path), factor, rate, "world", "triangulation npz", path,
                    cameras)


def _lifted(data: dict, skeleton: str | None, fps: float | None, path: Path) -> MarkerInput:
    points = np.asarray(data["points_3d"], np.float64) / (1000.0 if str(data.get("units", "mm")) == "mm" else 1.0)
    upright = np.stack([-points[..., 2], points[..., 0], -points[..., 1]], axis=-1)  # (-z, x, -y): Z-up
    names = [str(n) for n in data.get("joint_names", ())]
    layout = get_skeleton(skeleton or str(data["skeleton"])) if skeleton or "skeleton" in data \
        else _layout(names, None, path)
    return _to_body(upright, layout, np.isfinite(upright).all(-1).astype(float), fps or LIFT_FPS, "camera",
                    "lifter npz", path)


def _layout(names: list[str], skeleton: str | None, path: Path) -> Skeleton:
    """The layout of a file's joint names: ``skeleton`` if given, else the one whose names they are."""
    if skeleton:
        layout = get_skeleton(skeleton)
        if layout.num_joints != len(names):
            raise InputError(f"the file has {len(names)} markers, skeleton {layout.name} has {layout.num_joints}", path)
        return layout
    for layout in SKELETONS.values():
        if list(layout.names) == list(names) or list(layout.canonical) == list(names):
            return layout
    if set(names) <= set(SITES):  # already the body's own names (e.g. a TRC of virtual markers)
        return Skeleton("markers", tuple(names), (-1,) + (0,) * (len(names) - 1))
    raise InputError(f"marker names {names[:5]}... match no known layout; pass --skeleton "
                     f"({', '.join(SKELETONS)})", path)


def _to_body(points: np.ndarray, layout: Skeleton, evidence: np.ndarray, fps: float, frame: Frame, source: str,
             path: Path, cameras: tuple[str, ...] = ()) -> MarkerInput:
    """Keep the joints with a marker site, under their canonical names."""
    if points.ndim != 3 or points.shape[1:] != (layout.num_joints, 3):
        raise InputError(f"markers have shape {points.shape}, expected (T, {layout.num_joints}, 3)", path)
    if not fps > 0:
        raise InputError(f"the frame rate must be positive, got {fps}", path)
    keep = [j for j, c in enumerate(layout.canonical) if c in SITES]
    if not keep:
        raise InputError(f"none of the {layout.name} joints has a marker site on the body", path)
    dropped = tuple(layout.names[j] for j in range(layout.num_joints) if j not in keep)
    evidence = np.where(np.isfinite(points).all(-1), evidence, 0.0)[:, keep]
    markers = np.where(evidence[..., None] > 0, points[:, keep], np.nan)
    return MarkerInput(markers, tuple(layout.canonical[j] for j in keep), evidence, float(fps), frame, source,
                       layout.name, cameras, dropped)


def marker_weights(data: MarkerInput, weights: dict[str, float]) -> np.ndarray:
    """(T, M) IK weights: each marker's configured weight (1 when not listed) times its evidence."""
    base = np.array([weights.get(name, 1.0) for name in data.names])
    return data.evidence * base
