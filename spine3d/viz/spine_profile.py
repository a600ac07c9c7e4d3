"""The vertebral column as a curve: its joints, a smooth spline through them, per-level bending
angles, the body's facing direction, and a sagittal-view figure.

The column is the ordered chain Hip -> Spine_01..05 -> Neck -> Neck_02 -> Neck_03 (canonical
names, :data:`spine3d.skeletons.SPINE_9`), restricted to the joints a layout has.
A *level* is an interior joint of that chain; its angle is the angle between the segment that
arrives at the joint and the segment that leaves it (0 deg for a straight column).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.interpolate import make_interp_spline

from spine3d.errors import InputError
from spine3d.skeletons import SPINE_9, Skeleton
from spine3d.viz.charts import SPINE_COLOR, new_figure, save_figure

UP = np.array([0.0, 0.0, 1.0])  # world frame is Z-up
# Left/right joint pairs (canonical names) whose directions, summed, give the body's left direction.
LATERAL_PAIRS = (("LHip", "RHip"), ("LClavicle", "RClavicle"), ("LShoulder", "RShoulder"),
                 ("LLatissimus", "RLatissimus"))


def spine_chain(skeleton: Skeleton) -> np.ndarray:
    """(N,) indices of the column joints the layout has, from Hip upwards (N may be 0)."""
    canon = list(skeleton.canonical)
    return np.array([canon.index(c) for c in SPINE_9 if c in canon], dtype=np.int64)


def spine_level_names(skeleton: Skeleton) -> list[str]:
    """(L,) canonical names of the levels (interior chain joints) of :func:`spine_segment_angles`."""
    return [skeleton.canonical[i] for i in spine_chain(skeleton)[1:-1]]


def spine_segment_angles(points: np.ndarray, skeleton: Skeleton, normal: np.ndarray | None = None) -> np.ndarray:
    """Bending angle at each level of the column.

    Args:
        points: (..., J, 3) positions in any consistent frame and unit.
        skeleton: the layout of ``points``; it needs at least 3 column joints.
        normal: None for the unsigned 3D angle in [0, 180]; or (..., 3) a plane normal (broadcast
            against ``points[..., 0, :]``): the segments are projected onto the plane and the angle is
            signed, positive when the next segment turns counter-clockwise about ``normal``. With
            ``normal`` = the body's left direction (the sagittal plane's normal), positive means the
            column turns forward at that level (kyphosis-like), negative backward (lordosis-like).

    Returns:
        (..., L) degrees, L = N - 2 for the N column joints; NaN where a joint is missing.
    """
    chain = spine_chain(skeleton)
    if chain.size < 3:
        raise InputError(f"skeleton {skeleton.name} has {chain.size} spine joints; bending angles need at least 3")
    points = np.asarray(points, dtype=np.float64)
    if points.ndim < 2 or points.shape[-2:] != (skeleton.num_joints, 3):
        raise InputError(f"points must have shape (..., {skeleton.num_joints}, 3) for {skeleton.name}, "
                         f"got {points.shape}")
    seg = np.diff(points[..., chain, :], axis=-2)  # (..., N-1, 3)
    a, b = seg[..., :-1, :], seg[..., 1:, :]
    if normal is None:
        sin = np.linalg.norm(np.cross(a, b), axis=-1)
    else:
        n = np.asarray(normal, dtype=np.float64)
        n = (n / np.linalg.norm(n, axis=-1, keepdims=True))[..., None, :]
        a = a - np.sum(a * n, axis=-1, keepdims=True) * n
        b = b - np.sum(b * n, axis=-1, keepdims=True) * n
        sin = np.sum(np.cross(a, b) * n, axis=-1)
    return np.degrees(np.arctan2(sin, np.sum(a * b, axis=-1)))  # atan2: accurate near 0 and 180 deg


def facing_direction(points: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Horizontal unit vector the body faces, from its left/right hip, clavicle, shoulder pairs.

    Args:
        points: (..., J, 3) m, world frame Z-up.

    Returns:
        (..., 3) unit vectors with zero Z (forward = left x up); NaN where no pair is visible.
    """
    points = np.asarray(points, dtype=np.float64)
    pairs = [(skeleton.canonical.index(l), skeleton.canonical.index(r)) for l, r in LATERAL_PAIRS
             if l in skeleton.canonical and r in skeleton.canonical]
    if not pairs:
        raise InputError(f"skeleton {skeleton.name} has no left/right hip, clavicle or shoulder pair "
                         "to estimate the facing direction; pass forward explicitly")
    left = points[..., [p[0] for p in pairs], :] - points[..., [p[1] for p in pairs], :]  # (..., P, 3)
    left[..., 2] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):  # missing or coincident pair: 0 / 0 -> NaN
        left = left / np.linalg.norm(left, axis=-1, keepdims=True)
        left = np.where(np.isfinite(left), left, 0.0).sum(axis=-2)  # such pairs contribute nothing
        forward = np.cross(left, UP)
        return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def sagittal_spine_angles(points: np.ndarray, skeleton: Skeleton,
                          forward: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Signed bending angle of each level in the body's sagittal plane, by level name.

    Args:
        points: (..., J, 3) m, world frame Z-up.
        forward: (..., 3) facing direction (made horizontal), or None to estimate it per pose.

    Returns:
        {level canonical name: (...) degrees}, + = the column turns forward (kyphosis-like),
        - = backward (lordosis-like); see :func:`spine_segment_angles`.
    """
    points = np.asarray(points, dtype=np.float64)
    fwd = facing_direction(points, skeleton) if forward is None else np.asarray(forward, dtype=np.float64)
    angles = spine_segment_angles(points, skeleton, normal=np.cross(UP, fwd))
    return {name: angles[..., k] for k, name in enumerate(spine_level_names(skeleton))}


def smooth_curve(points: np.ndarray, samples: int = 60) -> np.ndarray:
    """Interpolating spline through ordered points (chord-length parameter, cubic when N >= 4).

    Args:
        points: (N, D) ordered points; non-finite rows are dropped.

    Returns:
        (S, D) samples along the curve; the input points themselves when fewer than 3 remain.
    """
    pts = np.asarray(points, dtype=np.float64)
    pts = pts[np.all(np.isfinite(pts), axis=-1)]
    if len(pts) > 1:  # coincident neighbours would make the parameter non-increasing
        keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=-1) > 1e-9])
        pts = pts[keep]
    if len(pts) < 3:
        return pts
    u = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=-1))])
    spline = make_interp_spline(u, pts, k=min(3, len(pts) - 1), axis=0)
    return spline(np.linspace(0.0, u[-1], samples))


def sagittal_coordinates(points: np.ndarray, skeleton: Skeleton, forward: np.ndarray,
                         align_root: bool = True) -> np.ndarray:
    """(J, 3) m world -> (N, 2) m column joints in the sagittal plane: (forward, up).

    With ``align_root`` the coordinates are relative to the first column joint (Hip).
    """
    col = np.asarray(points, dtype=np.float64)[spine_chain(skeleton)]
    if align_root:
        col = col - col[0]
    return np.stack([col @ forward, col @ UP], axis=-1)


def plot_spine_sagittal(
    path: str | os.PathLike,
    pred: np.ndarray,
    gt: np.ndarray | None,
    skeleton: Skeleton,
    forward: np.ndarray | None = None,
    *,
    title: str = "Spine, sagittal view",
    labels: tuple[str, str] = ("prediction", "ground truth"),
    align_root: bool = True,
    dpi: float = 120,
) -> Path:
    """Side view of the vertebral column with the signed bending angle at each level.

    Both columns are projected onto the same sagittal plane: vertical = world Z, horizontal =
    ``forward`` (or the facing direction estimated from ``gt`` when given, else from ``pred``),
    and drawn relative to their own Hip when ``align_root``. Angles come from
    :func:`spine_segment_angles` about the body's left axis (+ = column turns forward).

    Args:
        path: output image (``.png``).
        pred: (J, 3) m, world frame Z-up.
        gt: (J, 3) m, world frame Z-up, or None.
        skeleton: layout of both (needs at least 3 column joints).
        forward: (3,) facing direction (made horizontal and unit), or None to estimate it.
    """
    chain = spine_chain(skeleton)
    if chain.size < 3:
        raise InputError(f"skeleton {skeleton.name} has {chain.size} spine joints; a sagittal profile needs at least 3")
    sets = [(lab, np.asarray(p, dtype=np.float64)) for lab, p in zip(labels, (pred, gt)) if p is not None]
    if not sets:
        raise InputError("plot_spine_sagittal needs pred or gt")
    for lab, p in sets:
        if p.shape != (skeleton.num_joints, 3):
            raise InputError(f"{lab} must have shape ({skeleton.num_joints}, 3) for {skeleton.name}, got {p.shape}")
        column = np.all(np.isfinite(p[chain]), axis=1)
        if column.sum() < 3 or (align_root and not column[0]):
            raise InputError(f"{lab} has {column.sum()} finite spine joints (need 3, and the Hip when aligning)")
    fwd = _unit_forward(sets[-1][1], skeleton, forward)
    fig = new_figure(5.2, 6.0, dpi)
    ax = fig.add_subplot()
    styles = ({"color": "tab:blue", "ls": "-", "marker": "o"}, {"color": "0.25", "ls": "--", "marker": "s"})
    angles, drawn = {}, []
    for (lab, p), style in zip(sets, styles):
        uv = sagittal_coordinates(p, skeleton, fwd, align_root)
        drawn.append(uv)
        curve = smooth_curve(uv)
        ax.plot(curve[:, 0], curve[:, 1], color=style["color"], ls=style["ls"], lw=2.5, label=lab)
        ax.plot(uv[:, 0], uv[:, 1], ls="none", marker=style["marker"], ms=5, mfc=SPINE_COLOR, mec=style["color"])
        angles[lab] = sagittal_spine_angles(p, skeleton, fwd)
    x_text = _annotate_levels(ax, drawn[0], skeleton, angles)
    lo, hi = np.nanmin(np.concatenate(drawn), axis=0), np.nanmax(np.concatenate(drawn), axis=0)
    ax.set_xlim(lo[0] - 0.08, x_text + 0.22)
    ax.set_ylim(lo[1] - 0.05, hi[1] + 0.05)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("forward (m)" + (", from Hip" if align_root else ""))
    ax.set_ylabel("up, world Z (m)" + (", from Hip" if align_root else ""))
    ax.set_title(f"{title}\nbending angle per level, deg ({' / '.join(angles)})\n"
                 "+ turns forward (kyphosis-like), - backward (lordosis-like)", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def _unit_forward(points: np.ndarray, skeleton: Skeleton, forward: np.ndarray | None) -> np.ndarray:
    """(3,) horizontal unit facing direction: ``forward`` made horizontal, or estimated from (J, 3) ``points``."""
    fwd = facing_direction(points, skeleton) if forward is None else np.asarray(forward, dtype=np.float64)
    if fwd.shape != (3,) or not np.linalg.norm(fwd[:2]) > 1e-9:
        hint = " (estimated from the left/right joint pairs, which are missing)" if forward is None else ""
        raise InputError(f"forward must be a finite, non-vertical (3,) vector, got {fwd}{hint}")
    return np.array([fwd[0], fwd[1], 0.0]) / np.linalg.norm(fwd[:2])


def _annotate_levels(ax, uv: np.ndarray, skeleton: Skeleton, angles: dict[str, dict[str, np.ndarray]]) -> float:
    """Write "level: angle" (one number per drawn set) right of each interior column joint; returns the text x."""
    x_text = np.nanmax(uv[:, 0]) + 0.04
    for k, name in enumerate(spine_level_names(skeleton)):
        values = " / ".join(f"{a[name]:+.1f}°" if np.isfinite(a[name]) else "n/a" for a in angles.values())
        u, v = uv[k + 1]
        if np.isfinite(v):
            ax.annotate(f"{name}: {values}", (u, v), (x_text, v), fontsize=7, va="center",
                        arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5})
    return float(x_text)
