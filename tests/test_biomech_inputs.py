"""Marker files for inverse kinematics (TRC, triangulation npz, lifter npz) and the body-dimension fit."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.biomechanics.config import EvidenceOptions, SpineOptions
from spine3d.biomechanics.coupling import build_parametrisation, spine_couplings
from spine3d.biomechanics.inputs import load_markers, marker_weights
from spine3d.biomechanics.model import BodyModel
from spine3d.biomechanics.scaling import fit_body, pick_frames, rigid_pairs, start_height
from spine3d.data.synth import generate as gen
from spine3d.data.synth.body import body_dims, subject_dims
from spine3d.data.synth.motion import stable_rng
from spine3d.errors import InputError
from spine3d.formats.opensim import write_trc
from spine3d.skeletons import BODY_25B, SIMSPINE_15, SIMSPINE_37, SPINEPOSE_37
from spine3d.triangulation.status import OK, TOO_FEW_VIEWS


def test_trc_joints_map_by_canonical_name(tmp_path):
    points = np.random.default_rng(0).normal(0.0, 0.3, (5, SPINEPOSE_37.num_joints, 3))  # body-sized, m
    points[2, 4] = np.nan
    write_trc(tmp_path / "a.trc", points, SPINEPOSE_37.names, 30.0)
    data = load_markers(tmp_path / "a.trc")
    assert data.skeleton == "spinepose37" and data.fps == 30.0 and data.frame == "world"
    assert set(data.names) == set(SIMSPINE_37.names)  # SpinePose's 37 are SIMSPINE's 37, by canonical name
    j = data.names.index(SPINEPOSE_37.canonical[4])
    np.testing.assert_allclose(data.markers[:, data.names.index("Spine_03")],
                               points[:, SPINEPOSE_37.index("spine_03")], atol=1e-12)
    assert data.evidence[2, j] == 0 and np.isnan(data.markers[2, j]).all() and data.evidence.sum() == 5 * 37 - 1


def test_triangulation_npz_evidence(tmp_path):
    t, j = 4, BODY_25B.num_joints
    points = np.ones((t, j, 3))
    status = np.full((t, j), OK, np.uint8)
    views = np.full((t, j), 4)
    error = np.zeros((t, j))
    filled = np.zeros((t, j), bool)
    views[0, 0], error[1, 0] = 2, 10.0  # fewer inlier views; a 10 px reprojection error
    status[2, 0], filled[2, 0] = TOO_FEW_VIEWS, True  # gap-filled
    status[3, 0], points[3, 0] = TOO_FEW_VIEWS, np.nan  # failed
    np.savez(tmp_path / "t.npz", points=points, marker_names=np.array(BODY_25B.names), status=status,
             num_views=views, reprojection_error=error, filled=filled, camera_names=np.array(["a", "b", "c", "d"]),
             fps=np.array(60.0))
    data = load_markers(tmp_path / "t.npz", evidence=EvidenceOptions(reprojection_px=10.0, filled_weight=0.25))
    nose = data.names.index("Nose")
    np.testing.assert_allclose(data.evidence[:, nose], [1 / 3, 0.5, 0.25, 0.0])  # (2-1)/(4-1); 1/(1+1); filled
    assert data.cameras == ("a", "b", "c", "d") and data.fps == 60.0
    weights = marker_weights(data, {"Nose": 0.1})
    np.testing.assert_allclose(weights[:, nose], 0.1 * data.evidence[:, nose])
    assert (weights[:, data.names.index("LShoulder")] == 1.0).all()  # not listed: 1


def test_lifter_npz_is_turned_upright(tmp_path):
    cam = np.zeros((3, 15, 3))
    cam[:, 9] = [10.0, -800.0, 50.0]  # Head: 0.8 m up (y down), 5 cm towards +z (away from the camera)
    np.savez(tmp_path / "l.npz", points_3d=cam, joint_names=np.array(SIMSPINE_15.names),
             skeleton=np.array("simspine15"), units=np.array("mm"))  # the layout `spine3d lift` writes
    data = load_markers(tmp_path / "l.npz")
    assert data.frame == "camera" and data.fps == 50.0
    np.testing.assert_allclose(data.markers[0, data.names.index("Head")], [-0.05, 0.01, 0.8])


def test_bad_marker_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_markers(tmp_path / "none.trc")
    (tmp_path / "x.csv").write_text("1,2,3\n")
    with pytest.raises(InputError, match="unsupported"):
        load_markers(tmp_path / "x.csv")
    np.savez(tmp_path / "o.npz", poses=np.zeros((2, 3)))
    with pytest.raises(InputError, match="not a 3D result file"):
        load_markers(tmp_path / "o.npz")
    write_trc(tmp_path / "u.trc", np.zeros((2, 2, 3)), ["foo", "bar"], 10.0)
    with pytest.raises(InputError, match="--skeleton"):
        load_markers(tmp_path / "u.trc")


def test_pick_frames_prefers_complete_frames_spread_over_time():
    evidence = np.ones((100, 10))
    evidence[::3, 0] = 0.0  # every third frame lacks a marker
    frames = pick_frames(evidence, 5)
    assert len(frames) == 5 and (frames % 3 != 0).all() and frames.min() < 10 and frames.max() > 90


def test_rigid_pairs_and_start_height():
    model = BodyModel(body_dims(1.7), SIMSPINE_37.names)
    i, j = rigid_pairs(model)
    names = {(model.marker_names[a], model.marker_names[b]) for a, b in zip(i, j)}
    assert ("RKnee", "RAnkle") in names and ("LShoulder", "LElbow") in names and ("Head", "Nose") in names
    assert ("RKnee", "RWrist") not in names
    tall = BodyModel(body_dims(1.9), SIMSPINE_37.names)
    q = np.random.default_rng(0).uniform(-20, 20, (4, 62))
    assert start_height(tall.world_markers(q), np.ones((4, 37)), SIMSPINE_37.names) == pytest.approx(1.9, abs=1e-6)


@pytest.mark.parametrize("names", [SIMSPINE_37.names, BODY_25B.names], ids=["simspine37", "body25b"])
def test_scaling_recovers_a_synthetic_subject(names):
    """5 mm marker noise: stature within 1 cm, proportion factors within 0.03 of the generator's."""
    subject, seed = "S5", 0
    dims = subject_dims(subject, seed)
    seq, _ = gen.synthesize_sequence(subject, "Walking", 4.0, seed=seed)
    markers = BodyModel(dims, names).world_markers(seq.kinematics.astype(np.float64))
    markers += np.random.default_rng(1).normal(0, 0.005, markers.shape)
    par = build_parametrisation(spine_couplings(SpineOptions(), thorax_free=len(names) == 37))
    fit = fit_body(markers, np.ones(markers.shape[:2]), tuple(names), par)
    assert fit.values["height"] == pytest.approx(dims.height, abs=0.01)
    truth = stable_rng(seed, "body", subject).uniform([0.96, 0.95, 0.95, 0.92, 0.7], [1.04, 1.05, 1.05, 1.08, 1.3])
    for name, value in zip(("legs", "trunk", "arms", "width"), truth):
        assert fit.values[name] == pytest.approx(value, abs=0.03), name
    assert 4.0 < fit.rms_mm < 10.0 and set(fit.residual_mm) == set(names)  # noise sqrt(3) x 5 mm, less the fit
