"""Intrinsic calibration of one camera from views of a planar board (OpenCV ``calibrateCamera``).

Pipeline: :func:`find_images` (glob -> sorted paths) -> :func:`detect_views` (board corners per
image, progress bar) -> :func:`calibrate_views` (``cv2.calibrateCamera`` or ``cv2.fisheye.calibrate``
with iterative rejection of badly fitting views). :func:`calibrate_images` chains the three.

View rejection (Zhang-style calibration is least squares, so one bad detection drags every
parameter): after each fit, the worst view is dropped when its RMS reprojection error is above both
``reject_factor`` x the median per-view RMS and ``reject_min_px``; the camera is then recalibrated,
until no view qualifies or only ``min_views`` remain.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from spine3d.calibration.boards import Board
from spine3d.calibration.camera import Camera
from spine3d.calibration.projection import project_points
from spine3d.calibration.rotations import rotvec_to_rotmat
from spine3d.errors import InputError

log = logging.getLogger(__name__)

LensModel = Literal["pinhole", "fisheye"]
_CRITERIA = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-9)


@dataclass(frozen=True)
class BoardViews:
    """Board detections of one camera: V views that found the board, plus the images that did not."""

    names: tuple[str, ...]              # (V,) image paths (or labels) of the views
    object_points: tuple[np.ndarray, ...]  # V x (N_v, 3) m, board frame
    image_points: tuple[np.ndarray, ...]   # V x (N_v, 2) px
    image_size: tuple[int, int]         # [width, height] px
    missing: tuple[str, ...] = ()       # images without a usable board (or unreadable)


@dataclass(frozen=True)
class IntrinsicsResult:
    """Outcome of an intrinsic calibration.

    Attributes:
        camera: calibrated camera (identity pose).
        rms: RMS reprojection error over all corners of the used views, px.
        view_rms: {view name: RMS px} of the used views under the final calibration.
        used: names of the views in the final fit.
        rejected: views dropped for fitting badly, in the order they were dropped.
        missing: images in which no board was found (or that could not be read).
    """

    camera: Camera
    rms: float
    view_rms: dict[str, float]
    used: tuple[str, ...]
    rejected: tuple[str, ...]
    missing: tuple[str, ...] = ()


def find_images(pattern: str) -> list[Path]:
    """Sorted files matching a glob (``~`` expanded, ``**`` recursive); InputError naming the glob if none."""
    paths = sorted(Path(p) for p in glob.glob(str(Path(pattern).expanduser()), recursive=True))
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise InputError(f"no image files match {pattern!r}")
    return paths


def detect_views(paths: Sequence[str | Path], board: Board, max_side: int = 1000, progress: bool = True,
                 label: str = "the images") -> BoardViews:
    """Detect ``board`` in each image (grayscale) with a progress bar.

    Unreadable images and images without the board are logged as warnings and skipped; if no image
    yields the board, InputError names ``label`` (e.g. the glob). Images must all share one size.
    """
    names, objs, imgs, missing = [], [], [], []
    size: tuple[int, int] | None = None
    for path in tqdm(paths, desc=f"detecting board ({label})", unit="img", disable=None if progress else True):
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            log.warning("%s: not a readable image; skipped", path)
            missing.append(str(path))
            continue
        this_size = (gray.shape[1], gray.shape[0])
        if size is not None and this_size != size:
            raise InputError(f"image is {this_size[0]}x{this_size[1]} px but earlier images of this camera are "
                             f"{size[0]}x{size[1]}", path)
        size = this_size
        found = board.detect(gray, max_side)
        if found is None:
            log.warning("%s: board not found; skipped", path)
            missing.append(str(path))
            continue
        names.append(str(path))
        objs.append(found[0])
        imgs.append(found[1])
    if not names:
        raise InputError(f"no calibration board found in any of the {len(paths)} images of {label}")
    return BoardViews(tuple(names), tuple(objs), tuple(imgs), size, tuple(missing))


def calibrate_views(views: BoardViews, camera_name: str = "cam", model: LensModel = "pinhole",
                    n_radial: int = 2, tangential: bool = True, reject_factor: float = 2.0,
                    reject_min_px: float = 1.0, min_views: int = 3) -> IntrinsicsResult:
    """Calibrate K and distortion from board views, rejecting badly fitting views (module docstring).

    Args:
        views: detections of one camera (see :func:`detect_views`).
        camera_name: name of the returned camera.
        model: "pinhole" (OpenCV k1 k2 p1 p2 [k3]) or "fisheye" (OpenCV k1..k4).
        n_radial: pinhole radial terms estimated (0-3: none, k1, k1 k2, k1 k2 k3); others held at 0.
        tangential: estimate p1 p2 (pinhole).
        reject_factor, reject_min_px: a view is dropped when its RMS > reject_factor x median and > reject_min_px.
        min_views: never go below this many views (InputError if fewer views are given).
    """
    if len(views.names) < min_views:
        raise InputError(f"camera {camera_name}: {len(views.names)} usable board view(s), need at least {min_views}")
    keep = list(range(len(views.names)))
    rejected: list[str] = []
    while True:
        camera, per_view = _fit(views, keep, camera_name, model, n_radial, tangential)
        worst = int(np.argmax(per_view))
        if (len(keep) <= min_views or per_view[worst] <= reject_factor * np.median(per_view)
                or per_view[worst] <= reject_min_px):
            break
        log.info("camera %s: rejecting view %s (RMS %.2f px, median %.2f px)", camera_name,
                 views.names[keep[worst]], per_view[worst], np.median(per_view))
        rejected.append(views.names[keep.pop(worst)])
    counts = np.array([len(views.image_points[i]) for i in keep])
    rms = float(np.sqrt(np.sum(per_view**2 * counts) / counts.sum()))
    used = tuple(views.names[i] for i in keep)
    return IntrinsicsResult(camera, rms, dict(zip(used, per_view.tolist())), used, tuple(rejected), views.missing)


def calibrate_images(pattern: str, board: Board, camera_name: str = "cam", max_side: int = 1000,
                     progress: bool = True, **options) -> IntrinsicsResult:
    """Glob -> detections -> calibration; ``options`` go to :func:`calibrate_views`."""
    views = detect_views(find_images(pattern), board, max_side, progress, label=repr(pattern))
    return calibrate_views(views, camera_name, **options)


def _fit(views: BoardViews, keep: list[int], name: str, model: LensModel, n_radial: int,
         tangential: bool) -> tuple[Camera, np.ndarray]:
    """One OpenCV calibration on the kept views -> (camera, (V,) per-view RMS px)."""
    obj = [views.object_points[i].astype(np.float64).reshape(1, -1, 3) for i in keep]  # (1, N, 3): fisheye needs it
    img = [views.image_points[i].astype(np.float64).reshape(1, -1, 2) for i in keep]
    try:
        if model == "fisheye":
            flags = _fisheye_flag("CALIB_RECOMPUTE_EXTRINSIC") | _fisheye_flag("CALIB_FIX_SKEW")
            _, K, dist, rvecs, tvecs = cv2.fisheye.calibrate(obj, img, views.image_size, None, None, flags=flags,
                                                             criteria=_CRITERIA)
            dist = dist.reshape(4)
        elif model == "pinhole":
            obj32 = [o.astype(np.float32) for o in obj]
            img32 = [i.astype(np.float32) for i in img]
            _, K, dist, rvecs, tvecs = cv2.calibrateCamera(obj32, img32, views.image_size, None, None,
                                                           flags=_pinhole_flags(n_radial, tangential),
                                                           criteria=_CRITERIA)
            dist = dist.reshape(-1)[: 5 if n_radial >= 3 else 4]
        else:
            raise InputError(f"unknown lens model {model!r}; expected 'pinhole' or 'fisheye'")
    except cv2.error as exc:
        raise InputError(f"camera {name}: OpenCV calibration failed ({' '.join(str(exc).split())[-160:]})") from None
    camera = Camera(name, views.image_size, K, dist, model=model)
    per_view = np.array([_view_rms(camera, views.object_points[i], views.image_points[i], r, t)
                         for i, r, t in zip(keep, rvecs, tvecs)])  # V views, a handful
    return camera, per_view


def _fisheye_flag(name: str) -> int:
    """OpenCV 4 keeps fisheye flags in ``cv2.fisheye`` (own values); OpenCV 5 moved them to ``cv2``."""
    return int(getattr(cv2.fisheye, name, None) or getattr(cv2, name))


def _pinhole_flags(n_radial: int, tangential: bool) -> int:
    if not 0 <= n_radial <= 3:
        raise InputError(f"n_radial must be 0..3, got {n_radial}")
    fixed = (cv2.CALIB_FIX_K1, cv2.CALIB_FIX_K2, cv2.CALIB_FIX_K3)[n_radial:]
    return int(np.bitwise_or.reduce([0, *fixed])) | (0 if tangential else cv2.CALIB_ZERO_TANGENT_DIST)


def _view_rms(camera: Camera, obj: np.ndarray, img: np.ndarray, rvec: np.ndarray, tvec: np.ndarray) -> float:
    """RMS px of one view, reprojected with the toolkit's own camera model (board pose from OpenCV)."""
    uv = project_points(obj, camera.K, camera.dist, rotvec_to_rotmat(rvec.reshape(3)), tvec.reshape(3), camera.model)
    return float(np.sqrt(np.mean(np.sum((uv - img) ** 2, axis=-1))))
