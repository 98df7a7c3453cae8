"""Anchor labelling against hand-built cases, and its agreement with the tracker's box decoding."""
import numpy as np
import pytest

from siamrpnpp_core import get_preset
from siamrpnpp_core.geometry import decode_boxes
from siamrpnpp_core.training.targets import AnchorTarget, TargetConfig, box_iou, center_to_corners

TRACKER = get_preset("siamrpn_r50_l234_dwxcorr").tracker  # stride 8, ratios .33/.5/1/2/3, scale 8


@pytest.fixture
def target():
    return AnchorTarget(TRACKER, search_size=255, output_size=17)


def brute_iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_anchor_grid_is_centred_on_the_search_crop(target):
    # ratio-1 anchors are 64x64; the middle cell (8, 8) of 17 sits on pixel 127 = 255 // 2
    centers = target.centers.reshape(5, 17, 17, 4)
    assert tuple(centers[2, 8, 8]) == (127, 127, 64, 64)
    assert tuple(centers[0, 0, 0]) == (63, 63, 104, 32)  # 63 = 127 - 8 * 8
    assert tuple(centers[4, 16, 16, :2]) == (191, 191)


def test_box_iou_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    boxes = np.sort(rng.uniform(0, 100, (50, 4)).reshape(50, 2, 2), axis=1).transpose(0, 2, 1).reshape(50, 4)
    box = (20.0, 30.0, 70.0, 60.0)
    np.testing.assert_allclose(box_iou(boxes, box), [brute_iou(b, box) for b in boxes])
    assert box_iou(np.array([[0, 0, 10, 10.0]]), (20, 20, 30, 30))[0] == 0


def test_exact_anchor_is_positive_with_zero_regression(target):
    box = (127 - 32, 127 - 32, 127 + 32, 127 + 32)  # exactly the middle ratio-1 anchor
    cls, delta, weight = target(box, negative=False, rng=np.random.default_rng(0))
    assert cls.shape == (5, 17, 17) and delta.shape == (4, 5, 17, 17) and weight.shape == (5, 17, 17)
    assert cls[2, 8, 8] == 1
    np.testing.assert_allclose(delta[:, 2, 8, 8], 0, atol=1e-7)
    # every label agrees with its anchor's IoU; counts respect the limits
    ious = np.array([brute_iou(a, box) for a in target.corners]).reshape(5, 17, 17)
    assert np.all(ious[cls == 1] > 0.6) and np.all(ious[cls == 0] < 0.3)
    pos, neg = int((cls == 1).sum()), int((cls == 0).sum())
    assert 1 <= pos <= 16 and neg == 64 - 16
    # positives are all the anchors above 0.6 when there are few of them
    assert pos == min(16, int((ious > 0.6).sum()))
    np.testing.assert_allclose(weight[cls == 1], 1 / pos, rtol=1e-5)
    assert np.all(weight[cls != 1] == 0)


def test_positive_count_capped_at_sixteen():
    config = TargetConfig(thr_high=0.1)  # many anchors qualify
    target = AnchorTarget(TRACKER, 255, 17, config)
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
    corners = center_to_corners(decoded.T + [127, 127, 0, 0])
    np.testing.assert_allclose(corners, np.broadcast_to(box, corners.shape), atol=1e-3)


@pytest.mark.parametrize("shift, cell", [((0, 0), (8, 8)), ((24, 0), (11, 8)), ((-40, 16), (3, 10))])
def test_negative_pair_labels_only_near_the_projected_target(target, shift, cell):
    cx, cy = 127 + shift[0], 127 + shift[1]
    box = (cx - 30, cy - 20, cx + 30, cy + 20)
    assert target.projected_cell(box) == cell
    cls, delta, weight = target(box, negative=True, rng=np.random.default_rng(3))
    assert (cls == 1).sum() == 0 and weight.sum() == 0 and not delta.any()
    assert (cls == 0).sum() == 16
    _, ys, xs = np.nonzero(cls == 0)
    assert np.all(np.abs(xs - cell[0]) <= 3) and np.all(np.abs(ys - cell[1]) <= 3)


def test_negative_window_clipped_at_the_border(target):
    box = (0, 0, 20, 20)  # projects to the top-left corner cell
    cls, _, _ = target(box, True, np.random.default_rng(0))
    _, ys, xs = np.nonzero(cls == 0)
    assert xs.max() <= 3 and ys.max() <= 3 and len(xs) == 16


def test_labels_are_reproducible_from_the_seed(target):
    box = (90, 100, 170, 150)
    one = target(box, False, np.random.default_rng(5))
    two = target(box, False, np.random.default_rng(5))
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
