"""Build the default model, step by step and resumably (each step skips finished work).

1. generate synthetic training sequences (siamrpnpp_core.synthetic, seeds disjoint from the benchmark's):
   textured targets over photographs, each with look-alike distractors circling and crossing it, half of
   the targets upright like people,
2. ``siamrpnpp prepare lasot`` them into 511x511 crops,
3. train ``training/configs/default_synthetic.yaml`` (bfloat16 autocast on CPUs with bf16 units),
4. export float16 weights to ``siamrpnpp_core/data/siamrpn_alex_synthetic.safetensors``.

No real video is used: the demo clip and the held-out set of ``benchmarks/vs_opencv.py`` stay unseen.
Interrupted, it resumes (rerun the same command): finished steps are skipped, training continues from its
last checkpoint.

Usage: ``python training/make_default_model.py [--work DIR] [--threads N] [--epochs E --pairs-per-epoch P]``.
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAIN_SEED = 1000  # the benchmark uses seed 0: other sequences
CONFIG = os.path.join(ROOT, "training", "configs", "default_synthetic.yaml")
SHIPPED = os.path.join(ROOT, "siamrpnpp_core", "data", "siamrpn_alex_synthetic.safetensors")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=os.path.join(ROOT, ".cache", "default_model"), help="working folder")
    p.add_argument("--sequences", type=int, default=400)
    p.add_argument("--length", type=int, default=60)
    p.add_argument("--distractors", type=int, default=2, help="look-alikes per sequence")
    p.add_argument("--tall", type=float, default=0.5, help="share of upright targets")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, help="override the recipe's epochs (a shorter run on a slow machine)")
    p.add_argument("--pairs-per-epoch", type=int, help="override the recipe's pairs per epoch")
    p.add_argument("--output", default=SHIPPED)
    args = p.parse_args(argv)

    import torch

    from siamrpnpp_core.synthetic import SynthConfig, generate
    from siamrpnpp_core.training.config import load_config
    from siamrpnpp_core.training.prepare import prepare, video_jobs
    from siamrpnpp_core.training.trainer import Trainer

    torch.set_num_threads(args.threads)
    raw, prepared = os.path.join(args.work, "raw"), os.path.join(args.work, "synthetic")
    if not os.path.isfile(os.path.join(raw, "synthetic.json")):
        generate(raw, SynthConfig(num_sequences=args.sequences, length=args.length, seed=TRAIN_SEED, layout="lasot",
                                  distractors=args.distractors, tall=args.tall))
    if not os.path.isfile(os.path.join(prepared, "train.json")):
        print(prepare(video_jobs("lasot", raw), prepared, workers=args.threads))
    dataset = {"name": "synthetic", "root": os.path.join(prepared, "crop511"),
               "anno": os.path.join(prepared, "train.json"), "frame_range": 30}
    overrides = {"datasets": [dataset], "out_dir": os.path.join(args.work, "run")}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.pairs_per_epoch is not None:
        overrides["pairs_per_epoch"] = args.pairs_per_epoch
    cfg = load_config(CONFIG, overrides=overrides)
    trainer = Trainer(cfg)
    trainer.run()
    trainer.export(args.output, half=True)
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB) after {trainer.step} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
