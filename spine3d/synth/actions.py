"""One motion generator per Human3.6M action name.

Each generator maps (t (T,) s, rng, body, capture area) to a :class:`Plan`: posture channels
(:mod:`spine3d.synth.posture`), facing direction and floor target. Stationary actions hold or move
between random *states* (channel ranges, :func:`~spine3d.synth.motion.state_sequence`) on top of
an idle layer of small smooth motion, so the spine always moves; walking actions follow a loop
(:mod:`spine3d.synth.locomotion`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from spine3d.synth.body import BodyDims
from spine3d.synth.locomotion import Gait, walking
from spine3d.synth.motion import smooth_noise, soft_clip, state_sequence
from spine3d.synth.placement import Area
from spine3d.synth.posture import Posture, new_posture

ARM_DOFS = ("arm_flex", "arm_add", "arm_rot", "elbow_flex", "pro_sup", "wrist_flex", "wrist_dev")
# Arm postures (deg, ARM_DOFS order). "mouth", "ear" and "camera" were solved by inverse kinematics
# on the average body (hand 4 cm before the mouth / at the ear / 25 cm before the face).
ARM_PRESETS: dict[str, tuple[float, ...]] = {
    "relaxed": (3, -6, 0, 12, 15, 0, 0), "mouth": (53, 21, 39, 134, 58, 10, 0), "ear": (95, -20, 20, 148, 60, 0, 0),
    "camera": (63, 16, 4, 106, 70, 0, 0), "point": (80, -10, 0, 5, 0, 0, 0), "wave": (120, -35, -40, 75, 60, 0, 0),
    "hip": (-15, -35, 35, 100, 10, 0, 0), "crossed": (25, 25, 50, 115, 30, 0, 0), "gesture": (30, -10, 10, 80, 20, 0, 0),
    "reach_down": (75, 0, 0, 8, 30, 0, 0), "reach_up": (150, -10, 0, 10, 0, 0, 0), "carry": (10, -5, 10, 90, 30, 0, 0),
    "handshake": (35, -5, 0, 60, -10, 0, 0), "lap": (30, 5, 20, 60, 60, 0, 0), "table": (35, 10, 20, 85, 60, 0, 0),
    "behind": (-25, -10, 30, 60, 20, 0, 0), "leash": (30, -5, 0, 50, 30, 0, 0), "text": (30, 10, 25, 95, 80, 20, 0),
}
SIT = {"thigh_r": (78, 95), "thigh_l": (78, 95), "knee_r": (75, 105), "knee_l": (75, 105), "tilt": (8, 20)}


@dataclass
class Plan:
    """A generated motion before placement.

    Attributes:
        posture: channel -> (T,) (see :mod:`spine3d.synth.posture`).
        heading: (T,) rad, facing direction about the vertical (0 = world +y).
        floor: (T, 2) m world x, y: where the feet stay (planted) or the pelvis goes (walking).
        planted: True when the feet are anchored (the pelvis follows), False for locomotion.
        support: (T, 2) weights in [0, 1] of the right / left foot bearing weight (floor contact);
            None: both feet.
    """

    posture: Posture
    heading: np.ndarray
    floor: np.ndarray
    planted: bool
    support: np.ndarray | None = None


def pose(r: str = "relaxed", l: str = "relaxed", jitter: float = 8.0, **channels) -> dict:
    """A state: both arm presets (each DOF +- ``jitter`` deg) plus other channel ranges."""
    out = {}
    for side, name in (("r", r), ("l", l)):
        for dof, value in zip(ARM_DOFS, ARM_PRESETS[name]):
            out[f"{dof}_{side}"] = (value - jitter, value + jitter)
    return {**out, **channels}


def _add(p: Posture, tracks: dict[str, np.ndarray]) -> None:
    for channel, track in tracks.items():
        p[channel] = p[channel] + track


def _idle(p: Posture, t: np.ndarray, rng: np.random.Generator, scale: float = 1.0) -> None:
    """Small smooth motion of every spinal, neck, pelvis and arm channel (no action is ever still)."""
    amp = {"trunk_flex": 3, "trunk_bend": 3, "trunk_rot": 5, "neck_flex": 6, "neck_bend": 4, "neck_rot": 12,
           "tilt": 2, "list": 1.5, "yaw": 3}
    for channel, a in amp.items():
        p[channel] = p[channel] + smooth_noise(t, rng, scale * a, f_max=0.3)
    for side in "rl":
        for dof, a in zip(ARM_DOFS, (5, 3, 6, 6, 10, 8, 4)):
            p[f"{dof}_{side}"] = p[f"{dof}_{side}"] + smooth_noise(t, rng, scale * a, f_max=0.5)


def _stand(p: Posture, t: np.ndarray, rng: np.random.Generator, shift: float = 1.0) -> None:
    """Standing legs: stance width, soft knees, slow weight shifts from one foot to the other."""
    w = shift * smooth_noise(t, rng, 1.0, f_max=0.15)  # + = weight on the right foot
    width = rng.uniform(1.0, 6.0)
    p["list"] = p["list"] - 3.0 * w  # the unloaded side drops
    for side, sign in (("r", 1.0), ("l", -1.0)):
        p[f"width_{side}"] = p[f"width_{side}"] + width - sign * 4.0 * w + smooth_noise(t, rng, 1.0)
        p[f"knee_{side}"] = p[f"knee_{side}"] + 4.0 + 6.0 * np.logaddexp(0, -3 * sign * w) / 3 + smooth_noise(t, rng, 2.0)
        p[f"thigh_{side}"] = p[f"thigh_{side}"] + smooth_noise(t, rng, 2.0)


def _seat(p: Posture, t: np.ndarray, rng: np.random.Generator) -> None:
    """Seated legs (chair height from the shank length), knees apart, feet flat."""
    for side in "rl":
        p[f"width_{side}"] = p[f"width_{side}"] + rng.uniform(3.0, 14.0) + smooth_noise(t, rng, 3.0)
        p[f"hiprot_{side}"] = p[f"hiprot_{side}"] - rng.uniform(0.0, 12.0)


def _facing(t: np.ndarray, rng: np.random.Generator, spread: float, hold=(2.0, 6.0)) -> np.ndarray:
    """(T,) rad: a random facing that turns now and then by up to +-``spread`` deg."""
    turns = state_sequence(t, rng, {"face": (1.0, {"h": (-spread, spread)})}, hold, (1.0, 2.5))["h"]
    return rng.uniform(-np.pi, np.pi) + np.deg2rad(turns + smooth_noise(t, rng, 5.0, f_max=0.2))


def _standing_plan(t, rng, area: Area, states: dict, spread: float = 60.0, hold=(1.0, 3.0), move=(0.6, 1.5),
                   shift: float = 1.0, seated: bool = False) -> Plan:
    p = new_posture(len(t))
    _idle(p, t, rng)
    (_seat if seated else _stand)(p, t, rng, *(() if seated else (shift,)))
    _add(p, state_sequence(t, rng, states, hold, move))
    spot = area.to_world(rng.uniform(-0.35, 0.35, 2))
    return Plan(p, _facing(t, rng, spread), np.broadcast_to(spot, (len(t), 2)).copy(), planted=True)


def directions(t, rng, d: BodyDims, area: Area) -> Plan:
    states = {"talk": (3, pose(trunk_rot=(-10, 10), neck_rot=(-30, 30))),
              "point_r": (2, pose(r="point", trunk_rot=(-25, 0), neck_rot=(-45, -10), trunk_bend=(-5, 10))),
              "point_l": (2, pose(l="point", trunk_rot=(0, 25), neck_rot=(10, 45), trunk_bend=(-10, 5))),
              "hips": (1, pose(r="hip", l="hip", trunk_flex=(-5, 10)))}
    return _standing_plan(t, rng, area, states, spread=70, hold=(1.5, 4.0))


def discussion(t, rng, d: BodyDims, area: Area) -> Plan:
    states = {"gesture": (4, pose(r="gesture", l="gesture", jitter=20, trunk_rot=(-15, 15), trunk_flex=(0, 12))),
              "one_hand": (2, pose(r="gesture", l="relaxed", jitter=20, trunk_bend=(-8, 8))),
              "crossed": (1, pose(r="crossed", l="crossed", trunk_flex=(-8, 5))),
              "hips": (1, pose(r="hip", l="hip"))}
    plan = _standing_plan(t, rng, area, states, spread=50, hold=(0.8, 2.5), move=(0.4, 1.0))
    plan.posture["neck_flex"] += smooth_noise(t, rng, 10.0, f_max=0.9)  # nodding
    plan.posture["trunk_rot"] += smooth_noise(t, rng, 8.0, f_max=0.4)
    return plan


def eating(t, rng, d: BodyDims, area: Area) -> Plan:
    states = {"table": (3, pose(r="table", l="table", trunk_flex=(10, 25), neck_flex=(10, 25), **SIT)),
              "bite": (2, pose(r="mouth", l="table", trunk_flex=(5, 20), neck_flex=(0, 15), **SIT)),
              "sit_back": (1, pose(r="lap", l="lap", trunk_flex=(-10, 5), **SIT))}
    return _standing_plan(t, rng, area, states, spread=20, hold=(0.8, 3.0), seated=True)


def greeting(t, rng, d: BodyDims, area: Area) -> Plan:
    states = {"idle": (2, pose()), "wave": (2, pose(r="wave", neck_rot=(-20, 20))),
              "shake": (2, pose(r="handshake", trunk_flex=(5, 20))), "bow": (1, pose(trunk_flex=(25, 45), tilt=(-15, -5)))}
    plan = _standing_plan(t, rng, area, states, spread=90, hold=(1.0, 3.0))
    p = plan.posture
    raised = np.clip((p["arm_flex_r"] - 60.0) / 50.0, 0.0, 1.0)  # wave while the arm is up
    hz = rng.uniform(1.5, 2.2)
    p["elbow_flex_r"] += 18.0 * raised * np.sin(2 * np.pi * hz * t)
    p["arm_rot_r"] += 15.0 * raised * np.sin(2 * np.pi * hz * t + 0.5)
    return plan


def phoning(t, rng, d: BodyDims, area: Area) -> Plan:
    s, o = ("r", "l") if rng.random() < 0.7 else ("l", "r")
    bend = 12.0 if s == "r" else -12.0
    states = {"call": (5, {**pose(**{s: "ear", o: "relaxed"}), "neck_bend": (bend - 6, bend + 6)}),
              "call_gesture": (2, {**pose(**{s: "ear", o: "gesture"}, jitter=15), "neck_bend": (bend - 6, bend + 6)}),
              "text": (1, pose(**{s: "text", o: "text"}, neck_flex=(20, 40), trunk_flex=(5, 15)))}
    return _standing_plan(t, rng, area, states, spread=90, hold=(2.0, 5.0), shift=1.3)


def photo(t, rng, d: BodyDims, area: Area) -> Plan:
    crouch = {"thigh_r": (20, 45), "thigh_l": (20, 45), "knee_r": (40, 70), "knee_l": (40, 70), "tilt": (-20, -5)}
    states = {"shoot": (3, pose(r="camera", l="camera", trunk_rot=(-20, 20), trunk_bend=(-10, 10), neck_flex=(-5, 10))),
              "crouch": (2, pose(r="camera", l="camera", trunk_flex=(15, 35), **crouch)),
              "lower": (2, pose(r="carry", l="relaxed", neck_flex=(10, 30)))}
    return _standing_plan(t, rng, area, states, spread=60, hold=(1.5, 4.0))


def posing(t, rng, d: BodyDims, area: Area) -> Plan:
    wide = {f"{dof}_{s}": r for s in "rl" for dof, r in zip(
        ARM_DOFS, ((-30, 170), (-110, 20), (-60, 60), (0, 140), (-40, 80), (-30, 30), (-15, 25)))}
    legs = {f"{c}_{s}": r for s in "rl" for c, r in (("width", (0, 15)), ("knee", (0, 30)), ("thigh", (-10, 25)))}
    states = {"free": (3, {**wide, **legs, "trunk_flex": (-20, 50), "trunk_bend": (-30, 30), "trunk_rot": (-35, 35),
                           "neck_flex": (-30, 40), "neck_bend": (-25, 25), "neck_rot": (-50, 50), "tilt": (-15, 10)}),
              "twist": (1, pose(r="hip", l="hip", trunk_rot=(-35, 35), trunk_bend=(-10, 10))),
              "side_bend": (1, pose(r="reach_up", trunk_bend=(15, 30), neck_bend=(5, 20)))}
    return _standing_plan(t, rng, area, states, spread=60, hold=(1.5, 4.0), move=(0.8, 1.6))


def purchases(t, rng, d: BodyDims, area: Area) -> Plan:
    pick = {"thigh_r": (10, 40), "thigh_l": (10, 40), "knee_r": (5, 45), "knee_l": (5, 45), "tilt": (-45, -15)}
    states = {"idle": (3, pose(r="carry", l="relaxed")),
              "pick": (2, pose(r="reach_down", l="reach_down", trunk_flex=(40, 75), neck_flex=(-20, 10), **pick)),
              "shelf": (1, pose(r="reach_up", l="relaxed", trunk_flex=(-12, 0), trunk_bend=(-10, 10),
                                ankle_r=(-15, -5), ankle_l=(-15, -5))),
              "carry": (2, pose(r="carry", l="carry", trunk_flex=(-5, 8), trunk_rot=(-20, 20)))}
    return _standing_plan(t, rng, area, states, spread=120, hold=(1.0, 3.0))


def sitting(t, rng, d: BodyDims, area: Area) -> Plan:
    states = {"upright": (3, pose(r="lap", l="lap", trunk_flex=(-5, 10), **SIT)),
              "forward": (2, pose(r="lap", l="gesture", trunk_flex=(20, 40), **SIT)),
              "back": (2, pose(r="crossed", l="crossed", trunk_flex=(-15, -5), **SIT)),
              "twist": (2, pose(r="reach_down", trunk_rot=(-30, 30), trunk_bend=(-15, 15), **SIT)),
              "floor": (1, pose(r="reach_down", l="reach_down", trunk_flex=(50, 70), **SIT))}
    return _standing_plan(t, rng, area, states, spread=20, hold=(2.0, 5.0), seated=True)


def sitting_down(t, rng, d: BodyDims, area: Area) -> Plan:
    stand = {"thigh_r": (-3, 3), "thigh_l": (-3, 3), "knee_r": (0, 8), "knee_l": (0, 8)}
    states = {"stand": (2, pose(**stand)), "sit": (2, pose(r="lap", l="lap", trunk_flex=(0, 15), **SIT)),
              "sit_bend": (1, pose(r="reach_down", l="reach_down", trunk_flex=(45, 70), **SIT))}
    plan = _standing_plan(t, rng, area, states, spread=30, hold=(1.5, 4.0), move=(1.2, 2.2), shift=0.5)
    p = plan.posture
    sit = soft_clip(0.5 * (p["thigh_r"] + p["thigh_l"]) / 85.0, 0.0, 1.0, 0.08)  # 0 standing, 1 seated
    transition = 4.0 * sit * (1.0 - sit)  # 1 half-way between standing and sitting
    p["trunk_flex"] += 30.0 * transition  # lean forward to rise / sit
    p["tilt"] -= 20.0 * transition
    return plan


def smoking(t, rng, d: BodyDims, area: Area) -> Plan:
    s, o = ("r", "l") if rng.random() < 0.7 else ("l", "r")
    hold_arm = {"arm_flex": 15, "arm_add": 10, "elbow_flex": 70}
    states = {"puff": (1, pose(**{s: "mouth", o: "crossed"})),
              "hold": (2, {**pose(**{o: "crossed"}), **{f"{k}_{s}": (v - 8, v + 8) for k, v in hold_arm.items()}}),
              "exhale": (1, pose(**{o: "crossed"}, neck_flex=(-25, -10)))}
    return _standing_plan(t, rng, area, states, spread=60, hold=(1.0, 4.0), shift=1.5)


def waiting(t, rng, d: BodyDims, area: Area) -> Plan:
    states = {"stand": (3, pose(r="crossed", l="crossed", neck_rot=(-70, 70))),
              "hips": (2, pose(r="hip", l="hip", neck_rot=(-60, 60))),
              "behind": (2, pose(r="behind", l="behind", neck_rot=(-60, 60), trunk_flex=(-5, 5))),
              "stretch": (1, pose(r="reach_up", l="reach_up", trunk_bend=(-25, 25), trunk_rot=(-30, 30),
                                  trunk_flex=(-15, 0)))}
    return _standing_plan(t, rng, area, states, spread=90, hold=(1.5, 4.0), shift=1.8)


def _walk(t, rng, d: BodyDims, area: Area, gait: Gait, extra: Callable[[Posture], None] | None = None) -> Plan:
    p, heading, floor, support = walking(t, rng, d, area, gait)
    if extra is not None:
        extra(p)
    return Plan(p, heading, floor, planted=False, support=support)


def walking_plain(t, rng, d: BodyDims, area: Area) -> Plan:
    return _walk(t, rng, d, area, Gait())


def walk_dog(t, rng, d: BodyDims, area: Area) -> Plan:
    s = "r" if rng.random() < 0.6 else "l"
    look = state_sequence(t, rng, {"ahead": (2, {}), "dog": (1, {"neck_flex": (20, 35), "trunk_flex": (5, 20)})},
                          (1.0, 4.0), (0.8, 1.5))

    def leash(p: Posture) -> None:
        for dof, value in zip(ARM_DOFS, ARM_PRESETS["leash"]):
            jerk = smooth_noise(t, rng, 10.0, f_max=1.2) if dof in ("arm_flex", "elbow_flex") else 0.0
            p[f"{dof}_{s}"] = value + jerk
        _add(p, look)

    return _walk(t, rng, d, area, Gait(speed=(0.6, 1.0), speed_wobble=0.35, min_speed=0.3, lean=8.0), leash)


def walk_together(t, rng, d: BodyDims, area: Area) -> Plan:
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
