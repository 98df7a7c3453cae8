"""Training throughput (pairs per second, data loading included) and data-loading throughput from
LMDB versus image files, on generated data.

    python benchmarks/train_throughput.py [--presets siamrpn_alex_dwxcorr] [--device cpu|cuda]
                                          [--amp off bf16] [--steps 10] [--batch 16] [--workers 2] [--threads 1]

Generates a small synthetic training set (siamrpnpp_core.synthetic), prepares it into crops and an LMDB
pack, then times (1) the pair loader alone from files and from LMDB, (2) full training steps for each
preset and ``amp`` mode (``off``: float32, the baseline; ``bf16``: bfloat16 autocast, channels-last on
CPUs). Prints Markdown tables and the machine's CPU model and bf16/int8 units.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import os
import tempfile
import time

import torch

from siamrpnpp_core.synthetic import SynthConfig, generate
from siamrpnpp_core.backends.precision import cpu_flags, cpu_model, units
from siamrpnpp_core.training.config import AMP_MODES, load_config
from siamrpnpp_core.training.index import pack_lmdb
from siamrpnpp_core.training.prepare import prepare, video_jobs
from siamrpnpp_core.training.sampling import PairDataset, StepSampler, collate, worker_init
from siamrpnpp_core.training.trainer import Trainer


def make_data(work: str, sequences: int) -> dict:
    raw, out = os.path.join(work, "raw"), os.path.join(work, "prepared")
    if not os.path.isfile(os.path.join(out, "train.json")):
        generate(raw, SynthConfig(num_sequences=sequences, length=30, seed=123, layout="lasot"))
        prepare(video_jobs("lasot", raw), out, workers=2, progress=False)
    db = os.path.join(out, "crop511.lmdb")
    if not os.path.isdir(db):
        pack_lmdb(os.path.join(out, "crop511"), os.path.join(out, "train.json"), db, progress=False)
    return {"name": "synthetic", "root": os.path.join(out, "crop511"), "anno": os.path.join(out, "train.json"),
            "frame_range": 30, "lmdb": db}


def loading_rate(cfg, workers: int, batches: int) -> float:
    """Pairs per second through the DataLoader (reading, augmenting, labelling), no network."""
    from torch.utils.data import DataLoader

    samples = list(itertools.islice(iter(StepSampler(cfg)), batches * cfg.batch_size))  # a loader that ends
    loader = DataLoader(PairDataset(cfg), batch_size=cfg.batch_size, sampler=samples, num_workers=workers,
                        collate_fn=collate, worker_init_fn=worker_init if workers else None,
                        multiprocessing_context="spawn" if workers else None)
    it = iter(loader)
    next(it)  # start-up excluded
    start = time.perf_counter()
    for _ in it:  # to the end, so the workers exit cleanly
        pass
    return (batches - 1) * cfg.batch_size / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["siamrpn_alex_dwxcorr"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", nargs="+", default=["off", "bf16"], choices=AMP_MODES, help="modes compared")
    p.add_argument("--steps", type=int, default=10, help="timed training steps (even) after 2 warm-up steps")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads of the training process")
    p.add_argument("--sequences", type=int, default=20)
    p.add_argument("--work", help="data folder (default: a temporary one)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    work = args.work or tempfile.mkdtemp(prefix="train_bench_")
    spec = make_data(work, args.sequences)
    base = {"pairs_per_epoch": 100000, "batch_size": args.batch, "micro_batch": args.batch, "num_workers": args.workers,
            "device": args.device, "tensorboard": False, "checkpoint_interval": 10 ** 6, "log_interval": 10 ** 6}
    flags = cpu_flags()
    print(f"{cpu_model()}; bf16 units: {', '.join(units(flags, 'bf16')) or 'none'}; torch {torch.__version__}, "
          f"{args.threads} training thread(s), {args.workers} loader worker(s), batch {args.batch}\n")
    print("| data source | loader workers | pairs/s (loading only) |\n|---|---|---|")
    for source in ("files", "lmdb"):
        ds = dict(spec, lmdb=spec["lmdb"] if source == "lmdb" else None)
        cfg = load_config(None, "siamrpn_alex_dwxcorr", {**base, "datasets": [ds]})
        for workers in sorted({0, args.workers}):
            print(f"| {source} | {workers} | {loading_rate(cfg, workers, 16):.1f} |")
    print("\n| preset | device | amp | memory format | pairs/s (training, loading included) |\n|---|---|---|---|---|")
    for preset in args.presets:
        baseline = None
        for amp in args.amp:
            out = os.path.join(work, f"run_{preset}_{amp}_{time.time_ns()}")
            cfg = load_config(None, preset, {**base, "datasets": [dict(spec, lmdb=None)], "out_dir": out,
                                             "backbone_train_epoch": 0, "log_interval": 2, "amp": amp})
            trainer = Trainer(cfg, resume=None, progress=False)
            trainer.run(max_steps=2 + args.steps)
            with open(os.path.join(out, "log.csv"), newline="") as f:
                rows = list(csv.DictReader(f))[1:]  # the first two steps (loader start-up) excluded
            rate = sum(float(r["pairs_per_s"]) for r in rows) / len(rows)
            baseline = baseline or rate
            layout = "channels-last" if trainer.memory_format == torch.channels_last else "contiguous"
            print(f"| {preset} | {trainer.device} | {amp} ({trainer.amp or 'float32'}) | {layout} | {rate:.2f} "
                  f"({rate / baseline:.2f}x) |", flush=True)


if __name__ == "__main__":
    main()
