"""Geometry of the tracker against hand-computed values."""
import math

import numpy as np
import pytest

from siamrpnpp_core import geometry as geo

RATIOS = (0.33, 0.5, 1, 2, 3)


def test_anchor_shapes_pysot_and_mmtracking():
    assert geo.anchor_shapes(8, RATIOS, (8,)).tolist() == [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]]
    mm = geo.anchor_shapes(8, RATIOS, (8,), weights_format="mmtracking")
    assert mm.tolist() == [[104, 32], [88, 40], [64, 64], [40, 88], [32, 104]]
    assert geo.anchor_shapes(8, RATIOS, (8,)).dtype == np.float32


def test_anchor_grid_is_anchor_major_around_search_centre():
    anchors = geo.generate_anchors(geo.anchor_shapes(8, RATIOS, (8,)), 25, 8)
    assert anchors.shape == (3125, 4) and anchors.dtype == np.float32
    assert anchors[0].tolist() == [-96, -96, 104, 32]
    assert anchors[24].tolist() == [96, -96, 104, 32]
    assert anchors[624].tolist() == [96, 96, 104, 32]
    assert anchors[625 + 26].tolist() == [-88, -88, 88, 40]  # anchor 1, row 1, column 1
    assert anchors[4 * 625 + 12 * 25 + 12].tolist() == [0, 0, 32, 96]


def test_anchor_grid_of_long_term_search():
    anchors = geo.generate_anchors(geo.anchor_shapes(8, RATIOS, (8,)), 97, 8)
    assert anchors.shape == (5 * 97 * 97, 4)
    assert anchors[0, :2].tolist() == [-384, -384]
    assert anchors[97 * 97 - 1, :2].tolist() == [384, 384]


def test_cosine_window():
    window = geo.cosine_window(25, 5)
    assert window.shape == (3125,) and window.dtype == np.float64
    for a in range(5):
        assert window[a * 625 + 12 * 25 + 12] == 1.0
        assert window[a * 625] == 0.0
    # hanning(25)[6] = 0.5 - 0.5 cos(2 pi 6 / 24) = 0.5; outer with the centre row
    assert window[12 * 25 + 6] == pytest.approx(0.5)
    assert window[6 * 25 + 6] == pytest.approx(0.25)


def test_context_size():
    # w=100, h=50, amount 0.5: pad 75 -> sqrt(175 * 125)
    assert geo.context_size(100.0, 50.0, 0.5) == pytest.approx(math.sqrt(21875))
    assert geo.context_size(40.0, 40.0, 0.0) == pytest.approx(40.0)


def test_crop_origin_rounds_half_up():
    assert geo.crop_origin(10.0, 5) == 7  # floor(10 - 3 + 0.5)
    assert geo.crop_origin(10.5, 4) == 8  # floor(8.5)
    assert geo.crop_origin(-3.2, 3) == -5  # floor(-4.7)


def _image(h=20, w=30):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx, yy, (xx + yy) % 256], axis=2).astype(np.uint8)


def test_subwindow_inside_image_is_a_plain_slice():
    img = _image()
    patch = geo.get_subwindow(img, (10.0, 10.0), 5, 5, (0, 0, 0))
    np.testing.assert_array_equal(patch, img[7:12, 7:12])


def test_subwindow_pads_with_truncated_channel_average():
    img = np.full((10, 10, 3), 100, np.uint8)
    patch = geo.get_subwindow(img, (0.0, 0.0), 4, 4, np.array([50.7, 60.2, 70.9]))
    # origin floor(0 - 2.5 + 0.5) = -2: rows/columns -2 and -1 are outside
    assert patch[0, 0].tolist() == [50, 60, 70]
    assert patch[1, 3].tolist() == [50, 60, 70]
    assert patch[3, 1].tolist() == [50, 60, 70]
    assert patch[2:, 2:].tolist() == [[[100] * 3] * 2] * 2


def test_subwindow_entirely_outside_is_all_fill():
    img = _image()
    patch = geo.get_subwindow(img, (500.0, -300.0), 8, 6, (1, 2, 3))
    assert patch.shape == (8, 8, 3)
    assert (patch == np.array([1, 2, 3], np.uint8)).all()


def _padded_reference(img, center, size, fill):
    """Pad the whole image by ``size`` on every side with the fill, then slice (the naive crop)."""
    pad = 200
    big = np.empty((img.shape[0] + 2 * pad, img.shape[1] + 2 * pad, 3), np.uint8)
    big[:] = np.asarray(fill).astype(np.uint8)
    big[pad:pad + img.shape[0], pad:pad + img.shape[1]] = img
    x0 = int(np.floor(center[0] - (size + 1) / 2 + 0.5)) + pad
    y0 = int(np.floor(center[1] - (size + 1) / 2 + 0.5)) + pad
    return big[y0:y0 + size, x0:x0 + size]


def test_subwindow_matches_naive_padding_everywhere():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    fill = img.mean(axis=(0, 1))
    for _ in range(200):
        size = int(rng.integers(1, 60))
        center = rng.uniform(-30, 80, size=2)
        got = geo.get_subwindow(img, center, size, size, fill)
        np.testing.assert_array_equal(got, _padded_reference(img, center, size, fill))


def test_subwindow_resizes_to_model_size():
    img = _image(200, 200)
    patch = geo.get_subwindow(img, (100.0, 100.0), 127, 64, (0, 0, 0))
    assert patch.shape == (127, 127, 3) and patch.dtype == np.uint8


def test_mmtracking_subwindow_inclusive_corners():
    img = _image(20, 30)
    patch = geo.get_subwindow_mmtracking(img, (10.0, 10.0), 5, 4, (0, 0, 0))
    # corners int(8) and int(12), both inclusive: 5 pixels, no resize needed
    np.testing.assert_array_equal(patch, img[8:13, 8:13].astype(np.float32))


def test_mmtracking_subwindow_truncates_toward_zero_and_pads_float():
    img = np.full((10, 10, 3), 100, np.uint8)
    patch = geo.get_subwindow_mmtracking(img, (0.6, 5.0), 5, 3, (50.5, 60.25, 70.75))
    # x: int(0.6 - 1.5) = int(-0.9) = 0 .. int(2.1) = 2 -> no left padding; y: 3..6
    assert patch.shape == (5, 5, 3)
    patch = geo.get_subwindow_mmtracking(img, (0.0, 5.0), 4, 4, (50.5, 60.25, 70.75))
    # x: int(-2) = -2 .. int(2) = 2 -> 5 columns, the first two padded with the float average
    assert patch[0, 0].tolist() == [50.5, 60.25, 70.75]
    assert patch[0, 2].tolist() == [100, 100, 100]


def test_mmtracking_subwindow_drops_last_pixel_past_right_edge():
    img = _image(12, 12)
    patch = geo.get_subwindow_mmtracking(img, (10.0, 10.0), 4, 4, (0, 0, 0))
    # 8 .. int(12) = 12 = width -> 11 (4 columns and rows), resized to 4: unchanged
    np.testing.assert_array_equal(patch, img[8:12, 8:12].astype(np.float32))


def test_decode_boxes():
    anchors = np.array([[8, -8, 64, 32]], np.float32)
    deltas = np.array([[0.5], [-0.25], [math.log(2)], [0.0]], np.float32)
    boxes = geo.decode_boxes(deltas, anchors)
    np.testing.assert_allclose(boxes[:, 0], [40, -16, 128, 32], rtol=1e-6)
    assert boxes.dtype == np.float32


def test_decode_boxes_mmtracking_clamps_size_deltas():
    anchors = np.array([[0, 0, 10, 10]], np.float32)
    deltas = np.array([[0.0], [0.0], [10.0], [-10.0]], np.float32)
    boxes = geo.decode_boxes(deltas, anchors, geo.MMTRACKING_MAX_DELTA)
    np.testing.assert_allclose(boxes[2:, 0], [10 * 62.5, 10 * 0.016], rtol=1e-5)
    assert geo.decode_boxes(deltas, anchors)[2, 0] == pytest.approx(10 * math.exp(10), rel=1e-5)


def test_change_and_padded_size():
    assert geo.change(2.0) == 2.0 and geo.change(0.5) == 2.0
    assert geo.padded_size(10.0, 30.0) == pytest.approx(math.sqrt(30 * 50))


def test_scale_ratio_penalty():
    prev = np.array([10.0, 10.0])
    # unchanged size and ratio: no penalty
    assert geo.scale_ratio_penalty(np.float32(12.7), np.float32(12.7), prev, 1.27, 0.05) == pytest.approx(1.0)
    # twice the size: s_c = 2 -> exp(-0.05)
    assert geo.scale_ratio_penalty(20.0, 20.0, prev, 1.0, 0.05) == pytest.approx(math.exp(-0.05))
    # same area scale, aspect 2:1 vs 1:1 -> r_c = 2; s_c = padded(20,10)/padded(10,10) = sqrt(35*25)/20
    s_c = math.sqrt(35 * 25) / 20
    assert geo.scale_ratio_penalty(20.0, 10.0, prev, 1.0, 0.1) == pytest.approx(math.exp(-(2 * s_c - 1) * 0.1))


def test_clip_box():
    assert geo.clip_box(-5, 700, 5, 1000, (480, 640)) == (0, 480, 10, 480)
    assert geo.clip_box(100.5, 50.5, 30.0, 20.0, (480, 640)) == (100.5, 50.5, 30.0, 20.0)
