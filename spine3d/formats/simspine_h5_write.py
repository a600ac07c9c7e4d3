"""Streaming writer of SIMSPINE HDF5 files (layout in :mod:`spine3d.formats.simspine_h5`)."""

from __future__ import annotations

import logging
import os
from typing import Iterable, Literal, Sequence

import h5py
import numpy as np

from spine3d.errors import InputError
from spine3d.formats.simspine_schema import (
    CALIBRATION_KEYS,
    KINEMATIC_AXES,
    RigArrays,
    SimSpineSequence,
    check_shape,
    skeleton_for_markers,
    world_to_file,
)
from spine3d.io import atomic_path

logger = logging.getLogger(__name__)


def _names_array(names: Sequence[str]) -> np.ndarray:
    return np.array([n.encode("utf-8") for n in names], dtype="S")


def write_simspine_h5(
    path: str | os.PathLike,
    sequences: Iterable[SimSpineSequence],
    calibrations: dict[str, RigArrays],
    marker_names: Sequence[str],
    kinematic_axes: Sequence[str] = KINEMATIC_AXES,
    compression: Literal["gzip", "lzf"] | None = "gzip",
    chunk_frames: int = 1024,
) -> None:
    """Write sequences to a ``simspine.h5`` file, one sequence in memory at a time.

    Args:
        path: output file; written to a temporary file and renamed on success.
        sequences: iterable (a generator is fine) of :class:`SimSpineSequence`, markers (T, K, 3) m
            in world Z-up (stored Y-up), kinematics (T, 62), timestamps (T,) s.
        calibrations: subject -> rig; every subject of ``sequences`` needs one.
        marker_names: (K,) names; must be the SIMSPINE 15 or 37 marker set.
        kinematic_axes: the 62 axis names (must equal KINEMATIC_AXES).
        compression: HDF5 filter for the per-frame datasets, or None.
        chunk_frames: frames per HDF5 chunk.
    """
    skeleton_for_markers(list(marker_names))
    if tuple(kinematic_axes) != KINEMATIC_AXES:
        raise InputError(f"kinematic_axes must be the 62 SIMSPINE axes in order, got {len(kinematic_axes)} names")
    for subject, rig in calibrations.items():
        if "/" in subject or subject == "metadata" or not subject:
            raise InputError(f"invalid subject name {subject!r} (no '/', not 'metadata', not empty)")
        rig.validate(f"calibrations[{subject!r}]")
    opts = {"compression": compression, "shuffle": compression is not None}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f["metadata/markers_names"] = _names_array(marker_names)
        f["metadata/kinematic_axes"] = _names_array(kinematic_axes)
        for subject, rig in calibrations.items():
            g = f.create_group(f"{subject}/calibration")
            g["names"] = _names_array(rig.names)
            for key in CALIBRATION_KEYS[1:]:
                g[key] = np.asarray(getattr(rig, key))
        count = 0
        for seq in sequences:
            _write_sequence(f, seq, len(marker_names), calibrations, opts, chunk_frames)
            count += 1
        logger.info("wrote %d sequences to %s", count, path)


def _write_sequence(f: h5py.File, seq: SimSpineSequence, k: int, calibrations: dict, opts: dict, chunk: int) -> None:
    where = f"{seq.subject}/{seq.action}"
    if "/" in seq.action or seq.action == "calibration" or not seq.action:
        raise InputError(f"invalid action name {seq.action!r} (no '/', not 'calibration', not empty)")
    if seq.subject not in calibrations:
        raise InputError(f"sequence {where}: subject {seq.subject} has no calibration")
    if where in f:
        raise InputError(f"sequence {where} given twice")
    t = len(seq.timestamps)
    if t == 0:
        raise InputError(f"sequence {where} has no frames")
    check_shape(seq.timestamps, (t,), f"{where}/timestamps", None)
    check_shape(seq.markers, (t, k, 3), f"{where}/markers", None)
    check_shape(seq.kinematics, (t, len(KINEMATIC_AXES)), f"{where}/kinematics", None)
    g = f.create_group(where)
    g.create_dataset("markers", data=world_to_file(np.asarray(seq.markers)), chunks=(min(t, chunk), k, 3), **opts)
    g.create_dataset("kinematics", data=np.asarray(seq.kinematics), chunks=(min(t, chunk), len(KINEMATIC_AXES)),
                     **opts)
    g.create_dataset("timestamps", data=np.asarray(seq.timestamps, np.float64), chunks=(min(t, chunk),), **opts)
