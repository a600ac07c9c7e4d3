"""``spine3d benchmark``: reproduce the SIMSPINE evaluation end to end and write a report."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name, help=help_text,
        description="Multi-view triangulation (GT and detected 2D; DLT, weighted DLT, RANSAC) and "
        "monocular lifting (GT-2D and detected-2D protocols) on the test subjects, scored by the shared evaluation "
        "module; writes OUT/report.md, OUT/report.json and OUT/figures/*.png. With no arguments it runs on the "
        "built-in synthetic SIMSPINE data (generated on first use).")
    p.add_argument("--out", type=Path, default=Path("benchmark"), help="output folder (default: ./benchmark)")
    p.add_argument("--quick", action="store_true", help="tiny configuration for smoke tests (< 3 minutes)")
    p.add_argument("--data", type=Path, help="real SIMSPINE simspine.h5 (or its folder) instead of synthetic data")
    p.add_argument("--h36m", type=Path, help="Human3.6M data_3d_h36m.npz: evaluate the merged 37-keypoint skeleton")
    p.add_argument("--detections", type=Path,
                   help="real 2D detections for the 'detected' protocol (instead of the detector-noise model): "
                   "an npz keyed 'subject/action/camera' -> (T, J, 3) px + confidence, or a folder DIR of "
                   "per-frame OpenPose / SpinePose JSON folders, one per video: DIR/<subject>/<action>/<camera>/ "
                   "or DIR/<subject>/<action>.<camera>/ (camera: calibration name or Human3.6M id, e.g. cam_01 "
                   "or 54138969)")
    p.add_argument("--detections-skeleton", metavar="NAME",
                   help="keypoint layout of --detections (e.g. spinepose37, coco17; default: the npz's 'skeleton' "
                   "entry, or inferred from the JSON keypoint count)")
    p.add_argument("--checkpoint", type=Path, help="score this lifter instead of training one per protocol")
    p.add_argument("--config", type=Path, help="lifter config YAML (default configs/lifting/benchmark.yaml; "
                   "quick: tiny.yaml)")
    p.add_argument("--epochs", type=int, help="override the lifter's training epochs")
    p.add_argument("--skip-multiview", action="store_true", help="only the monocular part")
    p.add_argument("--skip-monocular", action="store_true", help="only the multi-view part")
    p.add_argument("--device", default="cpu", help="torch device for the lifter (cpu, cuda)")
    p.add_argument("--seed", type=int, default=0, help="seed of the outlier sweep")
    return p


def run(args: argparse.Namespace) -> int:
    from spine3d.benchmark.run import BenchmarkSettings, run_benchmark

    settings = BenchmarkSettings(out=args.out, data=args.data, h36m=args.h36m, detections=args.detections,
                                 detections_skeleton=args.detections_skeleton,
                                 checkpoint=args.checkpoint, config=args.config, epochs=args.epochs, quick=args.quick,
                                 multiview=not args.skip_multiview, monocular=not args.skip_monocular,
                                 device=args.device, seed=args.seed)
    report = run_benchmark(settings)
    print(report.read_text(encoding="utf-8"))
    print(f"report written to {report} (figures in {report.parent / 'figures'})")
    return 0
