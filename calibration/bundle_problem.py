"""The least-squares problem behind :mod:`spine3d.calibration.bundle`: parameter layout, residuals, Jacobian pattern.

Parameter vector x = [camera blocks..., points (M, 3) m]. Camera c's block holds, in order:

- a rotation update (3,) rad, R = exp([d]x) R0 (absent for the reference camera);
- its position: t (3,) m for a free camera; nothing for the reference camera or a fixed-centre
  camera; (a, b) for the "sphere" scale camera, whose centre is
  ``c_ref + r0 * normalize(u0 + a e1 + b e2)`` (r0, u0: initial distance and direction from the
  reference centre; e1, e2: a basis orthogonal to u0);
- a focal scale (1,), multiplying fx and fy, when focal lengths are refined.

Residuals are ``sqrt(w) * (project(X) - uv)`` px for each observation, (2 O,) flattened; they are
computed per camera (C is small) and vectorised over that camera's observations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp

from spine3d.calibration.projection import project_points
from spine3d.calibration.rig import CameraRig
from spine3d.calibration.rotations import rotvec_to_rotmat


@dataclass(frozen=True)
class Observations:
    """O observations sorted by camera; points re-indexed to the M points that take part."""

    cam: np.ndarray          # (O,) camera index
    point: np.ndarray        # (O,) index into the M problem points
    uv: np.ndarray           # (O, 2) px
    sqrt_w: np.ndarray       # (O,) sqrt of the confidence weights
    starts: np.ndarray       # (C + 1,) observation slice of each camera
    point_index: np.ndarray  # (M,) index of each problem point in the caller's N points
    n_points: int            # N

    @property
    def count(self) -> int:
        return len(self.cam)


def observations(uv: np.ndarray, w: np.ndarray, valid_points: np.ndarray) -> Observations:
    """Observations of the points seen (w > 0) by >= 2 cameras with a valid initial position.

    Args:
        uv: (C, N, 2) px. w: (C, N) weights, 0 = not seen. valid_points: (N,) bool.
    """
    seen = (w > 0) & valid_points[None, :]
    keep = seen.sum(axis=0) >= 2
    seen &= keep[None, :]
    cam, pt = np.nonzero(seen)  # row-major order: sorted by camera
    compact = np.cumsum(keep) - 1
    starts = np.searchsorted(cam, np.arange(uv.shape[0] + 1))
    return Observations(cam, compact[pt], uv[cam, pt], np.sqrt(w[cam, pt]), starts, np.flatnonzero(keep),
                        uv.shape[1])


class BundleProblem:
    """Residuals and Jacobian sparsity of a bundle adjustment (see module docstring for the layout)."""

    def __init__(self, rig: CameraRig, obs: Observations, points3d: np.ndarray, reference: int, scale_camera: int,
                 scale_mode: Literal["fixed", "sphere"], refine_focal: bool) -> None:
        self.rig, self.obs, self.ref, self.scale_cam = rig, obs, reference, scale_camera
        self.scale_mode, self.refine_focal = scale_mode, refine_focal
        self.points0 = points3d[obs.point_index]
        self.c_ref = rig[reference].center
        offset = rig[scale_camera].center - self.c_ref
        self.r0 = float(np.linalg.norm(offset))
        self.u0 = offset / self.r0
        e1 = np.cross(self.u0, np.eye(3)[np.argmin(np.abs(self.u0))])  # any axis not parallel to u0
        self.e1 = e1 / np.linalg.norm(e1)
        self.e2 = np.cross(self.u0, self.e1)
        sizes = [self._block_sizes(c) for c in range(len(rig))]
        self.sizes = [sum(s) for s in sizes]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n_camera_params = int(self.offsets[-1])

    def _block_sizes(self, c: int) -> tuple[int, int, int]:
        """(rotation, position, focal) parameter counts of camera c."""
        rot = 0 if c == self.ref else 3
        if c == self.ref or (c == self.scale_cam and self.scale_mode == "fixed"):
            pos = 0
        else:
            pos = 2 if c == self.scale_cam else 3
        return rot, pos, int(self.refine_focal)

    def x0(self) -> np.ndarray:
        """Initial parameters: zero rotation updates, initial t, (a, b) = 0, focal scale 1, initial points."""
        blocks = []
        for c, cam in enumerate(self.rig):
            rot, pos, foc = self._block_sizes(c)
            blocks += [np.zeros(rot), cam.t if pos == 3 else np.zeros(pos), np.ones(foc)]
        return np.concatenate(blocks + [self.points0.reshape(-1)])

    def camera(self, x: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Camera c's (R (3, 3), t (3,) m, K (3, 3) px) at parameters x."""
        cam = self.rig[c]
        rot, pos, foc = self._block_sizes(c)
        block = x[self.offsets[c]: self.offsets[c + 1]]
        R = cam.R if rot == 0 else rotvec_to_rotmat(block[:3]) @ cam.R
        p = block[rot: rot + pos]
        if c == self.ref:
            t = cam.t
        elif c == self.scale_cam:
            u = self.u0 + (p[0] * self.e1 + p[1] * self.e2 if pos == 2 else 0.0)
            t = -R @ (self.c_ref + self.r0 * u / np.linalg.norm(u))
        else:
            t = p
        K = cam.K.copy()
        if foc:
            K[:2, :2] *= block[-1]  # fx, skew, fy scale together
        return R, t, K

    def points(self, x: np.ndarray) -> np.ndarray:
        """(M, 3) m problem points at parameters x."""
        return x[self.n_camera_params:].reshape(-1, 3)

    def reprojection(self, x: np.ndarray) -> np.ndarray:
        """(O, 2) px unweighted reprojection errors project(X) - uv."""
        X, obs = self.points(x), self.obs
        err = np.empty_like(obs.uv)
        for c, cam in enumerate(self.rig):  # loop over cameras; vectorised over their observations
            sl = slice(obs.starts[c], obs.starts[c + 1])
            R, t, K = self.camera(x, c)
            err[sl] = project_points(X[obs.point[sl]], K, cam.dist, R, t, cam.model) - obs.uv[sl]
        return err

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """(2 O,) weighted residuals, px."""
        return (self.reprojection(x) * self.obs.sqrt_w[:, None]).reshape(-1)

    def rms(self, x: np.ndarray) -> float:
        """Unweighted RMS reprojection error over the observations, px."""
        return float(np.sqrt(np.mean(np.sum(self.reprojection(x) ** 2, axis=-1))))

    def jac_sparsity(self) -> sp.csr_matrix:
        """(2 O, P) 0/1 pattern: each residual pair depends on its camera block and its point's 3 coordinates."""
        obs = self.obs
        rows2 = 2 * np.arange(obs.count)[:, None] + np.arange(2)  # (O, 2) residual rows of each observation
        # camera part: each residual row x every column of its camera's block (blocks differ in size)
        size = np.repeat(np.asarray(self.sizes)[obs.cam], 2)  # (2 O,) block size per row
        within = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)  # 0..size-1 per row
        cam_rows = np.repeat(rows2.reshape(-1), size)
        cam_cols = np.repeat(np.repeat(self.offsets[obs.cam], 2), size) + within
        pt_cols = self.n_camera_params + 3 * obs.point[:, None, None] + np.arange(3)  # (O, 1, 3)
        pt_rows = np.broadcast_to(rows2[:, :, None], (obs.count, 2, 3))
        pt_cols = np.broadcast_to(pt_cols, (obs.count, 2, 3))
        rows = np.concatenate([cam_rows, pt_rows.reshape(-1)])
        cols = np.concatenate([cam_cols, pt_cols.reshape(-1)])
        shape = (2 * obs.count, self.n_camera_params + 3 * len(self.points0))
        return sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=shape)

    def unpack(self, x: np.ndarray) -> tuple[CameraRig, np.ndarray]:
        """-> (refined rig, (N, 3) m points with NaN for points not in the problem)."""
        cams = []
        for c, cam in enumerate(self.rig):
            R, t, K = self.camera(x, c)
            cams.append(replace(cam, K=K, R=R, t=t, rotation_vector=None))
        points = np.full((self.obs.n_points, 3), np.nan)
        points[self.obs.point_index] = self.points(x)
        return replace(self.rig, cameras=tuple(cams)), points
