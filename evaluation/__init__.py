"""Shared 3D pose metrics: MPJPE (Protocol #1), P-MPJPE (#2), N-MPJPE, MPJVE, 3D PCK / AUC.

numpy functions work on any leading axes, ``(..., J, 3)``, are NaN-aware (missing joints are
excluded) and return errors in the unit of their inputs; :func:`evaluate` scores a whole test set
per joint group, action and joint, in mm. Differentiable torch versions live in
:mod:`spine3d.evaluation.torch_metrics`, imported on demand so that ``import evaluation`` stays light.
"""

from spine3d.evaluation.metrics import (
    auc,
    joint_errors,
    mpjpe,
    mpjve,
    n_mpjpe,
    p_mpjpe,
    pck3d,
    per_joint_error,
    root_relative,
    velocity_errors,
)
from spine3d.evaluation.procrustes import procrustes_align, scale_align
from spine3d.evaluation.summary import METRICS, EvalResult, evaluate, format_table

__all__ = [
    "METRICS",
    "EvalResult",
    "auc",
    "evaluate",
    "format_table",
    "joint_errors",
    "mpjpe",
    "mpjve",
    "n_mpjpe",
    "p_mpjpe",
    "pck3d",
    "per_joint_error",
    "procrustes_align",
    "root_relative",
    "scale_align",
    "velocity_errors",
]
