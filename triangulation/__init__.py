"""Multi-view triangulation of 2D keypoints: weighted DLT, RANSAC over camera pairs, LM refinement.

Public API::

    result = triangulate(rig, points2d, confidence=None, method="ransac", **options)
    result.points (T, J, 3) m, result.inliers (C, T, J), result.reprojection_error (T, J) px,
    result.num_views (T, J), result.status (T, J) (index into STATUS_NAMES)
"""

from triangulation.config import (
    FilterOptions,
    PeopleOptions,
    TriangulationConfig,
    TriangulationOptions,
    load_config,
)
from triangulation.core import STATUS_NAMES, Triangulation, triangulate

__all__ = ["STATUS_NAMES", "FilterOptions", "PeopleOptions", "Triangulation", "TriangulationConfig",
           "TriangulationOptions", "load_config", "triangulate"]
