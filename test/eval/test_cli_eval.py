"""`siamrpnpp eval` end to end: synthetic benchmark -> the real tracker (default preset) -> files -> scores,
cross-checked against the got10k toolkit reading the same files."""
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from got10k.experiments import ExperimentOTB

from evalkit import boxes_text, walk, write_images, write_text
from siamrpnpp_core.cli import main

BACKGROUNDS = Path(__file__).resolve().parents[2] / ".cache/opencv-doc/usr/share/doc/opencv-doc/examples/data"


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory):
    """2 sequences x 8 frames, LaSOT layout, tracked once on the CPU with the default preset."""
    if not BACKGROUNDS.is_dir():
        pytest.fail(f"{BACKGROUNDS} missing: run `make test-data`")
    tmp = tmp_path_factory.mktemp("e2e")
    root, results = str(tmp / "synth"), str(tmp / "results")
    assert main(["eval", "synth", "--out", root, "--num-sequences", "2", "--length", "8", "--size", "160x120",
                 "--backgrounds", str(BACKGROUNDS)]) == 0
    assert main(["eval", "run", "--dataset", "LaSOT", "--root", root, "--results", results, "--device", "cpu",
                 "--tracker-name", "r50"]) == 0
    return tmp, root, results


def test_run_writes_standard_files_and_resumes(synth_run, capsys):
    tmp, root, results = synth_run
    for name in ("synth-1", "synth-2"):
        boxes = np.loadtxt(os.path.join(results, "r50", f"{name}.txt"), delimiter=",")
        assert boxes.shape == (8, 4) and np.isfinite(boxes).all() and (boxes[:, 2:] > 0).all()
        gt0 = np.loadtxt(os.path.join(root, "synth", name, "groundtruth.txt"), delimiter=",")[0]
        np.testing.assert_allclose(boxes[0], gt0 + [0.5, 0.5, 0, 0], atol=1e-4)
    capsys.readouterr()
    assert main(["eval", "run", "--dataset", "LaSOT", "--root", root, "--results", results, "--device", "cpu",
                 "--tracker-name", "r50"]) == 0
    assert "ran 0 of 2 sequences" in capsys.readouterr().out


def test_score_matches_got10k_on_the_written_files(synth_run, capsys):
    tmp, root, results = synth_run
    out_json, plots = str(tmp / "scores.json"), str(tmp / "plots")
    assert main(["eval", "score", "--dataset", "LaSOT", "--root", root, "--results", results,
                 "--ope-rules", "got10k", "--json", out_json, "--plots", plots]) == 0
    printed = capsys.readouterr().out
    assert "Success (AUC)" in printed and "r50" in printed
    [score] = json.load(open(out_json))
    exp = ExperimentOTB.__new__(ExperimentOTB)
    exp.nbins_iou, exp.nbins_ce = 21, 51
    succ, prec = [], []
    for name in ("synth-1", "synth-2"):
        boxes = np.loadtxt(os.path.join(results, "r50", f"{name}.txt"), delimiter=",")
        anno = np.loadtxt(os.path.join(root, "synth", name, "groundtruth.txt"), delimiter=",")
        boxes[0] = anno[0]
        s, p = exp._calc_curves(*exp._calc_metrics(boxes, anno))
        succ.append(s)
        prec.append(p)
    assert score["success"] == pytest.approx(np.mean(np.mean(succ, axis=0)), abs=1e-9)
    assert score["precision"] == pytest.approx(np.mean(prec, axis=0)[20], abs=1e-9)
    for png in ("success_plot.png", "precision_plot.png", "norm_precision_plot.png"):
        assert cv2.imread(os.path.join(plots, png)).shape == (720, 960, 3)
    # the default (pysot) rules drop the frames flagged out of view / fully occluded
    assert main(["eval", "score", "--dataset", "LaSOT", "--root", root, "--results", results, "--no-plots"]) == 0


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["eval", "score", "--dataset", "OTB100", "--root", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    write_images(f"{tmp_path}/otb/Aa/img", ["0001.jpg", "0002.jpg"])
    write_text(f"{tmp_path}/otb/Aa/groundtruth_rect.txt", boxes_text(walk(2)))
    assert main(["eval", "score", "--dataset", "OTB100", "--root", f"{tmp_path}/otb",
                 "--results", f"{tmp_path}/res"]) == 2
    assert "no tracker result folders" in capsys.readouterr().err
    assert main(["eval", "run", "--dataset", "OTB100", "--root", f"{tmp_path}/otb", "--sequences", "Bb"]) == 2
    assert "no sequence(s) Bb" in capsys.readouterr().err
    assert main(["eval", "synth", "--out", str(tmp_path / "s"), "--size", "big"]) == 2
