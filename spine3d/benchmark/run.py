"""Orchestration of ``spine3d benchmark``: data, the two parts, the report."""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from spine3d.data.config import DataConfig
from spine3d.data.detections import DetectionsFile
from spine3d.data.source import SequenceSource, open_dataset
from spine3d.lifting.config import TrainConfig, load_config
from spine3d import __version__
from spine3d.benchmark.monocular import MonocularResults, run_monocular
from spine3d.benchmark.multiview import MultiViewResults, run_multiview
from spine3d.benchmark.report import write_report
from spine3d.errors import InputError
from spine3d.formats.simspine_h5 import TEST_SUBJECTS, TRAIN_SUBJECTS
from spine3d.data.synth import ensure_default_dataset, generate_dataset

logger = logging.getLogger(__name__)

QUICK_SUBJECTS = ("S1", "S9")  # one training and one test subject
QUICK_ACTIONS = ("Walking", "SittingDown", "Greeting")


@dataclass
class BenchmarkSettings:
    """What ``spine3d benchmark`` runs (CLI flags of the same names).

    Attributes:
        out: output folder (report.md, report.json, figures/, lifter runs).
        data: SIMSPINE dataset folder or ``simspine.h5``; None: the built-in synthetic data.
        h36m: Human3.6M ``data_3d_h36m.npz`` to merge the 37-keypoint skeleton (None: 15 markers).
        detections: 2D detections of the "detected" protocol: an npz keyed ``subject/action/camera``
            or a directory of per-camera OpenPose / SpinePose JSON folders (:mod:`spine3d.data.detections`).
        detections_skeleton: layout of the detections (None: npz ``skeleton`` entry / JSON keypoint count).
        checkpoint: a trained lifter to score instead of training one per protocol.
        config: lifter config YAML (default: small; quick: tiny). epochs: training epochs override.
        quick: the tiny smoke-test configuration (small synthetic set, tiny model, 1 epoch).
        multiview, monocular: which parts to run. seed: seed of the outlier sweep.
        kinematics: inverse kinematics of the multi-view reconstruction, scored in degrees.
    """

    out: Path = Path("benchmark")
    data: Path | None = None
    h36m: Path | None = None
    detections: Path | None = None
    detections_skeleton: str | None = None
    checkpoint: Path | None = None
    config: Path | None = None
    epochs: int | None = None
    quick: bool = False
    multiview: bool = True
    monocular: bool = True
    device: str = "cpu"
    seed: int = 0
    kinematics: bool = True


def resolve_data(settings: BenchmarkSettings) -> Path:
    """The dataset to use: the user's (validated now, so a wrong file fails before any work) or synthetic."""
    if settings.data is not None:
        path = Path(settings.data)
        open_dataset(path).close()  # schema check now: raises InputError naming the file and the problem
        return path
    if settings.quick:
        folder = settings.out / "data"
        if not (folder / "simspine.h5").is_file():
            generate_dataset(folder, subjects=QUICK_SUBJECTS, seconds_per_action=6.0, seed=0, actions=QUICK_ACTIONS)
        return folder
    return ensure_default_dataset()


def lifter_config(settings: BenchmarkSettings) -> TrainConfig:
    path = settings.config or ("tiny" if settings.quick else "benchmark")
    cfg = load_config(path)
    skeleton = "simspine37" if settings.h36m is not None else cfg.data.skeleton
    if settings.detections is None:
        return replace(cfg, data=replace(cfg.data, skeleton=skeleton))
    # each part switches protocol with DataConfig.for_protocol, which keeps the detections for "detected"
    data = replace(cfg.data, skeleton=skeleton, protocol="detected", detections=str(settings.detections),
                   detections_skeleton=settings.detections_skeleton)
    return replace(cfg, data=data)


def run_benchmark(settings: BenchmarkSettings) -> Path:
    """Run the benchmark and write the report; returns the path of ``report.md``."""
    t0 = time.perf_counter()
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    data = resolve_data(settings)
    cfg = lifter_config(settings)
    source = SequenceSource(data, cfg.data.skeleton, h36m=settings.h36m)
    for split, needed in (("test", True), ("train", settings.monocular and settings.checkpoint is None)):
        if needed and not source.sequences(split):
            raise InputError(f"no {split} sequences: the benchmark needs the {split} subjects "
                             f"({', '.join(TEST_SUBJECTS if split == 'test' else TRAIN_SUBJECTS)}); the file holds "
                             f"{', '.join(source.dataset.subjects)}", source.dataset.path)
    if settings.detections is not None:  # open now: a bad file fails before any work
        DetectionsFile(settings.detections, source.skeleton, settings.detections_skeleton)
    mv: MultiViewResults | None = None
    mono: MonocularResults | None = None
    if settings.multiview:
        logger.info("multi-view triangulation of the test subjects")
        mv = run_multiview(source, cfg.data, seed=settings.seed)
    kin = None
    if mv is not None and settings.kinematics:
        from spine3d.benchmark.kinematics import run_kinematics

        logger.info("inverse kinematics of the triangulated test markers")
        kin = run_kinematics(source, mv.example["pred"], mv.example["sequence_ids"])
    if settings.monocular:
        logger.info("monocular lifting (%s)", "checkpoint" if settings.checkpoint else "training per protocol")
        mono = run_monocular(cfg, data, out, checkpoint=settings.checkpoint, epochs=settings.epochs,
                             device=settings.device, h36m=settings.h36m)
    header = {"data": f"{data} ({'synthetic' if _is_synthetic(data) else 'user data'})",
              "skeleton": source.skeleton.name,
              "test subjects": ", ".join(sorted({s for s, _ in source.sequences('test')})),
              "test sequences": len(source.sequences("test")),
              "detected 2D": _detections_label(cfg.data),
              "mode": "quick" if settings.quick else "full",
              "spine3d": __version__, "torch": torch.__version__, "python": platform.python_version(),
              "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
              "wall time (s)": round(time.perf_counter() - t0, 1)}
    write_report(out, header, source.skeleton, mv, mono, kin)
    return out / "report.md"


def _is_synthetic(data: Path) -> bool:
    folder = data if data.is_dir() else data.parent
    return (folder / "synth.json").is_file()


def _detections_label(data: DataConfig) -> str:
    """What the "detected" protocol used, for the report header."""
    if data.detections is None:
        return f"seeded detector-noise model (seed {data.noise.seed})"
    path = Path(data.detections)
    kind = "per-camera OpenPose / SpinePose JSON folders" if path.is_dir() else "npz"
    layout = f", layout {data.detections_skeleton}" if data.detections_skeleton else ""
    return f"{path} ({kind}{layout})"
