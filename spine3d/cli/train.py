"""``spine3d train``: train a 2D-to-3D lifter from a YAML config (single process or DDP via torchrun)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from spine3d.errors import InputError

logger = logging.getLogger(__name__)

EPILOG = """\
examples:
  spine3d train --config configs/lifting/small.yaml                   # built-in synthetic data
  spine3d train --config configs/lifting/small.yaml --data DIR --out runs/small --epochs 30
  spine3d train --config configs/lifting/small.yaml --out runs/small --resume   # continue a killed run
  torchrun --nproc_per_node 2 -m spine3d.cli.main train --config configs/lifting/small.yaml --ddp

The run folder gets last.pt (every epoch), best.pt (lowest test P-MPJPE on the spine joints),
metrics.csv, tensorboard/ (when tensorboard is installed), config.yaml and, at the end, eval.json
(best.pt scored on every test frame with and without flip TTA); --export copies best.pt (else last.pt)
without its training state, as shipped with spine3d lift. --resume continues bit for bit from
the last completed epoch. With --ddp, data.batch_size is the global batch (split across processes).
"""


def add_parser(subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(name, help=help_text, description=help_text + ".", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, type=Path, help="YAML config (e.g. configs/lifting/small.yaml)")
    p.add_argument("--data", type=Path, default=None,
                   help="dataset folder with simspine.h5 (or the .h5 file); default: the built-in synthetic dataset")
    p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<config name>)")
    p.add_argument("--epochs", type=int, default=None, help="override the config's optim.epochs")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="training device (default: cpu)")
    p.add_argument("--ddp", action="store_true",
                   help="DistributedDataParallel across the processes torchrun started (implied when WORLD_SIZE > 1)")
    p.add_argument("--eval-every", type=int, default=1, metavar="N",
                   help="score the test split every N epochs and after the last (default 1; 0: never)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--export", type=Path, default=None, metavar="PT",
                   help="also write an inference-only copy of best.pt (else last.pt): weights, config, scores")
    return p


def run(args: argparse.Namespace) -> int:
    import torch
    import torch.distributed as dist

    from spine3d.lifting.config import load_config, save_config
    from spine3d.lifting.distributed import DistInfo, barrier, env_world_size, init_from_env
    from spine3d.lifting.train import Trainer

    cfg = load_config(args.config)
    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs must be >= 1, got {args.epochs}")
    if args.eval_every < 0:
        raise InputError(f"--eval-every must be >= 0, got {args.eval_every}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available")
    info = init_from_env(args.device) if args.ddp or env_world_size() > 1 else DistInfo()
    device = f"cuda:{info.local_rank}" if args.device == "cuda" else "cpu"
    if args.device == "cuda":
        torch.cuda.set_device(device)
    if not info.is_main:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        out = args.out or Path("runs") / cfg.name
        _check_run_folder(out, args.resume)
        data = _dataset(args.data, cfg.data.synthetic, info, barrier)
        trainer = Trainer(cfg, data, out, device=device, epochs=args.epochs, dist=info,
                          progress=not args.no_progress, eval_every=args.eval_every)
        if args.resume:
            trainer.resume()
        if info.is_main:
            save_config(trainer.cfg, out / "config.yaml")
            logger.info("training %s (%s, %d joints) on %s -> %s", cfg.name, cfg.model.kind,
                        trainer.skeleton.num_joints, data, out)
        trainer.fit()
        if info.is_main:
            _final_report(out, data)
            if args.export is not None:
                _export(out, args.export)
    finally:
        if info.enabled and dist.is_initialized():
            dist.destroy_process_group()
    return 0


def _check_run_folder(out: Path, resume: bool) -> None:
    last = out / "last.pt"
    if resume and not last.is_file():
        raise InputError("--resume: no last.pt to continue from", out)
    if not resume and last.exists():
        raise InputError("the run folder already holds a run (last.pt); pass --resume to continue it or choose "
                         "another --out", out)


def _dataset(data: Path | None, motions: str, info, barrier) -> Path:
    """The dataset folder; without --data, the built-in synthetic set ``data.synthetic`` names
    (generated once, by rank 0)."""
    if data is not None:
        return data
    from spine3d.data.synth import ensure_default_dataset

    if info.is_main:
        path = ensure_default_dataset(motions)
    barrier(info)
    if not info.is_main:
        path = ensure_default_dataset(motions)
    return Path(path)


def _export(out: Path, path: Path) -> None:
    from spine3d.lifting.checkpoint import export_checkpoint

    source = out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"
    export_checkpoint(source, path)
    print(f"exported {source} (inference only, {path.stat().st_size / 1e6:.1f} MB) -> {path}")


def _final_report(out: Path, data: Path) -> None:
    """Score best.pt (or last.pt) on every test frame with and without flip TTA; write eval.json, print tables."""
    from spine3d.evaluation import format_table
    from spine3d.lifting.evaluate import evaluate_checkpoint, write_results

    from spine3d.lifting.checkpoint import read_checkpoint

    ckpt = out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"
    epoch = read_checkpoint(ckpt)["epoch"]
    results = evaluate_checkpoint(ckpt, data)
    write_results(results, out / "eval.json")
    for flip, result in results.items():
        print(f"\n{ckpt.name} (epoch {epoch}){' with flip TTA' if flip else ''}, test split, mm:")
        table = format_table(result, metrics=("mpjpe", "p_mpjpe", "n_mpjpe"), groups=("full", "spine"))
        print("\n".join(table.splitlines()[:3]))  # header and the all-frames row; per action in eval.json
    print(f"\nrun folder: {out} (per-action scores in eval.json)")
