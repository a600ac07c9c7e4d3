"""Marker files for inverse kinematics: TRC, ``spine3d triangulate`` npz, ``spine3d lift`` npz.

Whatever the file, joints are mapped by canonical name (:mod:`spine3d.skeletons`) onto the body's
SIMSPINE-37 marker sites; joints without a site (e.g. Human3.6M's thorax) are dropped and listed.
Each marker gets an *evidence* factor in [0, 1] that multiplies its configured weight:

- triangulation output: 0 where the point is not trusted (its status) unless gap filling made it
  (``filled_weight``); else ``(views - 1) / (cameras - 1)`` (inlier views) times
  ``1 / (1 + (e / reprojection_px)^2)`` (e: mean reprojection error over the inlier views, px);
- lifter output: 1 where the joint had input evidence in that frame (its ``evidence`` array), else 0;
- TRC: 1 (no per-point evidence), 0 where the point is NaN.

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
from spine3d.formats.results3d import Result3D, read_result3d
from spine3d.skeletons import SKELETONS, Skeleton, get_skeleton, keypoints_layout
from spine3d.triangulation.status import STATUSES

Frame = Literal["world", "camera"]
TRUSTED_STATUSES = tuple(s.name for s in STATUSES if s.trusted)  # triangulation's trusted statuses (its one table)
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
    """Read a marker file: a TRC, or a 3D result of ``spine3d triangulate`` / ``spine3d lift`` (npz or
    HDF5, the one schema of :mod:`spine3d.formats.results3d`; see the module docstring).

    Args:
        path: the file.
        skeleton: layout name when the file's joint names do not identify one.
        fps: frame rate, Hz, overriding the file's (lifter output without a rate: 50 Hz).
        evidence: how triangulation evidence becomes weights.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such marker file", str(path))
    result = read_result3d(path)
    layout = _layout(list(result.joint_names), skeleton or result.skeleton, path, result.points.shape[1])
    points = result.in_metres()
    if result.frame == "camera":  # root-relative lifter output, turned upright: (-z, x, -y) is Z-up
        points = np.stack([-points[..., 2], points[..., 0], -points[..., 1]], axis=-1)
    source = "TRC" if path.suffix.lower() == ".trc" else "lifter output" if result.frame == "camera" \
        else "triangulation" if "num_views" in result.extras else "3D result"
    rate = fps or result.fps or (LIFT_FPS if result.frame == "camera" else None)
    if not rate:
        raise InputError("the file has no frame rate; pass it (--fps)", path)
    cameras = tuple(str(c) for c in np.ravel(result.extras.get("camera_names", ())))
    return _to_body(points, layout, _evidence(result, points, evidence), rate, result.frame, source, path, cameras)


def _evidence(result: Result3D, points: np.ndarray, options: EvidenceOptions) -> np.ndarray:
    """(T, J) weight factor of each point from what the file says about it (module docstring)."""
    seen = np.isfinite(points).all(-1)
    if result.evidence is not None:  # lifter output: whether the joint had input evidence in that frame
        seen &= np.asarray(result.evidence, bool)
    if result.status is None or "num_views" not in result.extras:
        return seen.astype(np.float64)
    if result.status_names:
        trusted = np.isin(np.asarray(result.status_names)[result.status], TRUSTED_STATUSES)
    else:  # a file without the names of its codes: "ok" has always been code 0
        trusted = np.asarray(result.status) == 0
    cams = max(len(np.ravel(result.extras.get("camera_names", ()))), 2)
    views = np.asarray(result.extras["num_views"], np.float64)
    error = np.nan_to_num(np.asarray(result.extras.get("reprojection_error", np.zeros(views.shape)), np.float64))
    filled = np.asarray(result.extras.get("filled", np.zeros(views.shape, bool)), bool)
    quality = np.clip((views - 1.0) / (cams - 1.0), 0.0, 1.0) / (1.0 + (error / options.reprojection_px) ** 2)
    return np.where(seen, np.where(trusted, quality, np.where(filled, options.filled_weight, 0.0)), 0.0)


def _layout(names: list[str], skeleton: str | None, path: Path, count: int) -> Skeleton:
    """The layout of a file's joints: ``skeleton`` if given, else the one whose names they are (a file
    without names: the one layout of that joint count, :func:`spine3d.skeletons.keypoints_layout`)."""
    if skeleton:
        layout = get_skeleton(skeleton)
        if layout.num_joints != count:
            raise InputError(f"the file has {count} markers, skeleton {layout.name} has {layout.num_joints}", path)
        return layout
    if not names:
        try:
            return keypoints_layout(count)
        except InputError as exc:
            raise InputError(str(exc), path) from None
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
