"""``spine3d synth``: generate the synthetic SIMSPINE-format dataset (the toolkit's default data)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name, help=help_text,
        description="Write a synthetic dataset in the released SIMSPINE formats: OUT/simspine.h5 (15 spine markers, "
        "62 kinematic axes, 50 Hz, per-subject cameras), OUT/h36m/data_3d_h36m.npz (the 32 Human3.6M joints of the "
        "same motion) and OUT/cameras/Calib_<S>.toml (the real Human3.6M cameras). The output is a pure function of "
        "the arguments; other commands generate the default set on first use.")
    p.add_argument("--out", type=Path, help="output folder (default: $SPINE3D_DATA, else ~/.cache/spine3d/synthetic)")
    p.add_argument("--subjects", nargs="+", metavar="S",
                   help="Human3.6M subjects (default: S1 S5 S6 S7 S8 S9 S11)")
    p.add_argument("--actions", nargs="+", metavar="ACTION", help="Human3.6M action names (default: all 15)")
    p.add_argument("--seconds-per-action", type=float, metavar="N",
                   help="length of each trial in seconds (default: 20, i.e. 1000 frames; 400 gives ~2 M frames)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed, a non-negative integer (default: 0)")
    p.add_argument("--fps", type=float, default=50.0, help="frame rate in Hz (default: 50, as SIMSPINE)")
    return p


def run(args: argparse.Namespace) -> int:
    from spine3d.formats.simspine_h5 import ACTIONS
    from spine3d.data.synth.generate import (DEFAULT_SECONDS, H5_NAME, H36M_NAME, SUBJECTS, default_dataset_dir,
                                        generate_dataset)

    out = generate_dataset(args.out or default_dataset_dir(), subjects=args.subjects or SUBJECTS,
                           seconds_per_action=args.seconds_per_action or DEFAULT_SECONDS, seed=args.seed,
                           fps=args.fps, actions=args.actions or ACTIONS)
    print(f"wrote {out / H5_NAME}, {out / H36M_NAME} and {out / 'cameras'}/")
    return 0
