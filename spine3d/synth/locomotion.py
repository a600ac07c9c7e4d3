"""Walking along a closed path through the capture area: gait cycle, turning, arm swing, trunk counter-rotation.

The sagittal joint curves are normative adult gait patterns sampled every 10 % of the cycle from
right heel strike (after Winter, *The Biomechanics and Motor Control of Human Gait*, 1991),
adjusted by least squares (at most 7 deg from the normative values) so that, with this model's
segment proportions, both feet touch the floor in double support and the swinging foot clears it
by >= 1.5 cm. They are evaluated as 3-harmonic Fourier series, so they are smooth and periodic;
stride length follows speed (Grieve & Gear 1966: stride ~ stature (v / v0)^0.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.synth.body import BodyDims
from spine3d.synth.motion import periodic_curve, smooth_noise
from spine3d.synth.placement import Area
from spine3d.synth.posture import Posture, new_posture

# Joint angles (deg) at 0, 10, ..., 90 % of the gait cycle from right heel strike.
HIP_FLEXION = np.array([21.0, 18.0, 14.0, 6.0, -6.0, -13.0, -9.0, 8.0, 23.0, 26.0])
KNEE_FLEXION = np.array([5.0, 17.0, 15.0, 10.0, 8.0, 12.0, 35.0, 59.0, 52.0, 21.0])
ANKLE_ANGLE = np.array([0.0, -2.0, 4.0, 0.0, 7.0, 15.0, -5.0, -12.0, 0.0, 4.0])
NOMINAL_STRIDE = 0.8  # stride length / stature at NOMINAL_SPEED
NOMINAL_SPEED = 1.2  # m/s
LATERAL_ACCEL = 1.2  # m/s^2, the walker slows in turns to keep v^2 curvature below this
STANCE = 0.62  # fraction of the cycle a foot is on the ground (heel strike at 0, toe-off at 0.62)


@dataclass(frozen=True)
class Gait:
    """Style of one walking sequence.

    Attributes:
        speed: (lo, hi) m/s range of the preferred speed.
        speed_wobble: relative amplitude of slow speed changes (0.5: speed varies by +-50 %).
        min_speed: m/s floor of the walking speed.
        lean: forward trunk flexion, deg.
    """

    speed: tuple[float, float] = (1.0, 1.35)
    speed_wobble: float = 0.12
    min_speed: float = 0.5
    lean: float = 4.0


def closed_path(rng: np.random.Generator, area: Area, n: int = 2048) -> np.ndarray:
    """(n, 2) m world x, y of a closed loop inside ``area``: an ellipse or a figure of eight, either way round."""
    u = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    if rng.random() < 0.3:
        shape = np.stack([np.sin(u), 0.8 * np.sin(2 * u)], axis=1)  # figure of eight (lemniscate of Gerono)
    else:
        shape = np.stack([np.cos(u), rng.uniform(0.6, 1.0) * np.sin(u)], axis=1)
    if rng.random() < 0.5:
        shape = shape[::-1]
    return area.to_world(shape * rng.uniform(0.5, 0.7))


def arc_length_motion(path: np.ndarray, t: np.ndarray, rng: np.random.Generator,
                      gait: Gait) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk the loop ``path`` (N, 2) m repeatedly over times ``t`` (T,) s.

    Returns:
        position (T, 2) m, heading (T,) rad (0 = facing world +y, + counter-clockwise),
        speed (T,) m/s, signed curvature (T,) 1/m (+ = turning left).
    """
    seg = np.roll(path, -1, axis=0) - path
    length = np.linalg.norm(seg, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(length)])
    perimeter = cum[-1]
    angle = np.arctan2(seg[:, 1], seg[:, 0])
    dtheta = np.angle(np.exp(1j * (np.roll(angle, -1) - angle)))  # wrapped turn between segments
    winding = dtheta.sum()  # 2 pi, -2 pi or 0 per lap
    angle = angle[0] + np.concatenate([[0.0], np.cumsum(dtheta)])  # (N + 1,), continuous over the lap
    curvature = dtheta / np.maximum(length, 1e-9)
    # Speed as a function of arc length s; time t(s) by integrating ds / v, then inverted.
    v0 = rng.uniform(*gait.speed)
    s = rng.uniform(0.0, perimeter) + np.linspace(0.0, max(v0 * (1 + gait.speed_wobble), gait.min_speed) * t[-1] + 1.0, max(4 * len(t), 2000))
    kappa = np.interp(s % perimeter, cum[:-1], curvature, period=perimeter)
    window = np.hanning(61) / np.hanning(61).sum()
    kappa = np.convolve(np.pad(kappa, 30, mode="edge"), window, mode="valid")  # anticipate turns smoothly
    v = v0 * (1 + smooth_noise(s / v0, rng, gait.speed_wobble, f_max=0.2))
    v = np.maximum(np.minimum(v, np.sqrt(LATERAL_ACCEL / np.maximum(np.abs(kappa), 1e-6))), gait.min_speed)
    t_of_s = np.concatenate([[0.0], np.cumsum(np.diff(s) / (0.5 * (v[1:] + v[:-1])))])
    s_t = np.interp(t, t_of_s, s)  # the walk starts anywhere on the loop
    sp, laps = s_t % perimeter, np.floor(s_t / perimeter)
    position = np.stack([np.interp(sp, cum, np.append(path[:, k], path[0, k])) for k in range(2)], axis=1)
    direction = np.interp(sp, cum, angle) + laps * winding
    heading = direction - np.pi / 2  # facing (cos a, sin a) = (-sin h, cos h)
    return position, heading, np.interp(s_t, s, v), np.interp(s_t, s, kappa)


def stance_weight(phase: np.ndarray, sharpness: float = 4.0) -> np.ndarray:
    """(T,) in [0, 1]: smooth indicator of the stance phase of a foot (heel strike at phase 0)."""
    half = np.pi * STANCE
    return 0.5 + 0.5 * np.tanh(sharpness * (np.cos(phase - half) - np.cos(half)))


def walking(t: np.ndarray, rng: np.random.Generator, d: BodyDims, area: Area,
            gait: Gait = Gait()) -> tuple[Posture, np.ndarray, np.ndarray, np.ndarray]:
    """A walk around a loop in ``area``.

    Returns:
        posture, heading (T,) rad, pelvis floor position (T, 2) m world x, y, foot support
        weights (T, 2) right / left.
    """
    n = len(t)
    path = closed_path(rng, area)
    position, heading, speed, kappa = arc_length_motion(path, t, rng, gait)
    stride = NOMINAL_STRIDE * d.height * (speed / NOMINAL_SPEED) ** 0.4
    dt = np.gradient(t)
    phase = 2 * np.pi * np.cumsum(speed / stride * dt) + rng.uniform(0, 2 * np.pi)
    g = np.clip(stride / (NOMINAL_STRIDE * d.height), 0.5, 1.2)  # amplitude follows stride length

    p = new_posture(n)
    p["tilt"] = -3.0 + 2.0 * g * np.cos(2 * phase) + smooth_noise(t, rng, 2.0)
    p["list"] = -3.0 * g * np.sin(phase)  # the swing side drops (list > 0: right side down)
    p["yaw"] = 5.0 * g * np.cos(phase)  # right hip forward at right heel strike
    for s, shift in (("r", 0.0), ("l", np.pi)):
        ph = phase + shift
        hip = g * (periodic_curve(HIP_FLEXION, ph) - HIP_FLEXION.mean()) + HIP_FLEXION.mean()
        knee = g * periodic_curve(KNEE_FLEXION, ph) + 2.0
        p[f"thigh_{s}"] = p["tilt"] + hip
        p[f"knee_{s}"] = knee
        p[f"ankle_{s}"] = periodic_curve(ANKLE_ANGLE, ph) - (knee - p[f"thigh_{s}"])
        p[f"width_{s}"] = 2.0 + 2.0 * np.cos(ph + 0.8)
        p[f"toe_{s}"] = 25.0 * np.exp(3.0 * (np.cos(ph - 2 * np.pi * 0.6) - 1.0))  # push-off
        other = phase + shift + np.pi  # the arm swings with the opposite leg
        p[f"arm_flex_{s}"] = 0.6 * g * (periodic_curve(HIP_FLEXION, other) - HIP_FLEXION.mean()) + 3.0
        p[f"elbow_flex_{s}"] = 18.0 + 8.0 * g * (1 + np.cos(other)) + smooth_noise(t, rng, 5.0)
        p[f"arm_add_{s}"] = -7.0 + smooth_noise(t, rng, 3.0)
        p[f"pro_sup_{s}"] = 20.0 + smooth_noise(t, rng, 10.0)
    lean_in = np.rad2deg(np.arctan(speed ** 2 * kappa / 9.81))  # lean into the turn
    p["trunk_flex"] = gait.lean + smooth_noise(t, rng, 3.0)
    p["trunk_bend"] = 3.0 * g * np.sin(phase) - 0.5 * lean_in + smooth_noise(t, rng, 2.0)
    p["trunk_rot"] = -1.4 * p["yaw"] + smooth_noise(t, rng, 4.0)  # thorax counter-rotates the pelvis
    p["neck_rot"] = -0.5 * (p["yaw"] + p["trunk_rot"]) + smooth_noise(t, rng, 20.0, f_max=0.3)
    p["neck_flex"] = 5.0 + smooth_noise(t, rng, 8.0)
    p["neck_bend"] = 0.3 * lean_in + smooth_noise(t, rng, 3.0)
    sway = 0.02 * g * np.sin(phase)  # pelvis sways over the stance leg
    lateral = np.stack([np.cos(heading), np.sin(heading)], axis=1)  # body right = facing rotated -90 deg
    support = np.stack([stance_weight(phase), stance_weight(phase + np.pi)], axis=1)
    return p, heading, position + sway[:, None] * lateral, support
