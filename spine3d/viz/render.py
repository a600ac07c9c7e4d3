"""Render a 3D sequence frame by frame (Agg canvas -> RGB array) to a PNG folder or an MP4 file.

The viewpoint and the axis limits are fixed over the whole sequence, so the view never jumps.
Output: a path ending in ``.mp4`` is written with OpenCV's ``mp4v`` writer (atomically: the file
appears when complete); any other path without a suffix is a folder of ``frame_000000.png``...
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tqdm import tqdm

from spine3d.errors import InputError
from spine3d.io import atomic_path
from spine3d.skeletons import Skeleton
from spine3d.viz.skeleton3d import (FIRST_STYLE, Frame, cube_limits, draw_skeleton, legend_handles, setup_axes,
                                    to_display)

logger = logging.getLogger(__name__)

VIDEO_SUFFIX = ".mp4"
_NOT_FOLDERS = {".avi", ".mov", ".mkv", ".gif", ".webm", ".png", ".jpg", ".jpeg"}


def check_output(out: str | os.PathLike) -> Path:
    """Validate an output path: ``*.mp4`` (video) or a suffix-less folder; returns it as a Path."""
    out = Path(out)
    if out.suffix.lower() in _NOT_FOLDERS:
        raise InputError(f"unsupported output {out.suffix!r}: give a .mp4 file or a folder for PNG frames", out)
    if out.suffix.lower() != VIDEO_SUFFIX and out.exists() and not out.is_dir():
        raise InputError("output exists and is not a folder (give a .mp4 file or a folder for PNG frames)", out)
    return out


@contextlib.contextmanager
def frame_sink(out: str | os.PathLike, fps: float) -> Iterator[Callable[[np.ndarray], None]]:
    """Context yielding ``write(frame)`` for (H, W, 3) uint8 BGR frames of one size.

    ``out`` ending in ``.mp4``: an ``mp4v`` video at ``fps`` Hz, renamed into place on success.
    Otherwise a folder of ``frame_%06d.png`` (each written atomically).
    """
    out = check_output(out)
    if out.suffix.lower() == VIDEO_SUFFIX:
        with atomic_path(out) as tmp:
            state: dict = {}

            def write(frame: np.ndarray) -> None:
                if "writer" not in state:
                    state["size"] = (frame.shape[1], frame.shape[0])
                    state["writer"] = _open_writer(tmp, out, fps, state["size"])
                if (frame.shape[1], frame.shape[0]) != state["size"]:
                    raise ValueError(f"frame size {frame.shape[1]}x{frame.shape[0]} differs from the first "
                                     f"{state['size']}")
                state["writer"].write(np.ascontiguousarray(frame))

            try:
                yield write
            finally:
                if "writer" in state:
                    state["writer"].release()
            if "writer" not in state:
                raise InputError("no frames to write", out)
        return
    out.mkdir(parents=True, exist_ok=True)
    counter = itertools.count()

    def write_png(frame: np.ndarray) -> None:
        with atomic_path(out / f"frame_{next(counter):06d}.png") as tmp:
            if not cv2.imwrite(str(tmp), frame):
                raise OSError(f"{tmp}: OpenCV could not write the PNG frame")

    yield write_png
    written = next(counter)
    stale = [p for p in out.glob("frame_*.png") if p.stem[6:].isdigit() and int(p.stem[6:]) >= written]
    if stale:
        logger.warning("%s: %d older frame_*.png files beyond this sequence remain in the folder", out, len(stale))


def _open_writer(tmp: Path, out: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}", out)
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
    if not writer.isOpened():
        raise InputError("OpenCV could not open an MP4 (mp4v) writer; this OpenCV build may lack the "
                         "codec: write PNG frames instead by giving a folder as output", out)
    return writer


def render_sequence(
    points: np.ndarray,
    skeleton: Skeleton,
    out: str | os.PathLike,
    fps: float = 30.0,
    *,
    frame: Frame = "world",
    elev: float = 12.0,
    azim: float = -65.0,
    size: tuple[int, int] = (640, 640),
    title: str = "",
    first_index: int = 0,
    progress: bool = True,
) -> Path:
    """Render a skeleton sequence with a fixed viewpoint and fixed limits.

    Args:
        points: (T, J, 3) m, world frame Z-up (or camera frame mm with ``frame="camera"``,
            shown as (x, z, -y) / 1000 m); NaN joints are skipped.
        skeleton: layout of ``points``.
        out: ``*.mp4`` file or a folder for PNG frames.
        fps: frame rate, Hz (video rate; also the time shown in each frame's title).
        elev, azim: viewpoint, degrees (matplotlib's convention).
        size: (width, height) of each frame, px.
        title: text before the frame counter in each frame's title.
        first_index: index of ``points[0]`` in the original sequence (for the frame counter).
        progress: show a tqdm progress bar.

    Returns:
        ``out``.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (skeleton.num_joints, 3) or len(points) == 0:
        raise InputError(f"points must have shape (T, {skeleton.num_joints}, 3) with T >= 1 for {skeleton.name}, "
                         f"got {points.shape}")
    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}")
    out = check_output(out)
    shown = to_display(points, frame)
    center, half = cube_limits(shown)
    dpi = 100
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)  # no layout engine: nothing moves between frames
    canvas = FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.0, right=0.95, bottom=0.02, top=0.93)
    ax = fig.add_subplot(projection="3d")
    setup_axes(ax, center, half, float(np.nanmin(shown[..., 2])), frame, elev, azim)
    ax.legend(handles=legend_handles([skeleton.name], [FIRST_STYLE], skeleton), fontsize=7, loc="upper left")
    heading = fig.suptitle("", fontsize=9)
    with frame_sink(out, fps) as write:
        for t in tqdm(range(len(shown)), desc="render", unit="frame", disable=not progress):
            artists = draw_skeleton(ax, shown[t], skeleton, FIRST_STYLE)
            index = first_index + t
            heading.set_text(f"{title + '  ' if title else ''}frame {index}  ({index / fps:.2f} s)")
            canvas.draw()
            rgba = np.asarray(canvas.buffer_rgba())
            write(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR))
            for artist in artists:
                artist.remove()
    return out
