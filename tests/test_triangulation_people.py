"""Choosing one person among several detections: the one most consistent across views."""

from __future__ import annotations

import numpy as np

from spine3d.calibration import h36m_rig
from spine3d.triangulation.people import select_person

RNG_SEED = 3


def _scene(t=30, j=17, seed=RNG_SEED):
    """Subject seen by all 4 cameras, bystander 1.2 m away seen by cameras 0 and 1 only."""
    rig = h36m_rig("S1")
    rng = np.random.default_rng(seed)
    subject = rng.normal([0.0, 0.0, 1.0], [0.2, 0.2, 0.5], (t, j, 3))
    bystander = subject + [1.2, 0.3, 0.0]
    uv_s = rig.project(subject) + rng.normal(0, 1.0, (4, t, j, 2))
    uv_b = rig.project(bystander) + rng.normal(0, 1.0, (4, t, j, 2))
    conf = rng.uniform(0.5, 1.0, (4, t, 2, j))
    people = np.full((4, t, 2, j, 3), np.nan)
    people[..., 2] = 0.0
    swap = rng.random((4, t)) < 0.5  # candidate order is random
    for c in range(4):
        for p, uv in enumerate((uv_s, uv_b)):
            if p == 1 and c >= 2:
                continue  # the bystander is out of view of cameras 2 and 3
            slot = np.where(swap[c], 1 - p, p)
            people[c, np.arange(t), slot, :, :2] = uv[c]
            people[c, np.arange(t), slot, :, 2] = conf[c, :, p]
    truth = np.where(swap, 1, 0)  # the subject's slot
    return rig, people, truth, uv_s


def test_picks_the_person_most_consistent_across_views():
    rig, people, truth, uv_s = _scene()
    sel = select_person(rig, people)
    present = (people[..., 2] > 0).any(-1).sum(-1)  # candidates per camera and frame
    # cameras with two candidates get the subject; cameras 2-3 had only the subject in either slot
    np.testing.assert_array_equal(sel.chosen[present > 1], truth[present > 1])
    np.testing.assert_allclose(sel.points2d, uv_s)
    assert sel.ambiguous.all() and sel.summary()["frames_with_several_people"] == 30


def test_camera_without_the_subject_is_dropped():
    rig, people, truth, _ = _scene()
    frames = np.arange(10)
    subject_slot = truth[0, frames]
    rng = np.random.default_rng(0)
    # camera 0 loses the subject and sees a stranger in its place (besides the bystander)
    people[0, frames, subject_slot, :, :2] = rng.uniform(0, 1000, (10, 17, 2))
    people[0, frames, subject_slot, :, 2] = 0.9
    sel = select_person(rig, people)
    assert (sel.chosen[0, :10] == -1).all()  # neither the bystander nor the stranger agrees
    assert np.isnan(sel.points2d[0, :10]).all() and (sel.confidence[0, :10] == 0).all()
    np.testing.assert_array_equal(sel.chosen[0, 10:], truth[0, 10:])
    np.testing.assert_array_equal(sel.chosen[1], truth[1])  # camera 1 still sees both people


def test_single_candidates_are_kept_without_selection():
    rig, people, _, uv_s = _scene()
    one = people[:, :, :1].copy()
    one[:, :, 0, :, :2] = uv_s
    one[:, :, 0, :, 2] = 0.8
    sel = select_person(rig, one)
    assert (sel.chosen == 0).all() and not sel.ambiguous.any()
    np.testing.assert_array_equal(sel.points2d, uv_s)
