"""Multi-view part of the benchmark: triangulate the test subjects from ground-truth and detected 2D.

For every test sequence the 3D markers are projected with the subject's own cameras (the exact
camera model of the file), giving the *oracle* 2D; the *detected* 2D is either the user's
detections or the seeded detector-noise model applied per camera (the same draws as the lifter's
"detected" protocol, so both parts score against the same 2D). Each method's reconstruction is
scored in world coordinates (absolute MPJPE; P-MPJPE) by :func:`spine3d.evaluation.evaluate`.

A second sweep plants gross outliers (uniformly random pixels, confidence 1: the case confidence
weighting cannot catch) at several ratios on top of 2 px Gaussian noise, for the robustness figure.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from tqdm import tqdm

from spine3d.calibration import CameraRig
from spine3d.evaluation import EvalResult, evaluate
from spine3d.data.config import DataConfig
from spine3d.data.detections import DetectionsFile
from spine3d.data.detector_noise import derive_seed
from spine3d.data.protocol import camera_keypoints
from spine3d.data.source import SequenceSource
from spine3d.triangulation import triangulate
from spine3d.triangulation.methods import METHODS as TRIANGULATION_METHODS
from spine3d.triangulation.methods import Method

logger = logging.getLogger(__name__)

# (label, triangulate method, extra options): every method of the table, in its order, with its defaults.
METHODS: tuple[tuple[str, str, dict], ...] = tuple((m.label, m.name, {}) for m in TRIANGULATION_METHODS.values())


@dataclass
class ViewData:
    """All test frames of one 2D protocol, stacked over sequences.

    Attributes:
        world: (N, J, 3) m, ground truth, world frame.
        uv: list over sequences of (C, T, J, 2) px. conf: list of (C, T, J).
        rigs: the cameras of each sequence. actions: (N,) action name per frame.
        sequence_ids: (N,) index of each frame's sequence.
    """

    world: np.ndarray
    uv: list[np.ndarray]
    conf: list[np.ndarray]
    rigs: list[CameraRig]
    actions: np.ndarray
    sequence_ids: np.ndarray


@dataclass
class MultiViewResults:
    """Scores per 2D protocol ("gt", "detected") and method label, plus the outlier sweep."""

    results: dict[str, dict[str, EvalResult]] = field(default_factory=dict)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # s per protocol/method
    num_points: dict[str, int] = field(default_factory=dict)
    outlier_ratios: list[float] = field(default_factory=list)
    outlier_mpjpe: dict[str, list[float]] = field(default_factory=dict)  # label -> mm per ratio
    example: dict[str, np.ndarray] = field(default_factory=dict)  # one frame for the figures


def collect_views(source: SequenceSource, data_cfg: DataConfig) -> ViewData:
    """Ground-truth 3D and the 2D of ``data_cfg.protocol`` for every test sequence and camera."""
    world, uv, conf, rigs, actions, ids = [], [], [], [], [], []
    rig_of: dict[str, CameraRig] = {}
    detections = None
    if data_cfg.protocol == "detected" and data_cfg.detections:
        detections = DetectionsFile(data_cfg.detections, source.skeleton, data_cfg.detections_skeleton)
    pairs = source.sequences("test")
    for k, (subject, action) in enumerate(tqdm(pairs, desc=f"2D ({data_cfg.protocol})", unit="seq", leave=False)):
        w = source.world(subject, action)
        if subject not in rig_of:  # one rig object per subject: reconstruct() batches its sequences
            rig_of[subject] = source.cameras(subject)
        rig = rig_of[subject]
        per_cam = [camera_keypoints(w, cam, source.skeleton, data_cfg, subject, action, detections) for cam in rig]
        world.append(w)
        uv.append(np.stack([p[0] for p in per_cam]))
        conf.append(np.stack([p[1] for p in per_cam]))
        rigs.append(rig)
        actions.append(np.full(len(w), action))
        ids.append(np.full(len(w), k))
    return ViewData(np.concatenate(world), uv, conf, rigs, np.concatenate(actions), np.concatenate(ids))


def reconstruct(views: ViewData, method: Method, **options) -> np.ndarray:
    """(N, J, 3) m: triangulate every sequence of ``views`` with one method; the sequences filmed by
    the same rig (object) are solved in one call, so per-call costs are paid once per rig."""
    groups: dict[int, list[int]] = {}
    for k, rig in enumerate(views.rigs):
        groups.setdefault(id(rig), []).append(k)
    out: list[np.ndarray] = [np.empty(0)] * len(views.uv)
    for members in groups.values():  # loop over rigs (subjects)
        uv = np.concatenate([views.uv[k] for k in members], axis=1)
        conf = np.concatenate([views.conf[k] for k in members], axis=1)
        points = triangulate(views.rigs[members[0]], uv, conf, method=method, **options).points
        bounds = np.cumsum([views.uv[k].shape[1] for k in members])[:-1]
        for k, part in zip(members, np.split(points, bounds)):
            out[k] = part
    return np.concatenate(out)


def score(pred: np.ndarray, views: ViewData, source: SequenceSource) -> EvalResult:
    """Absolute world-frame scores (mm) of a reconstruction against the ground truth."""
    return evaluate(pred, views.world, source.skeleton, actions=views.actions, sequences=views.sequence_ids,
                    units="m")


def with_outliers(views: ViewData, ratio: float, noise_px: float, seed: int) -> ViewData:
    """Oracle 2D + Gaussian noise (px) + a ``ratio`` of points replaced by uniform random pixels (conf 1)."""
    uv, conf = [], []
    for k, (rig, clean) in enumerate(zip(views.rigs, views.uv)):
        rng = np.random.default_rng(derive_seed(seed, "outliers", str(ratio), str(k)))
        noisy = clean + rng.normal(0.0, noise_px, clean.shape)
        size = np.stack([cam.size for cam in rig])[:, None, None, :]  # (C, 1, 1, 2)
        gross = rng.random(clean.shape[:-1]) < ratio
        noisy = np.where(gross[..., None], rng.random(clean.shape) * size, noisy)
        uv.append(noisy)
        conf.append(np.ones(clean.shape[:-1]))
    return ViewData(views.world, uv, conf, views.rigs, views.actions, views.sequence_ids)


def run_multiview(source: SequenceSource, data_cfg: DataConfig, protocols: Sequence[str] = ("gt", "detected"),
                  outlier_ratios: Sequence[float] = (0.0, 0.1, 0.2, 0.3), noise_px: float = 2.0,
                  seed: int = 0) -> MultiViewResults:
    """Reconstruct the test split under each 2D protocol with every method of :data:`METHODS`."""
    res = MultiViewResults(outlier_ratios=list(outlier_ratios))
    oracle = None
    for protocol in protocols:
        views = collect_views(source, data_cfg.for_protocol(protocol))
        oracle = views if protocol == "gt" else oracle
        res.results[protocol], res.timings[protocol] = {}, {}
        res.num_points[protocol] = int(np.prod(views.world.shape[:2]))
        for label, method, options in tqdm(METHODS, desc=f"triangulate ({protocol})", unit="method", leave=False):
            triangulate(views.rigs[0], views.uv[0][:, :2], views.conf[0][:, :2], method=method, **options)  # warm-up
            t0 = time.perf_counter()
            pred = reconstruct(views, method, **options)
            res.timings[protocol][label] = time.perf_counter() - t0
            res.results[protocol][label] = score(pred, views, source)
            if protocol == "detected" and TRIANGULATION_METHODS[method].robust:
                res.example = {"pred": pred, "gt": views.world, "uv": views.uv[0], "conf": views.conf[0],
                               "sequence_ids": views.sequence_ids}
    if oracle is None:
        oracle = collect_views(source, data_cfg.for_protocol("gt"))
    for label, _, _ in METHODS:
        res.outlier_mpjpe[label] = []
    for ratio in tqdm(outlier_ratios, desc="outlier sweep", unit="ratio", leave=False):
        noisy = with_outliers(oracle, ratio, noise_px, seed)
        for label, method, options in METHODS:
            result = score(reconstruct(noisy, method, **options), noisy, source)
            res.outlier_mpjpe[label].append(result.overall["mpjpe"]["full"])
    res.example["rig"] = oracle.rigs[0]
    res.example["uv_gt"] = oracle.uv[0]
    return res

