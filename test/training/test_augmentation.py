"""Augmentation geometry: after shift, scale and flip the target is where the returned box says."""
import cv2
import numpy as np
import pytest

from siamrpnpp_core.training.augmentation import (COLOR_PCA, augment, box_in_window, crop_roi, crop_window, flip,
                                                  motion_blur_kernel, target_box)
from siamrpnpp_core.training.config import AugmentConfig
from siamrpnpp_core.training.prepare.common import crop_search_region


def _canvas_with_target(box, size=511):
    """Black image with a white rectangle covering the pixels of ``box`` (corners)."""
    image = np.zeros((size, size, 3), np.uint8)
    x1, y1, x2, y2 = box
    image[int(round(y1)):int(round(y2)), int(round(x1)):int(round(x2))] = 255
    return image


def _white_extent(crop):
    ys, xs = np.nonzero(crop[..., 0] > 127)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


def test_target_box_is_centred_at_exemplar_scale():
    box = target_box((511, 511, 3), (60, 30), exemplar_size=127, context_amount=0.5)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    assert (cx, cy) == (255, 255)
    scale = 127 / np.sqrt((60 + 45) * (30 + 45))
    np.testing.assert_allclose([box[2] - box[0], box[3] - box[1]], [60 * scale, 30 * scale])


@pytest.mark.parametrize("seed", range(6))
def test_shift_scale_crop_puts_the_target_where_the_box_says(seed):
    rng = np.random.default_rng(seed)
    box = target_box((511, 511), (rng.uniform(40, 200), rng.uniform(40, 200)))
    image = _canvas_with_target(box)
    cfg = AugmentConfig(shift=64, scale=0.18, blur=0, flip=0, color=0)
    crop, out = augment(image, box, 255, cfg, rng)
    assert crop.shape == (255, 255, 3) and crop.dtype == np.float32
    np.testing.assert_allclose(_white_extent(crop), out, atol=1.6)
    # the target moved by at most the shift (in crop pixels) from the centre
    centre = np.array([(out[0] + out[2]) / 2, (out[1] + out[3]) / 2])
    assert np.all(np.abs(centre - 127) <= 64 / (1 - 0.18) + 1)


def test_window_stays_inside_the_image_and_scales_are_bounded():
    rng = np.random.default_rng(0)
    for _ in range(200):
        window, sx, sy = crop_window((511, 511), 255, 64, 0.18, rng)
        assert 0.82 <= sx <= 1.18 and 0.82 <= sy <= 1.18
        assert window[0] >= 0 and window[1] >= 0 and window[2] <= 510 and window[3] <= 510


def test_box_in_window_is_the_inverse_of_the_crop_mapping():
    window, sx, sy = np.array([100.0, 50.0, 100 + 254 * 1.1, 50 + 254 * 0.9]), 1.1, 0.9
    box = np.array([150.0, 80.0, 250.0, 200.0])
    out = box_in_window(box, window, sx, sy)
    np.testing.assert_allclose(out, [50 / 1.1, 30 / 0.9, 150 / 1.1, 150 / 0.9])
    image = _canvas_with_target(box)
    np.testing.assert_allclose(_white_extent(crop_roi(image, window, 255)), out, atol=1.6)


def test_flip_mirrors_image_and_box():
    box = np.array([10.0, 20.0, 60.0, 90.0])
    image = _canvas_with_target(box, 127)
    flipped, out = flip(image, box)
    np.testing.assert_allclose(out, [127 - 1 - 60, 20, 127 - 1 - 10, 90])
    np.testing.assert_allclose(_white_extent(flipped), [67, 20, 117, 90])


def test_colour_blur_and_gray_keep_the_geometry():
    rng = np.random.default_rng(4)
    box = target_box((511, 511), (90, 70))
    image = _canvas_with_target(box)
    image[..., 1] = 80  # some colour for the gray conversion to change
    cfg = AugmentConfig(shift=0, scale=0, blur=1.0, flip=0, color=1.0)
    crop, out = augment(image, box, 127, cfg, rng, gray=True)
    plain, plain_box = augment(image, box, 127, AugmentConfig(color=0), np.random.default_rng(4))
    np.testing.assert_allclose(out, plain_box)
    assert np.abs(crop[..., 0] - crop[..., 2]).max() < 12  # gray: channels equal up to the colour offset
    assert not np.allclose(crop, plain)


def test_prepared_crop_centres_the_target_with_context():
    # a 100x50 white box in a 640x480 photo-sized image -> centred, context square spanning 127 of 511 pixels
    image = np.zeros((480, 640, 3), np.uint8)
    image[200:250, 300:400] = 255
    crop = crop_search_region(image, (300, 200, 400, 250))
    assert crop.shape == (511, 511, 3)
    extent = _white_extent(crop)
    expected = target_box((511, 511), (100, 50))
    np.testing.assert_allclose(extent, expected, atol=2.0)
    # and the training box of that crop is what the sampler computes from the index's box size
    assert cv2.mean(crop[:5, :5])[0] == pytest.approx(image.mean(), abs=1.0)  # padding: the mean colour


def test_colour_and_blur_compute_in_float64_like_the_authors():
    # the same draws by hand: 8-bit crop, float64 colour offset, float64 blur, float32 at the end
    image = np.random.default_rng(0).integers(0, 256, (511, 511, 3), dtype=np.uint8)
    box = target_box((511, 511), (80, 60))
    cfg = AugmentConfig(shift=0, scale=0, blur=1.0, flip=0, color=1.0)
    crop, _ = augment(image, box, 127, cfg, np.random.default_rng(9))
    rng = np.random.default_rng(9)
    window, _, _ = crop_window(image.shape, 127, 0, 0, rng)
    plain = crop_roi(image, window, 127)
    assert plain.dtype == np.uint8
    rng.random()  # the colour coin
    offset = (COLOR_PCA.astype(np.float64) @ rng.standard_normal(3))[::-1]
    rng.random()  # the blur coin
    expected = cv2.filter2D(plain.astype(np.float64) - offset, -1, motion_blur_kernel(rng)).astype(np.float32)
    np.testing.assert_array_equal(crop, expected)
    # the same steps in float32 give other values: the precision is what this pins
    rng = np.random.default_rng(9)
    crop_window(image.shape, 127, 0, 0, rng)
    rng.random()
    offset32 = (COLOR_PCA @ rng.standard_normal(3).astype(np.float32))[::-1]
    rng.random()
    single = cv2.filter2D(plain.astype(np.float32) - offset32, -1, motion_blur_kernel(rng))
    assert not np.array_equal(crop, single)


def test_blur_without_colour_filters_the_8bit_crop():
    image = np.random.default_rng(1).integers(0, 256, (511, 511, 3), dtype=np.uint8)
    box = target_box((511, 511), (80, 60))
    crop, _ = augment(image, box, 127, AugmentConfig(blur=1.0, color=0.0), np.random.default_rng(2))
    assert crop.dtype == np.float32
    np.testing.assert_array_equal(crop, np.round(crop))  # the authors' blur of an 8-bit image stays 8-bit
    assert crop.min() >= 0 and crop.max() <= 255
