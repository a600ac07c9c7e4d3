"""Benchmark report: ``report.md`` (SIMSPINE-style tables), ``report.json`` (every number), figures.

Every number comes from :class:`spine3d.evaluation.EvalResult` objects computed by the shared
``evaluation`` module; this module only lays them out.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from spine3d.evaluation import EvalResult
from spine3d.evaluation.summary import Metric
from spine3d import viz
from spine3d.benchmark.monocular import MonocularResults
from spine3d.benchmark.multiview import MultiViewResults
from spine3d.io import write_json_atomic, write_text_atomic
from spine3d.skeletons import GroupName, Skeleton

PROTOCOL_NAMES = {"gt": "GT 2D (oracle)", "detected": "Detected 2D"}
FIGURES = ("per_joint_errors.png", "error_vs_outliers.png", "error_per_action.png", "skeleton_3d.png",
           "spine_sagittal.png", "overlay_2d.png")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: Sequence[str], rows: list[Sequence[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _scores(result: EvalResult) -> list[str]:
    o = result.overall
    return [_fmt(o["mpjpe"]["full"]), _fmt(o["mpjpe"]["spine"]), _fmt(o["p_mpjpe"]["full"]),
            _fmt(o["p_mpjpe"]["spine"])]


SCORE_HEADER = ["MPJPE full (mm)", "MPJPE spine (mm)", "P-MPJPE full (mm)", "P-MPJPE spine (mm)"]


def multiview_tables(mv: MultiViewResults) -> list[str]:
    rows = []
    for protocol, methods in mv.results.items():
        for label, result in methods.items():
            pts = mv.num_points[protocol] / max(mv.timings[protocol][label], 1e-9)
            rows.append([PROTOCOL_NAMES.get(protocol, protocol), label, *_scores(result),
                         _fmt(result.overall["pck"]["full"], 1), _fmt(result.overall["auc"]["full"], 1),
                         f"{pts:,.0f}"])
    lines = ["## Multi-view triangulation", "",
             "World frame, absolute positions (no root alignment); P-MPJPE after per-frame similarity Procrustes.",
             "Points/s: whole pipeline (undistortion, solve, refinement, outputs) on this machine.", "",
             *_table(["Setting", "Method", *SCORE_HEADER, "PCK3D@150 (%)", "AUC (%)", "points/s"], rows), ""]
    if mv.outlier_ratios:
        header = ["Method", *(f"{100 * r:.0f} % outliers" for r in mv.outlier_ratios)]
        rows = [[label, *(_fmt(v) for v in values)] for label, values in mv.outlier_mpjpe.items()]
        lines += ["### Robustness: MPJPE full (mm) vs gross-outlier ratio", "",
                  "Oracle 2D + 2 px Gaussian noise; outliers are uniformly random pixels with confidence 1.", "",
                  *_table(header, rows), ""]
    return lines


def monocular_tables(mono: MonocularResults) -> list[str]:
    rows = []
    for protocol, by_flip in mono.results.items():
        for flip, result in by_flip.items():
            o = result.overall
            rows.append([PROTOCOL_NAMES.get(protocol, protocol), "yes" if flip else "no", *_scores(result),
                         _fmt(o["n_mpjpe"]["full"]), _fmt(o["mpjve"]["full"])])
    model = mono.model
    lines = ["## Monocular lifting", "",
             f"Model: {model.get('config')} ({model.get('kind')}, {model.get('frames')} frames, "
             f"{model.get('parameters', 0):,} parameters). Camera frame, root (Hip) relative.", "",
             *_table(["Input 2D", "Flip TTA", *SCORE_HEADER, "N-MPJPE full (mm)", "MPJVE full (mm/frame)"], rows), ""]
    costs = [[PROTOCOL_NAMES.get(p, p), _fmt(mono.train_time_s.get(p), 1), f"{mono.inference_fps[p]:,.0f}",
              mono.checkpoints[p]] for p in mono.results]
    lines += _table(["Input 2D", "Training time (s)", "Inference (frames/s, no TTA)", "Checkpoint"], costs) + [""]
    return lines


def per_action_table(columns: dict[str, EvalResult], metric: Metric = "mpjpe", group: GroupName = "spine") -> list[str]:
    actions = sorted({a for r in columns.values() for a in r.per_action})
    rows = [[a, *(_fmt(r.per_action.get(a, {}).get(metric, {}).get(group)) for r in columns.values())]
            for a in actions]
    return [f"### Per action: {metric.upper().replace('_', '-')} {group} (mm)", "",
            *_table(["Action", *columns], rows), ""]


def per_joint_table(columns: dict[str, EvalResult], skeleton: Skeleton, metric: Metric = "mpjpe") -> list[str]:
    spine = skeleton.group("spine")
    rows = [[("**" + name + "**") if spine[j] else name,
             *(_fmt(r.per_joint.get(name, {}).get(metric)) for r in columns.values())]
            for j, name in enumerate(skeleton.names)]
    return [f"### Per joint: {metric.upper().replace('_', '-')} (mm; spine joints in bold)", "",
            *_table(["Joint", *columns], rows), ""]


def write_figures(out: Path, skeleton: Skeleton, mv: MultiViewResults | None, mono: MonocularResults | None,
                  columns: dict[str, EvalResult]) -> dict[str, str]:
    """Write the report's figures; returns figure name -> relative path."""
    fig = out / "figures"
    made: dict[str, str] = {}

    def joint_errors(result: EvalResult) -> np.ndarray:
        return np.array([np.nan if result.per_joint[n]["mpjpe"] is None else result.per_joint[n]["mpjpe"]
                         for n in skeleton.names])

    if columns:
        made["per_joint_errors.png"] = viz.plot_per_joint_errors(
            fig / "per_joint_errors.png", {k: joint_errors(r) for k, r in columns.items()}, skeleton,
            "MPJPE per joint")
        actions = sorted({a for r in columns.values() for a in r.per_action})
        made["error_per_action.png"] = viz.plot_error_per_action(
            fig / "error_per_action.png", actions,
            {k: np.array([_nan(r.per_action[a]["mpjpe"]["spine"]) for a in actions]) for k, r in columns.items()},
            "MPJPE on spine joints per action")
    if mv is not None and mv.outlier_ratios:
        made["error_vs_outliers.png"] = viz.plot_error_vs_outliers(
            fig / "error_vs_outliers.png", np.array(mv.outlier_ratios) * 100,
            {k: np.array(v) for k, v in mv.outlier_mpjpe.items()}, "Triangulation MPJPE vs gross outliers (2 px noise)",
            xlabel="gross outliers (%)")
    if mv is not None and "pred" in mv.example:
        t = _frame_with_most_motion(mv.example["gt"])
        made["skeleton_3d.png"] = viz.plot_skeleton_3d(fig / "skeleton_3d.png", mv.example["pred"][t],
                                                       mv.example["gt"][t], skeleton,
                                                       "Triangulated (detected 2D, RANSAC) vs ground truth")
        made["spine_sagittal.png"] = viz.plot_spine_sagittal(fig / "spine_sagittal.png", mv.example["pred"][t],
                                                             mv.example["gt"][t], skeleton)
        rig = mv.example["rig"]
        frame = min(t, mv.example["uv"].shape[1] - 1)
        made["overlay_2d.png"] = viz.plot_overlay_2d(
            fig / "overlay_2d.png", mv.example["uv"][:, frame], skeleton, np.stack([c.size for c in rig]),
            names=rig.names, second=mv.example["uv_gt"][:, frame], labels=("detected", "ground truth"))
    if mono is not None and "pred" in mono.example:
        made["lifter_skeleton_3d.png"] = viz.plot_skeleton_3d(
            fig / "lifter_skeleton_3d.png", mono.example["pred"], mono.example["gt"], skeleton,
            f"Lifted ({mono.example['subject']} {mono.example['action']}, camera {mono.example['camera']})",
            frame="camera")
    return {name: str(Path(p).relative_to(out)) for name, p in made.items()}


def _nan(value: float | None) -> float:
    return np.nan if value is None else value


def _frame_with_most_motion(world: np.ndarray) -> int:
    """A frame far from the mean pose, so the figure shows a bent spine rather than a neutral stance."""
    with warnings.catch_warnings():  # joints missing in every frame (e.g. heels of merged data) are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        dev = np.nanmean(np.linalg.norm(world - np.nanmean(world, axis=0), axis=-1), axis=-1)
    return int(np.nanargmax(dev)) if np.isfinite(dev).any() else 0


def spine_angle_table(mv: MultiViewResults, skeleton: Skeleton) -> list[str]:
    if "pred" not in mv.example:
        return []
    t = _frame_with_most_motion(mv.example["gt"])
    gt = viz.sagittal_spine_angles(mv.example["gt"][t], skeleton)
    pred = viz.sagittal_spine_angles(mv.example["pred"][t], skeleton, forward=None)
    rows = [[level, _fmt(float(pred[level]), 1), _fmt(float(gt[level]), 1)] for level in gt]
    return ["### Sagittal spine angles of the figure's frame (deg; + = forward bend at that level)", "",
            "Per-level angles are sensitive: a few mm of error on 5-10 cm segments moves them by several degrees.", "",
            *_table(["Level", "Triangulated", "Ground truth"], rows), ""]


def write_report(out: Path, header: dict[str, Any], skeleton: Skeleton, mv: MultiViewResults | None,
                 mono: MonocularResults | None, kin: Any = None) -> None:
    """Write ``report.md``, ``report.json`` and ``figures/*.png`` into ``out``."""
    columns: dict[str, EvalResult] = {}
    if mv is not None and "detected" in mv.results:
        columns["Multi-view RANSAC (detected 2D)"] = mv.results["detected"][list(mv.results["detected"])[-1]]
    if mono is not None and "detected" in mono.results:
        columns["Monocular lifter (detected 2D, TTA)"] = mono.results["detected"][True]
    figures = write_figures(out, skeleton, mv, mono, columns)
    lines = ["# spine3d benchmark report", ""]
    lines += [f"- **{k}**: {v}" for k, v in header.items()] + [""]
    if mv is not None:
        lines += multiview_tables(mv) + spine_angle_table(mv, skeleton)
    if kin is not None:
        from spine3d.benchmark.kinematics import kinematics_tables

        lines += kinematics_tables(kin)
    if mono is not None:
        lines += monocular_tables(mono)
    if columns:
        lines += per_action_table(columns) + per_joint_table(columns, skeleton)
    lines += ["## Figures", ""] + [f"![{name}]({path})" for name, path in figures.items()] + [""]
    write_text_atomic(out / "report.md", "\n".join(lines))
    doc = {"header": header, "figures": figures,
           "multiview": None if mv is None else _multiview_json(mv),
           "monocular": None if mono is None else _monocular_json(mono),
           "kinematics": None if kin is None else {k: v for k, v in vars(kin).items() if k != "example"}}
    write_json_atomic(out / "report.json", doc)


def _multiview_json(mv: MultiViewResults) -> dict:
    return {"results": {p: {m: r.to_dict() for m, r in ms.items()} for p, ms in mv.results.items()},
            "seconds": mv.timings, "num_points": mv.num_points,
            "outliers": {"ratios": mv.outlier_ratios, "mpjpe_full_mm": mv.outlier_mpjpe}}


def _monocular_json(mono: MonocularResults) -> dict:
    return {"results": {p: {("flip_tta" if f else "plain"): r.to_dict() for f, r in by.items()}
                        for p, by in mono.results.items()},
            "train_time_s": mono.train_time_s, "inference_fps": mono.inference_fps,
            "checkpoints": mono.checkpoints, "model": mono.model}
