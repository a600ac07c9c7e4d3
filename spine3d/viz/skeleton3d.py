"""3D skeleton figures: bones of the kinematic tree, the spine as a smooth curve, a floor grid,
equal axes and a fixed viewpoint. The drawing helpers are shared with :mod:`spine3d.viz.render`.

Display frame: world Z-up in metres. Camera-frame input (``frame="camera"``: x right, y down,
z forward, root-relative mm, e.g. the lifter's ``points_3d``) is shown as
(x, z, -y) / 1000, i.e. x right, depth away from the camera, up = -y, in metres.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import mpl_toolkits.mplot3d  # noqa: F401  (registers the "3d" projection)
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.mplot3d.art3d import Line3DCollection

from spine3d.errors import InputError
from spine3d.skeletons import Skeleton
from spine3d.viz.charts import SPINE_COLOR, new_figure, save_figure
from spine3d.viz.spine_profile import smooth_curve, spine_chain

Frame = Literal["world", "camera"]
PRED_COLOR, GT_COLOR = "tab:blue", "0.3"
FIRST_STYLE = {"color": PRED_COLOR, "ls": "-", "marker": "o"}
SECOND_STYLE = {"color": GT_COLOR, "ls": "--", "marker": "s"}
AXIS_LABELS = {"world": ("x (m)", "y (m)", "z, up (m)"),
               "camera": ("x_cam (m)", "z_cam, depth (m)", "-y_cam, up (m)")}


def to_display(points: np.ndarray, frame: Frame = "world") -> np.ndarray:
    """(..., 3) input points -> (..., 3) m, Z-up display coordinates (see module docstring)."""
    points = np.asarray(points, dtype=np.float64)
    if frame == "world":
        return points
    if frame == "camera":
        return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1) / 1000.0
    raise InputError(f"unknown frame {frame!r}; expected 'world' or 'camera'")


def cube_limits(points: np.ndarray, margin: float = 0.05) -> tuple[np.ndarray, float]:
    """Centre (3,) and half side of an axis-aligned cube holding every finite point of (..., 3)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0:
        raise InputError("no finite 3D points to draw")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, max(float(np.max(hi - lo)) / 2 * (1 + margin), 0.05)


def setup_axes(ax, center: np.ndarray, half: float, floor: float, frame: Frame, elev: float, azim: float) -> None:
    """Equal cube limits, axis labels with units, fixed viewpoint and a floor grid at height ``floor``."""
    for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), center):
        setter(c - half, c + half)
    ax.set_box_aspect((1, 1, 1), zoom=1.1)
    for setter, label in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), AXIS_LABELS[frame]):
        setter(label, fontsize=8, labelpad=-2)
    ax.tick_params(labelsize=7, pad=0)
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(5))
    ax.view_init(elev=elev, azim=azim)
    step = _nice_step(2 * half / 8)
    ticks_x = np.arange(np.ceil((center[0] - half) / step), np.floor((center[0] + half) / step) + 1) * step
    ticks_y = np.arange(np.ceil((center[1] - half) / step), np.floor((center[1] + half) / step) + 1) * step
    grid = [[(x, center[1] - half, floor), (x, center[1] + half, floor)] for x in ticks_x]
    grid += [[(center[0] - half, y, floor), (center[0] + half, y, floor)] for y in ticks_y]
    ax.add_collection3d(Line3DCollection(grid, colors="0.75", linewidths=0.6, zorder=0.5))
    ax.grid(False)  # the floor grid is the only grid
    ax.computed_zorder = False  # stack by zorder (floor < ground truth < prediction), not by depth
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.pane.set_alpha(0.15)


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= ``raw``."""
    base = 10.0 ** np.floor(np.log10(raw))
    return float(next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw))


def draw_skeleton(ax, points: np.ndarray, skeleton: Skeleton, style: dict, spine_curve: bool = True,
                  zorder: float = 1.0) -> list:
    """Draw one (J, 3) display-frame skeleton on a 3D axes; returns the created artists.

    Bones are thin lines in ``style["color"]``; the column is a thick smooth curve; column joints
    are filled with :data:`SPINE_COLOR`. Missing (NaN) joints and their bones are skipped.
    Artists are stacked bones < curve < joints from ``zorder`` up (axes with ``computed_zorder`` off).
    """
    bones = np.array(skeleton.bones, dtype=np.int64).reshape(-1, 2)
    segs = points[bones]  # (B, 2, 3)
    segs = segs[np.all(np.isfinite(segs), axis=(1, 2))]
    artists = [ax.add_collection3d(Line3DCollection(segs, colors=style["color"], linewidths=1.4,
                                                    linestyles=style["ls"], zorder=zorder))]
    chain = spine_chain(skeleton)
    if spine_curve and chain.size >= 3:
        curve = smooth_curve(points[chain])
        artists += ax.plot(curve[:, 0], curve[:, 1], curve[:, 2], color=style["color"], lw=3.5, ls=style["ls"],
                           zorder=zorder + 0.1)
    spine = skeleton.group("spine")
    ok = np.all(np.isfinite(points), axis=1)
    for mask, face in ((ok & ~spine, style["color"]), (ok & spine, SPINE_COLOR)):
        if mask.any():
            p = points[mask]
            artists.append(ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=18, c=face, marker=style["marker"],
                                      edgecolors=style["color"], linewidths=0.6, depthshade=False, zorder=zorder + 0.2))
    return artists


def legend_handles(labels: list[str], styles: list[dict], skeleton: Skeleton) -> list[Line2D]:
    """Proxy artists for a legend: one line per drawn set, plus the spine-joint marker."""
    handles = [Line2D([], [], color=s["color"], ls=s["ls"], marker=s["marker"], ms=5, label=lab)
               for lab, s in zip(labels, styles)]
    if skeleton.group("spine").any():
        handles.append(Line2D([], [], ls="none", marker="o", mfc=SPINE_COLOR, mec="k", ms=6, label="spine joints"))
    return handles


def plot_skeleton_3d(
    path: str | os.PathLike,
    pred: np.ndarray | None,
    gt: np.ndarray | None,
    skeleton: Skeleton,
    title: str = "",
    spine_curve: bool = True,
    *,
    frame: Frame = "world",
    labels: tuple[str, str] = ("prediction", "ground truth"),
    elev: float = 12.0,
    azim: float = -65.0,
    size: float = 5.5,
    dpi: float = 120,
) -> Path:
    """3D skeleton figure: prediction vs ground truth, spine curve, floor grid, equal axes.

    Args:
        path: output image (``.png``).
        pred: (J, 3) m, world frame Z-up (or camera frame mm, see ``frame``), or None.
        gt: (J, 3) same frame and unit as ``pred``, or None (at least one of the two is needed).
        skeleton: layout of both.
        title: figure title.
        spine_curve: draw a smooth curve through the column joints (when the layout has >= 3).
        frame: "world" (m, Z-up) or "camera" (mm, y down; shown as (x, z, -y) / 1000 m).
        labels: legend names of ``pred`` and ``gt``.
        elev, azim: viewpoint, degrees (matplotlib's convention).
        size: figure side, inches.
    """
    sets = [(lab, p, st) for lab, p, st in zip(labels, (pred, gt), (FIRST_STYLE, SECOND_STYLE)) if p is not None]
    if not sets:
        raise InputError("plot_skeleton_3d needs pred or gt")
    shown = []
    for lab, p, _ in sets:
        p = np.asarray(p, dtype=np.float64)
        if p.shape != (skeleton.num_joints, 3):
            raise InputError(f"{lab} must have shape ({skeleton.num_joints}, 3) for {skeleton.name}, got {p.shape}")
        shown.append(to_display(p, frame))
    everything = np.stack(shown)
    center, half = cube_limits(everything)
    fig = new_figure(size, size, dpi)
    ax = fig.add_subplot(projection="3d")
    setup_axes(ax, center, half, float(np.nanmin(everything[..., 2])), frame, elev, azim)
    for k, (p, (_, _, style)) in enumerate(zip(shown, sets)):  # prediction drawn over ground truth
        draw_skeleton(ax, p, skeleton, style, spine_curve, zorder=2.0 - k)
    ax.legend(handles=legend_handles([s[0] for s in sets], [s[2] for s in sets], skeleton),
              fontsize=8, loc="upper left")
    ax.set_title(title or f"{skeleton.name} skeleton", fontsize=10)
    return save_figure(fig, path)
