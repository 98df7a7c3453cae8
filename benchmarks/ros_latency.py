"""Image age under a 30 Hz camera with inference slower than 30 Hz, and dropped frames.

    .venv/bin/python benchmarks/ros_latency.py [--seconds 60] [--rate 30]

The node must always track the newest frame: the age of each image when its Detection2D is published
should stay within its inference time plus one frame period; older frames are dropped and counted.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ros_common import Session, percentile, publish_at, video_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--cpu-threads", type=int, default=0, help="the node's cpu_threads parameter")
    args = parser.parse_args()
    frames = video_frames(90)
    session = Session(Path(tempfile.mkdtemp()) / "node.log", cpu_threads=args.cpu_threads)
    try:
        session.set_target(frames[0], (270, 140, 100, 120))
        first = len(session.client.statuses)
        published = publish_at(session, frames, args.rate, args.seconds)
        time.sleep(5.0)  # let the last frame finish
        statuses = [s for s in session.client.statuses[first:] if s.targets]
    finally:
        code = session.close()
    period = 1.0 / args.rate
    excess = [(s.image_age - s.inference_time - period) * 1e3 for s in statuses]
    ages = [s.image_age * 1e3 for s in statuses]
    inference = [s.inference_time * 1e3 for s in statuses]
    last = statuses[-1]
    within = sum(e <= 0 for e in excess)
    transport = [(s.image_age - s.latency) * 1e3 for s in statuses]  # stamp -> node callback
    waiting = [(s.latency - s.inference_time) * 1e3 for s in statuses]  # callback -> publish, less inference
    print(f"ROS node under a {args.rate:.0f} Hz 640x480 camera for {args.seconds:.0f} s, cpu_threads "
          f"{args.cpu_threads} (node exit code {code})")
    print(f"  published {published}, received {last.frames_received}, tracked {last.frames_processed}, "
          f"dropped (replaced by a newer frame) {last.frames_dropped}, lost in transport "
          f"{published - last.frames_received}")
    print(f"  inference   median {percentile(inference, 50):7.1f} ms   max {max(inference):7.1f} ms")
    print(f"  image age   median {percentile(ages, 50):7.1f} ms   max {max(ages):7.1f} ms")
    print(f"  of which stamp -> node callback: median {percentile(transport, 50):6.1f} ms, "
          f"max {max(transport):6.1f} ms; callback -> publish less inference: median "
          f"{percentile(waiting, 50):6.1f} ms, max {max(waiting):6.1f} ms")
    print(f"  age - (inference + one frame period): median {percentile(excess, 50):6.1f} ms, max {max(excess):6.1f}"
          f" ms; within the bound for {within}/{len(excess)} tracked frames")


if __name__ == "__main__":
    main()
