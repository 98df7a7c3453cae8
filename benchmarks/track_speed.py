"""Per-frame tracking time of the presets at 640x480 (the packaged clip), median after warm-up.

    python benchmarks/track_speed.py [--frames 60] [--warmup 5] [--devices cpu cuda] [--half] [--threads N]

Prints a Markdown table: device, preset, median / p90 milliseconds per frame and frames per second.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from importlib import resources

import torch
from siamrpnpp_core import build_tracker, open_frames
from siamrpnpp_core.cli import DEMO_INIT


def measure(preset: str, device: str, half: bool, frames: list, warmup: int) -> list[float]:
    tracker = build_tracker(preset, device=device, half=half)
    tracker.init(frames[0], DEMO_INIT)
    times = []
    for frame in frames[1:]:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        tracker.track(frame)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times[warmup:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="timed frames after warm-up (default 60)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=["siamrpn_r50_l234_dwxcorr"])
    parser.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    parser.add_argument("--half", action="store_true", help="also time float16 on CUDA")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    clip = open_frames(resources.files("siamrpnpp_core") / "data" / "demo.mp4")
    frames = list(clip)
    while len(frames) < args.frames + args.warmup + 1:  # play the clip back and forth if it is short
        frames += frames[::-1]
    frames = frames[: args.frames + args.warmup + 1]

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}" + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    print(f"frames: {frames[0].shape[1]}x{frames[0].shape[0]}, median of {args.frames} after {args.warmup} warm-up\n")
    print("| device | preset | precision | median ms/frame | p90 ms | fps |")
    print("|---|---|---|---|---|---|")
    for device in args.devices:
        for preset in args.presets:
            for half in ([False, True] if args.half and device.startswith("cuda") else [False]):
                times = measure(preset, device, half, frames, args.warmup)
                median = statistics.median(times) * 1000
                p90 = statistics.quantiles(times, n=10)[-1] * 1000
                print(f"| {device} | {preset} | {'fp16' if half else 'fp32'} | {median:.1f} | {p90:.1f} | "
                      f"{1000 / median:.1f} |", flush=True)


if __name__ == "__main__":
    main()
