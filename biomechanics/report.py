"""The report of ``spine3d kinematics``: report.json (every number), report.md (the summary), the
figure of the lumbar angles per level over time (lumbar_angles.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spine3d.biomechanics.coupling import AXIS_SUFFIX, LEVELS
from spine3d.formats.simspine_schema import KINEMATIC_AXES
from spine3d.io import atomic_path, write_json_atomic, write_text_atomic

FIGURE = "lumbar_angles.png"
_AXIS_TITLES = {"flex": "flexion (-) / extension (+)", "bend": "lateral bending (+ right)",
                "rot": "axial rotation (+ left)"}


def marker_table(names: tuple[str, ...], error: np.ndarray) -> dict[str, dict[str, float | None]]:
    """Per marker: RMS and max (mm) over the frames where it was present; error (T, M) m."""
    out = {}
    for j, name in enumerate(names):
        e = error[:, j][np.isfinite(error[:, j])] * 1000.0
        out[name] = {"rms_mm": float(np.sqrt(np.mean(e ** 2))) if len(e) else None,
                     "max_mm": float(e.max()) if len(e) else None, "frames": int(len(e))}
    return out


def coordinate_ranges(q: np.ndarray, held: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per axis: min, max over the trial (deg; m) and whether inverse kinematics solved or held it."""
    return {name: {"min": float(q[:, i].min()), "max": float(q[:, i].max()), "held": name in held}
            for i, name in enumerate(KINEMATIC_AXES)}


def plot_lumbar(path: Path, q: np.ndarray, fps: float) -> Path:
    """Figure: the six lumbar levels' angles (deg) over time (s), one panel per axis."""
    fig = Figure(figsize=(9, 7), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    t = np.arange(len(q)) / fps
    axes = fig.subplots(3, 1, sharex=True)
    for ax, (axis, suffix) in zip(axes, AXIS_SUFFIX.items()):
        for level in LEVELS:
            ax.plot(t, q[:, KINEMATIC_AXES.index(f"{level}_{suffix}")], label=level)
        ax.set_ylabel("deg")
        ax.set_title(_AXIS_TITLES[axis], fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(ncol=6, fontsize=8)
    axes[-1].set_xlabel("time (s)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_report(out: Path, report: dict[str, Any]) -> Path:
    """report.json and report.md in ``out``; returns the path of report.md."""
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", "\n".join(_markdown(report)) + "\n")
    return out / "report.md"


def _markdown(r: dict[str, Any]) -> list[str]:
    s, fit = r["summary"], r["scaling"]
    lines = ["# spine3d kinematics report", "",
             *(f"- **{k}**: {v}" for k, v in r["header"].items()), "",
             *(f"> {note}" for note in r["notes"]), "",
             "## Inverse kinematics", "",
             f"Per-frame marker RMS: median {s['rms_mm_median']:.1f} mm, max {s['rms_mm_max']:.1f} mm "
             f"({s['frames']} frames, {s['markers']} markers); IK {s['ik_ms_per_frame']:.2f} ms per frame "
             f"({s['backend']}).", "",
             "| marker | RMS (mm) | max (mm) | frames |", "|---|---|---|---|",
             *(f"| {n} | {_f(v['rms_mm'])} | {_f(v['max_mm'])} | {v['frames']} |" for n, v in r["markers"].items()), "",
             "## Scaling", "",
             f"Stature {fit['values']['height']:.3f} m (start {fit['start_height']:.3f} m); factors "
             + ", ".join(f"{k} {v:.3f}" for k, v in fit["values"].items() if k != "height")
             + f"; {len(fit['frames'])} frames; residual RMS {fit['rms_mm']:.1f} mm.", "",
             "| marker | residual RMS (mm) |", "|---|---|",
             *(f"| {n} | {v:.1f} |" for n, v in fit["residual_mm"].items()), "",
             "## Coordinate ranges (deg; pelvis_t*, Abs_t* in m)", "",
             "| coordinate | min | max | |", "|---|---|---|---|",
             *(f"| {n} | {v['min']:.3f} | {v['max']:.3f} | {'held (not observed)' if v['held'] else ''} |"
               for n, v in r["coordinates"].items()), "",
             f"![lumbar angles]({FIGURE})", ""]
    return lines


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
