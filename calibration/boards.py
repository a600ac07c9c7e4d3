"""Calibration boards (checkerboard, ChArUco) and their detection in grayscale images.

Board frame: the board plane is z = 0, metres, x along a row of inner corners, y down the columns;
corner ``i`` of a checkerboard sits at ``(i % cols, i // cols) * square_size``. Image points are
OpenCV pixels (origin at the centre of the top-left pixel).

Checkerboard detection runs on a downscaled copy (the long side at most ``max_side`` px: the detectors'
cost grows with the pixel count), tries ``cv2.findChessboardCornersSB`` then the classic
``cv2.findChessboardCorners``, rejects grids that are not locally regular (a board partly out of the
image can yield a scrambled "detection"), and refines the corners with ``cv2.cornerSubPix`` on the
full-resolution image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from spine3d.errors import InputError

log = logging.getLogger(__name__)

# A detected grid whose second differences exceed this fraction of the local corner spacing is not
# a board (perspective and lens distortion of real views give < 0.2; scrambled grids give > 1).
MAX_GRID_IRREGULARITY = 0.5
_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)


def parse_board_size(text: str) -> tuple[int, int]:
    """``"4x7"`` -> (4, 7): (columns, rows) of a board (inner corners for a checkerboard)."""
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"board size must look like 4x7 (columns x rows), got {text!r}")
    cols, rows = (int(p) for p in parts)
    if cols < 2 or rows < 2:
        raise InputError(f"board size needs at least 2 x 2, got {text!r}")
    return cols, rows


@dataclass(frozen=True)
class Checkerboard:
    """A checkerboard: ``cols`` x ``rows`` inner corners (OpenCV's patternSize), squares of ``square_size`` m."""

    cols: int
    rows: int
    square_size: float

    def __post_init__(self) -> None:
        if self.cols < 2 or self.rows < 2:
            raise InputError(f"checkerboard needs at least 2 x 2 inner corners, got {self.cols} x {self.rows}")
        if not self.square_size > 0:
            raise InputError(f"square size must be positive (metres), got {self.square_size}")

    @property
    def object_points(self) -> np.ndarray:
        """(cols * rows, 3) m, corner positions in the board frame (row-major, as OpenCV returns them)."""
        grid = np.stack(np.meshgrid(np.arange(self.cols), np.arange(self.rows)), axis=-1).reshape(-1, 2)
        return np.concatenate([grid * self.square_size, np.zeros((len(grid), 1))], axis=1)

    def detect(self, gray: np.ndarray, max_side: int = 1000) -> tuple[np.ndarray, np.ndarray] | None:
        """Find the board in a (H, W) uint8 image -> (object points (N, 3) m, image points (N, 2) px) or None."""
        corners = detect_checkerboard(gray, (self.cols, self.rows), max_side)
        return None if corners is None else (self.object_points, corners)


@dataclass(frozen=True)
class CharucoBoard:
    """A ChArUco board (OpenCV ``cv2.aruco.CharucoBoard``): ``squares_x`` x ``squares_y`` squares.

    Attributes:
        squares_x, squares_y: number of squares along x and y (inner corners: one fewer each).
        square_size: side of a square, m.
        marker_size: side of an ArUco marker, m (< square_size).
        dictionary: name of an OpenCV predefined dictionary, e.g. "DICT_4X4_50".
        legacy: boards printed by OpenCV < 4.6 with an even number of rows use the legacy layout.
    """

    squares_x: int
    squares_y: int
    square_size: float
    marker_size: float
    dictionary: str = "DICT_4X4_50"
    legacy: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.marker_size < self.square_size:
            raise InputError(f"ChArUco marker size must be in (0, square size = {self.square_size}), "
                             f"got {self.marker_size}")
        if not hasattr(cv2.aruco, self.dictionary) or not self.dictionary.startswith("DICT_"):
            raise InputError(f"unknown ArUco dictionary {self.dictionary!r} (e.g. DICT_4X4_50, DICT_5X5_100)")

    def cv_board(self) -> "cv2.aruco.CharucoBoard":
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        board = cv2.aruco.CharucoBoard((self.squares_x, self.squares_y), self.square_size, self.marker_size,
                                       dictionary)
        board.setLegacyPattern(self.legacy)
        return board

    def detect(self, gray: np.ndarray, max_side: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
        """Find the board's corners in a (H, W) uint8 image (at full resolution; ``max_side`` is unused).

        Returns (object points (N, 3) m, image points (N, 2) px) of the N >= 6 corners seen, or None
        when fewer are seen or they are collinear (no constraint on the intrinsics).
        """
        board = self.cv_board()
        corners, ids, _, _ = cv2.aruco.CharucoDetector(board).detectBoard(gray)
        if ids is None or len(ids) < 6 or board.checkCharucoCornersCollinear(ids):
            return None
        obj, img = board.matchImagePoints(corners, ids)
        img = img.reshape(-1, 2).astype(np.float64)
        # Refine with a window that stays inside the gap between the corner and the nearest marker.
        gaps = np.linalg.norm(img[:, None] - img[None], axis=-1) + np.eye(len(img)) * 1e9
        gap = gaps.min() * (self.square_size - self.marker_size) / (2 * self.square_size)
        half = int(np.clip(0.8 * gap, 2, 11))
        img = cv2.cornerSubPix(gray, img.astype(np.float32).reshape(-1, 1, 2), (half, half), (-1, -1),
                               _SUBPIX_CRITERIA).reshape(-1, 2).astype(np.float64)
        return obj.reshape(-1, 3).astype(np.float64), img


Board = Checkerboard | CharucoBoard


def detect_checkerboard(gray: np.ndarray, pattern: tuple[int, int], max_side: int = 1000) -> np.ndarray | None:
    """Checkerboard inner corners in a grayscale image.

    Args:
        gray: (H, W) uint8 image.
        pattern: (cols, rows) inner corners.
        max_side: detect on a copy whose long side is at most this many px (0: full resolution).

    Returns:
        (cols * rows, 2) px at full resolution, row-major, or None when no regular grid is found.
    """
    height, width = gray.shape[:2]
    scale = 1.0 if max_side <= 0 else min(1.0, max_side / max(height, width))
    small = gray if scale == 1.0 else cv2.resize(gray, (round(width * scale), round(height * scale)),
                                                 interpolation=cv2.INTER_AREA)
    found, corners = cv2.findChessboardCornersSB(small, pattern, flags=cv2.CALIB_CB_NORMALIZE_IMAGE
                                                 | cv2.CALIB_CB_EXHAUSTIVE)
    if not found:
        found, corners = cv2.findChessboardCorners(small, pattern, flags=cv2.CALIB_CB_ADAPTIVE_THRESH
                                                   | cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not found:
        return None
    # pixel centres: x_full = (x_small + 0.5) * width / small_width - 0.5 (exact for INTER_AREA)
    ratio = np.array([width / small.shape[1], height / small.shape[0]])
    corners = (corners.reshape(-1, 2).astype(np.float64) + 0.5) * ratio - 0.5
    if grid_irregularity(corners, pattern) > MAX_GRID_IRREGULARITY:
        log.debug("discarding an irregular checkerboard grid")
        return None
    # cornerSubPix window: 15 % of the smallest corner spacing, so it never reaches a neighbouring corner.
    half = int(np.clip(0.15 * grid_spacing(corners, pattern), 2, 11))
    refined = cv2.cornerSubPix(gray, corners.astype(np.float32).reshape(-1, 1, 2), (half, half), (-1, -1),
                               _SUBPIX_CRITERIA).reshape(-1, 2).astype(np.float64)
    if grid_irregularity(refined, pattern) > MAX_GRID_IRREGULARITY:
        return None
    return refined


def grid_spacing(corners: np.ndarray, pattern: tuple[int, int]) -> float:
    """Smallest distance between neighbouring corners of a (cols * rows, 2) px grid, px."""
    grid = corners.reshape(pattern[1], pattern[0], 2)
    return float(min(np.linalg.norm(np.diff(grid, axis=0), axis=-1).min(),
                     np.linalg.norm(np.diff(grid, axis=1), axis=-1).min()))


def grid_irregularity(corners: np.ndarray, pattern: tuple[int, int]) -> float:
    """Largest |c[i-1] - 2 c[i] + c[i+1]| / local spacing along rows and columns of a (cols * rows, 2) grid.

    0 for an affine grid; small (< 0.2) under perspective and lens distortion; > 1 for a scrambled
    corner order. Grids with only 2 corners along both axes have no second differences and give 0.
    """
    grid = corners.reshape(pattern[1], pattern[0], 2)
    worst = 0.0
    for g in (grid, grid.transpose(1, 0, 2)):  # the two grid directions, not a loop over corners
        if g.shape[0] < 3:
            continue
        second = np.linalg.norm(g[2:] - 2 * g[1:-1] + g[:-2], axis=-1)
        spacing = 0.5 * (np.linalg.norm(g[2:] - g[1:-1], axis=-1) + np.linalg.norm(g[1:-1] - g[:-2], axis=-1))
        worst = max(worst, float(np.max(second / np.maximum(spacing, 1e-9))))
    return worst
