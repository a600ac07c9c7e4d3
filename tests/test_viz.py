"""Figures, spine geometry, sequence rendering and ``spine3d visualize``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from spine3d.calibration.camera import Camera
from spine3d.calibration.rig import CameraRig
from spine3d.cli.main import main as cli_main
from spine3d.cli.visualize import match_skeleton, parse_frames
from spine3d.errors import InputError
from spine3d.formats.opensim import write_trc
from spine3d.skeletons import COCO_17, H36M_17, SIMSPINE_15, SIMSPINE_37, SPINEPOSE_37, Skeleton, remap
from spine3d.viz import (facing_direction, overlay_on_video, plot_error_per_action, plot_error_vs_outliers,
                         plot_overlay_2d, plot_per_joint_errors, plot_skeleton_3d, plot_spine_sagittal,
                         render_sequence, sagittal_spine_angles, spine_level_names, spine_segment_angles)
from spine3d.viz.render import frame_sink

DPI = 50
# A person standing at the origin, facing +x (world frame, Z-up, metres), SIMSPINE-37 canonical names.
_POSE = {
    "Hip": (0, 0, 0.95), "Spine_01": (-0.01, 0, 1.03), "Spine_02": (-0.02, 0, 1.11), "Spine_03": (-0.015, 0, 1.19),
    "Spine_04": (0.0, 0, 1.27), "Spine_05": (-0.01, 0, 1.36), "Neck": (0.0, 0, 1.47), "Neck_02": (0.015, 0, 1.52),
    "Neck_03": (0.025, 0, 1.57), "Head": (0.03, 0, 1.66), "Nose": (0.11, 0, 1.62), "REye": (0.09, -0.03, 1.66),
    "LEye": (0.09, 0.03, 1.66), "REar": (0.02, -0.07, 1.64), "LEar": (0.02, 0.07, 1.64),
    "RLatissimus": (-0.05, -0.12, 1.25), "LLatissimus": (-0.05, 0.12, 1.25), "RClavicle": (0.03, -0.08, 1.44),
    "RShoulder": (0.0, -0.19, 1.43), "RElbow": (0.0, -0.22, 1.15), "RWrist": (0.1, -0.22, 0.95),
    "LClavicle": (0.03, 0.08, 1.44), "LShoulder": (0.0, 0.19, 1.43), "LElbow": (0.0, 0.22, 1.15),
    "LWrist": (0.1, 0.22, 0.95), "RHip": (0, -0.1, 0.93), "RKnee": (0.02, -0.1, 0.5), "RAnkle": (0, -0.1, 0.08),
    "RBigToe": (0.18, -0.1, 0.01), "RSmallToe": (0.16, -0.15, 0.01), "RHeel": (-0.05, -0.1, 0.01),
    "LHip": (0, 0.1, 0.93), "LKnee": (0.02, 0.1, 0.5), "LAnkle": (0, 0.1, 0.08), "LBigToe": (0.18, 0.1, 0.01),
    "LSmallToe": (0.16, 0.15, 0.01), "LHeel": (-0.05, 0.1, 0.01),
}
POSE37 = np.array([_POSE[c] for c in SIMSPINE_37.canonical], dtype=np.float64)


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def walking(frames: int) -> np.ndarray:
    """(T, 37, 3) m: the pose turning and walking forward."""
    angles = np.linspace(0.0, 0.6, frames)
    rots = np.stack([rot_z(a) for a in angles])
    return np.einsum("tij,kj->tki", rots, POSE37) + angles[:, None, None] * np.array([0.5, 0.2, 0.0])


def check_png(path: Path, width: tuple[int, int], height: tuple[int, int]) -> np.ndarray:
    """The file decodes, its size is in range, and it is not a blank single-colour image."""
    assert path.is_file() and path.stat().st_size > 0
    image = cv2.imread(str(path))
    assert image is not None, path
    assert width[0] <= image.shape[1] <= width[1] and height[0] <= image.shape[0] <= height[1], image.shape
    assert image.std() > 5.0 and len(np.unique(image.reshape(-1, 3), axis=0)) > 20
    return image


# -- figures ------------------------------------------------------------------------------------

def test_skeleton_3d_pred_vs_gt(tmp_path):
    rng = np.random.default_rng(0)
    pred = POSE37 + rng.normal(0, 0.01, POSE37.shape)
    out = plot_skeleton_3d(tmp_path / "s.png", pred, POSE37, SIMSPINE_37, title="pred vs gt", dpi=DPI)
    check_png(out, (250, 300), (250, 300))  # 5.5 in x 50 dpi = 275 px


def test_skeleton_3d_without_spine_and_camera_frame(tmp_path):
    coco = remap(POSE37, SIMSPINE_37, COCO_17)
    check_png(plot_skeleton_3d(tmp_path / "c.png", coco, None, COCO_17, dpi=DPI), (250, 300), (250, 300))
    cam_mm = np.stack([POSE37[:, 1], 1.0 - POSE37[:, 2], POSE37[:, 0] + 3.0], axis=-1) * 1000  # x right, y down
    cam_mm[3] = np.nan  # a missing joint is skipped
    out = plot_skeleton_3d(tmp_path / "cam.png", None, cam_mm, SIMSPINE_37, frame="camera", dpi=DPI)
    check_png(out, (250, 300), (250, 300))
    with pytest.raises(InputError, match="shape"):
        plot_skeleton_3d(tmp_path / "bad.png", POSE37[:10], None, SIMSPINE_37)
    with pytest.raises(InputError, match="pred or gt"):
        plot_skeleton_3d(tmp_path / "bad.png", None, None, SIMSPINE_37)


def test_spine_sagittal_figure(tmp_path):
    pred = POSE37 + np.random.default_rng(1).normal(0, 0.005, POSE37.shape)
    out = plot_spine_sagittal(tmp_path / "sag.png", pred, POSE37, SIMSPINE_37, dpi=DPI)
    check_png(out, (200, 300), (250, 320))
    only15 = remap(POSE37, SIMSPINE_37, SIMSPINE_15)  # clavicles give the facing direction
    check_png(plot_spine_sagittal(tmp_path / "s15.png", only15, None, SIMSPINE_15, dpi=DPI), (200, 300), (250, 320))
    with pytest.raises(InputError, match="spine joints"):
        plot_spine_sagittal(tmp_path / "coco.png", remap(POSE37, SIMSPINE_37, COCO_17), None, COCO_17)
    no_hip = POSE37.copy()
    no_hip[0] = np.nan
    with pytest.raises(InputError, match="Hip"):
        plot_spine_sagittal(tmp_path / "nohip.png", no_hip, None, SIMSPINE_37)
    with pytest.raises(InputError, match="non-vertical"):
        plot_spine_sagittal(tmp_path / "up.png", POSE37, None, SIMSPINE_37, forward=[0.0, 0.0, 1.0])


def test_charts(tmp_path):
    rng = np.random.default_rng(2)
    errors = {"DLT": rng.uniform(10, 60, 37), "RANSAC": rng.uniform(10, 60, 37)}
    errors["RANSAC"][[0, 5]] = np.nan  # skipped bars
    check_png(plot_per_joint_errors(tmp_path / "pj.png", errors, SIMSPINE_37, "per joint", dpi=DPI), (600, 800),
              (180, 220))
    ratios = np.array([0.0, 0.1, 0.2, 0.4])
    lines = {"DLT": [20.0, 45.0, 90.0, 150.0], "RANSAC": [20.0, 21.0, np.nan, 30.0]}
    check_png(plot_error_vs_outliers(tmp_path / "o.png", ratios, lines, "outliers", dpi=DPI), (280, 320), (180, 220))
    actions = ["Directions", "Eating", "Walking"]
    per_action = {"DLT": [30.0, 40.0, 50.0], "lifter": [35.0, np.nan, 45.0]}
    check_png(plot_error_per_action(tmp_path / "a.png", actions, per_action, "actions", dpi=DPI), (300, 350),
              (140, 180))
    with pytest.raises(InputError, match=r"'DLT' must have shape \(37,\)"):
        plot_per_joint_errors(tmp_path / "bad.png", {"DLT": np.ones(17)}, SIMSPINE_37, "x")
    with pytest.raises(InputError, match="format"):
        plot_error_vs_outliers(tmp_path / "bad.xyz", ratios, lines, "x")


def test_overlay_2d_panels(tmp_path):
    cam = _front_camera()
    uv = np.stack([cam.project(POSE37), cam.project(POSE37 + 0.02)])
    sizes = np.array([[160, 120], [160, 120]])
    image = np.full((120, 160, 3), (30, 90, 30), dtype=np.uint8)
    out = plot_overlay_2d(tmp_path / "ov.png", uv, SIMSPINE_37, sizes, images=[image, None], names=["a", "b"],
                          second=uv + 3.0, dpi=DPI)
    check_png(out, (480, 520), (190, 230))  # 2 x 3.6 in x 4/3 + 0.4 in wide, 3.6 + 0.5 in high
    with pytest.raises(InputError, match="must have shape"):
        plot_overlay_2d(tmp_path / "bad.png", uv, SIMSPINE_37, sizes, images=[image[:10], None])


# -- spine geometry -----------------------------------------------------------------------------

def _bent_chain(phi: np.ndarray, lengths: np.ndarray, skeleton: Skeleton, rng) -> np.ndarray:
    """(J, 3) pose whose column segments point along (sin phi_i, 0, cos phi_i) in the xz plane."""
    points = rng.normal(size=(skeleton.num_joints, 3))  # non-column joints: anything
    seg = lengths[:, None] * np.stack([np.sin(phi), np.zeros_like(phi), np.cos(phi)], axis=-1)
    column = np.concatenate([np.zeros((1, 3)), np.cumsum(seg, axis=0)])
    points[[skeleton.index(n) for n in ("Hip", "Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05", "Neck",
                                        "Neck_02", "Neck_03")]] = column
    return points


def test_spine_segment_angles_closed_form():
    rng = np.random.default_rng(3)
    phi = np.cumsum(rng.uniform(-0.5, 0.5, 8))  # 8 segments -> 7 levels, turns of up to 28.6 deg
    pose = _bent_chain(phi, rng.uniform(0.03, 0.12, 8), SIMSPINE_15, rng)
    expected = np.degrees(np.diff(phi))  # the turn from segment i to i+1 about +y is phi_{i+1} - phi_i
    assert spine_level_names(SIMSPINE_15) == ["Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05", "Neck",
                                              "Neck_02"]
    np.testing.assert_allclose(spine_segment_angles(pose, SIMSPINE_15), np.abs(expected), atol=1e-9)
    np.testing.assert_allclose(spine_segment_angles(pose, SIMSPINE_15, normal=[0, 1, 0]), expected, atol=1e-9)
    np.testing.assert_allclose(spine_segment_angles(pose, SIMSPINE_15, normal=[0, -1, 0]), -expected, atol=1e-9)
    # invariant under a rigid motion and a scale (normal rotated with the body); batched leading axes
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    moved = np.stack([pose, 250.0 * pose @ q.T + rng.normal(size=3)])[None].repeat(2, axis=0)  # (2, 2, J, 3)
    normal = np.stack([[0.0, 1.0, 0.0], q @ [0.0, 1.0, 0.0]])
    out = spine_segment_angles(moved, SIMSPINE_15, normal=normal)
    assert out.shape == (2, 2, 7)
    np.testing.assert_allclose(out, np.broadcast_to(expected, (2, 2, 7)), atol=1e-8)


def test_spine_segment_angles_3d_brute_force():
    rng = np.random.default_rng(4)
    pose = rng.normal(size=(SPINEPOSE_37.num_joints, 3))
    chain = [SPINEPOSE_37.index(n) for n in ("Hip", "Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05",
                                             "Neck", "Neck_02", "Neck_03")]
    ref = []
    for i in range(1, len(chain) - 1):
        a, b = pose[chain[i]] - pose[chain[i - 1]], pose[chain[i + 1]] - pose[chain[i]]
        ref.append(np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))))
    np.testing.assert_allclose(spine_segment_angles(pose, SPINEPOSE_37), ref, atol=1e-7)
    pose[chain[4]] = np.nan  # a missing joint spoils the two levels beside it and its own
    out = spine_segment_angles(pose, SPINEPOSE_37)
    assert np.isnan(out[2:5]).all() and np.isfinite(out[[0, 1, 5, 6]]).all()
    with pytest.raises(InputError, match="at least 3"):
        spine_segment_angles(np.zeros((17, 3)), H36M_17)


def test_facing_direction_and_sagittal_angles_follow_the_body():
    rng = np.random.default_rng(5)
    phi = np.cumsum(rng.uniform(-0.3, 0.3, 8))
    bent = POSE37.copy()
    bent[:9] = _bent_chain(phi, np.full(8, 0.08), SIMSPINE_15, rng)[:9] + [0.0, 0.0, 0.95]
    for yaw in (0.0, 0.7, 2.5, -2.0):
        posed = bent @ rot_z(yaw).T
        np.testing.assert_allclose(facing_direction(posed, SIMSPINE_37), [np.cos(yaw), np.sin(yaw), 0.0], atol=1e-9)
        angles = sagittal_spine_angles(posed, SIMSPINE_37)
        np.testing.assert_allclose(list(angles.values()), np.degrees(np.diff(phi)), atol=1e-8)
    # a purely lateral bend (in the frontal plane) has no sagittal component
    lateral = bent.copy()
    lateral[:9] = bent[:9][:, [1, 0, 2]]  # the column now bends along y
    assert np.all(np.abs(list(sagittal_spine_angles(lateral, SIMSPINE_37).values())) < 1e-8)
    assert spine_segment_angles(lateral, SIMSPINE_37).max() > 5.0
    with pytest.raises(InputError, match="pair"):
        facing_direction(np.zeros((15, 3)), Skeleton("line", ("Hip", "Spine_01", "Neck"), (-1, 0, 1)))


# -- rendering ----------------------------------------------------------------------------------

def test_render_png_folder_and_mp4(tmp_path):
    seq = walking(4)
    seq[2, 5] = np.nan
    folder = render_sequence(seq, SIMSPINE_37, tmp_path / "frames", fps=10, size=(160, 120), progress=False)
    files = sorted(folder.glob("frame_*.png"))
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(4)]
    check_png(files[-1], (160, 160), (120, 120))
    video = render_sequence(seq, SIMSPINE_37, tmp_path / "walk.mp4", fps=10, size=(160, 128), progress=False)
    capture = cv2.VideoCapture(str(video))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 4 and capture.get(cv2.CAP_PROP_FRAME_WIDTH) == 160
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary left behind


def test_render_limits_cover_the_whole_sequence(tmp_path):
    """Frame 0 looks different when a later frame is far away: the limits are fixed for the sequence."""
    still = np.stack([POSE37, POSE37])
    moved = np.stack([POSE37, POSE37 + [2.0, 0.0, 0.0]])
    a = render_sequence(still, SIMSPINE_37, tmp_path / "a", size=(120, 120), progress=False)
    b = render_sequence(moved, SIMSPINE_37, tmp_path / "b", size=(120, 120), progress=False)
    frame_a0, frame_a1 = (cv2.imread(str(a / f"frame_00000{i}.png")) for i in (0, 1))
    frame_b0 = cv2.imread(str(b / "frame_000000.png"))
    body = slice(20, None)  # below the title, which shows the frame number
    assert np.array_equal(frame_a0[body], frame_a1[body])
    assert np.abs(frame_a0[body].astype(int) - frame_b0[body]).mean() > 1.0
    # same limits in reverse order: each frame shows only its own pose (the previous one was removed)
    c = render_sequence(moved[::-1], SIMSPINE_37, tmp_path / "c", size=(120, 120), progress=False)
    assert np.array_equal(cv2.imread(str(b / "frame_000001.png"))[body], cv2.imread(str(c / "frame_000000.png"))[body])


def test_render_rejects_bad_input(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="shape"):
        render_sequence(np.zeros((3, 17, 3)), SIMSPINE_37, tmp_path / "x")
    with pytest.raises(InputError, match="mp4"):
        render_sequence(walking(2), SIMSPINE_37, tmp_path / "x.avi")

    class ClosedWriter:
        def __init__(self, *args):
            pass

        def isOpened(self):
            return False

    monkeypatch.setattr("spine3d.viz.render.cv2.VideoWriter", ClosedWriter)
    with pytest.raises(InputError, match="PNG frames instead"):
        with frame_sink(tmp_path / "v.mp4", 10) as write:
            write(np.zeros((8, 8, 3), np.uint8))
    assert not (tmp_path / "v.mp4").exists()


def _front_camera(size=(160, 120)) -> Camera:
    """A camera 3 m in front of the standing pose (on +x, 1 m high), looking back at it."""
    R = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])  # rows: x_cam, y_cam, z_cam in world
    center = np.array([3.0, 0.0, 1.0])
    return Camera("front", size, [[100.0, 0, size[0] / 2], [0, 100.0, size[1] / 2], [0, 0, 1]], np.zeros(4), R,
                  -R @ center)


def test_overlay_on_video_folder_and_mp4(tmp_path):
    cam = _front_camera()
    frames = tmp_path / "in"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"img_{i:03d}.png"), np.zeros((120, 160, 3), np.uint8))
    seq = walking(5)
    out = overlay_on_video(seq, cam, SIMSPINE_37, frames, tmp_path / "out", progress=False)
    files = sorted(out.glob("frame_*.png"))
    assert len(files) == 3  # the shorter of the video (3) and the sequence (5)
    image = cv2.imread(str(files[0]))
    u, v = np.round(cam.project(seq[0, SIMSPINE_37.index("Spine_03")])).astype(int)
    b, g, r = image[v, u].astype(int)
    assert r > 150 and r > 2 * max(b, g)  # spine drawn in red over black
    video_in = tmp_path / "in.mp4"
    with frame_sink(video_in, 10) as write:
        for i in range(4):
            write(np.full((120, 160, 3), 40 * i, np.uint8))
    video_out = overlay_on_video(seq, cam, SIMSPINE_37, video_in, tmp_path / "o.mp4", start=1, progress=False)
    capture = cv2.VideoCapture(str(video_out))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 3  # frames 1..3 of the input


# -- CLI ----------------------------------------------------------------------------------------

def test_visualize_cli_trc_and_npz(tmp_path, capsys):
    seq = walking(6)
    write_trc(tmp_path / "walk.trc", seq, SIMSPINE_37.names, fps=50.0, units="mm")
    assert cli_main(["visualize", str(tmp_path / "walk.trc"), "--out", str(tmp_path / "png"), "--frames", "1:4",
                     "--size", "96", "96"]) == 0
    assert len(list((tmp_path / "png").glob("frame_*.png"))) == 3
    assert "rendered 3 frames of simspine37" in capsys.readouterr().out
    cam_mm = np.stack([seq[..., 1], 1.0 - seq[..., 2], seq[..., 0] + 3.0], axis=-1) * 1000
    order = np.random.default_rng(6).permutation(37)  # names in another order are matched by name
    np.savez(tmp_path / "lift.npz", points_3d=cam_mm[:, order], joint_names=np.array(SIMSPINE_37.names)[order])
    assert cli_main(["visualize", str(tmp_path / "lift.npz"), "--out", str(tmp_path / "lift.mp4"),
                     "--size", "96", "96"]) == 0
    assert cv2.VideoCapture(str(tmp_path / "lift.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 6


def test_visualize_cli_overlay(tmp_path):
    CameraRig((_front_camera(),)).to_toml(tmp_path / "Calib.toml")
    frames = tmp_path / "video"
    frames.mkdir()
    for i in range(4):
        cv2.imwrite(str(frames / f"{i:04d}.jpg"), np.full((120, 160, 3), 90, np.uint8))
    np.savez(tmp_path / "res.npz", points=walking(4), joint_names=np.array(SIMSPINE_37.canonical))
    args = ["visualize", str(tmp_path / "res.npz"), "--out", str(tmp_path / "ov"), "--calib",
            str(tmp_path / "Calib.toml"), "--video", str(frames), "--frames", "2:"]
    assert cli_main(args) == 0
    assert len(list((tmp_path / "ov").glob("frame_*.png"))) == 2
    assert cli_main(args + ["--camera", "nope"]) == 2


@pytest.mark.parametrize("case, message", [
    ("missing", "No such file"),
    ("no_points", "no 'points'"),
    ("unknown_names", "match no known skeleton"),
    ("bad_suffix", "expected .npz, .h5, .hdf5, .trc"),
    ("not_npz", "not a readable npz"),
])
def test_visualize_cli_bad_input_exit_2(tmp_path, capsys, case, message):
    path = tmp_path / "in.npz"
    if case == "no_points":
        np.savez(path, keypoints=np.zeros((2, 17, 2)))
    elif case == "unknown_names":
        np.savez(path, points=np.zeros((2, 3, 3)), joint_names=np.array(["a", "b", "c"]))
    elif case == "bad_suffix":
        path = tmp_path / "in.csv"
        path.write_text("1,2,3\n")
    elif case == "not_npz":
        path.write_text("hello")
    assert cli_main(["visualize", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_match_skeleton_and_frames():
    names = list(SIMSPINE_15.names)[::-1]
    skeleton, columns = match_skeleton(names, 15, None)
    assert skeleton is SIMSPINE_15 and list(columns) == list(range(14, -1, -1))
    skeleton, columns = match_skeleton(list(COCO_17.canonical), 17, "spinepose37")  # by canonical name
    assert skeleton is SPINEPOSE_37 and (columns >= 0).sum() == 17
    with pytest.raises(InputError, match="skeleton simspine37 has 37"):
        match_skeleton(None, 17, "simspine37")
    assert parse_frames(None, 10) == slice(0, 10)
    assert parse_frames("2:5", 10) == slice(2, 5)
    assert parse_frames("-3:", 10) == slice(7, 10)
    assert parse_frames("4", 10) == slice(4, 5)
    for bad in ("5:2", "x", "20:"):
        with pytest.raises(InputError):
            parse_frames(bad, 10)
