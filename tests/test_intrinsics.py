"""Intrinsic calibration: board detection, cv2.calibrateCamera wrapper with view rejection, CLI, real images."""

from __future__ import annotations

import tomllib

import cv2
import numpy as np
import pytest

from spine3d.calibration import Camera, CameraRig
from spine3d.calibration.boards import CharucoBoard, Checkerboard, detect_checkerboard, grid_irregularity, parse_board_size
from spine3d.calibration.intrinsics import BoardViews, calibrate_views, detect_views, find_images
from spine3d.calibration.rotations import rotvec_to_rotmat
from spine3d.cli.main import main
from spine3d.errors import InputError

SEED = 20240611
BOARD = Checkerboard(6, 9, 0.03)  # 6 x 9 inner corners, 3 cm squares


def board_poses(rng: np.random.Generator, n: int, distance: float = 0.55) -> list[tuple[np.ndarray, np.ndarray]]:
    """n board poses (R (3, 3), t (3,) m) facing the camera, tilted up to ~35 degrees, centred near the axis."""
    centre = np.array([2.5, 4.0, 0.0]) * BOARD.square_size
    poses = []
    for _ in range(n):
        R = rotvec_to_rotmat(rng.uniform(-0.6, 0.6, 3) * np.array([1, 1, 0.5]))
        t = np.array([rng.uniform(-0.06, 0.06), rng.uniform(-0.05, 0.05), distance + rng.uniform(-0.1, 0.15)])
        poses.append((R, t - R @ centre))
    return poses


def synthetic_views(camera: Camera, poses, noise: float = 0.0, seed: int = SEED) -> BoardViews:
    rng = np.random.default_rng(seed)
    obj = BOARD.object_points
    imgs = [camera.with_pose(R, t).project(obj) + rng.normal(0, noise, (len(obj), 2)) for R, t in poses]
    names = tuple(f"view{i:02d}" for i in range(len(poses)))
    return BoardViews(names, tuple(obj for _ in poses), tuple(imgs), (640, 480))


PINHOLE = Camera("synthetic", [640, 480], [[800.0, 0, 322.0], [0, 805.0, 238.0], [0, 0, 1]],
                 [-0.12, 0.05, 0.001, -0.0008])


def test_calibrate_views_recovers_pinhole_intrinsics_from_exact_corners():
    views = synthetic_views(PINHOLE, board_poses(np.random.default_rng(SEED), 12))
    result = calibrate_views(views, "cam")
    np.testing.assert_allclose(result.camera.K, PINHOLE.K, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(result.camera.dist, PINHOLE.dist, atol=1e-5)
    assert result.rms < 1e-3 and result.rejected == () and len(result.used) == 12
    assert result.camera.dist.size == 4 and np.allclose(result.camera.R, np.eye(3))


def test_badly_fitting_view_is_rejected_and_named():
    views = synthetic_views(PINHOLE, board_poses(np.random.default_rng(SEED), 10), noise=0.2)
    bad = list(views.image_points)
    bad[3] = bad[3] + np.random.default_rng(1).normal(0, 6.0, bad[3].shape)  # a view with 6 px errors
    views = BoardViews(views.names, views.object_points, tuple(bad), views.image_size)
    result = calibrate_views(views, "cam")
    assert result.rejected == ("view03",) and "view03" not in result.used
    assert 0.15 < result.rms < 0.3  # the 0.2 px noise, per corner in 2D: sqrt(2) * 0.2 = 0.28 at most
    np.testing.assert_allclose(np.diag(result.camera.K)[:2], [800.0, 805.0], rtol=2e-3)


def test_distortion_terms_can_be_held_at_zero():
    views = synthetic_views(Camera("c", [640, 480], PINHOLE.K), board_poses(np.random.default_rng(3), 8))
    result = calibrate_views(views, "cam", n_radial=0, tangential=False)
    assert np.all(result.camera.dist == 0)
    np.testing.assert_allclose(result.camera.K, PINHOLE.K, rtol=1e-5)


def test_fisheye_model_recovers_intrinsics():
    fisheye = Camera("fish", [640, 480], [[420.0, 0, 318.0], [0, 421.0, 242.0], [0, 0, 1]],
                     [0.05, -0.02, 0.01, -0.002], model="fisheye")
    views = synthetic_views(fisheye, board_poses(np.random.default_rng(7), 12, distance=0.35))
    result = calibrate_views(views, "cam", model="fisheye")
    assert result.camera.model == "fisheye"
    np.testing.assert_allclose(result.camera.K, fisheye.K, rtol=1e-4, atol=0.05)
    assert result.rms < 1e-3


def test_too_few_views_is_an_input_error():
    views = synthetic_views(PINHOLE, board_poses(np.random.default_rng(SEED), 2))
    with pytest.raises(InputError, match="2 usable board view"):
        calibrate_views(views, "cam")


# -- detection on rendered images ------------------------------------------------------------------

def render_board(camera: Camera, R: np.ndarray, t: np.ndarray, square_px: int = 40) -> np.ndarray:
    """Grayscale image of BOARD (white margin of one square) seen by a distortion-free ``camera``."""
    cols, rows = BOARD.cols + 1, BOARD.rows + 1  # squares
    margin = square_px
    texture = np.full((rows * square_px + 2 * margin, cols * square_px + 2 * margin), 255, np.uint8)
    for j in range(rows):
        for i in range(cols):
            if (i + j) % 2 == 0:
                y, x = margin + j * square_px, margin + i * square_px
                texture[y: y + square_px, x: x + square_px] = 0
    # board metres -> texture px (pixel centres): inner corner (0, 0) sits on the edge at margin + square_px
    s = square_px / BOARD.square_size
    offset = margin + square_px - 0.5
    return render_texture(texture, np.array([[s, 0, offset], [0, s, offset], [0, 0, 1]]), camera, R, t)


def render_texture(texture: np.ndarray, board_to_texture: np.ndarray, camera: Camera, R: np.ndarray,
                   t: np.ndarray) -> np.ndarray:
    """Warp a board texture into ``camera`` (no distortion) placed at board pose (R, t)."""
    H = camera.K @ np.column_stack([R[:, 0], R[:, 1], t])  # board plane (z = 0) -> image
    size = tuple(int(v) for v in camera.size)
    return cv2.warpPerspective(texture, H @ np.linalg.inv(board_to_texture), size, flags=cv2.INTER_LINEAR,
                               borderValue=180)


IDEAL = Camera("ideal", [1280, 960], [[1100.0, 0, 645.0], [0, 1100.0, 470.0], [0, 0, 1]], np.zeros(4))


@pytest.mark.parametrize("max_side", [0, 700])
def test_detected_corners_match_rendered_geometry(max_side):
    R, t = board_poses(np.random.default_rng(11), 1, distance=0.6)[0]
    image = render_board(IDEAL, R, t)
    corners = detect_checkerboard(image, (BOARD.cols, BOARD.rows), max_side=max_side)
    expected = IDEAL.with_pose(R, t).project(BOARD.object_points)
    assert corners is not None
    if np.linalg.norm(corners[0] - expected[0]) > np.linalg.norm(corners[0] - expected[-1]):
        corners = corners[::-1]  # OpenCV may start from the opposite corner (the board is 180-degree symmetric)
    assert np.abs(corners - expected).max() < 0.2  # measured 0.13 px (bilinear rendering)


def test_grid_irregularity_flags_a_scrambled_grid():
    grid = IDEAL.with_pose(*board_poses(np.random.default_rng(2), 1)[0]).project(BOARD.object_points)
    assert grid_irregularity(grid, (BOARD.cols, BOARD.rows)) < 0.1
    scrambled = grid.copy()
    scrambled[[5, 30]] = scrambled[[30, 5]]
    assert grid_irregularity(scrambled, (BOARD.cols, BOARD.rows)) > 1.0


def test_charuco_board_detection():
    board = CharucoBoard(5, 7, 0.04, 0.03, "DICT_4X4_50")
    image = board.cv_board().generateImage((500, 700), marginSize=20)
    found = board.detect(image)
    assert found is not None
    obj, img = found
    assert obj.shape == (24, 3) and img.shape == (24, 2)
    # 92 px squares centred in 500 x 700 px: margins 20 px (x) and 28 px (y); corners on pixel edges (-0.5)
    np.testing.assert_allclose(img, obj[:, :2] / 0.04 * 92 + [20 - 0.5, 28 - 0.5], atol=0.2)
    assert board.detect(np.full((700, 500), 255, np.uint8)) is None


def test_board_size_parsing():
    assert parse_board_size("4x7") == (4, 7) and parse_board_size("9X6") == (9, 6)
    for bad in ("4", "4x", "ax7", "1x7"):
        with pytest.raises(InputError):
            parse_board_size(bad)


def test_missing_unreadable_and_boardless_images(tmp_path, caplog):
    with pytest.raises(InputError, match="no image files match"):
        find_images(str(tmp_path / "*.png"))
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((480, 640), 128, np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="no calibration board found in any of the 2 images of 'GLOB'"):
        detect_views(find_images(str(tmp_path / "*.png")), BOARD, progress=False, label="'GLOB'")
    assert "not a readable image" in caplog.text and "board not found" in caplog.text


# -- CLI --------------------------------------------------------------------------------------------

def test_cli_calibrates_rendered_views(tmp_path, capsys):
    for k, (R, t) in enumerate(board_poses(np.random.default_rng(5), 6, distance=0.6)):
        cv2.imwrite(str(tmp_path / f"view_{k}.png"), render_board(IDEAL, R, t))
    cv2.imwrite(str(tmp_path / "view_blank.png"), np.full((960, 1280), 128, np.uint8))
    out = tmp_path / "calib.toml"
    code = main(["calibrate", "intrinsics", "--images", str(tmp_path / "view_*.png"), "--board", "6x9",
                 "--square-size", "0.03", "--out", str(out), "--names", "cam_A", "--radial", "0",
                 "--no-tangential", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "cam_A" in printed and "wrote" in printed
    cam = CameraRig.from_toml(out)["cam_A"]
    np.testing.assert_allclose(cam.K, IDEAL.K, rtol=1e-3, atol=1.0)  # measured: 0.2 px off


def test_cli_calibrates_rendered_charuco_views(tmp_path, capsys):
    board = CharucoBoard(5, 7, 0.04, 0.03, "DICT_4X4_50")
    texture = board.cv_board().generateImage((500, 700), marginSize=20)  # 92 px squares, margins 20 / 28 px
    to_texture = np.array([[92 / 0.04, 0, 20 - 0.5], [0, 92 / 0.04, 28 - 0.5], [0, 0, 1]])
    centre = np.array([0.1, 0.14, 0.0])  # board centre, m
    for k, (R, t) in enumerate(board_poses(np.random.default_rng(6), 6, distance=0.7)):
        t = t + R @ (np.array([2.5, 4.0, 0.0]) * BOARD.square_size - centre)  # same poses, this board's centre
        cv2.imwrite(str(tmp_path / f"ch_{k}.png"), render_texture(texture, to_texture, IDEAL, R, t))
    out = tmp_path / "charuco.toml"
    code = main(["calibrate", "intrinsics", "--images", str(tmp_path / "ch_*.png"), "--board", "5x7",
                 "--square-size", "0.04", "--charuco", "DICT_4X4_50", "0.03", "--out", str(out), "--radial", "0",
                 "--no-tangential", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    cam = CameraRig.from_toml(out)["cam_01"]
    np.testing.assert_allclose(cam.K, IDEAL.K, rtol=3e-3, atol=3.0)  # measured: within 1.3 px


@pytest.mark.parametrize("argv, message", [
    (["--images", "/nonexistent/dir/*.jpg"], "no image files match"),
    (["--images", "BLANK"], "no calibration board found"),
    (["--images", "BLANK", "--names", "a", "b"], "--names gives 2 names for 1"),
])
def test_cli_bad_inputs_exit_2_with_one_line(tmp_path, capsys, argv, message):
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((480, 640), 128, np.uint8))
    argv = [str(tmp_path / "*.png") if a == "BLANK" else a for a in argv]
    code = main(["calibrate", "intrinsics", *argv, "--board", "4x7", "--square-size", "0.06",
                 "--out", str(tmp_path / "out.toml"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "out.toml").exists()


# -- real images (Pose2Sim demo checkerboards vs the Qualisys calibration) --------------------------

@pytest.fixture(scope="module")
def real_calibrations(shared_data):
    board = Checkerboard(4, 7, 0.06)
    results = {}
    for k in range(1, 5):
        views = detect_views(find_images(str(shared_data / "checkerboard" / f"cam{k:02d}_*.jpg")), board,
                             progress=False)
        results[f"cam_{k:02d}"] = calibrate_views(views, f"cam_{k:02d}")
    return results


def test_real_checkerboards_match_qualisys_focal_lengths(real_calibrations, shared_data):
    reference = tomllib.loads((shared_data / "pose2sim_balancing" / "Calib.toml").read_text())
    for name, result in real_calibrations.items():
        f_ref = np.array(reference[name]["matrix"])[[0, 1], [0, 1]]
        f = result.camera.K[[0, 1], [0, 1]]
        assert np.all(np.abs(f / f_ref - 1) < 0.015), (name, f, f_ref)
        assert result.rms < 0.5 and len(result.used) >= 6
        assert tuple(result.camera.size) == (1088, 1920)


def test_real_images_without_a_full_board_are_skipped(real_calibrations):
    missing = {m.rsplit("/", 1)[-1] for r in real_calibrations.values() for m in r.missing}
    assert missing == {"cam02_06.jpg", "cam04_04.jpg"}  # board hidden / partly out of the frame
