"""Motion generators that load the spine, beyond Human3.6M's actions: bending, twisting, squatting, lifting,
balancing on one leg, reaching.

Same contract as :mod:`spine3d.data.synth.actions`: each maps (t (T,) s, rng, body, capture area) to a
:class:`~spine3d.data.synth.stance.Plan`, built on the same standing layer (idle motion, weight shifts,
turns; :func:`~spine3d.data.synth.stance.standing_plan`). Each is an exercise done again and again
(:func:`repetitions`): rest, move into the pose, hold it, move back, with a new variant (depth, side,
arms) drawn for every repetition. Angles in degrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from spine3d.data.synth.body import BodyDims
from spine3d.data.synth.motion import keyframes, smooth_noise, smootherstep
from spine3d.data.synth.placement import Area
from spine3d.data.synth.posture import Posture
from spine3d.data.synth.stance import (
    ARM_DOFS,
    ARM_PRESETS,
    Plan,
    add_tracks,
    pose,
    standing_plan,
)

Span = tuple[float, float]  # (min, max) duration of a step, s
Pattern = tuple[tuple[float, Span], ...]  # one repetition: (level the activation moves to, duration) per step
UNLOAD = 0.35  # one-leg stance: share of the activation that moves the weight onto the stance foot


class Reps(NamedTuple):
    """A repeated exercise sampled on t (T,).

    Attributes:
        activation: (T,) in [0, 1], 0 at rest, 1 in the exercise's pose (C2-smooth).
        index: (T,) int, the repetition each frame belongs to (changes while the activation rests at 0).
        phase: (T,) int, the step of the repetition's pattern each frame is in.
        count: number of repetitions drawn (index < count).
    """

    activation: np.ndarray
    index: np.ndarray
    phase: np.ndarray
    count: int


def exercise(move: Span = (1.2, 1.8), hold: Span = (0.8, 2.2), rest: Span = (0.6, 1.6)) -> Pattern:
    """One repetition of a plain exercise: rest at 0, move to 1, hold, move back to 0 (durations in s)."""
    return ((0.0, rest), (1.0, move), (1.0, hold), (0.0, move))


def repetitions(t: np.ndarray, rng: np.random.Generator, pattern: Pattern) -> Reps:
    """Repeat ``pattern`` from level 0 over times t (T,) s, each step's duration drawn anew, starting in step 0."""
    levels = np.array([level for level, _ in pattern], dtype=np.float64)
    lo, hi = (np.array([span[k] for _, span in pattern]) for k in (0, 1))
    count = int((t[-1] + hi[0]) / lo.sum()) + 2
    durations = rng.uniform(lo, hi, size=(count, len(pattern))).ravel()
    times = np.concatenate([[0.0], np.cumsum(durations)]) - rng.uniform(0.0, hi[0])
    values = np.concatenate([[levels[-1]], np.tile(levels, count)])
    step = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(durations) - 1)
    return Reps(keyframes(t, times, values), step // len(pattern), step % len(pattern), count)


def alternating(rng: np.random.Generator, count: int) -> np.ndarray:
    """(count,) +1 / -1, alternating from a random first sign (the side of each repetition)."""
    return np.where((np.arange(count) + rng.integers(2)) % 2 == 0, 1.0, -1.0)


def presets(names: Sequence[str]) -> np.ndarray:
    """(len(names), 7) arm postures (deg, ARM_DOFS order) of ARM_PRESETS names."""
    return np.array([ARM_PRESETS[name] for name in names], dtype=np.float64)


def move_arm(p: Posture, side: str, amount: np.ndarray, target: np.ndarray) -> None:
    """Move one arm from the relaxed preset toward ``target`` (T, 7) or (7,) deg by ``amount`` (T,) in [0, 1].

    Offsets are added, so the idle motion of the arm goes on on top.
    """
    delta = np.asarray(target, dtype=np.float64) - presets(["relaxed"])[0]
    for j, dof in enumerate(ARM_DOFS):
        p[f"{dof}_{side}"] = p[f"{dof}_{side}"] + amount * delta[..., j]


def _stand(t: np.ndarray, rng: np.random.Generator, area: Area, spread: float, shift: float = 1.0) -> Plan:
    """Standing on one spot, arms relaxed, turning by up to +-``spread`` deg now and then."""
    states = {"stand": (1, pose(jitter=5, trunk_flex=(-3, 5)))}
    return standing_plan(t, rng, area, states, spread=spread, hold=(2.0, 5.0), move=(1.0, 2.0), shift=shift)


def bend_forward(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Toe touches: trunk flexion over an anterior pelvis tilt, hips back, knees straight or soft, hands to the feet."""
    plan = _stand(t, rng, area, spread=40)
    a, rep, _, n = repetitions(t, rng, exercise(move=(1.6, 2.4)))
    depth = a * rng.uniform(0.7, 1.0, n)[rep]
    trunk, tilt = 85.0 * depth, -72.0 * depth
    knee = a * rng.uniform(0.0, 15.0, n)[rep]
    p = plan.posture
    add_tracks(p, {"trunk_flex": trunk, "tilt": tilt, "neck_flex": 20.0 * depth})
    for s in "rl":
        add_tracks(p, {f"thigh_{s}": 8.0 * depth, f"knee_{s}": knee, f"elbow_flex_{s}": -8.0 * depth,
                       f"arm_flex_{s}": 0.95 * (trunk - tilt)})  # the arms hang: flexed as far as the thorax leans
    return plan


def bend_sideways(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Side bends to the right and left: a hand sliding down the thigh, the other arm overhead, or hands on hips."""
    plan = _stand(t, rng, area, spread=40)
    a, rep, _, n = repetitions(t, rng, exercise())
    sign = alternating(rng, n)  # + = to the right
    bend = a * (sign * rng.uniform(25.0, 40.0, n))[rep]
    p = plan.posture
    add_tracks(p, {"trunk_bend": bend, "neck_bend": 0.4 * bend, "width_r": 0.1 * bend, "width_l": -0.1 * bend})
    style = rng.choice(["slide", "overhead", "hips"], size=n)
    for s, side in (("r", 1.0), ("l", -1.0)):
        outer = sign * side < 0  # the arm on the convex side
        names = ["hip" if st == "hips" else "overhead" if st == "overhead" and o else "relaxed"
                 for st, o in zip(style, outer)]
        move_arm(p, s, a, presets(names)[rep])
        slide = (style == "slide")[rep] * np.maximum(side * bend, 0.0)  # the concave side's hand down the thigh
        p[f"arm_add_{s}"] = p[f"arm_add_{s}"] - slide
    return plan


def twist_trunk(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Axial trunk rotation to the left and right over a still pelvis, looking along, arms crossed, on hips or out."""
    plan = _stand(t, rng, area, spread=0, shift=0.5)
    a, rep, _, n = repetitions(t, rng, exercise())
    turn = a * (alternating(rng, n) * rng.uniform(30.0, 45.0, n))[rep]  # + = to the left
    p = plan.posture
    add_tracks(p, {"trunk_rot": turn, "neck_rot": 0.5 * turn, "yaw": 0.08 * turn})
    arms = presets(rng.choice(["crossed", "hip", "balance"], size=n))[rep]
    for s in "rl":
        move_arm(p, s, a, arms)
    return plan


def squat(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Deep squats, heels down: knees and hips flexed, pelvis tilted forward, trunk leaning over the knees."""
    plan = _stand(t, rng, area, spread=30, shift=0.3)
    a, rep, _, n = repetitions(t, rng, exercise(move=(1.3, 2.0)))
    depth = a * rng.uniform(0.8, 1.0, n)[rep]
    lean, tilt = rng.uniform(20.0, 35.0, n)[rep], rng.uniform(-25.0, -15.0, n)[rep]
    p = plan.posture
    add_tracks(p, {"trunk_flex": lean * depth, "tilt": tilt * depth, "neck_flex": -10.0 * depth})
    for s in "rl":
        add_tracks(p, {f"thigh_{s}": 95.0 * depth, f"knee_{s}": 120.0 * depth})
    arms = presets(rng.choice(["forward", "crossed", "hip"], size=n))[rep]
    level = (arms[:, 0] > 80.0) * (lean - tilt)  # arms held forward stay level as the thorax leans
    for s in "rl":
        move_arm(p, s, a, arms)
        p[f"arm_flex_{s}"] = p[f"arm_flex_{s}"] + depth * level
    return plan


LIFT: Pattern = (
    (0.0, (0.8, 2.0)), (1.0, (1.2, 1.8)), (1.0, (0.4, 0.9)), (0.0, (1.3, 2.0)),  # rest, bend, grasp, stand up
    (0.0, (1.0, 2.5)), (1.0, (1.3, 2.0)), (1.0, (0.3, 0.7)), (0.0, (1.2, 1.8)))  # hold, bend, put down, stand up
CARRYING = (3, 4, 5)  # steps of LIFT with the object in the hands


def lift_from_floor(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Picking an object up from the floor (stoop, squat or in between), standing holding it, putting it down again."""
    plan = _stand(t, rng, area, spread=60)
    b, rep, step, n = repetitions(t, rng, LIFT)
    crouch = rng.uniform(0.35, 1.0, n)  # 0 stoop lift (soft knees), 1 squat lift
    bottom = {"trunk_flex": 70.0 - 30.0 * crouch, "tilt": -70.0 + 40.0 * crouch, "neck_flex": np.full(n, -15.0),
              "thigh": 10.0 + 85.0 * crouch, "knee": 20.0 + 100.0 * crouch}
    track = {k: b * v[rep] for k, v in bottom.items()}
    p = plan.posture
    add_tracks(p, {k: track[k] for k in ("trunk_flex", "tilt", "neck_flex")})
    carry = np.isin(step, CARRYING) * (1.0 - b)  # switches while the hands are at the floor (b = 1)
    reach = np.zeros((n, len(ARM_DOFS)))  # hanging arms (flexed as far as the thorax leans), hands together
    reach[:, 0], reach[:, 1], reach[:, 3] = bottom["trunk_flex"] - bottom["tilt"] + 5.0, 8.0, 10.0
    for s in "rl":
        add_tracks(p, {f"thigh_{s}": track["thigh"], f"knee_{s}": track["knee"]})
        move_arm(p, s, b, reach[rep])
        move_arm(p, s, carry, presets(["hold"])[0])
    return plan


ONE_LEG: Pattern = exercise(move=(1.2, 1.8), hold=(2.0, 4.0), rest=(0.8, 2.0))


def raise_leg(lift: np.ndarray, thigh: np.ndarray, knee: np.ndarray, d: BodyDims) -> tuple[np.ndarray, np.ndarray]:
    """Thigh and knee angles (T,) deg raising a foot to ``thigh``, ``knee`` (T,) deg as ``lift`` (T,) goes 0 -> 1.

    The knee flexes in proportion to ``lift``; the thigh's path bends so that at first the shank
    tilts back as much as the thigh swings forward and the foot rises straight up, not sliding
    over the floor.
    """
    start = knee * d.shank / (d.thigh + d.shank)  # thigh rate at lift = 0
    return thigh * lift + (start - thigh) * lift * (1.0 - lift), knee * lift


def steady_legs(p: Posture, t: np.ndarray, rng: np.random.Generator) -> None:
    """Standing legs (replacing :func:`~spine3d.data.synth.stance.stand`'s) that move together: the same knee and
    thigh motion on both sides and opposite abduction, so the pelvis sways over feet that keep their places."""
    width, sway = rng.uniform(1.0, 5.0), smooth_noise(t, rng, 1.5, f_max=0.2)
    knee, thigh = 4.0 + smooth_noise(t, rng, 2.0), smooth_noise(t, rng, 2.0)
    for s, side in (("r", 1.0), ("l", -1.0)):
        p[f"width_{s}"], p[f"knee_{s}"], p[f"thigh_{s}"] = width + side * sway, knee, thigh


def one_leg_stance(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing on one leg for seconds, arms out for balance, the other foot raised in front or behind, in turn."""
    plan = _stand(t, rng, area, spread=0, shift=0.0)
    steady_legs(plan.posture, t, rng)
    a, rep, _, n = repetitions(t, rng, ONE_LEG)
    unload = smootherstep(a / UNLOAD)  # weight onto the stance foot first, then the other foot rises
    lift = smootherstep((a - UNLOAD) / (1.0 - UNLOAD))
    lifted = alternating(rng, n)[rep]  # + = the right foot rises
    thigh, knee = raise_leg(lift, rng.uniform(0.0, 70.0, n)[rep], rng.uniform(60.0, 100.0, n)[rep], d)
    over = np.degrees(np.arctan(d.hip_half_width / (d.thigh + d.shank)))  # adduction: the pelvis over the foot
    p = plan.posture
    wobble = unload * smooth_noise(t, rng, 4.0, f_max=0.8)
    add_tracks(p, {"list": 3.0 * lift * lifted, "trunk_bend": -4.0 * unload * lifted + wobble})  # raised side drops
    support = []
    for s, side in (("r", 1.0), ("l", -1.0)):
        up = (lifted * side > 0).astype(np.float64)  # 1 while this is the raised leg
        add_tracks(p, {f"thigh_{s}": up * thigh, f"knee_{s}": up * knee + 4.0 * unload * (1.0 - up),
                       f"ankle_{s}": -15.0 * up * lift ** 2, f"width_{s}": over * unload * (2.0 * up - 1.0)})
        move_arm(p, s, a, presets(["balance"])[0])
        p[f"arm_add_{s}"] = p[f"arm_add_{s}"] + unload * smooth_noise(t, rng, 6.0, f_max=1.0)
        support.append(1.0 - unload * up)
    plan.support = np.stack(support, axis=1)
    return plan


def reach(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Reaching overhead (on tiptoe at times), forward and sideways with one or both arms, the trunk following."""
    plan = _stand(t, rng, area, spread=50)
    a, rep, _, n = repetitions(t, rng, exercise(move=(1.0, 1.6), hold=(1.0, 2.5)))
    kind = (rng.integers(3) + np.arange(n)) % 3  # overhead, forward, sideways, in turn
    over, forward, sideways = (kind == k for k in range(3))
    arms = rng.integers(3, size=n)  # right, left, both (sideways: one arm)
    arms = np.where(sideways & (arms == 2), rng.integers(2, size=n), arms)
    single = np.select([arms == 0, arms == 1], [1.0, -1.0], 0.0)  # + = right arm alone
    lean = forward * rng.uniform(30.0, 50.0, n)
    bend = sideways * single * rng.uniform(25.0, 38.0, n)
    tiptoe = over * (rng.random(n) < 0.5)
    per_rep = {"trunk_flex": np.where(over, -8.0, lean), "tilt": -0.5 * lean, "trunk_rot": 15.0 * forward * single,
               "trunk_bend": bend - 8.0 * over * single, "neck_flex": -20.0 * over, "neck_rot": -30.0 * bend / 20.0}
    for s, side in (("r", 1.0), ("l", -1.0)):
        per_rep |= {f"ankle_{s}": -15.0 * tiptoe, f"toe_{s}": 15.0 * tiptoe, f"thigh_{s}": 0.2 * lean,  # hips back
                    f"width_{s}": 0.1 * side * bend}  # hips away from a sideways reach
    p = plan.posture
    add_tracks(p, {k: a * v[rep] for k, v in per_rep.items()})
    for s, used in (("r", arms != 1), ("l", arms != 0)):
        target = presets(np.select([over, forward], ["overhead", "forward"], "side"))
        target[:, 0] += forward * 1.5 * lean  # held level while the thorax leans (trunk flexion + pelvis tilt)
        target[:, 1] -= sideways * np.abs(bend)  # level while the trunk bends toward the arm
        target[~used] = presets(["relaxed"])[0]
        move_arm(p, s, a, target[rep])
    return plan


SPINE_GENERATORS: dict[str, Callable[..., Plan]] = {
    "BendForward": bend_forward, "BendSideways": bend_sideways, "TwistTrunk": twist_trunk, "Squat": squat,
    "LiftFromFloor": lift_from_floor, "OneLegStance": one_leg_stance, "Reach": reach,
}
SPINE_ACTIONS: tuple[str, ...] = tuple(SPINE_GENERATORS)
