"""Score tables and PNG plots for every protocol."""
import cv2
import numpy as np
import pytest

from siamrpnpp_core.evaluation import metrics, vot_metrics
from siamrpnpp_core.evaluation.report import format_table, plot_scores, to_jsonable


def ope_score(name, noise, seed):
    rng = np.random.default_rng(seed)
    curves = []
    for _ in range(3):
        gt = np.column_stack([rng.uniform(0, 200, (50, 2)), rng.uniform(20, 60, (50, 2))])
        pred = gt + rng.normal(0, noise, gt.shape)
        curves.append(metrics.ope_curves(pred, gt))
    return {**metrics.ope_summary(curves), "tracker": name, "protocol": "ope"}


def test_ope_table_is_sorted_and_plots_are_pngs(tmp_path):
    good, bad = ope_score("good", 2, 0), ope_score("bad", 15, 1)
    table = format_table([bad, good]).splitlines()
    assert "Success (AUC)" in table[0] and table[2].startswith("good") and table[3].startswith("bad")
    assert f"{good['success']:.3f}" in table[2]
    paths = plot_scores([bad, good], str(tmp_path), "OTB100", norm=True)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["success_plot.png", "precision_plot.png",
                                                   "norm_precision_plot.png"]
    for p in paths:
        image = cv2.imread(p)
        assert image is not None and image.shape == (720, 960, 3)
        assert image.std() > 10  # not blank


def test_eao_lt_and_got10k_plots(tmp_path):
    res = vot_metrics.VOTSequenceResult("a", 400, [np.full(400, .6)], [np.r_[np.nan, np.full(399, .6)]], [[]])
    phi = vot_metrics.expected_overlap_curve(*vot_metrics.eao_fragments([res]))
    vot = {"tracker": "t", "protocol": "vot", "eao": vot_metrics.eao(phi, (100, 356)), "eao_curve": phi,
           "eao_interval": (100, 356), "accuracy": .6, "robustness": 0.0, "lost_number": 0.0}
    assert vot["eao"] == pytest.approx(0.6)
    lt = {"tracker": "t", "protocol": "vot-lt",
          **vot_metrics.lt_f_score([(np.r_[np.nan, np.linspace(1, 0, 200)], np.r_[np.nan, np.linspace(1, 0, 200)],
                                     201)])}
    got = {"tracker": "t", "protocol": "got10k", **metrics.got10k_summary(np.linspace(0, 1, 50))}
    assert "F-score" in format_table([lt]) and "EAO" in format_table([vot]) and "SR0.50" in format_table([got])
    for score, name in ((vot, "eao_curves.png"), (lt, "precision_recall.png"), (got, "success_plot.png")):
        [path] = plot_scores([score], str(tmp_path / score["protocol"]), "X")
        assert path.endswith(name) and cv2.imread(path).shape == (720, 960, 3)
    as_json = to_jsonable(lt)
    assert as_json["thresholds"][0] is None and isinstance(as_json["precision_curve"], list)
