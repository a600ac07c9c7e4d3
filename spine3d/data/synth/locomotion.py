"""Walking along a closed path through the capture area: gait cycle, turning, arm swing, trunk counter-rotation.

The sagittal joint curves start from normative adult gait patterns sampled every 10 % of the cycle
from right heel strike (after Winter, *The Biomechanics and Motor Control of Human Gait*, 1991),
with their excursions scaled by the relative stride length g. For each tabulated g they were then
adjusted by least squares (at most 9 deg from the scaled normative values, and close to the
neighbouring row) so that, with this model's segment proportions and pelvis motion, both feet
touch the floor in double support (within 6 mm) and the swinging foot clears it by about 1 cm
(tests/test_synth.py checks both, between the rows too).
Curves are 3-harmonic Fourier series, so they are smooth and periodic, interpolated linearly in g;
stride length follows speed (Grieve & Gear 1966: stride ~ stature (v / v0)^0.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.data.synth.body import BodyDims
from spine3d.data.synth.motion import periodic_curve, smooth_noise
from spine3d.data.synth.placement import Area
from spine3d.data.synth.posture import Posture, new_posture

# Joint angles (deg) at 0, 10, ..., 90 % of the gait cycle from right heel strike, one row per
# relative stride length in STRIDE_SCALES.
STRIDE_SCALES = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2])
HIP_FLEXION = np.array([
    [13, 11, 8, 5, 5, 4, 4, 11, 20, 18],
    [13, 12, 8, 5, 4, 3, 3, 11, 20, 19],
    [14, 13, 9, 4, 3, 2, 1, 9, 20, 20],
    [15, 14, 10, 4, 2, 0, -1, 8, 21, 21],
    [16, 15, 11, 4, 1, -2, -3, 8, 22, 22],
    [17, 17, 12, 4, -1, -4, -5, 8, 23, 23],
    [18, 19, 14, 4, -2, -5, -6, 8, 24, 24],
    [19, 20, 15, 4, -3, -7, -6, 8, 25, 26],
], dtype=float)
KNEE_FLEXION = np.array([
    [9, 14, 13, 9, 4, 5, 19, 30, 25, 13],
    [9, 15, 13, 9, 4, 5, 21, 34, 28, 14],
    [9, 16, 14, 10, 5, 5, 24, 39, 32, 15],
    [10, 18, 15, 11, 5, 6, 27, 45, 37, 17],
    [10, 19, 16, 11, 6, 7, 30, 51, 42, 19],
    [11, 20, 17, 12, 6, 9, 34, 56, 47, 22],
    [12, 21, 18, 12, 7, 9, 37, 61, 52, 24],
    [12, 22, 18, 13, 7, 10, 39, 66, 57, 26],
], dtype=float)
ANKLE_ANGLE = np.array([
    [-3, -6, -5, 1, 6, 5, -1, 1, 2, -2],
    [-3, -7, -5, 0, 6, 6, -2, 1, 2, -1],
    [-3, -7, -5, 0, 7, 7, -3, 0, 3, -1],
    [-4, -7, -3, 0, 8, 9, -5, -3, 4, 0],
    [-5, -7, -2, 0, 8, 11, -6, -6, 4, 1],
    [-5, -7, 0, 1, 9, 12, -7, -9, 3, 1],
    [-6, -6, 2, 2, 10, 14, -8, -11, 2, 2],
    [-6, -6, 4, 3, 11, 15, -9, -13, 2, 2],
], dtype=float)
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
    return area.to_world(shape * rng.uniform(0.55, 0.85))


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
    reach = max(v0 * (1 + gait.speed_wobble), gait.min_speed) * t[-1] + 1.0  # m, beyond the walk's length
    s = rng.uniform(0.0, perimeter) + np.linspace(0.0, reach, max(4 * len(t), 2000))
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


def gait_curve(tables: np.ndarray, scale: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """(T,) joint angle: the curves of ``tables`` (len(STRIDE_SCALES), 10) interpolated at ``scale`` (T,)."""
    curves = np.stack([periodic_curve(row, phase) for row in tables], axis=1)  # (T, S)
    g = np.clip(scale, STRIDE_SCALES[0], STRIDE_SCALES[-1])
    i = np.clip(np.searchsorted(STRIDE_SCALES, g) - 1, 0, len(STRIDE_SCALES) - 2)
    u = (g - STRIDE_SCALES[i]) / (STRIDE_SCALES[i + 1] - STRIDE_SCALES[i])
    rows = np.arange(len(g))
    return (1 - u) * curves[rows, i] + u * curves[rows, i + 1]


def gait_pattern(phase: np.ndarray, g: np.ndarray) -> Posture:
    """Pelvis and leg channels of the gait cycle: phase (T,) rad from right heel strike, g (T,) relative stride."""
    p = new_posture(len(phase))
    p["tilt"] = -3.0 + 2.0 * g * np.cos(2 * phase)
    p["list"] = -3.0 * g * np.sin(phase)  # the swing side drops (list > 0: right side down)
    p["yaw"] = 5.0 * g * np.cos(phase)  # right hip forward at right heel strike
    for s, shift in (("r", 0.0), ("l", np.pi)):
        ph = phase + shift
        knee = gait_curve(KNEE_FLEXION, g, ph)
        p[f"thigh_{s}"] = p["tilt"] + gait_curve(HIP_FLEXION, g, ph)
        p[f"knee_{s}"] = knee
        p[f"ankle_{s}"] = gait_curve(ANKLE_ANGLE, g, ph) - (knee - p[f"thigh_{s}"])
        p[f"width_{s}"] = 2.0 + 2.0 * np.cos(ph + 0.8)
        p[f"toe_{s}"] = 25.0 * np.exp(3.0 * (np.cos(ph - 2 * np.pi * 0.6) - 1.0))  # push-off
    return p


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
    path = closed_path(rng, area)
    position, heading, speed, kappa = arc_length_motion(path, t, rng, gait)
    stride = NOMINAL_STRIDE * d.height * (speed / NOMINAL_SPEED) ** 0.4
    dt = np.gradient(t)
    phase = 2 * np.pi * np.cumsum(speed / stride * dt) + rng.uniform(0, 2 * np.pi)
    g = np.clip(stride / (NOMINAL_STRIDE * d.height), STRIDE_SCALES[0], STRIDE_SCALES[-1])  # relative stride

    p = gait_pattern(phase, g)
    p["tilt"] = p["tilt"] + smooth_noise(t, rng, 2.0)  # thighs keep their angle: the hips compensate
    for s, shift in (("r", 0.0), ("l", np.pi)):
        other = phase + shift + np.pi  # the arm swings with the opposite leg
        p[f"arm_flex_{s}"] = 0.6 * (gait_curve(HIP_FLEXION, g, other) - 7.0) + 3.0
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
