"""RANSAC over camera pairs and LM refinement: planted outliers, consensus rules, ill-conditioned
pairs, monotone refinement against an independent optimiser (scipy), many-camera sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

from spine3d.calibration import h36m_rig
from spine3d.triangulation import STATUS_NAMES, triangulate
from spine3d.calibration.dlt import view_normal_matrices
from spine3d.triangulation.ransac import consensus, refit
from spine3d.triangulation.refine import evaluate, refine
from spine3d.calibration.views import prepare_views, rig_constants

from rigs import ring_rig

RNG_SEED = 11


def _scene(rig, n, noise, outlier_rate, seed=RNG_SEED):
    rng = np.random.default_rng(seed)
    x = rng.normal([0.0, 0.0, 1.0], [0.3, 0.3, 0.4], (n, 3))
    uv = rig.project(x) + rng.normal(0, noise, (len(rig), n, 2))
    outlier = rng.random((len(rig), n)) < outlier_rate
    shift = rng.uniform(60, 400, outlier.sum())[:, None] * _unit(rng.normal(size=(outlier.sum(), 2)))
    uv[outlier] += shift
    conf = rng.uniform(0.5, 1.0, (len(rig), n))
    return x, uv, conf, outlier


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_planted_outliers_are_rejected():
    rig = h36m_rig("S1")
    rng = np.random.default_rng(RNG_SEED)
    x, uv, conf, _ = _scene(rig, 2000, 1.0, 0.0)
    outlier = np.zeros((4, 2000), bool)
    outlier[rng.integers(0, 4, 2000), np.arange(2000)] = True  # exactly one gross outlier per point
    uv[outlier] += 150.0 * _unit(rng.normal(size=(2000, 2)))
    res = triangulate(rig, uv, conf, "ransac")
    np.testing.assert_array_equal(res.inliers, ~outlier)
    oracle = triangulate(rig, uv, np.where(outlier, 0.0, conf), "ransac")
    np.testing.assert_allclose(res.points, oracle.points, atol=1e-9)
    plain = triangulate(rig, uv, conf, "weighted")
    err = lambda r: np.linalg.norm(r.points - x, axis=-1).mean()  # noqa: E731
    assert err(res) < 0.02 and err(plain) > 5 * err(res)


def test_largest_agreeing_set_beats_a_tiny_two_view_error():
    """Two views agree exactly on a wrong point (e.g. a left/right swap); three agree, noisily, on the truth."""
    rig = ring_rig([0, 72, 144, 216, 288])
    rng = np.random.default_rng(RNG_SEED)
    x = rng.normal([0.0, 0.0, 1.0], 0.2, (500, 3))
    wrong = x + [0.0, 0.0, 0.3]  # 30 cm higher: ~70 px away in every view
    uv = rig.project(x) + rng.normal(0, 2.0, (5, 500, 2))
    uv[3:] = rig.project(wrong)[3:]  # cameras 3 and 4 see the wrong point, noise-free
    fixed = dict(threshold=10.0, threshold_from_data=False)
    res = triangulate(rig, uv, method="ransac", **fixed)
    assert res.inliers[:3].all() and not res.inliers[3:].any()
    oracle = triangulate(rig, uv, np.repeat([[1.0], [1.0], [1.0], [0.0], [0.0]], 500, axis=1), "ransac", **fixed)
    np.testing.assert_allclose(res.points, oracle.points, atol=1e-9)


def test_ill_conditioned_pair_never_wins():
    """Cameras 0 and 1 face each other: their rays to a point on the line between them are
    anti-parallel, so they 'agree' on any depth; with the third view an outlier there is no
    well-conditioned consensus and the point must be NaN, not a guess along the line."""
    rig = ring_rig([0, 180, 90])
    const = rig_constants(rig)
    n = 200
    rng = np.random.default_rng(RNG_SEED)
    x = np.stack([rng.uniform(-1, 1, n), np.zeros(n), np.full(n, 1.5)], axis=1)  # on the line 0 - 1
    uv = rig.project(x) + rng.normal(0, 0.5, (3, n, 2))
    uv[2] += 200.0  # the only other view is an outlier
    views = prepare_views(const, uv, np.ones((3, n)), 0.3, whiten=True)
    normals = view_normal_matrices(const, views.x, views.y, views.confidence)
    points, inliers, _ = consensus(const, views, normals, 15.0, 3.0, 8)
    assert np.isnan(points).all() and not inliers.any()
    points, _, _ = consensus(const, views, normals, 15.0, 0.0, 8)  # without the check: guesses
    guessed = np.isfinite(points).all(axis=0)
    assert guessed.mean() > 0.5 and np.median(np.abs(points[0, guessed] - x[guessed, 0])) > 0.1
    res = triangulate(rig, uv, method="ransac")
    assert (res.status == STATUS_NAMES.index("no_consensus")).all() and np.isnan(res.points).all()


def test_low_confidence_views_never_vote():
    rig = h36m_rig("S1")
    x, uv, conf, _ = _scene(rig, 300, 0.5, 0.0)
    conf[0] = 0.2  # perfect observations, but below the confidence threshold
    res = triangulate(rig, uv, conf, "ransac", confidence_threshold=0.3)
    assert not res.inliers[0].any() and res.inliers[1:].all()


def test_no_consensus_status():
    rig = h36m_rig("S1")
    rng = np.random.default_rng(RNG_SEED)
    uv = rng.uniform(0, 1000, (4, 200, 2))  # nothing agrees
    res = triangulate(rig, uv, method="ransac", threshold=2.0, threshold_from_data=False)
    chance = np.isin(res.status, [STATUS_NAMES.index(k) for k in ("unverified", "ambiguous")])  # 2 views by chance
    assert (res.status[~chance] == STATUS_NAMES.index("no_consensus")).all() and chance.mean() < 0.2
    assert np.isnan(res.points[res.status == STATUS_NAMES.index("no_consensus")]).all()
    assert not (res.status == 0).any()  # never 3 views by chance at 2 px


def _stages(rig, uv, conf):
    const = rig_constants(rig)
    views = prepare_views(const, uv, conf, 0.3, whiten=True)
    normals = view_normal_matrices(const, views.x, views.y, views.confidence)
    points, inliers, _ = consensus(const, views, normals, 15.0, 3.0, 8)
    points, inliers = refit(const, views, normals, points, inliers, 15.0, 1)
    return const, views, points, inliers


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
@pytest.mark.parametrize("rig", [h36m_rig("S1"), ring_rig([0, 100, 200, 290])], ids=["h36m", "ring"])
def test_refinement_never_increases_the_error(rig, compiled):
    _, uv, conf, _ = _scene(rig, 3000, 3.0, 0.2)
    const, views, start, inliers = _stages(rig, uv, conf)
    maps = views.whiten * np.where(inliers, views.confidence, 0.0)
    before = evaluate(const, views, maps, inliers, start)["cost"]
    for iterations in (1, 3, 10):
        refined = refine(const, views, start, inliers, iterations, compiled)
        after = evaluate(const, views, maps, inliers, refined)["cost"]
        finite = np.isfinite(before)
        assert (after[finite] <= before[finite]).all()
        assert after[finite].sum() < before[finite].sum()


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
def test_refinement_reaches_the_scipy_optimum(compiled):
    rig = h36m_rig("S1")
    _, uv, conf, _ = _scene(rig, 40, 3.0, 0.0)
    const, views, start, inliers = _stages(rig, uv, conf)
    ours = refine(const, views, start, inliers, 10, compiled)
    maps = views.whiten * np.where(inliers, views.confidence, 0.0)
    for i in range(40):  # reference optimiser, one point at a time (test only)
        cams = [c for c in range(4) if inliers[c, i]]

        def residuals(p):
            cam = const.R[cams] @ p + const.t[cams]
            du, dv = cam[:, 0] / cam[:, 2] - views.x[cams, i], cam[:, 1] / cam[:, 2] - views.y[cams, i]
            s = maps[:, cams, i]
            return np.concatenate([s[0] * du + s[1] * dv, s[2] * du + s[3] * dv])

        ref = least_squares(residuals, start[:, i], xtol=1e-14, ftol=1e-14, gtol=1e-14).x
        np.testing.assert_allclose(ours[:, i], ref, atol=1e-7)


@pytest.mark.parametrize("rig", [h36m_rig("S9"), ring_rig([0, 100, 200, 290, 45, 160])], ids=["h36m", "ring6"])
def test_compiled_refinement_gives_the_numpy_points(rig):
    """The compiled LM loop takes the same steps as the numpy reference: the same points to rounding (the
    accept / reject decisions agree), NaN where the start is NaN, a start behind a camera left alone, the
    same statuses through triangulate."""
    _, uv, conf, _ = _scene(rig, 5000, 3.0, 0.2)
    const, views, start, inliers = _stages(rig, uv, conf)
    start[:, :50] = np.nan  # no hypothesis
    start[:, 50:100] = const.center[:, None] - 50.0  # far away, behind cameras
    for iterations in (0, 1, 3, 10):
        numpy_path = refine(const, views, start, inliers, iterations, compiled=False)
        compiled = refine(const, views, start, inliers, iterations, compiled=True)
        np.testing.assert_array_equal(np.isnan(compiled), np.isnan(numpy_path))
        np.testing.assert_allclose(compiled, numpy_path, rtol=0, atol=1e-8)
        assert (compiled[:, :50] != compiled[:, :50]).all()
    a = triangulate(rig, uv, conf, "ransac", refine=True, compiled=False, temporal=False)
    b = triangulate(rig, uv, conf, "ransac", refine=True, compiled=True, temporal=False)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.inliers, b.inliers)
    np.testing.assert_allclose(a.points, b.points, rtol=0, atol=1e-8)


def test_refinement_lowers_the_error_of_noisy_points():
    rig = h36m_rig("S1")
    x, uv, conf, _ = _scene(rig, 3000, 2.0, 0.0)
    plain = triangulate(rig, uv, conf, "ransac", refine=False)
    refined = triangulate(rig, uv, conf, "ransac", refine=True)
    assert np.nanmean(refined.reprojection_error) < np.nanmean(plain.reprojection_error)


def test_many_cameras_sample_pairs_per_point():
    rig = ring_rig(np.arange(12) * 30.0)
    x, uv, conf, outlier = _scene(rig, 1000, 1.0, 0.2)
    res = triangulate(rig, uv, conf, "ransac", max_pair_views=6, seed=3)  # 15 of the 66 pairs per point
    assert (res.inliers == ~outlier).mean() > 0.995 and (res.status == 0).mean() > 0.99
    assert np.nanmedian(np.linalg.norm(res.points - x, axis=-1)) < 0.005
    again = triangulate(rig, uv, conf, "ransac", max_pair_views=6, seed=3, num_threads=1, chunk_size=100)
    np.testing.assert_array_equal(res.points, again.points)  # deterministic per seed, whatever the chunking
    full = triangulate(rig, uv, conf, "ransac", max_pair_views=12)  # all pairs
    assert (full.inliers == ~outlier).mean() > 0.999


def test_two_disagreeing_pairs_are_ambiguous():
    """Cameras 0-1 see one point, cameras 2-3 another one a metre higher: nothing tells which pair
    is right, so the point is left out; without the rule one of the two would be returned."""
    rig = ring_rig([0, 90, 180, 270])
    rng = np.random.default_rng(RNG_SEED)
    x = rng.normal([0.0, 0.0, 0.8], 0.1, (100, 3))
    uv = rig.project(x) + rng.normal(0, 0.5, (4, 100, 2))
    uv[2:] = rig.project(x + [0.0, 0.0, 1.0])[2:]
    res = triangulate(rig, uv, method="ransac")
    assert (res.status == STATUS_NAMES.index("ambiguous")).all() and np.isnan(res.points).all()
    forced = triangulate(rig, uv, method="ransac", rival_distance=0.0)
    assert (forced.status == STATUS_NAMES.index("unverified")).all() and (forced.num_views == 2).all()
    near = triangulate(rig, np.concatenate([uv[:2], rig.project(x + [0.0, 0.0, 0.05])[2:]]), method="ransac",
                       threshold=15.0, threshold_from_data=False)
    assert (near.status != STATUS_NAMES.index("ambiguous")).all()  # a rival 5 cm away is no rival


def test_uniform_hash_is_uniform_and_deterministic():
    from spine3d.triangulation.ransac import uniform_hash

    u = uniform_hash(7, np.arange(100_000), 4)
    assert u.shape == (4, 100_000) and (u >= 0).all() and (u < 1).all()
    assert abs(u.mean() - 0.5) < 0.005 and abs(np.corrcoef(u[0], u[1])[0, 1]) < 0.02
    np.testing.assert_array_equal(uniform_hash(7, np.arange(50_000, 60_000), 4), u[:, 50_000:60_000])
    assert not np.array_equal(uniform_hash(8, np.arange(10), 4), u[:, :10])


@pytest.mark.parametrize("rig", [h36m_rig("S9"), ring_rig([0, 100, 200, 290, 45, 160])], ids=["h36m", "ring6"])
def test_compiled_leave_one_out_check_flags_the_numpy_points(rig):
    """The compiled leave-one-out check (ransac_kernel) flags exactly the points the numpy reference flags, on
    consensus sets with outliers among three or more views and on random inlier sets (many flagged)."""
    from spine3d.triangulation.ransac import unchecked_views

    _, uv, conf, _ = _scene(rig, 6000, 3.0, 0.3)
    const, views, _, inliers = _stages(rig, uv, conf)
    normals = view_normal_matrices(const, views.x, views.y, views.confidence)
    rng = np.random.default_rng(3)
    random_sets = views.usable & (rng.random(inliers.shape) < 0.8)  # outliers kept as "inliers": flagged
    for sets in (inliers, random_sets):
        for threshold in (2.0, 8.0, 40.0):
            numpy_flags = unchecked_views(const, views, normals, sets, threshold)
            compiled = unchecked_views(const, views, normals, sets, threshold, compiled=True)
            np.testing.assert_array_equal(compiled, numpy_flags)
    assert 0 < unchecked_views(const, views, normals, random_sets, 8.0).mean() < 1


def test_leave_one_out_check_flags_a_prediction_behind_the_left_out_camera():
    """Camera 0 sees the mirror image of a point behind it (what x / z gives for z < 0): the other views'
    point reprojects onto it exactly, and only the cheirality of the prediction flags it, on both paths."""
    from spine3d.triangulation.ransac import unchecked_views

    rig = ring_rig([0, 150, 180, 210])
    rng = np.random.default_rng(5)
    c0 = rig[0].center
    behind = c0 + rng.uniform(0.3, 0.6, (200, 1)) * (c0 - [0.0, 0.0, 1.0]) + rng.normal(0, 0.05, (200, 3))
    uv = rig.project(behind)
    assert (rig[0].world_to_camera(behind)[:, 2] < 0).all() and np.isfinite(uv).all()
    const, views, _, _ = _stages(rig, uv, np.ones((4, 200)))
    normals = view_normal_matrices(const, views.x, views.y, views.confidence)
    every = np.ones((4, 200), bool)
    for compiled in (False, True):
        assert unchecked_views(const, views, normals, every, 5.0, compiled=compiled).all()


@pytest.mark.parametrize("rig", [h36m_rig("S9"), ring_rig([0, 100, 200, 290, 45, 160]),
                                 ring_rig([0, 5, 180, 185, 90, 270, 60, 240])], ids=["h36m", "ring6", "facing8"])
def test_compiled_consensus_gives_the_numpy_consensus(rig):
    """Every camera pair hypothesised in the compiled loop (ransac_kernel) gives the numpy reference's winners:
    the same inliers and ambiguity, the same points to rounding, with outliers, missing views, nearly parallel
    pairs (facing8: cameras 5 deg apart and facing each other) and thresholds from tight to loose."""
    _, uv, conf, _ = _scene(rig, 6000, 3.0, 0.3)
    rng = np.random.default_rng(9)
    uv[rng.random(uv.shape[:2]) < 0.15] = np.nan  # missing views
    conf[rng.random(conf.shape) < 0.05] = 0.1  # below the confidence threshold
    const = rig_constants(rig)
    views = prepare_views(const, uv, conf, 0.3, whiten=True)
    normals = view_normal_matrices(const, views.x, views.y, views.confidence)
    ambiguous_seen = 0
    for threshold, angle, rival in ((2.0, 10.0, 10.0), (8.0, 10.0, 10.0), (40.0, 3.0, 2.0), (8.0, 0.0, 0.0)):
        ref = consensus(const, views, normals, threshold, angle, 8, rival_distance=rival)
        got = consensus(const, views, normals, threshold, angle, 8, rival_distance=rival, compiled=True)
        np.testing.assert_array_equal(got[1], ref[1])
        np.testing.assert_array_equal(got[2], ref[2])
        np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(ref[0]))
        np.testing.assert_allclose(got[0], ref[0], rtol=0, atol=1e-9)
        ambiguous_seen += ref[2].sum()
    assert ambiguous_seen > 0


@pytest.mark.parametrize("rig", [h36m_rig("S9"), ring_rig([0, 100, 200, 290, 45, 160])], ids=["h36m", "ring6"])
def test_compiled_refit_gives_the_numpy_refit(rig):
    """The compiled refit (ransac_kernel.refit_points) re-selects the same inliers as the numpy reference and
    gives the same points to rounding: from consensus winners, from sets with outlier views added (the last
    selection drops them) or an inlier dropped (the rounds grow it back), and from no hypothesis (NaN), with
    0 to 3 rounds. Left out: points whose fit rests on fewer than two views at some step (their "point" is
    rounding noise of a rank-deficient solve, and a status keeps no point with fewer than two views)."""
    _, uv, conf, _ = _scene(rig, 6000, 3.0, 0.3)
    const = rig_constants(rig)
    views = prepare_views(const, uv, conf, 0.3, whiten=True)
    normals = view_normal_matrices(const, views.x, views.y, views.confidence)
    points, inliers, _ = consensus(const, views, normals, 8.0, 10.0, 8)
    rng = np.random.default_rng(4)
    added = inliers | (views.usable & (rng.random(inliers.shape) < 0.3))
    drop = rng.integers(0, len(rig), inliers.shape[1])
    dropped = inliers & ~((np.arange(len(rig))[:, None] == drop) & (inliers.sum(axis=0) >= 3))
    changed_any = 0
    for start, sets in ((points, inliers), (points, added), (points, dropped), (np.full_like(points, np.nan), inliers)):
        for rounds in (0, 1, 3):
            ref = refit(const, views, normals, start, sets, 8.0, rounds)
            got = refit(const, views, normals, start, sets, 8.0, rounds, compiled=True)
            posed = (ref[1].sum(axis=0) >= 2) & (sets.sum(axis=0) >= 2)
            assert posed.sum() > 2500
            np.testing.assert_array_equal(got[1][:, posed], ref[1][:, posed])
            np.testing.assert_array_equal(np.isnan(got[0][:, posed]), np.isnan(ref[0][:, posed]))
            np.testing.assert_allclose(got[0][:, posed], ref[0][:, posed], rtol=0, atol=1e-9)
            changed_any += int((ref[1] != sets).any(axis=0).sum())
    assert changed_any > 1000
    far, found = points + 10.0, np.isfinite(points[0])  # no view near: the refit degenerates, the start stays
    for compiled in (False, True):
        fit, chosen = refit(const, views, normals, far, np.zeros_like(inliers), 8.0, 1, compiled=compiled)
        np.testing.assert_array_equal(fit[:, found], far[:, found])
        assert not chosen.any()


def test_points_solved_in_parts_on_threads_equal_one_solve():
    """solve_parts (the inlier-threshold sample, the temporal pass's re-solved points) splits points across
    worker threads: the outputs equal one solve_chunk call, with RANSAC's view sampling (12 cameras) and with
    given inlier sets."""
    from spine3d.triangulation.config import TriangulationOptions
    from spine3d.triangulation.core import solve_chunk, solve_parts

    rig = ring_rig(np.arange(12) * 30.0)
    _, uv, conf, _ = _scene(rig, 5000, 2.0, 0.2)
    const = rig_constants(rig)
    opts = TriangulationOptions().updated(chunk_size=700, num_threads=3, refine=True)
    given = np.random.default_rng(2).random((12, 5000)) < 0.6
    for inliers in (None, given):
        one = solve_chunk(const, uv, conf, "ransac", opts, 0, 6.0, inliers)
        parts = solve_parts(const, uv, conf, "ransac", opts, 6.0, inliers)
        for key, value in one.items():
            np.testing.assert_array_equal(parts[key], value)
