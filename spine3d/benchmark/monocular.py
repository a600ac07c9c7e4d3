"""Monocular part of the benchmark: train (or load) a lifter per 2D protocol and score every test frame.

As in SIMSPINE's monocular tables, one lifter is trained per input protocol ("gt": projected ground
truth; "detected": detector-noise model or the user's detections) and scored on the test subjects
under the same protocol, root-relative in the camera frame (mm), with and without flip TTA. With
``checkpoint`` given, that one model is scored under every protocol instead of training.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from spine3d.evaluation import EvalResult
from spine3d.lifting.checkpoint import load_checkpoint
from spine3d.lifting.config import TrainConfig
from spine3d.data.source import SequenceSource
from spine3d.lifting.data import eval_sequences
from spine3d.lifting.evaluate import evaluate_lifter
from spine3d.lifting.infer import lift_sequence
from spine3d.lifting.train import Trainer

logger = logging.getLogger(__name__)


@dataclass
class MonocularResults:
    """Scores per protocol and flip-TTA setting, with training and inference costs."""

    results: dict[str, dict[bool, EvalResult]] = field(default_factory=dict)
    train_time_s: dict[str, float] = field(default_factory=dict)
    checkpoints: dict[str, str] = field(default_factory=dict)
    inference_fps: dict[str, float] = field(default_factory=dict)  # frames/s without TTA, per protocol
    model: dict[str, object] = field(default_factory=dict)  # kind, frames, parameters
    example: dict[str, np.ndarray] = field(default_factory=dict)  # one frame, for the figures


def train_lifter(cfg: TrainConfig, data: str | Path, out: Path, epochs: int | None, device: str,
                 h36m: str | Path | None = None) -> tuple[Path, float]:
    """Train one lifter; returns the path of its final checkpoint and the wall time in seconds."""
    t0 = time.perf_counter()
    # eval_every=0: the benchmark scores the final model itself (with and without TTA), so the
    # trainer's per-epoch evaluation would only repeat work; the final weights are in last.pt.
    trainer = Trainer(cfg, data, out, device=device, epochs=epochs, progress=True, tensorboard=False, eval_every=0,
                      h36m=h36m)
    trainer.fit()
    return out / "last.pt", time.perf_counter() - t0


def run_monocular(cfg: TrainConfig, data: str | Path, out: Path, protocols: Sequence[str] = ("gt", "detected"),
                  checkpoint: str | Path | None = None, epochs: int | None = None, device: str = "cpu",
                  h36m: str | Path | None = None) -> MonocularResults:
    """Train (or load) and score a lifter for each protocol on the test split of ``data``."""
    res = MonocularResults()
    for protocol in protocols:
        if checkpoint is None:
            run_cfg = replace(cfg, name=f"{cfg.name}-{protocol}", data=cfg.data.for_protocol(protocol))
            ckpt, seconds = train_lifter(run_cfg, data, out / f"lifter_{protocol}", epochs, device, h36m)
            res.train_time_s[protocol] = seconds
        else:
            ckpt = Path(checkpoint)
        model, model_cfg, skeleton = load_checkpoint(ckpt, device)
        wanted = cfg.data.for_protocol(protocol)  # the benchmark's 2D (detections), the model's windows
        data_cfg = replace(model_cfg.data, protocol=protocol, detections=wanted.detections,
                           detections_skeleton=wanted.detections_skeleton)
        source = SequenceSource(data, skeleton, h36m=h36m)
        sequences = list(eval_sequences(source, "test", data_cfg))
        res.results[protocol] = evaluate_lifter(model, sequences, skeleton, model_cfg.model.frames, (False, True),
                                                progress=True)
        res.checkpoints[protocol] = str(ckpt)
        res.inference_fps[protocol] = _throughput(model, sequences, skeleton, model_cfg.model.frames)
        res.model = {"kind": model_cfg.model.kind, "frames": model_cfg.model.frames,
                     "parameters": sum(p.numel() for p in model.parameters()),
                     "config": cfg.name if checkpoint is None else model_cfg.name}
        if protocol == protocols[-1]:
            seq = sequences[0]
            pred = lift_sequence(model, seq.inputs, model_cfg.model.frames, False, skeleton)
            t = len(pred) // 2
            res.example = {"pred": pred[t], "gt": seq.target[t], "subject": seq.subject, "action": seq.action,
                           "camera": seq.camera}
    return res


def _throughput(model: torch.nn.Module, sequences: list, skeleton, frames: int) -> float:
    """Inference frames per second over (up to) the first 8 test sequences, no TTA."""
    chosen = sequences[:8]
    total = sum(len(s.inputs) for s in chosen)
    t0 = time.perf_counter()
    for seq in chosen:
        lift_sequence(model, seq.inputs, frames, False, skeleton)
    return total / max(time.perf_counter() - t0, 1e-9)
