"""The public entry point :func:`triangulate`: validation, chunking over points, threads, outputs.

Points are flattened to N = prod(batch shape) and solved in cache-sized chunks; chunks run on a
thread pool (numpy and the compiled kernel release the GIL; BLAS products are kept on the calling
thread, see :data:`spine3d.calibration.dlt.SINGLE_THREAD_WORK`). "dlt" and "weighted" go through the
compiled per-point kernel (:mod:`spine3d.triangulation.kernel`) when the lenses allow, else through the
numpy solvers; "ransac" undistorts and checks statuses with numpy and runs its pair consensus, refit,
leave-one-out check and LM refinement through compiled loops (:mod:`.ransac_kernel`,
:mod:`.refine_kernel`; ``compiled=False``: numpy throughout). Nothing loops over frames, joints or
points in Python: the only Python loops are over chunks, cameras, camera pairs and iterations.

Around the chunks: RANSAC's inlier threshold is measured first on a sample of the points
(:mod:`.noise`), and for sequences (a batch shape (T, J, ...)) a temporal pass follows
(:mod:`.temporal`): stable view sets over time (RANSAC) and the temporal check of 2-view points. Both
run on the same worker threads (:func:`solve_parts`; the checks in time by groups of series).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.errors import InputError
from spine3d.triangulation.config import TriangulationOptions
from spine3d.triangulation.methods import DEFAULT_METHOD, METHODS, Method
from spine3d.calibration.dlt import dlt, view_normal_matrices
from spine3d.triangulation.checks import point_status
from spine3d.triangulation.noise import inlier_threshold
from spine3d.triangulation.ransac import consensus, fit_inliers, refit, unchecked_views
from spine3d.triangulation.refine import refine
from spine3d.triangulation.reprojection import pixel_errors
from spine3d.triangulation.status import STATUS_NAMES, kept, trusted
from spine3d.triangulation.temporal import stable_view_sets, verify_in_time
from spine3d.triangulation.threads import thread_map
from spine3d.calibration.views import RigConstants, prepare_views, rig_constants

_ALLOCATOR_BLOCK = 16 * 2 ** 20  # bytes; see _raise_allocator_thresholds
MIN_PART = 1024  # points: the smallest part solve_parts hands a worker thread (smaller ones cost more than they save)


@dataclass(frozen=True, eq=False)
class Triangulation:
    """Result of :func:`triangulate` for points of batch shape B (typically (T, J)).

    Attributes:
        points: (*B, 3) m, world frame; NaN where not reconstructed (see ``status``).
        inliers: (C, *B) bool, the views each point was fitted to.
        reprojection_error: (*B,) px, mean over the inlier views of the exact reprojection error.
        num_views: (*B,) int, number of inlier views.
        status: (*B,) uint8 index into :data:`STATUS_NAMES` (:data:`~.status.STATUSES` says what
            each means, which keep their point and which are trusted).
        view_errors: (C, *B) px, exact reprojection error of every observed view (inlier or not,
            whatever its confidence); NaN where the view or the point is missing.
        method: the method used.
        options: the options used.
        camera_names: (C,) names of the cameras.
        threshold: px, RANSAC's inlier threshold as used (measured from the data unless
            ``threshold_from_data`` is off); NaN for the linear methods.
    """

    points: np.ndarray
    inliers: np.ndarray
    reprojection_error: np.ndarray
    num_views: np.ndarray
    status: np.ndarray
    view_errors: np.ndarray
    method: str
    options: TriangulationOptions
    camera_names: tuple[str, ...]
    threshold: float = float("nan")

    @property
    def trusted(self) -> np.ndarray:
        """(*B,) bool: points with a trusted status (the ones a TRC file gets by default)."""
        return trusted(self.status)

    def status_counts(self) -> dict[str, int]:
        """Number of points per status name."""
        counts = np.bincount(self.status.reshape(-1), minlength=len(STATUS_NAMES))
        return {name: int(c) for name, c in zip(STATUS_NAMES, counts)}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the result, by attribute name (for npz / HDF5 output)."""
        return {"points": self.points, "inliers": self.inliers, "reprojection_error": self.reprojection_error,
                "num_views": self.num_views, "status": self.status, "view_errors": self.view_errors}


def triangulate(rig: CameraRig, points2d: Any, confidence: Any = None, method: Method = DEFAULT_METHOD,
                **options: Any) -> Triangulation:
    """Triangulate 2D observations from calibrated cameras.

    Args:
        rig: the C calibrated cameras, in the order of the C axis.
        points2d: (C, *B, 2) px, distorted image coordinates (origin top-left); NaN = missing.
            Typically B = (T, J).
        confidence: (C, *B) detector confidence in [0, 1]; None = 1 wherever ``points2d`` is finite.
        method: a name of :data:`spine3d.triangulation.methods.METHODS`: "dlt" (unit weights),
            "weighted" (confidence-weighted DLT) or "ransac" (pair-hypothesis RANSAC,
            confidence-weighted refit on the inliers, optional Levenberg-Marquardt refinement).
        **options: fields of :class:`TriangulationOptions` (e.g. ``threshold=15.0``, ``refine=False``).

    With a batch of at least two axes and ``temporal`` on, the first axis is time (frames): see
    :mod:`spine3d.triangulation.temporal`.

    Returns:
        :class:`Triangulation` with points (*B, 3) m world, inliers (C, *B), reprojection_error
        (*B,) px, num_views (*B,), status (*B,).
    """
    opts = TriangulationOptions().updated(**options)
    if method not in METHODS:
        raise InputError(f"unknown triangulation method {method!r}; expected one of {', '.join(METHODS)}")
    uv, conf, batch = _validated(rig, points2d, confidence)
    const = rig_constants(rig)
    n = uv.shape[1]
    _raise_allocator_thresholds()
    threshold = float("nan")
    if METHODS[method].robust:
        _check_values(uv, conf)
        threshold = inlier_threshold(partial(solve_parts, const, method=method, opts=opts), uv, conf, opts)
    # every entry is written by exactly one chunk; points are stored (n, 3), the output layout
    out = {"points": np.empty((n, 3)), "inliers": np.empty((len(rig), n), bool),
           "reprojection_error": np.empty(n), "num_views": np.empty(n, np.int64),
           "status": np.empty(n, np.uint8), "view_errors": np.empty((len(rig), n))}
    starts = range(0, n, opts.chunk_size)
    kernel = _linear_kernel(const, method, opts)

    def store(where: slice | np.ndarray, values: dict[str, np.ndarray]) -> None:
        for key, value in values.items():
            if key == "points":
                out[key][where] = value.T
            else:
                out[key][..., where] = value

    def work(index: int) -> int:
        sl = slice(starts[index], min(starts[index] + opts.chunk_size, n))
        if kernel is None:
            _check_values(uv[:, sl], conf[:, sl])
            store(sl, solve_chunk(const, uv[:, sl], conf[:, sl], method, opts, sl.start, threshold))
        else:
            todo, invalid = kernel(uv, conf, sl.start, sl.stop, out)
            if invalid:  # the kernel counts what _check_values rejects; it names the problem
                _check_values(uv[:, sl], conf[:, sl])
            if todo.size:  # an undistortion failed its check: the numpy path finishes these points
                store(todo, solve_chunk(const, uv[:, todo], conf[:, todo], method, opts))
        return sl.stop - sl.start

    _run(work, len(starts), n, opts)
    if opts.temporal and len(batch) >= 2:
        _temporal_pass(const, uv, conf, method, opts, threshold, out, batch, store)
    return Triangulation(
        points=out["points"].reshape(*batch, 3), inliers=out["inliers"].reshape(len(rig), *batch),
        reprojection_error=out["reprojection_error"].reshape(batch), num_views=out["num_views"].reshape(batch),
        status=out["status"].reshape(batch), view_errors=out["view_errors"].reshape(len(rig), *batch),
        method=method, options=opts, camera_names=tuple(rig.names), threshold=threshold)


def solve_chunk(const: RigConstants, uv: np.ndarray, conf: np.ndarray, method: Method, opts: TriangulationOptions,
                first_index: int = 0, threshold: float | None = None,
                inliers: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Triangulate one chunk: uv (C, n, 2) px, conf (C, n) -> output arrays with a trailing n axis.

    Args:
        first_index: global index of the chunk's first point (seeds RANSAC's view sampling).
        threshold: px, RANSAC's inlier threshold (None: ``opts.threshold``).
        inliers: (C, n) bool, RANSAC only: fit these views (the usable ones among them) instead of
            searching for a consensus (the temporal pass's stable view sets).
    """
    spec = METHODS[method]
    threshold = opts.threshold if threshold is None else threshold
    views = prepare_views(const, uv, conf, opts.confidence_threshold, whiten=spec.robust)
    available = views.usable.sum(axis=0)
    ambiguous = unchecked = None
    if not spec.robust:
        weight = views.usable if spec.weights == "unit" else views.confidence
        points = dlt(const, views.x, views.y, weight)
        inliers = views.usable
    else:
        normals = view_normal_matrices(const, views.x, views.y, views.confidence)
        if inliers is None:
            points, inliers, ambiguous = consensus(const, views, normals, threshold, opts.min_ray_angle,
                                                   opts.max_pair_views, opts.seed, first_index, opts.rival_distance,
                                                   opts.compiled)
            points, inliers = refit(const, views, normals, points, inliers, threshold, opts.local_optimization,
                                    opts.compiled)
        else:
            inliers, ambiguous = inliers & views.usable, np.zeros(uv.shape[1], dtype=bool)
            points = fit_inliers(const, normals, inliers)
        unchecked = unchecked_views(const, views, normals, inliers, threshold, compiled=opts.compiled)
        if opts.refine and opts.refine_iterations:
            points = refine(const, views, points, inliers, opts.refine_iterations, opts.compiled)
        weight = np.where(inliers, views.confidence, 0.0)
    status = point_status(const, views, points, weight, available, ambiguous, opts.min_views, opts.min_ray_angle,
                          unchecked)
    return outputs(const, uv, points, inliers, status)


def solve_parts(const: RigConstants, uv: np.ndarray, conf: np.ndarray, method: Method, opts: TriangulationOptions,
                threshold: float | None = None, inliers: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """:func:`solve_chunk` of n points split into contiguous parts solved on the worker threads: the same
    outputs as one call (a point's RANSAC draws depend on its index only). Parts hold at most
    ``opts.chunk_size`` points and at least :data:`MIN_PART` (one part when n is smaller)."""
    n = uv.shape[1]
    parts = max(-(-n // opts.chunk_size), min(opts.threads, n // MIN_PART), 1)
    bounds = np.linspace(0, n, parts + 1).astype(np.int64)

    def solve(k: int) -> dict[str, np.ndarray]:
        sl = slice(bounds[k], bounds[k + 1])
        return solve_chunk(const, uv[:, sl], conf[:, sl], method, opts, sl.start, threshold,
                           None if inliers is None else inliers[:, sl])

    solved = list(thread_map(solve, range(parts), opts.threads))
    return {key: np.concatenate([s[key] for s in solved], axis=-1) for key in solved[0]}


def outputs(const: RigConstants, uv: np.ndarray, points: np.ndarray, inliers: np.ndarray,
            status: np.ndarray) -> dict[str, np.ndarray]:
    """The output arrays of n points: solved points (3, n) m, their views (C, n) bool and status (n,)
    -> points NaN and no inliers where the status keeps no point, exact errors of every view."""
    keep = kept(status)
    np.copyto(points, np.nan, where=~keep)
    inliers = inliers & keep
    view_errors = pixel_errors(const, points, uv)
    num_views = inliers.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # no inlier (point not kept): 0 / 0 = NaN
        mean_error = np.where(inliers, view_errors, 0.0).sum(axis=0) / num_views
    return {"points": points, "inliers": inliers, "reprojection_error": mean_error,
            "num_views": num_views, "status": status, "view_errors": view_errors}


def _temporal_pass(const: RigConstants, uv: np.ndarray, conf: np.ndarray, method: Method, opts: TriangulationOptions,
                   threshold: float, out: dict[str, np.ndarray], batch: tuple[int, ...], store) -> None:
    """Stable view sets (RANSAC: re-solve the points whose set changes), then the checks in time
    (:func:`spine3d.triangulation.temporal.verify_in_time`); ``out`` holds the flat outputs
    (N = prod(batch)) and is updated in place."""
    cams = uv.shape[0]
    if METHODS[method].robust:
        usable = (conf >= opts.confidence_threshold) & (conf > 0)  # as in prepare_views
        stable = stable_view_sets(out["inliers"].reshape(cams, *batch), out["view_errors"].reshape(cams, *batch),
                                  usable.reshape(cams, *batch), kept(out["status"]).reshape(batch),
                                  opts.stable_factor * threshold)
        changed = np.flatnonzero((stable.reshape(cams, -1) != out["inliers"]).any(axis=0))
        if changed.size:
            new = solve_parts(const, uv[:, changed], conf[:, changed], method, opts,
                              inliers=stable.reshape(cams, -1)[:, changed])
            # a stable set must still be a consensus: every view of it within the threshold of its refit
            fits = ~(new["inliers"] & ~(new["view_errors"] <= threshold)).any(axis=0) & kept(new["status"])
            store(changed[fits], {k: v[..., fits] for k, v in new.items()})
    status = verify_in_time(out["points"].reshape(*batch, 3), out["status"].reshape(batch), opts.temporal_window,
                            opts.temporal_tolerance, opts.noise_factor, spikes=METHODS[method].robust,
                            threads=opts.threads).reshape(-1)
    rejected = np.flatnonzero((status != out["status"]) & ~kept(status))
    out["status"][...] = status
    if rejected.size:  # temporal outliers lose their point; verified points keep theirs
        store(rejected, outputs(const, uv[:, rejected], out["points"][rejected].T.copy(),
                                out["inliers"][:, rejected], status[rejected]))


def _linear_kernel(const: RigConstants, method: Method, opts: TriangulationOptions) -> Callable[..., Any] | None:
    """``kernel(uv, conf, start, stop, out)`` solving points start:stop of the linear methods with the
    compiled kernel (:mod:`spine3d.triangulation.kernel`), or None for the numpy path (RANSAC, lens models
    the kernel lacks, ``compiled=False``)."""
    spec = METHODS[method]
    if spec.robust or not opts.compiled:
        return None
    from spine3d.triangulation.kernel import kernel_constants, solve_linear  # numba: imported on first use

    kc = kernel_constants(const)
    if kc is None:
        return None
    return partial(solve_linear, kc, weighted=spec.weights == "confidence", threshold=opts.confidence_threshold,
                   min_views=opts.min_views, min_ray_angle=opts.min_ray_angle)


@cache
def _raise_allocator_thresholds() -> None:
    """Once per process: let glibc's malloc keep the chunks' temporaries in its heap.

    A chunk's temporaries are ~0.25 MiB each. glibc serves blocks above its mmap threshold (0.125 MiB
    at start) with fresh mappings and trims the heap top beyond twice that threshold, so every
    chunk would page-fault its memory in again (~1300 faults per 8192 points: more time than the
    arithmetic). Freeing one mapped block raises both thresholds to its size (glibc's documented
    dynamic threshold, mallopt(3)); the block is never touched. Elsewhere this does nothing.
    """
    block = np.empty(_ALLOCATOR_BLOCK, dtype=np.uint8)
    del block


def _validated(rig: CameraRig, points2d: Any, confidence: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """-> uv (C, N, 2) float64, conf (C, N) float64, batch shape B."""
    uv = np.asarray(points2d, dtype=np.float64)
    cams = len(rig)
    if uv.ndim < 2 or uv.shape[0] != cams or uv.shape[-1] != 2:
        raise InputError(f"points2d must have shape (C={cams}, ..., 2) (one row per camera of the rig), "
                         f"got {uv.shape}")
    batch = uv.shape[1:-1]
    if confidence is None:
        conf = np.ones(uv.shape[:-1])
    else:
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.shape != uv.shape[:-1]:
            raise InputError(f"confidence must have shape {uv.shape[:-1]} (points2d without its last axis), "
                             f"got {conf.shape}")
    n = int(np.prod(batch)) if batch else 1
    return np.ascontiguousarray(uv.reshape(cams, n, 2)), np.ascontiguousarray(conf.reshape(cams, n)), batch


def _check_values(uv: np.ndarray, conf: np.ndarray) -> None:
    """Value checks of one chunk (run by the workers: a serial pass over the input would cost more
    than the compiled solver): uv (C, n, 2) px, conf (C, n)."""
    if np.isinf(uv).any():
        raise InputError("points2d holds infinite values (use NaN for missing points)")
    if not np.isfinite(conf).all() or (conf < 0).any():
        raise InputError("confidence must be finite and >= 0 (use 0 for missing points)")


def _run(work, chunks: int, total: int, opts: TriangulationOptions) -> None:
    """Run ``work(index)`` for every chunk on the thread pool, with an optional progress bar."""
    bar = None
    if opts.progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="pt", desc="triangulate", leave=False)
    try:
        for done in thread_map(work, range(chunks), opts.threads):
            if bar is not None:
                bar.update(done)
    finally:
        if bar is not None:
            bar.close()
