"""Triangulation settings: typed dataclasses with the defaults of ``configs/triangulation.yaml``.

The YAML file documents every value with its unit; :func:`load_config` maps it onto
:class:`TriangulationConfig` and rejects unknown keys, so a typo never passes silently.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from spine3d.errors import InputError
from spine3d.triangulation.methods import DEFAULT_METHOD, Method
from spine3d.typed_yaml import config_path, from_mapping, load_yaml



@dataclass(frozen=True)
class TriangulationOptions:
    """Options of :func:`spine3d.triangulation.triangulate` (keyword arguments of the same names).

    Attributes:
        confidence_threshold: detector confidence (0-1) below which a view never votes.
        min_views: views a point needs (fewer -> NaN, status "too_few_views").
        threshold: px, reprojection error below which a view is a RANSAC inlier; with
            ``threshold_from_data`` the smallest such threshold (see :mod:`.noise`).
        threshold_from_data: RANSAC's threshold is ``noise_factor`` x the detector noise measured
            on the data's own residuals (never below ``threshold``); False: ``threshold`` as given.
        noise_factor: outliers lie beyond this many noise scales: RANSAC's inlier threshold in units
            of the measured pixel noise sigma (px per image axis), and each series' tolerance in
            time in units of its own scale of deviations (see ``temporal_tolerance``).
        min_ray_angle: deg, every method: a point whose rays have an effective triangulation angle
            below this is "ill_conditioned" (:mod:`.checks`); RANSAC: pair hypotheses whose two
            rays are closer than this to parallel (or anti-parallel, cameras facing each other)
            never win.
        max_pair_views: pair hypotheses come from all pairs of at most this many views per point
            (all pairs when C <= max_pair_views, else a random subset of views per point).
        rival_distance: thresholds; a 2-view consensus is "ambiguous" (NaN) when another 2-view
            set agrees on a point at least this far (in the winner's views); 0 = never.
        local_optimization: rounds of "re-select inliers against the refit, refit again".
        refine: Levenberg-Marquardt refinement of the pixel reprojection error on the inliers (the
            maximum-likelihood point for pixel noise of constant size); off: the confidence-weighted
            DLT of the inliers, whose error is the pixel error times depth / focal length, i.e.
            the likelihood of detector noise proportional to the person's size in the image
            (steadier on the real trial, see README).
        refine_iterations: LM iterations (each never increases the weighted error).
        temporal: a batch of at least two axes is a sequence (first axis: frames): stable view
            sets over time and the temporal check of 2-view points (:mod:`.temporal`).
        stable_factor: RANSAC, temporal: a view its neighbours in time keep comes back when its
            error is below this many inlier thresholds.
        temporal_window: frames, how far (each side) a trusted neighbour may be to check a 2-view point.
        temporal_tolerance: m, the smallest tolerance in time: an unverified point farther than
            its series' tolerance (max(this, noise_factor x the series' own scale of deviations from
            its neighbours' path), :func:`spine3d.triangulation.temporal.noise_scales`) from its
            trusted neighbours' path is a "temporal_outlier", closer "verified_in_time"; RANSAC's
            ok points farther are spikes.
        seed: random seed of the view sampling (only used when C > max_pair_views).
        compiled: run "dlt" and "weighted" through the compiled kernel (:mod:`spine3d.triangulation.kernel`), and
            RANSAC's pair consensus, refit, leave-one-out check (:mod:`spine3d.triangulation.ransac_kernel`) and LM
            refinement (:mod:`spine3d.triangulation.refine_kernel`) through compiled loops; the same results as
            the numpy path to rounding (tests check statuses and masks are equal); False: the numpy reference.
        chunk_size: points per work unit (cache-sized; also the progress-bar step).
        num_threads: worker threads (0: one per available CPU core).
        progress: show a tqdm progress bar.
    """

    confidence_threshold: float = 0.3
    min_views: int = 2
    threshold: float = 5.0
    threshold_from_data: bool = True
    noise_factor: float = 4.0
    min_ray_angle: float = 10.0
    max_pair_views: int = 8
    rival_distance: float = 10.0
    local_optimization: int = 1
    refine: bool = False
    refine_iterations: int = 3
    temporal: bool = True
    stable_factor: float = 2.0
    temporal_window: int = 3
    temporal_tolerance: float = 0.05
    seed: int = 0
    compiled: bool = True
    chunk_size: int = 8192
    num_threads: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        checks = (
            (0.0 <= self.confidence_threshold <= 1.0, "confidence_threshold must be in [0, 1]"),
            (self.min_views >= 2, "min_views must be at least 2"),
            (self.threshold > 0, "threshold must be positive (px)"),
            (self.noise_factor > 0, "noise_factor must be positive (noise sigmas)"),
            (self.stable_factor >= 1.0, "stable_factor must be >= 1 (inlier thresholds)"),
            (self.temporal_window >= 1, "temporal_window must be >= 1 (frames)"),
            (self.temporal_tolerance > 0, "temporal_tolerance must be positive (m)"),
            (0.0 <= self.min_ray_angle < 90.0, "min_ray_angle must be in [0, 90) degrees"),
            (self.max_pair_views >= 2, "max_pair_views must be at least 2"),
            (self.rival_distance >= 0, "rival_distance must be >= 0 (thresholds)"),
            (self.local_optimization >= 0, "local_optimization must be >= 0"),
            (self.refine_iterations >= 0, "refine_iterations must be >= 0"),
            (self.chunk_size >= 1, "chunk_size must be >= 1"),
            (self.num_threads >= 0, "num_threads must be >= 0"),
        )
        for ok, message in checks:
            if not ok:
                raise InputError(f"triangulation option: {message}")

    @property
    def threads(self) -> int:
        """Worker threads actually used."""
        if self.num_threads:
            return self.num_threads
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)

    def updated(self, **options: Any) -> "TriangulationOptions":
        """A copy with some options changed; unknown names and values of the wrong type raise InputError."""
        return from_mapping(type(self), {**asdict(self), **options}, "triangulation")


@dataclass(frozen=True)
class PeopleOptions:
    """Choice of one person among several detections per frame (see :mod:`spine3d.triangulation.people`).

    Attributes:
        threshold: px, a camera's candidate agrees with a 2-view hypothesis when the median
            reprojection error of its keypoints is below this.
        min_keypoints: keypoints (confident in both views) a 2-view person hypothesis needs.
    """

    threshold: float = 20.0
    min_keypoints: int = 4

    def __post_init__(self) -> None:
        if not self.threshold > 0 or self.min_keypoints < 1:
            raise InputError("people options: threshold must be > 0 px and min_keypoints >= 1")


@dataclass(frozen=True)
class FilterOptions:
    """Temporal post-processing, both steps off by default (see :mod:`spine3d.triangulation.filtering`).

    Attributes:
        gap_fill: fill gaps by linear interpolation.
        max_gap: frames, longest gap filled (longer gaps stay NaN).
        lowpass: zero-phase Butterworth low-pass filter.
        order: filter order.
        cutoff: Hz, cut-off frequency.
    """

    gap_fill: bool = False
    max_gap: int = 10
    lowpass: bool = False
    order: int = 2
    cutoff: float = 5.0

    def __post_init__(self) -> None:
        if self.max_gap < 0 or self.order < 1 or not self.cutoff > 0:
            raise InputError("filter options: max_gap must be >= 0 frames, order >= 1 and cutoff > 0 Hz")


@dataclass(frozen=True)
class TriangulationConfig:
    """Everything ``spine3d triangulate`` needs besides its file arguments."""

    method: Method = DEFAULT_METHOD
    triangulation: TriangulationOptions = field(default_factory=TriangulationOptions)
    people: PeopleOptions = field(default_factory=PeopleOptions)
    filter: FilterOptions = field(default_factory=FilterOptions)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_from_dict(data: dict[str, Any], path: Any = None) -> TriangulationConfig:
    """Build a :class:`TriangulationConfig` from nested dicts (as read from the YAML)."""
    try:
        return from_mapping(TriangulationConfig, data, "config")
    except InputError as exc:
        raise InputError(str(exc), path) from None


def load_config(path: str | os.PathLike | None = None) -> TriangulationConfig:
    """Read a triangulation YAML (default: the shipped ``configs/triangulation.yaml``)."""
    return load_yaml(TriangulationConfig, config_path(path or "triangulation"))
