"""Hand-computed cases: VOT pixel overlaps (both rasterisation rules, image bounds, polygons), the
initial box of a polygon, accuracy / robustness, EAO and the long-term F-score."""
import numpy as np
import pytest

from siamrpnpp_core.evaluation import vot_metrics as vm
from siamrpnpp_core.evaluation.region import axis_aligned_box, rasterize, to_polygon, vot_overlap


def test_overlap_rasterisation_rules():
    a, b = [0, 0, 10, 10], [5, 0, 10, 10]
    # pysot: 11x11 pixels each, 6 shared columns: 66 / (121 + 121 - 66)
    assert vot_overlap(a, b, rule="pysot") == pytest.approx(0.375)
    # official VOT: 10x10 each, 5 shared columns: 50 / 150
    assert vot_overlap(a, b, rule="vot") == pytest.approx(1 / 3)
    assert vot_overlap(a, a) == 1.0
    assert vot_overlap(a, [10, 0, 10, 10]) == 0.0  # touching edges share no area
    assert np.isnan(vot_overlap([2], a)) and np.isnan(vot_overlap(a, [np.nan] * 4))


def test_overlap_with_image_bounds():
    a, b = [0, 0, 10, 10], [5, 0, 10, 10]
    # pysot bounds (W, H) = (12, 100): b keeps columns 5..12 (8): 66 / (121 + 88 - 66)
    assert vot_overlap(a, b, bounds=(12, 100), rule="pysot") == pytest.approx(66 / 143)
    # VOT rule on a 12-pixel-wide image, grid 0..11: b keeps columns 5..11 (7 of 10): 50 / (100 + 70 - 50)
    assert vot_overlap(a, b, bounds=(11, 100), rule="vot") == pytest.approx(50 / 120)
    # a prediction entirely outside the image overlaps nothing
    assert vot_overlap([200, 0, 10, 10], [195, 0, 10, 10], bounds=(100, 100)) == 0.0


def test_polygon_rasterisation_diamond():
    diamond = np.array([[5, 0], [10, 5], [5, 10], [0, 5]], np.float32)
    mask = rasterize(diamond, 11, 11)
    # spans per row: apexes (rows 0 and 10) meet in one node and stay empty; rows 1..9: 3,5,7,9,11,9,7,5,3
    assert mask.sum(axis=1).tolist() == [0, 3, 5, 7, 9, 11, 9, 7, 5, 3, 0]
    square = [0, 0, 10, 0, 10, 10, 0, 10]
    assert rasterize(to_polygon(square), 11, 11).sum() == 121
    assert vot_overlap([5, 0, 10, 5, 5, 10, 0, 5], square) == pytest.approx(59 / 121)
    assert vot_overlap(square, [0, 0, 10, 10], rule="pysot") == 1.0


def test_initial_box_from_polygon_and_rectangle():
    assert axis_aligned_box([1, 2, 11, 2, 11, 7, 1, 7]) == pytest.approx((1, 2, 11, 6))
    # a square of side 10*sqrt(2) rotated by 45 degrees: A1 = 200, A2 = 400, s = sqrt(1/2)
    cx, cy, w, h = 50.0, 40.0, 20 * np.sqrt(0.5) * 1 + 1, 20 * np.sqrt(0.5) + 1
    box = axis_aligned_box([40, 40, 50, 30, 60, 40, 50, 50])
    assert box == pytest.approx((cx - (w - 1) / 2, cy - (h - 1) / 2, w, h))
    assert axis_aligned_box([10, 20, 30, 40]) == (10.5, 20.5, 30.0, 40.0)  # pysot's test script
    assert axis_aligned_box([10, 20, 30, 40], "exact") == (10.0, 20.0, 30.0, 40.0)


def _result(name, overlaps, fails, length=None):
    arr = np.array(overlaps, float)
    return vm.VOTSequenceResult(name, length or len(arr), [arr], [arr], [fails])


def test_eao_hand_computed():
    # A: 6 frames, no failure, overlap 0.5 after the init frame
    a = _result("a", [np.nan, .5, .5, .5, .5, .5], [])
    # B: 8 frames, failure at frame 2, re-initialised at 2 + 5 = 7
    b = _result("b", [np.nan, .8, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan], [2])
    frags, weights = vm.eao_fragments([a, b])
    assert frags.shape == (3, 8)
    np.testing.assert_allclose(weights, [1, 1, 1])
    phi = vm.expected_overlap_curve(frags, weights)
    expected = [1, (.5 + .8) / 2, (.5 + .4) / 2, (.5 + .8 / 3) / 2, (.5 + .2) / 2, (.5 + .16) / 2, .8 / 6, .8 / 7]
    np.testing.assert_allclose(phi, expected, rtol=1e-12)
    assert vm.eao(phi, (2, 5)) == pytest.approx(np.mean(expected[1:5]))


def test_accuracy_robustness_with_burnin_from_regions():
    gt = [np.array([10, 10, 20, 20.])] * 15
    traj = [np.array([1.])] + [np.array([10, 10, 20, 20.])] * 9 + [np.array([20, 10, 20, 20.])] * 5
    s1 = vm.vot_sequence("s1", [traj], gt, 100, 100)
    # frames 0..9 are burn-in; frames 10..14: columns 20..30 shared, 21 rows: 231 / (441 + 441 - 231)
    np.testing.assert_allclose(s1.accuracy_overlaps[0][10:], 231 / 651)
    assert np.isnan(s1.accuracy_overlaps[0][:10]).all()
    gt2 = [np.array([10, 10, 20, 20.])] * 8
    traj2 = [[1.], [10, 10, 20, 20.], [2.], [0.], [0.], [0.], [0.], [1.]]
    s2 = vm.vot_sequence("s2", [[np.array(t, float) for t in traj2]], gt2, 100, 100)
    ar = vm.accuracy_robustness([s1, s2])
    assert ar["accuracy"] == pytest.approx(231 / 651)
    assert ar["lost_number"] == 1 and ar["robustness"] == pytest.approx(100 / 23)
    assert s2.failures == [[2]]


def test_long_term_f_score_hand_computed():
    overlaps = [np.nan, 1.0, 0.375, 0.0, 0.0]  # frame 4: target absent, the tracker still reports
    scores = [np.nan, 0.9, 0.8, 0.3, 0.6]
    out = vm.lt_f_score([(overlaps, scores, 4)])
    np.testing.assert_allclose(out["thresholds"], [np.inf, .9, .8, .6, .3, -np.inf])
    # t = 0.8 selects frames 1, 2: P = 1.375 / 2, R = 1.375 / 4 -> F = 0.4583
    assert out["threshold"] == 0.8
    assert out["precision"] == pytest.approx(0.6875) and out["recall"] == pytest.approx(0.34375)
    assert out["f_score"] == pytest.approx(2 * 0.6875 * 0.34375 / (0.6875 + 0.34375))
    assert out["precision_curve"][0] == 1.0 and out["recall_curve"][0] == 0.0  # nothing selected


def test_long_term_thresholds_follow_order_statistics():
    scores = np.arange(196, dtype=float)[::-1]
    thr = vm.lt_thresholds(scores)
    assert len(thr) == 100 and thr[0] == np.inf and thr[-1] == -np.inf
    # delta = 2: indices floor(linspace(1, 194, 98) + 0.5) into the sorted scores, reversed
    assert thr[1] == 194 and thr[-2] == 1
    assert np.all(np.diff(thr[1:-1]) < 0)
