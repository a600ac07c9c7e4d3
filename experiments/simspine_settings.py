"""Reproduce one SIMSPINE result setting at a time (real data when given, else the synthetic default).

Settings (SIMSPINE, CVPR 2026, reports the numbers in brackets on the real data):

- ``multiview-gt``: multi-view triangulation from ground-truth 2D (7.85 mm MPJPE)
- ``multiview-detected``: multi-view triangulation from detected 2D (31.82 mm MPJPE with fine-tuned detectors)
- ``mono-gt``: monocular lifting from ground-truth 2D
- ``mono-detected``: monocular lifting from detected 2D (16.28 mm P-MPJPE on spine joints)
- ``full-vs-spine``: lifter trained on the full 37-keypoint skeleton vs on the 15 spine markers,
  both scored on the spine joints (needs Human3.6M's ``data_3d_h36m.npz``; the synthetic set has one)

Usage::

    python experiments/simspine_settings.py multiview-gt                      # synthetic default
    python experiments/simspine_settings.py mono-detected --data /data/simspine.h5 --epochs 30
    python experiments/simspine_settings.py full-vs-spine --data DIR --h36m DIR/h36m/data_3d_h36m.npz

Each run prints a markdown table and writes it (plus JSON) under ``--out``. Detected 2D is the seeded
detector-noise model unless ``--detections`` gives real detections (npz keyed subject/action/camera, or a
folder of per-camera OpenPose / SpinePose JSON folders: see lifting/detections.py).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

from spine3d.lifting.config import load_config
from spine3d.data.source import SequenceSource
from spine3d.benchmark.monocular import run_monocular
from spine3d.benchmark.multiview import run_multiview
from spine3d.benchmark.report import monocular_tables, multiview_tables
from spine3d.io import write_text_atomic
from spine3d.data.synth import ensure_default_dataset

SETTINGS = ("multiview-gt", "multiview-detected", "mono-gt", "mono-detected", "full-vs-spine")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("setting", choices=SETTINGS)
    p.add_argument("--data", type=Path, help="SIMSPINE simspine.h5 or its folder (default: synthetic default set)")
    p.add_argument("--h36m", type=Path, help="Human3.6M data_3d_h36m.npz (37-keypoint skeleton)")
    p.add_argument("--detections", type=Path, help="detections npz or folder of JSON folders (detected 2D)")
    p.add_argument("--config", default="benchmark", help="lifter config: a YAML path or a shipped name (default: benchmark)")
    p.add_argument("--epochs", type=int, help="override the lifter's training epochs")
    p.add_argument("--out", type=Path, default=Path("experiments/out"), help="output folder")
    return p.parse_args()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    args = parse_args()
    data = args.data or ensure_default_dataset()
    cfg = load_config(args.config)
    # the parts switch protocol with DataConfig.for_protocol, which keeps the detections for "detected"
    detected = {} if args.detections is None else {"protocol": "detected", "detections": str(args.detections)}
    cfg = replace(cfg, data=replace(cfg.data, skeleton="simspine37" if args.h36m else cfg.data.skeleton, **detected))
    out = args.out / args.setting
    kind, _, protocol = args.setting.partition("-")
    if kind == "multiview":
        source = SequenceSource(data, cfg.data.skeleton, h36m=args.h36m)
        res = run_multiview(source, cfg.data, protocols=(protocol,), outlier_ratios=())
        lines = multiview_tables(res)
        doc = {p: {m: r.to_dict() for m, r in ms.items()} for p, ms in res.results.items()}
    elif kind == "mono":
        res = run_monocular(cfg, data, out, protocols=(protocol,), epochs=args.epochs, h36m=args.h36m)
        lines = monocular_tables(res)
        doc = {p: {str(f): r.to_dict() for f, r in by.items()} for p, by in res.results.items()}
    else:
        lines, doc = full_vs_spine(cfg, data, out, args)
    text = "\n".join([f"# {args.setting} ({data})", "", *lines])
    write_text_atomic(out / "table.md", text)
    write_text_atomic(out / "results.json", json.dumps(doc, indent=1, default=str))
    print(text)


def full_vs_spine(cfg, data: Path, out: Path, args: argparse.Namespace) -> tuple[list[str], dict]:
    """Train on simspine37 and on simspine15 (same protocol: detected 2D); score both on the spine joints."""
    rows, doc = [], {}
    for skeleton in ("simspine37", "simspine15"):
        run_cfg = replace(cfg, name=f"{cfg.name}-{skeleton}", data=replace(cfg.data, skeleton=skeleton))
        res = run_monocular(run_cfg, data, out / skeleton, protocols=("detected",), epochs=args.epochs,
                            h36m=args.h36m)
        result = res.results["detected"][True]
        o = result.overall
        rows.append(f"| {skeleton} | {o['mpjpe']['spine']:.2f} | {o['p_mpjpe']['spine']:.2f} | "
                    f"{res.train_time_s['detected']:.0f} |")
        doc[skeleton] = result.to_dict()
    lines = ["## Full-body vs spine-only training (detected 2D, flip TTA; scored on the 9 spine joints)", "",
             "| Training skeleton | MPJPE spine (mm) | P-MPJPE spine (mm) | Training time (s) |",
             "| --- | --- | --- | --- |", *rows, ""]
    return lines, doc


if __name__ == "__main__":
    main()
