"""Skeleton layouts: orders from the specs, trees, flip pairs, groups and name-based remapping."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.errors import InputError
from spine3d.skeletons import (BODY_25B, COCO_17, H36M_17, H36M_32, H36M_32_TO_17, HALPE_26, SIMSPINE_15,
                               SIMSPINE_37, SKELETONS, SPINEPOSE_37, SPINEPOSE_9, get_skeleton, keypoints_layout,
                               remap)


def test_simspine15_matches_release():
    assert SIMSPINE_15.names == ("Hip", "Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05", "Neck",
                                 "Neck_02", "Neck_03", "Head", "Nose", "LClavicle", "RClavicle", "LLatissimus",
                                 "RLatissimus")
    assert SIMSPINE_15.parents == (-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 5, 4, 4)
    assert SIMSPINE_15.root == 0


def test_simspine37_order_from_schema(shared_data):
    text = (shared_data / "simspine_schema.md").read_text()
    line = next(l for l in text.splitlines() if l.startswith("Full skeleton (37, in order):"))
    names = [n.strip(" .") for n in line.split(":", 1)[1].split(",")]
    assert tuple(names) == SIMSPINE_37.names


def test_body25b_order_from_shared_readme(shared_data):
    text = (shared_data / "README.md").read_text().replace("\n", " ")
    seg = text[text.index("0 Nose"):text.index("24 RHeel") + len("24 RHeel")]
    names = [item.split()[1] for item in seg.split(",")]
    assert tuple(names) == BODY_25B.names


def test_spinepose_indices():
    sp = SPINEPOSE_37
    assert sp.num_joints == 37
    assert sp.names[:17] == COCO_17.names and sp.names[:26] == HALPE_26.names
    assert sp.names.index("head") == 17 and sp.names.index("hip") == 19 and sp.names.index("right_heel") == 25
    assert sp.names[26:31] == ("spine_01", "spine_02", "spine_03", "spine_04", "spine_05")
    assert sp.names[35:] == ("neck_02", "neck_03")


@pytest.mark.parametrize("skel", list(SKELETONS.values()), ids=list(SKELETONS))
def test_flip_is_involution_and_pairs_sides(skel):
    perm = skel.flip_permutation
    np.testing.assert_array_equal(perm[perm], np.arange(skel.num_joints))
    for i, j in skel.flip_pairs:
        a, b = skel.canonical[i], skel.canonical[j]
        assert {a[0], b[0]} == {"L", "R"} or "left" in skel.names[i] + skel.names[j]
    for i in np.flatnonzero(perm == np.arange(skel.num_joints)):  # midline joints
        name = skel.canonical[i]
        assert not (name[0] in "LR" and name[1].isupper()), f"{name} should have a mirror"


def test_flip_examples():
    p = SIMSPINE_15.flip_permutation
    assert p[SIMSPINE_15.index("LClavicle")] == SIMSPINE_15.index("RClavicle")
    assert p[SIMSPINE_15.index("Spine_03")] == SIMSPINE_15.index("Spine_03")
    q = SPINEPOSE_37.flip_permutation
    assert q[SPINEPOSE_37.index("left_latissimus")] == SPINEPOSE_37.index("right_latissimus")


def test_groups():
    assert SIMSPINE_15.group("spine").sum() == 9 and SIMSPINE_15.group("spine15").all()
    assert not SIMSPINE_15.group("body").any()
    assert SIMSPINE_37.group("spine").sum() == 9 and SIMSPINE_37.group("spine15").sum() == 15
    assert SIMSPINE_37.group("body").sum() == 22 and SIMSPINE_37.group("full").sum() == 37
    assert SPINEPOSE_37.group("spine").sum() == 9  # hip + spine_01..05 + neck + neck_02/03
    assert COCO_17.group("spine").sum() == 0
    with pytest.raises(InputError, match="unknown joint group"):
        SIMSPINE_15.group("arms")


def test_remap_by_name_spinepose_to_simspine():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 37, 3))
    y = remap(x, SPINEPOSE_37, SIMSPINE_37)
    assert y.shape == (5, 37, 3)
    np.testing.assert_array_equal(y[:, SIMSPINE_37.index("LClavicle")], x[:, SPINEPOSE_37.index("left_clavicle")])
    np.testing.assert_array_equal(y[:, SIMSPINE_37.index("Hip")], x[:, SPINEPOSE_37.index("hip")])
    # every SIMSPINE_37 joint has a SpinePose counterpart
    assert np.isfinite(y).all()
    # COCO lacks the spine: missing, never guessed
    z = remap(rng.normal(size=(2, 17, 2)), COCO_17, SIMSPINE_15)
    nose = SIMSPINE_15.index("Nose")
    assert np.isfinite(z[:, nose]).all()
    assert np.isnan(np.delete(z, nose, axis=1)).all()
    with pytest.raises(InputError, match=r"\(\.\.\., 17, D\)"):
        remap(np.zeros((3, 16, 2)), COCO_17, SIMSPINE_15)


def test_h36m_32_to_17_by_names():
    assert H36M_32.mapping_to(H36M_17).tolist() == list(H36M_32_TO_17)


def test_lookup():
    assert get_skeleton("BODY_25B") is BODY_25B and get_skeleton("spinepose") is SPINEPOSE_37
    with pytest.raises(InputError, match="unknown skeleton"):
        get_skeleton("openpose_135")


def test_one_layout_rule_never_guesses_between_equal_counts():
    assert keypoints_layout(25) is BODY_25B and keypoints_layout(9, source="json") is SPINEPOSE_9
    assert keypoints_layout(37, source="json") is SPINEPOSE_37  # a detector's JSON: SpinePose
    assert keypoints_layout(17, source="json") is COCO_17
    for count in (17, 37):  # plain arrays: two layouts each
        with pytest.raises(InputError, match=f"{count} keypoints per person fit .*, .*--skeleton"):
            keypoints_layout(count)
    assert keypoints_layout(37, stored="simspine37") is SIMSPINE_37
    assert keypoints_layout(37, given="simspine37", stored="spinepose37", source="json") is SIMSPINE_37
    with pytest.raises(InputError, match="names coco17, which has 17"):
        keypoints_layout(15, given="coco17")


def test_spine_only_layout_is_spinepose37_column_in_order():
    """spinepose --spine-only writes SpinePose-37's keypoints 19, 26..30, 18, 35, 36, in that order."""
    picked = [SPINEPOSE_37.names[i] for i in (19, 26, 27, 28, 29, 30, 18, 35, 36)]
    assert list(SPINEPOSE_9.names) == picked
    values = np.arange(37 * 2, dtype=float).reshape(37, 2)
    np.testing.assert_array_equal(remap(values, SPINEPOSE_37, SPINEPOSE_9), values[[19, 26, 27, 28, 29, 30, 18, 35, 36]])
    assert remap(values[[19, 26, 27, 28, 29, 30, 18, 35, 36]], SPINEPOSE_9, SIMSPINE_15)[:9].tolist() == \
        values[[19, 26, 27, 28, 29, 30, 18, 35, 36]].tolist()


def test_nose_hangs_under_the_head():
    for skel in (SPINEPOSE_37, SIMSPINE_37, SIMSPINE_15):
        assert skel.canonical[skel.parents[skel.index("Nose")]] == "Head"


def test_trees_are_valid():
    for skel in SKELETONS.values():
        assert len(skel.bones) == skel.num_joints - 1
