"""``spine3d visualize``: render a 3D result (TRC or npz) as PNG frames or an MP4, or overlay it on video."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.results3d import Result3D, read_result3d
from spine3d.skeletons import SKELETONS, Skeleton, get_skeleton, keypoints_layout

EPILOG = """\
input:  a 3D result as 'spine3d triangulate' and 'spine3d lift' write it (npz or HDF5: 'points' (T, J, 3)
        with 'joint_names', 'frame' world (Z-up) or camera (x right, y down, z forward; shown with
        up = -y), 'unit', 'skeleton', 'fps'; see README "Formats"), or an OpenSim TRC (markers, any unit;
        read as world Z-up). NaN points are missing and not drawn.
skeleton: the layout whose joint names (or canonical names) equal the input's names, in any order;
        --skeleton NAME picks one and matches the input's names to it (joints it lacks are not drawn).
output: OUT ending in .mp4 -> an MP4 video (OpenCV mp4v); anything else -> a folder of frame_000000.png...
overlay: with --calib Calib.toml --video VIDEO_OR_IMAGE_FOLDER [--camera NAME] the world-frame points are
        reprojected into that camera (distortion included) and drawn on its frames instead;
        --frames a:b then also selects video frames a..b-1.
"""


def add_parser(subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(name, help=help_text, description=help_text + ".", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, help="3D result (.npz / .h5 from triangulate or lift) or a TRC file")
    p.add_argument("--out", required=True, type=Path, help="output .mp4 file or folder for PNG frames")
    p.add_argument("--skeleton", default=None, help=f"layout of the points ({', '.join(SKELETONS)})")
    p.add_argument("--fps", type=float, default=None, help="frame rate, Hz (default: the file's, else 30)")
    p.add_argument("--frames", default=None, metavar="A:B", help="frame range, Python slice style (e.g. 0:100)")
    p.add_argument("--elev", type=float, default=12.0, help="view elevation, degrees (default 12)")
    p.add_argument("--azim", type=float, default=-65.0, help="view azimuth, degrees (default -65)")
    p.add_argument("--size", type=int, nargs=2, default=(640, 640), metavar=("W", "H"),
                   help="frame size of the 3D rendering, px (default 640 640)")
    p.add_argument("--calib", type=Path, default=None, help="calibration TOML, for --video overlays")
    p.add_argument("--camera", default=None, help="camera name in --calib (default: the only camera)")
    p.add_argument("--video", type=Path, default=None, help="video file or image folder filmed by --camera")
    return p


def load_result(path: Path) -> Result3D:
    """Read a 3D result (see EPILOG); InputError for anything malformed."""
    result = read_result3d(path)
    pts = result.points
    if len(pts) == 0:
        raise InputError(f"points must have shape (T, J, 3) with T >= 1, got {pts.shape}", path)
    if np.isinf(pts).any() or not np.isfinite(pts).any():
        raise InputError("points must be finite or NaN (missing), with at least one finite value", path)
    return result


def match_skeleton(names: Sequence[str] | None, num_joints: int, requested: str | None,
                   path: Path | None = None) -> tuple[Skeleton, np.ndarray]:
    """The layout of the input and, for each of its joints, the input column (-1 where missing).

    Without ``requested``, the layout is the one whose names or canonical names equal ``names``
    (any order), or the unique layout with ``num_joints`` joints when there are no names.
    """
    if requested is not None:
        skeleton = get_skeleton(requested)
        if names is None:
            if num_joints != skeleton.num_joints:
                raise InputError(f"{num_joints} joints per frame, skeleton {skeleton.name} has {skeleton.num_joints}",
                                 path)
            return skeleton, np.arange(num_joints)
        index = _columns(skeleton, names)
        if (index < 0).all():
            raise InputError(f"none of the joint names ({_preview(names)}) belong to skeleton {skeleton.name}", path)
        return skeleton, index
    if names is None:
        try:
            return keypoints_layout(num_joints), np.arange(num_joints)
        except InputError as exc:
            raise InputError(str(exc), path) from None
    for skeleton in SKELETONS.values():
        if set(names) in (set(skeleton.names), set(skeleton.canonical)) and len(set(names)) == len(names):
            return skeleton, _columns(skeleton, names)
    raise InputError(f"joint names ({_preview(names)}) match no known skeleton; pass --skeleton NAME", path)


def _columns(skeleton: Skeleton, names: Sequence[str]) -> np.ndarray:
    lookup = {n: i for i, n in enumerate(names)}
    return np.array([lookup.get(own, lookup.get(canon, -1)) for own, canon in zip(skeleton.names, skeleton.canonical)],
                    dtype=np.int64)


def _preview(names: Sequence[str], count: int = 4) -> str:
    return ", ".join(names[:count]) + (f", ... ({len(names)} in all)" if len(names) > count else "")


def parse_frames(text: str | None, total: int) -> slice:
    """``"a:b"``, ``"a:"``, ``":b"`` or ``"a"`` (one frame) -> a slice with a non-empty range of ``total``."""
    if text is None:
        return slice(0, total)
    match = re.fullmatch(r"\s*(-?\d*)\s*(:\s*(-?\d*))?\s*", text)
    if not match or (match.group(1) == "" and match.group(2) is None):
        raise InputError(f"--frames must look like A:B, A:, :B or A, got {text!r}")
    start = int(match.group(1)) if match.group(1) else None
    if match.group(2) is None:
        stop = None if start == -1 else start + 1
    else:
        stop = int(match.group(3)) if match.group(3) else None
    first, last, _ = slice(start, stop).indices(total)
    if last <= first:
        raise InputError(f"--frames {text} selects no frame of the {total}")
    return slice(first, last)


def run(args: argparse.Namespace) -> int:
    seq = load_result(args.input)
    skeleton, columns = match_skeleton(list(seq.joint_names) or None, seq.points.shape[1], args.skeleton or seq.skeleton,
                                       args.input)
    # the renderer draws world frames in m and camera frames in mm
    points = np.take(seq.in_metres() * (1.0 if seq.frame == "world" else 1000.0), np.clip(columns, 0, None), axis=1)
    points[:, columns < 0] = np.nan
    frames = parse_frames(args.frames, len(points))
    points = points[frames]
    fps = args.fps if args.fps is not None else seq.fps or 30.0
    if not fps > 0:
        raise InputError(f"--fps must be a positive frame rate, got {fps}")
    if min(args.size) < 16:
        raise InputError(f"--size must be at least 16 x 16 px, got {args.size[0]} x {args.size[1]}")
    if args.calib is not None or args.video is not None or args.camera is not None:
        return _overlay(args, seq, points, skeleton, fps, frames.start)
    from spine3d.viz.render import render_sequence

    render_sequence(points, skeleton, args.out, fps, frame=seq.frame, elev=args.elev, azim=args.azim,
                    size=tuple(args.size), title=args.input.name, first_index=frames.start)
    print(f"rendered {len(points)} frames of {skeleton.name} ({seq.frame} frame) -> {args.out}")
    return 0


def _overlay(args, seq: Result3D, points: np.ndarray, skeleton: Skeleton, fps: float, start: int) -> int:
    if args.calib is None or args.video is None:
        raise InputError("a video overlay needs both --calib and --video (and --camera for a multi-camera rig)")
    if seq.frame != "world":
        raise InputError("a video overlay needs world-frame points (a triangulation or a TRC); this file's "
                         "points are in the camera frame (a lifted, root-relative sequence)", args.input)
    from spine3d.calibration.rig import CameraRig
    from spine3d.viz.overlay import overlay_on_video

    rig = CameraRig.from_toml(args.calib)
    if args.camera is None and len(rig) != 1:
        raise InputError(f"the rig has {len(rig)} cameras ({', '.join(rig.names)}); choose one with --camera",
                         args.calib)
    try:
        camera = rig[args.camera if args.camera is not None else 0]
    except KeyError:
        raise InputError(f"no camera named {args.camera!r}; the rig has {', '.join(rig.names)}", args.calib) from None
    overlay_on_video(points, camera, skeleton, args.video, args.out, args.fps, start=start)
    print(f"overlaid {len(points)} frames of {skeleton.name} on {args.video} (camera {camera.name}) -> {args.out}")
    return 0
