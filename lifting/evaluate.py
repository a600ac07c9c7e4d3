"""Score a lifter on every frame of a split: full sequences, sliding windows, shared metrics.

Each test sequence (one subject, action and camera) is lifted whole by
:func:`spine3d.lifting.infer.lift_sequence` (the last window aligned to the sequence end, so every frame is
predicted exactly once after blending), optionally with flip test-time augmentation, and all frames
are scored together by :func:`spine3d.evaluation.evaluate`: MPJPE, P-MPJPE, N-MPJPE and MPJVE (mm per
frame) for the full skeleton and the spine joints, overall and per action, root-relative in mm.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterable, Literal, Sequence

import numpy as np
import torch
from tqdm import tqdm

from spine3d.evaluation import EvalResult, evaluate
from spine3d.lifting.checkpoint import load_checkpoint
from spine3d.data.source import SequenceSource
from spine3d.lifting.data import EvalSequence, eval_sequences
from spine3d.lifting.infer import lift_sequence
from spine3d.io import write_json_atomic
from spine3d.skeletons import Skeleton

GROUPS = ("full", "spine")
SUMMARY_METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")


def evaluate_lifter(
    model: torch.nn.Module,
    sequences: Iterable[EvalSequence],
    skeleton: Skeleton,
    frames: int,
    flip_tta: Sequence[bool] = (False, True),
    groups: Sequence[str] = GROUPS,
    progress: bool = False,
) -> dict[bool, EvalResult]:
    """Lift every sequence and score all frames, once per flip-TTA setting.

    Args:
        model: the lifter (its device is used; eval mode during the call).
        sequences: test sequences, e.g. ``lifting.data.eval_sequences(source, "test", cfg.data)``;
            each has ``inputs`` (T, J, 3) normalised x, y, conf and ``target`` (T, J, 3) mm root-relative.
        skeleton: layout of the J joints.
        frames: F, the model's window length.
        flip_tta: the settings to score (False: plain; True: flip test-time augmentation).
        groups: joint groups to report (see :meth:`Skeleton.group`).
        progress: show a progress bar over sequences.

    Returns:
        flip setting -> :class:`spine3d.evaluation.EvalResult` (mm; MPJVE in mm per frame).
    """
    preds: dict[bool, list[np.ndarray]] = {flip: [] for flip in flip_tta}
    targets, actions, seq_ids = [], [], []
    for k, seq in enumerate(tqdm(sequences, desc="evaluate", unit="seq", disable=not progress, leave=False)):
        for flip in flip_tta:
            preds[flip].append(lift_sequence(model, seq.inputs, frames, flip, skeleton))
        t = len(seq.inputs)
        targets.append(np.asarray(seq.target, dtype=np.float32))
        actions.append(np.full(t, seq.action))
        seq_ids.append(np.full(t, k))
    if not targets:
        raise ValueError("evaluate_lifter: no sequences to score")
    gt, act, ids = np.concatenate(targets), np.concatenate(actions), np.concatenate(seq_ids)
    return {flip: evaluate(np.concatenate(p), gt, skeleton, actions=act, sequences=ids, groups=groups,
                           root=skeleton.root, units="mm")
            for flip, p in preds.items()}


def summary_row(result: EvalResult, prefix: str = "test_") -> dict[str, float]:
    """Flatten ``result.overall`` to ``{prefix}{metric}_{group}: value`` for the CSV / TensorBoard logs."""
    return {f"{prefix}{metric}_{group}": float("nan") if value is None else value
            for metric in SUMMARY_METRICS if metric in result.overall
            for group, value in result.overall[metric].items()}


def evaluate_checkpoint(
    checkpoint: str | os.PathLike,
    data: str | os.PathLike,
    protocol: Literal["gt", "detected"] | None = None,
    flip_tta: Sequence[bool] = (False, True),
    device: str = "cpu",
    progress: bool = False,
) -> dict[bool, EvalResult]:
    """Score a checkpoint on the test split of a dataset folder (its own input protocol unless ``protocol``)."""
    model, cfg, skeleton = load_checkpoint(checkpoint, device)
    data_cfg = cfg.data if protocol is None else dataclasses.replace(cfg.data, protocol=protocol)
    source = SequenceSource(data, skeleton)
    return evaluate_lifter(model, eval_sequences(source, "test", data_cfg), skeleton, cfg.data.frames, flip_tta,
                           progress=progress)


def write_results(results: dict[bool, EvalResult], path: str | os.PathLike) -> None:
    """Write results as JSON (atomically): ``{"plain": ..., "flip_tta": ...}`` of :meth:`EvalResult.to_dict`."""
    doc = {("flip_tta" if flip else "plain"): result.to_dict() for flip, result in results.items()}
    write_json_atomic(path, doc)
