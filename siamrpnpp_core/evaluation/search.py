"""Test-time hyperparameter search over penalty_k, window_influence and lr, on Optuna.

A study (:mod:`.study`: samplers, storage, pruning) proposes settings; each runs the tracker over the
dataset into ``<out>/runs/<setting>/`` and is scored by a named metric. Workers are Optuna processes
on one storage (``workers`` here, and any other machine given the same storage and study), or, with
``ray``, trials in this process whose sequences run as Ray tasks. ``<out>/search.csv`` holds one row
per finished setting. The storage keeps every trial, so a search resumes where it stopped; an
interrupted setting reruns only its unfinished sequences.
"""
from __future__ import annotations

import csv
import io
import itertools
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ..atomic import atomic_write
from ..options import TrackerOptions

log = logging.getLogger(__name__)
PARAMETERS = ("penalty_k", "window_influence", "lr")
SAMPLERS = ("tpe", "grid", "random")
PRUNERS = ("median", "none")


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
    """What is searched (picklable): dataset, tracker options, metric, the run's and the scoring's rules."""

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


@dataclass(frozen=True)
class SearchOptions:
    """How to search: Optuna sampler, number of settings (default for grid: the whole grid), storage
    (``None``: a journal file in the output folder; an RDB URL; or a journal file path) and study name,
    local worker processes or concurrent trials on a Ray cluster, pruner."""

    sampler: str = "grid"
    trials: int | None = None
    seed: int = 0
    storage: str | None = None
    study: str = "search"
    workers: int = 2
    ray: str | None = None
    pruner: str = "median"
    prune_startup: int = 5
    prune_after: int | None = None

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}")
        if self.workers < 1 or (self.trials is not None and self.trials < 1):
            raise ValueError("workers and trials must be at least 1")


def parse_values(text: str) -> dict:
    """``"a,b,c"`` -> ``{"values": [a, b, c]}``; ``"LOW:HIGH"`` -> ``{"range": [low, high]}`` (4 decimals)."""
    try:
        if ":" in text:
            low, high = (round(float(v), 4) for v in text.split(":"))
            if not low < high:
                raise ValueError
            return {"range": [low, high]}
        values = [float(v) for v in text.split(",") if v.strip()]
        if not values:
            raise ValueError
        return {"values": values}
    except ValueError:
        raise ValueError(f"expected comma-separated numbers or LOW:HIGH, got {text!r}") from None


def grid_settings(penalty_k, window_influence, lr) -> list[Setting]:
    """Every combination of the given values."""
    return [Setting(float(k), float(w), float(r)) for k, w, r in itertools.product(penalty_k, window_influence, lr)]


def space_settings(space: dict) -> list[Setting]:
    """The grid of a space whose parameters are all value lists."""
    ranges = [p for p in PARAMETERS if "values" not in space[p]]
    if ranges:
        raise ValueError(f"the grid sampler needs value lists, not ranges, for {', '.join(ranges)}")
    return grid_settings(*(space[p]["values"] for p in PARAMETERS))


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
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buf.getvalue())


def best_row(rows: list[dict], metric: str) -> dict:
    from .scoring import METRICS
    higher = METRICS[metric][1]
    return max(rows, key=lambda r: r[metric] if higher else -r[metric])


def _check(job: SearchJob, options: SearchOptions) -> None:
    """Fail early, in this process, on bad paths, names, rules, devices and backends."""
    from ..backends import resolve_backend
    from ..device import resolve_device
    from .scoring import ScoreOptions, check_metric
    check_metric(job.metric, job.load_dataset().protocol)
    ScoreOptions(job.ope_rules, overlap=job.overlap)
    job.tracker.config()
    if options.ray is None:
        resolve_backend(job.tracker.backend, resolve_device(job.tracker.device))


def search(job: SearchJob, space: dict, options: SearchOptions = SearchOptions()) -> tuple[list[dict], list]:
    """Run the search until the study holds ``options.trials`` finished settings (see :mod:`.study`).

    ``space`` maps each of :data:`PARAMETERS` to ``{"values": [...]}`` or ``{"range": [low, high]}``
    (:func:`parse_values`). Writes the table of finished settings (``<out_dir>/search.csv``) and returns
    it with the pruned settings (name, sequences run).
    """
    from . import study as studies
    from .distributed import ray_session
    _check(job, options)
    os.makedirs(job.out_dir, exist_ok=True)
    study = studies.open_study(job, space, options)
    plan = studies.plan_search(study, space, options)
    log.info("study %s: %d settings wanted, %d to run", options.study, plan.target, plan.todo)
    if plan.todo and options.ray is not None:
        with ray_session(options.ray):
            studies.optimize(job, space, options, plan, n_jobs=options.workers)
    elif plan.todo and options.workers == 1:
        studies.optimize(job, space, options, plan, threads_one=True)
    elif plan.todo:
        with ProcessPoolExecutor(options.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            level = logging.getLogger().getEffectiveLevel()
            futures = [pool.submit(studies.optimize, job, space, options, plan, worker=k, threads_one=True,
                                   log_level=level) for k in range(options.workers)]
            for future in futures:
                future.result()
    rows = studies.table(study, job.metric)
    path = os.path.join(job.out_dir, "search.csv")
    if rows != read_table(path):
        write_table(path, rows)
    return rows, studies.pruned(study)
