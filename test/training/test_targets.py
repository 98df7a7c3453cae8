"""Anchor labelling against hand-built cases, and its agreement with the tracker's box decoding."""
from dataclasses import replace

import numpy as np
import pytest

from siamrpnpp_core.boxes import cxcywh_to_xyxy, iou
from siamrpnpp_core.geometry import decode_boxes
from siamrpnpp_core.training.config import TRAIN_PRESETS
from siamrpnpp_core.training.targets import HARD_CANDIDATE, AnchorTarget

R50 = TRAIN_PRESETS["siamrpn_r50_l234_dwxcorr"]  # stride 8, ratios .33/.5/1/2/3, scale 8; 255 -> 25x25 map
TRACKER, CONFIG = R50.tracker(), R50.target_config()


@pytest.fixture
def target():
    return AnchorTarget(TRACKER, search_size=255, output_size=17, config=CONFIG)


def test_anchor_grid_is_centred_on_the_search_crop(target):
    # ratio-1 anchors are 64x64; the middle cell (8, 8) of 17 sits on pixel 127 = 255 // 2
    centers = target.centers.reshape(5, 17, 17, 4)
    assert tuple(centers[2, 8, 8]) == (127, 127, 64, 64)
    assert tuple(centers[0, 0, 0]) == (63, 63, 104, 32)  # 63 = 127 - 8 * 8
    assert tuple(centers[4, 16, 16, :2]) == (191, 191)


def test_exact_anchor_is_positive_with_zero_regression(target):
    box = (127 - 32, 127 - 32, 127 + 32, 127 + 32)  # exactly the middle ratio-1 anchor
    cls, delta, weight = target(box, negative=False, rng=np.random.default_rng(0))
    assert cls.shape == (5, 17, 17) and delta.shape == (4, 5, 17, 17) and weight.shape == (5, 17, 17)
    np.testing.assert_allclose(delta[:, 2, 8, 8], 0, atol=1e-7)
    # by hand: only the 64x64 anchors of the 3x3 cells around the centre pass 0.6 (shifted 8 px:
    # 56*64 / (2*64^2 - 56*64) = 0.778; diagonally: 56^2 / (2*64^2 - 56^2) = 0.620; 16 px: exactly 0.6; the
    # centred 88x40 and 40x80 anchors: 2560/5056 = 0.506 and 2560/4736 = 0.541)
    positives = sorted(zip(*np.nonzero(cls == 1)))
    assert positives == [(2, y, x) for y in (7, 8, 9) for x in (7, 8, 9)]
    np.testing.assert_allclose(weight[cls == 1], 1 / 9, rtol=1e-5)
    assert np.all(weight[cls != 1] == 0)
    assert (cls == 0).sum() == 64 - 16
    # negatives are anchors overlapping the box by less than 0.3, e.g. none of the ratio-1 anchors
    # within 2 cells (16 px: 0.6; 2 cells diagonally: 48^2 / (8192 - 48^2) = 0.391)
    assert not (cls[2, 6:11, 6:11] == 0).any()


def test_positive_count_capped_at_sixteen():
    target = AnchorTarget(TRACKER, 255, 17, replace(CONFIG, thr_high=0.1))  # many anchors qualify
    cls, _, weight = target((95, 95, 159, 159), False, np.random.default_rng(1))
    assert (cls == 1).sum() == 16
    np.testing.assert_allclose(weight.sum(), 1.0, rtol=1e-4)


def test_no_positive_when_the_box_fits_no_anchor(target):
    cls, _, weight = target((20, 20, 235, 235), False, np.random.default_rng(0))  # far larger than any anchor
    assert (cls == 1).sum() == 0 and weight.sum() == 0
    assert (cls == 0).sum() == 48


def test_regression_targets_decode_back_to_the_box(target):
    box = np.array([101.5, 88.0, 171.0, 130.5])
    _, delta, _ = target(box, False, np.random.default_rng(0))
    # the tracker's decoder (anchors relative to the crop centre) recovers the box from every anchor
    decoded = decode_boxes(delta.reshape(4, -1), target.centers - [127, 127, 0, 0])
    corners = cxcywh_to_xyxy(decoded.T + [127, 127, 0, 0])
    np.testing.assert_allclose(corners, np.broadcast_to(box, corners.shape), atol=1e-3)


@pytest.mark.parametrize("shift, cell", [((0, 0), (9, 9)), ((24, 0), (12, 9)), ((-40, 16), (4, 11)),
                                         ((4, -4), (9, 8)), ((8, 8), (10, 10))])
def test_negative_pair_labels_only_near_the_projected_target(target, shift, cell):
    # the authors' projection 8 + ceil(d / 8 + 0.5): d = 0 -> 9; 24 -> 12; -40 -> 4; 16 -> 11; 4 -> 9; -4 -> 8
    cx, cy = 127 + shift[0], 127 + shift[1]
    box = (cx - 30, cy - 20, cx + 30, cy + 20)
    assert target.projected_cell(box) == cell
    cls, delta, weight = target(box, negative=True, rng=np.random.default_rng(3))
    assert (cls == 1).sum() == 0 and weight.sum() == 0 and not delta.any()
    assert (cls == 0).sum() == 16
    _, ys, xs = np.nonzero(cls == 0)
    assert np.all(np.abs(xs - cell[0]) <= 3) and np.all(np.abs(ys - cell[1]) <= 3)


# The release's 25x25 map (R50, search 255): centre pixel 127, cell 12 under it. Target centre (x, y) ->
# columns, rows of the negative window, by hand with 12 + ceil((c - 127) / 8 + 0.5) and no clamping:
#   127 -> 13 (cells 10..16); 0 -> -3 (cells -6..0: only 0); 254 -> 29 (26..32: none); 230 -> 26 (23..24).
BORDER_CASES = [
    ((127, 127), range(10, 17), range(10, 17), 16),  # centred: 49 cells x 5 anchors, 16 drawn
    ((0, 127), [0], range(10, 17), 16),  # left border: one column (35 anchors), 16 drawn
    ((127, 0), range(10, 17), [0], 16),  # top border: one row
    ((254, 127), [], [], 0),  # right border: the window lies past the map, no negative at all
    ((127, 254), [], [], 0),  # bottom border: likewise
    ((0, 0), [0], [0], 5),  # top-left corner: one cell, its 5 anchors
    ((230, 0), [23, 24], [0], 10),  # near the top-right corner: two cells, 10 anchors
]


@pytest.mark.parametrize("centre, columns, rows, count", BORDER_CASES)
def test_negative_window_follows_the_authors_at_the_centre_and_the_borders(centre, columns, rows, count):
    release = AnchorTarget(TRACKER, R50.search_size, R50.output_size(), CONFIG)
    assert release.size == 25
    cx, cy = centre
    box = (cx - 10, cy - 10, cx + 10, cy + 10)
    cls, _, _ = release(box, negative=True, rng=np.random.default_rng(0))
    assert (cls == 0).sum() == count and not (cls == 1).any()
    _, ys, xs = np.nonzero(cls == 0)
    assert set(xs) <= set(columns) and set(ys) <= set(rows)
    # with no cap, every anchor of exactly that window is a negative
    uncapped = AnchorTarget(TRACKER, R50.search_size, R50.output_size(), replace(CONFIG, neg_num=10 ** 6))
    cls, _, _ = uncapped(box, negative=True, rng=np.random.default_rng(0))
    expected = np.zeros((5, 25, 25), bool)
    for y in rows:
        expected[:, y, list(columns)] = True
    np.testing.assert_array_equal(cls == 0, expected)


def test_labels_are_reproducible_from_the_seed(target):
    box = (90, 100, 170, 150)
    one = target(box, False, np.random.default_rng(5))
    two = target(box, False, np.random.default_rng(5))
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_hard_negative_candidates_are_the_unsampled_low_overlap_anchors(target):
    box = (90, 100, 170, 150)
    plain = target(box, False, np.random.default_rng(5))
    mining = AnchorTarget(TRACKER, 255, 17, replace(CONFIG, hard_neg_num=16))
    cls, delta, weight = mining(box, False, np.random.default_rng(5))
    # the sampled positives and negatives, and the regression targets, are those of the authors' labelling
    for value in (1, 0):
        np.testing.assert_array_equal(cls == value, plain[0] == value)
    np.testing.assert_array_equal(delta, plain[1])
    np.testing.assert_array_equal(weight, plain[2])
    # every other anchor below thr_low is a candidate; anchors between the thresholds stay ignored
    overlap = iou(mining.corners, np.asarray(box, float), fmt="xyxy").reshape(cls.shape)
    np.testing.assert_array_equal(cls == HARD_CANDIDATE, (overlap < CONFIG.thr_low) & (plain[0] != 0))
    assert (cls == -1).sum() == ((overlap >= CONFIG.thr_low) & (plain[0] != 1)).sum() > 0
    # a negative pair is labelled as the authors label it
    negative = mining(box, True, np.random.default_rng(5))[0]
    np.testing.assert_array_equal(negative, target(box, True, np.random.default_rng(5))[0])
