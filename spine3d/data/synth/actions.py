"""One motion generator per Human3.6M action name.

Each generator maps (t (T,) s, rng, body, capture area) to a :class:`~spine3d.data.synth.stance.Plan`:
posture channels (:mod:`spine3d.data.synth.posture`), facing direction and floor target. Stationary
actions are sets of states over an idle layer (:mod:`spine3d.data.synth.stance`); walking actions
follow a loop (:mod:`spine3d.data.synth.locomotion`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from spine3d.data.synth.body import BodyDims
from spine3d.data.synth.locomotion import Gait, walking
from spine3d.data.synth.motion import smooth_noise, smootherstep, soft_clip, state_sequence
from spine3d.data.synth.placement import Area
from spine3d.data.synth.posture import Posture
from spine3d.data.synth.stance import ARM_DOFS, ARM_PRESETS, SIT, Plan, add_tracks, pose, standing_plan


def directions(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing, talking and pointing with either arm while turning the trunk and head that way."""
    states = {"talk": (3, pose(trunk_rot=(-10, 10), trunk_flex=(-5, 10), trunk_bend=(-6, 6), neck_rot=(-30, 30))),
              "point_r": (2, pose(r="point", trunk_rot=(-25, 0), neck_rot=(-45, -10), trunk_bend=(-5, 10))),
              "point_l": (2, pose(l="point", trunk_rot=(0, 25), neck_rot=(10, 45), trunk_bend=(-10, 5))),
              "hips": (1, pose(r="hip", l="hip", trunk_flex=(-5, 10)))}
    return standing_plan(t, rng, area, states, spread=70, hold=(1.5, 4.0))


def discussion(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing, gesturing with one or both arms, nodding, arms crossed or hands on hips."""
    states = {"gesture": (4, pose(r="gesture", l="gesture", jitter=20, trunk_rot=(-15, 15), trunk_flex=(0, 12))),
              "one_hand": (2, pose(r="gesture", l="relaxed", jitter=20, trunk_bend=(-8, 8))),
              "crossed": (1, pose(r="crossed", l="crossed", trunk_flex=(-8, 5))),
              "hips": (1, pose(r="hip", l="hip"))}
    plan = standing_plan(t, rng, area, states, spread=50, hold=(0.8, 2.5), move=(0.4, 1.0))
    plan.posture["neck_flex"] += smooth_noise(t, rng, 10.0, f_max=0.9)  # nodding
    plan.posture["trunk_rot"] += smooth_noise(t, rng, 8.0, f_max=0.4)
    return plan


def eating(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Seated at a table: hands on the table, one hand to the mouth, leaning back."""
    states = {"table": (3, pose(r="table", l="table", trunk_flex=(10, 25), neck_flex=(10, 25), **SIT)),
              "bite": (2, pose(r="mouth", l="table", trunk_flex=(5, 20), neck_flex=(0, 15), **SIT)),
              "sit_back": (1, pose(r="lap", l="lap", trunk_flex=(-10, 5), **SIT))}
    return standing_plan(t, rng, area, states, spread=20, hold=(0.8, 3.0), seated=True)


def greeting(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing, waving, shaking hands (forward lean) and bowing, facing different people."""
    states = {"idle": (2, pose()), "wave": (2, pose(r="wave", neck_rot=(-20, 20))),
              "shake": (2, pose(r="handshake", trunk_flex=(5, 20))),
              "bow": (1, pose(trunk_flex=(25, 45), tilt=(-15, -5)))}
    plan = standing_plan(t, rng, area, states, spread=90, hold=(1.0, 3.0))
    p = plan.posture
    raised = smootherstep((p["arm_flex_r"] - 60.0) / 50.0)  # wave while the arm is up
    hz = rng.uniform(1.5, 2.2)
    p["elbow_flex_r"] += 18.0 * raised * np.sin(2 * np.pi * hz * t)
    p["arm_rot_r"] += 15.0 * raised * np.sin(2 * np.pi * hz * t + 0.5)
    return plan


def phoning(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing with a phone at one ear (head bent toward it), gesturing, texting."""
    s, o = ("r", "l") if rng.random() < 0.7 else ("l", "r")
    bend = 12.0 if s == "r" else -12.0
    lean = {"trunk_flex": (-5, 12), "trunk_bend": (-8, 8)}
    states = {"call": (5, {**pose(**{s: "ear", o: "relaxed"}, **lean), "neck_bend": (bend - 6, bend + 6)}),
              "call_gesture": (2, {**pose(**{s: "ear", o: "gesture"}, jitter=15), "neck_bend": (bend - 6, bend + 6)}),
              "text": (1, pose(**{s: "text", o: "text"}, neck_flex=(20, 40), trunk_flex=(5, 15)))}
    return standing_plan(t, rng, area, states, spread=90, hold=(2.0, 5.0), shift=1.3)


def photo(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Holding a camera before the face, twisting and bending to frame, crouching, lowering it."""
    crouch = {"thigh_r": (20, 45), "thigh_l": (20, 45), "knee_r": (40, 70), "knee_l": (40, 70), "tilt": (-20, -5)}
    states = {"shoot": (3, pose(r="camera", l="camera", trunk_rot=(-20, 20), trunk_bend=(-10, 10), neck_flex=(-5, 10))),
              "crouch": (2, pose(r="camera", l="camera", trunk_flex=(15, 35), **crouch)),
              "lower": (2, pose(r="carry", l="relaxed", neck_flex=(10, 30)))}
    return standing_plan(t, rng, area, states, spread=60, hold=(1.5, 4.0))


def posing(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Holding random poses: trunk flexion, side bending and twist, raised arms, bent knees."""
    wide = {f"{dof}_{s}": r for s in "rl" for dof, r in zip(
        ARM_DOFS, ((-30, 170), (-110, 20), (-60, 60), (0, 140), (-40, 80), (-30, 30), (-15, 25)))}
    legs = {f"{c}_{s}": r for s in "rl" for c, r in (("width", (0, 15)), ("knee", (0, 30)), ("thigh", (-10, 25)))}
    states = {"free": (3, {**wide, **legs, "trunk_flex": (-20, 50), "trunk_bend": (-30, 30), "trunk_rot": (-35, 35),
                           "neck_flex": (-30, 40), "neck_bend": (-25, 25), "neck_rot": (-50, 50), "tilt": (-15, 10)}),
              "twist": (1, pose(r="hip", l="hip", trunk_rot=(-35, 35), trunk_bend=(-10, 10))),
              "side_bend": (1, pose(r="reach_up", trunk_bend=(15, 30), neck_bend=(5, 20)))}
    return standing_plan(t, rng, area, states, spread=60, hold=(1.5, 4.0), move=(0.8, 1.6))


def purchases(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Carrying, bending forward to pick things up (hips and knees flexed), reaching up to a shelf."""
    pick = {"thigh_r": (10, 40), "thigh_l": (10, 40), "knee_r": (5, 45), "knee_l": (5, 45), "tilt": (-45, -15)}
    states = {"idle": (3, pose(r="carry", l="relaxed")),
              "pick": (2, pose(r="reach_down", l="reach_down", trunk_flex=(40, 75), neck_flex=(-20, 10), **pick)),
              "shelf": (1, pose(r="reach_up", l="relaxed", trunk_flex=(-12, 0), trunk_bend=(-10, 10),
                                ankle_r=(-15, -5), ankle_l=(-15, -5))),
              "carry": (2, pose(r="carry", l="carry", trunk_flex=(-5, 8), trunk_rot=(-20, 20)))}
    return standing_plan(t, rng, area, states, spread=120, hold=(1.0, 3.0), move=(1.0, 2.0))


def sitting(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Seated: upright, leaning forward or back, twisting to one side, reaching to the floor."""
    states = {"upright": (3, pose(r="lap", l="lap", trunk_flex=(-5, 10), **SIT)),
              "forward": (2, pose(r="lap", l="gesture", trunk_flex=(20, 40), **SIT)),
              "back": (2, pose(r="crossed", l="crossed", trunk_flex=(-15, -5), **SIT)),
              "twist": (2, pose(r="reach_down", trunk_rot=(-30, 30), trunk_bend=(-15, 15), **SIT)),
              "floor": (1, pose(r="reach_down", l="reach_down", trunk_flex=(50, 70), **SIT))}
    return standing_plan(t, rng, area, states, spread=20, hold=(2.0, 5.0), seated=True)


def sitting_down(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Sitting down onto and standing up from a chair (forward lean in transit), reaching down."""
    stand = {"thigh_r": (-3, 3), "thigh_l": (-3, 3), "knee_r": (0, 8), "knee_l": (0, 8)}
    states = {"stand": (2, pose(**stand)), "sit": (2, pose(r="lap", l="lap", trunk_flex=(0, 15), **SIT)),
              "sit_bend": (1, pose(r="reach_down", l="reach_down", trunk_flex=(45, 70), **SIT))}
    plan = standing_plan(t, rng, area, states, spread=30, hold=(1.5, 4.0), move=(1.2, 2.2), shift=0.5)
    p = plan.posture
    sit = soft_clip(0.5 * (p["thigh_r"] + p["thigh_l"]) / 85.0, 0.0, 1.0, 0.08)  # 0 standing, 1 seated
    transition = 4.0 * sit * (1.0 - sit)  # 1 half-way between standing and sitting
    p["trunk_flex"] += 30.0 * transition  # lean forward to rise / sit
    p["tilt"] -= 20.0 * transition
    return plan


def smoking(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing, hand to the mouth and down, head back to exhale, other arm across the waist."""
    s, o = ("r", "l") if rng.random() < 0.7 else ("l", "r")
    hold_arm = {"arm_flex": 15, "arm_add": 10, "elbow_flex": 70}
    lean = {"trunk_flex": (-5, 12), "trunk_bend": (-8, 8), "trunk_rot": (-10, 10)}
    states = {"puff": (1, pose(**{s: "mouth", o: "crossed"}, **lean)),
              "hold": (2, {**pose(**{o: "crossed"}, **lean),
                           **{f"{k}_{s}": (v - 8, v + 8) for k, v in hold_arm.items()}}),
              "exhale": (1, pose(**{o: "crossed"}, neck_flex=(-25, -10), trunk_flex=(-10, 0)))}
    return standing_plan(t, rng, area, states, spread=60, hold=(1.0, 4.0), shift=1.5)


def waiting(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing with large weight shifts, arms crossed / on hips / behind, looking around, stretching."""
    states = {"stand": (3, pose(r="crossed", l="crossed", neck_rot=(-70, 70))),
              "hips": (2, pose(r="hip", l="hip", neck_rot=(-60, 60))),
              "behind": (2, pose(r="behind", l="behind", neck_rot=(-60, 60), trunk_flex=(-5, 5))),
              "stretch": (1, pose(r="reach_up", l="reach_up", trunk_bend=(-25, 25), trunk_rot=(-30, 30),
                                  trunk_flex=(-15, 0)))}
    return standing_plan(t, rng, area, states, spread=90, hold=(1.5, 4.0), shift=1.8)


def _walk(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area, gait: Gait,
          extra: Callable[[Posture], None] | None = None) -> Plan:
    p, heading, floor, support = walking(t, rng, d, area, gait)
    if extra is not None:
        extra(p)
    return Plan(p, heading, floor, planted=False, support=support)


def walking_plain(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Walking a loop through the capture area."""
    return _walk(t, rng, d, area, Gait())


def walk_dog(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Slower, stop-and-go walking with a leash arm forward, looking down at the dog now and then."""
    s = "r" if rng.random() < 0.6 else "l"
    look = state_sequence(t, rng, {"ahead": (2, {}), "dog": (1, {"neck_flex": (20, 35), "trunk_flex": (5, 20)})},
                          (1.0, 4.0), (0.8, 1.5))

    def leash(p: Posture) -> None:
        for dof, value in zip(ARM_DOFS, ARM_PRESETS["leash"]):
            jerk = smooth_noise(t, rng, 10.0, f_max=1.2) if dof in ("arm_flex", "elbow_flex") else 0.0
            p[f"{dof}_{s}"] = value + jerk
        add_tracks(p, look)

    return _walk(t, rng, d, area, Gait(speed=(0.6, 1.0), speed_wobble=0.35, min_speed=0.3, lean=8.0), leash)


def walk_together(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Walking beside a companion: head and trunk turned toward them while talking."""
    side = 1.0 if rng.random() < 0.5 else -1.0  # + = companion on the left
    look = state_sequence(t, rng, {"ahead": (2, {}), "talk": (2, {"neck_rot": (20, 45), "trunk_rot": (3, 10)})},
                          (1.0, 4.0), (0.6, 1.2))

    def companion(p: Posture) -> None:
        p["neck_rot"] += side * look["neck_rot"]
        p["trunk_rot"] += side * look["trunk_rot"]

    return _walk(t, rng, d, area, Gait(speed=(0.8, 1.15), speed_wobble=0.1, lean=3.0), companion)


GENERATORS: dict[str, Callable[..., Plan]] = {
    "Directions": directions, "Discussion": discussion, "Eating": eating, "Greeting": greeting, "Phoning": phoning,
    "Photo": photo, "Posing": posing, "Purchases": purchases, "Sitting": sitting, "SittingDown": sitting_down,
    "Smoking": smoking, "Waiting": waiting, "WalkDog": walk_dog, "Walking": walking_plain,
    "WalkTogether": walk_together,
}
