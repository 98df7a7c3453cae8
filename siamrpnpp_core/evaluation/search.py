"""Test-time hyperparameter search over penalty_k, window_influence and lr (grid or random).

Each setting runs the tracker over the dataset into ``<out>/runs/<setting>/`` and is scored by a
named metric; a worker process per core (``torch.set_num_threads(1)``) builds the network and its
engine once, from the same tracker options as ``eval run``, and takes settings one by one.
``<out>/search.csv`` holds one row per finished setting: rerunning skips them (and finished sequences
of an interrupted setting), so a search resumes where it stopped.
"""
from __future__ import annotations

import csv
import io
import itertools
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace

import numpy as np

from ..atomic import atomic_write
from ..options import TrackerOptions

log = logging.getLogger(__name__)
PARAMETERS = ("penalty_k", "window_influence", "lr")


@dataclass(frozen=True)
class Setting:
    penalty_k: float
    window_influence: float
    lr: float

    @property
    def key(self) -> str:
        """Folder-safe identifier, e.g. ``k0.0500_wi0.4200_lr0.3800``."""
        return f"k{self.penalty_k:.4f}_wi{self.window_influence:.4f}_lr{self.lr:.4f}"


@dataclass(frozen=True)
class SearchJob:
    """Everything a worker needs (picklable): dataset, tracker options, the run's and the scoring's rules."""

    dataset: str
    root: str
    out_dir: str
    metric: str
    tracker: TrackerOptions = TrackerOptions()
    split: str | None = None
    index: str | None = None
    sequences: tuple[str, ...] = ()
    ope_rules: str = "pysot"
    overlap: str = "pysot"
    init_rule: str = "pysot"

    def load_dataset(self):
        from ..datasets import load_dataset
        dataset = load_dataset(self.dataset, self.root, split=self.split, index=self.index)
        return dataset.subset(self.sequences) if self.sequences else dataset


def grid_settings(penalty_k, window_influence, lr) -> list[Setting]:
    """Every combination of the given values."""
    return [Setting(float(k), float(w), float(r)) for k, w, r in itertools.product(penalty_k, window_influence, lr)]


def random_settings(n: int, ranges: dict[str, tuple[float, float]], seed: int = 0) -> list[Setting]:
    """``n`` settings drawn uniformly from ``ranges`` (name -> (low, high)), rounded to 4 decimals."""
    rng = np.random.default_rng(seed)
    missing = [p for p in PARAMETERS if p not in ranges]
    if missing:
        raise ValueError(f"random search needs a range for {', '.join(missing)}")
    return [Setting(*(round(float(rng.uniform(*ranges[p])), 4) for p in PARAMETERS)) for _ in range(n)]


_WORKER: dict = {}


def _init_worker(job: SearchJob) -> None:
    """Per process: one thread, one engine (network, weights, device, backend) and the dataset, reused
    for every setting."""
    import torch

    torch.set_num_threads(1)
    _WORKER["engine"] = job.tracker.build_engine()
    _WORKER["dataset"] = job.load_dataset()


def evaluate_setting(job: SearchJob, setting: Setting) -> dict:
    """Run and score one setting (in a worker, after :func:`_init_worker`)."""
    from ..tracker import SiamRPNTracker
    from .runner import run_dataset
    from .scoring import ScoreOptions, score_tracker
    start = time.perf_counter()
    engine, dataset = _WORKER["engine"], _WORKER["dataset"]
    config = replace(job.tracker.config(), penalty_k=setting.penalty_k, window_influence=setting.window_influence,
                     lr=setting.lr)
    tracker = SiamRPNTracker(engine, config)
    runs = os.path.join(job.out_dir, "runs")
    run_dataset(tracker, dataset, runs, setting.key, progress=False, init_rule=job.init_rule, overlap=job.overlap)
    score = score_tracker(dataset, runs, setting.key, ScoreOptions(job.ope_rules, overlap=job.overlap))
    return {"setting": setting.key, **{p: getattr(setting, p) for p in PARAMETERS},
            job.metric: score[job.metric], "seconds": round(time.perf_counter() - start, 1)}


def read_table(path: str) -> list[dict]:
    """Rows of a search table (numbers parsed)."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for k, v in row.items():
            if k != "setting":
                row[k] = float(v)
    return rows


def write_table(path: str, rows: list[dict]) -> None:
    if not rows:
        return
    fields = list(rows[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buf.getvalue())


def best_row(rows: list[dict], metric: str) -> dict:
    from .scoring import METRICS
    higher = METRICS[metric][1]
    return max(rows, key=lambda r: r[metric] if higher else -r[metric])


def search(job: SearchJob, settings: list[Setting], workers: int = 2) -> list[dict]:
    """Evaluate every setting not yet in ``<out_dir>/search.csv``; returns the whole table."""
    from ..backends import resolve_backend
    from ..device import resolve_device
    from .scoring import ScoreOptions, check_metric
    # fail early, in this process, on bad paths, names, rules, devices and backends
    check_metric(job.metric, job.load_dataset().protocol)
    ScoreOptions(job.ope_rules, overlap=job.overlap)
    job.tracker.config()
    resolve_backend(job.tracker.backend, resolve_device(job.tracker.device))
    table_path = os.path.join(job.out_dir, "search.csv")
    rows = read_table(table_path)
    if rows and job.metric not in rows[0]:
        raise ValueError(f"{table_path} was made with another metric ({', '.join(rows[0])}); use a new --out")
    done = {r["setting"] for r in rows}
    todo = list(dict.fromkeys(s for s in settings if s.key not in done))
    log.info("%d settings, %d already in %s", len(settings), len(settings) - len(todo), table_path)
    if todo:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo))), mp_context=context,
                                 initializer=_init_worker, initargs=(job,)) as pool:
            futures = {pool.submit(evaluate_setting, job, s): s for s in todo}
            for future in as_completed(futures):
                row = future.result()
                rows.append(row)
                write_table(table_path, rows)
                log.info("%s: %s = %.4f", row["setting"], job.metric, row[job.metric])
    return rows
