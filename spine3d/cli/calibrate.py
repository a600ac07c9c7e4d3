"""``spine3d calibrate``: intrinsics from board images, extrinsics by PnP, bundle-adjustment refinement."""

from __future__ import annotations

import argparse
from dataclasses import replace
import sys

import numpy as np

DESCRIPTION = """\
Camera calibration in three steps, each reading / writing the calibration TOML (Pose2Sim / anipose /
SIMSPINE format):

  intrinsics  one camera per --images glob: board detection, OpenCV calibration, bad views rejected
  extrinsics  camera poses from known 3D points and their pixels (PnP)
  refine      bundle adjustment of all poses from multi-view 2D keypoints of moving people
"""

EXTRINSICS_HELP = """\
File formats (C cameras, N points):
  --points3d  .npz with 'points3d' (N, 3), or .csv / .txt with N rows "x, y, z" (metres, world Z-up;
              comma or whitespace separated; a header line and '#' comments are skipped)
  --points2d  .npz with 'points2d' (C, N, 2) (or (N, 2) for one camera), or .csv / .txt with N rows of
              2C columns "u1, v1, u2, v2, ..." (px, origin top-left); NaN or empty = not seen
Cameras are those of --cameras (default: all cameras of --calib, in file order); cameras not listed
keep their pose.
"""

REFINE_HELP = """\
--detections is a keypoints npz with 'keypoints' (C, T, J, 2|3) px [+ 'confidence' (C, T, J)], cameras
in the calibration's order, NaN for missing. The reference camera keeps its pose. The scale comes from
--fixed-camera (its centre is kept), or --known-length I J METRES (mean distance of joints I and J over
all frames, e.g. a bone), or else the distance between the reference and the next camera is kept.
"""


def add_parser(subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", metavar="STEP")
    raw = argparse.RawDescriptionHelpFormatter

    intr = sub.add_parser("intrinsics", help="intrinsics from checkerboard / ChArUco images",
                          description="Intrinsic calibration, one camera per --images glob.", formatter_class=raw)
    intr.add_argument("--images", action="append", required=True, metavar="GLOB",
                      help="image glob of one camera (quote it); repeat for each camera")
    intr.add_argument("--board", required=True, metavar="COLSxROWS",
                      help="checkerboard inner corners (e.g. 4x7), or ChArUco squares with --charuco")
    intr.add_argument("--square-size", type=float, required=True, metavar="M", help="square side, metres")
    intr.add_argument("--out", required=True, help="calibration TOML to write (identity poses)")
    intr.add_argument("--names", nargs="+", help="camera names, one per --images (default cam_01, cam_02, ...)")
    intr.add_argument("--fisheye", action="store_true", help="OpenCV fisheye model (k1..k4)")
    intr.add_argument("--charuco", nargs=2, metavar=("DICT", "MARKER_M"),
                      help="ChArUco board: ArUco dictionary (e.g. DICT_4X4_50) and marker side, metres")
    intr.add_argument("--radial", type=int, default=2, choices=(0, 1, 2, 3), help="pinhole radial terms (default 2)")
    intr.add_argument("--no-tangential", action="store_true", help="hold p1 = p2 = 0")
    intr.add_argument("--max-side", type=int, default=1000, help="detect on images downscaled to this long side, px")
    intr.add_argument("--no-progress", action="store_true", help="no progress bar")

    ext = sub.add_parser("extrinsics", help="camera poses from 2D-3D correspondences (PnP)",
                         description="Camera poses by PnP.\n\n" + EXTRINSICS_HELP, formatter_class=raw)
    ext.add_argument("--calib", required=True, help="calibration TOML with the intrinsics")
    ext.add_argument("--points3d", required=True, help="3D points (.npz / .csv), metres")
    ext.add_argument("--points2d", required=True, help="their pixels in each camera (.npz / .csv)")
    ext.add_argument("--out", required=True, help="calibration TOML to write")
    ext.add_argument("--cameras", nargs="+", metavar="NAME", help="cameras the 2D points belong to")
    ext.add_argument("--ransac", action="store_true", help="reject outlier correspondences (RANSAC)")
    ext.add_argument("--threshold", type=float, default=8.0, help="RANSAC inlier threshold, px (default 8)")

    ref = sub.add_parser("refine", help="bundle adjustment from multi-view 2D keypoints",
                         description="Bundle adjustment of the rig.\n\n" + REFINE_HELP, formatter_class=raw)
    ref.add_argument("--calib", required=True, help="initial calibration TOML")
    ref.add_argument("--detections", required=True, help="keypoints npz (C, T, J, 2|3)")
    ref.add_argument("--out", required=True, help="refined calibration TOML to write")
    ref.add_argument("--ref-camera", help="camera whose pose is held fixed (default: the first)")
    ref.add_argument("--fixed-camera", help="second camera whose centre is held fixed (sets the scale)")
    ref.add_argument("--known-length", nargs=3, metavar=("I", "J", "METRES"), help="joints I, J are METRES apart")
    ref.add_argument("--refine-focal", action="store_true", help="also refine each camera's focal length")
    ref.add_argument("--f-scale", type=float, default=2.0, help="robust loss scale, px (default 2)")
    ref.add_argument("--min-confidence", type=float, default=0.0, help="ignore keypoints below this confidence")
    return parser


def run(args: argparse.Namespace) -> int:
    steps = {"intrinsics": _intrinsics, "extrinsics": _extrinsics, "refine": _refine}
    if not args.step:
        print("spine3d calibrate: choose a step: intrinsics, extrinsics or refine (see --help)", file=sys.stderr)
        return 2
    return steps[args.step](args)


def _intrinsics(args: argparse.Namespace) -> int:
    from spine3d.calibration import CameraRig
    from spine3d.calibration.boards import CharucoBoard, Checkerboard, parse_board_size
    from spine3d.calibration.intrinsics import calibrate_images
    from spine3d.errors import InputError

    names = args.names or [f"cam_{i + 1:02d}" for i in range(len(args.images))]
    if len(names) != len(args.images):
        raise InputError(f"--names gives {len(names)} names for {len(args.images)} --images globs")
    cols, rows = parse_board_size(args.board)
    if args.charuco:
        board = CharucoBoard(cols, rows, args.square_size, _float(args.charuco[1], "--charuco MARKER_M"),
                             args.charuco[0])
    else:
        board = Checkerboard(cols, rows, args.square_size)
    results = [calibrate_images(pattern, board, name, max_side=args.max_side, progress=not args.no_progress,
                                model="fisheye" if args.fisheye else "pinhole", n_radial=args.radial,
                                tangential=not args.no_tangential)
               for pattern, name in zip(args.images, names)]
    print(f"{'camera':<12}{'RMS px':>8}{'fx':>10}{'fy':>10}{'cx':>9}{'cy':>9}{'used':>6}{'rejected':>10}"
          f"{'no board':>10}")
    for r in results:
        K = r.camera.K
        print(f"{r.camera.name:<12}{r.rms:>8.3f}{K[0, 0]:>10.1f}{K[1, 1]:>10.1f}{K[0, 2]:>9.1f}{K[1, 2]:>9.1f}"
              f"{len(r.used):>6}{len(r.rejected):>10}{len(r.missing):>10}")
        for path in r.rejected:
            print(f"  rejected (fits badly): {path}")
    rig = CameraRig(tuple(r.camera for r in results),
                    {"adjusted": False, "intrinsics_rms_px": [round(r.rms, 4) for r in results]})
    rig.to_toml(args.out)
    print(f"wrote {args.out}")
    return 0


def _extrinsics(args: argparse.Namespace) -> int:
    from spine3d.calibration import CameraRig
    from spine3d.calibration.extrinsics import reprojection_errors, solve_pnp
    from spine3d.errors import InputError
    from spine3d.formats.point_table import read_point_table

    rig = CameraRig.from_toml(args.calib)
    names = args.cameras or rig.names
    for name in names:
        if name not in rig.names:
            raise InputError(f"no camera named {name!r}; it has {', '.join(rig.names)}", args.calib)
    points3d = read_point_table(args.points3d, "points3d")
    points2d = read_point_table(args.points2d, "points2d")
    if points2d.ndim == 2 and points2d.shape[1] == 2 * len(names):  # table: N rows of u1 v1 u2 v2 ...
        points2d = points2d.reshape(len(points2d), len(names), 2).transpose(1, 0, 2)
    elif points2d.ndim == 2 and len(names) == 1:
        points2d = points2d[None]
    if points3d.ndim != 2 or points3d.shape[1] != 3:
        raise InputError(f"expected (N, 3) points, got shape {points3d.shape}", args.points3d)
    if points2d.shape != (len(names), len(points3d), 2):
        raise InputError(f"expected ({len(names)} cameras, {len(points3d)} points, 2), got {points2d.shape} "
                         f"(CSV: one row per 3D point, u v per camera)", args.points2d)
    cameras = list(rig.cameras)
    print(f"{'camera':<12}{'points':>8}{'RMS px':>9}  centre (m)")
    for name, uv in zip(names, points2d):
        cam = solve_pnp(points3d, uv, rig[name], ransac=args.ransac, threshold_px=args.threshold)
        errors = reprojection_errors(cam, points3d, uv)
        errors = errors[np.isfinite(errors)]
        print(f"{name:<12}{errors.size:>8}{np.sqrt(np.mean(errors**2)):>9.3f}  {np.round(cam.center, 3).tolist()}")
        cameras[rig.index(name)] = cam
    replace(rig, cameras=tuple(cameras)).to_toml(args.out)
    print(f"wrote {args.out}")
    return 0


def _refine(args: argparse.Namespace) -> int:
    from spine3d.calibration import CameraRig
    from spine3d.calibration.bundle import bundle_adjust
    from spine3d.calibration.rotations import rotmat_to_rotvec
    from spine3d.errors import InputError
    from spine3d.formats.keypoints_npz import read_keypoints_npz, split_confidence

    rig = CameraRig.from_toml(args.calib)
    data = read_keypoints_npz(args.detections)
    kp = data["keypoints"]
    if kp.ndim != 4 or kp.shape[0] != len(rig):
        raise InputError(f"'keypoints' must be (C={len(rig)}, T, J, 2|3) for the {len(rig)} cameras of "
                         f"{args.calib}, got {kp.shape}", args.detections)
    uv, conf = split_confidence(kp, data.get("confidence"))
    conf = np.where(conf >= args.min_confidence, conf, 0.0)
    C, T, J = kp.shape[:3]
    known = None
    if args.known_length:
        i, j = (_int(v, "--known-length I J", J) for v in args.known_length[:2])
        known = (np.arange(T) * J + i, np.arange(T) * J + j, _float(args.known_length[2], "--known-length METRES"))
    result = bundle_adjust(rig, uv.reshape(C, T * J, 2), conf.reshape(C, T * J),
                           reference=args.ref_camera or 0, fixed_camera=args.fixed_camera, known_length=known,
                           refine_focal=args.refine_focal, f_scale=args.f_scale)
    print(f"reprojection RMS {result.initial_rms:.3f} -> {result.final_rms:.3f} px over {result.n_observations} "
          f"observations ({result.n_outliers} outliers set aside), {result.iterations} evaluations")
    print(f"{'camera':<12}{'rotation change deg':>21}{'centre shift cm':>17}{'focal px':>10}")
    for old, new in zip(rig, result.rig):
        angle = np.degrees(np.linalg.norm(rotmat_to_rotvec(new.R @ old.R.T)))
        shift = 100 * np.linalg.norm(new.center - old.center)
        print(f"{new.name:<12}{angle:>21.3f}{shift:>17.2f}{new.K[0, 0]:>10.1f}")
    metadata = dict(rig.metadata, adjusted=True, error=round(result.final_rms, 4))
    replace(result.rig, metadata=metadata).to_toml(args.out)
    print(f"wrote {args.out}")
    return 0


def _float(text: str, what: str) -> float:
    from spine3d.errors import InputError

    try:
        return float(text)
    except ValueError:
        raise InputError(f"{what} must be a number, got {text!r}") from None


def _int(text: str, what: str, upper: int) -> int:
    from spine3d.errors import InputError

    if not text.lstrip("-").isdigit() or not 0 <= int(text) < upper:
        raise InputError(f"{what} must be joint indices in [0, {upper}), got {text!r}")
    return int(text)
