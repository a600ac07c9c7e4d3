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
from spine3d.io import atomic_path
from spine3d.skeletons import Skeleton
from spine3d.triangulation.config import TriangulationConfig
from spine3d.triangulation.core import Triangulation, triangulate
from spine3d.triangulation.status import STATUS_NAMES
from spine3d.triangulation.detections import Detections
from spine3d.triangulation.filtering import fill_gaps, lowpass

OUTPUT_SUFFIXES = (".trc", ".npz", ".h5", ".hdf5")


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """A triangulated trial.

    Attributes:
        result: the raw triangulation.
        points: (T, J, 3) m world, after the optional gap filling and low-pass filter.
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


def reconstruct(rig: CameraRig, detections: Detections, skeleton: Skeleton, fps: float,
                config: TriangulationConfig, progress: bool = False) -> Reconstruction:
    """Triangulate detections with ``config`` and apply its temporal post-processing."""
    if not fps > 0:
        raise InputError(f"--fps must be positive, got {fps}")
    options = asdict(replace(config.triangulation, progress=progress))
    result = triangulate(rig, detections.points2d, detections.confidence, config.method, **options)
    points, filled = result.points, np.zeros(result.points.shape[:-1], dtype=bool)
    if config.filter.gap_fill:
        points, filled = fill_gaps(points, config.filter.max_gap)
    if config.filter.lowpass:
        points = lowpass(points, fps, config.filter.cutoff, config.filter.order)
    return Reconstruction(result, points, filled, detections, skeleton, fps, config)


def check_output_paths(paths: list[str | os.PathLike]) -> list[Path]:
    """Output paths with a supported suffix (raises InputError on any other)."""
    out = [Path(p) for p in paths]
    for p in out:
        if p.suffix.lower() not in OUTPUT_SUFFIXES:
            raise InputError(f"unsupported output type {p.suffix or '(none)'!r}; use {', '.join(OUTPUT_SUFFIXES)}", p)
    return out


def write_outputs(recon: Reconstruction, paths: list[str | os.PathLike]) -> list[Path]:
    """Write the reconstruction to each path, by suffix: TRC (points only), npz or HDF5 (everything)."""
    written = []
    for path in check_output_paths(paths):
        suffix = path.suffix.lower()
        if suffix == ".trc":
            from spine3d.formats.opensim import write_trc

            write_trc(path, recon.points, list(recon.skeleton.names), recon.fps)
        elif suffix == ".npz":
            with atomic_path(path) as tmp:
                np.savez_compressed(tmp, **result_arrays(recon))
        else:
            _write_h5(path, result_arrays(recon))
        written.append(path)
    return written


def result_arrays(recon: Reconstruction) -> dict[str, np.ndarray]:
    """Everything the triangulation returns, plus its inputs and labels (see the CLI help)."""
    det = recon.detections
    arrays = {
        **recon.result.arrays(),
        "points_raw": recon.result.points,
        "points": recon.points,
        "filled": recon.filled,
        "points2d": det.points2d,
        "confidence": det.confidence,
        "frame_numbers": det.frame_numbers,
        "camera_names": np.array(recon.result.camera_names),
        "marker_names": np.array(recon.skeleton.names),
        "status_names": np.array(STATUS_NAMES),
        "fps": np.array(recon.fps),
        "method": np.array(recon.result.method),
    }
    if det.chosen is not None:
        arrays["chosen_person"] = det.chosen
    return arrays


def _write_h5(path: Path, arrays: dict[str, np.ndarray]) -> None:
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for key, value in arrays.items():
                if value.dtype.kind == "U":
                    f.create_dataset(key, data=value.astype(object), dtype=h5py.string_dtype())
                else:
                    f.create_dataset(key, data=value, compression="gzip" if value.ndim else None)
