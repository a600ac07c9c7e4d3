"""One person out of several detections per frame: the one most consistent across views.

For frames where some camera has several candidate people, every pair of cameras and every pair
of their candidates gives a hypothesis: the 2-view DLT of the keypoints confident in both. Each
camera's candidates are scored against it by the median reprojection error of their confident
keypoints; a camera agrees when its best candidate is within ``threshold`` px. The hypothesis
with the most agreeing cameras (then the smallest mean error) wins, per frame; every camera's
closest candidate is triangulated together (RANSAC) and all candidates are judged once more
against that less noisy reconstruction. Cameras with several candidates take the agreeing one,
or none when no candidate agrees. Cameras with a single
candidate keep it (RANSAC judges its keypoints one by one). This is not a tracker: with two
people fully visible in all cameras, the more consistent one wins each frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.triangulation.core import triangulate
from spine3d.calibration.dlt import solve_normal, view_normal_matrices
from spine3d.calibration.views import normalized, rig_constants, undistort_views


@dataclass(frozen=True, eq=False)
class PersonSelection:
    """Detections of the chosen person.

    Attributes:
        points2d: (C, T, J, 2) px (NaN = missing).
        confidence: (C, T, J) in [0, 1] (0 = missing).
        chosen: (C, T) int, the candidate taken from each camera and frame (-1 = none).
        ambiguous: (T,) bool, frames where some camera had several candidates.
    """

    points2d: np.ndarray
    confidence: np.ndarray
    chosen: np.ndarray
    ambiguous: np.ndarray

    def summary(self) -> dict:
        """Counts for the report."""
        amb = self.ambiguous
        return {"rule": "several people in a frame: the one most consistent across views",
                "frames_with_several_people": int(amb.sum()),
                "frames_not_first_person": int((self.chosen[:, amb] > 0).any(axis=0).sum()),
                "camera_frames_dropped": int(((self.chosen[:, amb] < 0)).sum())}


def select_person(rig: CameraRig, people: np.ndarray, threshold: float = 20.0, min_keypoints: int = 4,
                  confidence_threshold: float = 0.3) -> PersonSelection:
    """Choose one person per frame among the candidates of every camera.

    Args:
        rig: the C cameras.
        people: (C, T, P, J, 3) x px, y px, confidence per camera, frame and candidate (NaN, NaN, 0
            where missing; candidates without any keypoint are absent).
        threshold: px, median reprojection error under which a candidate agrees with a hypothesis.
        min_keypoints: keypoints confident in both views needed by a 2-view hypothesis (and
            common keypoints needed to score a candidate).
        confidence_threshold: keypoints below this confidence are ignored.

    Returns:
        :class:`PersonSelection`.
    """
    people = np.asarray(people, dtype=np.float64)
    present = (people[..., 2] > 0).any(axis=-1)  # (C, T, P)
    count = present.sum(axis=-1)
    chosen = np.where(count > 0, present.argmax(axis=-1), -1)  # the only candidate, if any
    ambiguous = (count > 1).any(axis=0)
    if ambiguous.any():
        best = most_consistent(rig, people[:, ambiguous], threshold, min_keypoints, confidence_threshold)
        chosen[:, ambiguous] = np.where(count[:, ambiguous] > 1, best, chosen[:, ambiguous])
    picked = np.take_along_axis(people, np.maximum(chosen, 0)[:, :, None, None, None], axis=2)[:, :, 0]
    picked[chosen < 0] = (np.nan, np.nan, 0.0)
    return PersonSelection(picked[..., :2], picked[..., 2], chosen, ambiguous)


def most_consistent(rig: CameraRig, people: np.ndarray, threshold: float, min_keypoints: int,
                    confidence_threshold: float) -> np.ndarray:
    """(C, T, P, J, 3) candidates -> (C, T) index of each camera's agreeing candidate (-1: none)."""
    cams, frames, cands, joints, _ = people.shape
    const = rig_constants(rig)
    uv, conf = people[..., :2], people[..., 2]
    usable = np.isfinite(uv).all(axis=-1) & (conf >= confidence_threshold) & (conf > 0)  # (C, T, P, J)
    x, y = undistort_views(const, *normalized(const, uv.reshape(cams, -1, 2)))  # every camera in one call
    flat_usable = usable.reshape(cams, -1)
    x, y = np.where(flat_usable, x, 0.0), np.where(flat_usable, y, 0.0)
    weight = np.where(usable, conf, 0.0).reshape(cams, -1)
    normals = view_normal_matrices(const, x, y, weight).reshape(cams, 10, frames, cands, joints)
    best_score = np.full(frames, -np.inf)
    best = np.full((cams, frames), -1)
    for a, b in combinations(range(cams), 2):  # loop over camera pairs and candidate pairs
        for p in range(cands):
            for q in range(cands):
                both = usable[a, :, p] & usable[b, :, q]  # (T, J)
                enough = both.sum(axis=-1) >= min_keypoints
                if not enough.any():
                    continue
                points = solve_normal(const, (normals[a, :, :, p] + normals[b, :, :, q]).reshape(10, -1))
                points = np.where(both.reshape(-1), points, np.nan).T.reshape(frames, joints, 3)
                errors = candidate_errors(rig, points, uv, usable, min_keypoints)  # (C, T, P)
                err, pick = errors.min(axis=-1), errors.argmin(axis=-1)
                agree = err < threshold
                n_agree = agree.sum(axis=0)
                mean_err = np.where(agree, err, 0.0).sum(axis=0) / np.maximum(n_agree, 1)
                valid = enough & agree[a] & agree[b]
                score = np.where(valid, n_agree - 0.5 * mean_err / threshold, -np.inf)
                better = score > best_score
                best_score = np.where(better, score, best_score)
                best = np.where(better, pick, best)
    return rescore(rig, people, best, usable, threshold, min_keypoints)


def rescore(rig: CameraRig, people: np.ndarray, chosen: np.ndarray, usable: np.ndarray, threshold: float,
            min_keypoints: int) -> np.ndarray:
    """Re-pick every camera's candidate against a RANSAC triangulation of the best candidates.

    A 2-view hypothesis is noisy; the RANSAC triangulation of every camera's best candidate is
    not (keypoints of a wrong candidate are rejected one by one), so all candidates are judged
    once more against it (one local-optimisation round).

    Args:
        chosen: (C, T) best candidate per camera against the winning hypothesis (-1: none).
    """
    picked = np.take_along_axis(people, np.maximum(chosen, 0)[:, :, None, None, None], axis=2)[:, :, 0]
    conf = np.where(chosen[..., None] >= 0, picked[..., 2], 0.0)
    # every kept point, trusted or not, each frame on its own: this judges candidates, it is no output
    points = triangulate(rig, picked[..., :2], conf, "ransac", refine=False, temporal=False, num_threads=1).points
    errors = candidate_errors(rig, points, people[..., :2], usable, min_keypoints)
    err, pick = errors.min(axis=-1), errors.argmin(axis=-1)
    return np.where(err < threshold, pick, -1)


def candidate_errors(rig: CameraRig, points: np.ndarray, uv: np.ndarray, usable: np.ndarray,
                     min_keypoints: int) -> np.ndarray:
    """Median reprojection error of every candidate against hypothesis points.

    Args:
        points: (T, J, 3) m world (NaN = keypoint not in the hypothesis).
        uv: (C, T, P, J, 2) px candidates; usable: (C, T, P, J) bool.

    Returns:
        (C, T, P) px; inf where fewer than ``min_keypoints`` keypoints are shared.
    """
    projected = rig.project(points)  # (C, T, J, 2)
    err = np.sqrt(((projected[:, :, None] - uv) ** 2).sum(axis=-1))  # (C, T, P, J)
    shared = usable & np.isfinite(err)
    ranked = np.sort(np.where(shared, err, np.inf), axis=-1)  # median of the finite values, vectorised
    n = shared.sum(axis=-1)
    lo = np.take_along_axis(ranked, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(ranked, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    return np.where(n >= min_keypoints, 0.5 * (lo + hi), np.inf)
