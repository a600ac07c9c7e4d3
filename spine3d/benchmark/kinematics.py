"""Kinematics part of the benchmark: inverse kinematics of the triangulated test markers, scored in degrees.

The multi-view part's reconstruction (detected 2D, RANSAC + refinement) of every test sequence goes
through the batched solver of :mod:`spine3d.biomechanics` the way ``spine3d kinematics`` runs it: the
body scaled per subject to that subject's triangulated markers, inverse kinematics per sequence
with SIMSPINE's marker weights. The solved coordinates are compared with the 62 ground-truth axes of
the file (:mod:`spine3d.evaluation.kinematics`); coordinates the markers cannot see (held by the
solver) are left out. The per-level sagittal spine angles of the raw triangulated markers and of the
model's virtual markers are both compared with those of the true markers, over every test frame.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from spine3d import viz
from spine3d.biomechanics.config import KinematicsConfig
from spine3d.biomechanics.inputs import MarkerInput, marker_weights
from spine3d.biomechanics.model import BodyModel
from spine3d.biomechanics.pipeline import parametrisation
from spine3d.biomechanics.scaling import fit_body
from spine3d.biomechanics.solver import IKSolver, nan_rms
from spine3d.data.source import SequenceSource
from spine3d.evaluation.kinematics import coordinate_errors, group_errors
from spine3d.formats.simspine_schema import KINEMATIC_AXES

logger = logging.getLogger(__name__)


@dataclass
class KinematicsResults:
    """Scores of inverse kinematics on the triangulated test markers.

    Attributes:
        groups: group -> {"rms", "mae"} deg. coordinates: axis -> {"rms", "mae", "frames"} (deg; mm).
        sagittal: spine level -> {"raw": RMS deg, "ik": RMS deg} of the sagittal angle vs the truth.
        held: coordinates the markers cannot see (not scored).
        frames: frames solved; seconds: IK wall time (scaling excluded); scaling_seconds.
        example: {"virtual": (N, J, 3) m IK virtual markers in the source layout} for the figures.
    """

    groups: dict = field(default_factory=dict)
    coordinates: dict = field(default_factory=dict)
    sagittal: dict = field(default_factory=dict)
    held: tuple = ()
    frames: int = 0
    seconds: float = 0.0
    scaling_seconds: float = 0.0
    example: dict = field(default_factory=dict)


def run_kinematics(source: SequenceSource, pred: np.ndarray, sequence_ids: np.ndarray,
                   config: KinematicsConfig = KinematicsConfig()) -> KinematicsResults:
    """Score IK of ``pred`` (N, J, 3) m world, the test frames of ``source`` in order (``sequence_ids`` (N,))."""
    pairs = source.sequences("test")
    names = tuple(c for c in source.skeleton.canonical)
    res = KinematicsResults()
    q_all, virtual_all = np.empty((len(pred), len(KINEMATIC_AXES))), np.empty_like(pred)
    for subject in tqdm(dict.fromkeys(s for s, _ in pairs), desc="inverse kinematics", unit="subject", leave=False):
        rows = np.flatnonzero(np.isin(sequence_ids, [k for k, (s, _) in enumerate(pairs) if s == subject]))
        data = _markers(pred[rows], names)
        weights = marker_weights(data, config.weights)
        par = parametrisation(data, config)
        t0 = time.perf_counter()
        scale = fit_body(data.markers, weights, data.names, par, config.scaling)
        res.scaling_seconds += time.perf_counter() - t0
        solver = IKSolver(BodyModel(scale.dims, data.names), par, config.solver)
        full = BodyModel(scale.dims, names)
        unseen = par.owner < 0  # held, or driven by a held coordinate: not estimated
        res.held = tuple(n for n, u in zip(KINEMATIC_AXES, unseen) if u)
        for k in np.unique(sequence_ids[rows]):  # one sequence at a time: warm starts stay inside a trial
            sl = rows[sequence_ids[rows] == k]
            local = np.searchsorted(rows, sl)
            result = solver.solve(data.markers[local], weights[local])
            res.seconds += result.seconds
            q_all[sl] = np.where(unseen, np.nan, result.q)
            virtual_all[sl] = full.world_markers(result.q)
    truth = np.concatenate([source.dataset.sequence(s, a).kinematics for s, a in pairs]).astype(np.float64)
    res.frames = len(pred)
    res.groups = group_errors(q_all, truth, KINEMATIC_AXES)
    res.coordinates = coordinate_errors(q_all, truth, KINEMATIC_AXES)
    res.sagittal = _sagittal(pred, virtual_all, source)
    res.example = {"virtual": virtual_all}
    return res


def _markers(points: np.ndarray, names: tuple[str, ...]) -> MarkerInput:
    """Triangulated markers as IK input (base weights; missing points weigh 0)."""
    evidence = np.isfinite(points).all(-1).astype(float)
    return MarkerInput(points, names, evidence, 50.0, "world", "benchmark triangulation", "benchmark")


def _sagittal(pred: np.ndarray, virtual: np.ndarray, source: SequenceSource) -> dict[str, dict[str, float]]:
    """Per spine level, RMS (deg) over test frames of the sagittal angle: raw markers and IK virtual markers."""
    skeleton = source.skeleton
    gt = np.concatenate([source.world(s, a) for s, a in source.sequences("test")])
    truth = viz.sagittal_spine_angles(gt, skeleton)
    raw = viz.sagittal_spine_angles(pred, skeleton)
    ik = viz.sagittal_spine_angles(virtual, skeleton)
    out = {}
    for level, t in truth.items():
        out[level] = {key: float(nan_rms(v[level] - t)) for key, v in (("raw", raw), ("ik", ik))}
    return out


def kinematics_tables(kin: KinematicsResults) -> list[str]:
    """Markdown section of the report: errors per group and lumbar level, sagittal angles raw vs IK."""
    fmt = lambda v: "-" if v is None or not np.isfinite(v) else f"{v:.2f}"  # noqa: E731
    rows = [f"| {g} | {fmt(v['rms'])} | {fmt(v['mae'])} |" for g, v in kin.groups.items()]
    lumbar = [f"| {n} | {fmt(kin.coordinates[n]['rms'])} | {fmt(kin.coordinates[n]['mae'])} |"
              for n in KINEMATIC_AXES if n.startswith(("L5_", "L4_", "L3_", "L2_", "L1_"))]
    sag = [f"| {level} | {fmt(v['raw'])} | {fmt(v['ik'])} |" for level, v in kin.sagittal.items()]
    held = ", ".join(kin.held) if kin.held else "none"
    return ["## Inverse kinematics of the triangulated markers", "",
            f"The detected-2D RANSAC reconstruction through `spine3d kinematics`' batched solver (body scaled per "
            f"subject): {kin.frames:,} frames in {kin.seconds:.1f} s ({kin.frames / max(kin.seconds, 1e-9):,.0f} "
            f"frames/s; scaling {kin.scaling_seconds:.1f} s). Errors against the file's 62 axes, deg; not "
            f"scored (held, the markers cannot see them): {held}.", "",
            "| group | RMS (deg) | MAE (deg) |", "|---|---|---|", *rows, "",
            "| lumbar coordinate | RMS (deg) | MAE (deg) |", "|---|---|---|", *lumbar, "",
            "Sagittal angle per spine level vs the true markers' (RMS over every test frame, deg): raw triangulated "
            "markers against the model's virtual markers after inverse kinematics.", "",
            "| level | raw markers | after IK |", "|---|---|---|", *sag, ""]
