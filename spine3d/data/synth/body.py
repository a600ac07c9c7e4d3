"""Body dimensions of a synthetic subject: segment lengths, rest spinal curvature, marker sites.

Everything is in the OpenSim frame of the Rajagopal model (x anterior, y superior, z right), in
metres. Segment lengths start from anthropometric fractions of stature (Winter, *Biomechanics and
Motor Control of Human Movement*, 4th ed., table 4.1; Drillis & Contini 1966), get per-subject
factors (leg / trunk / arm length, widths, curvature) and are then rescaled so that the standing
rest pose (every coordinate 0) is exactly ``height`` tall, sole to vertex.

The spinal column is a chain of segments, each along its own local y axis and tilted at rest by a
*direction* angle (degrees, positive = top of the segment anterior). Directions that decrease going
up make a curve convex anteriorly (lumbar and cervical lordosis); increasing ones a curve convex
posteriorly (thoracic kyphosis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.data.synth.motion import stable_rng

HEIGHT_RANGE = (1.50, 1.95)  # m, stature of the synthetic subjects

# Spinal segments bottom to top: L5..L1, lower thorax (T12-T7), upper thorax (T6-C7), C7-C5, C5-C2.
SPINE_SEGMENTS = ("L5", "L4", "L3", "L2", "L1", "thorax_lower", "thorax_upper", "cerv1", "cerv2")
# Rest direction of each spinal segment (deg, + = top anterior); lordosis / kyphosis / lordosis.
_REST_DIRECTION = np.array([24.0, 14.0, 4.0, -5.0, -12.0, -16.0, 16.0, 20.0, 3.0])
# Segment lengths as fractions of stature (vertebra + disc), same order as SPINE_SEGMENTS.
_SPINE_LENGTH = np.array([0.0195, 0.0195, 0.0195, 0.0195, 0.0195, 0.082, 0.080, 0.024, 0.032])


@dataclass(frozen=True)
class BodyDims:
    """Segment geometry of one subject (metres; angles in degrees).

    Attributes:
        height: stature, sole to vertex in the rest pose.
        hip_half_width: lateral offset of each hip joint centre from the pelvis origin.
        sacrum: (2,) [x, y] of the L5-S1 joint in the pelvis frame.
        spine_length: (9,) lengths of SPINE_SEGMENTS.
        spine_direction: (9,) rest directions of SPINE_SEGMENTS, deg.
        head_top: C2 -> vertex height; nose: (2,) [x, y] of the nose tip from C2 (head frame).
        shoulder: (3,) glenohumeral centre from C7, upright frame [anterior, superior, lateral].
        upper_arm, forearm, hand: shoulder->elbow, elbow->wrist, wrist->fingertip.
        thigh, shank, ankle_height: hip->knee, knee->ankle, ankle centre above the sole.
        heel, mtp: heel back from the ankle; (2,) [x, y] of the MTP joint from the ankle.
        toe: MTP -> toe tip (forward).
        width: scale on the trunk's lateral offsets (clavicles, latissimi).
    """

    height: float
    hip_half_width: float
    sacrum: np.ndarray
    spine_length: np.ndarray
    spine_direction: np.ndarray
    head_top: float
    nose: np.ndarray
    shoulder: np.ndarray
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shank: float
    ankle_height: float
    heel: float
    mtp: np.ndarray
    toe: float
    width: float


def subject_height(subject: str, seed: int) -> float:
    """Stature (m) of a synthetic subject, uniform in HEIGHT_RANGE, fixed by (seed, subject)."""
    return float(stable_rng(seed, "height", subject).uniform(*HEIGHT_RANGE))


def subject_dims(subject: str, seed: int) -> BodyDims:
    """The body of ``subject`` for a dataset ``seed`` (deterministic)."""
    rng = stable_rng(seed, "body", subject)
    legs, trunk, arms, width, curve = rng.uniform([0.96, 0.95, 0.95, 0.92, 0.7], [1.04, 1.05, 1.05, 1.08, 1.3])
    return body_dims(subject_height(subject, seed), legs=legs, trunk=trunk, arms=arms, width=width, curvature=curve)


def body_dims(height: float, legs: float = 1.0, trunk: float = 1.0, arms: float = 1.0, width: float = 1.0,
              curvature: float = 1.0) -> BodyDims:
    """Body of stature ``height`` (m) with relative proportion factors (1 = average adult)."""
    lengths = {  # fractions of stature
        "thigh": 0.245 * legs, "shank": 0.246 * legs, "ankle_height": 0.039, "sacrum_y": 0.058 * trunk,
        "head_top": 0.105, "upper_arm": 0.186 * arms, "forearm": 0.146 * arms, "hand": 0.108 * arms,
    }
    direction = _REST_DIRECTION * curvature
    spine = _SPINE_LENGTH * trunk
    rest_height = (lengths["ankle_height"] + lengths["shank"] + lengths["thigh"] + lengths["sacrum_y"]
                   + float(spine @ np.cos(np.deg2rad(direction))) + lengths["head_top"])
    s = height / rest_height  # every length scales so that the rest pose is exactly ``height`` tall
    return BodyDims(
        height=float(height),
        hip_half_width=0.058 * width * s,
        sacrum=np.array([-0.012, lengths["sacrum_y"]]) * s,
        spine_length=spine * s,
        spine_direction=direction,
        head_top=lengths["head_top"] * s,
        nose=np.array([0.055, 0.010]) * s,
        shoulder=np.array([0.020, -0.028, 0.103 * width]) * s,
        upper_arm=lengths["upper_arm"] * s,
        forearm=lengths["forearm"] * s,
        hand=lengths["hand"] * s,
        thigh=lengths["thigh"] * s,
        shank=lengths["shank"] * s,
        ankle_height=lengths["ankle_height"] * s,
        heel=0.030 * s,
        mtp=np.array([0.085, -0.027]) * s,
        toe=0.037 * s,
        width=float(width),
    )


def marker_sites(d: BodyDims) -> dict[str, tuple[str, np.ndarray]]:
    """The SIMSPINE-37 markers as (body, (3,) offset in the body frame, m), placed as in SIMSPINE's model.

    SIMSPINE's OpenSim model puts Spine_01 on L5, Spine_02 on L3, Spine_03 on L1; Spine_04, Spine_05,
    Neck, Neck_02, Neck_03, the clavicles, latissimi and shoulders on the torso (one rigid body for
    the markers: here the upper thorax, which carries the arms and the neck); Head, Nose, eyes and
    ears on the head; Hip and the hip joint centres on the pelvis; limb markers on their segments.
    Points below the upper thorax (T8, the latissimi) and the cervical points (C7, C5, C2) are where
    the rest pose puts them, expressed in the upper-thorax frame.
    """
    h, seg = d.height, d.spine_length
    lt, lu = seg[5], seg[6]
    side = 0.075 * h * d.width
    torso = "thorax_upper"
    sites = {
        "Hip": ("pelvis", _v(0, 0)),
        "Spine_01": ("L5", _v(0, 0.5 * seg[0])),                                  # L5 body
        "Spine_02": ("L3", _v(0, 0.5 * seg[2])),                                  # L3 body
        "Spine_03": ("L1", _v(0, 0.5 * seg[4])),                                  # L1 body
        "Spine_04": (torso, _moved(d, "thorax_lower", torso, _v(0, 0.75 * lt))),    # ~T8
        "Spine_05": (torso, _v(0, 0.55 * lu)),                                     # ~T3
        "Neck": (torso, _moved(d, "cerv1", torso, _v(0, 0))),                      # C7
        "Neck_02": (torso, _moved(d, "cerv2", torso, _v(0, 0))),                   # C5
        "Neck_03": (torso, _moved(d, "head", torso, _v(0, 0))),                    # C2
        "Head": ("head", _v(0.008 * h, d.head_top)),                               # vertex
        "Nose": ("head", _v(d.nose[0], d.nose[1])),
        "LClavicle": (torso, _v(0.055 * h, 0.85 * lu, -0.055 * h * d.width)),
        "RClavicle": (torso, _v(0.055 * h, 0.85 * lu, 0.055 * h * d.width)),
        "LLatissimus": (torso, _moved(d, "thorax_lower", torso, _v(-0.02 * h, 0.6 * lt, -side))),
        "RLatissimus": (torso, _moved(d, "thorax_lower", torso, _v(-0.02 * h, 0.6 * lt, side))),
    }
    for s, sign in (("R", 1.0), ("L", -1.0)):
        sites |= _limb_sites(d, s, sign)
    return sites


def _limb_sites(d: BodyDims, s: str, sign: float) -> dict[str, tuple[str, np.ndarray]]:
    """Markers of one side (``s`` "R" / "L"; ``sign`` +1 / -1: the side of the body's z axis)."""
    h, low = d.height, s.lower()
    sole = -d.ankle_height - d.mtp[1]  # sole height in the toes frame
    return {
        f"{s}Eye": ("head", _v(0.048 * h, 0.038 * h, sign * 0.018 * h)),
        f"{s}Ear": ("head", _v(-0.002 * h, 0.030 * h, sign * 0.044 * h)),
        f"{s}Shoulder": ("thorax_upper", shoulder_centre(d, sign)),
        f"{s}Elbow": (f"humerus_{low}", _v(0, -d.upper_arm)),
        f"{s}Wrist": (f"radius_{low}", _v(0, -d.forearm)),
        f"{s}Hip": ("pelvis", _v(0, 0, sign * d.hip_half_width)),
        f"{s}Knee": (f"femur_{low}", _v(0, -d.thigh)),
        f"{s}Ankle": (f"tibia_{low}", _v(0, -d.shank)),
        f"{s}BigToe": (f"toes_{low}", _v(d.toe, 0.5 * sole, -sign * 0.010 * h)),
        f"{s}SmallToe": (f"toes_{low}", _v(0.55 * d.toe, 0.5 * sole, sign * 0.022 * h)),
        f"{s}Heel": (f"calcn_{low}", _v(-d.heel, -0.75 * d.ankle_height)),
    }


def shoulder_centre(d: BodyDims, sign: float) -> np.ndarray:
    """(3,) glenohumeral centre in the upper-thorax frame, m (``sign`` +1 right, -1 left)."""
    tilt = d.spine_direction[SPINE_SEGMENTS.index("thorax_upper")]
    return rot_z(tilt) @ (d.shoulder * [1.0, 1.0, sign]) + [0.0, d.spine_length[6], 0.0]


def rest_frames(d: BodyDims) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rest pose (every coordinate 0) of the spinal segments and the head in the pelvis frame.

    Returns:
        body -> ((3, 3) orientation, (3,) origin m). Segment i is tilted by ``rot_z(-direction_i)``;
        the head is upright.
    """
    out, origin = {}, np.array([d.sacrum[0], d.sacrum[1], 0.0])
    for body, length, direction in zip(SPINE_SEGMENTS, d.spine_length, d.spine_direction):
        out[body] = (rot_z(-direction), origin)
        origin = origin + out[body][0] @ _v(0, length)
    out["head"] = (np.eye(3), origin)
    return out


def _moved(d: BodyDims, src: str, dst: str, x: np.ndarray) -> np.ndarray:
    """(3,) point given in body ``src``'s frame -> the same rest-pose point in body ``dst``'s frame."""
    frames = rest_frames(d)
    (r_src, p_src), (r_dst, p_dst) = frames[src], frames[dst]
    return r_dst.T @ (p_src + r_src @ x - p_dst)


def rot_z(deg: float) -> np.ndarray:
    """(3, 3) rotation about z by ``deg`` degrees."""
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def h36m_sites(d: BodyDims) -> list[tuple[str, np.ndarray]]:
    """The 32 Human3.6M joints (H36M_32 order) as (body, (3,) offset in the body frame, m).

    As in the motion capture, Spine (11) coincides with Hips (0) and the shoulder roots (16, 24)
    with Neck (13).
    """
    h = d.height
    neck = ("thorax_upper", _v(0.035 * h, d.spine_length[6] - 0.015 * h))  # between the shoulders

    def leg(s: str) -> list[tuple[str, np.ndarray]]:
        return [(f"femur_{s}", _v(0, 0)), (f"tibia_{s}", _v(0, 0)), (f"talus_{s}", _v(0, 0)),
                (f"toes_{s}", _v(0, 0)), (f"toes_{s}", _v(d.toe, -0.25 * d.toe))]

    def arm(s: str) -> list[tuple[str, np.ndarray]]:
        return [neck, (f"humerus_{s}", _v(0, 0)), (f"ulna_{s}", _v(0, 0)), (f"hand_{s}", _v(0, 0)),
                (f"hand_{s}", _v(0.15 * d.hand, -0.25 * d.hand)), (f"hand_{s}", _v(0.3 * d.hand, -0.55 * d.hand)),
                (f"hand_{s}", _v(0, -0.55 * d.hand)), (f"hand_{s}", _v(0, -0.75 * d.hand))]

    return [("pelvis", _v(0, 0)), *leg("r"), *leg("l"), ("pelvis", _v(0, 0)),
            ("L1", _v(0.025 * h, 0)), neck, ("head", _v(0.035 * h, 0.03 * h)), ("head", _v(0.005 * h, 0.1 * h)),
            *arm("l"), *arm("r")]


def foot_contacts(d: BodyDims) -> list[tuple[str, np.ndarray]]:
    """Sole points (heel, under the MTP, toe tip) of both feet as (body, (3,) offset, m)."""
    out = []
    for s in ("r", "l"):
        out += [(f"calcn_{s}", _v(-d.heel, -d.ankle_height)), (f"calcn_{s}", _v(d.mtp[0], -d.ankle_height)),
                (f"toes_{s}", _v(d.toe, -d.ankle_height - d.mtp[1]))]
    return out


def _v(x: float, y: float, z: float = 0.0) -> np.ndarray:
    return np.array([x, y, z], dtype=np.float64)
