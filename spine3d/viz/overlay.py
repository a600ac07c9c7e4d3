"""2D keypoints on images: a multi-camera panel figure (matplotlib) and 3D results reprojected
onto a user's video frames (OpenCV drawing).

Pixels have their origin at the top-left corner, y pointing down, as in images.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np
from matplotlib.collections import LineCollection
from tqdm import tqdm

from spine3d.calibration.camera import Camera
from spine3d.errors import InputError
from spine3d.skeletons import Skeleton
from spine3d.viz.charts import SPINE_COLOR, new_figure, save_figure
from spine3d.viz.render import frame_sink

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_STYLES = ({"color": "tab:blue", "ls": "-", "marker": "o"}, {"color": "tab:orange", "ls": "--", "marker": "x"})
_BGR = {"bone": (200, 120, 30), "spine": (40, 40, 220), "joint": (255, 255, 255)}


def _draw_2d(ax, uv: np.ndarray, skeleton: Skeleton, style: dict, label: str, spine_label: str | None) -> None:
    """Bones and joints of one (J, 2) px skeleton on a 2D axes; NaN joints are skipped."""
    segs = uv[np.array(skeleton.bones, dtype=np.int64).reshape(-1, 2)]
    segs = segs[np.all(np.isfinite(segs), axis=(1, 2))]
    ax.add_collection(LineCollection(segs, colors=style["color"], linestyles=style["ls"], linewidths=1.3))
    ok = np.all(np.isfinite(uv), axis=1)
    spine = skeleton.group("spine")
    ax.plot(uv[ok & ~spine, 0], uv[ok & ~spine, 1], ls="none", marker=style["marker"], ms=3.5,
            color=style["color"], label=label)
    ax.plot(uv[ok & spine, 0], uv[ok & spine, 1], ls="none", marker=style["marker"], ms=4.5,
            mfc=SPINE_COLOR, mec=SPINE_COLOR if style["marker"] == "x" else style["color"], label=spine_label)


def plot_overlay_2d(
    path: str | os.PathLike,
    keypoints2d: np.ndarray,
    skeleton: Skeleton,
    image_sizes: np.ndarray,
    images: Sequence[np.ndarray | None] | None = None,
    names: Sequence[str] | None = None,
    second: np.ndarray | None = None,
    *,
    labels: tuple[str, str] = ("detected", "reprojected"),
    title: str = "",
    panel_height: float = 3.6,
    dpi: float = 120,
) -> Path:
    """One panel per camera: keypoints (and optionally a second set) on the image or a blank canvas.

    Args:
        path: output image (``.png``).
        keypoints2d: (C, J, 2) px; NaN joints are skipped.
        skeleton: layout of the keypoints (spine joints are filled red).
        image_sizes: (C, 2) [width, height] px of each camera's image.
        images: C entries of (H, W, 3) uint8 RGB images or None (blank canvas), or None for all blank.
        names: (C,) panel titles (default ``camera 0``, ``camera 1``...).
        second: (C, J, 2) px, another set in a second colour (e.g. reprojections vs detections).
        labels: legend names of ``keypoints2d`` and ``second``.
    """
    sets = [np.asarray(keypoints2d, dtype=np.float64)]
    c = sets[0].shape[0] if sets[0].ndim == 3 else -1
    expect = (c, skeleton.num_joints, 2)
    if second is not None:
        sets.append(np.asarray(second, dtype=np.float64))
    for lab, kp in zip(labels, sets):
        if kp.shape != expect or c < 1:
            raise InputError(f"{lab} keypoints must have shape (C, {skeleton.num_joints}, 2), got {kp.shape}")
    sizes = np.asarray(image_sizes, dtype=np.float64)
    if sizes.shape != (c, 2) or not np.all(sizes > 0):
        raise InputError(f"image_sizes must be ({c}, 2) positive [width, height] px, got {sizes.shape}")
    images = list(images) if images is not None else [None] * c
    names = list(names) if names is not None else [f"camera {k}" for k in range(c)]
    if len(images) != c or len(names) != c:
        raise InputError(f"images and names need one entry per camera ({c}), got {len(images)} and {len(names)}")
    ncols = min(c, 4)
    nrows = -(-c // ncols)
    aspect = float(np.max(sizes[:, 0] / sizes[:, 1]))
    fig = new_figure(ncols * panel_height * aspect + 0.4, nrows * panel_height + 0.5, dpi)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for k in range(c):
        ax = axes[k]
        _panel_background(ax, images[k], sizes[k], names[k])
        spine_label = "spine joints" if skeleton.group("spine").any() else None
        for i, (lab, kp, style) in enumerate(zip(labels, sets, _STYLES)):
            _draw_2d(ax, kp[k], skeleton, style, lab, spine_label if i == 0 else None)
        ax.set_title(names[k], fontsize=9)
    for ax in axes[c:]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def _panel_background(ax, image: np.ndarray | None, size: np.ndarray, name: str) -> None:
    """Show ``image`` (or a white canvas) over [0, W] x [H, 0], y down, equal aspect, labelled axes."""
    width, height = size
    if image is not None:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[:2] != (int(height), int(width)):
            raise InputError(f"image of {name} must have shape ({int(height)}, {int(width)}, 3) to match its "
                             f"image size, got {image.shape}")
        ax.imshow(image, extent=(0, width, height, 0), interpolation="bilinear")
    ax.set_facecolor("white")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # y down, like images
    ax.set_aspect("equal")
    ax.set_xlabel("u (px)", fontsize=8)
    ax.set_ylabel("v (px)", fontsize=8)
    ax.tick_params(labelsize=7)


def read_frames(source: str | os.PathLike, start: int = 0) -> tuple[Iterator[np.ndarray], float | None]:
    """BGR frames of a video file or of a folder of images (sorted by name), from index ``start``.

    Returns:
        an iterator of (H, W, 3) uint8 BGR frames, and the video's frame rate in Hz (None for a folder).
    """
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the folder", source)
        return (_imread(p) for p in files[start:]), None
    if not source.is_file():
        raise FileNotFoundError(2, "no such video file or image folder", str(source))
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise InputError("OpenCV cannot open this video (unsupported format or codec)", source)
    fps = capture.get(cv2.CAP_PROP_FPS)
    return _video_frames(capture, start), (float(fps) if fps > 0 else None)


def _imread(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError("OpenCV cannot read this image", path)
    return image


def _video_frames(capture: cv2.VideoCapture, start: int) -> Iterator[np.ndarray]:
    try:
        for _ in range(start):  # read and drop: seeking is not frame-exact with every codec
            if not capture.read()[0]:
                return
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def draw_skeleton_cv2(image: np.ndarray, uv: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Draw one (J, 2) px skeleton on a BGR image in place (spine bones red); NaN joints skipped."""
    thick = max(1, round(min(image.shape[:2]) / 300))
    lim = 4 * max(image.shape[:2])  # far-away points would overflow OpenCV's fixed-point drawing
    pix = np.where(np.isfinite(uv), np.clip(uv, -lim, lim), np.nan)
    bones = np.array(skeleton.bones, dtype=np.int64).reshape(-1, 2)
    spine = skeleton.group("spine")
    for mask, color in ((~(spine[bones[:, 0]] & spine[bones[:, 1]]), _BGR["bone"]),
                        (spine[bones[:, 0]] & spine[bones[:, 1]], _BGR["spine"])):
        segs = pix[bones[mask]]
        segs = segs[np.all(np.isfinite(segs), axis=(1, 2))]
        if len(segs):
            cv2.polylines(image, list(np.round(segs).astype(np.int32)), False, color, thick, cv2.LINE_AA)
    for j in np.flatnonzero(np.all(np.isfinite(pix), axis=1)):  # J circles per frame: drawing, not a hot loop
        color = _BGR["spine"] if spine[j] else _BGR["joint"]
        cv2.circle(image, tuple(int(v) for v in np.round(pix[j])), thick + 1, color, -1, cv2.LINE_AA)
    return image


def overlay_on_video(
    points: np.ndarray,
    camera: Camera,
    skeleton: Skeleton,
    video: str | os.PathLike,
    out: str | os.PathLike,
    fps: float | None = None,
    *,
    start: int = 0,
    progress: bool = True,
) -> Path:
    """Reproject a 3D sequence into one camera and draw it on that camera's frames.

    Args:
        points: (T, J, 3) m, world frame Z-up; ``points[t]`` is drawn on video frame ``start + t``.
        camera: the calibrated camera that filmed ``video`` (``camera.project``, distortion included).
        skeleton: layout of ``points``.
        video: a video file or a folder of images (sorted by name).
        out: ``*.mp4`` file or a folder for PNG frames.
        fps: output frame rate, Hz (default: the video's, else 30).
        start: index of the video frame matching ``points[0]``.

    Returns:
        ``out``. Stops at the shorter of the sequence and the video (with a warning when the video is shorter).
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (skeleton.num_joints, 3):
        raise InputError(f"points must have shape (T, {skeleton.num_joints}, 3) for {skeleton.name}, "
                         f"got {points.shape}")
    frames, video_fps = read_frames(video, start)
    uv = np.asarray(camera.project(points))
    uv[camera.world_to_camera(points)[..., 2] <= 0] = np.nan  # behind the camera: not drawable
    count = 0
    with frame_sink(out, fps or video_fps or 30.0) as write:
        for frame, uv_t in tqdm(zip(frames, uv), total=len(uv), desc="overlay", unit="frame", disable=not progress):
            if count == 0 and (frame.shape[1], frame.shape[0]) != tuple(camera.size.astype(int)):
                logger.warning("%s: frames are %dx%d px, camera %s was calibrated for %dx%d px", video,
                               frame.shape[1], frame.shape[0], camera.name, *camera.size.astype(int))
            write(draw_skeleton_cv2(frame, uv_t, skeleton))
            count += 1
    if count != len(uv):
        logger.warning("%s: only %d frames from index %d for a %d-frame sequence", video, count, start, len(uv))
    return Path(out)
