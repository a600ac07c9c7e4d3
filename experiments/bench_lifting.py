"""Benchmark the lifters: transformer ``small`` vs the single-frame MLP baseline, synthetic default data.

For each input protocol (ground-truth 2D, detected 2D from the seeded detector-noise model) each
model is trained with its config (``configs/lifting/small.yaml``, ``configs/lifting/mlp.yaml``),
then ``best.pt`` is scored on every test frame (S9, S11; all cameras) with and without flip TTA.
Printed: MPJPE and P-MPJPE (mm) for the full skeleton and the spine joints, training time, and
inference speed (frames/s of ``lift_sequence`` on a long sequence, on ``--threads`` CPU threads),
then the issue's targets: transformer P-MPJPE (spine) >= 25 % below the MLP's under both protocols,
``small`` inference >= 2000 frames/s.

    python experiments/bench_lifting.py            # full run (~36 min on 2 CPU cores); resumable
    python experiments/bench_lifting.py --quick    # pipeline check: small data, 1 epoch, a few minutes

Runs go to ``--out`` (default ``runs/bench_lifting``, ``runs/bench_lifting_quick`` with --quick): one
folder per protocol and model, reused when complete (a killed benchmark resumes where it stopped),
and ``results.json`` / ``results.md`` with everything printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spine3d.lifting.checkpoint import load_checkpoint  # noqa: E402
from spine3d.lifting.config import load_config  # noqa: E402
from spine3d.data.source import SequenceSource  # noqa: E402
from spine3d.lifting.data import eval_sequences  # noqa: E402
from spine3d.lifting.evaluate import evaluate_checkpoint, write_results  # noqa: E402
from spine3d.lifting.infer import lift_sequence  # noqa: E402
from spine3d.lifting.train import Trainer  # noqa: E402
from spine3d.io import write_text_atomic  # noqa: E402

logger = logging.getLogger("bench_lifting")

TARGET_GAIN = 0.25  # transformer P-MPJPE (spine) at least 25 % below the MLP's
TARGET_FPS = 2000.0  # small, frames/s on 2 CPU cores
QUICK = {"subjects": ["S1", "S5", "S9"], "seconds_per_action": 8.0, "actions": ["Walking", "Sitting", "Greeting"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small dataset and 1 epoch: checks the pipeline, not targets")
    p.add_argument("--data", type=Path, default=None, help="dataset folder (default: the synthetic default)")
    p.add_argument("--out", type=Path, default=None, help="benchmark folder")
    p.add_argument("--configs", nargs="+", type=Path,
                   default=[REPO / "configs/lifting/small.yaml", REPO / "configs/lifting/mlp.yaml"],
                   help="transformer config first, then the baseline")
    p.add_argument("--protocols", nargs="+", choices=("gt", "detected"), default=["gt", "detected"])
    p.add_argument("--epochs", type=int, default=None, help="override every config's epochs")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for training and timing")
    return p.parse_args(argv)


def dataset(args: argparse.Namespace, out: Path) -> Path:
    if args.data is not None:
        return args.data
    if args.quick:
        from spine3d.data.synth import generate_dataset

        folder = out / "data"
        return folder if (folder / "synth.json").is_file() else generate_dataset(folder, **QUICK)
    from spine3d.data.synth import ensure_default_dataset

    return ensure_default_dataset()


def train(config: Path, protocol: str, data: Path, out: Path, epochs: int | None) -> dict:
    """Train (or finish / reuse) one run; returns its training time and best epoch."""
    cfg = load_config(config)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, protocol=protocol))
    trainer = Trainer(cfg, data, out, epochs=epochs)
    if (out / "last.pt").is_file():
        trainer.resume()
    trainer.fit()
    rows = (out / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    train_s = sum(float(r.split(",")[header.index("train_time_s")]) for r in rows[1:])
    return {"name": cfg.name, "kind": cfg.model.kind, "protocol": protocol, "epochs": trainer.cfg.optim.epochs,
            "best_epoch": trainer.state.best_epoch, "train_time_s": train_s,
            "parameters": sum(p.numel() for p in trainer.model.parameters())}


def inference_fps(checkpoint: Path, data: Path, min_frames: int = 6000, flip_tta: bool = False) -> float:
    """Frames/s of lift_sequence on one long sequence (a test sequence tiled to >= min_frames frames)."""
    model, cfg, skeleton = load_checkpoint(checkpoint)
    seq = next(iter(eval_sequences(SequenceSource(data, skeleton), "test", cfg.data)))
    x = np.concatenate([seq.inputs] * int(np.ceil(min_frames / len(seq.inputs))))
    lift_sequence(model, x[: 4 * cfg.data.frames], cfg.data.frames, flip_tta, skeleton)  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        lift_sequence(model, x, cfg.data.frames, flip_tta, skeleton)
        times.append(time.perf_counter() - t0)
    return len(x) / min(times)


def score(run: dict, checkpoint: Path, data: Path) -> dict:
    results = evaluate_checkpoint(checkpoint, data)
    write_results(results, checkpoint.parent / "eval.json")
    for flip, result in results.items():
        key = "tta_" if flip else ""
        for metric in ("mpjpe", "p_mpjpe"):
            for group in ("full", "spine"):
                run[f"{key}{metric}_{group}"] = result.overall[metric][group]
    return run


def table(runs: list[dict]) -> str:
    lines = ["| protocol | model | params | epochs | MPJPE full | MPJPE spine | P-MPJPE full | P-MPJPE spine | "
             "P-MPJPE spine (flip TTA) | train time (min) | inference (frames/s) |", "|---" * 11 + "|"]
    for r in runs:
        lines.append(f"| {r['protocol']} | {r['name']} ({r['kind']}) | {r['parameters'] / 1e6:.2f} M | {r['epochs']} | "
                     f"{r['mpjpe_full']:.1f} | {r['mpjpe_spine']:.1f} | {r['p_mpjpe_full']:.1f} | "
                     f"{r['p_mpjpe_spine']:.1f} | {r['tta_p_mpjpe_spine']:.1f} | {r['train_time_s'] / 60:.1f} | "
                     f"{r['fps']:.0f} |")
    return "\n".join(lines)


def targets(runs: list[dict]) -> list[str]:
    """One line per target: measured value and PASS / FAIL."""
    out = []
    first = runs[0]["name"]
    for protocol in dict.fromkeys(r["protocol"] for r in runs):
        pair = [r for r in runs if r["protocol"] == protocol]
        if len(pair) < 2:
            continue
        gain = 1.0 - pair[0]["p_mpjpe_spine"] / pair[1]["p_mpjpe_spine"]
        out.append(f"{protocol}: {pair[0]['name']} P-MPJPE spine {pair[0]['p_mpjpe_spine']:.1f} mm vs "
                   f"{pair[1]['name']} {pair[1]['p_mpjpe_spine']:.1f} mm: {100 * gain:.1f} % lower "
                   f"(target >= {100 * TARGET_GAIN:.0f} %): {'PASS' if gain >= TARGET_GAIN else 'FAIL'}")
    fps = min(r["fps"] for r in runs if r["name"] == first)
    out.append(f"{first} inference: {fps:.0f} frames/s (target >= {TARGET_FPS:.0f}): "
               f"{'PASS' if fps >= TARGET_FPS else 'FAIL'}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    torch.set_num_threads(args.threads)
    out = args.out or REPO / "runs" / ("bench_lifting_quick" if args.quick else "bench_lifting")
    epochs = args.epochs or (1 if args.quick else None)
    data = dataset(args, out)
    runs = []
    for protocol in args.protocols:
        for config in args.configs:
            folder = out / protocol / config.stem
            logger.info("== %s, %s -> %s", protocol, config.name, folder)
            run = train(config, protocol, data, folder, epochs)
            checkpoint = folder / "best.pt" if (folder / "best.pt").is_file() else folder / "last.pt"
            run["fps"] = inference_fps(checkpoint, data)
            runs.append(score(run, checkpoint, data))
            logger.info("%s", run)
    report = [f"data: {data}; threads: {args.threads}; torch {torch.__version__}", "", table(runs), "", *targets(runs)]
    print("\n".join(report))
    write_text_atomic(out / "results.json", json.dumps(runs, indent=1))
    write_text_atomic(out / "results.md", "\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
