"""Test-time hyperparameter search: settings, the resumable table, two worker processes, the CLI."""
import os
from pathlib import Path

import numpy as np
import pytest

from siamrpnpp_core import TrackerOptions
from siamrpnpp_core.cli import main
from siamrpnpp_core.evaluation import search as search_module
from siamrpnpp_core.evaluation.search import (SearchJob, Setting, best_row, grid_settings, random_settings,
                                              read_table, search)
from siamrpnpp_core.synthetic import SynthConfig, generate

BACKGROUNDS = Path(__file__).resolve().parents[2] / ".cache/opencv-doc/usr/share/doc/opencv-doc/examples/data"
CPU = TrackerOptions(device="cpu")


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory):
    if not BACKGROUNDS.is_dir():
        pytest.fail(f"{BACKGROUNDS} missing: run `make test-data`")
    root = str(tmp_path_factory.mktemp("otb"))
    generate(root, SynthConfig(num_sequences=1, length=8, size=(128, 96), layout="otb"), str(BACKGROUNDS))
    return root


def test_grid_and_random_settings():
    grid = grid_settings([0.04, 0.05], [0.4], [0.3, 0.35])
    assert len(grid) == 4 and grid[0] == Setting(0.04, 0.4, 0.3) and grid[-1] == Setting(0.05, 0.4, 0.35)
    assert grid[0].key == "k0.0400_wi0.4000_lr0.3000"
    ranges = {"penalty_k": (0.0, 0.3), "window_influence": (0.2, 0.6), "lr": (0.1, 0.6)}
    drawn = random_settings(20, ranges, seed=3)
    assert drawn == random_settings(20, ranges, seed=3) and len({s.key for s in drawn}) == 20
    values = np.array([[s.penalty_k, s.window_influence, s.lr] for s in drawn])
    assert (values >= [0, 0.2, 0.1]).all() and (values <= [0.3, 0.6, 0.6]).all()
    with pytest.raises(ValueError, match="range for lr"):
        random_settings(2, {"penalty_k": (0, 1), "window_influence": (0, 1)})
    rows = [{"setting": "a", "robustness": 3.0, "eao": 0.2}, {"setting": "b", "robustness": 1.0, "eao": 0.1}]
    assert best_row(rows, "robustness")["setting"] == "b" and best_row(rows, "eao")["setting"] == "a"


def test_search_two_workers_resumes_and_reports(otb_root, tmp_path, capsys):
    root, out = otb_root, str(tmp_path / "search")
    job = SearchJob("OTB100", root, out, "success", tracker=CPU)
    settings = grid_settings([0.05, 0.3], [0.42], [0.38])
    rows = search(job, settings, workers=2)
    assert sorted(r["setting"] for r in rows) == sorted(s.key for s in settings)
    assert all(0 <= r["success"] <= 1 for r in rows)
    # each setting ran into its own result folder in the standard layout
    for s in settings:
        assert np.loadtxt(os.path.join(out, "runs", s.key, "Synth01.txt"), delimiter=",").shape == (8, 4)
    table = os.path.join(out, "search.csv")
    assert len(read_table(table)) == 2
    mtime = os.path.getmtime(table)
    assert search(job, settings, workers=2) == read_table(table) and os.path.getmtime(table) == mtime
    with pytest.raises(ValueError, match="another metric"):
        search(SearchJob("OTB100", root, out, "precision", tracker=CPU), settings)
    with pytest.raises(ValueError, match="does not exist for ope"):
        search(SearchJob("OTB100", root, str(tmp_path / "s2"), "eao", tracker=CPU), settings)
    # the command line prints the whole table and the best setting (nothing left to run: resumed)
    assert main(["eval", "search", "--dataset", "OTB100", "--root", root, "--out", out, "--device", "cpu",
                 "--penalty-k", "0.05,0.3", "--metric", "success"]) == 0
    printed = capsys.readouterr().out
    best = best_row(read_table(table), "success")
    assert f"best: penalty_k={best['penalty_k']}" in printed and printed.count("0.4200") == 2


def test_search_passes_every_tracker_option_of_run_to_its_workers(otb_root, tmp_path, monkeypatch):
    """``eval search --backend ...`` reaches the job, and a worker builds its engine from the job."""
    jobs = []
    monkeypatch.setattr(search_module, "search", lambda job, settings, workers: jobs.append(job) or [])
    monkeypatch.setattr(search_module, "best_row", lambda rows, metric: {"penalty_k": 0, "window_influence": 0,
                                                                         "lr": 0, "success": 0})
    common = ["eval", "search", "--dataset", "OTB100", "--root", otb_root, "--out", str(tmp_path / "s"), "--device",
              "cpu", "--backend", "torch", "--hparams", "mmtracking_otb100", "--long-term", "--random-weights",
              "--init", "exact", "--overlap", "vot", "--ope-rules", "lasot"]
    assert main(common + ["--index", str(tmp_path / "none.json")]) == 2  # the index reaches the dataset too
    assert not jobs
    assert main(common) == 0
    [job] = jobs
    assert job.tracker == TrackerOptions(preset="siamrpn_alex_dwxcorr", random_init=True, hparams="mmtracking_otb100",
                                         overrides=(("long_term", True),), device="cpu", backend="torch")
    assert (job.init_rule, job.overlap, job.ope_rules) == ("exact", "vot", "lasot")
    assert job.tracker.config().penalty_k == 0.4 and job.tracker.config().long_term
    search_module._init_worker(job)  # what each worker process runs first
    assert search_module._WORKER["engine"].name == "torch"
    row = search_module.evaluate_setting(job, Setting(0.1, 0.2, 0.3))
    assert 0 <= row["success"] <= 1
    assert os.path.isfile(tmp_path / "s" / "runs" / Setting(0.1, 0.2, 0.3).key / "Synth01.txt")
