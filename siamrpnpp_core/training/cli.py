"""``siamrpnpp prepare``: crop a downloaded dataset into the training layout, or pack crops into LMDB;
``siamrpnpp train`` (also ``python training/train.py``, ``torchrun training/train.py``): train."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .prepare import FORMATS
from .pseudo_labels import PseudoLabelConfig

HELP = {
    "coco": "COCO: --root IMAGE_FOLDER --annotations instances_train2017.json",
    "det": "ImageNet DET: --root ILSVRC2015 (Annotations/DET, Data/DET)",
    "vid": "ImageNet VID: --root ILSVRC2015 (Annotations/VID, Data/VID)",
    "ytbb": "YouTube-BB: --root FRAMES --annotations yt_bb_detection_train.csv [--frame-pattern]",
    "got10k": "GOT-10k: --root GOT-10k (train/<sequence>/...)",
    "lasot": "LaSOT: --root LaSOTBenchmark (<class>/<sequence>/...)",
}

# PseudoLabelConfig fields offered by `prepare pseudo-labels`, with their help texts
PSEUDO_LABEL_OPTIONS = {
    "clip_length": "frames per track",
    "clip_stride": "frames between clip starts",
    "proposals": "boxes tried per clip",
    "min_return_iou": "IoU of the backward track's end with the start box",
    "max_frame_side": "frames are resized so that their longer side is at most this",
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("prepare", help="prepare training data: 511x511 crops + index, or an LMDB pack")
    sub = p.add_subparsers(dest="prepare_command", required=True)
    for fmt in FORMATS:
        q = sub.add_parser(fmt, help=HELP[fmt])
        q.add_argument("--root", required=True, help="the dataset's folder as downloaded")
        q.add_argument("--out", required=True, help="output folder (crop511/ and <name>.json are written there)")
        q.add_argument("--name", default="train", help="index name (default: train -> train.json)")
        q.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="parallel processes")
        q.add_argument("--quality", type=int, default=90, help="JPEG quality of the crops")
        q.add_argument("--lmdb", action="store_true", help="also pack the crops into <out>/crop511.lmdb")
        if fmt in ("coco", "ytbb"):
            q.add_argument("--annotations", required=True, help="annotation file")
        if fmt in ("det", "vid", "got10k"):
            q.add_argument("--split", default="train")
        if fmt == "ytbb":
            q.add_argument("--frame-pattern", default="{youtube_id}/{timestamp_ms}.jpg",
                           help="frame path under --root (fields youtube_id, timestamp_ms, class_id, object_id)")
        if fmt in ("got10k", "lasot"):
            q.add_argument("--sequences", nargs="+", metavar="NAME", help="only these sequences")
        q.set_defaults(func=cmd_prepare, format=fmt)
    q = sub.add_parser("pseudo-labels", help="label unlabelled videos by forward-backward verified CSRT tracks "
                       "(written in LaSOT's layout: then `prepare lasot --root OUT`)")
    q.add_argument("videos", nargs="+", metavar="VIDEO")
    q.add_argument("--out", required=True, help="an empty folder, or one this command wrote before (replaced)")
    for field, text in PSEUDO_LABEL_OPTIONS.items():
        default = getattr(PseudoLabelConfig, field)
        q.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default,
                       help=f"{text} (default {default})")
    q.set_defaults(func=cmd_pseudo_labels)
    q = sub.add_parser("pack", help="pack prepared crops into an LMDB database for faster loading")
    q.add_argument("--out", required=True, help="a folder written by `siamrpnpp prepare <format>`")
    q.add_argument("--name", default="train")
    q.set_defaults(func=cmd_pack)
    return p


def cmd_prepare(args) -> int:
    from .prepare import prepare, video_jobs

    options = {k: getattr(args, k) for k in ("annotations", "split", "frame_pattern", "sequences") if hasattr(args, k)}
    jobs = video_jobs(args.format, args.root, **options)
    totals = prepare(jobs, args.out, args.name, args.workers, args.quality)
    print(f"{args.format}: {totals['videos']} videos, {totals['crops']} crops from {totals['frames']} frames; "
          f"{totals['unreadable']} missing/corrupt images skipped; {totals['resumed_videos']} videos done before")
    spec = {"name": args.format, "root": os.path.join(args.out, "crop511"),
            "anno": os.path.join(args.out, f"{args.name}.json")}
    if args.lmdb:
        spec["lmdb"] = _pack(args.out, args.name)
    print("add to the training config's datasets:\n  - {" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}")
    return 0


def cmd_pseudo_labels(args) -> int:
    from .pseudo_labels import mine

    cfg = PseudoLabelConfig(**{field: getattr(args, field) for field in PSEUDO_LABEL_OPTIONS})
    summary = mine(args.videos, args.out, cfg)
    kept = sum(v["kept"] for v in summary["videos"].values())
    print(f"{kept} verified tracks in {args.out}; crop them with: siamrpnpp prepare lasot --root {args.out} --out DIR")
    return 0 if kept else 1


def _pack(out: str, name: str) -> str:
    from .index import pack_lmdb

    path = os.path.join(out, "crop511.lmdb")
    packed, missing = pack_lmdb(os.path.join(out, "crop511"), os.path.join(out, f"{name}.json"), path)
    print(f"packed {packed} crops into {path}" + (f" ({missing} missing)" if missing else ""))
    return path


def cmd_pack(args) -> int:
    _pack(args.out, args.name)
    return 0


TRAIN_HELP = "train SiamRPN++ from a config (YAML/JSON; torchrun for several GPUs)"


def add_train_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``siamrpnpp train`` and ``training/train.py``."""
    from .config import TRAIN_PRESETS

    p.add_argument("--config", help="YAML or JSON config (its `base:` names a preset)")
    p.add_argument("--preset", choices=sorted(TRAIN_PRESETS), help="base preset when the config names none")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set epochs=1 --set search_aug.shift=32")
    p.add_argument("--out-dir", help="where checkpoints, logs and the final model go")
    p.add_argument("--resume", default="auto", help="auto (newest checkpoint in out_dir), none, or a path")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (checkpointed; rerun to go on)")
    p.add_argument("--export", help="after training, also write the weights (float16) to this .safetensors")
    p.add_argument("--no-progress", action="store_true")
    return p


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    p = add_train_arguments(subparsers.add_parser("train", help=TRAIN_HELP, description=TRAIN_HELP))
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args) -> int:
    """Train as ``args`` say; errors (bad config, missing files) propagate as ValueError/OSError."""
    from .config import load_config, parse_override
    from .trainer import Trainer

    logging.getLogger("siamrpnpp_core.training").setLevel(logging.INFO)
    overrides = [parse_override(text) for text in args.set]
    if args.out_dir:
        overrides.append({"out_dir": args.out_dir})
    cfg = load_config(args.config, args.preset, overrides)
    trainer = Trainer(cfg, resume=None if args.resume == "none" else args.resume, progress=not args.no_progress)
    row = trainer.run(args.max_steps)
    if row:
        print(f"step {trainer.step}/{trainer.total_steps}: loss {row['loss']:.4f} "
              f"(cls {row['cls_loss']:.4f}, loc {row['loc_loss']:.4f}), {row['pairs_per_s']:.1f} pairs/s")
    if args.export and trainer.rank == 0:
        trainer.export(args.export, half=True)
        print(f"wrote {args.export}")
    return 0


def train_main(argv=None, prog: str | None = None) -> int:
    """The stand-alone training command (``training/train.py``): same options as ``siamrpnpp train``."""
    args = add_train_arguments(argparse.ArgumentParser(prog=prog, description=TRAIN_HELP)).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    try:
        return cmd_train(args)
    except (ValueError, OSError) as e:
        print(f"{prog or 'train'}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
