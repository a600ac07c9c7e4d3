"""``spine3d synth``: generate the synthetic SIMSPINE-format dataset (the toolkit's default data)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spine3d.errors import InputError

MOTION_CHOICES = ("h36m", "spine")
# The names of spine3d.data.synth.spine_actions.SPINE_ACTIONS, spelled out so that building this parser
# imports no generator (tests/test_synth_spine_actions.py checks they agree).
SPINE_ACTION_NAMES = ("BendForward", "BendSideways", "TwistTrunk", "Squat", "LiftFromFloor", "OneLegStance", "Balance",
                      "Reach")

EPILOG = f"""\
motions: h36m   the 15 Human3.6M actions (Directions, Discussion, Eating, Greeting, Phoning, Photo,
                Posing, Purchases, Sitting, SittingDown, Smoking, Waiting, WalkDog, Walking,
                WalkTogether): the default dataset, ~/.cache/spine3d/synthetic (or $SPINE3D_DATA).
         spine  those and 8 motions that load the spine, which Human3.6M lacks:
                {", ".join(SPINE_ACTION_NAMES)};
                the same subjects, bodies and cameras; default folder ~/.cache/spine3d/synthetic-spine
                (or $SPINE3D_DATA-spine).
--actions picks any of these 23 names instead (then --motions only chooses the default --out).
"""


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name, help=help_text, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a synthetic dataset in the released SIMSPINE formats: OUT/simspine.h5 (15 spine\n"
        "markers, 62 kinematic axes, 50 Hz, per-subject cameras), OUT/h36m/data_3d_h36m.npz (the 32\n"
        "Human3.6M joints of the same motion) and OUT/cameras/Calib_<S>.toml (the real Human3.6M cameras).\n"
        "The output is a pure function of the arguments; other commands generate the default set on first use.")
    p.add_argument("--out", type=Path, help="output folder (default: the built-in folder of --motions, see below)")
    p.add_argument("--motions", choices=MOTION_CHOICES, default="h36m",
                   help="h36m: the 15 Human3.6M actions (default); spine: those and the 8 spine actions")
    p.add_argument("--subjects", nargs="+", metavar="S",
                   help="Human3.6M subjects (default: S1 S5 S6 S7 S8 S9 S11)")
    p.add_argument("--actions", nargs="+", metavar="ACTION",
                   help="action names, Human3.6M's or the spine actions (default: those of --motions)")
    p.add_argument("--seconds-per-action", type=float, metavar="N",
                   help="length of each trial in seconds (default: 20, i.e. 1000 frames; 400 gives ~2 M frames)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed, a non-negative integer (default: 0)")
    p.add_argument("--fps", type=float, default=50.0, help="frame rate in Hz (default: 50, as SIMSPINE)")
    return p


def run(args: argparse.Namespace) -> int:
    from spine3d.data.synth.generate import (
        DEFAULT_SECONDS,
        GENERATORS,
        H5_NAME,
        H36M_NAME,
        MOTIONS,
        SUBJECTS,
        dataset_dir,
        generate_dataset,
    )

    unknown = [a for a in args.actions or () if a not in GENERATORS]
    if unknown:
        raise InputError(f"unknown actions {', '.join(unknown)}; choose from {', '.join(GENERATORS)}")
    out = generate_dataset(args.out or dataset_dir(args.motions), subjects=args.subjects or SUBJECTS,
                           seconds_per_action=args.seconds_per_action or DEFAULT_SECONDS, seed=args.seed,
                           fps=args.fps, actions=args.actions or MOTIONS[args.motions])
    print(f"wrote {out / H5_NAME}, {out / H36M_NAME} and {out / 'cameras'}/")
    return 0
