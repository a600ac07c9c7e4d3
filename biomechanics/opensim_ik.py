"""The reference backend: OpenSim's inverse-kinematics solver on the model spine3d writes.

``InverseKinematicsSolver`` is the engine of OpenSim's ``InverseKinematicsTool``; spine3d drives it
directly so that marker weights can change from frame to frame (the tool's weights are constant
over a trial). Settings are SIMSPINE's: coupled coordinates enforced exactly (constraint weight
infinite), accuracy 1e-5; markers missing in a frame (NaN) are skipped in that frame by OpenSim.
Each frame starts from the previous frame's solution, the first from the pelvis placed on the
markers (:mod:`spine3d.biomechanics.initial`), the same first guess the batched solver uses.
"""

from __future__ import annotations

import math
import time

import numpy as np
from tqdm import tqdm

from spine3d.biomechanics.coupling import Parametrisation
from spine3d.biomechanics.initial import initial_coordinates
from spine3d.biomechanics.model import BodyModel
from spine3d.biomechanics.osim_model import build_model, import_opensim
from spine3d.data.synth.coordinates import TRANSLATIONS
from spine3d.formats.simspine_schema import KINEMATIC_AXES, world_to_file

ACCURACY = 1e-5  # SIMSPINE's IK setting


def opensim_ik(model: BodyModel, par: Parametrisation, markers: np.ndarray, weights: np.ndarray, fps: float,
               accuracy: float = ACCURACY, progress: bool = False) -> tuple[np.ndarray, float]:
    """Inverse kinematics with OpenSim.

    Args:
        model: the body and its markers (M); par: the solved coordinates and couplings.
        markers: (T, M, 3) m, world frame (Z-up); NaN = missing.
        weights: (T, M) >= 0 marker weights.
        fps: frame rate, Hz (times of the marker table).
        accuracy: the solver's accuracy.
        progress: tqdm bar over frames.

    Returns:
        q: (T, 62) coordinates (deg; m) in KINEMATIC_AXES order; seconds: wall time of the solve loop
        (assembly and tracking, not the model and table set-up).
    """
    osim = import_opensim()
    omodel = build_model(model, par)
    state = omodel.initSystem()
    file_markers = world_to_file(np.asarray(markers, np.float64))
    # a missing marker (NaN) is skipped whatever its weight: keep its weight unchanged there, so the
    # solver's weights only change when the evidence does
    weights = np.where(np.isfinite(file_markers).all(-1), weights, np.asarray(weights).max(axis=0))
    solver = osim.InverseKinematicsSolver(omodel, _markers_reference(osim, model, file_markers, weights[0], fps),
                                          osim.SimTKArrayCoordinateReference(), math.inf)
    solver.setAccuracy(accuracy)
    coordinates = omodel.getCoordinateSet()
    columns = _columns(omodel)
    _set_pelvis(coordinates, state, initial_coordinates(file_markers[:1], model.marker_names)[0])
    q = np.empty((len(markers), len(KINEMATIC_AXES)))
    names = model.marker_names
    t0 = time.perf_counter()
    for t in tqdm(range(len(markers)), desc="OpenSim IK", unit="frame", disable=not progress):
        state.setTime(t / fps)
        if t == 0:
            solver.assemble(state)  # the weights of frame 0 are the reference's
        else:
            for j in np.flatnonzero(weights[t] != weights[t - 1]):  # only after assemble (OpenSim)
                solver.updateMarkerWeight(names[j], float(weights[t, j]))
            solver.track(state)
        q[t] = [coordinates.get(k).getValue(state) for k in columns]
    seconds = time.perf_counter() - t0
    return np.where(_is_translation(), q, np.rad2deg(q)), seconds


def _markers_reference(osim, model: BodyModel, file_markers: np.ndarray, weights: np.ndarray, fps: float):
    """MarkersReference over a TimeSeriesTableVec3 (OpenSim frame, metres) with (M,) marker weights."""
    table = osim.TimeSeriesTableVec3()
    labels = osim.StdVectorString()
    for name in model.marker_names:
        labels.append(name)
    table.setColumnLabels(labels)
    table.addTableMetaDataString("Units", "m")
    row = osim.RowVectorVec3(model.num_markers)
    nan = osim.Vec3(math.nan, math.nan, math.nan)
    for t, frame in enumerate(file_markers):  # OpenSim's table API takes one row at a time
        for j, (x, present) in enumerate(zip(frame.tolist(), np.isfinite(frame).all(-1))):
            row[j] = osim.Vec3(*x) if present else nan
        table.appendRow(t / fps, row)
    weight_set = osim.SetMarkerWeights()
    for name, w in zip(model.marker_names, weights):
        weight_set.cloneAndAppend(osim.MarkerWeight(name, float(w)))
    return osim.MarkersReference(table, weight_set)


def _columns(omodel) -> list[int]:
    """Index in the model's CoordinateSet of each of the 62 axes."""
    coordinates = omodel.getCoordinateSet()
    names = [coordinates.get(k).getName() for k in range(coordinates.getSize())]
    return [names.index(axis) for axis in KINEMATIC_AXES]


def _set_pelvis(coordinates, state, q0: np.ndarray) -> None:
    """Put the pelvis coordinates of the first frame's guess into ``state`` (constraints untouched)."""
    for name in ("pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz"):
        value = q0[KINEMATIC_AXES.index(name)]
        coordinates.get(name).setValue(state, float(value if name in TRANSLATIONS else np.deg2rad(value)), False)


def _is_translation() -> np.ndarray:
    return np.array([a in TRANSLATIONS for a in KINEMATIC_AXES])
