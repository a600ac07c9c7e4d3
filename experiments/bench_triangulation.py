"""Benchmark multi-view triangulation: accuracy and speed, ours vs aniposelib, one table.

Data: synthetic SIMSPINE sequences (``spine3d.data.synth``; test subjects S9 and S11, several actions)
with the 15 spine markers and the Human3.6M limbs merged into the 37-marker layout (the joints the
generator has: 27), filmed by each subject's 4 real Human3.6M cameras (OpenCV distortion model,
the generator's own). Observations: the exact projections ("GT 2D"), plus Gaussian noise, plus gross
outliers (a view replaced by a uniformly random pixel of the image). Errors are scored on the
well-posed points (at least 2 views that are not outliers: the points the oracle can reconstruct),
for every method; 'valid %' is the share of them a method returns and 'ill-posed out %' the share
of all points returned although fewer than 2 of their views are inliers (necessarily wrong: an
outlier pair that agrees by chance); 'ok > 100 mm' counts the points a method returns as ok (status
ok; every finite point for aniposelib) that are more than 100 mm from the truth, over all points.
Confidences are drawn
uniformly in [0.5, 1] and are informative: a view's noise standard deviation is
``sigma * 0.75 / confidence`` (so its average over views is ~sigma); outliers get confidences from
the same distribution (a detector is often confidently wrong).

Methods: plain DLT, confidence-weighted DLT, RANSAC-weighted DLT (no refinement), RANSAC + LM
refinement (the default), an oracle weighted DLT that is told which views are outliers, and
aniposelib's ``CameraGroup.triangulate`` and ``triangulate_ransac`` (both with ``undistort=True``
on the same pixels; ``triangulate_ransac`` is timed and scored on a random subset of points, it
runs ~100 points/s). Speed = points / wall time of the whole call (undistortion included), best of
``--repeats``, ``--threads`` threads for ours (aniposelib uses what it uses).

Degenerate rigs (a second table): the same kind of sequence filmed by rigs that cannot triangulate
well, with 1 px noise and no outliers: two cameras facing each other plus a third 0.2 m beside one
of them ("facing"), three cameras in a row on one line through the subject ("collinear"), four
cameras within 5 cm of each other ("nearly coincident"). No method can reconstruct these points
well; what matters is how many it returns as ok, and how far off those are.

    python experiments/bench_triangulation.py            # full run (a few minutes on 2 CPU cores)
    python experiments/bench_triangulation.py --quick    # small data, one repeat: a pipeline check
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spine3d.calibration import Camera, CameraRig, h36m_rig  # noqa: E402
from spine3d.evaluation import mpjpe, p_mpjpe  # noqa: E402
from spine3d.formats.merge import merge_simspine_h36m  # noqa: E402
from spine3d.skeletons import SIMSPINE_37  # noqa: E402
from spine3d.data.synth import synthesize_sequence  # noqa: E402
from spine3d.triangulation import triangulate  # noqa: E402
from spine3d.triangulation.status import trusted  # noqa: E402

logger = logging.getLogger("bench_triangulation")

CASES = (("GT 2D", 0.0, 0.0), ("1 px", 1.0, 0.0), ("2 px", 2.0, 0.0), ("5 px", 5.0, 0.0),
         ("2 px + 10% out", 2.0, 0.1), ("2 px + 20% out", 2.0, 0.2), ("2 px + 30% out", 2.0, 0.3))
METHODS = ("DLT", "weighted DLT", "RANSAC", "RANSAC + LM", "oracle-inlier DLT", "anipose triangulate",
           "anipose tri_ransac")
ACTIONS = ("Walking", "Directions", "Sitting", "Greeting", "Phoning", "WalkDog")
TARGETS = {"dlt_points_per_s": 2e6, "ransac_points_per_s": 3e5, "oracle_gt_mm": 0.1, "ransac_vs_oracle": 1.10,
           "speedup_vs_aniposelib": 50.0}


@dataclass
class Trial:
    rig: CameraRig
    points: np.ndarray  # (T, J, 3) m world


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, one repeat: checks the pipeline, not targets")
    p.add_argument("--seconds", type=float, default=None, help="seconds per synthetic sequence (50 fps)")
    p.add_argument("--repeats", type=int, default=None, help="timing repeats (best is kept)")
    p.add_argument("--threads", type=int, default=2, help="threads for our triangulation")
    p.add_argument("--anipose-ransac-points", type=int, default=None, help="points scored by triangulate_ransac")
    p.add_argument("--no-aniposelib", action="store_true", help="skip the aniposelib rows")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def make_trials(quick: bool, seconds: float | None, seed: int) -> list[Trial]:
    """Synthetic sequences of the test subjects, each with its subject's Human3.6M cameras."""
    seconds = seconds or (4.0 if quick else 40.0)
    actions = ACTIONS[:2] if quick else ACTIONS
    trials = []
    for subject in ("S9", "S11"):
        rig = h36m_rig(subject)
        seqs = [merge_simspine_h36m(*synthesize_sequence(subject, a, seconds, seed=seed)) for a in actions]
        points = np.concatenate(seqs)
        trials.append(Trial(rig, points[:, KEEP]))
    return trials


KEEP = np.array([i for i, n in enumerate(SIMSPINE_37.canonical)
                 if n not in ("REye", "LEye", "REar", "LEar", "RBigToe", "RSmallToe", "RHeel", "LBigToe",
                              "LSmallToe", "LHeel")])  # the joints the generator provides
SPINE = SIMSPINE_37.group("spine")[KEEP]


def observe(trial: Trial, noise: float, outlier_rate: float, rng: np.random.Generator):
    """-> uv (C, T, J, 2) px, confidence (C, T, J), outlier mask (C, T, J)."""
    uv = trial.rig.project(trial.points)
    conf = rng.uniform(0.5, 1.0, uv.shape[:-1])
    uv = uv + rng.normal(0.0, 1.0, uv.shape) * (noise * 0.75 / conf)[..., None]
    outlier = rng.random(uv.shape[:-1]) < outlier_rate
    sizes = np.stack([c.size for c in trial.rig])[:, None, None, :]  # (C, 1, 1, 2) px
    uv = np.where(outlier[..., None], rng.uniform(0.0, 1.0, uv.shape) * sizes, uv)
    return uv, conf, outlier


def anipose_group(rig: CameraRig):
    from aniposelib.cameras import Camera as AniposeCamera
    from aniposelib.cameras import CameraGroup

    return CameraGroup([AniposeCamera(matrix=c.K, dist=c.dist, size=c.size, rvec=c.rvec, tvec=c.t, name=c.name)
                        for c in rig])


OURS = {"DLT": dict(method="dlt"), "weighted DLT": dict(method="weighted"),
        "RANSAC": dict(method="ransac", refine=False), "RANSAC + LM": dict(method="ransac", refine=True),
        "oracle-inlier DLT": dict(method="weighted")}


def ok_points(result) -> np.ndarray:
    """(T, J, 3) m: the points a triangulation returns as ok (its trusted statuses), NaN elsewhere."""
    return np.where(trusted(result.status)[..., None], result.points, np.nan)


def run_method(method: str, trial: Trial, uv, conf, outlier, args, rng):
    """-> (points (T', J, 3), ok points (T', J, 3)), best (wall, CPU) times (s), the frames (T',) they are for."""
    t, j = trial.points.shape[:2]
    if method in OURS:
        c = np.where(outlier, 0.0, conf) if method == "oracle-inlier DLT" else conf
        call = lambda: triangulate(trial.rig, uv, c, num_threads=args.threads, **OURS[method])  # noqa: E731
        result, times = _timed(call, args.repeats)
        return (result.points, ok_points(result)), times, np.arange(t)
    group = anipose_group(trial.rig)
    flat = uv.reshape(len(trial.rig), -1, 2)
    if method == "anipose triangulate":
        group.triangulate(flat[:, :100], undistort=True)  # jit warm-up
        call = lambda: group.triangulate(flat, undistort=True).reshape(t, j, 3)  # noqa: E731
        points, times = _timed(call, args.repeats)
        return (points, points), times, np.arange(t)
    frames = np.sort(rng.choice(t, size=max(1, args.anipose_ransac_points // j), replace=False))
    sub = uv[:, frames].reshape(len(trial.rig), -1, 2)
    group.triangulate_ransac(sub[:, :j], undistort=True)  # warm-up
    call = lambda: group.triangulate_ransac(sub, undistort=True)[0].reshape(len(frames), j, 3)  # noqa: E731
    points, times = _timed(call, 1)
    return (points, points), times, frames


def _timed(call, repeats: int):
    """-> output, (best wall time s, best CPU time s of the whole process, all threads)."""
    wall = cpu = np.inf
    out = None
    for _ in range(max(1, repeats)):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = call()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return out, (wall, cpu)


def score(pred: np.ndarray, ok: np.ndarray, gt: np.ndarray, well_posed: np.ndarray) -> dict[str, float]:
    """mm, over the well-posed points (>= 2 views that are not outliers): the points the oracle can
    reconstruct. 'valid' is the share of them a method returns; 'ill_posed_out' the share of all
    points a method returns although fewer than 2 of their views are inliers (necessarily wrong);
    'ok_over_100' the number of points returned as ok (``ok``: (T, J, 3), NaN elsewhere) more than
    100 mm from the truth, over all points."""
    out = np.isfinite(pred[..., 0])
    scored = np.where(well_posed[..., None], pred, np.nan)
    return {"mpjpe": 1000 * mpjpe(scored, gt), "mpjpe_spine": 1000 * mpjpe(scored, gt, SPINE),
            "p_mpjpe": 1000 * p_mpjpe(scored, gt), "p_mpjpe_spine": 1000 * p_mpjpe(scored, gt, SPINE),
            "valid": 100.0 * out[well_posed].mean(), "ill_posed_out": 100.0 * (out & ~well_posed).mean(),
            "mpjpe_all_output": 1000 * mpjpe(pred, gt), **far_ok(ok, gt)}


def far_ok(ok: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """ok: (T, J, 3) m, the points returned as ok (NaN elsewhere); gt (T, J, 3) m -> counts and the
    ok share (%), the number of ok points more than 100 mm off and their largest error (mm)."""
    err = np.linalg.norm(ok - gt, axis=-1)
    returned = np.isfinite(err)
    return {"ok_share": 100.0 * returned.mean(), "ok_over_100": int((err[returned] > 0.1).sum()),
            "ok_max_mm": 1000 * float(err[returned].max()) if returned.any() else float("nan")}


def benchmark(args: argparse.Namespace) -> list[dict]:
    trials = make_trials(args.quick, args.seconds, args.seed)
    methods = [m for m in METHODS if not (args.no_aniposelib and m.startswith("anipose"))]
    warm = observe(trials[0], 1.0, 0.1, np.random.default_rng(0))[:2]
    for method in ("dlt", "weighted", "ransac"):  # first calls pay for imports and thread start-up
        triangulate(trials[0].rig, *warm, method, num_threads=args.threads)
    rows = []
    for case, noise, rate in CASES:
        rng = np.random.default_rng([args.seed, int(noise * 10), int(rate * 100)])
        observed = [observe(tr, noise, rate, rng) for tr in trials]
        for method in methods:
            preds, oks, gts, posed, seconds, cpu, count = [], [], [], [], 0.0, 0.0, 0
            for trial, (uv, conf, outlier) in zip(trials, observed):
                (pred, ok), (sec, sec_cpu), frames = run_method(method, trial, uv, conf, outlier, args, rng)
                preds.append(pred)
                oks.append(ok)
                gts.append(trial.points[frames])
                posed.append((~outlier[:, frames]).sum(axis=0) >= 2)
                seconds, cpu, count = seconds + sec, cpu + sec_cpu, count + pred.shape[0] * pred.shape[1]
            row = {"case": case, "method": method,
                   **score(np.concatenate(preds), np.concatenate(oks), np.concatenate(gts), np.concatenate(posed)),
                   "points": count, "points_per_s": count / seconds, "cpu_ns": 1e9 * cpu / count}
            rows.append(row)
            logger.info("%-16s %-20s %8.3f mm  %10.0f points/s", case, method, row["mpjpe"], row["points_per_s"])
    return rows


def format_table(rows: list[dict]) -> str:
    head = ("| case | method | MPJPE mm | MPJPE spine mm | P-MPJPE mm | P-MPJPE spine mm | valid % | ill-posed out % "
            "| ok > 100 mm | points/s | CPU ns/point |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        speed = f"{r['points_per_s']:,.0f}" + (f" ({r['points']} pts)" if r["method"] == "anipose tri_ransac" else "")
        lines.append(f"| {r['case']} | {r['method']} | {r['mpjpe']:.3f} | {r['mpjpe_spine']:.3f} | {r['p_mpjpe']:.3f} "
                     f"| {r['p_mpjpe_spine']:.3f} | {r['valid']:.1f} | {r['ill_posed_out']:.2f} "
                     f"| {r['ok_over_100']:,} of {r['points']:,} | {speed} | {r['cpu_ns']:,.0f} |")
    return "\n".join(lines)


def degenerate_rigs(target: np.ndarray) -> dict[str, CameraRig]:
    """Rigs that cannot triangulate well, looking at ``target`` (3,) m (see the module docstring)."""
    at = lambda name, offset: Camera.looking_at(name, target + offset, target)  # noqa: E731
    return {
        "facing": CameraRig((at("a", [4.0, 0, 0]), at("b", [-4.0, 0, 0]), at("c", [4.0, 0.2, 0]))),
        "collinear": CameraRig(tuple(at(f"c{k}", [d, 0, 0]) for k, d in enumerate((4.0, 5.0, 6.0)))),
        "nearly coincident": CameraRig(tuple(at(f"c{k}", [4.0, dy, dz]) for k, (dy, dz) in
                                             enumerate(((0, 0), (0.05, 0), (0, 0.05), (0.05, 0.05))))),
    }


def degenerate_benchmark(args: argparse.Namespace) -> list[dict]:
    """Every method of ours on the degenerate rigs: 1 px noise, no outliers, one synthetic sequence."""
    seconds = 4.0 if args.quick else 20.0
    points = merge_simspine_h36m(*synthesize_sequence("S9", "Directions", seconds, seed=args.seed))[:, KEEP]
    rows = []
    for name, rig in degenerate_rigs(np.median(points.reshape(-1, 3), axis=0)).items():
        rng = np.random.default_rng([args.seed, len(rows)])
        uv = rig.project(points) + rng.normal(0.0, 1.0, (len(rig), *points.shape[:-1], 2))
        for method in ("DLT", "weighted DLT", "RANSAC"):
            result = triangulate(rig, uv, None, num_threads=args.threads, **OURS[method])
            ok = ok_points(result)
            rows.append({"rig": name, "method": method, "points": points.shape[0] * points.shape[1],
                         **far_ok(ok, points), "status": result.status_counts()})
    return rows


def format_degenerate(rows: list[dict]) -> str:
    lines = ["| rig | method | points | returned ok % | ok > 100 mm | largest ok error mm | statuses |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        statuses = ", ".join(f"{k} {v:,}" for k, v in r["status"].items() if v)
        lines.append(f"| {r['rig']} | {r['method']} | {r['points']:,} | {r['ok_share']:.1f} | {r['ok_over_100']:,} "
                     f"| {r['ok_max_mm']:,.0f} | {statuses} |")
    return "\n".join(lines)


def first_order_gap(args: argparse.Namespace) -> tuple[float, float]:
    """Median and max |first-order - exact| pixel error over inlier views at the refined points (2 px + 20 %)."""
    from spine3d.calibration.dlt import view_normal_matrices
    from spine3d.triangulation.ransac import consensus, refit
    from spine3d.triangulation.refine import refine
    from spine3d.triangulation.reprojection import camera_points, pixel_errors, whitened_residuals
    from spine3d.calibration.views import prepare_views, rig_constants

    trial = make_trials(True, 2.0, args.seed)[0]
    uv, conf, _ = observe(trial, 2.0, 0.2, np.random.default_rng(args.seed))
    uv, conf = uv.reshape(4, -1, 2), conf.reshape(4, -1)
    const = rig_constants(trial.rig)
    views = prepare_views(const, uv, conf, 0.3, whiten=True)
    normals = view_normal_matrices(const, views.x, views.y, views.confidence)
    points, inliers, _ = consensus(const, views, normals, 15.0, 3.0, 8)
    points, inliers = refit(const, views, normals, points, inliers, 15.0, 1)
    points = refine(const, views, points, inliers, 3)
    r0, r1 = whitened_residuals(views, camera_points(const, points))
    gap = np.abs(np.hypot(r0, r1) - pixel_errors(const, points, uv))[inliers]
    return float(np.median(gap)), float(gap.max())


def verdict(rows: list[dict], gap: tuple[float, float], threads: int) -> str:
    get = {(r["case"], r["method"]): r for r in rows}
    lines = []
    oracle = get[("GT 2D", "oracle-inlier DLT")]["mpjpe"]
    lines.append(f"oracle on GT 2D: {oracle:.2e} mm (target < {TARGETS['oracle_gt_mm']} mm)")
    ours, ref = get[("2 px + 20% out", "RANSAC + LM")], get[("2 px + 20% out", "oracle-inlier DLT")]
    lines.append(f"2 px + 20% outliers, well-posed points: RANSAC + LM {ours['mpjpe']:.2f} mm vs oracle-inlier DLT "
                 f"{ref['mpjpe']:.2f} mm (ratio {ours['mpjpe'] / ref['mpjpe']:.3f}, target <= "
                 f"{TARGETS['ransac_vs_oracle']}); over everything RANSAC + LM returns (ill-posed points "
                 f"included): {ours['mpjpe_all_output']:.2f} mm")
    dlt = min(r["points_per_s"] for r in rows if r["method"] == "DLT")
    ransac = min(r["points_per_s"] for r in rows if r["method"] == "RANSAC + LM")
    lines.append(f"slowest case: DLT {dlt:,.0f} points/s (target {TARGETS['dlt_points_per_s']:,.0f}), "
                 f"RANSAC + LM {ransac:,.0f} points/s (target {TARGETS['ransac_points_per_s']:,.0f})")
    cpu_dlt = max(r["cpu_ns"] for r in rows if r["method"] == "DLT")
    cpu_ransac = max(r["cpu_ns"] for r in rows if r["method"] == "RANSAC + LM")
    lines.append(f"CPU time per point, slowest case: DLT {cpu_dlt:.0f} ns, RANSAC + LM {cpu_ransac:.0f} ns, i.e. "
                 f"{2e9 / cpu_dlt:,.0f} and {2e9 / cpu_ransac:,.0f} points/s on {threads} fully available "
                 f"cores if the threads scale perfectly (wall-clock above depends on the machine's load: "
                 f"load average {os.getloadavg()[0]:.1f} at the end of this run)")
    if ("2 px", "anipose triangulate") in get:
        a_tri = max(r["points_per_s"] for r in rows if r["method"] == "anipose triangulate")
        a_ran = max(r["points_per_s"] for r in rows if r["method"] == "anipose tri_ransac")
        lines.append(f"speed-up vs aniposelib (our slowest case / their fastest): DLT {dlt / a_tri:.1f}x "
                     f"triangulate; RANSAC + LM {ransac / a_ran:.0f}x triangulate_ransac "
                     f"(target >= {TARGETS['speedup_vs_aniposelib']:.0f}x)")
    lines.append(f"LM residual model: first-order distortion at the observation; |first-order - exact| pixel "
                 f"error on inlier views: median {gap[0]:.2e} px, max {gap[1]:.2e} px")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("spine3d").setLevel(logging.WARNING)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.anipose_ransac_points = args.anipose_ransac_points or (100 if args.quick else 500)
    if not args.no_aniposelib:
        try:
            import aniposelib  # noqa: F401
        except ImportError:
            logger.warning("aniposelib is not installed: its rows are skipped")
            args.no_aniposelib = True
    rows = benchmark(args)
    print(format_table(rows))
    print()
    print(format_degenerate(degenerate_benchmark(args)))
    print()
    print(verdict(rows, first_order_gap(args), args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
