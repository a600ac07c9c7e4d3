"""A subject's body for inverse kinematics: the synthetic body's chain and M markers, with the Jacobian.

The chain and marker sites come from :mod:`spine3d.data.synth` (the one body definition) and the
poses from its vectorised forward kinematics; this class adds what inverse kinematics needs: the
world axis of every rotation and translation, and the analytic Jacobian of the markers. A rotation
of world axis a about pivot o moves a marker x downstream of it by ``a x (x - o)`` per radian; a
translation along world axis u moves it by u per metre.

Frames: the model works in OpenSim's frame (Y-up, metres), as the body does;
:meth:`BodyModel.world_markers` converts to the toolkit's world frame (Z-up) at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from spine3d.data.synth.body import BodyDims, marker_sites
from spine3d.data.synth.kinematics import axis_angle_matrices, build_chain
from spine3d.errors import InputError
from spine3d.formats.simspine_schema import file_to_world

DEG = np.pi / 180.0


class BodyModel:
    """The body of dimensions ``dims`` with markers ``marker_names`` (SIMSPINE-37 names).

    Attributes:
        dims: the body dimensions. chain: the kinematic tree (:class:`spine3d.data.synth.kinematics.Chain`).
        marker_names: (M,) markers. sites: (M,) (body, (3,) local offset m) of each marker.
    """

    def __init__(self, dims: BodyDims, marker_names: Sequence[str]) -> None:
        self.dims = dims
        self.chain = build_chain(dims)
        all_sites = marker_sites(dims)
        unknown = [n for n in marker_names if n not in all_sites]
        if unknown:
            raise InputError(f"the body has no marker site for {unknown}; known: {', '.join(all_sites)}")
        self.marker_names = tuple(marker_names)
        self.sites = [all_sites[n] for n in self.marker_names]
        weights = self.chain.rot_weights  # (NR, 62)
        if ((weights != 0).sum(axis=1) != 1).any():
            raise ValueError("every rotation of the chain must be driven by exactly one coordinate")
        self.rot_coord = np.argmax(weights != 0, axis=1)  # (NR,) coordinate driving each rotation
        self.rot_gain = weights[np.arange(len(weights)), self.rot_coord]  # deg of rotation per deg
        self.rot_joint = np.array([i for i, j in enumerate(self.chain.joints) for _ in j.rotations])
        self.trans_joint = np.array([i for i, j in enumerate(self.chain.joints) for _ in j.translations], int)
        self.trans_coord = np.array([c for j in self.chain.joints for _, c in j.translations], int)
        self.site_body = np.array([self.chain.index(body) for body, _ in self.sites])
        self.local = np.stack([offset for _, offset in self.sites])  # (M, 3)
        above = _ancestors(self.chain)[self.site_body]  # (M, B): body is the marker's or an ancestor
        self.rot_pairs = np.nonzero(above[:, self.rot_joint].T)  # (rotation, marker) index pairs
        self.trans_pairs = np.nonzero(above[:, self.trans_joint].T)

    @property
    def num_markers(self) -> int:
        return len(self.marker_names)

    # ---- forward kinematics ----------------------------------------------------------------------
    def forward(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """Body poses and the world axes of every rotation and translation.

        Args:
            q: (T, 62) coordinates in KINEMATIC_AXES order, deg (translations m).

        Returns:
            "R" (T, B, 3, 3) body -> ground, "p" (T, B, 3) m origins, "rot_axis" (T, NR, 3),
            "trans_axis" (T, NTr, 3) unit world axes; a rotation pivots about its body's origin.
        """
        chain, q = self.chain, np.asarray(q, np.float64)
        rq = axis_angle_matrices(chain.rot_axes, np.deg2rad(q @ chain.rot_weights.T))  # (T, NR, 3, 3)
        n, b = len(q), len(chain.joints)
        R, p = np.empty((n, b, 3, 3)), np.empty((n, b, 3))
        rot_axis, trans_axis = np.empty((n, len(rq[0]), 3)), np.empty((n, len(self.trans_coord), 3))
        r = k = 0
        for i, joint in enumerate(chain.joints):  # ~30 bodies, each step batched over T frames
            parent_R = np.broadcast_to(np.eye(3), (n, 3, 3)) if joint.parent < 0 else R[:, joint.parent]
            shift = np.broadcast_to(joint.offset, (n, 3)).copy()
            for axis, c in joint.translations:
                shift += q[:, c, None] * axis
                trans_axis[:, k] = parent_R @ axis
                k += 1
            frame = parent_R @ joint.rest
            for _ in joint.rotations:
                rot_axis[:, r] = frame @ chain.rot_axes[r]
                frame = frame @ rq[:, r]
                r += 1
            R[:, i] = frame
            p[:, i] = shift if joint.parent < 0 else p[:, joint.parent] + np.einsum("tij,tj->ti", parent_R, shift)
        return {"R": R, "p": p, "rot_axis": rot_axis, "trans_axis": trans_axis}

    def markers(self, pose: dict[str, np.ndarray]) -> np.ndarray:
        """(T, M, 3) m marker positions, OpenSim frame, from :meth:`forward`'s poses."""
        R = pose["R"][:, self.site_body]
        return pose["p"][:, self.site_body] + np.einsum("tmij,mj->tmi", R, self.local)

    def plan(self, owner: np.ndarray, size: int) -> "JacobianPlan":
        """What :meth:`jacobian` needs for a parametrisation: owner (62,) int (-1: held), size n."""
        return JacobianPlan.build(self, np.asarray(owner), size)

    def jacobian(self, pose: dict[str, np.ndarray], x: np.ndarray, gain: np.ndarray, plan: "JacobianPlan"
                 ) -> np.ndarray:
        """d markers / d solved coordinates.

        Args:
            pose: :meth:`forward` output; x: (T, M, 3) its markers.
            gain: (T, 62) d q_c / d p_owner(c) (deg/deg, m/deg, ...; 0 for held axes).
            plan: :meth:`plan` of the parametrisation.

        Returns:
            (T, n, M, 3) m per degree (per metre for translated coordinates).
        """
        n, m = x.shape[:2]
        out = np.zeros((n, plan.size * m, 3))
        r = plan.rot
        axis = pose["rot_axis"][:, r.index]
        arm = x[:, r.marker] - pose["p"][:, self.rot_joint[r.index]]
        moves = _cross(axis, arm) * (gain[:, r.coord] * r.factor)[..., None]
        out[:, r.targets] = np.add.reduceat(moves, r.starts, axis=1)
        if len(plan.trans.index):
            t = plan.trans
            moves = pose["trans_axis"][:, t.index] * (gain[:, t.coord] * t.factor)[..., None]
            out[:, t.targets] += np.add.reduceat(moves, t.starts, axis=1)
        return out.reshape(n, plan.size, m, 3)

    # ---- conveniences ----------------------------------------------------------------------------
    def world_markers(self, q: np.ndarray) -> np.ndarray:
        """(T, 62) coordinates (deg; m) -> (T, M, 3) m markers in the world frame (Z-up)."""
        return file_to_world(self.markers(self.forward(q)))


@dataclass(frozen=True)
class PairPlan:
    """(axis, marker) pairs of one kind (rotations or translations), sorted by Jacobian entry.

    Attributes:
        index: (P,) rotation (translation) of each pair. marker: (P,) marker. coord: (P,) driving axis.
        factor: (P,) rotation radians (translation metres) per unit of the axis.
        starts: (U,) first pair of each run with the same entry; targets: (U,) entry, owner * M + marker.
    """

    index: np.ndarray
    marker: np.ndarray
    coord: np.ndarray
    factor: np.ndarray
    starts: np.ndarray
    targets: np.ndarray

    @classmethod
    def build(cls, index: np.ndarray, marker: np.ndarray, coord: np.ndarray, factor: np.ndarray,
              owner: np.ndarray, m: int) -> "PairPlan":
        keep = owner[coord] >= 0
        index, marker, coord, factor = index[keep], marker[keep], coord[keep], factor[keep]
        target = owner[coord] * m + marker
        order = np.argsort(target, kind="stable")
        target = target[order]
        starts = np.flatnonzero(np.r_[True, target[1:] != target[:-1]])
        return cls(index[order], marker[order], coord[order], factor[order], starts, target[starts])


@dataclass(frozen=True)
class JacobianPlan:
    """The Jacobian's sparsity for one parametrisation (see :meth:`BodyModel.plan`)."""

    size: int
    rot: PairPlan
    trans: PairPlan

    @classmethod
    def build(cls, model: BodyModel, owner: np.ndarray, size: int) -> "JacobianPlan":
        m = model.num_markers
        pr, pm = model.rot_pairs
        rot = PairPlan.build(pr, pm, model.rot_coord[pr], model.rot_gain[pr] * DEG, owner, m)
        tr, tm = model.trans_pairs
        trans = PairPlan.build(tr, tm, model.trans_coord[tr], np.ones(len(tr)), owner, m)
        return cls(size, rot, trans)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of (..., 3) arrays (np.cross without its generality overhead)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def _ancestors(chain) -> np.ndarray:
    """(B, B) bool: [b, a] is True when body a is b or one of its ancestors."""
    b = len(chain.joints)
    out = np.eye(b, dtype=bool)
    for i, joint in enumerate(chain.joints):  # parents come first
        if joint.parent >= 0:
            out[i] |= out[joint.parent]
    return out
