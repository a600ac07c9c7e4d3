"""``spine3d triangulate``: calibrated multi-camera 2D detections -> 3D keypoints (TRC, npz, HDF5, JSON report)."""

from __future__ import annotations

import argparse
from dataclasses import replace

DESCRIPTION = """\
Triangulate the 2D keypoints of one person seen by calibrated cameras.

--detections is a folder holding one sub-folder of per-frame OpenPose / SpinePose JSON files per
camera (camera folders pair with calibration cameras by name: cam01_json <-> [cam_01], a Human3.6M
id <-> its cam_0N; else by the number in their names, else by sorted order; the pairing is printed),
or a keypoints npz with 'keypoints' (C, T, J, 2|3) px [+ 'confidence' (C, T, J), 'skeleton'] in
calibration order. The layout comes from --skeleton, the npz's 'skeleton' entry or the keypoint count
(JSON: 37 = SpinePose, 9 = SpinePose --spine-only, 25 = BODY_25B, ...). Frames with several people keep
the person most consistent across views. --out takes one or more files: .trc (OpenSim, Y-up, metres;
trusted points only unless --untrusted), .npz or .h5 (a 3D result: points, each point's status,
inliers, reprojection errors, views used, inputs; README "Formats", "Trust levels"). Defaults come
from the shipped configs/triangulation.yaml (units documented there).
"""


def add_parser(subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    from spine3d.skeletons import SKELETONS
    from spine3d.triangulation.methods import METHODS

    parser = subparsers.add_parser(name, help=help_text, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calib", required=True, help="calibration TOML (Pose2Sim / anipose / SIMSPINE format)")
    parser.add_argument("--detections", required=True, help="folder of camera folders (OpenPose JSON) or an npz")
    parser.add_argument("--skeleton", default=None, help=f"keypoint layout: {', '.join(SKELETONS)} (default: from "
                        "the keypoint count where it identifies one layout, e.g. 37 = SpinePose)")
    parser.add_argument("--fps", type=float, required=True, help="frame rate of the detections, Hz")
    parser.add_argument("--out", required=True, nargs="+", metavar="FILE", help="output file(s): .trc, .npz, .h5")
    parser.add_argument("--report", metavar="JSON", help="write a JSON report (errors per keypoint and camera)")
    parser.add_argument("--method", choices=tuple(METHODS), help="; ".join(
        f"{m.name}: {m.description}" for m in METHODS.values()) + " (default: from the config)")
    parser.add_argument("--config", metavar="YAML", help="settings (default: the shipped configs/triangulation.yaml)")
    parser.add_argument("--untrusted", action="store_true",
                        help="also write untrusted points (unverified, ill_conditioned) to TRC files")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    from spine3d.calibration import CameraRig
    from spine3d.data.trial import read_trial
    from spine3d.triangulation.config import load_config
    from spine3d.triangulation.detections import choose_person
    from spine3d.triangulation.pipeline import check_output_paths, reconstruct, write_outputs
    from spine3d.triangulation.report import build_report, write_report

    config = load_config(args.config)
    if args.method:
        config = replace(config, method=args.method)
    outputs = check_output_paths(args.out)
    rig = CameraRig.from_toml(args.calib)
    trial = read_trial(args.detections, rig, args.skeleton)
    skeleton = trial.layout
    detections = choose_person(rig, trial, config.people, config.triangulation.confidence_threshold)
    print(f"camera pairing ({detections.pairing_rule}): {', '.join(detections.pairing)}")
    if detections.people:
        people = detections.people
        print(f"several people in {people['frames_with_several_people']} frames: kept the one most consistent "
              f"across views (not the first in {people['frames_not_first_person']} frames; "
              f"{people['camera_frames_dropped']} camera-frames without an agreeing person)")
    recon = reconstruct(rig, detections, skeleton, args.fps, config, progress=not args.no_progress)
    report = build_report(recon, {"calib": str(args.calib), "detections": str(args.detections)})
    for path in write_outputs(recon, outputs, untrusted=args.untrusted):
        print(f"wrote {path}")
    if args.report:
        write_report(args.report, report)
        print(f"wrote {args.report}")
    summary = report["summary"]
    errors = summary["reprojection_error_px"]
    median = "n/a" if errors["median"] is None else f"{errors['median']:.2f} px"
    print(f"{config.method}: {summary['frames']} frames x {summary['keypoints']} keypoints, "
          f"{100 * (1 - summary['nan_share']):.1f}% reconstructed, {100 * summary['trusted_share']:.1f}% trusted, "
          f"median reprojection error {median}, {summary['frames_without_any_point']} frames without any point")
    return 0
