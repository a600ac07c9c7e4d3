"""Synthetic spine actions: every motion does what its name claims (checked on the generated coordinates
and points), determinism, visibility, feet on the floor, the "spine" built-in dataset and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from spine3d.calibration import h36m_rig

from spine3d.cli.main import main
from spine3d.data.source import SequenceSource
from spine3d.data.synth import generate as gen
from spine3d.data.synth.actions import GENERATORS as H36M_GENERATORS
from spine3d.data.synth.body import foot_contacts, subject_dims
from spine3d.data.synth.kinematics import (
    AXIS,
    build_chain,
    forward_kinematics,
    site_positions,
)
from spine3d.data.synth.placement import in_view
from spine3d.data.synth.posture import limits_for
from spine3d.data.synth.spine_actions import SPINE_ACTIONS, SPINE_GENERATORS, arm_direction, free_arm_targets
from spine3d.formats.h36m_npz import read_h36m_positions
from spine3d.formats.simspine_h5 import ACTIONS, SimSpineH5
from spine3d.skeletons import H36M_32

SUBJECTS = ("S1", "S9")
SECONDS = 12.0
SEED = 2
FPS = 50.0
LUMBAR = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")
WRISTS = [H36M_32.names.index(n) for n in ("LeftHand", "RightHand")]
FEET = [H36M_32.names.index(n) for n in ("RightFoot", "LeftFoot")]  # ankle joints, right first
HEAD_TOP, PELVIS = H36M_32.names.index("HeadSite"), H36M_32.names.index("Hips")
HIPS = [H36M_32.names.index(n) for n in ("RightUpLeg", "LeftUpLeg")]  # hip joint centres, right first
TOES = [H36M_32.names.index(n) for n in ("RightToeBase", "LeftToeBase")]
SHOULDERS = [H36M_32.names.index(n) for n in ("LeftArm", "RightArm")]  # glenohumeral centres, as WRISTS: left first
ELBOWS = [H36M_32.names.index(n) for n in ("LeftForeArm", "RightForeArm")]
BALANCE_SECONDS = 60.0  # ~10 repetitions of Balance


@pytest.fixture(scope="module")
def trials() -> dict:
    """(subject, action) -> (SIMSPINE sequence, H36M joints (T, 32, 3) m), 12 s each."""
    return {(s, a): gen.synthesize_sequence(s, a, SECONDS, seed=SEED) for s in SUBJECTS for a in SPINE_ACTIONS}


def _coords(seq, suffix: str, levels=LUMBAR) -> np.ndarray:
    """(T,) deg: sum of a coordinate over spinal levels, e.g. suffix "Lat_Bending" over the six lumbar levels."""
    return sum(seq.kinematics[:, AXIS[f"{level}_{suffix}"]].astype(np.float64) for level in levels)


def _trunk_flexion(seq) -> np.ndarray:
    """(T,) deg, + forward: lumbar flexion (-Flex_Ext) plus the mid-thoracic joint's (-Abs_r3)."""
    return -_coords(seq, "Flex_Ext") - seq.kinematics[:, AXIS["Abs_r3"]]


def _pelvis_frame(seq) -> np.ndarray:
    """(T, 3, 3) pelvis orientation in the OpenSim ground frame (Y up) from pelvis_tilt, _list, _rotation."""
    return Rotation.from_euler("ZXY", seq.kinematics[:, :3].astype(np.float64), degrees=True).as_matrix()


def _pelvis_forward_tilt(seq) -> np.ndarray:
    """(T,) deg, + anterior: lean of the pelvis's superior axis toward its own facing direction.

    (pelvis_tilt alone mixes with list as the person turns: OpenSim's Z axis is fixed in the room.)
    """
    r = _pelvis_frame(seq)
    up, ahead = r[:, :, 1], r[:, :, 0] * [1.0, 0.0, 1.0]
    ahead /= np.linalg.norm(ahead, axis=1, keepdims=True)
    return np.degrees(np.arctan2((up * ahead).sum(axis=1), up[:, 1]))


def _pelvis_heading(seq) -> np.ndarray:
    """(T,) deg: direction the pelvis faces about the vertical, unwrapped."""
    ahead = _pelvis_frame(seq)[:, :, 0]
    return np.degrees(np.unwrap(np.arctan2(ahead[:, 2], ahead[:, 0])))


@pytest.fixture(scope="module")
def balance_trials() -> dict:
    """subject -> (SIMSPINE sequence, H36M joints (T, 32, 3) m) of Balance, 60 s each."""
    return {s: gen.synthesize_sequence(s, "Balance", BALANCE_SECONDS, seed=SEED) for s in SUBJECTS}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) frame ranges where the (T,) bool ``mask`` holds."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def _lowest_soles(seq) -> np.ndarray:
    """(T, 2) m: height of the lowest sole point of the right and left foot (forward kinematics of the coordinates)."""
    dims = subject_dims(seq.subject, SEED)
    chain = build_chain(dims)
    R, p = forward_kinematics(chain, seq.kinematics.astype(np.float64))
    return site_positions(chain, R, p, foot_contacts(dims))[..., 1].reshape(len(seq.kinematics), 2, 3).min(axis=2)


# ---- registration -----------------------------------------------------------------------------
def test_registered_beside_the_human36m_actions():
    assert SPINE_ACTIONS == ("BendForward", "BendSideways", "TwistTrunk", "Squat", "LiftFromFloor", "OneLegStance",
                             "Balance", "Reach")
    assert set(SPINE_GENERATORS) == set(SPINE_ACTIONS) and not set(SPINE_ACTIONS) & set(ACTIONS)
    assert gen.GENERATORS == {**H36M_GENERATORS, **SPINE_GENERATORS}
    assert len(ACTIONS) == 15 and set(H36M_GENERATORS) == set(ACTIONS)  # the default stays Human3.6M's
    assert gen.MOTIONS == {"h36m": ACTIONS, "spine": ACTIONS + SPINE_ACTIONS}
    for generator in SPINE_GENERATORS.values():
        assert generator.__doc__ and "\n" not in generator.__doc__.strip()


# ---- each motion does what it claims ----------------------------------------------------------
@pytest.mark.parametrize("subject", SUBJECTS)
def test_forward_bend_flexes_the_trunk_over_a_tilted_pelvis(trials, subject):
    seq, joints = trials[subject, "BendForward"]
    trunk, pelvis = _trunk_flexion(seq), _pelvis_forward_tilt(seq)
    assert (trunk + pelvis).max() > 45.0
    assert trunk.max() > 30.0 and pelvis.max() > 20.0  # both take part
    assert joints[:, WRISTS, 2].min() < 0.5  # hands toward the feet


@pytest.mark.parametrize("subject", SUBJECTS)
def test_side_bend_bends_the_lumbar_spine_both_ways(trials, subject):
    seq, _ = trials[subject, "BendSideways"]
    bend = _coords(seq, "Lat_Bending")
    assert bend.max() > 10.0 and bend.min() < -10.0
    assert np.abs(_trunk_flexion(seq)).max() < 15.0  # a side bend, not a forward one


@pytest.mark.parametrize("subject", SUBJECTS)
def test_twist_rotates_the_trunk_both_ways_over_a_still_pelvis(trials, subject):
    seq, _ = trials[subject, "TwistTrunk"]
    lumbar = _coords(seq, "axial_rotation")
    trunk = lumbar + seq.kinematics[:, AXIS["Abs_r1"]]
    assert lumbar.max() > 5.0 and lumbar.min() < -5.0
    assert trunk.max() > 25.0 and trunk.min() < -25.0
    assert np.ptp(_pelvis_heading(seq)) < 0.25 * np.ptp(trunk)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_squat_flexes_the_knees_and_leans_the_trunk(trials, subject):
    seq, _ = trials[subject, "Squat"]
    knees = seq.kinematics[:, [AXIS["knee_angle_r"], AXIS["knee_angle_l"]]]
    assert knees.min(axis=1).max() > 80.0  # both knees at once
    deepest = int(np.argmax(knees.min(axis=1)))
    assert _trunk_flexion(seq)[deepest] + _pelvis_forward_tilt(seq)[deepest] > 20.0  # leaning forward
    height = seq.kinematics[:, AXIS["pelvis_ty"]]
    assert height.max() - height.min() > 0.3  # the pelvis goes down


@pytest.mark.parametrize("subject", SUBJECTS)
def test_lift_reaches_the_floor_then_stands_up_with_the_object(trials, subject):
    seq, joints = trials[subject, "LiftFromFloor"]
    wrist = joints[:, WRISTS, 2].min(axis=1)  # lower wrist, m above the floor
    low = np.flatnonzero(wrist < 0.35)
    assert len(low), f"lowest wrist {wrist.min():.2f} m"
    assert wrist.min() > 0.0  # not through the floor
    assert joints[low[0]:, WRISTS, 2].max() > 0.8  # back up afterwards
    flex = _trunk_flexion(seq) + _pelvis_forward_tilt(seq)
    assert flex[low].max() > 45.0  # bent over to reach it


@pytest.mark.parametrize("subject", SUBJECTS)
def test_one_leg_stance_lifts_one_foot_while_the_other_stays_planted(trials, subject):
    seq, joints = trials[subject, "OneLegStance"]
    feet = joints[:, FEET].astype(np.float64)  # (T, 2, 3) right, left ankle
    soles = _lowest_soles(seq)
    rises = (feet[:, 0, 2] - feet[:, 1, 2], feet[:, 1, 2] - feet[:, 0, 2])
    holds = [(up, a, b) for up in (0, 1) for a, b in _runs(rises[up] > 0.05) if b - a > FPS]  # > 1 s
    assert holds, "no foot is held up for a second"
    assert {up for up, _, _ in holds} == {0, 1}  # the legs alternate
    for up, a, b in holds:
        stance = 1 - up
        drift = np.ptp(feet[a:b, stance, :2], axis=0)
        assert np.hypot(*drift) < 0.02, f"standing foot slides {drift} m"
        assert (soles[a:b, stance] > -0.002).all() and (soles[a:b, stance] < 0.01).all()  # on the floor
        assert soles[a:b, up].min() > 0.03  # the raised foot is off it
    arms_out = -seq.kinematics[:, [AXIS["arm_add_r"], AXIS["arm_add_l"]]]  # abduction
    assert all(arms_out[(a + b) // 2].min() > 50.0 for _, a, b in holds)  # arms out for balance


def _raised_foot_holds(joints: np.ndarray) -> list[tuple[int, int, int]]:
    """[(raised foot 0 right / 1 left, start, stop)] of the runs over 1 s with one ankle > 5 cm above the other."""
    feet = joints[:, FEET, 2].astype(np.float64)
    rises = (feet[:, 0] - feet[:, 1], feet[:, 1] - feet[:, 0])
    return [(up, a, b) for up in (0, 1) for a, b in _runs(rises[up] > 0.05) if b - a > FPS]


def _lateral_bend(seq) -> np.ndarray:
    """(T,) deg, + to the right: lumbar lateral bending plus the mid-thoracic joint's (Abs_r2)."""
    return _coords(seq, "Lat_Bending") + seq.kinematics[:, AXIS["Abs_r2"]]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_balance_raises_either_foot_in_every_direction_over_a_planted_foot(balance_trials, subject):
    seq, joints = balance_trials[subject]
    joints = joints.astype(np.float64)
    soles = _lowest_soles(seq)
    holds = _raised_foot_holds(joints)
    assert {up for up, _, _ in holds} == {0, 1}, "both legs take turns"
    out, ahead, high = [], [], []
    for up, a, b in holds:
        stance = 1 - up
        drift = np.ptp(joints[a:b, FEET[stance], :2], axis=0)
        assert np.hypot(*drift) < 0.02, f"standing foot slides {drift} m"
        assert (soles[a:b, stance] > -0.002).all() and (soles[a:b, stance] < 0.01).all()  # on the floor
        assert soles[a:b, up].min() > 0.0 and soles[(a + b) // 2, up] > 0.03  # the raised foot is off it
        right = joints[a:b, HIPS[0], :2] - joints[a:b, HIPS[1], :2]
        right /= np.linalg.norm(right, axis=1, keepdims=True)
        toward = joints[a:b, TOES[stance], :2] - joints[a:b, FEET[stance], :2]  # the standing foot points forward
        forward = toward - (toward * right).sum(axis=1, keepdims=True) * right
        forward /= np.linalg.norm(forward, axis=1, keepdims=True)
        offset = joints[a:b, FEET[up], :2] - joints[a:b, HIPS[up], :2]  # raised ankle from its own hip
        out.append(((offset * right).sum(axis=1) * (1.0 if up == 0 else -1.0)).max())
        ahead.append((offset * forward).sum(axis=1))
        high.append((joints[a:b, FEET[up], 2] - joints[a:b, FEET[stance], 2]).max())
    out, high = np.array(out), np.array(high)
    assert ((out > 0.3) & (high > 0.15)).any(), f"no foot raised sideways: out {out.round(2)}, up {high.round(2)}"
    assert max(x.max() for x in ahead) > 0.3 and min(x.min() for x in ahead) < -0.2  # in front and behind
    assert high.max() > 0.35  # a knee lifted high
    hip = seq.kinematics[:, [AXIS["hip_adduction_r"], AXIS["hip_adduction_l"]]]
    assert hip.min() < -30.0  # abducted from the pelvis (not only the whole body leaning)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_balance_leans_the_trunk_away_from_the_raised_leg_and_sometimes_keeps_both_feet_down(balance_trials, subject):
    seq, joints = balance_trials[subject]
    bend = _lateral_bend(seq)
    holds = _raised_foot_holds(joints)
    away = [np.median(bend[a:b]) * (1.0 if up == 1 else -1.0) for up, a, b in holds]  # + = toward the stance side
    assert np.mean(away) > 5.0 and max(away) > 15.0, f"leans {np.round(away, 1)} deg toward the stance side"
    assert np.abs(bend).max() > 20.0
    assert np.ptp(_trunk_flexion(seq)) > 20.0 and np.ptp(_coords(seq, "axial_rotation")) > 5.0
    down = _lowest_soles(seq).max(axis=1) < 0.01  # both feet on the floor
    spells = [(a, b) for a, b in _runs(down) if b - a > 3.5 * FPS]  # longer than a one-legged repetition's rest
    assert spells and max(np.abs(bend[a:b]).max() for a, b in spells) > 8.0  # a two-footed repetition, trunk moving


@pytest.mark.parametrize("subject", SUBJECTS)
def test_balance_moves_each_arm_overhead_sideways_and_across_on_its_own(balance_trials, subject):
    _, joints = balance_trials[subject]
    joints = joints.astype(np.float64)
    wrists, shoulders = joints[:, WRISTS], joints[:, SHOULDERS]  # (T, 2, 3) left, right
    arm = np.linalg.norm(joints[:, ELBOWS] - shoulders, axis=-1) + np.linalg.norm(wrists - joints[:, ELBOWS], axis=-1)
    above = wrists[..., 2] - joints[:, None, HEAD_TOP, 2]
    assert (above.max(axis=0) > 0.1).all(), f"wrists over the head by {above.max(axis=0).round(2)} m"
    right = shoulders[:, 1, :2] - shoulders[:, 0, :2]
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    outward = ((wrists[..., :2] - shoulders[..., :2]) * right[:, None]).sum(axis=-1) * [-1.0, 1.0]
    level = np.abs(wrists[..., 2] - shoulders[..., 2]) < 0.25 * arm
    assert ((outward > 0.8 * arm) & level).any()  # an arm straight out to the side
    middle = (shoulders[:, 0, :2] + shoulders[:, 1, :2]) / 2
    across = ((wrists[..., :2] - middle[:, None]) * right[:, None]).sum(axis=-1) * [1.0, -1.0]  # past the midline
    assert (across > 0.1).any()
    low = wrists[..., 2] < shoulders[..., 2] - 0.5 * arm
    assert ((above[:, 0] > 0.0) & low[:, 1]).any() or ((above[:, 1] > 0.0) & low[:, 0]).any()  # one up, one down


def test_arm_direction_points_the_upper_arm_as_asked():
    elevation = np.array([0.0, 45.0, 90.0, 90.0, 90.0, 135.0, 150.0, 175.0, 120.0, 60.0, 100.0, 40.0, 30.0])
    plane = np.array([0.0, 0.0, 0.0, 90.0, -30.0, 90.0, 45.0, 10.0, 100.0, -30.0, 70.0, 180.0, 120.0])
    flex, add = arm_direction(elevation, plane)
    e, p = np.radians(elevation), np.radians(np.where(elevation > 50.0, np.minimum(plane, 90.0), plane))
    chain = build_chain(subject_dims("S1", SEED))
    for s, sign in (("r", 1.0), ("l", -1.0)):
        q = np.zeros((len(e), len(AXIS)))
        q[:, AXIS[f"arm_flex_{s}"]], q[:, AXIS[f"arm_add_{s}"]] = flex, add
        _, pos = forward_kinematics(chain, q)
        upper = pos[:, chain.index(f"ulna_{s}")] - pos[:, chain.index(f"humerus_{s}")]
        upper /= np.linalg.norm(upper, axis=1, keepdims=True)
        expected = np.stack([np.sin(e) * np.cos(p), -np.cos(e), sign * np.sin(e) * np.sin(p)], axis=1)  # x, y up, z
        assert np.abs(upper - expected).max() < 1e-6
    assert (flex >= -60.0).all() and (flex <= 180.0).all() and (add >= -150.0).all() and (add <= 30.0).all()
    targets = free_arm_targets(np.random.default_rng(0), 2000)
    for j, dof in enumerate(("arm_flex", "arm_add", "arm_rot", "elbow_flex")):
        lo, hi = limits_for(f"{dof}_r")
        assert lo - 10.0 <= targets[:, j].min() and targets[:, j].max() <= hi + 10.0  # presets jitter by 10
    assert targets[:, 0].max() > 160.0 and targets[:, 0].min() < -30.0  # overhead, behind
    assert targets[:, 1].min() < -120.0 and targets[:, 1].max() > 20.0  # abducted past the horizontal, across


def _arm_out_reach(subject: str) -> float:
    """m: horizontal pelvis-to-wrist distance standing upright, right arm held out sideways (abducted 90 deg)."""
    q = np.zeros((1, len(AXIS)))
    q[0, AXIS["arm_add_r"]] = -90.0
    _, joints = gen.points_from_kinematics(subject, q, seed=SEED)
    return float(np.linalg.norm(joints[0, WRISTS[1], :2] - joints[0, PELVIS, :2]))


def test_reach_goes_overhead_and_beyond_an_outstretched_arm(trials):
    far, high = [], []
    for subject in SUBJECTS:
        seq, joints = trials[subject, "Reach"]
        wrists = joints[:, WRISTS].astype(np.float64)
        distance = np.linalg.norm(wrists[..., :2] - joints[:, None, PELVIS, :2], axis=-1).max()
        far.append(distance - _arm_out_reach(subject))  # > 0: the trunk carries the hand further
        high.append((wrists[..., 2] - joints[:, None, HEAD_TOP, 2]).max())
        assert distance > 0.6 and (far[-1] > 0.05 or high[-1] > 0.1), subject  # each trial reaches far or high
        assert _trunk_flexion(seq).max() > 20.0 or np.abs(_coords(seq, "Lat_Bending")).max() > 8.0  # trunk follows
    assert max(far) > 0.05  # 5 cm beyond the hand of an upright trunk with the arm held out horizontally
    assert max(high) > 0.1  # the wrist 10 cm above the top of the head


# ---- common properties ------------------------------------------------------------------------
def test_deterministic_for_a_seed(trials):
    for action in ("OneLegStance", "LiftFromFloor", "Reach", "Balance"):
        seq, joints = gen.synthesize_sequence("S1", action, SECONDS, seed=SEED)
        first, first_joints = trials["S1", action]
        assert seq.markers.tobytes() == first.markers.tobytes()
        assert seq.kinematics.tobytes() == first.kinematics.tobytes()
        assert joints.tobytes() == first_joints.tobytes()
        other, _ = gen.synthesize_sequence("S1", action, SECONDS, seed=SEED + 1)
        assert np.abs(other.markers - first.markers).max() > 0.05


@pytest.mark.parametrize("action", SPINE_ACTIONS)
def test_markers_in_view_feet_on_the_floor_limits_and_smooth(trials, action):
    for subject in SUBJECTS:
        seq, joints = trials[subject, action]
        assert seq.markers.shape == (int(SECONDS * FPS), 15, 3) and np.isfinite(seq.markers).all()
        assert in_view(h36m_rig(subject), seq.markers.astype(np.float64), gen.VIEW_MARGIN_PX).all()
        assert np.abs(_lowest_soles(seq).min(axis=1)).max() < 0.02  # a foot on the floor, none below it
        for name, i in AXIS.items():
            lim = limits_for(name)
            if lim is not None:
                assert lim[0] - 1e-4 <= seq.kinematics[:, i].min() and seq.kinematics[:, i].max() <= lim[1] + 1e-4
        dt = 1.0 / FPS  # as tests/test_synth.py: spine markers < 2.5 m/s, 15 m/s^2; limbs < 7.5 m/s, 100 m/s^2
        for points, max_step, max_accel in ((seq.markers, 0.05, 15.0), (joints, 0.15, 100.0)):
            step = np.linalg.norm(np.diff(points, axis=0), axis=-1).max()
            accel = np.linalg.norm(np.diff(points, 2, axis=0), axis=-1).max() / dt ** 2
            assert step < max_step and accel < max_accel, f"{subject}/{action}: {step:.3f} m, {accel:.1f} m/s^2"


# ---- the built-in "spine" dataset and the CLI -------------------------------------------------
def test_ensure_default_dataset_spine_folder_and_manifest(tmp_path, monkeypatch):
    calls = []
    tiny = gen.generate_dataset

    def generate(out, **kw):  # the real writer, one subject and 0.2 s per action
        calls.append((Path(out), tuple(kw.get("actions", ACTIONS))))
        return tiny(out, subjects=["S1"], seconds_per_action=0.2, actions=kw.get("actions", ACTIONS))

    monkeypatch.setattr(gen, "generate_dataset", generate)
    monkeypatch.setenv("SPINE3D_DATA", str(tmp_path / "data"))
    folder = gen.ensure_default_dataset("spine")
    assert folder == tmp_path / "data-spine" and calls == [(folder, ACTIONS + SPINE_ACTIONS)]
    with SimSpineH5(folder / gen.H5_NAME) as f:
        assert f.actions("S1") == sorted(ACTIONS + SPINE_ACTIONS)
    assert not (tmp_path / "data").exists()  # the Human3.6M set is untouched
    expected = gen._manifest(gen.SUBJECTS, gen.DEFAULT_SECONDS, 0, gen.FPS, ACTIONS + SPINE_ACTIONS)
    (folder / gen.MANIFEST_NAME).write_text(json.dumps(expected))
    assert gen.ensure_default_dataset("spine") == folder and len(calls) == 1  # up to date: kept
    (folder / gen.MANIFEST_NAME).write_text(json.dumps({**expected, "actions": list(ACTIONS)}))
    gen.ensure_default_dataset("spine")
    assert len(calls) == 2  # a manifest of other actions: regenerated
    assert gen.ensure_default_dataset() == tmp_path / "data" and calls[-1] == (tmp_path / "data", ACTIONS)
    monkeypatch.delenv("SPINE3D_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert gen.dataset_dir("spine") == tmp_path / "home" / ".cache" / "spine3d" / "synthetic-spine"
    assert gen.dataset_dir() == gen.default_dataset_dir() == tmp_path / "home" / ".cache" / "spine3d" / "synthetic"
    with pytest.raises(Exception, match="motions"):
        gen.ensure_default_dataset("dance")


def test_cli_motions_spine_writes_all_23_actions(tmp_path, monkeypatch, capsys):
    out = tmp_path / "cli"
    assert main(["synth", "--out", str(out), "--motions", "spine", "--subjects", "S5",
                 "--seconds-per-action", "0.2"]) == 0
    every = sorted(ACTIONS + SPINE_ACTIONS)
    with SimSpineH5(out / gen.H5_NAME) as f:
        assert f.actions("S5") == every and len(f.sequence("S5", "OneLegStance").timestamps) == 10
    assert sorted(read_h36m_positions(out / gen.H36M_NAME)["S5"]) == every
    source = SequenceSource(out, "simspine37")  # spine markers merged with the Human3.6M limbs by action name
    assert sorted(a for _, a in source.sequences("train")) == every
    assert source.world("S5", "Squat").shape == (10, 37, 3)

    monkeypatch.setenv("SPINE3D_DATA", str(tmp_path / "data"))  # default --out follows --motions
    assert main(["synth", "--motions", "spine", "--actions", "Squat", "Reach", "--subjects", "S1",
                 "--seconds-per-action", "0.1"]) == 0
    with SimSpineH5(tmp_path / "data-spine" / gen.H5_NAME) as f:
        assert f.actions("S1") == ["Reach", "Squat"]
    assert main(["synth", "--out", str(out), "--actions", "Squat", "Cartwheel"]) == 2
    assert "Cartwheel" in capsys.readouterr().err


def test_cli_help_names_the_spine_actions(capsys):
    from spine3d.cli.synth import SPINE_ACTION_NAMES

    assert SPINE_ACTION_NAMES == SPINE_ACTIONS
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    text = capsys.readouterr().out
    assert "--motions {h36m,spine}" in text
    assert all(name in text for name in ACTIONS + SPINE_ACTIONS)
