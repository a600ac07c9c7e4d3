"""Inverse kinematics measured: the batched solver against OpenSim's, and what the spine markers buy.

1. Side by side (issue 16): frames/s of both backends, the RMS difference of their coordinates (deg;
   lumbar levels separately) and of their per-frame marker RMS (mm), on
   a. the shared Pose2Sim balancing trial, triangulated by spine3d (BODY_25B; body scaled once, both
      backends on that body), and
   b. ``--frames`` synthetic frames (SpinePose-37 markers of the true body + 5 mm noise), OpenSim at
      SIMSPINE's accuracy (1e-5), and ``--tight-frames`` of them again with OpenSim at 1e-7.
2. Accuracy (issue 15): synthetic trials with known coordinates and 5 mm marker noise through the
   whole framework (scaling, then IK), once from BODY_25B markers only and once from all SpinePose-37
   markers: RMS error per lumbar level and axis, and per coordinate group (deg).
3. The balancing trial through the framework: median / max per-frame marker RMS, IK time per frame.
4. (``--only thorax``) the lumbar flexion total and pelvis tilt errors with the thoracic joint coupled to
   the lumbar totals or solved freely, from SpinePose-37 markers, without and with 5 mm noise.

    python experiments/bench_kinematics.py [--frames 10000] [--opensim-frames N] [--out runs/bench_kinematics]
    python experiments/bench_kinematics.py --only thorax     # 4. the thorax coupled vs free (a minute)

Writes ``OUT/results.json`` and prints the README tables. Needs OpenSim (pip install -e ".[biomech]").
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spine3d.biomechanics.config import KinematicsConfig, load_config  # noqa: E402
from spine3d.biomechanics.inputs import MarkerInput, load_markers, marker_weights  # noqa: E402
from spine3d.biomechanics.model import BodyModel  # noqa: E402
from spine3d.biomechanics.opensim_ik import ACCURACY, opensim_ik  # noqa: E402
from spine3d.biomechanics.pipeline import parametrisation, solve  # noqa: E402
from spine3d.biomechanics.scaling import fit_body  # noqa: E402
from spine3d.biomechanics.solver import IKSolver  # noqa: E402
from spine3d.data.synth import generate as gen  # noqa: E402
from spine3d.data.synth.body import subject_dims  # noqa: E402
from spine3d.data.synth.coordinates import TRANSLATIONS  # noqa: E402
from spine3d.evaluation.kinematics import coordinate_errors, group_errors  # noqa: E402
from spine3d.formats.simspine_schema import KINEMATIC_AXES, world_to_file  # noqa: E402
from spine3d.skeletons import BODY_25B, SPINEPOSE_37  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "pose2sim_balancing"
LEVELS = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")
AXES = ("Flex_Ext", "Lat_Bending", "axial_rotation")
NOISE = 0.005  # m, marker noise of the synthetic trials
ACCURACY_TRIALS = (("S9", "Walking"), ("S9", "SittingDown"), ("S9", "Greeting"), ("S11", "Purchases"),
                   ("S11", "Directions"), ("S11", "Eating"))
logger = logging.getLogger("bench_kinematics")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="the pose2sim_balancing folder")
    p.add_argument("--frames", type=int, default=10_000, help="synthetic frames of the side-by-side run")
    p.add_argument("--opensim-frames", type=int, default=None, help="OpenSim on only the first N of them")
    p.add_argument("--tight-frames", type=int, default=200,
                   help="synthetic frames solved again with OpenSim at accuracy 1e-7 (0: skip)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each accuracy trial, s")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench_kinematics")
    p.add_argument("--only", choices=("all", "thorax"), default="all",
                   help="thorax: only the coupled-vs-free thorax comparison (seconds)")
    return p.parse_args(argv)


def side_by_side(model: BodyModel, par, markers: np.ndarray, weights: np.ndarray, fps: float,
                 opensim_frames: int | None = None, accuracy: float = ACCURACY) -> dict:
    """Both backends on one body and one set of markers: speed and agreement (OpenSim at ``accuracy``)."""
    ours = IKSolver(model, par, load_config().solver)
    ours.solve(markers[:50], weights[:50])  # compile / warm caches before timing
    mine = ours.solve(markers, weights)
    n = len(markers) if opensim_frames is None else min(opensim_frames, len(markers))
    q_osim, osim_seconds = opensim_ik(model, par, markers[:n], weights[:n], fps, accuracy=accuracy)
    x = model.markers(model.forward(q_osim))
    obs = world_to_file(markers[:n])
    present = np.isfinite(obs).all(-1) & (weights[:n] > 0)
    error = np.where(present, np.linalg.norm(x - np.nan_to_num(obs), axis=-1), np.nan)
    rms_osim = np.sqrt(np.nanmean(error ** 2, axis=1))
    solved = [KINEMATIC_AXES.index(a) for a in par.names if a not in TRANSLATIONS]
    lumbar = [KINEMATIC_AXES.index(f"{lv}_{ax}") for lv in LEVELS for ax in AXES]
    diff = mine.q[:n] - q_osim
    per_level = {lv: float(np.sqrt(np.mean(diff[:, [KINEMATIC_AXES.index(f"{lv}_{ax}") for ax in AXES]] ** 2)))
                 for lv in LEVELS}
    rms_diff = (mine.rms[:n] - rms_osim) * 1000.0
    return {
        "frames": len(markers), "opensim_frames": n, "markers": model.num_markers,
        "spine3d_seconds": mine.seconds, "spine3d_fps": len(markers) / mine.seconds,
        "opensim_seconds": osim_seconds, "opensim_fps": n / osim_seconds,
        "speedup": (len(markers) / mine.seconds) / (n / osim_seconds),
        "coordinate_rms_diff_deg": float(np.sqrt(np.mean(diff[:, solved] ** 2))),
        "lumbar_rms_diff_deg": float(np.sqrt(np.mean(diff[:, lumbar] ** 2))),
        "lumbar_level_rms_diff_deg": per_level,
        "worst_coordinates_deg": _worst(diff, solved),
        "marker_rms_mm": {"spine3d_median": float(np.nanmedian(mine.rms[:n]) * 1000),
                          "opensim_median": float(np.nanmedian(rms_osim) * 1000),
                          "diff_mean": float(np.nanmean(rms_diff)), "diff_max": float(np.nanmax(rms_diff)),
                          "frames_spine3d_worse_by_1mm": int(np.sum(rms_diff > 1.0))},
    }


def _worst(diff: np.ndarray, columns: list[int], count: int = 5) -> dict[str, float]:
    """The ``count`` coordinates whose RMS difference (deg) is largest."""
    rms = np.sqrt(np.mean(diff[:, columns] ** 2, axis=0))
    return {KINEMATIC_AXES[columns[k]]: float(rms[k]) for k in np.argsort(-rms)[:count]}


def balancing_side_by_side(data_dir: Path, work: Path) -> tuple[dict, MarkerInput]:
    npz = work / "balancing.npz"
    subprocess.run([sys.executable, "-m", "spine3d.cli.main", "triangulate", "--calib", str(data_dir / "Calib.toml"),
                    "--detections", str(data_dir / "pose-associated"), "--skeleton", "body25b", "--fps", "60",
                    "--out", str(npz), "--no-progress"], check=True, capture_output=True)
    config = load_config()
    data = load_markers(npz, evidence=config.evidence)
    weights = marker_weights(data, config.weights)
    par = parametrisation(data, config)
    scale = fit_body(data.markers, weights, data.names, par, config.scaling)
    model = BodyModel(scale.dims, data.names)
    return side_by_side(model, par, data.markers, weights, data.fps), data


def synthetic_markers(names: tuple[str, ...], frames: int, seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Synthetic trials of the test subjects, the body's own markers + NOISE: [(subject, q, markers)]."""
    trials, total, k = [], 0, 0
    pairs = [(s, a) for a in gen.ACTIONS for s in gen.TEST_SUBJECTS]
    while total < frames:
        subject, action = pairs[k % len(pairs)]
        seq, _ = gen.synthesize_sequence(subject, action, min(20.0, (frames - total) / gen.FPS), seed=0)
        q = seq.kinematics.astype(np.float64)
        markers = BodyModel(subject_dims(subject, 0), names).world_markers(q)
        markers += np.random.default_rng([seed, k]).normal(0, NOISE, markers.shape)
        trials.append((subject, q, markers))
        total, k = total + len(q), k + 1
    return trials


def synthetic_side_by_side(frames: int, opensim_frames: int | None, accuracy: float = ACCURACY) -> dict:
    """Test-subject trials concatenated to ``frames`` frames; both backends on each subject's true body."""
    names = tuple(SPINEPOSE_37.canonical)
    trials = synthetic_markers(names, frames)
    config = load_config()
    markers = np.concatenate([m for _, _, m in trials])
    weights = np.broadcast_to([config.weights.get(n, 1.0) for n in names], markers.shape[:2]).copy()
    data = MarkerInput(markers, names, np.ones(markers.shape[:2]), gen.FPS, "world", "synthetic", "spinepose37")
    par = parametrisation(data, config)
    runs = []
    for subject in dict.fromkeys(s for s, _, _ in trials):  # each subject's own body, both backends
        rows = np.concatenate([np.full(len(q), s == subject) for s, q, _ in trials])
        budget = None if opensim_frames is None else max(1, round(opensim_frames * rows.mean()))
        runs.append(side_by_side(BodyModel(subject_dims(subject, 0), names), par, markers[rows], weights[rows],
                                 gen.FPS, budget, accuracy))
    return _pool(runs)


def _pool(runs: list[dict]) -> dict:
    """Several side-by-side runs as one: times add up, RMS values pool by frame count."""
    frames = sum(r["frames"] for r in runs)
    osim_frames = sum(r["opensim_frames"] for r in runs)
    mine_s, osim_s = sum(r["spine3d_seconds"] for r in runs), sum(r["opensim_seconds"] for r in runs)

    def pooled(get) -> float:
        return float(np.sqrt(sum(get(r) ** 2 * r["opensim_frames"] for r in runs) / osim_frames))

    return {"frames": frames, "opensim_frames": osim_frames, "markers": runs[0]["markers"],
            "spine3d_seconds": mine_s, "spine3d_fps": frames / mine_s, "opensim_seconds": osim_s,
            "opensim_fps": osim_frames / osim_s, "speedup": (frames / mine_s) / (osim_frames / osim_s),
            "coordinate_rms_diff_deg": pooled(lambda r: r["coordinate_rms_diff_deg"]),
            "lumbar_rms_diff_deg": pooled(lambda r: r["lumbar_rms_diff_deg"]),
            "lumbar_level_rms_diff_deg": {lv: pooled(lambda r: r["lumbar_level_rms_diff_deg"][lv]) for lv in LEVELS},
            "marker_rms_mm": {"diff_mean": sum(r["marker_rms_mm"]["diff_mean"] * r["opensim_frames"] for r in runs)
                              / osim_frames,
                              "diff_max": max(r["marker_rms_mm"]["diff_max"] for r in runs),
                              "frames_spine3d_worse_by_1mm": sum(r["marker_rms_mm"]["frames_spine3d_worse_by_1mm"]
                                                                 for r in runs)},
            "runs": runs}


def accuracy(layout, seconds: float) -> dict:
    """Scaling + IK of synthetic trials from ``layout``'s markers (+ noise) against the true coordinates."""
    names = tuple(c for c in layout.canonical)
    config: KinematicsConfig = load_config()
    preds, truths = [], []
    for k, (subject, action) in enumerate(ACCURACY_TRIALS):
        seq, _ = gen.synthesize_sequence(subject, action, seconds, seed=0)
        q = seq.kinematics.astype(np.float64)
        markers = BodyModel(subject_dims(subject, 0), names).world_markers(q)
        markers += np.random.default_rng([1, k]).normal(0, NOISE, markers.shape)
        data = MarkerInput(markers, names, np.ones(markers.shape[:2]), gen.FPS, "world", "synthetic", layout.name)
        result = solve(data, config)
        preds.append(np.where(result.par.owner < 0, np.nan, result.q))
        truths.append(q)
    pred, truth = np.concatenate(preds), np.concatenate(truths)
    per = coordinate_errors(pred, truth, KINEMATIC_AXES)
    return {"frames": len(pred), "groups": group_errors(pred, truth, KINEMATIC_AXES),
            "lumbar": {f"{lv}_{ax}": per[f"{lv}_{ax}"]["rms"] for lv in LEVELS for ax in AXES},
            "lumbar_total": _totals(pred, truth)}


def _totals(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """RMS error (deg) of the lumbar totals (sum over the six levels) per axis."""
    out = {}
    for ax in AXES:
        cols = [KINEMATIC_AXES.index(f"{lv}_{ax}") for lv in LEVELS]
        out[ax] = float(np.sqrt(np.nanmean((pred[:, cols].sum(1) - truth[:, cols].sum(1)) ** 2)))
    return out


def thorax_modes(seconds: float = 6.0) -> dict:
    """Lumbar flexion total and pelvis tilt errors (deg RMS) with the thorax coupled or free, SpinePose-37
    markers, without and with NOISE, on two synthetic trials of S9."""
    names = tuple(SPINEPOSE_37.canonical)
    out = {}
    for noise in (0.0, NOISE):
        for mode in ("coupled", "free"):
            config = load_config()
            config = replace(config, spine=replace(config.spine, thorax=mode))
            errors = {"lumbar_flexion_total": [], "pelvis_tilt": []}
            for k, action in enumerate(("Greeting", "Walking")):
                seq, _ = gen.synthesize_sequence("S9", action, seconds, seed=0)
                q = seq.kinematics.astype(np.float64)
                markers = BodyModel(subject_dims("S9", 0), names).world_markers(q)
                markers += np.random.default_rng([2, k]).normal(0, noise, markers.shape)
                data = MarkerInput(markers, names, np.ones(markers.shape[:2]), gen.FPS, "world", "synthetic", "")
                pred = solve(data, config).q
                cols = [KINEMATIC_AXES.index(f"{lv}_Flex_Ext") for lv in LEVELS]
                errors["lumbar_flexion_total"].append(pred[:, cols].sum(1) - q[:, cols].sum(1))
                tilt = KINEMATIC_AXES.index("pelvis_tilt")
                errors["pelvis_tilt"].append(pred[:, tilt] - q[:, tilt])
            out[f"{mode}, noise {noise * 1000:g} mm"] = {k: float(np.sqrt(np.mean(np.concatenate(v) ** 2)))
                                                         for k, v in errors.items()}
    return out


def balancing_framework(data: MarkerInput) -> dict:
    """The balancing trial through scaling + the default backend: marker RMS and IK time."""
    result = solve(data, load_config())
    rms = result.rms * 1000.0
    return {"rms_mm_median": float(np.nanmedian(rms)), "rms_mm_max": float(np.nanmax(rms)),
            "ik_ms_per_frame": 1000.0 * result.seconds / len(rms), "scaling_seconds": result.scale_seconds,
            "height_m": result.scale.values["height"], "scaling_rms_mm": result.scale.rms_mm}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "load_before": os.getloadavg()}
    t0 = time.perf_counter()
    if args.only == "thorax":
        results["thorax_modes"] = thorax_modes()
        (args.out / "thorax.json").write_text(json.dumps(results, indent=1))
        print("\n".join(f"| {mode} | {v['lumbar_flexion_total']:.2f} | {v['pelvis_tilt']:.2f} |"
                        for mode, v in results["thorax_modes"].items()))
        return 0
    if args.data.is_dir():
        logger.info("balancing trial: both backends")
        results["balancing_side_by_side"], data = balancing_side_by_side(args.data, args.out)
        results["balancing_framework"] = balancing_framework(data)
    else:
        logger.warning("%s not found: the balancing trial is skipped", args.data)
    logger.info("%d synthetic frames: both backends", args.frames)
    results["synthetic_side_by_side"] = synthetic_side_by_side(args.frames, args.opensim_frames)
    if args.tight_frames:
        logger.info("%d synthetic frames: OpenSim at accuracy 1e-7", args.tight_frames)
        results["tight_side_by_side"] = synthetic_side_by_side(args.tight_frames, None, accuracy=1e-7)
    for layout in (BODY_25B, SPINEPOSE_37):
        logger.info("accuracy from %s markers", layout.name)
        results[f"accuracy_{layout.name}"] = accuracy(layout, args.seconds)
    results["load_after"], results["wall_seconds"] = os.getloadavg(), time.perf_counter() - t0
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(tables(results))
    return 0


def tables(r: dict) -> str:
    """The README tables from results.json."""
    lines = []
    runs = [(k, r[k]) for k in ("balancing_side_by_side", "synthetic_side_by_side", "tight_side_by_side") if k in r]
    lines += ["| | frames | spine3d frames/s | OpenSim frames/s | speed-up | coordinates RMS diff (deg) | "
              "lumbar RMS diff (deg) | marker RMS diff mean / max (mm) |", "|---|---|---|---|---|---|---|---|"]
    for name, s in runs:
        lines.append(f"| {name.split('_')[0]} | {s['frames']:,} (OpenSim {s['opensim_frames']:,}) | "
                     f"{s['spine3d_fps']:,.0f} | {s['opensim_fps']:.1f} | {s['speedup']:,.0f}x | "
                     f"{s['coordinate_rms_diff_deg']:.2f} | {s['lumbar_rms_diff_deg']:.2f} | "
                     f"{s['marker_rms_mm']['diff_mean']:+.2f} / {s['marker_rms_mm']['diff_max']:+.2f} |")
    lines += ["", "| lumbar level | " + " | ".join(LEVELS) + " |", "|---" * (len(LEVELS) + 1) + "|"]
    for name, s in runs:
        lines.append(f"| {name.split('_')[0]} (deg) | "
                     + " | ".join(f"{s['lumbar_level_rms_diff_deg'][lv]:.2f}" for lv in LEVELS) + " |")
    if "accuracy_body25b" in r:
        a, b = r["accuracy_body25b"], r["accuracy_spinepose37"]
        lines += ["", "| RMS error (deg) | BODY_25B markers | SpinePose-37 markers |", "|---|---|---|"]
        for lv in LEVELS:
            for ax in AXES:
                key = f"{lv}_{ax}"
                lines.append(f"| {key} | {_f(a['lumbar'][key])} | {_f(b['lumbar'][key])} |")
        for ax in AXES:
            lines.append(f"| lumbar total {ax} | {_f(a['lumbar_total'][ax])} | {_f(b['lumbar_total'][ax])} |")
        for g in a["groups"]:
            lines.append(f"| group {g} | {_f(a['groups'][g]['rms'])} | {_f(b['groups'][g]['rms'])} |")
    if "balancing_framework" in r:
        f = r["balancing_framework"]
        lines += ["", f"balancing trial: per-frame marker RMS median {f['rms_mm_median']:.1f} mm, max "
                      f"{f['rms_mm_max']:.1f} mm, IK {f['ik_ms_per_frame']:.2f} ms/frame, scaling "
                      f"{f['scaling_seconds']:.1f} s (stature {f['height_m']:.3f} m)"]
    return "\n".join(lines)


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


if __name__ == "__main__":
    sys.exit(main())
