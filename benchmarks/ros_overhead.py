"""Node overhead at 640x480: image receipt to Detection2D publish, minus the core tracker's own time.

    .venv/bin/python benchmarks/ros_overhead.py [--frames 30] [--encoding bgr8]

The node reports both times in its status (latency, inference_time) for every frame; images are
sent one at a time, so no frame waits behind another. Target: <= 5 ms.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
from ros_common import Session, image_msg, percentile, stamp, video_frames

CONVERT = {"bgr8": None, "rgb8": cv2.COLOR_BGR2RGB, "mono8": cv2.COLOR_BGR2GRAY, "bgra8": cv2.COLOR_BGR2BGRA}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--encoding", choices=sorted(CONVERT), default="bgr8")
    args = parser.parse_args()
    frames = video_frames(args.frames + 1)
    log = Path(tempfile.mkdtemp()) / "node.log"
    session = Session(log)
    try:
        session.set_target(frames[0], (270, 140, 100, 120))
        overheads, inference = [], []
        for i, frame in enumerate(frames[1:], start=1):
            pixels = frame if CONVERT[args.encoding] is None else cv2.cvtColor(frame, CONVERT[args.encoding])
            session.client.track(image_msg(pixels, i, args.encoding), i)
            status = session.client.wait_status(lambda s, i=i: s.header.stamp == stamp(i))
            overheads.append((status.latency - status.inference_time) * 1e3)
            inference.append(status.inference_time * 1e3)
    finally:
        code = session.close()
    print(f"ROS node overhead, 640x480 {args.encoding}, {len(overheads)} frames (node exit code {code})")
    print(f"  core tracker time   median {percentile(inference, 50):8.1f} ms")
    print(f"  node overhead       median {percentile(overheads, 50):8.2f} ms   p95 {percentile(overheads, 95):6.2f} ms"
          f"   max {max(overheads):6.2f} ms   (target <= 5 ms)")


if __name__ == "__main__":
    main()
