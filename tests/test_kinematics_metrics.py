"""Joint-angle metrics (spine3d.evaluation.kinematics) against brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.errors import InputError
from spine3d.evaluation.kinematics import GROUPS, angle_differences, coordinate_errors, coordinate_group, group_errors
from spine3d.formats.simspine_schema import KINEMATIC_AXES


def test_groups_cover_every_simspine_angle_once():
    groups = {name: coordinate_group(name) for name in KINEMATIC_AXES}
    assert sum(g == "lumbar" for g in groups.values()) == 18
    assert [n for n, g in groups.items() if g == "thoracic_neck"] == ["Abs_r3", "Abs_r2", "Abs_r1", "neck_flexion",
                                                                      "neck_bending", "neck_rotation"]
    assert [n for n, g in groups.items() if g is None] == ["pelvis_tx", "pelvis_ty", "pelvis_tz", "Abs_t1", "Abs_t2"]
    assert set(groups.values()) == set(GROUPS) | {None}


def test_angle_differences_wrap_and_translations_in_mm():
    names = ("pelvis_rotation", "pelvis_tx")
    d = angle_differences(np.array([[179.0, 1.002]]), np.array([[-179.0, 1.0]]), names)
    np.testing.assert_allclose(d, [[-2.0, 2.0]], atol=1e-9)


def test_errors_match_brute_force_and_skip_nan():
    rng = np.random.default_rng(3)
    t = 50
    gt = rng.uniform(-60, 60, (t, len(KINEMATIC_AXES)))
    pred = gt + rng.normal(0, 2.0, gt.shape)
    pred[:10, KINEMATIC_AXES.index("knee_angle_r")] = np.nan  # not estimated in 10 frames
    pred[:, KINEMATIC_AXES.index("mtp_angle_l")] = np.nan  # never estimated
    per = coordinate_errors(pred, gt, KINEMATIC_AXES)
    knee = [p - g for p, g in zip(pred[:, 9], gt[:, 9]) if p == p]
    assert per["knee_angle_r"]["frames"] == 40
    assert per["knee_angle_r"]["rms"] == pytest.approx(np.sqrt(sum(x * x for x in knee) / len(knee)))
    assert per["knee_angle_r"]["mae"] == pytest.approx(sum(abs(x) for x in knee) / len(knee))
    assert per["mtp_angle_l"]["rms"] is None
    groups = group_errors(pred, gt, KINEMATIC_AXES)
    lumbar = [pred[i, k] - gt[i, k] for i in range(t) for k, n in enumerate(KINEMATIC_AXES)
              if coordinate_group(n) == "lumbar"]
    assert groups["lumbar"]["rms"] == pytest.approx(np.sqrt(np.mean(np.square(lumbar))))
    assert groups["lumbar"]["values"] == 18 * t


def test_shape_errors():
    with pytest.raises(InputError, match=r"\(T, 62\)"):
        coordinate_errors(np.zeros((3, 61)), np.zeros((3, 61)), KINEMATIC_AXES)
