"""Box conversions and the shared IoU on hand-computed cases."""
import numpy as np
import pytest

from siamrpnpp_core import boxes


def test_conversions_on_hand_values():
    np.testing.assert_array_equal(boxes.xyxy_to_cxcywh([10, 20, 30, 60]), [20, 40, 20, 40])
    np.testing.assert_array_equal(boxes.cxcywh_to_xyxy([20, 40, 20, 40]), [10, 20, 30, 60])
    assert boxes.xywh_centre(10, 20, 30, 40) == (24.5, 39.5)
    assert boxes.xywh_centre(10, 20, 30, 40, "continuous") == (25, 40)
    assert boxes.cxcywh_to_xywh(25, 40, 30, 40) == (10, 20, 30, 40)
    with pytest.raises(ValueError, match="centre rule"):
        boxes.xywh_centre(0, 0, 1, 1, "pysot")


def test_round_trip_of_random_boxes():
    rng = np.random.default_rng(0)
    corners = np.sort(rng.uniform(0, 100, (50, 2, 2)), axis=1).transpose(0, 2, 1).reshape(50, 4)[:, [0, 2, 1, 3]]
    np.testing.assert_allclose(boxes.cxcywh_to_xyxy(boxes.xyxy_to_cxcywh(corners)), corners, atol=1e-12)


def test_iou_hand_values_in_both_formats():
    # 10x10 boxes overlapping by a 5x10 strip: 50 / (100 + 100 - 50) = 1/3
    assert boxes.iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(1 / 3)
    assert boxes.iou([0, 0, 10, 10], [5, 0, 15, 10], fmt="xyxy") == pytest.approx(1 / 3)
    assert boxes.iou([0, 0, 10, 10], [20, 20, 5, 5]) == 0
    assert boxes.iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1
    assert boxes.iou([0, 0, 10, 10], [0, 0, 10, 10], eps=100.0) == pytest.approx(0.5)
    assert np.isnan(boxes.iou([np.nan, 0, 10, 10], [0, 0, 10, 10]))
    with pytest.raises(ValueError, match="box format"):
        boxes.iou([0, 0, 1, 1], [0, 0, 1, 1], fmt="cxcywh")


def test_iou_broadcasts_one_box_against_many():
    many = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 110]], dtype=float)
    np.testing.assert_allclose(boxes.iou(many, [0, 0, 10, 10], fmt="xyxy"), [1, 1 / 3, 0])
    grid = boxes.iou(many[:, None, :], many[None, :, :], fmt="xyxy")
    assert grid.shape == (3, 3)
    np.testing.assert_allclose(grid, grid.T)
    np.testing.assert_array_equal(np.diag(grid), [1, 1, 1])
