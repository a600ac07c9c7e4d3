"""Proof on real data: the Pose2Sim balancing trial (4 cameras, BODY_25B, 60 fps, 100 frames).

Targets (issue 3): median reprojection error over all detections with confidence > 0.3 at most
9 px (a plain confidence-weighted DLT gives about 13 px), no frame lost, a person standing on one
leg, and the raw ``pose/`` folders (up to 3 candidates per frame) give the same person as the
associated ``pose-associated/`` folders.
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


def test_reprojection_error_target_and_no_frame_lost(trial):
    rig, det, _ = trial
    recon = reconstruct(rig, det, BODY_25B, 60.0, TriangulationConfig())
    res = recon.result
    assert np.nanmedian(_confident_errors(res, det)) <= 9.0  # every confident detection, inlier or not
    assert np.nanmedian(res.reprojection_error) <= 9.0  # per point, over its inliers
    reconstructed = np.isfinite(res.points[..., 0])
    assert reconstructed.all(axis=1).sum() >= 70 and reconstructed.mean(axis=1).min() >= 0.85  # no frame lost
    weighted = triangulate(rig, det.points2d, det.confidence, "weighted")
    assert np.nanmedian(weighted.reprojection_error) > 11.0  # the baseline the issue quotes (~13 px)
    assert np.nanmedian(_confident_errors(weighted, det)) > np.nanmedian(_confident_errors(res, det)) + 3.0


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
