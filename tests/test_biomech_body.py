"""One body, two backends: the numpy forward kinematics and the .osim spine3d writes agree; marker sites."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.biomechanics.config import SpineOptions
from spine3d.biomechanics.coupling import build_parametrisation, lumbar_shares, spine_couplings
from spine3d.biomechanics.model import BodyModel
from spine3d.data.synth.coordinates import TRANSLATIONS
from spine3d.data.synth.body import marker_sites, rest_frames, subject_dims
from spine3d.data.synth.coordinates import apply_couplings
from spine3d.data.synth.kinematics import build_chain, forward_kinematics, site_positions
from spine3d.formats.simspine_schema import KINEMATIC_AXES
from spine3d.skeletons import SIMSPINE_37

SEED = 20260101


@pytest.fixture(scope="module")
def osim():
    return pytest.importorskip("opensim", reason="OpenSim is an optional extra: pip install -e '.[biomech]'")


def _random_coordinates(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.uniform(-45.0, 45.0, (n, len(KINEMATIC_AXES)))
    q[:, [KINEMATIC_AXES.index(a) for a in ("pelvis_tx", "pelvis_ty", "pelvis_tz")]] = rng.uniform(-2, 2, (n, 3))
    q[:, [KINEMATIC_AXES.index(a) for a in ("Abs_t1", "Abs_t2")]] = rng.uniform(-0.01, 0.01, (n, 2))
    return q


def _set_state(osim, model, state, q: np.ndarray) -> None:
    """Every OpenSim coordinate from the 62 axes; hidden copies (neck_flexion_cerv2, ...) = their axis."""
    coordinates = model.getCoordinateSet()
    for k in range(coordinates.getSize()):
        c = coordinates.get(k)
        axis = next(a for a in sorted(KINEMATIC_AXES, key=len, reverse=True) if c.getName().startswith(a))
        value = q[KINEMATIC_AXES.index(axis)]  # (the neck's shares make OpenSim call them "coupled")
        c.setValue(state, float(value if axis in TRANSLATIONS else np.deg2rad(value)), False)


def _osim_markers(osim, model, state) -> np.ndarray:
    model.realizePosition(state)
    markers = model.getMarkerSet()
    return np.array([[markers.get(j).getLocationInGround(state).get(i) for i in range(3)]
                     for j in range(markers.getSize())])


def test_random_coordinates_give_equal_markers_in_numpy_and_opensim(osim, tmp_path):
    """The acceptance test of 'one body, two backends': 1e-6 m on all 37 markers, random poses."""
    from spine3d.biomechanics.osim_model import write_model

    dims = subject_dims("S7", 3)
    body = BodyModel(dims, SIMSPINE_37.names)
    write_model(tmp_path / "body.osim", body)
    model = osim.Model(str(tmp_path / "body.osim"))  # what a user loads: the file, not the object
    state = model.initSystem()
    q = _random_coordinates(np.random.default_rng(SEED), 25)
    chain = build_chain(dims)
    R, p = forward_kinematics(chain, q)
    sites = marker_sites(dims)
    expected = site_positions(chain, R, p, [sites[n] for n in SIMSPINE_37.names])  # the generator's own FK
    for t in range(len(q)):  # 25 poses through OpenSim's API, one state at a time
        _set_state(osim, model, state, q[t])
        np.testing.assert_allclose(_osim_markers(osim, model, state), expected[t], atol=1e-6)


def test_model_has_simspine_coordinates_markers_and_ranges(osim, tmp_path):
    from spine3d.biomechanics.osim_model import write_model
    from spine3d.data.synth.coordinates import limits_for

    write_model(tmp_path / "m.osim", BodyModel(subject_dims("S1", 0), SIMSPINE_37.names))
    model = osim.Model(str(tmp_path / "m.osim"))
    model.initSystem()
    coordinates = model.getCoordinateSet()
    names = [coordinates.get(k).getName() for k in range(coordinates.getSize())]
    assert set(KINEMATIC_AXES) <= set(names)
    assert sorted(set(names) - set(KINEMATIC_AXES)) == sorted(f"neck_{a}_{b}" for a in ("flexion", "bending",
                                                                                          "rotation")
                                                               for b in ("cerv2", "head"))
    markers = model.getMarkerSet()
    assert [markers.get(j).getName() for j in range(markers.getSize())] == list(SIMSPINE_37.names)
    hip = coordinates.get("hip_flexion_r")
    assert np.rad2deg([hip.getRangeMin(), hip.getRangeMax()]) == pytest.approx(limits_for("hip_flexion_r"))
    assert coordinates.get("pelvis_tx").getMotionType() == osim.Coordinate.Translational


def test_coupler_constraints_reproduce_the_parametrisation(osim):
    """OpenSim's assembly of the IK model puts every coupled axis where Parametrisation.expand does."""
    from spine3d.biomechanics.osim_model import build_model

    dims = subject_dims("S5", 0)
    par = build_parametrisation(spine_couplings(SpineOptions(), thorax_free=False))
    model = build_model(BodyModel(dims, SIMSPINE_37.names), par)
    state = model.initSystem()
    rng = np.random.default_rng(SEED)
    p = rng.uniform(np.maximum(par.lower, -30), np.minimum(par.upper, 30), (1, par.size))
    q = par.expand(p)[0]
    coordinates = model.getCoordinateSet()
    for name, value in zip(par.names, p[0]):
        c = coordinates.get(name)
        c.setValue(state, float(value if name in TRANSLATIONS else np.deg2rad(value)), False)
    model.assemble(state)  # OpenSim solves the couplers for the dependent coordinates
    for name in ("L4_L5_Flex_Ext", "L1_T12_Lat_Bending", "L3_L4_axial_rotation", "Abs_r1", "Abs_r3", "Abs_t1",
                 "knee_angle_l_beta"):
        c = coordinates.get(name)
        value = c.getValue(state)
        got = value if name in TRANSLATIONS else np.rad2deg(value)
        assert got == pytest.approx(q[KINEMATIC_AXES.index(name)], abs=1e-5), name  # assembly accuracy


def test_marker_sites_sit_on_simspines_bodies():
    sites = marker_sites(subject_dims("S1", 0))
    assert set(sites) == set(SIMSPINE_37.names)
    body = {name: site[0] for name, site in sites.items()}
    assert (body["Spine_01"], body["Spine_02"], body["Spine_03"]) == ("L5", "L3", "L1")
    torso = ("Spine_04", "Spine_05", "Neck", "Neck_02", "Neck_03", "LClavicle", "RClavicle", "LLatissimus",
             "RLatissimus", "LShoulder", "RShoulder")
    assert {body[n] for n in torso} == {"thorax_upper"}
    assert {body[n] for n in ("Head", "Nose", "LEye", "REye", "LEar", "REar")} == {"head"}
    assert body["Hip"] == body["LHip"] == "pelvis"
    assert (body["RKnee"], body["RAnkle"], body["RElbow"], body["RWrist"]) == ("femur_r", "tibia_r", "humerus_r",
                                                                               "radius_r")


def test_moved_torso_markers_keep_their_rest_positions():
    """Neck (C7), Neck_02 (C5), Neck_03 (C2) sit on the torso where the cervical joint centres are at rest."""
    dims = subject_dims("S9", 1)
    chain = build_chain(dims)
    R, p = forward_kinematics(chain, np.zeros((1, 62)))
    sites = marker_sites(dims)
    at_rest = dict(zip(sites, site_positions(chain, R, p, list(sites.values()))[0]))
    for marker, joint in (("Neck", "cerv1"), ("Neck_02", "cerv2"), ("Neck_03", "head")):
        np.testing.assert_allclose(at_rest[marker], p[0, chain.index(joint)], atol=1e-12)
        np.testing.assert_allclose(rest_frames(dims)[joint][1], p[0, chain.index(joint)], atol=1e-12)


def test_lumbar_coupling_distributes_the_total_by_range_of_motion():
    par = build_parametrisation(spine_couplings(SpineOptions(), thorax_free=True))
    shares = lumbar_shares(SpineOptions().lumbar_rom)
    p = np.zeros((1, par.size))
    p[0, par.names.index("L5_S1_Flex_Ext")] = -3.4  # deg
    q = par.expand(p)[0]
    levels = [q[KINEMATIC_AXES.index(f"{lv}_Flex_Ext")] for lv in ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2",
                                                                      "L1_T12")]
    np.testing.assert_allclose(np.array(levels) / np.sum(levels), shares["flex"], atol=1e-12)
    assert sum(levels) == pytest.approx(-3.4 / shares["flex"][0])
    assert q[KINEMATIC_AXES.index("Abs_r3")] == 0.0  # free thorax: not coupled
    assert "Abs_r3" in par.names and "L4_L5_Flex_Ext" not in par.names


def test_body_couplings_hold_in_the_synthetic_data():
    from spine3d.data.synth import generate as gen

    seq, _ = gen.synthesize_sequence("S6", "Greeting", 2.0, seed=2)
    q = seq.kinematics.astype(np.float64)
    np.testing.assert_allclose(apply_couplings(q), q, atol=1e-6)  # float32 storage
