"""SIMSPINE's simulation framework on one trial: markers in, kinematics and a SIMSPINE file out.

Steps: read the markers and their evidence (:mod:`.inputs`); choose what is solved (:mod:`.coupling`,
:mod:`.observability`); scale the body (:mod:`.scaling`); inverse kinematics with the batched solver
or OpenSim (:mod:`.solver`, :mod:`.opensim_ik`); the scaled body's 37 virtual markers, low-passed at
5 Hz; write ``kinematics.mot``, ``model.osim``, ``simspine.h5`` and the report (:mod:`.outputs`,
:mod:`.report`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spine3d.biomechanics.config import KinematicsConfig
from spine3d.biomechanics.coupling import Parametrisation, build_parametrisation, spine_couplings
from spine3d.biomechanics.inputs import MarkerInput, load_markers, marker_weights
from spine3d.biomechanics.model import BodyModel
from spine3d.biomechanics.observability import observed
from spine3d.biomechanics.outputs import filtered, rig_arrays, write_h5, write_kinematics_mot
from spine3d.biomechanics.report import FIGURE, coordinate_ranges, marker_table, plot_lumbar, write_report
from spine3d.biomechanics.scaling import ScaleResult, fit_body
from spine3d.biomechanics.solver import IKSolver, nan_rms
from spine3d.data.synth.body import body_dims
from spine3d.formats.simspine_schema import KINEMATIC_AXES, world_to_file
from spine3d.skeletons import SIMSPINE_37

logger = logging.getLogger(__name__)

OUTPUTS = ("kinematics.mot", "model.osim", "simspine.h5", "report.json", "report.md", FIGURE)
LIFTED_NOTE = ("Lifted input (camera frame, root-relative): pelvis_tx, pelvis_ty, pelvis_tz mean nothing (the "
               "root is pinned to the origin), and the pelvis angles are relative to the camera, not to the ground.")


@dataclass(frozen=True)
class Kinematics:
    """Inverse kinematics of one trial.

    Attributes:
        q: (T, 62) coordinates (deg; m). marker_error: (T, M) m (NaN: missing). rms: (T,) m per frame.
        par: what was solved and held. scale: the fitted body. seconds: IK wall time.
    """

    q: np.ndarray
    marker_error: np.ndarray
    rms: np.ndarray
    par: Parametrisation
    scale: ScaleResult
    seconds: float
    scale_seconds: float


def thorax_is_free(config: KinematicsConfig, names: tuple[str, ...]) -> bool:
    """Abs flexion and bending solved ("free") or coupled to the lumbar totals, from the config and markers."""
    if config.spine.thorax != "auto":
        return config.spine.thorax == "free"
    return "Spine_03" in names and ("Spine_04" in names or "Spine_05" in names)


def parametrisation(data: MarkerInput, config: KinematicsConfig) -> Parametrisation:
    """The coordinates to solve for these markers: coupled as configured, unobserved ones held at 0."""
    couplings = spine_couplings(config.spine, thorax_is_free(config, data.names))
    full = build_parametrisation(couplings)
    seen = observed(BodyModel(body_dims(1.7), data.names), full, data.present)
    held = set(config.held) | {n for n, s in zip(full.names, seen) if not s}
    return build_parametrisation(couplings, held=held, fixed_values=config.held)


def solve(data: MarkerInput, config: KinematicsConfig, progress: bool = False) -> Kinematics:
    """Scale the body to the markers, then inverse kinematics with the configured backend."""
    weights = marker_weights(data, config.weights)
    par = parametrisation(data, config)
    t0 = time.perf_counter()
    scale = fit_body(data.markers, weights, data.names, par, config.scaling)
    scale_seconds = time.perf_counter() - t0
    model = BodyModel(scale.dims, data.names)
    if config.backend == "opensim":
        from spine3d.biomechanics.opensim_ik import opensim_ik

        q, seconds = opensim_ik(model, par, data.markers, weights, data.fps, progress=progress)
        error = _errors(model, q, data.markers, weights)
    else:
        result = IKSolver(model, par, config.solver).solve(data.markers, weights, progress=progress)
        q, seconds, error = result.q, result.seconds, result.marker_error
    return Kinematics(q, error, nan_rms(error, axis=1), par, scale, seconds, scale_seconds)


def run_kinematics(markers: str | os.PathLike, out: str | os.PathLike, config: KinematicsConfig = KinematicsConfig(),
                   calib: str | os.PathLike | None = None, subject: str = "S1", action: str | None = None,
                   fps: float | None = None, skeleton: str | None = None, progress: bool = False) -> Path:
    """The framework on one marker file; writes OUTPUTS into ``out`` and returns report.md's path.

    Args:
        markers: .trc or .npz (see :func:`spine3d.biomechanics.inputs.load_markers`).
        out: output folder.
        config: settings (backend, weights, coupling, solver, scaling, filter).
        calib: calibration TOML of the cameras to store in simspine.h5 (default: a virtual rig).
        subject, action: names of the trial in simspine.h5 (action default: the file's stem).
        fps, skeleton: override the file's frame rate / joint layout.
        progress: progress bars.
    """
    from spine3d.biomechanics.osim_model import import_opensim, write_model

    import_opensim()  # the .osim is written through OpenSim's API: fail before any work without it
    out = Path(out)
    data = load_markers(markers, skeleton, fps, config.evidence)
    result = solve(data, config, progress)
    full = BodyModel(result.scale.dims, SIMSPINE_37.names)
    virtual = filtered(full.world_markers(result.q), data.fps, config.filter_cutoff)
    out.mkdir(parents=True, exist_ok=True)
    write_kinematics_mot(out / "kinematics.mot", result.q, data.fps)
    write_model(out / "model.osim", full, result.par, name=f"spine3d_{subject}")
    rig, rig_label = rig_arrays(calib, virtual)
    write_h5(out / "simspine.h5", subject, action or Path(markers).stem, virtual, result.q, data.fps, rig)
    plot_lumbar(out / FIGURE, result.q, data.fps)
    report = build_report(data, result, config, markers, rig_label)
    return write_report(out, report)


def build_report(data: MarkerInput, result: Kinematics, config: KinematicsConfig, source: Any,
                 rig_label: str) -> dict[str, Any]:
    """Every number of the report (see :mod:`spine3d.biomechanics.report`)."""
    notes = [LIFTED_NOTE] if data.frame == "camera" else []
    unseen = sorted(set(result.par.held) - set(config.held))
    if config.held:
        notes.append("Held by the configuration: " + ", ".join(f"{k} at {v:g} deg" for k, v in config.held.items())
                     + ".")
    if unseen:
        notes.append("Not observed by the input's markers, held at 0: " + ", ".join(unseen) + ".")
    if data.source != "triangulation npz":
        notes.append(f"{data.source}: no per-point evidence in the file; every present marker has its configured "
                     "weight.")
    rms = result.rms[np.isfinite(result.rms)] * 1000.0
    header = {"input": f"{source} ({data.source}, layout {data.skeleton}, {len(data.names)} markers used"
                       + (f"; ignored: {', '.join(data.dropped)}" if data.dropped else "") + ")",
              "frames": f"{len(data.markers)} at {data.fps:g} Hz", "backend": config.backend,
              "thorax": "free" if thorax_is_free(config, data.names) else "coupled to the lumbar totals",
              "simspine.h5 cameras": rig_label}
    summary = {"frames": len(data.markers), "markers": len(data.names), "backend": config.backend,
               "rms_mm_median": float(np.median(rms)) if len(rms) else float("nan"),
               "rms_mm_max": float(rms.max()) if len(rms) else float("nan"),
               "ik_seconds": result.seconds, "scaling_seconds": result.scale_seconds,
               "ik_ms_per_frame": 1000.0 * result.seconds / max(len(data.markers), 1)}
    scale = result.scale
    return {"header": header, "notes": notes, "summary": summary,
            "per_frame_rms_mm": (result.rms * 1000.0).tolist(),
            "markers": marker_table(data.names, result.marker_error),
            "scaling": {"values": scale.values, "start_height": scale.start_height, "frames": scale.frames.tolist(),
                        "residual_mm": scale.residual_mm, "rms_mm": scale.rms_mm},
            "solved": list(result.par.names), "held": list(result.par.held),
            "coordinates": coordinate_ranges(result.q, result.par.held), "kinematic_axes": list(KINEMATIC_AXES)}


def _errors(model: BodyModel, q: np.ndarray, markers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T, M) m distance between model markers at q and the observations (NaN where absent or weight 0)."""
    x = model.markers(model.forward(q))
    obs = world_to_file(markers)
    present = np.isfinite(obs).all(-1) & (weights > 0)
    return np.where(present, np.linalg.norm(x - np.nan_to_num(obs), axis=-1), np.nan)

