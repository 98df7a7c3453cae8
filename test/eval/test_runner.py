"""Runner protocols (one-pass, GOT-10k, VOT reset-based, long-term), result files, resume, scoring."""
import os

import numpy as np
import pytest

from evalkit import boxes_text, scripted_for, walk, write_images, write_text
from siamrpnpp_core.evaluation import DatasetError, ScoreOptions, load_dataset, run_dataset, score_tracker
from siamrpnpp_core.evaluation.results import read_boxes, read_regions, read_values, write_boxes


def _otb(root, n=8, names=("Aa", "Bb")):
    for k, name in enumerate(names):
        write_images(f"{root}/{name}/img", [f"{i:04d}.jpg" for i in range(1, n + 1)], size=(64, 48), seed=k)
        write_text(f"{root}/{name}/groundtruth_rect.txt", boxes_text(walk(n, (10 + k, 8, 20, 16))))
    return load_dataset("OTB100", root)


def _vot(root, n=20):
    write_images(f"{root}/seq/color", [f"{i:08d}.jpg" for i in range(1, n + 1)], size=(64, 48))
    write_text(f"{root}/seq/groundtruth.txt", boxes_text(walk(n, (10, 8, 20, 16), (1, 0))))
    write_text(f"{root}/list.txt", "seq\n")
    return load_dataset("VOT2018", root)


def test_one_pass_writes_otb_files_and_resumes(tmp_path):
    ds = _otb(tmp_path / "otb")
    results = str(tmp_path / "results")
    tracker = scripted_for(ds)
    assert run_dataset(tracker, ds, results, "oracle", progress=False) == ["Aa", "Bb"]
    boxes = read_boxes(f"{results}/oracle/Aa.txt")
    assert boxes.shape == (8, 4)
    np.testing.assert_allclose(boxes[0], [10.5, 8.5, 20, 16])  # pysot's initial box, written for frame 0
    np.testing.assert_allclose(boxes[1:], ds["Aa"].groundtruth[1:])
    assert tracker.inits == [("Aa", 0, (10.5, 8.5, 20.0, 16.0)), ("Bb", 0, (11.5, 8.5, 20.0, 16.0))]
    # resumable: finished sequences are skipped; a deleted one is redone
    os.remove(f"{results}/oracle/Bb.txt")
    assert run_dataset(tracker, ds, results, "oracle", progress=False) == ["Bb"]
    assert run_dataset(tracker, ds, results, "oracle", progress=False, overwrite=True) == ["Aa", "Bb"]
    assert sorted(os.listdir(f"{results}/oracle")) == ["Aa.txt", "Bb.txt"]  # no temporary file left
    # a perfect tracker scored with got10k's rules (frame 0 = ground truth): 20/21, precision 1
    s = score_tracker(ds, results, "oracle", ScoreOptions("got10k"))
    assert s["success"] == pytest.approx(20 / 21) and s["precision"] == 1.0


def test_exact_init_and_missing_results(tmp_path):
    ds = _otb(tmp_path / "otb", names=("Aa",))
    results = str(tmp_path / "results")
    tracker = scripted_for(ds)
    run_dataset(tracker, ds, results, "t", progress=False, init_rule="exact")
    assert tracker.inits[0][2] == (10.0, 8.0, 20.0, 16.0)
    with pytest.raises(DatasetError, match=r"tracker nobody"):
        score_tracker(ds, results, "nobody")
    write_text(f"{results}/short/Aa.txt", "1,2,3,4\n")
    with pytest.raises(DatasetError, match=r"tracker short, sequence Aa: .*1 lines for 8 frames"):
        score_tracker(ds, results, "short")


def test_vot_reset_protocol(tmp_path):
    ds = _vot(tmp_path / "vot", 30)
    results = str(tmp_path / "results")
    # the tracker loses the target at frame 3 (box far away) and at frame 10
    far = (200.0, 200.0, 5.0, 5.0)
    tracker = scripted_for(ds, overrides={("seq", 3): far, ("seq", 10): far})
    run_dataset(tracker, ds, results, "t", progress=False)
    traj = read_regions(f"{results}/t/baseline/seq/seq_001.txt")
    codes = [int(r[0]) if r.size == 1 else None for r in traj]
    assert codes[:10] == [1, None, None, 2, 0, 0, 0, 0, 1, None]  # re-initialised 5 frames after the failure
    assert codes[10:16] == [2, 0, 0, 0, 0, 1]
    assert [i[1] for i in tracker.inits] == [0, 8, 15]
    score = score_tracker(ds, results, "t")
    assert score["lost_number"] == 2 and score["robustness"] == pytest.approx(200 / 30)
    assert score["accuracy"] == pytest.approx(1.0)  # frames 25..29 are past burn-in, and exact
    assert len(score["eao_curve"]) == 30


def test_got10k_and_long_term_files(tmp_path):
    root = tmp_path / "got"
    seq_dir = root / "val" / "GOT-10k_Val_000001"
    write_images(str(seq_dir), [f"{i:08d}.jpg" for i in range(1, 7)], size=(64, 48))
    write_text(f"{seq_dir}/groundtruth.txt", boxes_text(walk(6, (10, 8, 20, 16))))
    write_text(f"{seq_dir}/cover.label", "8\n8\n8\n0\n8\n8\n")
    write_text(f"{root}/val/list.txt", "GOT-10k_Val_000001\n")
    ds = load_dataset("GOT-10k", str(root))
    results = str(tmp_path / "results")
    run_dataset(scripted_for(ds), ds, results, "t", progress=False)
    folder = f"{results}/t/GOT-10k_Val_000001"
    assert read_boxes(f"{folder}/GOT-10k_Val_000001_001.txt").shape == (6, 4)
    assert len(read_values(f"{folder}/GOT-10k_Val_000001_time.txt")) == 6
    s = score_tracker(ds, results, "t")
    assert s["ao"] == pytest.approx(1.0) and s["frames"] == 4  # frame 0 and the covered frame dropped

    lt = tmp_path / "lt"
    write_images(f"{lt}/s1/color", [f"{i:08d}.jpg" for i in range(1, 6)], size=(64, 48))
    write_text(f"{lt}/s1/groundtruth.txt", "10,8,20,16\n11,8,20,16\nnan,nan,nan,nan\n13,8,20,16\n14,8,20,16\n")
    write_text(f"{lt}/list.txt", "s1\n")
    ds = load_dataset("VOT2018-LT", str(lt))
    scores = {"s1": [None, 0.9, 0.2, 0.8, 0.7]}
    boxes = {"s1": np.array(walk(5, (10, 8, 20, 16), (1, 0)))}
    run_dataset(scripted_for(ds, scores=scores, boxes=boxes), ds, results, "lt", progress=False)
    traj = read_regions(f"{results}/lt/longterm/s1/s1_001.txt")
    assert traj[0].tolist() == [1.0] and traj[1].size == 4
    conf = read_values(f"{results}/lt/longterm/s1/s1_001_confidence.value")
    assert np.isnan(conf[0]) and conf[1:].tolist() == [0.9, 0.2, 0.8, 0.7]
    s = score_tracker(ds, results, "lt")
    # best threshold 0.7: frames 1, 3, 4 selected, all exact (overlap 1) -> P = 1, R = 3 / 4 visible
    assert s["precision"] == pytest.approx(1.0) and s["recall"] == pytest.approx(0.75)
    assert s["f_score"] == pytest.approx(2 * 0.75 / 1.75)


def test_result_file_round_trip_and_errors(tmp_path):
    path = str(tmp_path / "r" / "a.txt")
    write_boxes(path, [[1], [1.5, 2, 3, 4], [2], [0], [1, 2, 3, 4, 5, 6, 7, 8]])
    regions = read_regions(path)
    assert [r.size for r in regions] == [1, 4, 1, 1, 8] and regions[1].tolist() == [1.5, 2, 3, 4]
    write_text(str(tmp_path / "bad.txt"), "1,2,3,4\n1,2,x,4\n")
    with pytest.raises(DatasetError, match=r"bad.txt line 2 is not numbers"):
        read_boxes(str(tmp_path / "bad.txt"))
    write_text(str(tmp_path / "ws.txt"), "1 2 3 4\n5\t6\t7\t8\n\n")  # other toolkits' separators
    assert read_boxes(str(tmp_path / "ws.txt")).tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
