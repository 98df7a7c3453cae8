"""``siamrpnpp eval``: run trackers on benchmarks, score and plot results, search hyperparameters,
generate the synthetic benchmark."""
from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import replace

from ..options import add_tracker_options, tracker_options
from .metrics import NORM_PRECISION_FORMS, OPE_RULES
from .region import INIT_RULES, OVERLAP_RULES

DEFAULT_RULE = "pysot"  # the pysot toolkit's rules, which produced the published SiamRPN++ numbers


def _dataset_options(p: argparse.ArgumentParser) -> None:
    from ..datasets import dataset_names
    p.add_argument("--dataset", required=True, help=", ".join(dataset_names()) + " (aliases accepted)")
    p.add_argument("--root", required=True, help="the dataset's folder")
    p.add_argument("--split", help="GOT-10k: val (default), test or train; LaSOT: test (default) or all")
    p.add_argument("--index", help="a pysot-style json index to read instead of the original layout")
    p.add_argument("--sequences", nargs="+", metavar="NAME", help="only these sequences")


def _rule_options(p: argparse.ArgumentParser, run: bool = False, score: bool = False) -> None:
    """``--overlap``; for running ``--init``; for scoring ``--ope-rules`` (former name ``--convention``)."""
    p.add_argument("--overlap", choices=OVERLAP_RULES, default=DEFAULT_RULE,
                   help="VOT overlap rule: how a rectangle covers the pixel grid (pysot: w+1 columns; vot: w)")
    if run:
        p.add_argument("--init", choices=INIT_RULES, default=DEFAULT_RULE, dest="init_rule",
                       help="initial box from a rectangle: pysot's (x+0.5, y+0.5, w, h) or exactly the ground truth")
    if score:
        p.add_argument("--ope-rules", choices=sorted(OPE_RULES), default=DEFAULT_RULE, help="one-pass scoring rules")
        p.add_argument("--convention", choices=sorted(OPE_RULES), dest="ope_rules", default=argparse.SUPPRESS,
                       help=argparse.SUPPRESS)


def _ray_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ray", metavar="ADDRESS",
                   help="run the sequences as tasks on a Ray cluster: auto (the running cluster), local, or host:port")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``eval`` and its subcommands ``run``, ``score``, ``search``, ``synth``."""
    from ..synthetic import LAYOUTS
    from .scoring import METRICS
    from .search import PARAMETERS, PRUNERS, SAMPLERS
    parser = subparsers.add_parser("eval", help="benchmarks: run, score, plot, hyperparameter search")
    sub = parser.add_subparsers(dest="eval_command", required=True)

    p = sub.add_parser("run", help="run a tracker over a dataset and write standard result files")
    _dataset_options(p)
    add_tracker_options(p)
    p.add_argument("--results", help="folder of per-tracker result folders (default: results/<DATASET>)")
    p.add_argument("--tracker-name", help="result folder name (default: the weights' file name or the preset)")
    p.add_argument("--overwrite", action="store_true", help="rerun sequences that already have results")
    _ray_option(p)
    _rule_options(p, run=True)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("score", help="score result files: print a table, write plots")
    _dataset_options(p)
    p.add_argument("--results", help="folder of per-tracker result folders (default: results/<DATASET>)")
    p.add_argument("--trackers", nargs="+", help="tracker folders to score (default: all)")
    _rule_options(p, score=True)
    p.add_argument("--norm-precision", choices=NORM_PRECISION_FORMS, dest="norm_precision_form",
                   help="normalized precision form (default: the OPE rules')")
    p.add_argument("--plots", help="folder for the PNG plots (default: reports/<DATASET>)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--json", help="also write all scores and curves to this json file")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("search", help="search penalty_k, window_influence and lr on a dataset")
    _dataset_options(p)
    add_tracker_options(p, hyperparameters=False)
    p.add_argument("--out", required=True, help="folder for the runs and search.csv (resumable)")
    p.add_argument("--metric", choices=sorted(METRICS), help="what to maximise (default: the protocol's main one)")
    p.add_argument("--sampler", choices=SAMPLERS,
                   help="Optuna sampler (default: grid when every parameter is a value list, else tpe)")
    p.add_argument("--trials", type=int, metavar="N",
                   help="settings to evaluate in all, pruned ones included (default for grid: the whole grid)")
    p.add_argument("--random", type=int, metavar="N", help="same as --sampler random --trials N")
    p.add_argument("--seed", type=int, default=0, help="sampler seed; TPE and random seed each worker from it, the "
                                                        "worker's number and the trials started (machines: one each)")
    for name in PARAMETERS:  # dest grid_*: what to search, not the single overrides of `run`
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"grid_{name}", metavar="VALUES|LOW:HIGH",
                       help="comma-separated values or a LOW:HIGH range (default: the preset's or --hparams' value)")
    p.add_argument("--storage", help="Optuna storage shared by every worker and machine: an RDB URL "
                                     "(sqlite:///search.db, postgresql://...) or a journal file path "
                                     "(default: OUT/search.journal)")
    p.add_argument("--study", default="search", help="study name in the storage (default: search)")
    p.add_argument("--workers", type=int, default=2,
                   help="local worker processes, one thread each; with --ray: settings run at once (default 2)")
    _ray_option(p)
    p.add_argument("--pruner", choices=PRUNERS, default="median",
                   help="median: stop a setting whose running score after some sequences is worse than the "
                        "median of the finished settings at that point (one-pass and GOT-10k metrics); none")
    p.add_argument("--prune-startup", type=int, default=5, metavar="N",
                   help="finished settings before any is pruned (default 5)")
    p.add_argument("--prune-after", type=int, metavar="N",
                   help="sequences a setting runs before it can be pruned (default: a quarter of them)")
    _rule_options(p, run=True, score=True)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("synth", help="generate the small synthetic benchmark")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--layout", choices=sorted(LAYOUTS), default="lasot")
    p.add_argument("--num-sequences", type=int, default=4)
    p.add_argument("--length", type=int, default=40, help="frames per sequence")
    p.add_argument("--size", default="320x240", help="WIDTHxHEIGHT of the frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--distractors", type=int, default=0, help="look-alikes of the target per sequence")
    p.add_argument("--tall", type=float, default=0.0, help="share of upright (person-like) targets")
    p.add_argument("--shaped", type=float, default=0.0,
                   help="share of frameless blob targets, background at the box corners")
    p.add_argument("--backgrounds", help="folder of photographs (default: the opencv-doc example images)")
    p.set_defaults(func=cmd_synth)
    return parser


def _load(args):
    from ..datasets import load_dataset
    dataset = load_dataset(args.dataset, args.root, split=args.split, index=args.index)
    return dataset.subset(args.sequences) if args.sequences else dataset


def cmd_run(args) -> int:
    from .distributed import RayFanOut, RunSpec, ray_session
    from .runner import run_dataset
    dataset = _load(args)
    options = tracker_options(args)
    config = options.config()
    if dataset.protocol == "vot-lt" and not config.long_term:
        logging.warning("%s is a long-term benchmark but preset %s is not a long-term tracker", dataset.name,
                        args.preset)
    name = args.tracker_name or (os.path.splitext(os.path.basename(args.weights))[0] if args.weights else args.preset)
    results = args.results or os.path.join("results", dataset.name)
    rules = {"init_rule": args.init_rule, "overlap": args.overlap}
    with ray_session(args.ray):
        tracker, fan_out = None, None
        if args.ray:
            fan_out = RayFanOut(RunSpec(args.dataset, args.root, options, config, args.split, args.index, **rules))
        else:
            tracker = options.build(config)
        ran = run_dataset(tracker, dataset, results, name, overwrite=args.overwrite, fan_out=fan_out, **rules)
    print(f"{name}: ran {len(ran)} of {len(dataset)} sequences of {dataset.name} "
          f"(k={config.penalty_k} wi={config.window_influence} lr={config.lr}); results in "
          f"{os.path.join(results, name)}")
    return 0


def cmd_score(args) -> int:
    from .report import format_table, plot_scores, to_jsonable
    from .results import list_trackers
    from .scoring import ScoreOptions, score_tracker
    dataset = _load(args)
    results = args.results or os.path.join("results", dataset.name)
    trackers = args.trackers or list_trackers(results)
    if not trackers:
        raise ValueError(f"no tracker result folders in {results}")
    options = ScoreOptions(args.ope_rules, args.norm_precision_form, args.overlap)
    scores = [score_tracker(dataset, results, t, options) for t in trackers]
    print(f"{dataset.name}: {len(dataset)} sequences, {dataset.protocol} protocol, "
          f"rules: ope={args.ope_rules} overlap={args.overlap}")
    print(format_table(scores))
    if not args.no_plots:
        out = args.plots or os.path.join("reports", dataset.name)
        norm = dataset.name in ("LaSOT", "TrackingNet") or args.norm_precision_form is not None
        for path in plot_scores(scores, out, dataset.name, norm):
            print(f"wrote {path}")
    if args.json:
        from ..atomic import atomic_write
        atomic_write(args.json, json.dumps([to_jsonable(s) for s in scores], indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def _space(args, base) -> dict:
    """``--penalty-k/--window-influence/--lr`` as a search space (default: the base configuration's value)."""
    from .search import PARAMETERS, parse_values
    return {p: parse_values(getattr(args, f"grid_{p}")) if getattr(args, f"grid_{p}") is not None
            else {"values": [getattr(base, p)]} for p in PARAMETERS}


def cmd_search(args) -> int:
    from .scoring import DEFAULT_METRIC, METRICS
    from .search import SearchJob, SearchOptions, best_row, search
    options = tracker_options(args)
    space = _space(args, options.config())
    sampler = "random" if args.random is not None else args.sampler
    sampler = sampler or ("grid" if all("values" in v for v in space.values()) else "tpe")
    how = SearchOptions(sampler, args.random or args.trials, args.seed, args.storage, args.study, args.workers,
                        args.ray, args.pruner, args.prune_startup, args.prune_after)
    job = SearchJob(args.dataset, args.root, args.out, "", tracker=options, split=args.split, index=args.index,
                    sequences=tuple(args.sequences or ()), ope_rules=args.ope_rules, overlap=args.overlap,
                    init_rule=args.init_rule)
    metric = args.metric or DEFAULT_METRIC[job.load_dataset().protocol]
    job = replace(job, metric=metric)
    rows, pruned = search(job, space, how)
    rows = sorted(rows, key=lambda r: r[metric], reverse=METRICS[metric][1])
    print(f"{'penalty_k':>10} {'window_inf':>10} {'lr':>8} {metric:>12} {'seconds':>8}")
    for r in rows:
        print(f"{r['penalty_k']:>10.4f} {r['window_influence']:>10.4f} {r['lr']:>8.4f} {r[metric]:>12.4f} "
              f"{r['seconds']:>8.1f}")
    for key, step in pruned:
        print(f"pruned: {key} after {step} sequences")
    if not rows:
        raise ValueError("no setting finished")
    best = best_row(rows, metric)
    print(f"best: penalty_k={best['penalty_k']} window_influence={best['window_influence']} lr={best['lr']} "
          f"({metric} {best[metric]:.4f}); table: {os.path.join(args.out, 'search.csv')}")
    return 0


def cmd_synth(args) -> int:
    from ..synthetic import SynthConfig, generate
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must be WIDTHxHEIGHT, got {args.size!r}") from None
    cfg = SynthConfig(args.num_sequences, args.length, (width, height), args.seed, args.layout,
                      distractors=args.distractors, tall=args.tall, shaped=args.shaped)
    name = generate(args.out, cfg, args.backgrounds)
    print(f"wrote {cfg.num_sequences} sequences of {cfg.length} frames ({args.layout} layout) to {args.out}; "
          f"evaluate with: siamrpnpp eval run --dataset {name} --root {args.out}")
    return 0
