"""High-level posture channels -> the 62 SIMSPINE coordinates.

Action generators describe a motion with a few intuitive channels (a :data:`Posture`, dict of
(T,) arrays, missing channels = 0) and a facing direction; :func:`to_coordinates` turns them into
joint coordinates:

- ``tilt``, ``list``, ``yaw``: pelvis orientation relative to the facing direction (deg).
- ``trunk_flex`` (+ forward), ``trunk_bend`` (+ right), ``trunk_rot`` (+ left): whole-spine motion
  (deg), shared between the six lumbar levels and the mid-thoracic joint (SPINE_SHARE); the
  thoracic joint's shear and shortening follow its flexion (coordinates.BODY_COUPLINGS).
- ``neck_flex``, ``neck_bend``, ``neck_rot``: the neck coordinates (deg).
- per leg (``_r`` / ``_l``): ``thigh`` thigh angle from vertical in the sagittal plane (+ forward,
  deg, world), ``knee`` flexion, ``width`` thigh abduction from vertical (world), ``hiprot``
  internal rotation relative to the facing direction, ``ankle`` plantar(-)/dorsi(+)flexion added to
  the foot-flat angle, ``subtalar``, ``toe``.
- per arm: the Rajagopal coordinates themselves (``arm_flex_r``, ``elbow_flex_l``, ...).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from spine3d.data.synth.coordinates import apply_couplings, limits_for
from spine3d.data.synth.kinematics import AXIS, zxy_angles
from spine3d.data.synth.motion import smooth_noise, soft_clip

Posture = defaultdict  # channel name -> (T,) array; build with new_posture(T)

_LEVELS = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")
# Share of whole-spine motion taken by the lumbar column (rest: mid-thoracic joint), and how the
# lumbar share spreads over L5-S1 .. T12-L1 (flexion is largest low, lateral bending mid-lumbar).
SPINE_SHARE = {"flex": 0.6, "bend": 0.55, "rot": 0.3}
_LEVEL_WEIGHTS = {
    "flex": np.array([0.20, 0.19, 0.18, 0.16, 0.14, 0.13]),
    "bend": np.array([0.12, 0.16, 0.19, 0.19, 0.17, 0.17]),
    "rot": np.full(6, 1 / 6),
}
# Joint limits (deg; Abs_t* m) are the body's coordinate ranges (coordinates.JOINT_LIMITS), applied
# with a smooth saturation of width LIMIT_SOFTNESS.
LIMIT_SOFTNESS = {"deg": 3.0, "m": 0.001}
_LEG = ("thigh", "knee", "width", "hiprot", "ankle", "subtalar", "toe")
_ARM = ("arm_flex", "arm_add", "arm_rot", "elbow_flex", "pro_sup", "wrist_flex", "wrist_dev")
CHANNELS = frozenset(("tilt", "list", "yaw", "trunk_flex", "trunk_bend", "trunk_rot", "neck_flex", "neck_bend",
                      "neck_rot", *(f"{c}_{s}" for c in _LEG + _ARM for s in "rl")))


def new_posture(n: int) -> Posture:
    """An empty posture of ``n`` frames: every channel reads as zeros until set."""
    return defaultdict(lambda: np.zeros(n))


def pelvis_angles(heading: np.ndarray, tilt: np.ndarray, list_: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """OpenSim pelvis (tilt, list, rotation) (T, 3) deg of Ry(heading) Rz(tilt) Rx(list) Ry(yaw).

    heading (T,) rad about the vertical; tilt, list_, yaw (T,) deg in the heading frame. The product
    is decomposed into OpenSim's body-fixed Z-X-Y angles, unwrapped over time so they stay smooth.
    """
    a, b, c = np.deg2rad(tilt), np.deg2rad(list_), np.deg2rad(yaw)
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    # Rz(a) Rx(b) Ry(c), rows 0..2 (closed form), then pre-multiplied by Ry(heading).
    m = np.stack([np.stack([ca * cc - sa * sb * sc, -sa * cb, ca * sc + sa * sb * cc], -1),
                  np.stack([sa * cc + ca * sb * sc, ca * cb, sa * sc - ca * sb * cc], -1),
                  np.stack([-cb * sc, sb, cb * cc], -1)], -2)
    ch, sh = np.cos(heading), np.sin(heading)
    ry = np.zeros_like(m)
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 1, 1], ry[:, 2, 0], ry[:, 2, 2] = ch, sh, 1.0, -sh, ch
    return zxy_angles(ry @ m)


def to_coordinates(p: Posture, t: np.ndarray, heading: np.ndarray, rng: np.random.Generator,
                   level_noise: float = 0.6) -> np.ndarray:
    """Posture channels, times (T,) s and facing direction (T,) rad -> (T, 62) coordinates.

    pelvis_t* are left at 0 (placement sets them).

    ``level_noise`` (deg) adds independent smooth motion per spinal level, so levels are not in
    lock-step; joint limits are applied last (smoothly).
    """
    unknown = sorted(set(p) - CHANNELS)
    if unknown:
        raise ValueError(f"unknown posture channels {unknown}")
    n = len(heading)
    q = np.zeros((n, len(AXIS)))

    def put(name: str, value: np.ndarray) -> None:
        q[:, AXIS[name]] += value

    tilt, list_, yaw = p["tilt"], p["list"], p["yaw"]
    q[:, [AXIS["pelvis_tilt"], AXIS["pelvis_list"], AXIS["pelvis_rotation"]]] = pelvis_angles(heading, tilt, list_, yaw)
    for s, sign in (("r", 1.0), ("l", -1.0)):
        put(f"hip_flexion_{s}", p[f"thigh_{s}"] - tilt)
        put(f"hip_adduction_{s}", -sign * list_ - p[f"width_{s}"])
        put(f"hip_rotation_{s}", -sign * yaw + p[f"hiprot_{s}"])
        put(f"knee_angle_{s}", p[f"knee_{s}"])
        put(f"knee_angle_{s}_beta", p[f"knee_{s}"])
        put(f"ankle_angle_{s}", p[f"knee_{s}"] - p[f"thigh_{s}"] + p[f"ankle_{s}"])
        put(f"subtalar_angle_{s}", p[f"subtalar_{s}"])
        put(f"mtp_angle_{s}", p[f"toe_{s}"])
        for dof in _ARM:
            put(f"{dof}_{s}", p[f"{dof}_{s}"])
    noise = smooth_noise(t, rng, level_noise, f_max=0.4, channels=18)
    for k, (kind, sign, names) in enumerate((("flex", -1.0, "Flex_Ext"), ("bend", 1.0, "Lat_Bending"),
                                             ("rot", 1.0, "axial_rotation"))):
        total = p[f"trunk_{kind}"]
        share = SPINE_SHARE[kind]
        for i, level in enumerate(_LEVELS):
            put(f"{level}_{names}", sign * share * _LEVEL_WEIGHTS[kind][i] * total + noise[:, 6 * k + i])
        put(("Abs_r3", "Abs_r2", "Abs_r1")[k], sign * (1 - share) * total)
    put("neck_flexion", p["neck_flex"])
    put("neck_bending", p["neck_bend"])
    put("neck_rotation", p["neck_rot"])
    return apply_couplings(apply_limits(q))  # Abs_t* and the patellae follow the limited coordinates


def apply_limits(q: np.ndarray) -> np.ndarray:
    """Smoothly saturate every joint coordinate of (T, 62) ``q`` into JOINT_LIMITS (pelvis untouched)."""
    out = q.copy()
    for name, i in AXIS.items():
        lim = limits_for(name)
        if lim is not None:
            width = LIMIT_SOFTNESS["m" if name.startswith("Abs_t") else "deg"]
            out[:, i] = soft_clip(q[:, i], lim[0], lim[1], width)
    return out
