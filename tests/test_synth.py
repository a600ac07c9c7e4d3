"""Synthetic SIMSPINE generator: schema, determinism, kinematic consistency, anatomy, placement, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spine3d.calibration import CameraRig, h36m_rig
from spine3d.cli.main import main
from spine3d.formats.h36m_npz import read_h36m_positions
from spine3d.formats.merge import merged_sequences
from spine3d.formats.simspine_h5 import ACTIONS, KINEMATIC_AXES, SimSpineH5
from spine3d.skeletons import SIMSPINE_15, SIMSPINE_37, SPINE_9
from spine3d.data.synth import generate as gen
from spine3d.data.synth.actions import GENERATORS
from spine3d.data.synth.body import HEIGHT_RANGE, body_dims, foot_contacts, marker_sites, subject_dims
from spine3d.data.synth.kinematics import AXIS, build_chain, forward_kinematics, site_positions
from spine3d.data.synth.locomotion import gait_pattern
from spine3d.data.synth.motion import keyframes, smooth_noise, soft_clip, soft_min
from spine3d.data.synth.placement import COLUMN_TOP, MARGIN_PX, capture_area, in_view
from spine3d.data.synth.posture import limits_for, pelvis_angles, to_coordinates

SUBJECTS = ("S1", "S9")
ACTS = ("Walking", "SittingDown", "Greeting", "Purchases")
SECONDS = 2.0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    return gen.generate_dataset(out, subjects=SUBJECTS, seconds_per_action=SECONDS, seed=3, actions=ACTS)


@pytest.fixture(scope="module")
def h5(dataset) -> SimSpineH5:
    with SimSpineH5(dataset / gen.H5_NAME) as f:
        yield f


@pytest.fixture(scope="module")
def sequences(h5) -> list:
    return list(h5)


def _rest_markers(subject: str, seed: int) -> np.ndarray:
    """(15, 3) SIMSPINE_15 markers, OpenSim frame (x anterior, y up), all coordinates 0."""
    dims = subject_dims(subject, seed)
    chain = build_chain(dims)
    R, p = forward_kinematics(chain, np.zeros((1, len(KINEMATIC_AXES))))
    sites = marker_sites(dims)
    return site_positions(chain, R, p, [sites[n] for n in SIMSPINE_15.names])[0]


def _sagitta(points: np.ndarray, a: str, b: str, c: str) -> float:
    """Anterior (OpenSim +x) offset of marker b from the chord a-c, in the sagittal plane."""
    i, j, k = (SIMSPINE_15.index(n) for n in (a, b, c))
    pa, pb, pc = points[i, :2], points[j, :2], points[k, :2]
    u = (pb[1] - pa[1]) / (pc[1] - pa[1])
    return float(pb[0] - (pa[0] + u * (pc[0] - pa[0])))


# ---- schema and formats -----------------------------------------------------------------------
def test_schema_read_back(dataset, h5, sequences):
    assert h5.marker_names == list(SIMSPINE_15.names)
    assert h5.subjects == list(SUBJECTS)
    n = int(round(SECONDS * gen.FPS))
    for subject in SUBJECTS:
        assert h5.actions(subject) == sorted(ACTS)
        rig = h5.calibration(subject)
        assert rig.names == ["54138969", "55011271", "58860488", "60457274"]
        np.testing.assert_allclose(rig.K, h36m_rig(subject).to_arrays()["K"])
    for seq in sequences:
        assert seq.markers.shape == (n, 15, 3) and seq.kinematics.shape == (n, 62)
        np.testing.assert_allclose(seq.timestamps, np.arange(n) / 50.0)
        assert seq.fps == pytest.approx(50.0)
        assert np.isfinite(seq.markers).all() and np.isfinite(seq.kinematics).all()
    manifest = json.loads((dataset / gen.MANIFEST_NAME).read_text())
    assert manifest["seed"] == 3 and manifest["actions"] == list(ACTS)
    assert not (dataset / gen.INCOMPLETE_NAME).exists()


def test_h36m_positions_and_cameras_match_the_h5(dataset, h5, sequences):
    positions = read_h36m_positions(dataset / gen.H36M_NAME)
    assert sorted(positions) == sorted(SUBJECTS)
    for seq in sequences:
        joints = positions[seq.subject][seq.action]
        assert joints.shape == (len(seq.timestamps), 32, 3)
        np.testing.assert_allclose(joints[:, 0], seq.markers[:, 0], atol=1e-6)  # Hips == Hip marker
        np.testing.assert_array_equal(joints[:, 11], joints[:, 0])  # H36M Spine sits at Hips
        np.testing.assert_array_equal(joints[:, 16], joints[:, 13])  # shoulder roots sit at Neck
        np.testing.assert_array_equal(joints[:, 24], joints[:, 13])
    for subject in SUBJECTS:
        toml = CameraRig.from_toml(dataset / gen.CAMERAS_DIR / f"Calib_{subject}.toml").to_arrays()
        for key in ("K", "dist", "R", "t", "size"):
            np.testing.assert_allclose(toml[key], getattr(h5.calibration(subject), key), atol=1e-12)
    merged = list(merged_sequences(h5, positions, on_missing="raise"))
    assert len(merged) == len(SUBJECTS) * len(ACTS)
    assert merged[0].markers.shape[1] == SIMSPINE_37.num_joints


def test_every_action_has_a_generator():
    assert set(GENERATORS) == set(ACTIONS)


# ---- determinism ------------------------------------------------------------------------------
def test_deterministic_for_a_seed_and_different_across_seeds(tmp_path, dataset, sequences):
    again = gen.generate_dataset(tmp_path / "again", subjects=SUBJECTS, seconds_per_action=SECONDS, seed=3,
                                 actions=ACTS)
    with SimSpineH5(again / gen.H5_NAME) as f:
        assert len(f) == len(sequences)
        for a, b in zip(sequences, f):
            assert (a.subject, a.action) == (b.subject, b.action)
            assert a.markers.tobytes() == b.markers.tobytes()
            assert a.kinematics.tobytes() == b.kinematics.tobytes()
    joints, joints_again = (read_h36m_positions(d / gen.H36M_NAME) for d in (dataset, again))
    for subject in SUBJECTS:
        for action in ACTS:
            assert joints[subject][action].tobytes() == joints_again[subject][action].tobytes()
    first, _ = gen.synthesize_sequence("S1", "Walking", SECONDS, seed=3)
    other, _ = gen.synthesize_sequence("S1", "Walking", SECONDS, seed=4)
    assert np.abs(other.markers - first.markers).max() > 0.05
    assert subject_dims("S1", 3).height != subject_dims("S1", 4).height


# ---- kinematic consistency --------------------------------------------------------------------
def test_markers_are_the_forward_kinematics_of_the_stored_kinematics(dataset, sequences):
    positions = read_h36m_positions(dataset / gen.H36M_NAME)
    for seq in sequences:
        markers, joints = gen.points_from_kinematics(seq.subject, seq.kinematics, seed=3)
        np.testing.assert_allclose(markers, seq.markers, atol=2e-5)  # float32 storage
        np.testing.assert_allclose(joints, positions[seq.subject][seq.action], atol=2e-5)


def test_pelvis_rotation_matches_scipy_zxy():
    """OpenSim's pelvis Rz(tilt) Rx(list) Ry(rotation), FK and the decomposition, against scipy."""
    rng = np.random.default_rng(0)
    heading, tilt, lst, yaw = rng.uniform(-3, 3, 50), *rng.uniform(-40, 40, (3, 50))
    angles = pelvis_angles(heading, tilt, lst, yaw)
    want = (Rotation.from_euler("y", heading[:, None]) * Rotation.from_euler("ZXY", np.stack([tilt, lst, yaw], 1),
                                                                    degrees=True)).as_matrix()
    got = Rotation.from_euler("ZXY", angles, degrees=True).as_matrix()
    np.testing.assert_allclose(got, want, atol=1e-12)
    q = np.zeros((50, 62))
    q[:, :3] = angles
    R, _ = forward_kinematics(build_chain(subject_dims("S1", 0)), q)
    np.testing.assert_allclose(R[:, 0], want, atol=1e-12)


def test_knee_flexion_closed_form():
    """Hip straight, knee at 90 deg: the ankle is one shank length behind the knee, level with it."""
    dims = subject_dims("S5", 0)
    chain = build_chain(dims)
    q = np.zeros((1, 62))
    q[0, AXIS["knee_angle_r"]] = 90.0
    R, p = forward_kinematics(chain, q)
    knee, ankle = p[0, chain.index("tibia_r")], p[0, chain.index("talus_r")]
    np.testing.assert_allclose(ankle - knee, [-dims.shank, 0.0, 0.0], atol=1e-12)


# ---- anatomy ----------------------------------------------------------------------------------
def test_heights_in_range_and_equal_to_the_rest_pose():
    for seed in (0, 1, 2):
        for subject in gen.SUBJECTS:
            dims = subject_dims(subject, seed)
            assert HEIGHT_RANGE[0] <= dims.height <= HEIGHT_RANGE[1]
            chain = build_chain(dims)
            R, p = forward_kinematics(chain, np.zeros((1, 62)))
            sole = site_positions(chain, R, p, foot_contacts(dims))[0, :, 1].min()
            vertex = _rest_markers(subject, seed)[SIMSPINE_15.index("Head"), 1]
            assert vertex - sole == pytest.approx(dims.height, abs=1e-9)


def test_rest_curvature_lordosis_kyphosis_lordosis():
    for seed in (0, 1):
        for subject in gen.SUBJECTS:
            m = _rest_markers(subject, seed)
            assert _sagitta(m, "Spine_01", "Spine_02", "Spine_03") > 0.002  # lumbar lordosis: apex anterior
            assert _sagitta(m, "Spine_03", "Spine_04", "Spine_05") < -0.005  # thoracic kyphosis: apex posterior
            assert _sagitta(m, "Neck", "Neck_02", "Neck_03") > 0.002  # cervical lordosis
            spine = m[[SIMSPINE_15.index(n) for n in SPINE_9], 1]
            assert (np.diff(spine) > 0).all()  # bottom to top at rest


def test_spine_markers_stay_ordered_along_the_column(sequences):
    idx = [SIMSPINE_15.index(n) for n in SPINE_9]
    for seq in sequences:
        dist = np.linalg.norm(seq.markers[:, idx] - seq.markers[:, :1], axis=-1)
        assert (np.diff(dist, axis=1) > 0.01).all(), f"{seq.subject}/{seq.action}"


def test_rigid_segments_keep_their_lengths(dataset, sequences):
    positions = read_h36m_positions(dataset / gen.H36M_NAME)
    # SIMSPINE's marker bodies: the torso carries Spine_04, Spine_05, the neck points, clavicles and
    # latissimi; the head carries Head and Nose
    rigid = [("Spine_04", "Spine_05"), ("Spine_04", "LLatissimus"), ("Spine_04", "RLatissimus"),
             ("Spine_05", "LClavicle"), ("LClavicle", "RClavicle"), ("Spine_05", "Neck"), ("Neck", "Neck_03"),
             ("Neck_02", "RClavicle"), ("Head", "Nose")]
    bones = [(1, 2), (2, 3), (6, 7), (7, 8), (17, 18), (18, 19), (25, 26), (26, 27), (14, 15)]
    for seq in sequences:
        m, j = seq.markers, positions[seq.subject][seq.action]
        pairs = [(m, SIMSPINE_15.index(a), SIMSPINE_15.index(b)) for a, b in rigid] + [(j, a, b) for a, b in bones]
        for points, a, b in pairs:
            length = np.linalg.norm(points[:, a] - points[:, b], axis=-1)
            assert np.ptp(length) < 1e-5, (seq.action, a, b)


def test_joint_limits_and_pelvis_units(sequences):
    for seq in sequences:
        for name, i in AXIS.items():
            lim = limits_for(name)
            if lim is not None:
                assert lim[0] - 1e-4 <= seq.kinematics[:, i].min() and seq.kinematics[:, i].max() <= lim[1] + 1e-4
        ty = seq.kinematics[:, AXIS["pelvis_ty"]]  # OpenSim: pelvis height in metres, Y-up
        np.testing.assert_allclose(ty, seq.markers[:, 0, 2], atol=1e-5)
        assert 0.3 < ty.min() and ty.max() < 1.2


# ---- motion -----------------------------------------------------------------------------------
def test_smooth_bounded_acceleration(dataset, sequences):
    positions = read_h36m_positions(dataset / gen.H36M_NAME)
    for seq in sequences:
        dt = 1.0 / seq.fps
        # spine markers: < 2.5 m/s and 15 m/s^2; limbs (swinging toes, waving hands): < 7.5 m/s, 100 m/s^2
        limbs = positions[seq.subject][seq.action]
        for points, max_step, max_accel in ((seq.markers, 0.05, 15.0), (limbs, 0.15, 100.0)):
            step = np.linalg.norm(np.diff(points, axis=0), axis=-1).max()
            accel = np.linalg.norm(np.diff(points, 2, axis=0), axis=-1).max() / dt ** 2
            assert step < max_step and accel < max_accel, f"{seq.subject}/{seq.action}: {step:.3f} m, {accel:.1f} m/s^2"


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_bends_the_spine(action):
    """Over 10 s the column bends: the lumbar and upper-thoracic directions change relative to each other."""
    m = gen.synthesize_sequence("S6", action, 10.0, seed=1)[0].markers
    low = m[:, SIMSPINE_15.index("Spine_02")] - m[:, 0]
    high = m[:, SIMSPINE_15.index("Neck_03")] - m[:, SIMSPINE_15.index("Spine_04")]
    cos = (low * high).sum(-1) / np.linalg.norm(low, axis=-1) / np.linalg.norm(high, axis=-1)
    assert np.ptp(np.degrees(np.arccos(np.clip(cos, -1, 1)))) > 1.5


@pytest.mark.parametrize("g", [0.5, 0.65, 0.85, 1.0, 1.2])
def test_gait_cycle_keeps_both_feet_on_the_floor_and_clears_the_swing_foot(g):
    """Double support: both feet reach the floor together (< 6 mm apart); swing: the foot clears by > 9 mm."""
    dims = body_dims(1.75)
    chain = build_chain(dims)
    phase = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    pct = phase / (2 * np.pi)
    q = to_coordinates(gait_pattern(phase, np.full(60, g)), phase, np.zeros(60), np.random.default_rng(0), 0.0)
    R, p = forward_kinematics(chain, q)
    reach = -site_positions(chain, R, p, foot_contacts(dims))[..., 1].reshape(60, 2, 3).min(axis=2)  # (T, foot)
    double = (pct < 0.10) | ((pct >= 0.5) & (pct < 0.60))
    assert np.abs(reach[double, 0] - reach[double, 1]).max() < 0.006
    right_swing, left_swing = (pct > 0.64) & (pct < 0.96), (pct > 0.14) & (pct < 0.46)
    assert (reach[right_swing, 1] - reach[right_swing, 0]).min() > 0.009
    assert (reach[left_swing, 0] - reach[left_swing, 1]).min() > 0.009


def test_walking_moves_across_the_floor_and_sitting_lowers_the_pelvis(sequences):
    by_action = {(s.subject, s.action): s for s in sequences}
    walk = by_action[("S1", "Walking")].markers[:, 0]
    assert np.linalg.norm(walk[-1, :2] - walk[0, :2]) > 0.8  # 2 s of walking at >= 0.5 m/s
    sit, _ = gen.synthesize_sequence("S1", "Sitting", 2.0, seed=3)
    stand, _ = gen.synthesize_sequence("S1", "Waiting", 2.0, seed=3)
    assert sit.markers[:, 0, 2].max() < stand.markers[:, 0, 2].min() - 0.2


def test_all_points_inside_all_four_images(dataset, h5, sequences):
    positions = read_h36m_positions(dataset / gen.H36M_NAME)
    for seq in sequences:
        rig = CameraRig.from_arrays(**vars(h5.calibration(seq.subject)))
        points = np.concatenate([seq.markers, positions[seq.subject][seq.action]], axis=1).astype(np.float64)
        uv = rig.project(points)
        for cam, px in zip(rig.cameras, uv):
            assert (cam.world_to_camera(points)[..., 2] > 0).all()
            assert cam.in_image(px).all(), f"{seq.subject}/{seq.action} leaves camera {cam.name}"


def test_feet_on_the_floor(sequences):
    for seq in sequences:
        dims = subject_dims(seq.subject, 3)
        chain = build_chain(dims)
        R, p = forward_kinematics(chain, seq.kinematics.astype(np.float64))
        soles = site_positions(chain, R, p, foot_contacts(dims))[..., 1]
        assert np.abs(soles.min(axis=1)).max() < 0.02, seq.action  # lowest sole point near y = 0


def test_capture_area_columns_are_seen_by_every_camera():
    ring = np.stack([np.cos(np.linspace(0, 2 * np.pi, 24)), np.sin(np.linspace(0, 2 * np.pi, 24))], axis=1)

    def columns(floor: np.ndarray) -> np.ndarray:  # (N, 2) floor points -> (N, 5, 3) vertical columns
        return np.stack(np.broadcast_arrays(floor[:, None, 0], floor[:, None, 1], np.linspace(0, COLUMN_TOP, 5)), -1)

    for subject in ("S1", "S11"):
        rig = h36m_rig(subject)
        area = capture_area(rig)
        assert area.radii.min() > 0.8  # room to walk
        assert in_view(rig, columns(area.to_world(np.concatenate([ring, [[0.0, 0.0]]]))), MARGIN_PX - 1).all()
        outside = in_view(rig, columns(area.scaled(1.3).to_world(ring)), MARGIN_PX - 1).all(axis=1)
        assert not outside.all()  # the ellipse is (nearly) the largest


def test_signal_primitives():
    t = np.linspace(0, 10, 501)
    times, values = np.array([0.0, 2.0, 3.0, 7.0]), np.array([1.0, 1.0, -2.0, 0.5])
    track = keyframes(t, times, values)
    np.testing.assert_allclose(track[[0, 100, 150, 350]], values, atol=1e-12)  # passes through the knots
    accel = np.diff(track, 2) / (t[1] - t[0]) ** 2
    assert np.abs(accel).max() <= 10 / np.sqrt(3) * 3.0 / 1.0 ** 2 + 1e-6  # smootherstep'' <= 10/sqrt(3): no kinks
    x = np.linspace(-100, 100, 2001)
    y = soft_clip(x, -10.0, 20.0, 2.0)
    assert (y >= -10).all() and (y <= 20).all() and (np.diff(y) >= 0).all()
    inside = (x > -10) & (x < 20)  # identity up to softplus tails: |y - x| <= w (e^-(x-lo)/w + e^-(hi-x)/w)
    assert (np.abs(y - x)[inside] <= 2.0 * (np.exp(-(x[inside] + 10) / 2) + np.exp(-(20 - x[inside]) / 2))).all()
    v = np.random.default_rng(0).normal(size=(100, 6))
    assert (soft_min(v, 0.01, axis=1) <= v.min(axis=1) + 1e-12).all()
    assert (soft_min(v, 0.01, axis=1) >= v.min(axis=1) - 0.01 * np.log(6)).all()
    noise = smooth_noise(t, np.random.default_rng(1), 3.0, f_max=0.5)
    assert np.abs(noise).max() <= 3.0 and np.abs(noise).max() > 0.5


# ---- API and CLI ------------------------------------------------------------------------------
def test_bad_input_raises_input_error(tmp_path):
    from spine3d.errors import InputError

    with pytest.raises(InputError, match="Dancing"):
        gen.synthesize_sequence("S1", "Dancing", 1.0)
    with pytest.raises(InputError, match="S99"):
        gen.generate_dataset(tmp_path, subjects=["S99"], seconds_per_action=0.1)
    with pytest.raises(InputError, match="seed"):
        gen.synthesize_sequence("S1", "Walking", 1.0, seed=-1)
    with pytest.raises(InputError, match="frames"):
        gen.synthesize_sequence("S1", "Walking", 0.0)


def test_cli_writes_the_three_outputs(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["synth", "--out", str(out), "--subjects", "S5", "--actions", "Eating", "WalkDog",
                 "--seconds-per-action", "0.5", "--seed", "1"])
    assert code == 0
    assert (out / "simspine.h5").is_file() and (out / "h36m" / "data_3d_h36m.npz").is_file()
    assert (out / "cameras" / "Calib_S5.toml").is_file()
    with SimSpineH5(out / "simspine.h5") as f:
        assert f.actions("S5") == ["Eating", "WalkDog"] and len(f.sequence("S5", "Eating").timestamps) == 25
    assert main(["synth", "--out", str(out), "--subjects", "S42"]) == 2
    assert "S42" in capsys.readouterr().err


def test_ensure_default_dataset(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setenv("SPINE3D_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(gen, "generate_dataset", lambda out, **kw: calls.append(out) or out)
    assert gen.default_dataset_dir() == tmp_path / "data"
    assert gen.ensure_default_dataset() == tmp_path / "data" and len(calls) == 1  # absent: generated
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / gen.H5_NAME).write_bytes(b"")
    assert gen.ensure_default_dataset() == folder and len(calls) == 1  # user data (no manifest): untouched
    (folder / "h36m").mkdir()
    (folder / gen.H36M_NAME).write_bytes(b"")
    manifest = gen._manifest(gen.SUBJECTS, gen.DEFAULT_SECONDS, 0, gen.FPS, ACTIONS)
    (folder / gen.MANIFEST_NAME).write_text(json.dumps(manifest))
    gen.ensure_default_dataset()
    assert len(calls) == 1  # up to date
    (folder / gen.MANIFEST_NAME).write_text(json.dumps({**manifest, "generator_version": -1}))
    gen.ensure_default_dataset()
    assert len(calls) == 2  # stale: regenerated
    (folder / gen.MANIFEST_NAME).unlink()
    (folder / gen.INCOMPLETE_NAME).write_text("")
    gen.ensure_default_dataset()
    assert len(calls) == 3  # an interrupted run (h5 written, no manifest): regenerated
