"""Motion generators that load the spine, beyond Human3.6M's actions: bending, twisting, squatting, lifting,
balancing on one leg, reaching, free-limb balance poses.

Same contract as :mod:`spine3d.data.synth.actions`: each maps (t (T,) s, rng, body, capture area) to a
:class:`~spine3d.data.synth.stance.Plan`, built on the same standing layer (idle motion, weight shifts,
turns; :func:`~spine3d.data.synth.stance.standing_plan`). Each is an exercise done again and again
(:func:`repetitions`): rest, move into the pose, hold it, move back, with a new variant (depth, side,
arms) drawn for every repetition (Balance: the arms go through targets of their own). Angles in degrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from spine3d.data.synth.body import BodyDims
from spine3d.data.synth.motion import keyframes, pose_sequence, smooth_noise, smootherstep
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


def steady_legs(p: Posture, t: np.ndarray, rng: np.random.Generator, width: Span = (1.0, 5.0)) -> float:
    """Standing legs (replacing :func:`~spine3d.data.synth.stance.stand`'s) that move together: the same knee and
    thigh motion on both sides and opposite abduction, so the pelvis sways over feet that keep their places.

    Returns the stance width drawn from ``width`` (deg of abduction of each leg, before the sway).
    """
    width, sway = rng.uniform(*width), smooth_noise(t, rng, 1.5, f_max=0.2)
    knee, thigh = 4.0 + smooth_noise(t, rng, 2.0), smooth_noise(t, rng, 2.0)
    for s, side in (("r", 1.0), ("l", -1.0)):
        p[f"width_{s}"], p[f"knee_{s}"], p[f"thigh_{s}"] = width + side * sway, knee, thigh
    return width


def over_foot(d: BodyDims) -> float:
    """Adduction (deg) of a straight leg that puts the pelvis centre over its foot."""
    return float(np.degrees(np.arctan(d.hip_half_width / (d.thigh + d.shank))))


def one_leg_stance(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Standing on one leg for seconds, arms out for balance, the other foot raised in front or behind, in turn."""
    plan = _stand(t, rng, area, spread=0, shift=0.0)
    steady_legs(plan.posture, t, rng)
    a, rep, _, n = repetitions(t, rng, ONE_LEG)
    unload = smootherstep(a / UNLOAD)  # weight onto the stance foot first, then the other foot rises
    lift = smootherstep((a - UNLOAD) / (1.0 - UNLOAD))
    lifted = alternating(rng, n)[rep]  # + = the right foot rises
    thigh, knee = raise_leg(lift, rng.uniform(0.0, 70.0, n)[rep], rng.uniform(60.0, 100.0, n)[rep], d)
    over = over_foot(d)  # adduction: the pelvis over the foot
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


BALANCE: Pattern = exercise(move=(1.2, 1.8), hold=(1.5, 3.5), rest=(0.4, 1.2))
BOTH_FEET_EVERY = 4  # every 4th Balance repetition (from a random one) keeps both feet down
CLEARANCE = 0.08  # m, least rise of a raised ankle above the standing one (else the knee flexes more)
FREE_ARM_PRESETS = ("relaxed", "balance", "side", "overhead", "hip", "forward", "crossed")
PRESET_SHARE = 0.3  # share of the free arm targets that are a preset (jittered) rather than a random direction
REAR_REACH = 50.0  # deg: elevation up to which a free arm may also go behind the body (extension < 60)


def arm_direction(elevation: np.ndarray, plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """arm_flex, arm_add (n,) deg pointing the upper arm along a direction relative to the thorax.

    Args:
        elevation: (n,) deg from hanging down (0) through horizontal (90) to overhead (180).
        plane: (n,) deg, plane of elevation: 0 forward, 90 out to the arm's own side, < 0 across the body,
            180 backward; kept <= 90 (not behind the body) above REAR_REACH deg of elevation.

    The shoulder is Rz(flex) Rx(add) (kinematics), so the upper arm points forward sin(flex) cos(add),
    up -cos(flex) cos(add), outward -sin(add). Raised well out to the side (outward > 0.5, less forward
    than up) the arm is abducted past 90 deg (add in (-150, -90), |flex| < 45) instead of flexed past 90 deg,
    as it is raised sideways; elsewhere |add| <= 90.
    """
    elevation = np.radians(elevation)
    plane = np.radians(np.where(elevation > np.radians(REAR_REACH), np.minimum(plane, 90.0), plane))
    fwd, out, up = np.sin(elevation) * np.cos(plane), np.sin(elevation) * np.sin(plane), -np.cos(elevation)
    side = (out > 0.5) & (np.abs(fwd) < up)
    add = np.where(side, np.arcsin(np.clip(out, -1.0, 1.0)) - np.pi, -np.arcsin(np.clip(out, -1.0, 1.0)))
    flex = np.where(side, np.arctan2(-fwd, up), np.arctan2(fwd, -up))
    return np.degrees(flex), np.degrees(add)


def free_arm_targets(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 7) arm postures (deg, ARM_DOFS order) across the arm's range.

    Mostly a random upper-arm direction (elevation 0..175 deg; plane -30..90 deg, -30..180 below REAR_REACH:
    down, forward, out to the side at any height, overhead, across the body, back) with a random elbow
    (straight half the time, else 25..130 deg), humeral rotation, forearm and wrist; PRESET_SHARE of them a
    FREE_ARM_PRESETS posture +- 10 deg.
    """
    elevation = rng.uniform(0.0, 175.0, n)
    plane = rng.uniform(-30.0, np.where(elevation > REAR_REACH, 90.0, 180.0))
    flex, add = arm_direction(elevation, plane)
    elbow = np.where(rng.random(n) < 0.5, rng.uniform(0.0, 25.0, n), rng.uniform(25.0, 130.0, n))
    free = np.stack([flex, add, rng.uniform(-50.0, 50.0, n), elbow, rng.uniform(-30.0, 90.0, n),
                     rng.uniform(-30.0, 40.0, n), rng.uniform(-10.0, 20.0, n)], axis=1)
    preset = presets(rng.choice(FREE_ARM_PRESETS, size=n)) + rng.uniform(-10.0, 10.0, (n, len(ARM_DOFS)))
    return np.where((rng.random(n) < PRESET_SHARE)[:, None], preset, free)


def leg_clearance(thigh: np.ndarray, knee: np.ndarray, width: np.ndarray, stance: float, d: BodyDims) -> np.ndarray:
    """(n,) m: how far a leg at ``thigh``, ``knee``, ``width`` (n,) deg lifts its ankle above a straight leg
    adducted ``stance`` deg (hip heights equal; a planar estimate)."""
    reach = d.thigh * np.cos(np.radians(thigh)) + d.shank * np.cos(np.radians(thigh - knee))
    return (d.thigh + d.shank) * np.cos(np.radians(stance)) - reach * np.cos(np.radians(width))


def free_leg(rng: np.random.Generator, n: int, d: BodyDims, stance: float) -> dict[str, np.ndarray]:
    """Targets (n,) deg of a raised leg: thigh (world, ~hip flexion: -20..90), knee (0..100), abduct (hip
    abduction from the pelvis: 0..45), hike (pelvis lateral tilt, the raised side up: -5..12), hiprot
    (-20..30), ankle (-30..5). Where the ankle would rise less than CLEARANCE above the standing leg's
    (adducted ``stance`` deg), the knee flexes to |thigh| + 50 (50..100) instead."""
    thigh, knee, abduct = rng.uniform(-20.0, 90.0, n), rng.uniform(0.0, 100.0, n), rng.uniform(0.0, 45.0, n)
    hike = rng.uniform(-5.0, 12.0, n)
    low = leg_clearance(thigh, knee, abduct + hike, stance, d) < CLEARANCE
    knee = np.where(low, np.clip(np.abs(thigh) + 50.0, 50.0, 100.0), knee)
    return {"thigh": thigh, "knee": knee, "abduct": abduct, "hike": hike, "hiprot": rng.uniform(-20.0, 30.0, n),
            "ankle": rng.uniform(-30.0, 5.0, n)}


def balance_trunk(rng: np.random.Generator, n: int, lifted: np.ndarray, one_leg: np.ndarray) -> dict[str, np.ndarray]:
    """Trunk, pelvis and neck targets (n,) deg of the Balance repetitions.

    Lateral bend up to 30 deg, on one leg mostly (65 %) away from the raised leg (``lifted`` (n,) +1 right,
    -1 left) as a counterweight, else either way; flexion -15..30 over a pelvis tilted 20 anterior..8 posterior;
    rotation +-30 with the pelvis turning +-10 over the stance hip; the neck following the bend (-0.2..0.6
    of it) and rotation (-0.3..0.6) loosely.
    """
    counter = one_leg & (rng.random(n) < 0.65)
    bend = np.where(counter, -lifted * rng.uniform(5.0, 30.0, n), rng.uniform(-25.0, 25.0, n))
    rot = rng.uniform(-30.0, 30.0, n)
    return {"trunk_bend": bend, "trunk_flex": rng.uniform(-15.0, 30.0, n), "tilt": rng.uniform(-20.0, 8.0, n),
            "trunk_rot": rot, "yaw": rng.uniform(-10.0, 10.0, n),
            "neck_bend": rng.uniform(-0.2, 0.6, n) * bend + rng.uniform(-10.0, 10.0, n),
            "neck_flex": rng.uniform(-20.0, 25.0, n),
            "neck_rot": rng.uniform(-0.3, 0.6, n) * rot + rng.uniform(-30.0, 30.0, n)}


def balance(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area) -> Plan:
    """Balance holds: one foot raised in any direction (or both down), arms anywhere, the trunk as a counterweight."""
    plan = _stand(t, rng, area, spread=0, shift=0.0)
    p = plan.posture
    width = steady_legs(p, t, rng, width=(-3.0, 6.0))  # from feet together to a wide stance
    a, rep, _, n = repetitions(t, rng, BALANCE)
    one_leg = (np.arange(n) + rng.integers(BOTH_FEET_EVERY)) % BOTH_FEET_EVERY != 0
    lifted = alternating(rng, n + 1)[np.cumsum(one_leg)]  # + = the right foot rises; the one-leg repetitions alternate
    over = over_foot(d)
    leg = {k: v[rep] for k, v in free_leg(rng, n, d, over).items()}
    crouch = np.where(one_leg, rng.uniform(0.0, 20.0, n), rng.uniform(0.0, 35.0, n))[rep]  # knee(s) bending
    add_tracks(p, {k: a * v[rep] for k, v in balance_trunk(rng, n, lifted, one_leg).items()})
    unload = smootherstep(a / UNLOAD)  # the weight onto the stance foot first, then the other foot rises
    lift = one_leg[rep] * smootherstep((a - UNLOAD) / (1.0 - UNLOAD))
    thigh, knee = raise_leg(lift, leg["thigh"], leg["knee"], d)
    # both legs turn by it so the pelvis goes over the stance foot, on while the other foot rises (a gentler
    # ramp than unload's: the pelvis accelerates less)
    shift = one_leg[rep] * smootherstep(a / (2.0 * UNLOAD)) * (width + over)
    p["list"] = p["list"] - lifted[rep] * lift * leg["hike"]  # + = right side down
    bend = crouch * unload  # standing knee(s); the thigh leans forward so the hip stays over the foot
    p["trunk_bend"] = p["trunk_bend"] + unload * smooth_noise(t, rng, 4.0, f_max=0.8)  # wobble
    support = []
    for s, side in (("r", 1.0), ("l", -1.0)):
        up = one_leg[rep] * (lifted[rep] * side > 0)  # 1 while this is the raised leg
        add_tracks(p, {f"thigh_{s}": up * thigh + (1.0 - up) * bend * d.shank / (d.thigh + d.shank),
                       f"knee_{s}": up * knee + (1.0 - up) * bend,
                       f"width_{s}": (2.0 * up - 1.0) * shift  # world: abduction from the pelvis + its tilt
                       + up * (lift * leg["hike"] + lift ** 2 * (leg["abduct"] - 2.0 * width - over)),
                       f"hiprot_{s}": up * lift * leg["hiprot"], f"ankle_{s}": up * lift ** 2 * leg["ankle"]})
        support.append(1.0 - unload * up)
        targets = pose_sequence(t, rng, lambda k: free_arm_targets(rng, k), hold=(0.5, 2.0), move=(1.1, 1.9))
        move_arm(p, s, np.ones(len(t)), targets)  # each arm on its own sequence of targets, apart from the legs
    plan.support = np.stack(support, axis=1)
    return plan


SPINE_GENERATORS: dict[str, Callable[..., Plan]] = {
    "BendForward": bend_forward, "BendSideways": bend_sideways, "TwistTrunk": twist_trunk, "Squat": squat,
    "LiftFromFloor": lift_from_floor, "OneLegStance": one_leg_stance, "Balance": balance, "Reach": reach,
}
SPINE_ACTIONS: tuple[str, ...] = tuple(SPINE_GENERATORS)
