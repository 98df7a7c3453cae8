"""Per-stage tracking time of each preset and backend, the eager reference path measured in the same run.

    python benchmarks/track_speed.py [--presets P ...] [--backends B ...] [--frames 40] [--warmup 5]
                                     [--threads N] [--devices cpu cuda] [--half] [--targets 4]
                                     [--rounds 1] [--json speed.json] [--markdown speed.md]

Each (device, preset, backend, precision) runs in its own process (no runtime's thread pool disturbs
another's). On the packaged 640x480 clip it times, per frame: the search crop, the network, the
post-processing (decoding, penalties, window, state update), and for the PyTorch backends the network's
stages (backbone, neck, heads) on the same crops. It reports medians after warm-up, the ratio to the
eager reference (``eager``, float32, same device), the largest box difference from the reference over
all frames, start-up (model load + first frame; presets without shipped weights load a generated
checkpoint, and the ONNX caches are filled beforehand), the process's peak resident memory, the network's
arithmetic rate (the eager search pass's floating-point operations per second of network time), and with
``--targets N`` the throughput of N targets tracked in one batch. Output: a Markdown table on stdout (and
``--markdown``), all figures in ``--json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources

import numpy as np
import torch

STAGES = ("crop", "network", "post", "backbone", "neck", "heads")


def load_frames(count: int) -> list[np.ndarray]:
    from siamrpnpp_core import open_frames

    frames = list(open_frames(resources.files("siamrpnpp_core") / "data" / "demo.mp4"))
    while len(frames) < count:  # play the clip back and forth if it is short
        frames += frames[::-1]
    return frames[:count]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(device, fn, *args):
    _sync(device)
    start = time.perf_counter()
    out = fn(*args)
    _sync(device)
    return out, (time.perf_counter() - start) * 1000


def _network_stages(engine, x: torch.Tensor, kernels) -> dict[str, float]:
    """Backbone / neck / heads times of one crop for the PyTorch engines (one graph for the others)."""
    if engine.name == "eager":
        model = engine.model
        backbone, neck = model.backbone, (model.neck or (lambda f: f))
        z_f = list(kernels) if engine._levels_as_list else kernels[0]
        heads = lambda feats: model.rpn_head(z_f, feats)  # noqa: E731
    elif engine.name == "torch":
        features = engine.search_branch.network.features
        backbone = features.backbone
        neck = (lambda f: [c(t) for c, t in zip(features.adjust, f)]) if features.adjust else (lambda f: f)
        heads = lambda feats: [h(f, k) for h, f, k in zip(engine.search_branch.network.heads,  # noqa: E731
                                                          feats if isinstance(feats, list) else [feats], kernels)]
    else:
        return {}
    with torch.inference_mode():
        out, t_backbone = _timed(engine.device, backbone, x)
        out, t_neck = _timed(engine.device, neck, out)
        _, t_heads = _timed(engine.device, heads, out)
    return {"backbone": t_backbone, "neck": t_neck, "heads": t_heads}


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)


def network_gflop(model: torch.nn.Module, x: torch.Tensor, exemplar_size: int) -> float:
    """Floating-point operations (multiply and add counted apart) of one eager search pass on ``x``."""
    from torch.utils.flop_counter import FlopCounterMode
    from siamrpnpp_core.backends import EagerEngine

    eager = EagerEngine(model)
    with torch.inference_mode():
        kernels = eager.template(torch.zeros(1, 3, exemplar_size, exemplar_size, device=x.device, dtype=x.dtype))
        counter = FlopCounterMode(display=False)
        with counter:
            eager.search(kernels, x)
    return counter.get_total_flops() / 1e9


def run_single(args) -> dict:
    """One configuration, in this process: per-frame stage times, boxes, start-up, batch throughput."""
    from siamrpnpp_core import SiamRPNTracker, build_tracker, track_batch
    from siamrpnpp_core.cli import DEMO_INIT

    if args.threads:
        torch.set_num_threads(args.threads)
    frames = load_frames(args.frames + args.warmup + 1)
    start = time.perf_counter()
    tracker = build_tracker(args.preset, weights=args.weights, device=args.device, half=args.half,
                            backend=args.backend, cuda_graphs=args.cuda_graphs)
    tracker.init(frames[0], DEMO_INIT)
    tracker.track(frames[1])
    startup = time.perf_counter() - start
    tracker.init(frames[0], DEMO_INIT)
    times = {stage: [] for stage in STAGES}
    totals, boxes = [], []
    engine, device = tracker.engine, tracker.engine.device
    for index, frame in enumerate(frames[1:]):
        _sync(device)
        begin = time.perf_counter()
        region, t_crop = _timed(device, tracker._search_region, frame)
        (cls, loc), t_net = _timed(device, engine.search, tracker._kernels, region.patch)
        result, t_post = _timed(device, tracker._update, frame, region, cls, loc)
        total = (time.perf_counter() - begin) * 1000
        boxes.append(result.bbox)
        if index >= args.warmup:
            totals.append(total)
            for stage, value in (("crop", t_crop), ("network", t_net), ("post", t_post)):
                times[stage].append(value)
            if index >= len(frames) - 1 - args.stage_frames:
                for stage, value in _network_stages(engine, region.patch, tracker._kernels).items():
                    times[stage].append(value)
    record = {"preset": args.preset, "backend": engine.name, "device": str(device),
              "precision": "fp16" if args.half else "fp32", "cuda_graphs": args.cuda_graphs,
              "threads": torch.get_num_threads(), "frames": len(totals), "startup_s": startup,
              "total_ms": statistics.median(totals),
              "stages_ms": {s: statistics.median(v) for s, v in times.items() if v}, "boxes": boxes}
    if args.targets > 1:
        targets = [SiamRPNTracker(engine, tracker.config) for _ in range(args.targets)]
        for i, t in enumerate(targets):
            x, y, w, h = DEMO_INIT
            t.init(frames[0], (x + 3 * i, y, w, h))
        batch_times = []
        for index, frame in enumerate(frames[1:]):
            _, elapsed = _timed(device, track_batch, targets, [frame] * len(targets))
            if index >= args.warmup:
                batch_times.append(elapsed)
        record["batch"] = {"targets": args.targets, "ms_per_frame": statistics.median(batch_times),
                           "target_frames_per_s": args.targets * 1000 / statistics.median(batch_times)}
    record["peak_rss_mb"] = peak_rss_mb()
    record["network_gflop"] = network_gflop(tracker.model, region.patch, tracker.config.exemplar_size)
    return record


def configurations(args):
    for device in args.devices:
        for preset in args.presets:
            precisions = [False, True] if args.half and device.startswith("cuda") else [False]
            for half in precisions:
                backends = [b for b in args.backends if device == "cpu" or b in ("eager", "torch")]
                for backend in ["eager"] + [b for b in backends if b != "eager"]:
                    if backend == "eager" and half:
                        continue
                    graphs = [False, True] if device.startswith("cuda") and backend == "torch" else [False]
                    for cuda_graphs in graphs:
                        yield device, preset, backend, half, cuda_graphs


def checkpoint_files(presets: list[str], folder: str) -> dict[str, str]:
    """A weights file per preset without shipped weights (its fixed-seed random weights, saved as a
    flat state dict like the release's model.pth), so start-up includes loading a real checkpoint."""
    from siamrpnpp_core import DEFAULT_PRESET, build_model

    files = {}
    for preset in presets:
        if preset != DEFAULT_PRESET:
            files[preset] = os.path.join(folder, f"{preset}.pth")
            torch.save(build_model(preset, random_init=True, device="cpu").state_dict(), files[preset])
    return files


def warm_caches(args) -> None:
    """Export and optimise (or compile) each preset's graphs for the ONNX backends once, untimed, so that
    start-up is measured as it is after a first run."""
    from siamrpnpp_core import build_model, get_preset
    from siamrpnpp_core.backends import build_engine

    backends = [b for b in args.backends if b in ("onnxruntime", "openvino")] if "cpu" in args.devices else []
    for preset in args.presets if backends else []:
        model = build_model(preset, weights=args.weights or args.generated_weights.get(preset), device="cpu")
        sizes = get_preset(preset).tracker
        z = torch.zeros(1, 3, sizes.exemplar_size, sizes.exemplar_size)
        x = torch.zeros(1, 3, sizes.instance_size, sizes.instance_size)
        for backend in backends:
            engine = build_engine(model, backend=backend)
            engine.search(engine.template(z), x)


def run_child(args, device, preset, backend, half, cuda_graphs) -> dict:
    print(f"  {device} {preset} {backend}{' fp16' if half else ''}{' graphs' if cuda_graphs else ''}",
          file=sys.stderr, flush=True)
    cmd = [sys.executable, __file__, "--single", "--device", device, "--preset", preset, "--backend", backend,
           "--frames", str(args.frames), "--warmup", str(args.warmup), "--targets", str(args.targets),
           "--stage-frames", str(args.stage_frames)]
    cmd += ["--half"] if half else []
    cmd += ["--cuda-graphs"] if cuda_graphs else []
    cmd += ["--threads", str(args.threads)] if args.threads else []
    weights = args.weights or args.generated_weights.get(preset)
    cmd += ["--weights", weights] if weights else []
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def markdown(records: list[dict]) -> str:
    head = ("| device | preset | backend | precision | total ms | vs eager | max box diff px | crop | network | "
            "post | backbone | neck | heads | network GFLOP/s | start-up s | peak RSS MB | batch: targets, target-frames/s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in records:
        st = r["stages_ms"]
        cell = lambda k: f"{st[k]:.1f}" if k in st else "-"  # noqa: E731
        batch = f"{r['batch']['targets']}, {r['batch']['target_frames_per_s']:.1f}" if "batch" in r else "-"
        backend = r["backend"] + (" + CUDA graphs" if r["cuda_graphs"] else "")
        rate = r["network_gflop"] / (st["network"] / 1000)
        lines.append(f"| {r['device']} | {r['preset']} | {backend} | {r['precision']} | {r['total_ms']:.1f} | "
                     f"{r['ratio']:.2f} | {r['max_box_diff']:.4f} | {cell('crop')} | {cell('network')} | "
                     f"{cell('post')} | {cell('backbone')} | {cell('neck')} | {cell('heads')} | "
                     f"{rate:.0f} | {r['startup_s']:.2f} | {r['peak_rss_mb']:.0f} | {batch} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["siamrpn_r50_l234_dwxcorr"])
    parser.add_argument("--backends", nargs="+", default=["eager", "torch", "onnxruntime", "openvino"])
    parser.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    parser.add_argument("--frames", type=int, default=40, help="timed frames after warm-up (default 40)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--stage-frames", type=int, default=10, help="frames with the backbone/neck/heads split")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    parser.add_argument("--half", action="store_true", help="also float16 on CUDA")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every configuration this many times, interleaved; report medians (default 1)")
    parser.add_argument("--targets", type=int, default=4, help="targets tracked in one batch (1: skip)")
    parser.add_argument("--weights", help="checkpoint (default: the shipped weights of the default preset, and "
                                          "fixed-seed random weights saved as a checkpoint for the others)")
    parser.add_argument("--json", help="write all figures here")
    parser.add_argument("--markdown", help="write the table here")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--cuda-graphs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(run_single(args)))
        return

    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
               + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    print(f"machine: {machine}; threads: {args.threads or 'default'}; 640x480 clip, median of {args.frames} "
          f"frames after {args.warmup} warm-up; median of {args.rounds} interleaved round(s)\n", flush=True)
    records, references = [], {}
    configs = list(configurations(args))
    with tempfile.TemporaryDirectory() as folder:
        args.generated_weights = {} if args.weights else checkpoint_files(args.presets, folder)
        warm_caches(args)
        rounds = [[run_child(args, *config) for config in configs] for _ in range(args.rounds)]
    for runs in zip(*rounds):  # one configuration's runs, one per round
        record = runs[0]
        for field in ("total_ms", "startup_s", "peak_rss_mb"):
            record[field] = statistics.median(r[field] for r in runs)
        record["stages_ms"] = {k: statistics.median(r["stages_ms"][k] for r in runs) for k in record["stages_ms"]}
        if "batch" in record:
            record["batch"]["target_frames_per_s"] = statistics.median(r["batch"]["target_frames_per_s"] for r in runs)
        key = (record["device"], record["preset"])
        if record["backend"] == "eager":
            references[key] = record
        reference = references[key]
        record["ratio"] = record["total_ms"] / reference["total_ms"]
        record["max_box_diff"] = max(float(np.abs(np.array(r["boxes"]) - np.array(reference["boxes"])).max())
                                     for r in runs)
        records.append(record)
    table = markdown(records)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"machine: {machine}\n\n{table}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "records": records}, f, indent=1)


if __name__ == "__main__":
    main()
