"""The Optuna side of ``eval search``: storage, sampler and pruner, the objective, when to stop, retries.

A trial suggests a :class:`~.search.Setting`, runs the dataset's unfinished sequences for it (in this
process or as Ray tasks) and returns the metric. Where the metric is a mean over sequences (one-pass
success, precision, normalised precision; GOT-10k AO and SR, weighted by frames), it reports the
metric over the first k sequences, in the dataset's order, as step k, so Optuna's ``MedianPruner``
can stop a setting worse than the median of the finished ones at the same step.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
from dataclasses import dataclass, replace

import numpy as np

from ..datasets import DatasetError
from .distributed import RayFanOut, RunSpec, local_fan_out, one_thread
from .runner import iter_dataset, pending
from .scoring import METRICS, ScoreOptions, score_tracker
from .search import PARAMETERS, SearchJob, SearchOptions, Setting, space_settings, write_table

log = logging.getLogger(__name__)
STEP = 1e-4  # resolution of values drawn from ranges (setting folders name 4 decimals)
PRUNABLE = {"success": False, "precision": False, "norm_precision": False, "ao": True, "sr50": True, "sr75": True}
JOURNAL = "search.journal"  # the default storage, in the output folder


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ValueError("eval search needs Optuna: pip install optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(spec: str | None, out_dir: str):
    """An RDB storage for a URL (``sqlite:///search.db``, ``postgresql://...``), else a journal file
    (default ``<out_dir>/search.journal``)."""
    optuna = _optuna()
    if spec and "://" in spec:
        return optuna.storages.RDBStorage(spec)
    from optuna.storages.journal import JournalFileBackend
    path = os.path.abspath(spec or os.path.join(out_dir, JOURNAL))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(path))


def _sampler(space: dict, options: SearchOptions, worker: int, started: int):
    """Grid: one seed for all workers (the same grid order; trial k takes grid point k). Others: a seed per
    worker and per number of trials already started, so workers and resumed searches draw new settings."""
    samplers = _optuna().samplers
    if options.sampler == "grid":
        space_settings(space)
        return samplers.GridSampler({p: space[p]["values"] for p in PARAMETERS}, seed=options.seed)
    sampler = samplers.TPESampler if options.sampler == "tpe" else samplers.RandomSampler
    return sampler(seed=int(np.random.SeedSequence([options.seed, worker, started]).generate_state(1)[0]))


def _pruner(job: SearchJob, options: SearchOptions, sequences: int):
    pruners = _optuna().pruners
    if options.pruner == "none" or job.metric not in PRUNABLE:
        return pruners.NopPruner()
    after = options.prune_after if options.prune_after is not None else max(1, sequences // 4)
    return pruners.MedianPruner(n_startup_trials=options.prune_startup, n_warmup_steps=after)


def _fingerprint(job: SearchJob, space: dict) -> dict:
    """What every run and machine of one study must share (not paths, devices or backends)."""
    t = job.tracker
    return json.loads(json.dumps({
        "metric": job.metric, "dataset": [job.dataset, job.split, list(job.sequences)],
        "rules": [job.ope_rules, job.overlap, job.init_rule], "space": space,
        "tracker": [t.preset, t.hparams, [list(o) for o in t.overrides], t.random_init,
                    os.path.basename(t.weights) if t.weights else None]}))


def open_study(job: SearchJob, space: dict, options: SearchOptions, worker: int = 0):
    """Create or load the study; a loaded one must have been made for the same search."""
    optuna = _optuna()
    direction = "maximize" if METRICS[job.metric][1] else "minimize"
    storage = open_storage(options.storage, job.out_dir)
    study = optuna.create_study(storage=storage, study_name=options.study, direction=direction,
                                pruner=_pruner(job, options, len(job.load_dataset())), load_if_exists=True)
    study.sampler = _sampler(space, options, worker, len(study.get_trials(deepcopy=False)))
    want, have = _fingerprint(job, space), study.user_attrs.get("search")
    if have is None:
        study.set_user_attr("search", want)
    elif have != want:
        differ = ", ".join(k for k in want if have.get(k) != want[k])
        raise ValueError(f"study {options.study} ({options.storage or os.path.join(job.out_dir, JOURNAL)}) was "
                         f"made with another {differ}; use a new --out, --storage or --study")
    return study


def _states(*names):
    return tuple(getattr(_optuna().trial.TrialState, n) for n in names)


@dataclass(frozen=True)
class Plan:
    """How many finished settings the study should hold, how many to run now, and the trials that were
    already running when this search started (a killed worker's: not counted as work in progress)."""

    target: int
    todo: int
    stale: frozenset


def plan_search(study, space: dict, options: SearchOptions) -> Plan:
    """What is left to run; settings whose trial failed (an interrupted worker) are queued again first."""
    if options.sampler == "grid":
        size = len(space_settings(space))
        target = min(options.trials or size, size)
    elif options.trials is None:
        raise ValueError(f"--trials N: how many settings the {options.sampler} sampler should try")
    else:
        target = options.trials
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in _states("COMPLETE", "PRUNED")]
    todo = max(0, target - len(finished))
    alive = {_key(t) for t in trials if t.state in _states("COMPLETE", "PRUNED", "RUNNING", "WAITING")}
    failed = {_key(t): t.params for t in trials if t.state in _states("FAIL") and len(t.params) == 3}
    for key, params in list((k, p) for k, p in failed.items() if k not in alive)[:todo]:
        log.info("setting %s was interrupted: queued again", key)
        study.enqueue_trial(params)
    stale = frozenset(t.number for t in trials if t.state in _states("RUNNING"))
    return Plan(target, todo, stale)


def _key(trial) -> str | None:
    return Setting(*(trial.params[p] for p in PARAMETERS)).key if len(trial.params) == 3 else None


class _StopAt:
    """Stops this worker once the study's finished and running trials reach the target (queued ones are
    run first, by whichever worker asks next)."""

    def __init__(self, target: int, stale: frozenset):
        self.target, self.stale = target, stale

    def __call__(self, study, trial) -> None:
        trials = study.get_trials(deepcopy=False, states=_states("COMPLETE", "PRUNED", "RUNNING"))
        if sum(t.number not in self.stale for t in trials) >= self.target:
            study.stop()


def _suggest(trial, name: str, domain: dict) -> float:
    if "range" in domain:
        return round(trial.suggest_float(name, *domain["range"], step=STEP), 4)
    return float(trial.suggest_categorical(name, domain["values"]))


class _RunningScore:
    """The metric over the first k sequences as they finish in any order: yields (k, value) for each new k."""

    def __init__(self, names: list[str], score_one):
        self.names, self.score_one, self.scores = names, score_one, {}
        self.step, self.total, self.weight = 0, 0.0, 0.0

    def add(self, name: str):
        self.scores[name] = self.score_one(name)
        while self.step < len(self.names) and self.names[self.step] in self.scores:
            value, weight = self.scores[self.names[self.step]]
            self.step, self.total, self.weight = self.step + 1, self.total + value * weight, self.weight + weight
            if self.weight:
                yield self.step, self.total / self.weight


def _sequence_score(job: SearchJob, dataset, runs: str, key: str):
    """``score_one(name)``: the metric on one sequence and its weight (0 where no frame is scored)."""
    rules = ScoreOptions(job.ope_rules, overlap=job.overlap)

    def score_one(name):
        try:
            s = score_tracker(dataset.subset([name]), runs, key, rules)
        except DatasetError:
            raise
        except ValueError:  # no frame to score in this sequence
            return 0.0, 0.0
        return s[job.metric], float(s["frames"]) if PRUNABLE[job.metric] else 1.0
    return score_one


def _report(trial, steps) -> None:
    """Report each new step; prune the trial if the pruner says so."""
    step = None
    for step, value in steps:
        trial.report(value, step)
    if step is not None and trial.should_prune():
        raise _optuna().TrialPruned(f"pruned after {step} sequences")


def objective(job: SearchJob, space: dict, options: SearchOptions, dataset):
    """The trial function: a setting's run over ``dataset`` and its score."""
    base, runs = job.tracker.config(), os.path.join(job.out_dir, "runs")
    prune = options.pruner != "none" and job.metric in PRUNABLE

    def run(trial) -> float:
        setting = Setting(*(_suggest(trial, p, space[p]) for p in PARAMETERS))
        trial.set_user_attr("values", [setting.penalty_k, setting.window_influence, setting.lr])
        config = replace(base, penalty_k=setting.penalty_k, window_influence=setting.window_influence, lr=setting.lr)
        spec = RunSpec(job.dataset, job.root, job.tracker, config, job.split, job.index, job.init_rule, job.overlap)
        tracker_dir = os.path.join(runs, setting.key)
        todo = pending(dataset, tracker_dir)
        fan_out = RayFanOut(spec) if options.ray is not None else local_fan_out(spec)
        running = _RunningScore(dataset.names, _sequence_score(job, dataset, runs, setting.key))
        with contextlib.closing(iter_dataset(None, dataset, tracker_dir, todo, fan_out)) as ran:
            for name in itertools.chain((n for n in dataset.names if n not in todo), ran):
                if prune:
                    _report(trial, running.add(name))
        score = score_tracker(dataset, runs, setting.key, ScoreOptions(job.ope_rules, overlap=job.overlap))
        log.info("%s: %s = %.4f", setting.key, job.metric, score[job.metric])
        return score[job.metric]
    return run


def table(study, metric: str) -> list[dict]:
    """One row per finished (not pruned) setting, in trial order."""
    rows = {}
    for t in study.get_trials(deepcopy=False, states=_states("COMPLETE")):
        setting = Setting(*t.user_attrs["values"])
        rows.setdefault(setting.key, {"setting": setting.key, **dict(zip(PARAMETERS, t.user_attrs["values"])),
                                      metric: t.value, "seconds": round(t.duration.total_seconds(), 1)})
    return list(rows.values())


def pruned(study) -> list[tuple[str, int]]:
    """Pruned settings and the number of sequences they ran."""
    return [(Setting(*t.user_attrs["values"]).key, t.last_step)
            for t in study.get_trials(deepcopy=False, states=_states("PRUNED"))]


def optimize(job: SearchJob, space: dict, options: SearchOptions, plan: Plan, worker: int = 0, n_jobs: int = 1,
             threads_one: bool = False, log_level: int | None = None) -> None:
    """One worker: run trials until the study holds ``plan.target`` settings (``n_jobs`` at once).

    ``threads_one``: one compute thread while it runs; ``log_level``: set up logging (a new process)."""
    import torch
    if log_level is not None:
        logging.basicConfig(level=log_level, format="%(levelname)s: %(message)s")
    threads = torch.get_num_threads()
    if threads_one:
        one_thread()
    try:
        study = open_study(job, space, options, worker)
        dataset = job.load_dataset()
        table_path = os.path.join(job.out_dir, "search.csv")
        study.optimize(objective(job, space, options, dataset), n_trials=plan.todo, n_jobs=n_jobs,
                       callbacks=[_StopAt(plan.target, plan.stale),
                                  lambda s, _: write_table(table_path, table(s, job.metric))])
    finally:
        torch.set_num_threads(threads)
