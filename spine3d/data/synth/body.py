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
    """SIMSPINE_15 markers as (body, (3,) offset in the body frame, m)."""
    h, lt, lu = d.height, d.spine_length[5], d.spine_length[6]
    side = 0.075 * h * d.width
    return {
        "Hip": ("pelvis", _v(0, 0)),
        "Spine_01": ("L4", _v(0, 0.5 * d.spine_length[1])),   # L4 body, low lumbar
        "Spine_02": ("L2", _v(0, 0.5 * d.spine_length[3])),   # L2 body
        "Spine_03": ("thorax_lower", _v(0, 0.1 * lt)),         # T12
        "Spine_04": ("thorax_lower", _v(0, 0.75 * lt)),        # ~T8
        "Spine_05": ("thorax_upper", _v(0, 0.55 * lu)),        # ~T3
        "Neck": ("cerv1", _v(0, 0)),                           # C7
        "Neck_02": ("cerv2", _v(0, 0)),                        # C5
        "Neck_03": ("head", _v(0, 0)),                         # C2
        "Head": ("head", _v(0.008 * h, d.head_top)),           # vertex
        "Nose": ("head", _v(d.nose[0], d.nose[1])),
        "LClavicle": ("thorax_upper", _v(0.055 * h, 0.85 * lu, -0.055 * h * d.width)),
        "RClavicle": ("thorax_upper", _v(0.055 * h, 0.85 * lu, 0.055 * h * d.width)),
        "LLatissimus": ("thorax_lower", _v(-0.02 * h, 0.6 * lt, -side)),
        "RLatissimus": ("thorax_lower", _v(-0.02 * h, 0.6 * lt, side)),
    }


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
