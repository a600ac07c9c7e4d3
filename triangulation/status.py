"""Status codes of a triangulated point: the one table the solvers, the result files and reports use.

A point's status is a uint8 index into :data:`STATUS_NAMES`; :data:`STATUS_MEANINGS` says what each
means (README's "trust levels" table is made from it). Trusted points (:data:`TRUSTED`) are the ones
written to a TRC file by default.
"""

from __future__ import annotations

import numpy as np

STATUS_MEANINGS: dict[str, str] = {
    "ok": "reconstructed from views that agree",
    "too_few_views": "fewer usable views than min_views: NaN",
    "no_consensus": "RANSAC found no valid agreeing set of views: NaN",
    "degenerate": "the linear system has no finite solution: NaN",
    "ambiguous": "only two views agree, and another pair agrees on a clearly different point: NaN",
}
STATUS_NAMES: tuple[str, ...] = tuple(STATUS_MEANINGS)
OK, TOO_FEW_VIEWS, NO_CONSENSUS, DEGENERATE, AMBIGUOUS = range(len(STATUS_NAMES))
TRUSTED: tuple[int, ...] = (OK,)


def trusted(status: np.ndarray) -> np.ndarray:
    """(*B,) uint8 status -> (*B,) bool: the point is trusted (see :data:`TRUSTED`)."""
    return np.isin(status, TRUSTED)
