"""One call that scores a whole test set: every metric, per joint group, per action and per joint.

Each metric is first turned into an (N, J) score per frame and joint (NaN where excluded), so that
any aggregate (a group's columns, an action's rows) is a plain mean over the finite entries:
MPJPE / P-MPJPE / N-MPJPE are the aligned errors, MPJVE the velocity error of the pair ending at
that frame, PCK 100 * (error <= threshold) and AUC the PCK averaged over the thresholds (both
linear in the entries, so their group means are the usual PCK / AUC of that group).

Conventions: results are in mm (inputs in ``units`` are converted), MPJVE in mm per frame or mm/s
with ``fps``, PCK and AUC in percent. P-MPJPE aligns each frame on all of its valid joints, then
averages the errors of the group's joints. With ``root`` both poses are made root-relative first;
the root then scores 0 and stays in the means (the usual Human3.6M convention).
"""

from __future__ import annotations

import math
import typing
from dataclasses import asdict, dataclass, field
from typing import Literal, Sequence

import numpy as np

from spine3d.evaluation._validate import check_pair, valid_joints
from spine3d.evaluation.metrics import joint_errors, root_relative, velocity_errors
from spine3d.errors import InputError
from spine3d.skeletons import Skeleton, get_skeleton

Metric = Literal["mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "pck", "auc"]
METRICS: tuple[str, ...] = typing.get_args(Metric)
_UNIT_TO_MM = {"m": 1000.0, "mm": 1.0}


@dataclass
class EvalResult:
    """Scores as nested plain dicts (JSON-ready; ``None`` where nothing could be scored).

    Attributes:
        overall: metric -> group -> value.
        per_action: action -> metric -> group -> value (empty without ``actions``).
        per_joint: joint name -> metric -> value, over all frames.
        counts: metric -> group -> number of (frame, joint) entries that were scored.
        missing: group -> number of (frame, joint) entries excluded as non-finite in pred or gt.
        meta: the settings used (skeleton, units, root, fps, thresholds, frame count).
    """

    overall: dict[str, dict[str, float | None]]
    per_action: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    per_joint: dict[str, dict[str, float | None]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Deep copy as plain dicts, ready for ``json.dumps``."""
        return asdict(self)


def evaluate(
    pred: np.ndarray,
    gt: np.ndarray,
    skeleton: Skeleton | str,
    actions: Sequence[str] | np.ndarray | None = None,
    groups: Sequence[str] = ("full", "spine", "spine15", "body"),
    root: int | str | None = None,
    fps: float | None = None,
    sequences: Sequence | np.ndarray | None = None,
    units: Literal["m", "mm"] = "m",
    pck_threshold: float = 150.0,
    auc_steps: int = 31,
) -> EvalResult:
    """Score stacked frames with every metric, per group, per action and per joint.

    Args:
        pred: (N, J, 3) predicted keypoints in ``units``, frames stacked in time order.
        gt: (N, J, 3) ground truth, same unit and frame; NaN marks missing joints.
        skeleton: the layout of the J joints (a :class:`Skeleton` or its name).
        actions: optional (N,) action name of each frame, for the per-action breakdown.
        groups: joint groups to report (see :meth:`Skeleton.group`); empty groups give ``None``.
        root: root joint (index or name) subtracted from both poses first; None scores absolute positions.
        fps: frame rate in Hz; MPJVE is in mm/s when given, else in mm per frame.
        sequences: optional (N,) sequence id of each frame; velocities never span two sequences
            (nor two actions). None treats runs of equal ``actions`` (or everything) as one sequence.
        units: unit of the inputs ("m" or "mm"); results are reported in mm.
        pck_threshold: PCK threshold and AUC upper bound, in mm.
        auc_steps: number of AUC thresholds on [0, pck_threshold].
    """
    skel = get_skeleton(skeleton)
    pred, gt = _prepare(pred, gt, skel, units)
    n = pred.shape[0]
    actions_arr = None if actions is None else _per_frame(actions, n, "actions").astype(str)
    root_idx = None if root is None else _root_index(skel, root)
    if root_idx is not None:
        pred, gt = root_relative(pred, root_idx), root_relative(gt, root_idx)
    scores = _scores(pred, gt, actions_arr, sequences, fps, pck_threshold, auc_steps)
    cols = np.array([skel.group(g) for g in groups], dtype=np.float64).reshape(len(groups), skel.num_joints)
    result = _breakdown(scores, skel, list(groups), cols, actions_arr)
    missing = (~valid_joints(pred, gt)).sum(0).astype(np.float64) @ cols.T
    result.missing = {g: int(v) for g, v in zip(groups, missing)}
    result.meta = {"skeleton": skel.name, "num_frames": n, "units": "mm", "input_units": units,
                   "root": None if root_idx is None else skel.names[root_idx], "fps": fps,
                   "pck_threshold_mm": pck_threshold, "auc_steps": auc_steps,
                   "mpjve_units": "mm/s" if fps else "mm/frame"}
    return result


def format_table(result: EvalResult, metrics: Sequence[str] = ("mpjpe", "p_mpjpe"),
                 groups: Sequence[str] = ("full", "spine")) -> str:
    """Markdown table: one row for all frames then one per action; one column per (metric, group)."""
    cols = [(m, g) for m in metrics for g in groups]
    for m, g in cols:
        if m not in result.overall or g not in result.overall[m]:
            raise InputError(f"format_table: no result for metric {m!r} and group {g!r}")
    header = "| action | " + " | ".join(f"{m} {g}" for m, g in cols) + " |"
    lines = [header, "|---" * (len(cols) + 1) + "|"]
    rows = [("all", result.overall)] + list(result.per_action.items())
    for label, table in rows:
        lines.append(f"| {label} | " + " | ".join(_fmt(table[m][g]) for m, g in cols) + " |")
    return "\n".join(lines)


def _breakdown(scores: dict[str, np.ndarray], skel: Skeleton, groups: list[str], cols: np.ndarray,
               actions: np.ndarray | None) -> EvalResult:
    """Aggregate (N, J) scores into the overall / per-action / per-joint tables and counts."""
    if actions is None:
        labels, codes = [], np.zeros(len(next(iter(scores.values()))), dtype=np.int64)
    else:
        uniq, codes = np.unique(actions, return_inverse=True)
        labels = [str(a) for a in uniq]
    res = EvalResult(overall={}, per_action={a: {} for a in labels},
                     per_joint={name: {} for name in skel.names})
    for metric, score in scores.items():
        agg = _aggregate(score, cols, codes, len(labels))
        res.overall[metric] = dict(zip(groups, agg["overall"]))
        res.counts[metric] = dict(zip(groups, agg["counts"]))
        for a, row in zip(labels, agg["per_action"]):
            res.per_action[a][metric] = dict(zip(groups, row))
        for name, value in zip(skel.names, agg["per_joint"]):
            res.per_joint[name][metric] = value
    return res


def _prepare(pred: np.ndarray, gt: np.ndarray, skel: Skeleton, units: Literal["m", "mm"]
             ) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = check_pair(pred, gt, "evaluate")
    if pred.ndim != 3 or pred.shape[1] != skel.num_joints:
        raise InputError(f"evaluate: expected stacked frames of shape (N, {skel.num_joints}, 3) "
                         f"for skeleton {skel.name}, got {pred.shape}")
    if units not in _UNIT_TO_MM:
        raise InputError(f"evaluate: units must be 'm' or 'mm', got {units!r}")
    k = _UNIT_TO_MM[units]
    return pred * k, gt * k


def _root_index(skel: Skeleton, root: int | str) -> int:
    try:
        return skel.index(root) if isinstance(root, str) else int(root)
    except KeyError:
        raise InputError(f"evaluate: skeleton {skel.name} has no root joint {root!r}") from None


def _per_frame(values: Sequence | np.ndarray, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise InputError(f"evaluate: {name} must have one entry per frame; expected shape ({n},), got {arr.shape}")
    return arr


def _scores(pred: np.ndarray, gt: np.ndarray, actions: np.ndarray | None, sequences, fps: float | None,
            threshold: float, steps: int) -> dict[str, np.ndarray]:
    """metric -> (N, J) score per frame and joint, NaN where not scored."""
    err = joint_errors(pred, gt, "none")
    finite = np.isfinite(err)
    thresholds = np.linspace(0.0, threshold, steps)
    auc = (err[..., None] <= thresholds).mean(-1) * 100.0  # NaN err compares False; masked below
    return {
        "mpjpe": err,
        "p_mpjpe": joint_errors(pred, gt, "procrustes"),
        "n_mpjpe": joint_errors(pred, gt, "scale"),
        "mpjve": _velocity_scores(pred, gt, actions, sequences, fps),
        "pck": np.where(finite, (err <= threshold) * 100.0, np.nan),
        "auc": np.where(finite, auc, np.nan),
    }


def _velocity_scores(pred: np.ndarray, gt: np.ndarray, actions: np.ndarray | None, sequences,
                     fps: float | None) -> np.ndarray:
    """(N, J): row t holds the velocity error of frames (t-1, t); NaN at sequence starts."""
    n, j = pred.shape[:2]
    out = np.full((n, j), np.nan)
    if n < 2:
        return out
    same = np.ones(n - 1, dtype=bool)
    if sequences is not None:
        seq = _per_frame(sequences, n, "sequences")
        same &= seq[1:] == seq[:-1]
    if actions is not None:
        same &= actions[1:] == actions[:-1]
    vel = velocity_errors(pred, gt, fps)
    out[1:] = np.where(same[:, None], vel, np.nan)
    return out


def _aggregate(score: np.ndarray, cols: np.ndarray, codes: np.ndarray, num_actions: int) -> dict[str, list]:
    """Means of the finite entries of an (N, J) score per group (G, J), per action and per joint.

    Sums and counts are reduced once per frame and group, then per action with ``bincount``.
    """
    finite = np.isfinite(score)
    s0 = np.where(finite, score, 0.0)
    sums, cnts = s0 @ cols.T, finite.astype(np.float64) @ cols.T  # (N, G)
    act_sums = np.stack([np.bincount(codes, sums[:, g], num_actions) for g in range(cols.shape[0])], -1)
    act_cnts = np.stack([np.bincount(codes, cnts[:, g], num_actions) for g in range(cols.shape[0])], -1)
    return {
        "overall": _ratio(sums.sum(0), cnts.sum(0)),
        "counts": [int(c) for c in cnts.sum(0)],
        "per_action": [_ratio(a, c) for a, c in zip(act_sums, act_cnts)],
        "per_joint": _ratio(s0.sum(0), finite.sum(0)),
    }


def _ratio(sums: np.ndarray, counts: np.ndarray) -> list[float | None]:
    """Elementwise sums / counts as floats, None where the count is 0."""
    return [float(s / c) if c else None for s, c in zip(sums.tolist(), counts.tolist())]


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"
