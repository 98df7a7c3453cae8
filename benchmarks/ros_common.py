"""Shared pieces of the ROS benchmarks: the node process and client of the tests, a camera publisher."""
from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "ros"))
os.environ.setdefault("ROS_DOMAIN_ID", str(200 + os.getpid() % 30))

harness = importlib.import_module("ros_harness")
Client, NodeProcess, image_msg, stamp = harness.Client, harness.NodeProcess, harness.image_msg, harness.stamp

VIDEO = ROOT / ".cache" / "opencv-doc" / "usr" / "share" / "doc" / "opencv-doc" / "examples" / "data" / "Megamind.avi"


def video_frames(count: int, size=(640, 480)) -> list[np.ndarray]:
    """``count`` real frames (looping the video), resized to ``size``."""
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            if not frames:
                raise SystemExit(f"{VIDEO}: cannot read (run `make test-data`)")
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    return frames


class Session:
    """rclpy in this process plus the tracker node in its own process, as the tests start it."""

    def __init__(self, log_path: Path, **overrides):
        rclpy.init()
        self.node = rclpy.create_node(f"siamrpnpp_bench_{os.getpid()}")
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self._spin = threading.Thread(target=self.executor.spin, daemon=True)
        self._spin.start()
        self.process = NodeProcess("/bench", log_path, **{"device": "cpu", **harness.reliable_images("/bench"),
                                                           **overrides})
        self.client = Client(self.node, "/bench")
        self.client.wait_ready(self.process)

    def set_target(self, frame: np.ndarray, box, index: int = 0) -> None:
        for _ in range(50):
            self.client.publish(image_msg(frame, index))
            time.sleep(0.2)
            response = self.client.set_target(box, index)
            if response.success:
                return
        raise SystemExit(f"set_target failed: {response.message}")

    def close(self) -> int:
        code = self.process.stop()
        self.executor.shutdown()
        self._spin.join(timeout=10)
        self.node.destroy_node()
        rclpy.try_shutdown()
        return code


def publish_at(session: Session, frames: list[np.ndarray], rate: float, seconds: float, stop=None) -> int:
    """Publish ``frames`` (looping) at ``rate`` Hz for ``seconds``, stamped now; returns the count."""
    period, start, count = 1.0 / rate, time.monotonic(), 0
    clock = session.node.get_clock()
    while time.monotonic() - start < seconds and not (stop and stop.is_set()):
        msg = image_msg(frames[count % len(frames)], 0)
        msg.header.stamp = clock.now().to_msg()
        session.client.publish(msg)
        count += 1
        time.sleep(max(0.0, start + count * period - time.monotonic()))
    return count


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, float), q)) if len(values) else float("nan")


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for pid {pid}")
