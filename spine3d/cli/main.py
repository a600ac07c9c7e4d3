"""Entry point of the ``spine3d`` command.

Each subcommand lives in its own module under :mod:`spine3d.cli` and exposes
``add_parser(subparsers) -> argparse.ArgumentParser`` and ``run(args) -> int``. Modules are
imported only when their command runs, so ``spine3d --help`` stays fast.
Bad input (:class:`spine3d.errors.InputError`, a missing file) prints one line and exits with 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from typing import Sequence

from spine3d import __version__
from spine3d.errors import InputError

# (command, module, one-line help). The order is the order of ``spine3d --help``.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("benchmark", "spine3d.cli.benchmark", "reproduce the SIMSPINE evaluation end to end (report + figures)"),
    ("synth", "spine3d.cli.synth", "generate the synthetic SIMSPINE-format dataset"),
    ("calibrate", "spine3d.cli.calibrate", "intrinsic / extrinsic camera calibration"),
    ("triangulate", "spine3d.cli.triangulate", "multi-view triangulation of 2D detections"),
    ("train", "spine3d.cli.train", "train a monocular 2D-to-3D lifter"),
    ("lift", "spine3d.cli.lift", "lift 2D keypoint sequences to 3D with a trained checkpoint"),
    ("kinematics", "spine3d.cli.kinematics", "scaled OpenSim model, joint angles and a SIMSPINE file from markers"),
    ("export-onnx", "spine3d.cli.export_onnx", "export a lifter checkpoint to ONNX"),
    ("visualize", "spine3d.cli.visualize", "render 3D results (TRC, npz) as PNG frames or MP4"),
)


def available_commands() -> list[tuple[str, str, str]]:
    return [c for c in COMMANDS if importlib.util.find_spec(c[1]) is not None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spine3d",
        description="3D human spine motion: calibrate, triangulate, lift, evaluate. "
        "Every command runs on the built-in synthetic SIMSPINE data and, unchanged, on the real files.",
    )
    parser.add_argument("--version", action="version", version=f"spine3d {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in available_commands():
        cmd = importlib.import_module(module).add_parser(sub, name, help_text)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s")
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except (InputError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        print(f"spine3d {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spine3d {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
