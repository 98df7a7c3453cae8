"""Soak test: the node under a 30 Hz 640x480 camera for --minutes; resident memory and survival.

    .venv/bin/python benchmarks/ros_soak.py --minutes 10

Memory is sampled every 10 s; growth is measured against the level after warm-up (the first 20% of
the run, at most 2 minutes). Target: growth <= 5%, no crash.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from ros_common import Session, publish_at, rss_mib, video_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=30.0)
    args = parser.parse_args()
    seconds = args.minutes * 60.0
    warmup = min(120.0, 0.2 * seconds)
    frames = video_frames(300)
    session = Session(Path(tempfile.mkdtemp()) / "node.log")
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample():
        start = time.monotonic()
        while not stop.wait(10.0 if samples else 0.0):
            if not session.process.alive():
                return
            samples.append((time.monotonic() - start, rss_mib(session.process.process.pid)))

    try:
        session.set_target(frames[0], (270, 140, 100, 120))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        published = publish_at(session, frames, args.rate, seconds, stop=None)
        alive = session.process.alive()
        stop.set()
        sampler.join()
        status = session.client.statuses[-1]
    finally:
        code = session.close()
    times = [t for t, _ in samples if t >= warmup]
    after = [rss for t, rss in samples if t >= warmup]
    baseline = after[0]
    growth = (max(after) - baseline) / baseline * 100
    final = (after[-1] - baseline) / baseline * 100
    slope = np.polyfit(np.array(times) / 60.0, after, 1)[0] if len(after) > 1 else float("nan")
    print(f"ROS node soak: {args.minutes:g} min at {args.rate:.0f} Hz, 640x480 (node alive at the end: {alive}, "
          f"exit code {code})")
    print(f"  published {published}, received {status.frames_received}, tracked {status.frames_processed}, "
          f"dropped {status.frames_dropped}, rejected {status.frames_rejected}")
    print(f"  RSS: start {samples[0][1]:.0f} MiB, after warm-up ({warmup:.0f} s) {baseline:.0f} MiB, "
          f"max {max(after):.0f} MiB, end {after[-1]:.0f} MiB")
    print(f"  growth after warm-up: max {growth:+.2f}%, at the end {final:+.2f}%, trend {slope:+.2f} MiB/min "
          "(target <= 5%)")
    print("  RSS per minute (MiB): " + " ".join(f"{rss:.0f}" for t, rss in samples if int(t) % 60 < 10))


if __name__ == "__main__":
    main()
