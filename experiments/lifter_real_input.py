"""Does the lifter hold up on real input? (issue 17's measurements; :mod:`spine3d.benchmark.real_input`)

1. Synthetic test motion (the built-in set's test split, S9 and S11, every Human3.6M camera), ideal 2D,
   lifted with all joints given and with only the joints of BODY_25B, COCO-17 and SpinePose's
   spine-only layout: P-MPJPE on the 15 body joints BODY_25B shares with SIMSPINE-37 and on the spine.
2. The shared Pose2Sim balancing trial (real motion, four real portrait cameras): each camera's real
   BODY_25B detections and the triangulated reference projected ideally, lifted and scored on the same
   15 joints in that camera's frame, beside a constant pose (the trial's own mean pose per camera).
3. Pose coverage: the P-MPJPE of each trial pose to the nearest pose of the checkpoint's training data
   (its built-in synthetic set, training split, every 10th frame), beside the same for synthetic test poses.
4. Cameras or poses? Synthetic test motions of the checkpoint's training set (S9, S11), ideal 2D with the
   BODY_25B joints only, lifted from their own Human3.6M rig and from the trial's four real cameras (the
   subject standing where the trial's subject stands).

    python experiments/lifter_real_input.py [--checkpoint PT] [--data DIR] [--step K] [--json out.json]

Without --checkpoint: the checkpoint shipped with spine3d (``spine3d lift``'s default).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spine3d.benchmark.real_input import (  # noqa: E402
    BODY_15, camera_swap_scores, layout_scores, pose_coverage, real_trial_scores, trial_reference)
from spine3d.data.source import SequenceSource  # noqa: E402
from spine3d.data.synth import ensure_default_dataset  # noqa: E402
from spine3d.io import write_json_atomic  # noqa: E402
from spine3d.lifting.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint  # noqa: E402

TRIAL = REPO.parent / "shared" / "data" / "pose2sim_balancing"
LABELS = {"all": "all 37 joints", "body25b": "BODY_25B joints only", "coco17": "COCO-17 joints only",
          "spinepose9": "spine-only (SpinePose 9)"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="lifter (default: the shipped one)")
    p.add_argument("--data", type=Path, default=None, help="dataset folder (default: the built-in synthetic set)")
    p.add_argument("--trial", type=Path, default=TRIAL, help="the pose2sim_balancing folder")
    p.add_argument("--step", type=int, default=1, help="score every STEP-th test item (sequence x camera); 1: all")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model, cfg, skeleton = load_checkpoint(args.checkpoint)
    if args.data is None:
        args.data = ensure_default_dataset()
    t0 = time.perf_counter()
    synthetic = layout_scores(model, cfg.data.frames, skeleton, SequenceSource(args.data, skeleton.name),
                              cfg.data.for_protocol("gt"), step=args.step)
    reference = trial_reference(args.trial / "Calib.toml", args.trial / "pose-associated")
    trial = real_trial_scores(model, cfg.data.frames, skeleton, reference)
    print(f"checkpoint {args.checkpoint}; P-MPJPE (mm) on the {len(BODY_15)} body joints BODY_25B shares "
          f"with {skeleton.name} ({', '.join(BODY_15)}) and on the spine joints\n")
    print("| input (synthetic test split, ideal 2D) | P-MPJPE body 15 | P-MPJPE spine | frames |")
    print("|---|---|---|---|")
    for name, s in synthetic.items():
        print(f"| {LABELS.get(name, name)} | {s.body:.1f} | {s.spine:.1f} | {s.frames} |")
    ratio = synthetic["body25b"].body / synthetic["all"].body
    print(f"\nBODY_25B-only / all joints: {ratio:.2f}x (target <= 1.3x): {'PASS' if ratio <= 1.3 else 'FAIL'}\n")
    print(f"| Pose2Sim balancing trial ({trial.cameras} cameras x {trial.frames} frames) | P-MPJPE body 15 |")
    print("|---|---|")
    print(f"| real BODY_25B detections | {trial.detected:.1f} |")
    print(f"| ideal 2D (triangulated reference projected) | {trial.ideal:.1f} |")
    print(f"| constant pose (the trial's mean pose per camera) | {trial.constant:.1f} |")
    print(f"\nreal trial from detections: {trial.detected:.1f} mm (target < 60 mm): "
          f"{'PASS' if trial.detected < 60 else 'FAIL'}")
    training = ensure_default_dataset(cfg.data.synthetic)  # the built-in set the checkpoint's config names
    trained_on = SequenceSource(training, skeleton.name)
    coverage = pose_coverage(trained_on, reference)
    print(f"\npose coverage: P-MPJPE body 15 to the nearest training pose of {training} (median over poses): "
          f"trial {np.nanmedian(coverage['trial']):.1f} mm, synthetic test split "
          f"{np.nanmedian(coverage['test']):.1f} mm")
    swap = camera_swap_scores(model, cfg.data.frames, skeleton, trained_on, reference)
    print("\n| synthetic test motion (BODY_25B joints, ideal 2D) | own Human3.6M rig | the trial's cameras "
          "| frames x cameras |")
    print("|---|---|---|---|")
    for action, (own, theirs) in swap.items():
        print(f"| {action} | {own.body:.1f} | {theirs.body:.1f} | {own.frames} |")
    print(f"\n{time.perf_counter() - t0:.0f} s")
    if args.json is not None:
        write_json_atomic(args.json, {"checkpoint": str(args.checkpoint), "joints": BODY_15,
                                      "synthetic": {k: dataclasses.asdict(v) for k, v in synthetic.items()},
                                      "trial": dataclasses.asdict(trial), "body25b_over_all": ratio,
                                      "coverage_median_mm": {k: float(np.nanmedian(v)) for k, v in coverage.items()},
                                      "camera_swap": {a: {"own_rig": o.body, "trial_rig": t.body, "frames": o.frames}
                                                      for a, (o, t) in swap.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
