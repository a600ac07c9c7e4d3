"""``spine3d export-onnx``: write a lifter checkpoint as ONNX and check it in onnxruntime."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from spine3d.errors import InputError

TOLERANCE_MM = 1e-4  # onnxruntime vs PyTorch, max abs difference


def add_parser(subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        name, help=help_text, description=help_text + ". The graph maps (B, F, J, 3) [x, y, conf] normalised "
        "inputs to (B, F, J, 3) mm, camera frame, root-relative, for windows of F frames (dynamic batch). "
        "Needs the optional extra: pip install 'spine3d[onnx]'.")
    p.add_argument("--checkpoint", required=True, type=Path, help="trained lifter (best.pt / last.pt)")
    p.add_argument("--out", required=True, type=Path, help="output .onnx file")
    p.add_argument("--frames", type=int, default=None, help="window length F (default: the training window)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    return p


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("onnx") is None:
        raise InputError("ONNX export needs the 'onnx' package: pip install 'spine3d[onnx]'")
    from spine3d.lifting.checkpoint import load_checkpoint
    from spine3d.lifting.onnx_export import export_onnx, max_onnx_difference

    model, cfg, skeleton = load_checkpoint(args.checkpoint)
    frames = args.frames or cfg.data.frames
    if cfg.model.kind == "transformer" and frames > cfg.model.frames:
        raise InputError(f"--frames {frames} exceeds the model's longest window ({cfg.model.frames})")
    export_onnx(model, args.out, frames, skeleton, args.opset)
    print(f"exported {cfg.name} ({cfg.model.kind}, F = {frames}, {skeleton.num_joints} joints) -> {args.out}")
    if importlib.util.find_spec("onnxruntime") is None:
        print("onnxruntime not installed: output not checked against PyTorch")
        return 0
    diff = max_onnx_difference(args.out, model, frames, skeleton)
    print(f"onnxruntime vs PyTorch: max |difference| = {diff:.2e} mm (tolerance {TOLERANCE_MM:g})")
    if not diff <= TOLERANCE_MM:
        print("error: the ONNX model does not reproduce PyTorch within tolerance")
        return 1
    return 0
