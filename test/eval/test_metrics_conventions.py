"""Hand-computed cases for the OPE scoring rules (invalid ground truth, first frame, visibility) and
the two forms of normalized precision."""
import numpy as np
import pytest

from siamrpnpp_core.evaluation import metrics as m

NAN4 = [np.nan] * 4


def test_pysot_invalid_ground_truth_fails_success_but_hits_precision():
    gt = np.array([[10, 10, 20, 20], [10, 10, 0, 20], [10, 10, 20, 20], NAN4], float)
    pred = np.array([[10, 10, 20, 20]] * 4, float)
    c = m.ope_curves(pred, gt, rules="pysot")
    # IoUs: 1, invalid (-1), 1, invalid -> 2 of 4 frames above every threshold < 1
    assert c.success[0] == 0.5 and c.success[19] == 0.5 and c.success[20] == 0.0
    # centres: frame 1's gt centre (9.5, 19.5) is 10 px from the prediction; the NaN frame always hits
    assert c.precision[0] == 0.75 and c.precision[9] == 0.75 and c.precision[10] == 1.0
    # got10k drops the NaN row (N = 3) and scores the zero-width box as IoU 0
    g = m.ope_curves(pred, gt, rules="got10k")
    assert g.n_frames == 3 and g.success[0] == pytest.approx(2 / 3)


def test_invisible_frames_dropped_but_counted_in_n():
    gt = np.array([[10, 10, 20, 20]] * 4, float)
    pred = gt.copy()
    visible = np.array([True, False, True, True])
    assert m.ope_curves(pred, gt, visible, "pysot").success[0] == 0.75  # LaSOT rule: N stays 4
    assert m.ope_curves(pred, gt, visible, "lasot").success[0] == 0.75
    assert m.ope_curves(pred, gt, visible, "got10k").success[0] == 1.0  # got10k ignores the flags


def test_lasot_holds_invalid_predictions_and_uses_gt_first_frame():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    pred = np.array([[50, 50, 5, 5], [0, 0, 10, 10], [np.nan, 0, -1, 10]], float)
    assert m.ope_curves(pred, gt, rules="lasot").success[20 - 1] == 1.0  # all three frames IoU 1
    assert m.ope_curves(pred, gt, rules="pysot").success[0] == pytest.approx(1 / 3)


def test_success_thresholds_are_strict_and_perfect_tracker_scores_20_of_21():
    gt = np.array([[5, 5, 30, 40]] * 10, float)
    c = m.ope_curves(gt, gt)
    assert m.ope_summary([c])["success"] == pytest.approx(20 / 21)
    assert m.ope_summary([c])["precision"] == 1.0


def test_normalized_precision_pysot_form_hand_values():
    gt = np.array([[0, 0, 10, 20], [0, 0, 10, 20]], float)
    pred = np.array([[5, 0, 10, 20], [1, 2, 10, 20]], float)
    # frame 0: |(9.5 - 4.5) / 10| = 0.5; frame 1: |(0.1, 0.1)| = 0.1414 (gt centre x 4.5 > 0: valid)
    err = m.normalized_center_error(pred, gt, "pysot")
    np.testing.assert_allclose(err, [0.5, np.hypot(0.1, 0.1)], rtol=1e-12)
    c = m.ope_curves(pred, gt, rules="pysot")
    assert c.norm_precision[14] == 0.0 and c.norm_precision[15] == 0.5 and c.norm_precision[50] == 1.0
    assert m.ope_summary([c], "pysot")["norm_precision"] == 0.5  # value at 0.20


def test_normalized_precision_auc_form_uses_max_one_and_mean_over_thresholds():
    gt = np.array([[10, 10, 0.5, 0.5]] * 2, float)
    pred = np.array([[10, 10, 0.5, 0.5], [10.0625, 10, 0.5, 0.5]], float)
    # pysot divides by 0.5: 0.125 -> hits from threshold 0.13; auc form by max(1, 0.5) = 1: 0.0625 -> from 0.07
    np.testing.assert_allclose(m.normalized_center_error(pred, gt, "pysot"), [0, 0.125], atol=1e-9)
    np.testing.assert_allclose(m.normalized_center_error(pred, gt, "auc"), [0, 0.0625], atol=1e-9)
    auc = m.ope_curves(pred, gt, rules="got10k")
    assert m.ope_summary([auc], "auc")["norm_precision"] == pytest.approx((51 + 44) / 102)
    pysot = m.ope_curves(pred, gt, rules="pysot")
    assert pysot.norm_precision[12] == 0.5 and pysot.norm_precision[13] == 1.0
    assert m.ope_summary([pysot], "pysot")["norm_precision"] == 1.0
    # the form can be chosen independently of the rules
    assert m.ope_curves(pred, gt, rules="pysot", norm_form="auc").norm_precision[7] == 1.0


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="4 predicted boxes for 3"):
        m.ope_curves(np.zeros((4, 4)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="unknown OPE rules"):
        m.ope_curves(np.zeros((1, 4)), np.ones((1, 4)), rules="matlab")
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        m.iou(np.zeros((2, 3)), np.zeros((2, 3)))
