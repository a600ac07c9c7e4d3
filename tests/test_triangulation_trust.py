"""Trust levels of triangulated points (issue 13): cheirality, ray conditioning on degenerate rigs
(compiled kernel and numpy path alike), points whose depth rests on one view, the temporal check of
2-view points, stable view sets, the inlier threshold measured from the data. References: closed
forms (ray angles), eigenvalues (numpy eigvalsh), brute-force loops over points and frames, known
noise. Seeds are fixed in each test."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.calibration import Camera, CameraRig, h36m_rig
from spine3d.calibration.views import prepare_views, rig_constants
from spine3d.triangulation import STATUS_NAMES, triangulate
from spine3d.triangulation.checks import effective_angle, ill_conditioned, ray_block
from spine3d.triangulation.noise import noise_scale
from spine3d.triangulation.status import (OK, TEMPORAL_OUTLIER, UNVERIFIED, VERIFIED_IN_TIME, kept, trusted)
from spine3d.triangulation.temporal import stable_view_sets, verify_in_time

from rigs import ring_rig

RNG_SEED = 31
TARGET = np.array([0.0, 0.0, 1.0])


def _status(name: str) -> int:
    return STATUS_NAMES.index(name)


def _rig(*centers) -> CameraRig:
    return CameraRig(tuple(Camera.looking_at(f"c{i}", TARGET + c, TARGET) for i, c in enumerate(centers)))


DEGENERATE = {  # the benchmark's degenerate rigs (experiments/bench_triangulation.py), around TARGET
    "facing": lambda: _rig([4.0, 0, 0], [-4.0, 0, 0], [4.0, 0.2, 0]),
    "collinear": lambda: _rig([4.0, 0, 0], [5.0, 0, 0], [6.0, 0, 0]),
    "nearly coincident": lambda: _rig([4.0, 0, 0], [4.0, 0.05, 0], [4.0, 0, 0.05], [4.0, 0.05, 0.05]),
}


def _body(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) m points of a body around TARGET."""
    return TARGET + rng.normal(0.0, [0.25, 0.25, 0.45], (n, 3))


def test_looking_at_puts_the_target_at_the_principal_point():
    cam = Camera.looking_at("a", [3.0, -2.0, 2.0], [0.5, 0.2, 1.0], focal=800.0, size=(640, 480))
    np.testing.assert_allclose(cam.project(np.array([0.5, 0.2, 1.0])), [320.0, 240.0], atol=1e-9)
    assert cam.project(np.array([0.5, 0.2, 1.5]))[1] < 240.0  # world up is image up
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(cam.center, [3.0, -2.0, 2.0], atol=1e-12)


# -- cheirality ------------------------------------------------------------------------------------

def _pinhole(cam: Camera, x: np.ndarray) -> np.ndarray:
    """(n, 3) m -> (n, 2) px through K [R | t] whatever the sign of z (a point behind the camera too)."""
    h = (cam.K @ (cam.R @ x.T + cam.t[:, None])).T
    return h[:, :2] / h[:, 2:]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("method", ["dlt", "weighted", "ransac"])
def test_points_behind_a_camera_they_use_are_rejected(method, compiled):
    """Cameras 0 and 1 see the points; camera 2 looks away from them, and its 'observations' are
    the exact projections through its centre of points behind it: the DLT of all three fits them
    exactly, behind camera 2. RANSAC never counts a view the point is behind."""
    rig = CameraRig((Camera.looking_at("a", [4.0, 0, 1], TARGET), Camera.looking_at("b", [0, 4.0, 1], TARGET),
                     Camera.looking_at("c", [-1.0, -1.0, 1], [-4.0, -4.0, 1])))
    x = _body(300, np.random.default_rng(RNG_SEED))
    uv = np.stack([rig[0].project(x), rig[1].project(x), _pinhole(rig[2], x)])
    res = triangulate(rig, uv, method=method, compiled=compiled)
    if method == "ransac":
        assert (res.status == _status("unverified")).all() and (res.num_views == 2).all()
        assert not res.inliers[2].any()
        np.testing.assert_allclose(res.points, x, atol=1e-6)  # the two cameras it uses see it in front
    else:
        assert (res.status == _status("behind_camera")).all() and np.isnan(res.points).all()
        assert not res.inliers.any() and (res.num_views == 0).all()


# -- conditioning ----------------------------------------------------------------------------------

def test_effective_angle_of_two_views_is_the_angle_between_their_rays():
    """Two cameras looking at the point (rays through the image centres): theta_eff is the angle
    between the two rays as lines, for random placements (brute-force loop over rigs)."""
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(50):  # loop over random rigs (reference)
        point = rng.normal(0.0, 0.3, 3) + TARGET
        a, b = (point + 4.0 * d / np.linalg.norm(d) for d in rng.normal(size=(2, 3)))
        rig = CameraRig((Camera.looking_at("a", a, point), Camera.looking_at("b", b, point)))
        views = prepare_views(rig_constants(rig), rig.project(point[None]), np.ones((2, 1)), 0.3, whiten=False)
        block = ray_block(rig_constants(rig), views.x, views.y, views.usable)
        da, db = (point - a) / 4.0, (point - b) / 4.0
        expected = np.degrees(np.arccos(min(1.0, abs(da @ db))))
        np.testing.assert_allclose(effective_angle(block, np.array([2]))[0], expected, atol=1e-6)


def test_the_polynomial_test_agrees_with_the_eigenvalues():
    rng = np.random.default_rng(RNG_SEED)
    rig = ring_rig([0, 20, 150, 185, 260])
    const = rig_constants(rig)
    uv = rig.project(_body(20000, rng)) + rng.normal(0, 2.0, (5, 20000, 2))
    views = prepare_views(const, uv, np.ones((5, 20000)), 0.3, whiten=False)
    used = rng.random((5, 20000)) < 0.5
    count = used.sum(axis=0)
    block = ray_block(const, views.x, views.y, used)
    theta = effective_angle(block, count)
    for angle in (1.0, 3.0, 10.0, 30.0, 60.0):
        clear = (np.abs(theta - angle) > 1e-6) & (count >= 2)
        np.testing.assert_array_equal(ill_conditioned(block, count, angle)[clear], (theta < angle)[clear])


@pytest.mark.parametrize("name", list(DEGENERATE))
@pytest.mark.parametrize("method", ["dlt", "weighted", "ransac"])
def test_degenerate_rigs_return_no_trusted_point_far_off(name, method):
    """Facing, collinear and nearly coincident rigs, 1 px noise: before issue 13 these gave "ok"
    points up to 16 m off. Every trusted point is within 100 mm; every point of the linear methods
    whose rays are narrower than min_ray_angle (eigenvalue reference) is ill_conditioned (or, worse,
    behind a camera: noise along the rays puts some points there)."""
    rng = np.random.default_rng(RNG_SEED)
    rig = DEGENERATE[name]()
    x = _body(3000, rng).reshape(100, 30, 3)  # (T, J, 3): the temporal check runs too
    uv = rig.project(x) + rng.normal(0.0, 1.0, (len(rig), 100, 30, 2))
    res = triangulate(rig, uv, method=method)
    error = np.linalg.norm(res.points - x, axis=-1)
    assert not (res.trusted & ~(error <= 0.1)).any()
    if method != "ransac":
        compiled_off = triangulate(rig, uv, method=method, compiled=False)
        np.testing.assert_array_equal(res.status, compiled_off.status)  # kernel == numpy path
        const = rig_constants(rig)
        views = prepare_views(const, uv.reshape(len(rig), -1, 2), np.ones((len(rig), 3000)), 0.3, whiten=False)
        theta = effective_angle(ray_block(const, views.x, views.y, views.usable), np.full(3000, len(rig)))
        narrow = (theta < res.options.min_ray_angle).reshape(100, 30)
        flagged = np.isin(res.status[narrow], [_status("ill_conditioned"), _status("behind_camera")])
        assert narrow.any() and flagged.all() and not res.trusted[narrow].any()


def test_a_depth_that_rests_on_one_view_is_unverified():
    """Cameras 0 and 1 face each other, camera 2 looks from the side: on the line 0-1 only camera
    2 fixes the depth, and nothing checks it (an outlier there would go unnoticed)."""
    rig = ring_rig([0, 180, 90])
    rng = np.random.default_rng(RNG_SEED)
    on_line = np.stack([rng.uniform(-1, 1, 200), np.zeros(200), np.full(200, 1.5)], axis=1)
    res = triangulate(rig, rig.project(on_line) + rng.normal(0, 0.3, (3, 200, 2)), method="ransac")
    assert (res.status == _status("unverified")).all() and (res.num_views == 3).all()
    ring = ring_rig([0, 120, 240])  # well spread: every view checked by the other two
    inside = _body(200, rng)
    res = triangulate(ring, ring.project(inside) + rng.normal(0, 0.3, (3, 200, 2)), method="ransac")
    assert (res.status == OK).all()


# -- time ------------------------------------------------------------------------------------------

def _neighbours_loop(anchor, t, j, window):
    """Reference: the nearest anchors strictly before and after frame t of series j (or None)."""
    t_count = anchor.shape[0]
    before = [s for s in range(t - 1, max(-1, t - window - 1), -1) if anchor[s, j]]
    after = [s for s in range(t + 1, min(t_count, t + window + 1)) if anchor[s, j]]
    return (before[0] if before else None), (after[0] if after else None)


def _predict_loop(points, b, a, t, j):
    if b is not None and a is not None:
        return points[b, j] + (t - b) / (a - b) * (points[a, j] - points[b, j])
    return points[b if b is not None else a, j]


def _scale_loop(points, anchor, j, factor):
    """Reference of temporal.noise_scales for series j."""
    def second_differences(columns):
        return [np.linalg.norm(points[t, c] - 0.5 * (points[t - 1, c] + points[t + 1, c]))
                for c in columns for t in range(1, anchor.shape[0] - 1) if anchor[t - 1:t + 2, c].all()]
    own = second_differences([j])
    d = own if len(own) >= 20 else second_differences(range(anchor.shape[1]))
    return factor * np.median(d) / 1.5382


def _step_loop(points, anchor, j):
    """Reference of temporal.step_scales for series j."""
    def steps(columns):
        return [np.linalg.norm(points[t, c] - points[t - 1, c])
                for c in columns for t in range(1, anchor.shape[0]) if anchor[t - 1:t + 1, c].all()]
    own = steps([j])
    return np.percentile(own if len(own) >= 20 else steps(range(anchor.shape[1])), 99)


def _far_loop(points, anchor, t, j, window, floor, scale, step):
    """Reference of one point's spike test: (distance from its prediction, whether that is a spike's)."""
    limit = max(floor, scale)
    b, a = _neighbours_loop(anchor, t, j, window)
    if not anchor[t, j] or (b is None and a is None):
        return 0.0, False
    if b is not None and a is not None:
        far = np.linalg.norm(points[t, j] - _predict_loop(points, b, a, t, j))
        apart = min(np.linalg.norm(points[t, j] - points[b, j]), np.linalg.norm(points[t, j] - points[a, j]))
        return far, far > limit and apart > limit
    near = b if b is not None else a
    apart = np.linalg.norm(points[t, j] - points[near, j])
    second = _neighbours_loop(anchor, near, j, window)[0 if b is not None else 1]  # beyond it, same side
    if second is None:  # one neighbour: it may have moved by up to a large step per frame
        allowed = max(floor, np.sqrt(2 / 1.5) * scale) + abs(t - near) * step
        return apart, apart > allowed and apart > limit
    r = (t - near) / (near - second)
    far = np.linalg.norm(points[t, j] - points[near, j] - r * (points[near, j] - points[second, j]))
    allowed = max(floor, np.sqrt((1 + (1 + r) ** 2 + r ** 2) / 1.5) * scale)
    return far, far > allowed and apart > limit


def _verify_loop(points, status, window, floor, factor, spikes, rounds=4):
    """Reference of verify_in_time: one point at a time."""
    out = status.copy()
    anchor = status == OK
    t_count, j_count = status.shape
    scale = [_scale_loop(points, anchor, j, factor) for j in range(j_count)]
    limit = [max(floor, s) for s in scale]
    step = [_step_loop(points, anchor, j) for j in range(j_count)]
    for _ in range(rounds if spikes else 0):
        tests = [[_far_loop(points, anchor, t, j, window, floor, scale[j], step[j]) for j in range(j_count)]
                 for t in range(t_count)]
        far = np.array([[f for f, _ in row] for row in tests])
        spikes_found = [(t, j) for t in range(t_count) for j in range(j_count) if tests[t][j][1]
                        and far[t, j] >= max(far[t - 1, j] if t else 0.0, far[t + 1, j] if t + 1 < t_count else 0.0)]
        for t, j in spikes_found:
            out[t, j], anchor[t, j] = TEMPORAL_OUTLIER, False
        if not spikes_found:
            break
    for t in range(t_count):
        for j in range(j_count):
            b, a = _neighbours_loop(anchor, t, j, window)
            if status[t, j] == UNVERIFIED and (b is not None or a is not None):
                near = np.linalg.norm(points[t, j] - _predict_loop(points, b, a, t, j)) <= limit[j]
                out[t, j] = VERIFIED_IN_TIME if near else TEMPORAL_OUTLIER
    return out


def test_verify_in_time_matches_a_loop():
    rng = np.random.default_rng(RNG_SEED)
    points = np.cumsum(rng.normal(0, 0.02, (60, 7, 3)), axis=0)
    points[rng.random((60, 7)) < 0.1] += rng.normal(0, 0.3, 3)  # jumps, single and in runs
    status = rng.choice([OK, UNVERIFIED, _status("no_consensus")], size=(60, 7), p=[0.5, 0.4, 0.1]).astype(np.uint8)
    status[:, 0] = OK  # a series with its own tolerance; the others take the median of all
    status[[5, 30], 0] = UNVERIFIED
    for window, floor, factor, spikes in ((1, 0.05, 4.0, True), (3, 0.05, 4.0, True), (5, 0.2, 4.0, True),
                                          (3, 0.01, 2.0, True), (3, 0.05, 4.0, False)):
        np.testing.assert_array_equal(verify_in_time(points, status, window, floor, factor, spikes),
                                      _verify_loop(points, status, window, floor, factor, spikes))


def test_a_spike_is_rejected_and_a_step_is_not():
    """Two recordings joined (a 1 m step between frames 19 and 20) and one wrong frame (31): only
    the wrong frame is a temporal outlier."""
    rng = np.random.default_rng(RNG_SEED)
    points = rng.normal(0.0, 0.003, (60, 1, 3)) + np.linspace(0, 0.3, 60)[:, None, None] * [1.0, 0.0, 0.0]
    points[20:] += [0.0, 1.0, 0.0]
    points[31] += [0.0, 0.0, 0.4]
    out = verify_in_time(points, np.full((60, 1), OK, np.uint8), 3, 0.05, 4.0)
    assert np.flatnonzero(out[:, 0] == TEMPORAL_OUTLIER).tolist() == [31]


def test_a_spike_at_the_edge_of_a_run_is_rejected_and_fast_motion_is_not():
    """Points at the edges of gaps (no "ok" neighbour on one side): a wrong one 0.2 m off is rejected
    (frames 29 and 40, each predicted from two neighbours on its other side); of a pair of "ok"
    points that only have each other (60, 61) and disagree by 0.3 m, neither can be trusted. A
    joint moving fast (2 m/s at 50 fps, 40 mm per frame, near the 50 mm floor) is followed."""
    rng = np.random.default_rng(RNG_SEED)
    frames = np.arange(80)
    points = np.stack([0.04 * frames, np.zeros(80), np.full(80, 1.0)], axis=-1)[:, None] + rng.normal(0, 0.003, (80, 1, 3))
    status = np.full((80, 1), OK, np.uint8)
    status[np.r_[30:40, 56:60, 62:66]] = _status("no_consensus")  # gaps: 29, 40, 55, 60, 61, 66 are edges
    wrong = points.copy()
    wrong[29] += [0.0, 0.2, 0.0]
    wrong[40] += [0.0, 0.0, -0.2]
    wrong[61] += [0.0, 0.3, 0.0]
    assert not (verify_in_time(points, status, 3, 0.05, 4.0) == TEMPORAL_OUTLIER).any()
    assert np.flatnonzero(verify_in_time(wrong, status, 3, 0.05, 4.0)[:, 0] == TEMPORAL_OUTLIER).tolist() == [29, 40, 60, 61]


def _stable_loop(inliers, view_errors, usable, kept_, bound):
    """Reference of stable_view_sets: one view of one point at a time."""
    out = inliers.copy()
    cams, t_count, j_count = inliers.shape
    for t in range(t_count):
        for j in range(j_count):
            if not kept_[t, j]:
                continue
            new = inliers[:, t, j].copy()
            for c in range(cams):
                votes = [1 if inliers[c, s, j] else -1 for s in (t - 1, t, t + 1) if 0 <= s < t_count and kept_[s, j]]
                total = sum(votes)
                majority = total > 0 or (total == 0 and inliers[c, t, j])
                if majority and not inliers[c, t, j] and usable[c, t, j] and view_errors[c, t, j] < bound:
                    new[c] = True
                if not majority and inliers[c, t, j]:
                    new[c] = False
            if new.sum() >= 2:
                out[:, t, j] = new
    return out


def test_stable_view_sets_match_a_loop():
    rng = np.random.default_rng(RNG_SEED)
    inliers = rng.random((4, 40, 6)) < 0.7
    view_errors = rng.exponential(10.0, (4, 40, 6))
    view_errors[rng.random((4, 40, 6)) < 0.05] = np.nan
    usable, kept_ = rng.random((4, 40, 6)) < 0.9, rng.random((40, 6)) < 0.8
    np.testing.assert_array_equal(stable_view_sets(inliers, view_errors, usable, kept_, 15.0),
                                  _stable_loop(inliers, view_errors, usable, kept_, 15.0))


def _two_view_sequence(rng):
    """A joint moving slowly for 40 frames, seen by 4 cameras except in frames 10-29 (cameras 0 and
    1 only), and frame 11, where camera 1 sees the point 0.6 m farther along camera 0's ray: the
    2-view solution is that wrong point, with no reprojection error at all."""
    rig = ring_rig([0, 90, 180, 270])
    x = TARGET + np.linspace(0, 0.2, 40)[:, None, None] * [1.0, 0.5, 0.0] + np.zeros((40, 1, 3))
    uv = rig.project(x) + rng.normal(0, 0.3, (4, 40, 1, 2))
    uv[2:, 10:30] = np.nan
    ray = x[11, 0] - rig[0].center
    uv[1, 11, 0] = rig[1].project(x[11, 0] + 0.6 * ray / np.linalg.norm(ray))
    return rig, x, uv


def test_a_two_view_point_that_jumps_is_rejected():
    rig, x, uv = _two_view_sequence(np.random.default_rng(RNG_SEED))
    res = triangulate(rig, uv, method="ransac")
    status = res.status[:, 0]
    assert status[11] == TEMPORAL_OUTLIER and np.isnan(res.points[11]).all()
    near = [10, 12, 27, 28, 29]  # 2-view points with a 4-view neighbour within temporal_window (3)
    assert (status[near] == VERIFIED_IN_TIME).all()
    assert (status[13:27] == UNVERIFIED).all()  # nothing to check them against: kept, untrusted
    assert (status[:10] == OK).all() and (status[30:] == OK).all()
    error = np.linalg.norm(res.points - x, axis=-1)
    assert (error[res.trusted] < 0.02).all()
    alone = triangulate(rig, uv, method="ransac", temporal=False)  # without time: flagged, kept, untrusted
    assert alone.status[11, 0] == UNVERIFIED and np.linalg.norm(alone.points[11, 0] - x[11, 0]) > 0.3
    for method in ("dlt", "weighted"):  # every method gets the temporal check
        assert triangulate(rig, uv, method=method).status[11, 0] == TEMPORAL_OUTLIER


@pytest.mark.parametrize("frames", [0, 1, 2, 3])
@pytest.mark.parametrize("method", ["weighted", "ransac"])
def test_short_sequences(frames, method):
    """Sequences too short for any triplet or neighbour: nothing to check, nothing breaks."""
    rig, x, uv = _two_view_sequence(np.random.default_rng(RNG_SEED))
    res = triangulate(rig, uv[:, 10:10 + frames], method=method)  # 2-view frames: unverified, no neighbour
    assert res.points.shape == (frames, 1, 3) and (res.status == UNVERIFIED).all()


def test_a_gross_run_is_dropped_in_every_frame():
    """Camera 2 follows a wrong point (75 px off) for frames 10-29, except frames 15 and 24 where
    its detection dips to 7.5 px of the truth: without time RANSAC re-admits it in those two frames
    (the 3D jumps there), with stable view sets the set stays the same through the run."""
    rig = h36m_rig("S1")
    rng = np.random.default_rng(RNG_SEED)
    x = _body(1, rng) + np.linspace(0, 0.3, 40)[:, None, None] * [1.0, 0.0, 0.0]  # (T, 1, 3)
    uv = rig.project(x) + rng.normal(0, 1.0, (4, 40, 1, 2))
    uv[2, 10:30] += [60.0, -45.0]
    uv[2, [15, 24]] -= [54.0, -40.5]
    kw = dict(threshold=8.0, threshold_from_data=False)
    alone = triangulate(rig, uv, method="ransac", temporal=False, **kw)
    assert alone.inliers[2, [15, 24], 0].all()
    res = triangulate(rig, uv, method="ransac", **kw)
    assert not res.inliers[2, 10:30].any() and res.inliers[2, :10].all() and res.inliers[2, 30:].all()


# -- the measured threshold ------------------------------------------------------------------------

def test_noise_scale_recovers_the_noise_sigma():
    """Gaussian noise of known sigma per image axis, every view an inlier: the dof-corrected,
    chi-square-normalised median gives sigma back."""
    rig = h36m_rig("S1")
    rng = np.random.default_rng(RNG_SEED)
    x = _body(20000, rng)
    for sigma in (1.0, 4.0, 12.0):
        uv = rig.project(x) + rng.normal(0.0, sigma, (4, 20000, 2))
        res = triangulate(rig, uv, method="ransac", threshold=1e4, threshold_from_data=False, temporal=False)
        assert abs(noise_scale(res.view_errors, res.inliers, res.status == OK) / sigma - 1.0) < 0.04


def test_threshold_follows_the_noise_and_keeps_outliers_out():
    rig = h36m_rig("S1")
    rng = np.random.default_rng(RNG_SEED)
    x = _body(20000, rng)
    for sigma, coincidences in ((2.0, 0.0005), (10.0, 0.01)):
        uv = rig.project(x) + rng.normal(0.0, sigma, (4, 20000, 2))
        gross = rng.random((4, 20000)) < 0.2
        uv[gross] = rng.uniform(0, 1000, (gross.sum(), 2))
        res = triangulate(rig, uv, method="ransac", temporal=False)
        assert abs(res.threshold / (res.options.noise_factor * sigma) - 1.0) < 0.1
        # 3+ agreeing views hold a gross view far from the truth only by coincidence (two outliers
        # agreeing with an inlier), as often as the threshold's area allows: single frames cannot
        # rule it out, sequences do (the temporal check)
        ok = res.status == OK
        off = np.linalg.norm(uv - rig.project(x), axis=-1)  # (C, N) px from the true projection
        wrong = (res.inliers & (off > 1.5 * res.threshold)).any(axis=0) & ok
        assert wrong.sum() <= coincidences * ok.sum() and ok.mean() > 0.6
    fixed = triangulate(rig, uv, method="ransac", threshold=15.0, threshold_from_data=False)
    assert fixed.threshold == 15.0
    assert np.isnan(triangulate(rig, uv[:, :10], method="weighted").threshold)


# -- statuses --------------------------------------------------------------------------------------

def test_status_codes_are_only_appended_and_their_sets_consistent():
    assert STATUS_NAMES[:5] == ("ok", "too_few_views", "no_consensus", "degenerate", "ambiguous")
    codes = np.arange(len(STATUS_NAMES), dtype=np.uint8)
    assert set(STATUS_NAMES[c] for c in codes[trusted(codes)]) == {"ok", "verified_in_time"}
    assert (kept(codes) >= trusted(codes)).all()


def test_readme_lists_every_trust_level():
    from pathlib import Path

    from spine3d.triangulation.status import trust_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert trust_table() in readme  # README's table is generated from the status table: regenerate it


def test_segment_length_std_matches_a_loop():
    from spine3d.skeletons import BODY_25B
    from spine3d.triangulation.steadiness import LIMB_SEGMENTS, segment_length_std, steadiness_summary

    rng = np.random.default_rng(RNG_SEED)
    points = rng.normal(0, 0.3, (50, BODY_25B.num_joints, 3))
    points[rng.random((50, BODY_25B.num_joints)) < 0.1] = np.nan
    got = segment_length_std(points, BODY_25B)
    for a, b in LIMB_SEGMENTS:  # reference: lengths frame by frame, population std
        lengths = [np.sqrt(sum((points[t, BODY_25B.index(a), k] - points[t, BODY_25B.index(b), k]) ** 2
                               for k in range(3))) for t in range(50)]
        lengths = [v for v in lengths if np.isfinite(v)]
        mean = sum(lengths) / len(lengths)
        assert got[f"{a}-{b}"] == pytest.approx(1000 * np.sqrt(sum((v - mean) ** 2 for v in lengths) / len(lengths)))
    summary = steadiness_summary(points, BODY_25B)
    assert summary["median_mm"] == pytest.approx(np.median(list(got.values())))
    assert summary["max_mm"] == pytest.approx(max(got.values()))


def test_spike_rounds_after_the_first_decide_only_near_removed_spikes_and_agree_with_full_rounds(monkeypatch):
    """Later rounds re-decide only the points within reach of the spikes just removed (a speed-up):
    the statuses equal those of rounds that re-decide every point, on sequences with many spikes."""
    from spine3d.triangulation import temporal

    rng = np.random.default_rng(7)
    cases = []
    for _ in range(150):
        t, j = int(rng.integers(3, 250)), int(rng.integers(1, 5))
        points = np.cumsum(rng.normal(0.0, 0.01, (t, j, 3)), axis=0)
        points += (rng.random((t, j, 1)) < 0.15) * rng.normal(0.0, 0.3, (t, j, 3))  # spikes, runs of them
        status = np.where(rng.random((t, j)) < 0.75, OK, UNVERIFIED).astype(np.uint8)
        cases.append((points, status, int(rng.integers(1, 8))))
    fast = [verify_in_time(p, s, w, 0.02, 4.0) for p, s, w in cases]
    monkeypatch.setattr(temporal, "_within", lambda marks, frames: np.ones(marks.shape, dtype=bool))
    full = [verify_in_time(p, s, w, 0.02, 4.0) for p, s, w in cases]
    assert sum(int((f != s).sum()) for f, (_, s, _) in zip(full, cases)) > 1000  # many points change status
    for f, g in zip(fast, full):
        np.testing.assert_array_equal(f, g)


def test_temporal_checks_on_threads_give_the_statuses_of_one_thread():
    """Series are decided in groups on worker threads once every series' scales are known: the same statuses
    for any number of threads, also where a sparse series takes the scale of all series together (deciding
    each group on its own would not: checked)."""
    rng = np.random.default_rng(11)
    cases = []
    for _ in range(60):
        t, j = int(rng.integers(3, 200)), int(rng.integers(2, 9))
        noise = rng.uniform(0.002, 0.05, (1, j, 1))  # every series its own noise
        points = np.cumsum(rng.normal(0.0, 1.0, (t, j, 3)) * noise, axis=0)
        points += (rng.random((t, j, 1)) < 0.1) * rng.normal(0.0, 0.3, (t, j, 3))
        ok_share = np.where(rng.random(j) < 0.3, 0.1, 0.8)  # some series too sparse for their own scale
        status = np.where(rng.random((t, j)) < ok_share, OK, UNVERIFIED).astype(np.uint8)
        cases.append((points, status, int(rng.integers(1, 6)), bool(rng.random() < 0.7)))
    one = [verify_in_time(p, s, w, 0.005, 4.0, spikes) for p, s, w, spikes in cases]
    for threads in (2, 3, 16):
        for a, (p, s, w, spikes) in zip(one, cases):
            np.testing.assert_array_equal(verify_in_time(p, s, w, 0.005, 4.0, spikes, threads=threads), a)
    alone = [np.concatenate([verify_in_time(p[:, g], s[:, g], w, 0.005, 4.0, spikes)
                             for g in np.array_split(np.arange(s.shape[1]), 2)], axis=1) for p, s, w, spikes in cases]
    assert any((a != b).any() for a, b in zip(alone, one))
