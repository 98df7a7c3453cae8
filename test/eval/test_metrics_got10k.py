"""OPE and GOT-10k metrics against the got10k toolkit from PyPI (0.1.3) on generated boxes, to 1e-9."""
import numpy as np
import pytest
from got10k.experiments import ExperimentGOT10k, ExperimentOTB, ExperimentUAV123
from got10k.utils.metrics import center_error as g_center_error
from got10k.utils.metrics import rect_iou as g_rect_iou

from siamrpnpp_core.evaluation import metrics as m

TOL = 1e-9


def make_boxes(rng, n, width=640, height=480, nan_rows=0):
    """Ground truth on a random walk and predictions near it, some far off, some sticking out of the image."""
    xy = np.cumsum(rng.normal(0, 4, (n, 2)), axis=0) + [width / 2, height / 2]
    wh = np.clip(60 + np.cumsum(rng.normal(0, 1.5, (n, 2)), axis=0), 4, 300)
    gt = np.hstack([xy - wh / 2, wh])
    pred = gt + rng.normal(0, 6, (n, 4))
    far = rng.random(n) < 0.15
    pred[far, :2] += rng.uniform(-200, 200, (far.sum(), 2))
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    if nan_rows:
        gt[rng.choice(np.arange(1, n), nan_rows, replace=False)] = np.nan
    return pred, gt


def otb_experiment(cls=ExperimentOTB):
    exp = cls.__new__(cls)
    exp.nbins_iou, exp.nbins_ce = 21, 51
    return exp


@pytest.mark.parametrize("seed", range(5))
def test_iou_and_center_error_match_got10k(seed):
    rng = np.random.default_rng(seed)
    pred, gt = make_boxes(rng, 300)
    np.testing.assert_allclose(m.iou(pred, gt, eps=m.EPS), g_rect_iou(pred.copy(), gt.copy()), rtol=0, atol=TOL)
    np.testing.assert_allclose(m.center_error(pred, gt), g_center_error(pred, gt), rtol=0, atol=TOL)
    bound = (500, 400)  # many boxes stick out: got10k clips them to the image
    np.testing.assert_allclose(m.iou(pred, gt, bound=bound, eps=m.EPS),
                               g_rect_iou(pred.copy(), gt.copy(), bound=bound), rtol=0, atol=TOL)


def test_iou_does_not_modify_inputs_and_hand_values():
    a = np.array([[0.0, 0, 10, 10], [-5, -5, 10, 10], [0, 0, 10, 10]])
    b = np.array([[5.0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 5, 5]])
    a0, b0 = a.copy(), b.copy()
    np.testing.assert_allclose(m.iou(a, b), [50 / 150, 25 / 175, 0.0])
    # GOT-10k's bound moves a box sticking out over the left/top edge inside (its size is kept)
    np.testing.assert_allclose(m.iou(a, b, bound=(100, 100))[1], 1.0)
    np.testing.assert_allclose(m.iou([[95.0, 0, 10, 10]], [[90.0, 0, 10, 10]], bound=(100, 100)), 5 / 10)
    assert np.array_equal(a, a0) and np.array_equal(b, b0)


@pytest.mark.parametrize("seed", range(5))
def test_otb_success_and_precision_curves_match_got10k(seed):
    rng = np.random.default_rng(100 + seed)
    pred, gt = make_boxes(rng, 250)
    pred[0] = gt[0]  # got10k's report overwrites frame 0 with the ground truth
    exp = otb_experiment()
    g_succ, g_prec = exp._calc_curves(*exp._calc_metrics(pred, gt))
    ours = m.ope_curves(pred, gt, rules="got10k")
    np.testing.assert_allclose(ours.success, g_succ, rtol=0, atol=TOL)
    np.testing.assert_allclose(ours.precision, g_prec, rtol=0, atol=TOL)


def test_got10k_convention_overwrites_frame_zero():
    rng = np.random.default_rng(7)
    pred, gt = make_boxes(rng, 50)
    pred[0] = [0, 0, 1, 1]
    fixed = pred.copy()
    fixed[0] = gt[0]
    exp = otb_experiment()
    g_succ, _ = exp._calc_curves(*exp._calc_metrics(fixed, gt))
    np.testing.assert_allclose(m.ope_curves(pred, gt, rules="got10k").success, g_succ, atol=TOL)
    # pysot scores the frame-0 box as written: the bad box costs one frame at every threshold > its IoU
    pysot = m.ope_curves(pred, gt, rules="pysot").success
    assert pysot[1] == pytest.approx(g_succ[1] - 1 / 50, abs=TOL)


@pytest.mark.parametrize("seed", range(4))
def test_uav123_nan_ground_truth_matches_got10k(seed):
    rng = np.random.default_rng(200 + seed)
    pred, gt = make_boxes(rng, 300, nan_rows=40)
    pred[0] = gt[0]
    exp = otb_experiment(ExperimentUAV123)
    g_succ, g_prec = exp._calc_curves(*exp._calc_metrics(pred, gt))
    ours = m.ope_curves(pred, gt, rules="got10k")
    assert ours.n_frames == 260
    np.testing.assert_allclose(ours.success, g_succ, rtol=0, atol=TOL)
    np.testing.assert_allclose(ours.precision, g_prec, rtol=0, atol=TOL)


def test_dataset_scores_match_got10k_report_formula():
    rng = np.random.default_rng(3)
    exp = otb_experiment()
    g_succ, g_prec, curves = [], [], []
    for _ in range(6):
        pred, gt = make_boxes(rng, int(rng.integers(40, 200)))
        pred[0] = gt[0]
        s, p = exp._calc_curves(*exp._calc_metrics(pred, gt))
        g_succ.append(s)
        g_prec.append(p)
        curves.append(m.ope_curves(pred, gt, rules="got10k"))
    summary = m.ope_summary(curves)
    assert summary["success"] == pytest.approx(np.mean(np.mean(g_succ, axis=0)), abs=TOL)
    assert summary["precision"] == pytest.approx(np.mean(g_prec, axis=0)[20], abs=TOL)


@pytest.mark.parametrize("seed", range(3))
def test_got10k_ao_sr_match_got10k(seed):
    rng = np.random.default_rng(300 + seed)
    exp = ExperimentGOT10k.__new__(ExperimentGOT10k)
    all_g, ours, times = [], [], []
    for _ in range(5):
        n = int(rng.integers(30, 120))
        pred, gt = make_boxes(rng, n, 400, 300)
        cover = rng.integers(0, 9, n)
        bound = (400, 300)
        g = g_rect_iou(pred[1:].copy(), gt[1:].copy(), bound=bound)[cover[1:] > 0]
        all_g.append(g)
        ours.append(m.got10k_ious(pred, gt, cover, bound))
        np.testing.assert_allclose(ours[-1], g, rtol=0, atol=TOL)
        times.append(rng.uniform(0.01, 0.05, n))
    g_ao, g_sr, g_speed, g_curve = exp._evaluate(np.concatenate(all_g), np.concatenate(times))
    summary = m.got10k_summary(ours, times)
    assert summary["ao"] == pytest.approx(g_ao, abs=TOL)
    assert summary["sr50"] == pytest.approx(g_sr, abs=TOL)
    assert summary["fps"] == pytest.approx(g_speed, rel=1e-12)
    np.testing.assert_allclose(summary["success_curve"], g_curve, rtol=0, atol=TOL)
