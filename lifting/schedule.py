"""Optimiser, learning-rate schedule and seeding for the lifter training.

- AdamW; biases and normalisation weights (parameters with fewer than 2 dimensions) get no weight decay.
- Learning rate per optimisation step: linear warm-up from 0 over ``warmup_epochs``, then either a
  cosine decay to 0 at the last step or an exponential decay by ``lr_decay`` per epoch (applied
  smoothly per step: ``lr_decay ** (steps since warm-up / steps per epoch)``).
- Seeds: python, numpy and torch (CPU and CUDA) from one integer; a seeded generator for the
  DataLoader and a ``worker_init_fn`` that derives each worker's numpy / python seed from torch's.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

if TYPE_CHECKING:
    from spine3d.lifting.config import OptimConfig


def lr_factor(
    step: int,
    steps_per_epoch: int,
    total_steps: int,
    warmup_epochs: float,
    schedule: Literal["cosine", "exponential"],
    lr_decay: float,
) -> float:
    """Multiplier of the base learning rate at optimisation step ``step`` (0-based)."""
    warmup = int(round(warmup_epochs * steps_per_epoch))
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "cosine":
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "exponential":
        return lr_decay ** ((step - warmup) / max(1, steps_per_epoch))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; expected 'cosine' or 'exponential'")


def build_optimizer(model: torch.nn.Module, cfg: "OptimConfig") -> torch.optim.AdamW:
    """AdamW over the trainable parameters; no weight decay on 0-D / 1-D parameters (biases, norms)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: "OptimConfig", steps_per_epoch: int, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LambdaLR following :func:`lr_factor`; call ``.step()`` after every optimiser step.

    The schedule is a closure over the *current* config, so its state_dict only holds the step
    count: resuming with a different ``--epochs`` re-plans the cosine over the new total.
    """
    total = steps_per_epoch * epochs

    def factor(step: int) -> float:
        return lr_factor(step, steps_per_epoch, total, cfg.warmup_epochs, cfg.schedule, cfg.lr_decay)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global RNG and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator for a DataLoader (drives its workers' base seed), seeded independently of the global RNG."""
    return torch.Generator().manual_seed(seed)


def worker_init_fn(worker_id: int) -> None:
    """Seed numpy and python in a DataLoader worker from the per-worker torch seed (base seed + worker id)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def rng_state(generator: torch.Generator | None = None) -> dict:
    """Every RNG state the training consumes, as plain tensors / tuples (loadable with ``weights_only``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
        "python": random.getstate(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if generator is not None:
        state["loader"] = generator.get_state()
    return state


def set_rng_state(state: dict, generator: torch.Generator | None = None) -> None:
    """Restore the states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(_as_tuples(state["python"]))
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "loader" in state:
        generator.set_state(state["loader"])


def _as_tuples(value: object) -> object:
    """Lists back to tuples (a round trip through some serialisers turns python's RNG state into lists)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


