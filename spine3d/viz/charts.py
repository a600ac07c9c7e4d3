"""Benchmark charts (per-joint errors, error vs outlier ratio, error per action) and the shared
figure helpers of :mod:`spine3d.viz`.

Figures are :class:`matplotlib.figure.Figure` objects on an Agg canvas (no pyplot, no global
state, no display needed) and are saved atomically with :func:`save_figure`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spine3d.errors import InputError
from spine3d.io import atomic_path
from spine3d.skeletons import Skeleton

SPINE_COLOR = "tab:red"  # spine joints, in every figure
SPINE_SHADE = "#fde0dd"  # background band behind spine joints in bar charts


def new_figure(width: float, height: float, dpi: float = 120) -> Figure:
    """A figure of ``width`` x ``height`` inches on its own Agg canvas, constrained layout."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` atomically; the format follows the suffix (``.png``, ``.pdf``, ``.svg``)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in fig.canvas.get_supported_filetypes():
        raise InputError(f"unsupported figure format {path.suffix!r}; use .png, .pdf or .svg", path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=fig.dpi)
    return path


def _method_arrays(errors: Mapping[str, np.ndarray], length: int, what: str) -> dict[str, np.ndarray]:
    """Validate ``{method: (length,) values}`` -> float arrays; InputError names the bad method."""
    if not errors:
        raise InputError(f"no methods to plot ({what})")
    out = {}
    for method, values in errors.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (length,):
            raise InputError(f"{what}: errors of {method!r} must have shape ({length},), got {arr.shape}")
        out[str(method)] = arr
    return out


def _bar_offsets(num_methods: int, group_width: float = 0.8) -> tuple[np.ndarray, float]:
    """(M,) centre offsets of M bars inside a group of ``group_width``, and each bar's width."""
    width = group_width / num_methods
    return (np.arange(num_methods) - (num_methods - 1) / 2) * width, width


def plot_per_joint_errors(
    path: str | os.PathLike,
    errors: Mapping[str, np.ndarray],
    skeleton: Skeleton,
    title: str = "Per-joint error",
    *,
    ylabel: str = "MPJPE (mm)",
    dpi: float = 120,
) -> Path:
    """Grouped bar chart of per-joint errors, one bar per method; spine joints shaded, labels bold red.

    Args:
        path: output image (``.png``).
        errors: {method name: (J,) mm} per-joint errors in ``skeleton``'s order; NaN bars are skipped.
        skeleton: the layout (tick labels, spine group).
        title: figure title.
        ylabel: y axis label (with its unit).
    """
    errs = _method_arrays(errors, skeleton.num_joints, "per-joint errors")
    j = skeleton.num_joints
    fig = new_figure(max(6.0, 0.32 * j + 1.5), 4.0, dpi)
    ax = fig.add_subplot()
    spine = skeleton.group("spine")
    for k in np.flatnonzero(spine):
        ax.axvspan(k - 0.5, k + 0.5, color=SPINE_SHADE, zorder=0, lw=0)
    offsets, width = _bar_offsets(len(errs))
    x = np.arange(j)
    for off, (method, values) in zip(offsets, errs.items()):
        ok = np.isfinite(values)
        ax.bar(x[ok] + off, values[ok], width, label=method, zorder=2)
    ax.set_xticks(x, skeleton.names, rotation=60, ha="right", fontsize=8)
    for k, tick in enumerate(ax.get_xticklabels()):
        if spine[k]:
            tick.set_fontweight("bold")
            tick.set_color(SPINE_COLOR)
    ax.set_xlim(-0.6, j - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_title(title + (" (spine joints shaded)" if spine.any() else ""))
    ax.grid(axis="y", alpha=0.3, zorder=1)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_error_vs_outliers(
    path: str | os.PathLike,
    ratios: np.ndarray,
    errors: Mapping[str, np.ndarray],
    title: str = "Error vs outlier ratio",
    *,
    xlabel: str = "outlier ratio (fraction of 2D keypoints)",
    ylabel: str = "MPJPE (mm)",
    dpi: float = 120,
) -> Path:
    """Error of each method against the outlier ratio: lines with markers (NaN values leave gaps).

    Args:
        path: output image (``.png``).
        ratios: (R,) outlier ratios (x axis).
        errors: {method name: (R,) mm}.
        title, xlabel, ylabel: labels (with units).
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    if ratios.ndim != 1 or ratios.size == 0:
        raise InputError(f"ratios must have shape (R,) with R >= 1, got {ratios.shape}")
    errs = _method_arrays(errors, ratios.size, "error vs outliers")
    fig = new_figure(6.0, 4.0, dpi)
    ax = fig.add_subplot()
    markers = "osD^v<>ph*"
    for i, (method, values) in enumerate(errs.items()):
        ax.plot(ratios, values, marker=markers[i % len(markers)], label=method)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_error_per_action(
    path: str | os.PathLike,
    actions: Sequence[str],
    errors: Mapping[str, np.ndarray],
    title: str = "Error per action",
    *,
    xlabel: str = "MPJPE (mm)",
    dpi: float = 120,
) -> Path:
    """Grouped horizontal bars: one group per action (top to bottom in the given order), one bar per method.

    Args:
        path: output image (``.png``).
        actions: (A,) action names.
        errors: {method name: (A,) mm}; NaN bars are skipped.
        title, xlabel: labels (with units).
    """
    actions = [str(a) for a in actions]
    if not actions:
        raise InputError("no actions to plot")
    errs = _method_arrays(errors, len(actions), "error per action")
    a = len(actions)
    fig = new_figure(6.5, max(3.0, 0.22 * a * max(1.5, len(errs) * 0.8) + 1.2), dpi)
    ax = fig.add_subplot()
    offsets, height = _bar_offsets(len(errs))
    y = np.arange(a)
    for off, (method, values) in zip(offsets, errs.items()):
        ok = np.isfinite(values)
        ax.barh(y[ok] + off, values[ok], height, label=method, zorder=2)
    ax.set_yticks(y, actions, fontsize=8)
    ax.set_ylim(a - 0.5, -0.5)  # first action on top
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3, zorder=1)
    ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path)
