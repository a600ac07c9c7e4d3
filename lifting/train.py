"""The lifter trainer: one object holding all training state, resumable at epoch boundaries.

State (everything a checkpoint stores): model, AdamW optimiser, per-step LR scheduler, AMP grad
scaler, completed epochs, optimiser steps, best test score, and the RNG states (torch, numpy,
python, CUDA, DataLoader generator). Randomness per epoch is otherwise derived from (seed, epoch):
the shuffle order (:class:`spine3d.lifting.distributed.GlobalBatchSampler`) and the flip augmentation
(``LiftingWindows.set_epoch``), so resuming after epoch k reproduces the uninterrupted run's
weights bit for bit (resume granularity: one epoch; a run killed mid-epoch restarts that epoch).

After each epoch the model is scored on every frame of the test split (no flip TTA, see
:mod:`spine3d.lifting.evaluate`); ``best.pt`` keeps the epoch with the lowest P-MPJPE on the spine joints
(``test_p_mpjpe_spine``: the toolkit is about spine shape, and Procrustes-aligned error measures
shape rather than global scale or orientation). Multi-process: rank 0 evaluates, logs and writes
checkpoints; the others wait at a barrier.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from spine3d.evaluation import EvalResult
from spine3d.lifting.checkpoint import checkpoint_header, config_of, read_checkpoint, save_checkpoint
from spine3d.lifting.config import TrainConfig
from spine3d.data.source import SequenceSource
from spine3d.lifting.data import LiftingWindows, eval_sequences
from spine3d.lifting.distributed import DistInfo, GlobalBatchSampler, all_reduce_sum, barrier
from spine3d.lifting.evaluate import evaluate_lifter, summary_row
from spine3d.lifting.losses import LOSS_TERMS, lifting_loss
from spine3d.lifting.model import build_model
from spine3d.lifting.runlog import RunLog
from spine3d.lifting.schedule import (build_optimizer, build_scheduler, make_generator, rng_state, seed_everything,
                              set_rng_state, worker_init_fn)
from spine3d.errors import InputError

logger = logging.getLogger(__name__)

BEST_KEY = "test_p_mpjpe_spine"


@dataclasses.dataclass
class TrainState:
    """Counters saved with every checkpoint."""

    epoch: int = 0  # completed epochs
    step: int = 0  # optimiser steps
    best_metric: float = math.inf  # lowest BEST_KEY so far, mm
    best_epoch: int = 0


class Trainer:
    """Train a lifter on a SIMSPINE-format dataset folder.

    Args:
        cfg: the run's config; ``epochs`` (when given) overrides ``cfg.optim.epochs``.
        data: dataset folder or ``simspine.h5``.
        out: run folder (``last.pt``, ``best.pt``, ``metrics.csv``, ``tensorboard/``).
        device: "cpu", "cuda" or "cuda:N". dist: this process's rank (single process by default).
        progress: show progress bars (rank 0 only). tensorboard: write TensorBoard logs when available.
        h36m: Human3.6M ``data_3d_h36m.npz`` for the 37-keypoint skeleton (default: beside the dataset).
        eval_every: score the test split every this many epochs and after the last (0: never, so no best.pt).
    """

    def __init__(self, cfg: TrainConfig, data: str | Path, out: str | Path, device: str = "cpu",
                 epochs: int | None = None, dist: DistInfo = DistInfo(), progress: bool = True,
                 tensorboard: bool = True, eval_every: int = 1, h36m: str | Path | None = None) -> None:
        self.cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, epochs=epochs or cfg.optim.epochs))
        self.out, self.device, self.dist = Path(out), torch.device(device), dist
        self.progress, self.tensorboard, self.eval_every = progress and dist.is_main, tensorboard, eval_every
        seed_everything(cfg.seed)
        self.source = SequenceSource(data, cfg.data.skeleton, h36m=h36m)
        self.data = self.source.fingerprint()
        self.skeleton = self.source.skeleton
        self.windows = LiftingWindows(self.source, "train", cfg.data, train=True, seed=cfg.seed)
        self.sampler = GlobalBatchSampler(len(self.windows), cfg.data.batch_size, dist.world_size, dist.rank, cfg.seed)
        self.generator = make_generator(cfg.seed)
        self.loader = DataLoader(self.windows, batch_size=self.sampler.local_batch, sampler=self.sampler,
                                 num_workers=cfg.data.num_workers, worker_init_fn=worker_init_fn,
                                 generator=self.generator, pin_memory=self.device.type == "cuda")
        self.model = build_model(cfg.model, self.skeleton.num_joints)
        self.model.trained_joints.copy_(torch.from_numpy(self.windows.target_joints))
        self.model.to(self.device)
        self.net = self.model
        if dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.optim, self.sampler.steps_per_epoch, self.cfg.optim.epochs)
        self.amp_dtype = _amp_dtype(self.device, cfg.optim.amp)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.state = TrainState()
        self.resumed = False

    def fit(self, until: int | None = None) -> TrainState:
        """Train up to epoch ``until`` (default: all epochs), evaluating and checkpointing after each."""
        stop = self.cfg.optim.epochs if until is None else min(until, self.cfg.optim.epochs)
        log = None
        if self.dist.is_main:
            log = RunLog(self.out, self.state.epoch if self.resumed else None, self.tensorboard)
        try:
            while self.state.epoch < stop:
                row = self.train_epoch()
                if self.dist.is_main:
                    metrics = self._scheduled_evaluation(last=self.state.epoch == self.cfg.optim.epochs)
                    row |= metrics
                    log.write(row)
                    self._log_epoch(row)
                    self.save(metrics)
                barrier(self.dist)
        finally:
            if log is not None:
                log.close()
        return self.state

    def train_epoch(self) -> dict[str, float]:
        """One pass over the training windows; returns the epoch's log row (mean loss terms, lr, throughput)."""
        self.net.train()
        self.windows.set_epoch(self.state.epoch)
        self.sampler.set_epoch(self.state.epoch)
        sums = torch.zeros(len(LOSS_TERMS) + 2, dtype=torch.float64)  # loss, terms..., batches
        frames, t0 = 0, time.perf_counter()
        bar = tqdm(self.loader, desc=f"epoch {self.state.epoch + 1}/{self.cfg.optim.epochs}", unit="batch",
                   disable=not self.progress, leave=False, dynamic_ncols=True)
        for batch in bar:
            loss, terms = self._step(batch)
            sums += torch.tensor([loss.item(), *(terms[k].item() for k in LOSS_TERMS), 1.0], dtype=torch.float64)
            frames += batch["inputs"].shape[0] * batch["inputs"].shape[1] * self.dist.world_size
            bar.set_postfix(loss=f"{sums[0] / sums[-1]:.2f}", fps=f"{frames / (time.perf_counter() - t0):.0f}",
                            refresh=False)
        self.state.epoch += 1
        elapsed = time.perf_counter() - t0
        sums = all_reduce_sum(sums, self.dist)
        means = (sums[:-1] / sums[-1].clamp(min=1)).tolist()
        return {"epoch": self.state.epoch, "step": self.state.step, "lr": self.scheduler.get_last_lr()[0],
                "train_loss": means[0], **{f"train_{k}": v for k, v in zip(LOSS_TERMS, means[1:])},
                "train_time_s": elapsed, "train_frames_per_s": frames / elapsed}

    def _step(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, y, valid = (batch[k].to(self.device, non_blocking=True) for k in ("inputs", "target", "valid"))
        amp = self.amp_dtype is not None
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=amp):
            pred = self.net(x)
        loss, terms = lifting_loss(pred, y, valid, self.cfg.loss)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        if self.cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.state.step += 1
        return loss.detach(), terms

    def evaluate(self, flip_tta: tuple[bool, ...] = (False,)) -> dict[bool, EvalResult]:
        """Score the current model on every frame of the test split (see :func:`spine3d.lifting.evaluate.evaluate_lifter`)."""
        sequences = eval_sequences(self.source, "test", self.cfg.data)
        return evaluate_lifter(self.model, sequences, self.skeleton, self.cfg.data.frames, flip_tta,
                               progress=self.progress)

    def _scheduled_evaluation(self, last: bool) -> dict[str, float]:
        """Test-split summary row when this epoch is due for evaluation, else {}."""
        if not self.eval_every or (self.state.epoch % self.eval_every and not last):
            return {}
        t0 = time.perf_counter()
        return summary_row(self.evaluate()[False]) | {"eval_time_s": time.perf_counter() - t0}

    def checkpoint(self, metrics: dict[str, float] | None = None) -> dict:
        """The full training state as a checkpoint payload (with what the run trains on: ``data``)."""
        return {**checkpoint_header(self.cfg, self.skeleton), "data": self.data, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(), **dataclasses.asdict(self.state), "best_key": BEST_KEY,
                "rng": rng_state(self.generator), "metrics": metrics or {}}

    def save(self, metrics: dict[str, float]) -> None:
        """Write ``best.pt`` (when ``metrics`` improve on the best so far) then ``last.pt``."""
        score = metrics.get(BEST_KEY, math.nan)
        if math.isfinite(score) and score < self.state.best_metric:
            self.state.best_metric, self.state.best_epoch = score, self.state.epoch
            save_checkpoint(self.out / "best.pt", self.checkpoint(metrics))
        save_checkpoint(self.out / "last.pt", self.checkpoint(metrics))

    def resume(self, path: str | Path | None = None) -> None:
        """Restore the full state from ``path`` (default ``out/last.pt``); the config must match (epochs aside)."""
        path = Path(path) if path else self.out / "last.pt"
        payload = read_checkpoint(path)
        stored, _ = config_of(payload, path)
        if _without_epochs(stored) != _without_epochs(self.cfg):
            raise InputError("the checkpoint was trained with a different config; resume with the same config "
                             "(only --epochs may change)", path)
        trained_on = payload.get("data")
        if trained_on is None:
            logger.warning("%s records no training data (an older checkpoint); resuming on %s unchecked", path,
                           self.data["path"])
        elif trained_on.get("digest") != self.data["digest"]:
            raise InputError(f"the run was trained on {trained_on.get('path')} but --data gives other data "
                             f"({self.data['path']}, another content); resume with the same --data, or start a "
                             "new run with another --out", path)
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        self.state = TrainState(*(payload[f.name] for f in dataclasses.fields(TrainState)))
        set_rng_state(payload["rng"], self.generator)
        self.resumed = True
        logger.info("resumed %s after epoch %d (step %d)", path, self.state.epoch, self.state.step)

    def _log_epoch(self, row: dict[str, float]) -> None:
        scores = ""
        if "test_mpjpe_full" in row:  # only epochs with an evaluation print test scores
            scores = (f" | test MPJPE full {row['test_mpjpe_full']:.1f} spine {row['test_mpjpe_spine']:.1f} | "
                      f"P-MPJPE full {row['test_p_mpjpe_full']:.1f} spine {row['test_p_mpjpe_spine']:.1f} mm")
        logger.info("epoch %d/%d: loss %.2f%s | %.0f frames/s", row["epoch"], self.cfg.optim.epochs,
                    row["train_loss"], scores, row["train_frames_per_s"])


def _without_epochs(cfg: TrainConfig) -> dict:
    d = cfg.to_dict()
    d["optim"].pop("epochs")
    return d


def _amp_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    """Autocast dtype: bf16 where supported, else fp16 (with loss scaling); None (fp32) off CUDA."""
    if not amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
