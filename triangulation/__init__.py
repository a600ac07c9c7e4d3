"""Multi-view triangulation of 2D keypoints: weighted DLT, RANSAC over camera pairs, LM refinement.

Public API::

    result = triangulate(rig, points2d, confidence=None, method="ransac", **options)
    result.points (T, J, 3) m, result.inliers (C, T, J), result.reprojection_error (T, J) px,
    result.num_views (T, J), result.status (T, J) (index into STATUS_NAMES)
"""

from spine3d.triangulation.config import (
    FilterOptions,
    PeopleOptions,
    TriangulationConfig,
    TriangulationOptions,
    load_config,
)
from spine3d.triangulation.core import Triangulation, triangulate
from spine3d.triangulation.status import STATUS_NAMES

__all__ = ["STATUS_NAMES", "FilterOptions", "PeopleOptions", "Triangulation", "TriangulationConfig",
           "TriangulationOptions", "load_config", "triangulate"]
