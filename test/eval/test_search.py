"""Hyperparameter search on Optuna: search spaces, the grid over two worker processes, resuming after a
partial or interrupted search, pruning, one storage shared by two processes, the CLI."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

from siamrpnpp_core import DEFAULT_PRESET, TrackerOptions
from siamrpnpp_core.cli import main
from siamrpnpp_core.evaluation import distributed
from siamrpnpp_core.evaluation import search as search_module
from siamrpnpp_core.evaluation.search import (SearchJob, SearchOptions, Setting, best_row, grid_settings,
                                              parse_values, read_table, search, space_settings)
from siamrpnpp_core.evaluation.study import open_storage, open_study
from siamrpnpp_core.synthetic import SynthConfig, generate

BACKGROUNDS = Path(__file__).resolve().parents[2] / ".cache/opencv-doc/usr/share/doc/opencv-doc/examples/data"
CPU = TrackerOptions(device="cpu")
GOOD = {"penalty_k": {"values": [0.05, 0.3]}, "window_influence": {"values": [0.42]}, "lr": {"values": [0.38]}}


def synth(root, sequences, length=8):
    if not BACKGROUNDS.is_dir():
        pytest.fail(f"{BACKGROUNDS} missing: run `make test-data`")
    generate(str(root), SynthConfig(num_sequences=sequences, length=length, size=(128, 96), layout="otb"),
             str(BACKGROUNDS))
    return str(root)


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("otb"), 1)


@pytest.fixture(scope="module")
def otb2_root(tmp_path_factory):
    return synth(tmp_path_factory.mktemp("otb2"), 2, length=12)


def trials(out, states=("COMPLETE",), storage=None, study="search"):
    loaded = optuna.load_study(study_name=study, storage=open_storage(storage, out))
    return loaded.get_trials(states=tuple(getattr(optuna.trial.TrialState, s) for s in states))


def test_spaces_and_settings():
    assert parse_values("0.04, 0.05") == {"values": [0.04, 0.05]}
    assert parse_values("0.1:0.35") == {"range": [0.1, 0.35]}
    for bad in ("0.3:0.1", "a,b", "", "1:2:3"):
        with pytest.raises(ValueError, match="LOW:HIGH"):
            parse_values(bad)
    grid = grid_settings([0.04, 0.05], [0.4], [0.3, 0.35])
    assert len(grid) == 4 and grid[0] == Setting(0.04, 0.4, 0.3) and grid[-1] == Setting(0.05, 0.4, 0.35)
    assert grid[0].key == "k0.0400_wi0.4000_lr0.3000"
    assert space_settings(GOOD) == grid_settings([0.05, 0.3], [0.42], [0.38])
    with pytest.raises(ValueError, match="value lists, not ranges, for lr"):
        space_settings({**GOOD, "lr": {"range": [0.1, 0.5]}})
    with pytest.raises(ValueError, match="sampler"):
        SearchOptions(sampler="cmaes")
    rows = [{"setting": "a", "robustness": 3.0, "eao": 0.2}, {"setting": "b", "robustness": 1.0, "eao": 0.1}]
    assert best_row(rows, "robustness")["setting"] == "b" and best_row(rows, "eao")["setting"] == "a"


def test_grid_over_two_workers_covers_the_grid_exactly(otb_root, tmp_path, capsys):
    root, out = otb_root, str(tmp_path / "search")
    job = SearchJob("OTB100", root, out, "success", tracker=CPU)
    space = {**GOOD, "lr": {"values": [0.3, 0.38]}}
    rows, pruned = search(job, space, SearchOptions(workers=2, pruner="none"))
    grid = {s.key for s in space_settings(space)}
    assert sorted(r["setting"] for r in rows) == sorted(grid) and not pruned
    assert all(0 <= r["success"] <= 1 for r in rows)
    assert set(os.listdir(os.path.join(out, "runs"))) == grid  # each setting ran into its own folder
    for key in grid:
        assert np.loadtxt(os.path.join(out, "runs", key, "Synth01.txt"), delimiter=",").shape == (8, 4)
    table = os.path.join(out, "search.csv")
    assert read_table(table) == rows
    # rerun: nothing left, no trial added, table untouched
    mtime, number = os.path.getmtime(table), len(trials(out, ("COMPLETE", "PRUNED", "RUNNING", "FAIL")))
    assert search(job, space, SearchOptions(workers=2)) == (rows, [])
    assert os.path.getmtime(table) == mtime and len(trials(out, ("COMPLETE", "PRUNED", "RUNNING", "FAIL"))) == number
    with pytest.raises(ValueError, match="made with another metric"):
        search(SearchJob("OTB100", root, out, "precision", tracker=CPU), space)
    with pytest.raises(ValueError, match="made with another space"):
        search(job, GOOD)
    with pytest.raises(ValueError, match="does not exist for ope"):
        search(SearchJob("OTB100", root, str(tmp_path / "s2"), "eao", tracker=CPU), space)
    # the command line prints the whole table, best first, and the best setting (resumed: nothing to run)
    assert main(["eval", "search", "--dataset", "OTB100", "--root", root, "--out", out, "--device", "cpu",
                 "--penalty-k", "0.05,0.3", "--window-influence", "0.42", "--lr", "0.3,0.38",
                 "--metric", "success"]) == 0
    printed = capsys.readouterr().out
    best = best_row(rows, "success")
    assert f"best: penalty_k={best['penalty_k']}" in printed and printed.count("0.4200") == 4
    printed_scores = [float(line.split()[3]) for line in printed.splitlines()[1:5]]
    assert printed_scores == sorted((round(r["success"], 4) for r in rows), reverse=True)


def test_partial_and_interrupted_searches_resume(otb2_root, tmp_path, monkeypatch):
    """Finished settings are not rerun; an interrupted one reruns only its unfinished sequences."""
    out = str(tmp_path / "search")
    job = SearchJob("OTB100", otb2_root, out, "success", tracker=CPU)
    space = {**GOOD, "penalty_k": {"values": [0.05, 0.2, 0.3]}}
    options = SearchOptions(workers=1, pruner="none")
    calls = []
    run_named = distributed.run_named

    def counted(spec, name):
        calls.append((spec.config.penalty_k, name))
        if len(calls) == 4:  # the second sequence of the second setting: Ctrl-C
            raise KeyboardInterrupt
        return run_named(spec, name)
    monkeypatch.setattr(distributed, "run_named", counted)
    [first], _ = search(job, space, SearchOptions(trials=1, workers=1, pruner="none"))
    with pytest.raises(KeyboardInterrupt):
        search(job, space, options)
    assert [t.params for t in trials(out, ("FAIL",))] == [{"penalty_k": calls[3][0], "window_influence": 0.42,
                                                           "lr": 0.38}]
    rows, _ = search(job, space, options)
    assert sorted(r["setting"] for r in rows) == sorted(s.key for s in space_settings(space))
    assert rows[0] == first  # not rerun
    interrupted, last = calls[3][0], ({0.05, 0.2, 0.3} - {calls[0][0], calls[3][0]}).pop()
    assert calls[4:] == [(interrupted, "Synth02"), (last, "Synth01"), (last, "Synth02")]


def test_tpe_over_ranges_resumes_to_the_wanted_number(otb_root, tmp_path):
    out = str(tmp_path / "search")
    job = SearchJob("OTB100", otb_root, out, "success", tracker=CPU)
    space = {"penalty_k": parse_values("0.01:0.4"), "window_influence": parse_values("0.3:0.5"),
             "lr": {"values": [0.3, 0.38]}}
    rows, _ = search(job, space, SearchOptions("tpe", trials=2, workers=1))
    again, _ = search(job, space, SearchOptions("tpe", trials=3, workers=1))
    assert again[:2] == rows and len(again) == 3 and len(trials(out)) == 3
    for r in again:
        assert 0.01 <= r["penalty_k"] <= 0.4 and 0.3 <= r["window_influence"] <= 0.5 and r["lr"] in (0.3, 0.38)
        assert r["penalty_k"] == round(r["penalty_k"], 4)
    with pytest.raises(ValueError, match="--trials N"):
        search(job, space, SearchOptions("random", workers=1))


def test_pruning_stops_a_clearly_bad_setting(otb2_root, tmp_path, capsys):
    """Two good settings finish; window_influence 1 (the box never leaves the window's centre... the previous
    position) scores far lower on the first sequence and is stopped there."""
    out = str(tmp_path / "search")
    job = SearchJob("OTB100", otb2_root, out, "success", tracker=CPU)
    space = {**GOOD, "window_influence": {"values": [0.42, 1.0]}}
    options = SearchOptions(trials=3, workers=1, prune_startup=2, prune_after=1)
    study = open_study(job, space, options)
    for k, wi in ((0.05, 0.42), (0.3, 0.42), (0.05, 1.0)):  # this order: the bad setting comes last
        study.enqueue_trial({"penalty_k": k, "window_influence": wi, "lr": 0.38})
    rows, pruned = search(job, space, options)
    bad = Setting(0.05, 1.0, 0.38).key
    assert pruned == [(bad, 1)] and len(rows) == 2 and bad not in {r["setting"] for r in rows}
    assert os.listdir(os.path.join(out, "runs", bad)) == ["Synth01.txt"]
    [trial] = trials(out, ("PRUNED",))
    assert trial.intermediate_values[1] < min(t.intermediate_values[1] for t in trials(out))
    assert main(["eval", "search", "--dataset", "OTB100", "--root", otb2_root, "--out", out, "--device", "cpu",
                 "--window-influence", "0.42,1", "--penalty-k", "0.05,0.3", "--lr", "0.38", "--trials", "3"]) == 0
    assert f"pruned: {bad} after 1 sequences" in capsys.readouterr().out


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_one_storage_shared_by_two_processes(otb_root, tmp_path, storage):
    """A second process (another machine) on the same storage and study continues the first's search."""
    url = f"sqlite:///{tmp_path}/search.db" if storage == "sqlite" else str(tmp_path / "shared.journal")
    space = {**GOOD, "lr": {"values": [0.3, 0.38]}}
    job = SearchJob("OTB100", otb_root, str(tmp_path / "a"), "success", tracker=CPU)
    first, _ = search(job, space, SearchOptions(trials=2, workers=1, storage=url, study="shared"))
    command = [sys.executable, "-m", "siamrpnpp_core.cli", "eval", "search", "--dataset", "OTB100", "--root",
               otb_root, "--out", str(tmp_path / "b"), "--device", "cpu", "--penalty-k", "0.05,0.3",
               "--window-influence", "0.42", "--lr", "0.3,0.38", "--storage", url, "--study", "shared",
               "--workers", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    second = read_table(str(tmp_path / "b" / "search.csv"))
    assert second[:2] == first and len(second) == 4
    assert len(os.listdir(tmp_path / "b" / "runs")) == 2  # the second process ran only what was left
    assert not os.path.exists(tmp_path / "a" / "search.journal")


def test_search_passes_every_tracker_option_of_run_to_its_workers(otb_root, tmp_path, monkeypatch):
    """``eval search --backend ...`` reaches the job, and a worker builds its engine from the job."""
    jobs = []
    row = {"setting": "x", "penalty_k": 0, "window_influence": 0, "lr": 0, "success": 0, "seconds": 0}
    monkeypatch.setattr(search_module, "search", lambda job, space, options: jobs.append(job) or ([row], []))
    common = ["eval", "search", "--dataset", "OTB100", "--root", otb_root, "--out", str(tmp_path / "s"), "--device",
              "cpu", "--backend", "torch", "--hparams", "mmtracking_otb100", "--long-term", "--random-weights",
              "--init", "exact", "--overlap", "vot", "--ope-rules", "lasot"]
    assert main(common + ["--index", str(tmp_path / "none.json")]) == 2  # the index reaches the dataset too
    assert not jobs
    assert main(common) == 0
    [job] = jobs
    assert job.tracker == TrackerOptions(preset=DEFAULT_PRESET, random_init=True, hparams="mmtracking_otb100",
                                         overrides=(("long_term", True),), device="cpu", backend="torch")
    assert (job.init_rule, job.overlap, job.ope_rules) == ("exact", "vot", "lasot")
    assert job.tracker.config().penalty_k == 0.4 and job.tracker.config().long_term
    monkeypatch.undo()
    built, build = [], TrackerOptions.build_engine
    monkeypatch.setattr(TrackerOptions, "build_engine", lambda self: built.append((self, build(self))) or built[-1][1])
    monkeypatch.setattr(distributed, "_CACHE", {})
    space = {"penalty_k": {"values": [0.1]}, "window_influence": {"values": [0.2]}, "lr": {"values": [0.3]}}
    [row], _ = search(job, space, SearchOptions(workers=1))
    [(options, engine)] = built  # what the worker ran with
    assert options == job.tracker and engine.name == "torch"
    assert 0 <= row["success"] <= 1
    assert os.path.isfile(tmp_path / "s" / "runs" / Setting(0.1, 0.2, 0.3).key / "Synth01.txt")
