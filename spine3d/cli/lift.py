"""``spine3d lift``: 2D keypoint sequence (npz or OpenPose JSON folder) -> 3D with a trained lifter."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


from spine3d.errors import InputError

logger = logging.getLogger(__name__)

EPILOG = """\
input:  an npz with 'keypoints' (T, J, 2|3) px (+ 'confidence' (T, J)), 'image_size' [w, h] and, when J
        alone is ambiguous, 'skeleton' (a layout name); or a folder of per-frame OpenPose JSON files
        (give --image-size, and --skeleton unless J identifies the layout). Another layout than the
        checkpoint's is remapped by joint name (joints it lacks are lifted as missing, confidence 0).
        NaN keypoints are missing points.
output: a 3D result npz (README "Formats"): 'points' (T, J, 3) mm, frame 'camera' (x right, y down,
        z forward), root (Hip) relative, 'joint_names', 'skeleton', 'frame_numbers'. --trc also writes
        an OpenSim TRC in mm of the same root-relative camera-frame points with OpenSim's Y-up axes:
        X = x_cam, Y = -y_cam (up), Z = -z_cam (towards the camera). 'evidence' (T, J) bool: the
        joint had a keypoint (confidence > 0) in that frame; False: the lifter inferred it from the
        other joints (e.g. the vertebrae from a BODY_25B detector), weigh it accordingly. Joints the
        model's training data lacks (SIMSPINE-37 on Human3.6M: eyes, ears, toes, heels) are NaN.
model:  without --checkpoint, the default checkpoint shipped inside spine3d (README, "Lifters": how it
        was trained and what it scores); it reads any layout's keypoints from any camera. It is trained on
        synthetic motion only: on real motion unlike it, expect errors far above the synthetic scores
        (README measures a real one-leg balancing trial: worse than that trial's constant mean pose).
"""


def add_parser(subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(name, help=help_text, description=help_text + ".", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="trained lifter (best.pt / last.pt / an export); default: the checkpoint shipped with spine3d")
    p.add_argument("--input", required=True, type=Path, help="keypoints npz or OpenPose JSON folder")
    p.add_argument("--out", required=True, type=Path, help="output npz")
    p.add_argument("--flip-tta", action="store_true", help="average with the mirrored input (flip TTA)")
    p.add_argument("--skeleton", default=None, help="layout of the input keypoints (e.g. spinepose37, body25b)")
    p.add_argument("--image-size", nargs=2, type=float, metavar=("W", "H"), default=None,
                   help="image width and height, px (required for OpenPose JSON)")
    p.add_argument("--trc", type=Path, default=None, help="also write an OpenSim TRC (camera frame, Y-up, mm)")
    p.add_argument("--fps", type=float, default=50.0, help="frame rate written to the TRC, Hz (default 50)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from spine3d.lifting.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
    from spine3d.lifting.infer import lift_sequence
    from spine3d.lifting.inputs import load_lift_input
    from spine3d.formats.results3d import Result3D, write_result3d

    if args.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available")
    if not args.fps > 0:
        raise InputError(f"--fps must be a positive frame rate, got {args.fps}")
    checkpoint = args.checkpoint
    if checkpoint is None:
        checkpoint = DEFAULT_CHECKPOINT
        if not checkpoint.is_file():
            raise InputError("this install lacks the shipped default checkpoint; pass --checkpoint", checkpoint)
    model, cfg, skeleton = load_checkpoint(checkpoint, args.device)
    data = load_lift_input(args.input, skeleton, args.skeleton, args.image_size)
    points = lift_sequence(model, data.inputs, cfg.data.frames, args.flip_tta, skeleton)
    known = np.isfinite(points).all(-1)  # (T, J): False for joints the model's training data lacks
    evidence = (data.inputs[..., 2] > 0) & known  # (T, J): seen in that frame, else inferred
    result = Result3D(points, tuple(skeleton.names), "camera", "mm", root_relative=True, skeleton=skeleton.name,
                      fps=args.fps, frame_numbers=data.frame_numbers, evidence=evidence)
    write_result3d(args.out, result)
    seen = evidence.any(axis=0)
    print(f"lifted {len(points)} frames x {skeleton.num_joints} joints ({data.layout.name} -> {skeleton.name}"
          f"{', flip TTA' if args.flip_tta else ''}) -> {args.out}")
    unknown = ~known.any(0)
    if unknown.any():
        print(f"  {int(unknown.sum())} joints NaN (the model's training data has none): "
              + ", ".join(n for n, u in zip(skeleton.names, unknown) if u))
    inferred = ~seen & ~unknown
    if inferred.any():
        print(f"  {int(inferred.sum())} joints never seen in the input, inferred from the others (evidence False): "
              + ", ".join(n for n, i in zip(skeleton.names, inferred) if i))
    if args.trc is not None:
        write_result3d(args.trc, result)
        print(f"TRC (camera frame, Y-up, mm) -> {args.trc}")
    return 0
