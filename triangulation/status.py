"""Status codes of a triangulated point: the one table the solvers, the result files and reports use.

A point's status is a uint8 index into :data:`STATUS_NAMES`. :data:`STATUSES` says, for each, what
it means, whether the point's coordinates are kept (else they are NaN) and whether the point is
trusted: trusted points are the ones a TRC file gets by default and the benchmarks count as "ok".
README's "trust levels" table is :func:`trust_table` (a test checks that they agree). Codes are
only ever appended, so files written earlier keep their meaning (they also store the names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Status:
    """One status a triangulated point can have.

    Attributes:
        name: the code's name (``status_names`` in result files, keys of reports).
        meaning: one sentence for README and reports.
        kept: the point's coordinates are returned (False: NaN).
        trusted: the point is written to TRC files by default and counted as ok.
    """

    name: str
    meaning: str
    kept: bool
    trusted: bool


STATUSES: tuple[Status, ...] = (
    Status("ok", "at least three views support it and check each other (RANSAC: they agree within the inlier "
           "threshold measured on the data, each is predicted by the others, no single view fixes the depth; dlt / "
           "weighted: every usable view, agreement unchecked), it lies in front of them, their rays are well spread, "
           "and in a sequence it is no spike", True, True),
    Status("too_few_views", "fewer usable views than min_views", False, False),
    Status("no_consensus", "RANSAC found no valid agreeing set of views", False, False),
    Status("degenerate", "the linear system has no finite solution", False, False),
    Status("ambiguous", "RANSAC: another set of views, as large, agrees on a clearly different point: nothing tells "
           "which is right", False, False),
    Status("behind_camera", "the solution lies behind a camera it uses (cheirality): no such point was seen",
           False, False),
    Status("ill_conditioned", "the rays it uses are too close to parallel to fix its depth (effective triangulation "
           "angle below min_ray_angle): it may be far off along them", True, False),
    Status("unverified", "its depth rests on one view that nothing checks: only two views support it (RANSAC: or the "
           "others are nearly parallel, or do not predict it), and no trusted neighbour in time confirms it; a wrong "
           "match along the epipolar line reprojects just as well", True, False),
    Status("verified_in_time", "as unverified, but it lies on the path of its trusted neighbours in time (within the "
           "series' tolerance: temporal_tolerance, wider for noisy series)", True, True),
    Status("temporal_outlier", "it jumps: farther than the series' tolerance from the path of its trusted neighbours "
           "in time (an unverified point, or a RANSAC ok point that is a spike)", False, False),
)
STATUS_NAMES: tuple[str, ...] = tuple(s.name for s in STATUSES)
STATUS_MEANINGS: dict[str, str] = {s.name: s.meaning for s in STATUSES}
(OK, TOO_FEW_VIEWS, NO_CONSENSUS, DEGENERATE, AMBIGUOUS, BEHIND_CAMERA, ILL_CONDITIONED, UNVERIFIED,
 VERIFIED_IN_TIME, TEMPORAL_OUTLIER) = range(len(STATUSES))
TRUSTED: tuple[int, ...] = tuple(i for i, s in enumerate(STATUSES) if s.trusted)
KEPT: tuple[int, ...] = tuple(i for i, s in enumerate(STATUSES) if s.kept)


def trusted(status: np.ndarray) -> np.ndarray:
    """(*B,) uint8 status -> (*B,) bool: the point is trusted (see :data:`TRUSTED`)."""
    return np.isin(status, TRUSTED)


def kept(status: np.ndarray) -> np.ndarray:
    """(*B,) uint8 status -> (*B,) bool: the point's coordinates are returned (see :data:`KEPT`)."""
    return np.isin(status, KEPT)


def trust_table() -> str:
    """The Markdown table of every status: name, point returned, trusted, meaning (README's "trust levels")."""
    lines = ["| status | point | trusted (TRC) | meaning |", "|---|---|---|---|"]
    for s in STATUSES:
        lines.append(f"| `{s.name}` | {'kept' if s.kept else 'NaN'} | {'yes' if s.trusted else 'no'} | {s.meaning} |")
    return "\n".join(lines)
