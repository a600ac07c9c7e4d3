"""Triangulation settings: typed dataclasses with the defaults of ``configs/triangulation.yaml``.

The YAML file documents every value with its unit; :func:`load_config` maps it onto
:class:`TriangulationConfig` and rejects unknown keys, so a typo never passes silently.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from spine3d.errors import InputError

Method = Literal["dlt", "weighted", "ransac"]
METHODS: tuple[str, ...] = ("dlt", "weighted", "ransac")
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "triangulation.yaml"


@dataclass(frozen=True)
class TriangulationOptions:
    """Options of :func:`triangulation.triangulate` (keyword arguments of the same names).

    Attributes:
        confidence_threshold: detector confidence (0-1) below which a view never votes.
        min_views: views a point needs (fewer -> NaN, status "too_few_views").
        threshold: px, reprojection error below which a view is a RANSAC inlier.
        min_ray_angle: deg, pair hypotheses whose two rays are closer than this to parallel (or
            anti-parallel, cameras facing each other) are ill-conditioned and never win.
        max_pair_views: pair hypotheses come from all pairs of at most this many views per point
            (all pairs when C <= max_pair_views, else a random subset of views per point).
        rival_distance: thresholds; a 2-view consensus is "ambiguous" (NaN) when another 2-view
            set agrees on a point at least this far (in the winner's views); 0 = never.
        local_optimization: rounds of "re-select inliers against the refit, refit again".
        refine: Levenberg-Marquardt refinement of the reprojection error on the inliers.
        refine_iterations: LM iterations (each never increases the weighted error).
        seed: random seed of the view sampling (only used when C > max_pair_views).
        compiled: run "dlt" and "weighted" through the compiled kernel (:mod:`triangulation.kernel`,
            same results as the numpy path to rounding, ~5x faster in the benchmark); False: the numpy
            reference path.
        chunk_size: points per work unit (cache-sized; also the progress-bar step).
        num_threads: worker threads (0: one per available CPU core).
        progress: show a tqdm progress bar.
    """

    confidence_threshold: float = 0.3
    min_views: int = 2
    threshold: float = 15.0
    min_ray_angle: float = 3.0
    max_pair_views: int = 8
    rival_distance: float = 10.0
    local_optimization: int = 1
    refine: bool = True
    refine_iterations: int = 3
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
        """A copy with some options changed; unknown names raise InputError."""
        _check_keys(options, type(self), "triangulation option")
        return replace(self, **_typed(options, type(self), "triangulation option"))


@dataclass(frozen=True)
class PeopleOptions:
    """Choice of one person among several detections per frame (see :mod:`triangulation.people`).

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
    """Temporal post-processing, both steps off by default (see :mod:`triangulation.filtering`).

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

    method: Method = "ransac"
    triangulation: TriangulationOptions = field(default_factory=TriangulationOptions)
    people: PeopleOptions = field(default_factory=PeopleOptions)
    filter: FilterOptions = field(default_factory=FilterOptions)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_keys(values: dict, cls: type, where: str, path: Any = None) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown {where} {', '.join(map(repr, unknown))}; expected {', '.join(sorted(known))}", path)


def config_from_dict(data: dict[str, Any], path: Any = None) -> TriangulationConfig:
    """Build a :class:`TriangulationConfig` from nested dicts (as read from the YAML)."""
    if not isinstance(data, dict):
        raise InputError("the triangulation config must be a mapping", path)
    _check_keys(data, TriangulationConfig, "config section", path)
    method = data.get("method", "ransac")
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}", path)
    parts: dict[str, Any] = {"method": method}
    for name, cls in (("triangulation", TriangulationOptions), ("people", PeopleOptions), ("filter", FilterOptions)):
        section = data.get(name) or {}
        if not isinstance(section, dict):
            raise InputError(f"config section {name!r} must be a mapping", path)
        _check_keys(section, cls, f"key in [{name}]", path)
        try:
            parts[name] = cls(**_typed(section, cls, name))
        except InputError as exc:
            raise InputError(str(exc), path) from None
        except TypeError as exc:
            raise InputError(f"[{name}]: {exc}", path) from None
    return TriangulationConfig(**parts)


def _typed(values: dict[str, Any], cls: type, where: str) -> dict[str, Any]:
    """Check each value against the type of its field's default (ints are accepted for floats)."""
    defaults = cls()
    out = {}
    for key, value in values.items():
        kind = type(getattr(defaults, key))
        ok = isinstance(value, bool) if kind is bool else (
            isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else
            isinstance(value, int) and not isinstance(value, bool) if kind is int else isinstance(value, kind))
        if not ok:
            raise InputError(f"[{where}] {key} must be {kind.__name__}, got {value!r}")
        out[key] = float(value) if kind is float else value
    return out


def load_config(path: str | os.PathLike | None = None) -> TriangulationConfig:
    """Read a triangulation YAML (default: ``configs/triangulation.yaml``; built-in defaults if absent)."""
    if path is None and not DEFAULT_CONFIG.is_file():
        return TriangulationConfig()
    path = Path(path or DEFAULT_CONFIG)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML ({' '.join(str(exc).split())})", path) from None
    return config_from_dict(data or {}, path)
