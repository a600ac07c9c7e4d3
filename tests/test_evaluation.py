"""Tests for the shared metrics package ``evaluation`` (numpy metrics, torch losses, summary).

References: scipy's Kabsch (Rotation.align_vectors) plus the closed-form least-squares scale,
brute-force per-frame loops, closed forms, and invariance properties. Random seeds are fixed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

import spine3d.evaluation as ev
from spine3d.evaluation import torch_metrics as tm
from spine3d.errors import InputError
from spine3d.skeletons import COCO_17, SIMSPINE_15

SEED = 20240607


def _poses(shape: tuple[int, ...], seed: int = SEED, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Random (gt, pred) pairs in metres: gt ~ N(0, 0.3), pred = gt + N(0, noise)."""
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=0.3, size=shape)
    return gt + rng.normal(scale=noise, size=shape), gt


def _similarity(x: np.ndarray, seed: int) -> np.ndarray:
    """Apply one random similarity (scale, proper rotation, translation) to (..., J, 3) points."""
    rng = np.random.default_rng(seed)
    rot = Rotation.random(random_state=seed).as_matrix()
    return rng.uniform(0.2, 5.0) * x @ rot.T + rng.normal(size=3)


def _scipy_procrustes(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Independent reference for one frame (J, 3), using only the finite joints to fit."""
    ok = np.isfinite(pred).all(-1) & np.isfinite(gt).all(-1)
    mu_p, mu_g = pred[ok].mean(0), gt[ok].mean(0)
    rot, _ = Rotation.align_vectors(gt[ok] - mu_g, pred[ok] - mu_p)  # Kabsch: gt ~ R pred, det +1
    rp = rot.apply(pred[ok] - mu_p)
    s = (rp * (gt[ok] - mu_g)).sum() / ((pred[ok] - mu_p) ** 2).sum()  # least-squares scale given R
    return s * rot.apply(pred - mu_p) + mu_g


# ----------------------------------------------------------------------------------------------
# Procrustes
# ----------------------------------------------------------------------------------------------

def test_procrustes_matches_scipy_reference_per_frame():
    pred, gt = _poses((4, 6, 15, 3), noise=0.1)
    pred[0, 1, 3] = np.nan  # a missing pred joint and a missing gt joint take no part in the fit
    gt[2, 5, [0, 7]] = np.nan
    aligned = ev.procrustes_align(pred, gt)
    assert aligned.shape == pred.shape
    for idx in np.ndindex(pred.shape[:2]):
        ref = _scipy_procrustes(pred[idx], gt[idx])
        np.testing.assert_allclose(aligned[idx], ref, atol=1e-10, equal_nan=True)
    assert np.isnan(aligned[0, 1, 3]).all() and np.isfinite(aligned[2, 5, 0]).all()


def test_rigid_procrustes_keeps_shape():
    pred, gt = _poses((20, 10, 3), noise=0.1)
    aligned = ev.procrustes_align(pred, gt, scale=False)
    dists = lambda x: np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(dists(aligned), dists(pred), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_p_mpjpe_invariant_to_similarity_of_pred(seed):
    pred, gt = _poses((5, 12, 3), seed=seed)
    moved = _similarity(pred, seed + 1)
    assert ev.p_mpjpe(moved, gt) == pytest.approx(ev.p_mpjpe(pred, gt), rel=1e-8, abs=1e-12)
    assert ev.p_mpjpe(_similarity(gt, seed + 2), gt) < 1e-10


def test_p_mpjpe_forbids_reflection():
    _, gt = _poses((8, 15, 3))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    # orthogonal_procrustes allows reflections and so maps the mirror image back exactly...
    r, _ = orthogonal_procrustes(mirrored[0] - mirrored[0].mean(0), gt[0] - gt[0].mean(0))
    np.testing.assert_allclose((mirrored[0] - mirrored[0].mean(0)) @ r, gt[0] - gt[0].mean(0), atol=1e-12)
    # ...a proper rotation cannot, so P-MPJPE stays clearly above 0.
    assert ev.p_mpjpe(mirrored, gt) > 0.05


def test_p_mpjpe_excludes_frames_with_fewer_than_3_valid_joints():
    pred, gt = _poses((3, 6, 3), noise=0.1)
    gt[1, 2:] = np.nan  # frame 1 keeps 2 valid joints: excluded
    err = ev.joint_errors(pred, gt, "procrustes")
    assert np.isnan(err[1]).all() and np.isfinite(err[[0, 2]]).all()
    assert ev.p_mpjpe(pred, gt) == pytest.approx(ev.p_mpjpe(pred[[0, 2]], gt[[0, 2]]), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_alignment_never_increases_squared_error(seed):
    """Similarity ⊃ scale-only ⊃ identity, so per-frame sums of squared errors are ordered."""
    pred, gt = _poses((4, 9, 3), seed=seed, noise=0.2)
    sse = {a: (ev.joint_errors(pred, gt, a) ** 2).sum(-1) for a in ("none", "scale", "procrustes")}
    assert (sse["procrustes"] <= sse["scale"] + 1e-12).all()
    assert (sse["scale"] <= sse["none"] + 1e-12).all()


# ----------------------------------------------------------------------------------------------
# MPJPE, N-MPJPE, MPJVE, PCK, AUC
# ----------------------------------------------------------------------------------------------

def test_mpjpe_closed_form_and_brute_force():
    _, gt = _poses((7, 5, 3))
    offset = np.array([0.03, -0.04, 0.0])  # |offset| = 0.05
    assert ev.mpjpe(gt + offset, gt) == pytest.approx(0.05, rel=1e-12)
    pred, gt = _poses((3, 4, 5, 3))
    brute = np.mean([math.dist(p, g) for p, g in zip(pred.reshape(-1, 3), gt.reshape(-1, 3))])
    assert ev.mpjpe(pred, gt) == pytest.approx(brute, rel=1e-12)


def test_nan_joints_excluded_and_counted():
    pred, gt = _poses((10, 4, 3))
    gt[3, 1] = np.nan
    pred[5, 1, 2] = np.inf
    pred[:, 3] = np.nan  # joint 3 never valid
    ok = np.isfinite(pred).all(-1) & np.isfinite(gt).all(-1)
    expected = np.linalg.norm(pred - gt, axis=-1)[ok].mean()
    assert ev.mpjpe(pred, gt) == pytest.approx(expected, rel=1e-12)
    means, counts = ev.per_joint_error(pred, gt)
    np.testing.assert_array_equal(counts, [10, 8, 10, 0])
    assert np.isnan(means[3])
    assert means[1] == pytest.approx(np.linalg.norm(pred - gt, axis=-1)[ok[:, 1], 1].mean(), rel=1e-12)
    assert math.isnan(ev.mpjpe(pred[:, 3:], gt[:, 3:]))  # nothing valid -> NaN, not 0


def test_mask_selects_joints():
    pred, gt = _poses((6, 5, 3))
    mask = np.array([True, False, True, False, False])
    assert ev.mpjpe(pred, gt, mask=mask) == pytest.approx(ev.mpjpe(pred[:, mask], gt[:, mask]), rel=1e-12)
    with pytest.raises(InputError, match=r"\(6, 5\)"):
        ev.mpjpe(pred, gt, mask=np.ones(4, dtype=bool))


def test_n_mpjpe_scale_closed_form():
    _, gt = _poses((5, 8, 3))
    assert ev.n_mpjpe(1.7 * gt, gt) < 1e-12
    pred, gt = _poses((1, 8, 3), noise=0.1)
    s = (pred * gt).sum() / (pred * pred).sum()
    assert ev.n_mpjpe(pred, gt) == pytest.approx(np.linalg.norm(s * pred - gt, axis=-1).mean(), rel=1e-12)
    np.testing.assert_allclose(ev.scale_align(pred, gt), s * pred, rtol=1e-12)


def test_mpjve_closed_form():
    _, gt = _poses((2, 6, 4, 3))
    assert ev.mpjve(gt + 0.1, gt) < 1e-12  # a constant offset has no velocity error
    drift = np.array([0.0, 0.003, 0.004])  # 5 mm more per frame
    pred = gt + np.arange(6)[:, None, None] * drift
    assert ev.mpjve(pred, gt) == pytest.approx(0.005, rel=1e-10)
    assert ev.mpjve(pred, gt, fps=50.0) == pytest.approx(0.25, rel=1e-10)  # m/s
    gt[0, 2, 1] = np.nan  # removes the 2 velocities that touch it
    assert np.isnan(ev.velocity_errors(pred, gt)[0, 1:3, 1]).all()
    assert np.isfinite(ev.velocity_errors(pred, gt)).sum() == 2 * 5 * 4 - 2


def test_pck_and_auc_closed_form():
    gt = np.zeros((1, 4, 3))
    pred = np.array([[[0.0, 0, 0], [50, 0, 0], [0, 100, 0], [0, 0, 200]]])  # errors 0, 50, 100, 200 mm
    assert ev.pck3d(pred, gt) == pytest.approx(75.0)
    assert ev.pck3d(pred, gt, threshold=60.0) == pytest.approx(50.0)
    # Thresholds 0, 5, ..., 150: error e passes the t >= e ones: 31, 21, 11 and 0 of the 31.
    assert ev.auc(pred, gt) == pytest.approx(100 * (31 + 21 + 11 + 0) / (4 * 31))
    assert ev.pck3d(pred, gt, threshold=50.0) == pytest.approx(50.0)  # within: error <= threshold
    pred[0, 3] = np.nan
    assert ev.pck3d(pred, gt) == pytest.approx(100.0)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(InputError, match=r"expected \(2, 5, 3\).*got \(2, 4, 3\)"):
        ev.mpjpe(np.zeros((2, 4, 3)), np.zeros((2, 5, 3)))
    with pytest.raises(InputError, match=r"\(\.\.\., J, 3\).*\(2, 5, 2\)"):
        ev.p_mpjpe(np.zeros((2, 5, 2)), np.zeros((2, 5, 2)))
    with pytest.raises(InputError, match="T"):
        ev.mpjve(np.zeros((5, 3)), np.zeros((5, 3)))


def test_root_relative():
    pred, _ = _poses((3, 5, 3))
    rel = ev.root_relative(pred, 2)
    np.testing.assert_array_equal(rel[:, 2], 0.0)
    np.testing.assert_allclose(rel[:, 0], pred[:, 0] - pred[:, 2])
    with pytest.raises(InputError):
        ev.root_relative(pred, 5)


# ----------------------------------------------------------------------------------------------
# torch metrics
# ----------------------------------------------------------------------------------------------

def _torch_pair(shape, seed=SEED):
    pred, gt = _poses(shape, seed=seed, noise=0.1)
    gt[0, 1, 2] = np.nan  # one missing joint
    gt[1, 0, 2:] = np.nan  # one frame with only 2 of its 5 joints left: excluded from Procrustes
    return pred, gt


@pytest.mark.parametrize("dtype, rel", [(torch.float64, 1e-9), (torch.float32, 1e-5)])
def test_torch_matches_numpy(dtype, rel):
    pred, gt = _torch_pair((3, 8, 5, 3))
    tp, tg = torch.from_numpy(pred).to(dtype), torch.from_numpy(gt).to(dtype)
    for name in ("mpjpe", "p_mpjpe", "n_mpjpe"):
        want = getattr(ev, name)(pred, gt)
        assert float(getattr(tm, name)(tp, tg)) == pytest.approx(want, rel=rel), name
    assert float(tm.mpjve(tp, tg, fps=50.0)) == pytest.approx(ev.mpjve(pred, gt, fps=50.0), rel=rel)
    mask = torch.tensor([True, True, False, True, False])
    assert float(tm.p_mpjpe(tp, tg, mask=mask)) == pytest.approx(ev.p_mpjpe(pred, gt, mask.numpy()), rel=rel)


def test_torch_reflection_and_invariance():
    _, gt = _poses((4, 10, 3))
    tg = torch.from_numpy(gt)
    assert float(tm.p_mpjpe(torch.from_numpy(_similarity(gt, 3)), tg)) < 1e-9
    assert float(tm.p_mpjpe(tg * torch.tensor([-1.0, 1.0, 1.0], dtype=tg.dtype), tg)) > 0.05


@pytest.mark.parametrize("name", ["mpjpe", "n_mpjpe", "p_mpjpe", "mpjve"])
def test_torch_gradcheck(name):
    pred, gt = _torch_pair((2, 3, 5, 3))
    tp = torch.from_numpy(pred).requires_grad_()
    fn = getattr(tm, name)
    assert torch.autograd.gradcheck(lambda p: fn(p, torch.from_numpy(gt)), (tp,), eps=1e-6, atol=1e-6, fast_mode=True)


def test_torch_loss_gradient_finite_with_missing_and_exact_joints():
    pred, gt = _torch_pair((2, 4, 5, 3))
    pred[0, 0, 0] = np.nan  # a missing prediction
    pred[0, 2, 4] = gt[0, 2, 4]  # an exactly-right joint: |0| has a kink, its gradient must not be NaN
    for name in ("mpjpe", "n_mpjpe", "p_mpjpe", "mpjve"):
        tp = torch.from_numpy(pred).requires_grad_()
        loss = getattr(tm, name)(tp, torch.from_numpy(gt))
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(tp.grad).all(), name
    empty = torch.full((2, 5, 3), float("nan"))
    assert float(tm.mpjpe(torch.zeros(2, 5, 3), empty)) == 0.0


def test_torch_shape_mismatch():
    with pytest.raises(InputError, match=r"\(2, 5, 3\).*\(2, 4, 3\)"):
        tm.mpjpe(torch.zeros(2, 4, 3), torch.zeros(2, 5, 3))


def test_import_evaluation_does_not_import_torch(tmp_path):
    code = "import sys, spine3d.evaluation; sys.exit('torch' in sys.modules)"
    # cwd away from the checkout: its spine3d/ folder would shadow the installed package
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path).returncode == 0


# ----------------------------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------------------------

def test_evaluate_groups_actions_and_missing():
    """Hand-built: 4 frames of SIMSPINE-15, errors of 10 mm on spine joints and 20 mm on the other 6."""
    n, j = 4, SIMSPINE_15.num_joints
    gt = np.zeros((n, j, 3))
    gt[..., 0] = np.arange(j) * 0.1  # distinct points (metres)
    gt[..., 1] = np.arange(n)[:, None] * 0.01
    spine = SIMSPINE_15.group("spine")
    pred = gt.copy()
    pred[..., 2] += np.where(spine, 0.010, 0.020)
    pred[3, 2:, 2] += 0.030  # frame 3 ("b") is worse: +30 mm on joints 2.. (still constant over time)
    gt[1, 10] = np.nan  # Nose missing in one frame
    res = ev.evaluate(pred, gt, SIMSPINE_15, actions=["a", "a", "a", "b"], groups=("full", "spine", "body"))
    assert res.overall["mpjpe"]["spine"] == pytest.approx((3 * 9 * 10 + 2 * 10 + 7 * 40) / 36)
    assert res.per_action["a"]["mpjpe"]["spine"] == pytest.approx(10.0)
    assert res.per_action["a"]["mpjpe"]["full"] == pytest.approx((3 * 9 * 10 + 17 * 20) / 44)  # 13.86
    assert res.per_action["b"]["pck"]["full"] == pytest.approx(100.0)
    assert res.per_action["a"]["mpjve"]["full"] == pytest.approx(0.0, abs=1e-9)  # constant offsets
    assert res.per_action["b"]["mpjve"]["full"] is None  # one frame: no velocity inside "b"
    assert res.missing == {"full": 1, "spine": 0, "body": 0}
    assert res.counts["mpjpe"]["full"] == n * j - 1
    assert res.overall["mpjpe"]["body"] is None and res.counts["mpjpe"]["body"] == 0
    assert res.per_joint["Nose"]["mpjpe"] == pytest.approx((20 + 20 + 50) / 3)
    assert res.per_joint["Hip"]["mpjpe"] == pytest.approx(10.0)
    json.dumps(res.to_dict())  # JSON-ready
    table = ev.format_table(res, metrics=("mpjpe", "pck"), groups=("full", "body"))
    assert table.splitlines()[0] == "| action | mpjpe full | mpjpe body | pck full | pck body |"
    assert "| a | 13.9 | - | 100.0 | - |" in table


def test_evaluate_root_and_empty_groups_on_coco():
    pred, gt = _poses((6, 17, 3))
    res = ev.evaluate(pred, gt, "coco17", root=0, fps=50.0)
    assert res.overall["mpjpe"]["spine"] is None and res.counts["mpjpe"]["spine"] == 0
    rel = ev.mpjpe(ev.root_relative(pred, 0), ev.root_relative(gt, 0)) * 1000
    assert res.overall["mpjpe"]["full"] == pytest.approx(rel, rel=1e-12)
    assert res.overall["p_mpjpe"]["full"] == pytest.approx(ev.p_mpjpe(pred, gt) * 1000, rel=1e-10)
    assert res.overall["mpjve"]["full"] == pytest.approx(
        ev.mpjve(ev.root_relative(pred, 0), ev.root_relative(gt, 0), fps=50.0) * 1000, rel=1e-12)
    assert res.per_action == {}
    rel_mm = ev.root_relative(pred, 0) * 1000, ev.root_relative(gt, 0) * 1000
    assert 0 < res.overall["pck"]["full"] < 100
    assert res.overall["pck"]["full"] == pytest.approx(ev.pck3d(*rel_mm), rel=1e-12)
    assert res.overall["auc"]["full"] == pytest.approx(ev.auc(*rel_mm), rel=1e-12)
    assert ev.evaluate(pred, gt, COCO_17, root="left_hip").overall["mpjpe"]["full"] == pytest.approx(
        1000 * ev.mpjpe(ev.root_relative(pred, 11), ev.root_relative(gt, 11)), rel=1e-12)


def test_evaluate_velocity_respects_sequences():
    pred, gt = _poses((10, 15, 3))
    seq = np.repeat([0, 1], 5)
    res = ev.evaluate(pred, gt, SIMSPINE_15, sequences=seq, units="mm")
    want = np.mean([ev.mpjve(pred[:5], gt[:5]), ev.mpjve(pred[5:], gt[5:])])  # equal pair counts
    assert res.overall["mpjve"]["full"] == pytest.approx(want, rel=1e-12)
    assert res.counts["mpjve"]["full"] == 8 * 15


def test_evaluate_validates_input():
    pred, gt = _poses((4, 15, 3))
    with pytest.raises(InputError, match=r"\(N, 17, 3\).*\(4, 15, 3\)"):
        ev.evaluate(pred, gt, "coco17")
    with pytest.raises(InputError, match=r"expected shape \(4,\), got \(3,\)"):
        ev.evaluate(pred, gt, "simspine15", actions=["a", "b", "c"])
    with pytest.raises(InputError, match="unknown joint group"):
        ev.evaluate(pred, gt, "simspine15", groups=("legs",))
    with pytest.raises(InputError, match="no root joint"):
        ev.evaluate(pred, gt, "simspine15", root="Pelvis")
