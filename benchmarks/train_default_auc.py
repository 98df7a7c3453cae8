"""Success AUC of the shipped demonstration model vs the same network untrained, on the synthetic benchmark.

    python benchmarks/train_default_auc.py [--weights FILE] [--sequences 4] [--length 40] [--seed 0]

The benchmark is siamrpnpp_core.synthetic's generator (LaSOT layout, seed 0 by default; the shipped model
was trained on seed-1000 sequences, so none of these sequences was seen). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import tempfile

import torch

from siamrpnpp_core import DEFAULT_PRESET, build_tracker
from siamrpnpp_core.builder import default_weights_path
from siamrpnpp_core.evaluation import load_dataset, run_dataset, score_tracker
from siamrpnpp_core.synthetic import SynthConfig, generate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=default_weights_path(), help="trained weights (default: the shipped ones)")
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--sequences", type=int, default=4)
    p.add_argument("--length", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", help="folder for the benchmark and results (default: a temporary one)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    work = args.work or tempfile.mkdtemp(prefix="synth_auc_")
    root = os.path.join(work, "data")
    if not os.path.isfile(os.path.join(root, "synthetic.json")):
        generate(root, SynthConfig(num_sequences=args.sequences, length=args.length, seed=args.seed, layout="lasot"))
    dataset = load_dataset("LaSOT", root)
    rows = []
    for name, tag in (("untrained (seeded random init)", "untrained"), ("trained", "trained")):
        untrained = tag == "untrained"
        tracker = build_tracker(args.preset, weights=None if untrained else args.weights, random_init=untrained,
                                device="cpu")
        run_dataset(tracker, dataset, os.path.join(work, "results"), tag, progress=False)
        s = score_tracker(dataset, os.path.join(work, "results"), tag)
        rows.append((name, s["success"], s["precision"]))
    print(f"synthetic benchmark: {args.sequences} sequences x {args.length} frames, seed {args.seed}, "
          f"preset {args.preset}, weights {args.weights}\n")
    print("| model | success AUC | precision (20 px) |\n|---|---|---|")
    for name, auc, prec in rows:
        print(f"| {name} | {auc:.3f} | {prec:.3f} |")


if __name__ == "__main__":
    main()
