"""The batched IK solver: analytic Jacobian, compiled kernel vs numpy path, exact recovery, bounds, missing
markers, observability, and agreement with OpenSim's solver on a short sequence."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.biomechanics.config import SolverOptions, SpineOptions
from spine3d.biomechanics.coupling import build_parametrisation, spine_couplings
from spine3d.biomechanics.model import BodyModel
from spine3d.biomechanics.observability import observed
from spine3d.biomechanics.solver import IKSolver
from spine3d.data.synth import generate as gen
from spine3d.data.synth.body import subject_dims
from spine3d.data.synth.coordinates import TRANSLATIONS
from spine3d.formats.simspine_schema import KINEMATIC_AXES
from spine3d.skeletons import BODY_25B, SIMSPINE_37

SEED = 7
HELD = {"subtalar_angle_r", "subtalar_angle_l", "mtp_angle_r", "mtp_angle_l", "pro_sup_r", "pro_sup_l",
        "wrist_flex_r", "wrist_flex_l", "wrist_dev_r", "wrist_dev_l"}  # what the SIMSPINE-37 markers cannot pin


@pytest.fixture(scope="module")
def body() -> BodyModel:
    return BodyModel(subject_dims("S8", 0), SIMSPINE_37.names)


@pytest.fixture(scope="module")
def par():
    return build_parametrisation(spine_couplings(SpineOptions(), thorax_free=True), held=HELD)


def _coordinates(par, rng, n: int, spread: float = 0.6) -> np.ndarray:
    """(n, k) solved coordinates: joints inside ``spread`` of their ranges, a standing pelvis."""
    lo, hi = np.where(np.isfinite(par.lower), par.lower, -20.0), np.where(np.isfinite(par.upper), par.upper, 20.0)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    p = rng.uniform(mid - spread * half, mid + spread * half, (n, par.size))
    for name, value in (("pelvis_tx", 0.3), ("pelvis_ty", 0.95), ("pelvis_tz", -0.2)):
        p[:, par.names.index(name)] = value + rng.normal(0, 0.05, n)
    return p


def test_analytic_jacobian_matches_central_differences(body, par):
    rng = np.random.default_rng(SEED)
    p = _coordinates(par, rng, 4)
    pose = body.forward(par.expand(p))
    jac = body.jacobian(pose, body.markers(pose), par.derivative(p), body.plan(par.owner, par.size))
    step = 1e-6
    for k in range(par.size):  # n columns, each a batched finite difference over the 4 poses
        dp = np.zeros(par.size)
        dp[k] = step
        plus = body.markers(body.forward(par.expand(p + dp)))
        minus = body.markers(body.forward(par.expand(p - dp)))
        np.testing.assert_allclose(jac[:, k], (plus - minus) / (2 * step), atol=1e-8)


def test_noise_free_markers_give_back_the_coordinates(body, par):
    """Markers of known coordinates (inside the model's couplings): recovered to 1e-4 deg, markers to 1 um."""
    rng = np.random.default_rng(SEED)
    p = _coordinates(par, rng, 64, spread=0.3)
    p = p[np.argsort(p[:, 0])]  # any order: frames are independent problems
    q = par.expand(p)
    markers = body.world_markers(q)
    result = IKSolver(body, par).solve(markers, np.ones(markers.shape[:2]))
    assert result.rms.max() < 1e-6
    solved = np.flatnonzero(par.owner >= 0)
    np.testing.assert_allclose(result.q[:, solved], q[:, solved], atol=1e-4)


def test_compiled_kernel_matches_the_numpy_path(body, par):
    rng = np.random.default_rng(SEED + 1)
    seq, _ = gen.synthesize_sequence("S8", "Eating", 1.0, seed=0)
    markers = body.world_markers(seq.kinematics.astype(np.float64))
    markers += rng.normal(0, 0.005, markers.shape)
    w = rng.uniform(0.2, 2.0, markers.shape[:2])
    numpy_path = IKSolver(body, par, SolverOptions(compiled=False)).solve(markers, w)
    compiled = IKSolver(body, par, SolverOptions(compiled=True)).solve(markers, w)
    np.testing.assert_allclose(compiled.cost, numpy_path.cost, rtol=1e-6)
    np.testing.assert_allclose(compiled.q, numpy_path.q, atol=0.05)  # deg: same minimum, other rounding path


def test_bounds_hold_and_are_reached(body, par):
    """Knee markers asking for hyperextension: the knee stops at its 0-deg limit, never beyond."""
    rng = np.random.default_rng(SEED)
    p = _coordinates(par, rng, 8, spread=0.2)
    q = par.expand(p)
    knee = KINEMATIC_AXES.index("knee_angle_r")
    q[:, knee] = -15.0  # beyond the range (0, 140): the markers come from an impossible pose
    markers = body.world_markers(q)
    result = IKSolver(body, par).solve(markers, np.ones(markers.shape[:2]))
    assert (result.q[:, knee] >= 0.0).all() and result.q[:, knee].max() < 1e-2  # at the limit, to the tolerance
    for name, k in zip(par.names, range(par.size)):
        i = KINEMATIC_AXES.index(name)
        assert (result.q[:, i] >= par.lower[k] - 1e-12).all() and (result.q[:, i] <= par.upper[k] + 1e-12).all()


def test_missing_markers_are_skipped_per_frame(body, par):
    """NaN markers and zero weights are the same thing; the rest still pin the pose exactly."""
    rng = np.random.default_rng(SEED)
    p = _coordinates(par, rng, 16, spread=0.3)
    q = par.expand(p)
    markers = body.world_markers(q)
    redundant = np.isin(SIMSPINE_37.names, ("Nose", "LEye", "REye", "LEar", "REar", "LClavicle", "RClavicle",
                                             "LLatissimus", "RLatissimus", "LBigToe", "RBigToe", "LSmallToe",
                                             "RSmallToe", "Neck_02", "Spine_04"))
    gone = (rng.random(markers.shape[:2]) < 0.4) & redundant  # the others still pin every coordinate
    holes = np.where(gone[..., None], np.nan, markers)
    junk = np.where(gone[..., None], 99.0, markers)  # any value where the weight is 0
    a = IKSolver(body, par).solve(holes, np.ones(gone.shape))
    b = IKSolver(body, par).solve(junk, np.where(gone, 0.0, 1.0))
    np.testing.assert_allclose(a.q, b.q, atol=1e-6)
    assert np.isnan(a.marker_error[gone]).all() and a.rms.max() < 1e-6


def test_observability_of_the_marker_sets(body):
    par = build_parametrisation(spine_couplings(SpineOptions(), thorax_free=True))
    seen = dict(zip(par.names, observed(body, par, np.ones(body.num_markers, bool))))
    assert not seen["pro_sup_r"] and not seen["wrist_flex_l"]  # no hand markers: the wrist sits on the axis
    assert seen["knee_angle_r"] and seen["arm_rot_l"] and seen["L5_S1_Flex_Ext"] and seen["neck_rotation"]
    spine_only = np.isin(SIMSPINE_37.names, ("Hip", "Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05"))
    seen = dict(zip(par.names, observed(body, par, spine_only)))
    assert not seen["knee_angle_r"] and not seen["neck_flexion"] and seen["L5_S1_Lat_Bending"]


def test_agrees_with_opensim_on_a_short_sequence():
    """The reference backend: OpenSim's IK solver on the same model, markers and weights."""
    pytest.importorskip("opensim", reason="OpenSim is an optional extra: pip install -e '.[biomech]'")
    from spine3d.biomechanics.opensim_ik import opensim_ik

    dims = subject_dims("S1", 0)
    body = BodyModel(dims, BODY_25B.names)
    par = build_parametrisation(spine_couplings(SpineOptions(), thorax_free=False), held=HELD)
    seq, _ = gen.synthesize_sequence("S1", "Walking", 0.5, seed=0)
    markers = body.world_markers(seq.kinematics.astype(np.float64))
    markers += np.random.default_rng(SEED).normal(0, 0.005, markers.shape)
    w = np.ones(markers.shape[:2])
    q_osim, _ = opensim_ik(body, par, markers, w, 50.0)
    ours = IKSolver(body, par).solve(markers, w)
    solved = [KINEMATIC_AXES.index(n) for n in par.names if n not in TRANSLATIONS]  # degrees
    diff = ours.q[:, solved] - q_osim[:, solved]
    assert np.sqrt(np.mean(diff ** 2)) < 0.5  # deg, RMS over coordinates and frames
    lumbar = [KINEMATIC_AXES.index(f"{lv}_{a}") for lv in ("L5_S1", "L3_L4", "L1_T12")
              for a in ("Flex_Ext", "Lat_Bending", "axial_rotation")]
    assert np.abs(ours.q[:, lumbar] - q_osim[:, lumbar]).max() < 0.5
    x = body.markers(body.forward(q_osim))
    rms_osim = np.sqrt(np.mean(np.sum((x - markers[..., [1, 2, 0]]) ** 2, -1), axis=1))
    assert (ours.rms <= rms_osim + 1e-4).all()  # never more than 0.1 mm worse per frame
