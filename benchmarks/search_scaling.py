"""Wall time of a 16-setting hyperparameter search on the synthetic benchmark, by number of workers.

    python benchmarks/search_scaling.py [--workers 1 2] [--sequences 2] [--length 20] [--ray local]

Generates the synthetic benchmark (OTB layout, real photographs as backgrounds: `make test-data`), then
runs the same grid search (4 penalty_k x 2 window_influence x 2 lr, no pruning, so every run does the
same work) once per worker count, each from scratch, and prints the wall times side by side with the
machine and its load average (other processes on the machine add noise). ``--ray ADDRESS`` adds a run
with sequences as Ray tasks (2 settings at once). The scores must agree between runs.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from siamrpnpp_core import TrackerOptions
from siamrpnpp_core.backends.precision import cpu_model
from siamrpnpp_core.evaluation.search import SearchJob, SearchOptions, search
from siamrpnpp_core.synthetic import SynthConfig, generate

BACKGROUNDS = Path(__file__).resolve().parents[1] / ".cache/opencv-doc/usr/share/doc/opencv-doc/examples/data"
SPACE = {"penalty_k": {"values": [0.04, 0.1, 0.2, 0.3]}, "window_influence": {"values": [0.35, 0.45]},
         "lr": {"values": [0.3, 0.4]}}


def timed_search(root: str, out: str, options: SearchOptions) -> tuple[float, dict]:
    job = SearchJob("OTB100", root, out, "success", tracker=TrackerOptions(device="cpu"))
    start = time.perf_counter()
    rows, _ = search(job, SPACE, options)
    return time.perf_counter() - start, {r["setting"]: r["success"] for r in rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local worker processes to compare")
    p.add_argument("--sequences", type=int, default=2)
    p.add_argument("--length", type=int, default=20, help="frames per sequence")
    p.add_argument("--ray", metavar="ADDRESS", help="also time the search over this Ray cluster (e.g. local)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, "otb")
        generate(root, SynthConfig(args.sequences, args.length, (320, 240), 0, "otb"), str(BACKGROUNDS))
        runs = [(f"{n} worker{'s' if n > 1 else ''}", SearchOptions(workers=n, pruner="none")) for n in args.workers]
        if args.ray:
            runs.append((f"Ray ({args.ray})", SearchOptions(workers=2, ray=args.ray, pruner="none")))
        load = os.getloadavg()[0]
        results = [(name, *timed_search(root, os.path.join(work, f"s{k}"), o)) for k, (name, o) in enumerate(runs)]
    frames = 16 * args.sequences * args.length
    print(f"16 settings x {args.sequences} sequences x {args.length} frames ({frames} frames), siamrpn_alex_dwxcorr, "
          f"CPU backend auto; {os.cpu_count()} cores, {cpu_model()}; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print("| run | wall time (s) | frames/s | speed-up |\n|---|---|---|---|")
    for name, seconds, _ in results:
        print(f"| {name} | {seconds:.1f} | {frames / seconds:.1f} | {results[0][1] / seconds:.2f}x |")
    scores = [s for _, _, s in results]
    print("scores agree" if all(s == scores[0] for s in scores) else f"scores DIFFER: {scores}")


if __name__ == "__main__":
    main()
