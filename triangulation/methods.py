"""The triangulation methods: one table that the solver, config validation, the CLI and the benchmark read.

Adding a method: add its name to :data:`Method`, a :class:`MethodSpec` row to :data:`METHODS`, and
its solve to :func:`spine3d.triangulation.core.solve_chunk` (which dispatches on the spec's fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Method = Literal["dlt", "weighted", "ransac"]
DEFAULT_METHOD: Method = "ransac"


@dataclass(frozen=True)
class MethodSpec:
    """One triangulation method.

    Attributes:
        name: the method's name (``--method``, ``method:`` in the YAML).
        label: its name in reports and benchmark tables.
        description: one line for ``--help`` and README.
        weights: DLT row weights, "unit" (every usable view alike) or "confidence" (the detector's).
        robust: consensus over view subsets (RANSAC), refit and optional refinement on the inliers;
            False: one linear solve over every usable view (the compiled kernel's methods).
    """

    name: Method
    label: str
    description: str
    weights: Literal["unit", "confidence"]
    robust: bool


METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in (
    MethodSpec("dlt", "DLT", "linear triangulation (DLT) of every usable view, unit weights", "unit", False),
    MethodSpec("weighted", "Weighted DLT", "DLT of every usable view weighted by the detector's confidence",
               "confidence", False),
    MethodSpec("ransac", "RANSAC-weighted DLT",
               "RANSAC over camera pairs with an inlier threshold measured from the data's noise, confidence-weighted "
               "DLT of the inliers (Levenberg-Marquardt refinement with refine: true), checks in time for sequences",
               "confidence", True),
)}

if tuple(METHODS) != get_args(Method):  # pragma: no cover - a programming error, caught at import
    raise RuntimeError(f"triangulation.methods: METHODS {tuple(METHODS)} and Method {get_args(Method)} differ")
