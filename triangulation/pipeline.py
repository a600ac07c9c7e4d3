"""From detections on disk to 3D files: triangulate, post-process, write TRC / npz / HDF5.

Used by ``spine3d triangulate``; every step is also callable on its own.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.errors import InputError
from spine3d.formats.results3d import SUFFIXES, Result3D, write_result3d
from spine3d.skeletons import Skeleton
from spine3d.triangulation.config import TriangulationConfig
from spine3d.triangulation.core import Triangulation, triangulate
from spine3d.triangulation.status import STATUS_NAMES
from spine3d.triangulation.detections import Detections
from spine3d.triangulation.filtering import fill_gaps, lowpass

@dataclass(frozen=True, eq=False)
class Reconstruction:
    """A triangulated trial.

    Attributes:
        result: the raw triangulation.
        points: (T, J, 3) m world: the trusted points after the optional gap filling and low-pass
            filter (which only ever start from trusted points), and the untrusted points the
            triangulation keeps, as they are (flagged by ``result.status``).
        filled: (T, J) bool, points created by gap filling.
        detections: the 2D input.
        skeleton: keypoint layout.
        fps: frame rate, Hz.
        config: the settings used.
    """

    result: Triangulation
    points: np.ndarray
    filled: np.ndarray
    detections: Detections
    skeleton: Skeleton
    fps: float
    config: TriangulationConfig

    @property
    def trusted(self) -> np.ndarray:
        """(T, J) bool: trusted points (:data:`spine3d.triangulation.status.TRUSTED`) and gap-filled ones."""
        return self.result.trusted | self.filled


def reconstruct(rig: CameraRig, detections: Detections, skeleton: Skeleton, fps: float,
                config: TriangulationConfig, progress: bool = False) -> Reconstruction:
    """Triangulate detections with ``config`` and apply its temporal post-processing to the trusted
    points (untrusted ones are gaps to it; where nothing replaces them they stay as triangulated)."""
    if not fps > 0:
        raise InputError(f"--fps must be positive, got {fps}")
    options = asdict(replace(config.triangulation, progress=progress))
    result = triangulate(rig, detections.points2d, detections.confidence, config.method, **options)
    points = np.where(result.trusted[..., None], result.points, np.nan)
    filled = np.zeros(result.points.shape[:-1], dtype=bool)
    if config.filter.gap_fill:
        points, filled = fill_gaps(points, config.filter.max_gap)
    if config.filter.lowpass:
        points = lowpass(points, fps, config.filter.cutoff, config.filter.order)
    points = np.where(np.isnan(points), result.points, points)
    return Reconstruction(result, points, filled, detections, skeleton, fps, config)


def check_output_paths(paths: list[str | os.PathLike]) -> list[Path]:
    """Output paths with a supported suffix (raises InputError on any other)."""
    out = [Path(p) for p in paths]
    for p in out:
        if p.suffix.lower() not in SUFFIXES:
            raise InputError(f"unsupported output type {p.suffix or '(none)'!r}; use {', '.join(SUFFIXES)}", p)
    return out


def write_outputs(recon: Reconstruction, paths: list[str | os.PathLike], untrusted: bool = False) -> list[Path]:
    """Write the reconstruction to each path, by suffix: TRC (the trusted and gap-filled points; every
    kept point with ``untrusted``), npz or HDF5 (everything, with each point's status), in the one
    3D-result schema (:mod:`spine3d.formats.results3d`)."""
    result = as_result3d(recon)
    keep = None if untrusted else recon.trusted
    return [write_result3d(path, result, keep=keep) for path in check_output_paths(paths)]


def as_result3d(recon: Reconstruction) -> Result3D:
    """The reconstruction as a 3D result: world frame, m, with the triangulation's arrays and its inputs."""
    det, res = recon.detections, recon.result
    extras = {
        "inliers": res.inliers, "reprojection_error": res.reprojection_error, "num_views": res.num_views,
        "view_errors": res.view_errors, "points_raw": res.points, "filled": recon.filled,
        "points2d": det.points2d, "confidence": det.confidence, "camera_names": np.array(res.camera_names),
        "method": np.array(res.method),
    }
    if det.chosen is not None:
        extras["chosen_person"] = det.chosen
    return Result3D(recon.points, tuple(recon.skeleton.names), "world", "m", skeleton=recon.skeleton.name,
                    fps=recon.fps, frame_numbers=det.frame_numbers, status=res.status, status_names=STATUS_NAMES,
                    extras=extras)
