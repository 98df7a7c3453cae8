"""``siamrpnpp eval``: run trackers on benchmarks, score and plot results, search hyperparameters,
generate the synthetic benchmark."""
from __future__ import annotations

import argparse
import json
import logging
import os

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


def _parse_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``eval`` and its subcommands ``run``, ``score``, ``search``, ``synth``."""
    from ..synthetic import LAYOUTS
    from .scoring import METRICS
    from .search import PARAMETERS
    parser = subparsers.add_parser("eval", help="benchmarks: run, score, plot, hyperparameter search")
    sub = parser.add_subparsers(dest="eval_command", required=True)

    p = sub.add_parser("run", help="run a tracker over a dataset and write standard result files")
    _dataset_options(p)
    add_tracker_options(p)
    p.add_argument("--results", help="folder of per-tracker result folders (default: results/<DATASET>)")
    p.add_argument("--tracker-name", help="result folder name (default: the weights' file name or the preset)")
    p.add_argument("--overwrite", action="store_true", help="rerun sequences that already have results")
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
    p.add_argument("--random", type=int, metavar="N", help="draw N settings at random from LOW:HIGH ranges")
    p.add_argument("--seed", type=int, default=0, help="random search seed")
    for name in PARAMETERS:  # dest grid_*: lists to search, not the single overrides of `run`
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"grid_{name}",
                       help="grid: comma-separated values; random: LOW:HIGH (default: the preset's or --hparams')")
    p.add_argument("--workers", type=int, default=2, help="parallel worker processes (one thread each)")
    _rule_options(p, run=True, score=True)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("synth", help="generate the small synthetic benchmark")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--layout", choices=sorted(LAYOUTS), default="lasot")
    p.add_argument("--num-sequences", type=int, default=4)
    p.add_argument("--length", type=int, default=40, help="frames per sequence")
    p.add_argument("--size", default="320x240", help="WIDTHxHEIGHT of the frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backgrounds", help="folder of photographs (default: the opencv-doc example images)")
    p.set_defaults(func=cmd_synth)
    return parser


def _load(args):
    from ..datasets import load_dataset
    dataset = load_dataset(args.dataset, args.root, split=args.split, index=args.index)
    return dataset.subset(args.sequences) if args.sequences else dataset


def cmd_run(args) -> int:
    from .runner import run_dataset
    dataset = _load(args)
    options = tracker_options(args)
    tracker = options.build()
    config = tracker.config
    if dataset.protocol == "vot-lt" and not config.long_term:
        logging.warning("%s is a long-term benchmark but preset %s is not a long-term tracker", dataset.name,
                        args.preset)
    name = args.tracker_name or (os.path.splitext(os.path.basename(args.weights))[0] if args.weights else args.preset)
    results = args.results or os.path.join("results", dataset.name)
    ran = run_dataset(tracker, dataset, results, name, overwrite=args.overwrite, init_rule=args.init_rule,
                      overlap=args.overlap)
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


def _values(text, default, random_mode):
    if text is None:
        return (default, default) if random_mode else [default]
    if random_mode:
        parts = text.split(":")
        if len(parts) != 2:
            raise ValueError(f"random search ranges are LOW:HIGH, got {text!r}")
        return float(parts[0]), float(parts[1])
    return _parse_list(text)


def cmd_search(args) -> int:
    from ..datasets import load_dataset
    from .scoring import DEFAULT_METRIC, METRICS
    from .search import PARAMETERS, SearchJob, best_row, grid_settings, random_settings, search
    options = tracker_options(args)
    base = options.config()
    random_mode = args.random is not None
    values = {p: _values(getattr(args, f"grid_{p}"), getattr(base, p), random_mode) for p in PARAMETERS}
    settings = (random_settings(args.random, values, args.seed) if random_mode
                else grid_settings(values["penalty_k"], values["window_influence"], values["lr"]))
    protocol = load_dataset(args.dataset, args.root, split=args.split, index=args.index).protocol
    metric = args.metric or DEFAULT_METRIC[protocol]
    job = SearchJob(args.dataset, args.root, args.out, metric, tracker=options, split=args.split, index=args.index,
                    sequences=tuple(args.sequences or ()), ope_rules=args.ope_rules, overlap=args.overlap,
                    init_rule=args.init_rule)
    rows = search(job, settings, args.workers)
    rows = sorted(rows, key=lambda r: r[metric], reverse=METRICS[metric][1])
    print(f"{'penalty_k':>10} {'window_inf':>10} {'lr':>8} {metric:>12} {'seconds':>8}")
    for r in rows:
        print(f"{r['penalty_k']:>10.4f} {r['window_influence']:>10.4f} {r['lr']:>8.4f} {r[metric]:>12.4f} "
              f"{r['seconds']:>8.1f}")
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
    cfg = SynthConfig(args.num_sequences, args.length, (width, height), args.seed, args.layout)
    name = generate(args.out, cfg, args.backgrounds)
    print(f"wrote {cfg.num_sequences} sequences of {cfg.length} frames ({args.layout} layout) to {args.out}; "
          f"evaluate with: siamrpnpp eval run --dataset {name} --root {args.out}")
    return 0
