"""Proof on real data: the Pose2Sim balancing trial (4 cameras, BODY_25B, 60 fps, 100 frames).

Targets: the default method is no less steady than the confidence-weighted DLT of every view
(issue 13, item 10: bone-length steadiness, the standard deviation over the trial of 8 limb-segment
lengths, median and max; a low reprojection error is not good 3D - issue 3's target of at most 9 px,
reached by fitting each frame's noise with small view subsets, made the 3D twice as unsteady) and
fits the detections no worse; no frame lost; a person standing on one leg; the raw ``pose/`` folders
(up to 3 candidates per frame) give the same person as the associated ``pose-associated/`` folders.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from spine3d.calibration import CameraRig
from spine3d.skeletons import BODY_25B
from spine3d.triangulation import TriangulationConfig, triangulate
from spine3d.data.trial import read_trial
from spine3d.triangulation.detections import choose_person
from spine3d.triangulation.pipeline import reconstruct
from spine3d.triangulation.steadiness import steadiness_summary


@pytest.fixture(scope="module")
def trial(shared_data):
    root = shared_data / "pose2sim_balancing"
    rig = CameraRig.from_toml(root / "Calib.toml")
    logging.disable(logging.WARNING)  # the real files are imperfect on purpose (one empty person entry)
    try:
        associated = choose_person(rig, read_trial(root / "pose-associated", rig, BODY_25B))
        raw = choose_person(rig, read_trial(root / "pose", rig, BODY_25B))
    finally:
        logging.disable(logging.NOTSET)
    return rig, associated, raw


def _confident_errors(result, detections):
    return result.view_errors[detections.confidence > 0.3]


def _steadiness(result):
    return steadiness_summary(np.where(result.trusted[..., None], result.points, np.nan), BODY_25B)


def test_default_is_as_steady_as_weighted_dlt_and_no_frame_lost(trial):
    rig, det, _ = trial
    recon = reconstruct(rig, det, BODY_25B, 60.0, TriangulationConfig())
    res = recon.result
    weighted = triangulate(rig, det.points2d, det.confidence, "weighted", temporal=False)  # the baseline
    ours, theirs = _steadiness(res), _steadiness(weighted)
    assert len(ours["per_segment_mm"]) == 8
    assert ours["median_mm"] <= theirs["median_mm"] and ours["max_mm"] <= theirs["max_mm"]
    checked = _steadiness(triangulate(rig, det.points2d, det.confidence, "weighted"))  # with the temporal checks
    assert ours["median_mm"] <= checked["median_mm"] + 0.05
    # the RANSAC-weighted DLT that #3 tuned for the reprojection error: a fixed 15 px threshold
    subsets = _steadiness(triangulate(rig, det.points2d, det.confidence, threshold=15.0, threshold_from_data=False))
    assert subsets["median_mm"] > 1.3 * ours["median_mm"]
    assert np.nanmedian(_confident_errors(res, det)) <= np.nanmedian(_confident_errors(weighted, det))
    assert 30.0 < res.threshold < 100.0  # px: the detector's own noise (sigma ~14 px), not a fixed small value
    kept = recon.trusted
    assert kept.any(axis=1).all() and kept[:, 5:].all(axis=1).sum() >= 95  # no frame lost; the body (not the
    # face, seen by two cameras only) trusted in nearly every frame


def test_a_person_standing_on_one_leg(trial):
    rig, det, _ = trial
    points = triangulate(rig, det.points2d, det.confidence).points  # (T, J, 3) m, world Z-up
    z = {name: points[:, BODY_25B.index(name), 2] for name in ("Head", "LHip", "RHip", "LAnkle", "RAnkle")}
    assert (np.nanmedian(z["Head"]) > 1.4) and (np.nanmedian(z["LHip"]) > 0.7)  # upright, metres
    lifted = z["RAnkle"] - z["LAnkle"]
    assert np.nanmax(lifted) > 0.25 and np.nanmedian(np.abs(z["LAnkle"] - np.nanmedian(z["LAnkle"]))) < 0.03
    height = np.nanmedian(z["Head"]) - np.nanmedian(np.minimum(z["LAnkle"], z["RAnkle"]))
    assert 1.3 < height < 1.9


def test_raw_detections_give_the_same_person(trial):
    rig, associated, raw = trial
    assert raw.people["frames_with_several_people"] > 0  # the raw folders are ambiguous
    has = (associated.confidence > 0).any(axis=-1)  # camera-frames the association kept
    assert (raw.chosen[has] == 0).all()  # the associated person is candidate 0 of the raw files
    same = (raw.points2d == associated.points2d) | (np.isnan(raw.points2d) & np.isnan(associated.points2d))
    same_input = same.all(axis=(0, 2, 3))  # frames whose 2D input is identical
    a = triangulate(rig, associated.points2d, associated.confidence).points
    b = triangulate(rig, raw.points2d, raw.confidence).points
    np.testing.assert_allclose(a[same_input], b[same_input], atol=1e-9)
    assert same_input.sum() >= 95
    per_frame = np.nanmean(np.linalg.norm(a - b, axis=-1), axis=1)
    assert np.nanmax(per_frame) < 0.05  # frames whose input differs: still the same person
