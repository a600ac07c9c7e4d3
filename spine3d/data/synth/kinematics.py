"""Vectorised forward kinematics over the 62 SIMSPINE coordinates (Rajagopal model + lumbar spine).

Frames: OpenSim ground and body frames, x anterior, y superior, z right (Y-up), metres. A body's
pose is ``R_body = R_parent @ rest @ R(q_1) @ R(q_2) @ ...`` and its origin
``p_body = p_parent + R_parent @ (offset + translation(q))``, every term batched over T frames.

Coordinate conventions (degrees; pelvis_t* and Abs_t* in metres):

- pelvis: R = Rz(tilt) Rx(list) Ry(rotation) (OpenSim's body-fixed Z-X-Y); tilt > 0 posterior,
  list > 0 right side down, rotation > 0 turns left; origin = mid hip joint centres.
- hips Rz(flexion) Rx(adduction) Ry(rotation) (left side: X and Y negated, so + is adduction /
  internal rotation on both sides); knee_angle > 0 flexion; ankle_angle > 0 dorsiflexion;
  subtalar about the gait2392 oblique axis; mtp > 0 toe extension.
- lumbar levels L5_S1 .. L1_T12 and the mid-thoracic "Abs" joint (Abs_r3, Abs_r2, Abs_r1 about
  Z, X, Y; Abs_t1 / Abs_t2 small shear / compression in m): Flex_Ext > 0 extension, Lat_Bending > 0
  to the right, axial_rotation > 0 to the left.
- knee_angle_*_beta turns the patella (a body that carries no marker) with the knee.
- neck_flexion > 0 flexion, neck_bending > 0 right, neck_rotation > 0 left, shared by the
  C7-C5, C5-C2 and C2-head joints (NECK_SHARE).
- shoulders Rz(arm_flex) Rx(arm_add) Ry(arm_rot) (left: X, Y negated); elbow_flex > 0 flexion;
  pro_sup > 0 pronation; wrist_flex > 0 toward the palm; wrist_dev > 0 radial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.formats.simspine_h5 import KINEMATIC_AXES
from spine3d.data.synth.body import SPINE_SEGMENTS, BodyDims, rot_z, shoulder_centre

AXIS = {name: i for i, name in enumerate(KINEMATIC_AXES)}
NECK_SHARE = (0.35, 0.35, 0.30)  # fraction of the neck coordinates at C7-C5, C5-C2, C2-head
_SUBTALAR_R = np.array([0.78717961, 0.60474746, -0.12094949])  # gait2392 subtalar axis, talus frame
_SUBTALAR_L = np.array([-0.78717961, -0.60474746, -0.12094949])
_X, _Y, _Z = np.eye(3)
_LUMBAR = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")


@dataclass(frozen=True)
class Joint:
    """A body and the joint that attaches it to its parent.

    Attributes:
        body: body name.
        parent: index of the parent body in the chain, -1 for the root (pelvis).
        offset: (3,) joint centre in the parent frame, m.
        rest: (3, 3) fixed orientation of the joint frame in the parent frame.
        rotations: ((axis (3,), {coordinate: gain}), ...) applied in order; angle = sum gain * q deg.
        translations: ((axis (3,), coordinate), ...) along parent-frame axes, m.
    """

    body: str
    parent: int
    offset: np.ndarray
    rest: np.ndarray
    rotations: tuple = ()
    translations: tuple = ()


@dataclass(frozen=True)
class Chain:
    """A kinematic tree in topological order with its coordinate maps.

    Attributes:
        joints: (B,) joints, parents before children.
        rot_axes: (NR, 3) unit axes of every coordinate-driven rotation.
        rot_weights: (NR, 62) angle (deg) of each rotation as a linear map of the coordinates.
    """

    joints: tuple[Joint, ...]
    rot_axes: np.ndarray
    rot_weights: np.ndarray

    def index(self, body: str) -> int:
        return [j.body for j in self.joints].index(body)


def zxy_angles(r: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations -> (T, 3) deg body-fixed Z-X-Y angles (OpenSim's pelvis tilt, list, rotation).

    R = Rz(A) Rx(B) Ry(C): R[2,1] = sin B, R[0,1] = -sin A cos B, R[1,1] = cos A cos B,
    R[2,0] = -cos B sin C, R[2,2] = cos B cos C. A and C are unwrapped over time so they stay smooth.
    """
    big_b = np.arcsin(np.clip(r[:, 2, 1], -1.0, 1.0))
    big_a = np.unwrap(np.arctan2(-r[:, 0, 1], r[:, 1, 1]))
    big_c = np.unwrap(np.arctan2(-r[:, 2, 0], r[:, 2, 2]))
    return np.rad2deg(np.stack([big_a, big_b, big_c], axis=1))


def axis_angle_matrices(axes: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rodrigues' formula: axes (N, 3) unit, angles (..., N) rad -> (..., N, 3, 3)."""
    k = np.zeros((len(axes), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axes[:, 2], axes[:, 1], -axes[:, 0]
    k -= np.swapaxes(k, 1, 2)
    s, c = np.sin(angles)[..., None, None], np.cos(angles)[..., None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def _rot(axis: np.ndarray, *coords: tuple[str, float]) -> tuple:
    return (np.asarray(axis, dtype=np.float64), dict(coords))


def _xyz(level: str, gain: float = 1.0) -> tuple:
    """Flexion-extension (Z), lateral bending (X), axial rotation (Y) of one spinal level."""
    names = ("Flex_Ext", "Lat_Bending", "axial_rotation") if level in _LUMBAR else ("r3", "r2", "r1")
    return tuple(_rot(a, (f"{level}_{n}", gain)) for a, n in zip((_Z, _X, _Y), names))


def build_chain(d: BodyDims) -> Chain:
    """The kinematic tree of a subject with dimensions ``d``."""
    joints: list[Joint] = []

    def add(body: str, parent: str | None, offset, rest=np.eye(3), rotations=(), translations=()) -> None:
        pid = -1 if parent is None else [j.body for j in joints].index(parent)
        joints.append(Joint(body, pid, np.asarray(offset, np.float64), rest, tuple(rotations), tuple(translations)))

    add("pelvis", None, np.zeros(3), rotations=(_rot(_Z, ("pelvis_tilt", 1)), _rot(_X, ("pelvis_list", 1)),
                                                 _rot(_Y, ("pelvis_rotation", 1))),
        translations=((_X, "pelvis_tx"), (_Y, "pelvis_ty"), (_Z, "pelvis_tz")))
    for s, sign in (("r", 1.0), ("l", -1.0)):
        add(f"femur_{s}", "pelvis", [0, 0, sign * d.hip_half_width],
            rotations=(_rot(_Z, (f"hip_flexion_{s}", 1)), _rot(sign * _X, (f"hip_adduction_{s}", 1)),
                       _rot(sign * _Y, (f"hip_rotation_{s}", 1))))
        add(f"tibia_{s}", f"femur_{s}", [0, -d.thigh, 0], rotations=(_rot(-_Z, (f"knee_angle_{s}", 1)),))
        add(f"talus_{s}", f"tibia_{s}", [0, -d.shank, 0], rotations=(_rot(_Z, (f"ankle_angle_{s}", 1)),))
        add(f"calcn_{s}", f"talus_{s}", np.zeros(3),
            rotations=(_rot(_SUBTALAR_R if s == "r" else _SUBTALAR_L, (f"subtalar_angle_{s}", 1)),))
        add(f"toes_{s}", f"calcn_{s}", [d.mtp[0], d.mtp[1], 0], rotations=(_rot(_Z, (f"mtp_angle_{s}", 1)),))
        add(f"patella_{s}", f"femur_{s}", [0, -d.thigh, 0], rotations=(_rot(-_Z, (f"knee_angle_{s}_beta", 1)),))

    # Spinal column: each segment along its local y, tilted at rest by its direction angle.
    levels = (*_LUMBAR, "Abs", None, None)
    direction = np.concatenate([[0.0], d.spine_direction])
    offsets = [np.array([d.sacrum[0], d.sacrum[1], 0.0])] + [np.array([0, L, 0]) for L in d.spine_length]
    parents = ("pelvis", *SPINE_SEGMENTS)
    for i, body in enumerate(SPINE_SEGMENTS):
        rest = rot_z(-(direction[i + 1] - direction[i]))
        if levels[i] is None:  # cervical joints share the neck coordinates
            rotations = _neck(NECK_SHARE[i - 7])
        else:
            rotations = _xyz(levels[i])
        trans = ((_X, "Abs_t1"), (_Y, "Abs_t2")) if levels[i] == "Abs" else ()
        add(body, parents[i], offsets[i], rest, rotations, trans)
    add("head", "cerv2", [0, d.spine_length[-1], 0], rot_z(direction[-1]), _neck(NECK_SHARE[2]))

    # Arms hang from the upper thorax; the rest rotation undoes the thorax tilt (arm vertical at 0).
    tilt_upper = d.spine_direction[SPINE_SEGMENTS.index("thorax_upper")]
    for s, sign in (("r", 1.0), ("l", -1.0)):
        add(f"humerus_{s}", "thorax_upper", shoulder_centre(d, sign), rot_z(tilt_upper),
            (_rot(_Z, (f"arm_flex_{s}", 1)), _rot(sign * _X, (f"arm_add_{s}", 1)),
             _rot(sign * _Y, (f"arm_rot_{s}", 1))))
        add(f"ulna_{s}", f"humerus_{s}", [0, -d.upper_arm, 0], rotations=(_rot(_Z, (f"elbow_flex_{s}", 1)),))
        add(f"radius_{s}", f"ulna_{s}", np.zeros(3), rotations=(_rot(sign * _Y, (f"pro_sup_{s}", 1)),))
        add(f"hand_{s}", f"radius_{s}", [0, -d.forearm, 0],
            rotations=(_rot(sign * _X, (f"wrist_flex_{s}", 1)), _rot(_Z, (f"wrist_dev_{s}", 1))))
    return _finish(joints)


def _neck(share: float) -> tuple:
    return (_rot(-_Z, ("neck_flexion", share)), _rot(_X, ("neck_bending", share)), _rot(_Y, ("neck_rotation", share)))


def _finish(joints: list[Joint]) -> Chain:
    """Collect every rotation into (NR, 3) axes and a (NR, 62) coordinate map; joints keep indices."""
    axes, weights, out = [], [], []
    for j in joints:
        ids = []
        for axis, coords in j.rotations:
            row = np.zeros(len(KINEMATIC_AXES))
            for name, gain in coords.items():
                row[AXIS[name]] = gain
            ids.append(len(axes))
            axes.append(axis / np.linalg.norm(axis))
            weights.append(row)
        out.append(Joint(j.body, j.parent, j.offset, j.rest, tuple(ids),
                         tuple((axis, AXIS[c]) for axis, c in j.translations)))
    return Chain(tuple(out), np.array(axes), np.array(weights))


def forward_kinematics(chain: Chain, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Body poses for coordinates ``q`` (T, 62) in KINEMATIC_AXES order (deg; translations m).

    Returns:
        R: (T, B, 3, 3) body -> ground rotations; p: (T, B, 3) m body origins, OpenSim ground frame.
    """
    q = np.asarray(q, dtype=np.float64)
    rq = axis_angle_matrices(chain.rot_axes, np.deg2rad(q @ chain.rot_weights.T))  # (T, NR, 3, 3)
    n, b = q.shape[0], len(chain.joints)
    R, p = np.empty((n, b, 3, 3)), np.empty((n, b, 3))
    for i, j in enumerate(chain.joints):  # loop over the ~30 bodies, each step batched over T
        shift = j.offset + sum((q[:, c, None] * axis for axis, c in j.translations), np.zeros((n, 3)))
        if j.parent < 0:
            rot, pos = np.broadcast_to(j.rest, (n, 3, 3)), shift
        else:
            rot = R[:, j.parent] @ j.rest
            pos = p[:, j.parent] + np.einsum("tij,tj->ti", R[:, j.parent], shift)
        for r in j.rotations:
            rot = rot @ rq[:, r]
        R[:, i], p[:, i] = rot, pos
    return R, p


def site_positions(chain: Chain, R: np.ndarray, p: np.ndarray, sites: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Points fixed to bodies: sites [(body, (3,) local offset m)] -> (T, S, 3) m, OpenSim ground frame."""
    idx = np.array([chain.index(body) for body, _ in sites])
    local = np.stack([offset for _, offset in sites])
    return p[:, idx] + np.einsum("tsij,sj->tsi", R[:, idx], local)
