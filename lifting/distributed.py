"""Multi-process training helpers: process-group setup from ``torchrun``'s environment and a sampler
that gives every rank its share of the *same* global batches.

With W processes and a global batch of B windows, each rank loads B / W windows per step: the
epoch's permutation (seeded by seed + epoch, identical on every rank) is cut into global batches
of B consecutive entries, and rank r takes entries r, r + W, r + 2W, ... of each. DDP averages the
per-rank mean gradients, which equals the single-process mean gradient over the same B windows, so
1 and W processes train the same model (to float rounding). The incomplete last global batch of an
epoch is dropped (a different window set is dropped each epoch).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from spine3d.errors import InputError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job (single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_world_size() -> int:
    """WORLD_SIZE set by ``torchrun`` (1 when absent)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group described by torchrun's RANK / WORLD_SIZE / LOCAL_RANK / MASTER_* variables.

    Backend: NCCL on CUDA, gloo on the CPU.
    """
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise InputError(f"--ddp needs the variables torchrun sets ({', '.join(missing)} missing); "
                         "launch with: torchrun --nproc_per_node N -m spine3d.cli.main train ...")
    info = DistInfo(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo",
                                rank=info.rank, world_size=info.world_size)
    logger.info("DDP: rank %d of %d (local rank %d)", info.rank, info.world_size, info.local_rank)
    return info


def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over all ranks (identity in a single process)."""
    if info.enabled:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


class GlobalBatchSampler(Sampler[int]):
    """Indices of one rank's windows for an epoch; batch them with ``global_batch // world_size``.

    Args:
        num_samples: size of the dataset.
        global_batch: B, windows per optimisation step summed over all ranks (a multiple of W).
        world_size: W. rank: this process's rank.
        seed: shuffle seed; the permutation of epoch e is drawn from a generator seeded with seed + e.
    """

    def __init__(self, num_samples: int, global_batch: int, world_size: int = 1, rank: int = 0,
                 seed: int = 0, shuffle: bool = True) -> None:
        if global_batch % world_size:
            raise InputError(f"data.batch_size ({global_batch}) must be a multiple of the number of processes "
                             f"({world_size})")
        if num_samples < global_batch:
            raise InputError(f"the training split has {num_samples} windows, fewer than one batch of {global_batch}; "
                             "lower data.batch_size or data.stride")
        self.num_samples, self.global_batch = num_samples, global_batch
        self.world_size, self.rank, self.seed, self.shuffle = world_size, rank, seed, shuffle
        self.epoch = 0

    @property
    def steps_per_epoch(self) -> int:
        return self.num_samples // self.global_batch

    @property
    def local_batch(self) -> int:
        return self.global_batch // self.world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps_per_epoch * self.local_batch

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_samples, generator=gen)
        else:
            order = torch.arange(self.num_samples)
        used = order[: self.steps_per_epoch * self.global_batch]
        return iter(used[self.rank :: self.world_size].tolist())
