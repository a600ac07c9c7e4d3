"""``spine3d kinematics``: markers (TRC, triangulation or lifter npz) -> scaled model, joint angles, SIMSPINE file."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from spine3d.errors import InputError

DESCRIPTION = """\
SIMSPINE's simulation framework on your markers: scale the body to the capture, inverse kinematics
(the batched solver, or --backend opensim, the reference), the scaled body's 37 virtual markers
low-passed at 5 Hz. Writes into --out: kinematics.mot (the 62 SIMSPINE coordinates, degrees,
pelvis_t* in m), model.osim (the scaled OpenSim model, markers at the SIMSPINE-37 sites),
simspine.h5 (SIMSPINE layout: virtual markers, kinematics, timestamps, cameras), report.md /
report.json (marker RMS per marker and frame, scaling residuals, coordinate ranges) and
lumbar_angles.png.

--markers is a TRC, an npz of `spine3d triangulate` (weights follow each point's status, inlier
views and reprojection error) or of `spine3d lift` (camera frame, root-relative: pelvis
translations then mean nothing), or a folder of such files, run over --jobs processes into
OUT/<file stem>/ plus OUT/simspine.h5 gathering every trial (a trial under a folder named like a
SIMSPINE subject, S9/..., belongs to that subject). Joints are matched by canonical name.
Needs OpenSim: pip install -e ".[biomech]". Defaults: configs/kinematics.yaml.
"""


def add_parser(subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(name, help=help_text, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--markers", required=True, type=Path, help="marker file (.trc, .npz) or a folder of them")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--backend", choices=("spine3d", "opensim"), help="IK backend (default: from the config)")
    p.add_argument("--config", type=Path, help="settings YAML (default: configs/kinematics.yaml)")
    p.add_argument("--calib", type=Path, help="calibration TOML of the cameras to store in simspine.h5 "
                   "(default: a virtual 4-camera rig around the subject)")
    p.add_argument("--subject", default="S1", help="subject name in simspine.h5 (default S1, a training subject)")
    p.add_argument("--fps", type=float, help="frame rate, Hz (default: the file's; lifter npz: 50)")
    p.add_argument("--skeleton", help="joint layout of the file when its names do not identify one")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for a folder of trials (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    from spine3d.biomechanics.config import load_config
    from spine3d.biomechanics.osim_model import import_opensim

    import_opensim()  # exits 2 with the install line when OpenSim is missing
    config = load_config(args.config)
    if args.backend:
        config = replace(config, backend=args.backend)
    if args.jobs < 1:
        raise InputError(f"--jobs must be >= 1, got {args.jobs}")
    options = {"calib": args.calib, "fps": args.fps, "skeleton": args.skeleton}
    if args.markers.is_dir():
        from spine3d.biomechanics.batch import run_folder

        reports = run_folder(args.markers, args.out, config, args.jobs, args.subject, not args.no_progress, **options)
        for report in reports:
            print(f"wrote {report.parent}")
        print(f"gathered {len(reports)} trials into {args.out / 'simspine.h5'}")
        return 0
    from spine3d.biomechanics.pipeline import run_kinematics

    report = run_kinematics(args.markers, args.out, config, subject=args.subject, progress=not args.no_progress,
                            **options)
    print("\n".join(report.read_text(encoding="utf-8").splitlines()[:14]))
    print(f"wrote {', '.join(sorted(p.name for p in args.out.iterdir() if not p.name.startswith('.')))} to {args.out}")
    return 0
