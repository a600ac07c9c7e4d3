"""Building blocks of the stationary actions: arm presets, states, idle motion, standing and seated legs.

A stationary action is a :class:`Plan` whose feet stay on one floor spot while the body holds or
moves between random *states* (channel ranges, :func:`~spine3d.data.synth.motion.state_sequence`) on
top of an idle layer of small smooth motion, so the spine always moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.data.synth.motion import smooth_noise, state_sequence
from spine3d.data.synth.placement import Area
from spine3d.data.synth.posture import Posture, new_posture

ARM_DOFS = ("arm_flex", "arm_add", "arm_rot", "elbow_flex", "pro_sup", "wrist_flex", "wrist_dev")
# Arm postures (deg, ARM_DOFS order). "mouth", "ear" and "camera" were solved by inverse kinematics
# on the average body (hand 4 cm before the mouth / at the ear / 25 cm before the face).
ARM_PRESETS: dict[str, tuple[float, ...]] = {
    "relaxed": (3, -6, 0, 12, 15, 0, 0), "mouth": (53, 21, 39, 134, 58, 10, 0), "ear": (95, -20, 20, 148, 60, 0, 0),
    "camera": (63, 16, 4, 106, 70, 0, 0), "point": (80, -10, 0, 5, 0, 0, 0), "wave": (110, -35, -40, 75, 60, 0, 0),
    "hip": (-15, -35, 35, 100, 10, 0, 0), "crossed": (25, 25, 50, 115, 30, 0, 0),
    "gesture": (30, -10, 10, 80, 20, 0, 0),
    "reach_down": (75, 0, 0, 8, 30, 0, 0), "reach_up": (135, -10, 0, 15, 0, 0, 0), "carry": (10, -5, 10, 90, 30, 0, 0),
    "handshake": (35, -5, 0, 60, -10, 0, 0), "lap": (30, 5, 20, 60, 60, 0, 0), "table": (35, 10, 20, 85, 60, 0, 0),
    "behind": (-25, -10, 30, 60, 20, 0, 0), "leash": (30, -5, 0, 50, 30, 0, 0), "text": (30, 10, 25, 95, 80, 20, 0),
    # the spine actions (spine_actions.py): arms out for balance, straight-armed reaches, a box held before the belly
    "balance": (15, -75, 0, 20, 10, 0, 0), "overhead": (165, -15, 0, 5, 0, 0, 0), "forward": (85, 5, 0, 5, 0, 0, 0),
    "side": (10, -88, 0, 5, 0, 0, 0), "hold": (25, 15, 0, 80, 0, 0, 0),
}
SIT = {"thigh_r": (78, 95), "thigh_l": (78, 95), "knee_r": (75, 105), "knee_l": (75, 105), "tilt": (8, 20)}


@dataclass
class Plan:
    """A generated motion before placement.

    Attributes:
        posture: channel -> (T,) (see :mod:`spine3d.data.synth.posture`).
        heading: (T,) rad, facing direction about the vertical (0 = world +y).
        floor: (T, 2) m world x, y: where the feet stay (planted) or the pelvis goes (walking).
        planted: True when the feet are anchored (the pelvis follows), False for locomotion.
        support: (T, 2) weights in [0, 1] of the right / left foot bearing weight (floor contact);
            None: both feet. A planted plan's weight-bearing feet also hold their floor spot
            (placement.planted_anchor), so a raised foot moves freely.
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


def add_tracks(p: Posture, tracks: dict[str, np.ndarray]) -> None:
    """Add (T,) tracks to the posture channels of the same names."""
    for channel, track in tracks.items():
        p[channel] = p[channel] + track


def idle(p: Posture, t: np.ndarray, rng: np.random.Generator, scale: float = 1.0) -> None:
    """Small smooth motion of every spinal, neck, pelvis and arm channel (no action is ever still)."""
    amp = {"trunk_flex": 4, "trunk_bend": 4, "trunk_rot": 6, "neck_flex": 6, "neck_bend": 4, "neck_rot": 12,
           "tilt": 2, "list": 1.5, "yaw": 3}
    for channel, a in amp.items():
        p[channel] = p[channel] + smooth_noise(t, rng, scale * a, f_max=0.3)
    for side in "rl":
        for dof, a in zip(ARM_DOFS, (5, 3, 6, 6, 10, 8, 4)):
            p[f"{dof}_{side}"] = p[f"{dof}_{side}"] + smooth_noise(t, rng, scale * a, f_max=0.5)


def stand(p: Posture, t: np.ndarray, rng: np.random.Generator, shift: float = 1.0) -> None:
    """Standing legs: stance width, soft knees, slow weight shifts from one foot to the other."""
    w = shift * smooth_noise(t, rng, 1.0, f_max=0.15)  # + = weight on the right foot
    width = rng.uniform(1.0, 6.0)
    p["list"] = p["list"] - 3.0 * w  # the unloaded side drops
    for side, sign in (("r", 1.0), ("l", -1.0)):
        p[f"width_{side}"] = p[f"width_{side}"] + width - sign * 4.0 * w + smooth_noise(t, rng, 1.0)
        unloaded = np.logaddexp(0, -3 * sign * w) / 3  # softplus: > 0 while the other foot carries the weight
        p[f"knee_{side}"] = p[f"knee_{side}"] + 4.0 + 6.0 * unloaded + smooth_noise(t, rng, 2.0)
        p[f"thigh_{side}"] = p[f"thigh_{side}"] + smooth_noise(t, rng, 2.0)


def seat(p: Posture, t: np.ndarray, rng: np.random.Generator) -> None:
    """Seated legs (chair height from the shank length), knees apart, feet flat."""
    for side in "rl":
        p[f"width_{side}"] = p[f"width_{side}"] + rng.uniform(3.0, 14.0) + smooth_noise(t, rng, 3.0)
        p[f"hiprot_{side}"] = p[f"hiprot_{side}"] - rng.uniform(0.0, 12.0)


def facing(t: np.ndarray, rng: np.random.Generator, spread: float, hold=(2.0, 6.0)) -> np.ndarray:
    """(T,) rad: a random facing that turns now and then by up to +-``spread`` deg."""
    turns = state_sequence(t, rng, {"face": (1.0, {"h": (-spread, spread)})}, hold, (1.5, 3.0))["h"]
    return rng.uniform(-np.pi, np.pi) + np.deg2rad(turns + smooth_noise(t, rng, 5.0, f_max=0.2))


def standing_plan(t: np.ndarray, rng: np.random.Generator, area: Area, states: dict, spread: float = 60.0,
                  hold=(1.0, 3.0), move=(0.6, 1.5), shift: float = 1.0, seated: bool = False) -> Plan:
    """Feet on a random spot of ``area``; idle motion, legs, ``states`` (see state_sequence) and turns."""
    p = new_posture(len(t))
    idle(p, t, rng)
    if seated:
        seat(p, t, rng)
    else:
        stand(p, t, rng, shift)
    add_tracks(p, state_sequence(t, rng, states, hold, move))
    spot = area.to_world(rng.uniform(-0.6, 0.6, 2))
    return Plan(p, facing(t, rng, spread), np.broadcast_to(spot, (len(t), 2)).copy(), planted=True)
