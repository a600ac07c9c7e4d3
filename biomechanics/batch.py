"""A folder of trials through :func:`spine3d.biomechanics.pipeline.run_kinematics`, over a process pool.

Every ``*.trc`` and ``*.npz`` under the folder is one trial; ``DIR/a/b.npz`` writes ``OUT/a/b/``. A
trial's subject in the SIMSPINE files is the first folder of its path named like a SIMSPINE subject
(``S1``, ``S9``, ...), else the default; after the pool, ``OUT/simspine.h5`` gathers every trial, so
trials under ``S9/`` or ``S11/`` form a test split and the file trains a lifter with evaluation.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from spine3d.biomechanics.config import KinematicsConfig
from spine3d.biomechanics.pipeline import run_kinematics
from spine3d.errors import InputError
from spine3d.formats.simspine_h5 import SimSpineH5, write_simspine_h5

logger = logging.getLogger(__name__)

SUFFIXES = (".trc", ".npz")
_SUBJECT = re.compile(r"S\d+")


def find_trials(folder: Path) -> list[Path]:
    """Marker files under ``folder`` (recursive, sorted)."""
    trials = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not trials:
        raise InputError(f"no {' or '.join(SUFFIXES)} marker files in the folder", folder)
    return trials


def trial_subject(relative: Path, default: str) -> str:
    """The first folder of ``relative`` named like a SIMSPINE subject, else ``default``."""
    return next((part for part in relative.parts[:-1] if _SUBJECT.fullmatch(part)), default)


def run_folder(folder: str | os.PathLike, out: str | os.PathLike, config: KinematicsConfig, jobs: int = 1,
               subject: str = "S1", progress: bool = True, **options) -> list[Path]:
    """Every trial of ``folder`` (see module docstring); returns the report paths, in trial order.

    Args:
        jobs: worker processes (1: in this process).
        options: passed to :func:`run_kinematics` (calib, fps, skeleton).
    """
    folder, out = Path(folder), Path(out)
    trials = find_trials(folder)
    tasks = {t: (t, out / t.relative_to(folder).with_suffix(""), config,
                 trial_subject(t.relative_to(folder), subject)) for t in trials}
    reports: dict[Path, Path] = {}
    bar = tqdm(total=len(trials), desc="trials", unit="trial", disable=not progress)
    if jobs <= 1:
        for trial, task in tasks.items():
            reports[trial] = _one(task, options)
            bar.update()
    else:
        # spawn, not fork: the parent may already run numba's / torch's OpenMP threads
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_one, task, options): trial for trial, task in tasks.items()}
            for future in as_completed(futures):
                reports[futures[future]] = future.result()
                bar.update()
    bar.close()
    gather(out, [reports[t].parent / "simspine.h5" for t in trials])
    return [reports[t] for t in trials]


def _one(task: tuple, options: dict) -> Path:
    trial, out, config, subject = task
    return run_kinematics(trial, out, config, subject=subject, action=trial.stem, **options)


def gather(out: Path, files: list[Path]) -> Path:
    """OUT/simspine.h5 holding every trial of ``files`` (one calibration per subject: its first trial's)."""
    calibrations, names = {}, None
    for path in files:
        with SimSpineH5(path) as f:
            names = f.marker_names
            for s in f.subjects:
                calibrations.setdefault(s, f.calibration(s))

    def sequences():
        for path in files:  # one trial in memory at a time
            with SimSpineH5(path) as f:
                yield from f

    write_simspine_h5(out / "simspine.h5", sequences(), calibrations, names)
    logger.info("gathered %d trials into %s", len(files), out / "simspine.h5")
    return out / "simspine.h5"
