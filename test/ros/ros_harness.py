"""ROS 2 test helpers: the tracker node as its own process (as the launch file starts it), real DDS."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamrpnpp_core import DEFAULT_PRESET

ROOT = Path(__file__).resolve().parents[2]
PARAMS_FILE = ROOT / "config" / "tracker.yaml"
# A DDS domain of our own, so that concurrent test runs on one machine do not hear each other.
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

try:
    import rclpy  # noqa: F401 - the installation check
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image
    from siamrpnpp_msgs.msg import TrackerStatus
    from siamrpnpp_msgs.srv import SetTarget
    from std_srvs.srv import Trigger
    from vision_msgs.msg import Detection2D

except ImportError as error:  # pragma: no cover - depends on the installation
    if os.environ.get("SIAMRPNPP_REQUIRE_ROS") == "1":
        raise
    pytest.skip(f"ROS 2 not set up ({error}); run `make ros`", allow_module_level=True)

PRESET = DEFAULT_PRESET  # the params file's preset
DEMO_BOX = (255.0, 119.0, 24.0, 42.0)  # the walking person of the packaged clip's frame 0, at half size
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


def stamp(index: int):
    """Distinct image stamps 1000+index s, 123 ns (a nanosecond part catches truncation)."""
    from builtin_interfaces.msg import Time

    return Time(sec=1000 + index, nanosec=123)


def image_msg(frame: np.ndarray, index: int, encoding: str = "bgr8", frame_id: str = "camera_optical") -> Image:
    """A sensor_msgs/Image of ``frame`` (already in ``encoding``'s channel order)."""
    msg = Image(height=frame.shape[0], width=frame.shape[1], encoding=encoding, is_bigendian=0)
    msg.step = frame.shape[1] * (frame.shape[2] if frame.ndim == 3 else 1)
    msg.data = np.ascontiguousarray(frame).tobytes()
    msg.header.stamp, msg.header.frame_id = stamp(index), frame_id
    return msg


def png_msg(frame: np.ndarray, index: int, frame_id: str = "camera_optical") -> CompressedImage:
    """A lossless sensor_msgs/CompressedImage (PNG) of a BGR ``frame``."""
    msg = CompressedImage(format="png", data=cv2.imencode(".png", frame)[1].tobytes())
    msg.header.stamp, msg.header.frame_id = stamp(index), frame_id
    return msg


def demo_frames(count: int) -> list[np.ndarray]:
    """The first ``count`` frames of the packaged real clip (siamrpnpp_core/data/demo.mp4, the start of
    OpenCV's vtest.avi) at half size, 320x240: small enough for best-effort DDS between processes."""
    from importlib import resources

    capture = cv2.VideoCapture(str(resources.files("siamrpnpp_core") / "data" / "demo.mp4"))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        assert ok, "cannot read siamrpnpp_core/data/demo.mp4"
        frames.append(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA))
    capture.release()
    return frames


def wait_until(predicate, timeout: float, what: str, interval: float = 0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def reliable_images(namespace: str, topic: str = "image") -> dict:
    """The QoS override parameter that makes the node's image subscription reliable."""
    return {f"qos_overrides.{namespace}/{topic}.subscription.reliability": "reliable"}


def publish_until(publish, arrived, what: str, timeout: float = 60.0, again_after: float = 5.0) -> None:
    """``publish()`` once, then again only when ``arrived()`` stayed false for ``again_after`` seconds (best
    effort may lose a message, or the subscriber may not have matched the publisher yet), so that the
    receiver does not get it twice in the ordinary case."""
    sent = [time.monotonic()]
    publish()

    def check():
        if arrived():
            return True
        if time.monotonic() - sent[0] > again_after:
            sent[0] = time.monotonic()
            publish()
        return False
    wait_until(check, timeout, what)


class NodeProcess:
    """The tracker node started as launch/tracker.launch.py starts it: same entry point, same params file.

    ``overrides`` become ``-p name:=value``; ``remaps`` (``{"image": "/cam/image_raw"}``) ``-r from:=to``;
    ``params_file`` is read after config/tracker.yaml.
    """

    def __init__(self, namespace: str, log_path: Path, remaps: dict | None = None, params_file: Path | None = None,
                 **overrides):
        args = [sys.executable, "-m", "siamrpnpp_ros", "--ros-args", "-r", "__node:=siamrpnpp_tracker",
                "-r", f"__ns:={namespace}", "--params-file", str(PARAMS_FILE)]
        if params_file is not None:  # a second file, over config/tracker.yaml
            args += ["--params-file", str(params_file)]
        for source, target in (remaps or {}).items():
            args += ["-r", f"{source}:={target}"]
        for name, value in overrides.items():
            args += ["-p", f"{name}:={value}"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "RCUTILS_COLORIZED_OUTPUT": "0"}
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def log(self) -> str:
        return self.log_path.read_text()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, interrupts: int = 1) -> int:
        """SIGINT, as ros2 launch does (``interrupts`` of them, 20 ms apart, as a terminal's Ctrl-C reaching
        both launch and the node and then launch's own); returns the exit code."""
        if self.alive():
            for count in range(interrupts):
                if count:
                    time.sleep(0.02)
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


class Client:
    """A test-side rclpy node talking to one tracker node in ``namespace``."""

    def __init__(self, node, namespace: str, compressed: bool = False):
        self.node, self.ns, self.compressed = node, namespace, compressed
        self.detections: list[Detection2D] = []
        self.statuses: list[TrackerStatus] = []
        self._lock = threading.Lock()
        node.create_subscription(Detection2D, f"{namespace}/tracked_object", self._store(self.detections), RELIABLE)
        node.create_subscription(TrackerStatus, f"{namespace}/siamrpnpp_tracker/status", self._store(self.statuses),
                                 RELIABLE)
        kind, topic = (CompressedImage, "image/compressed") if compressed else (Image, "image")
        self.image_pub = node.create_publisher(kind, f"{namespace}/{topic}", RELIABLE)
        self.set_client = node.create_client(SetTarget, f"{namespace}/siamrpnpp_tracker/set_target")
        self.clear_client = node.create_client(Trigger, f"{namespace}/siamrpnpp_tracker/clear_target")

    def _store(self, store: list):
        def callback(msg):
            with self._lock:
                store.append(msg)
        return callback

    def wait_ready(self, process: NodeProcess, timeout: float = 180.0) -> None:
        def ready():
            assert process.alive(), f"node exited early:\n{process.log()}"
            return self.set_client.service_is_ready() and self.image_pub.get_subscription_count() > 0
        wait_until(ready, timeout, "the tracker node's service and image subscription")
        # The node may match our publisher a little after we match it: send tiny images of an unknown
        # encoding (rejected, never buffered) until its status counts one, so no test image is lost.
        probe = image_msg(np.zeros((2, 2, 3), np.uint8), -1, encoding="probe")
        if self.compressed:
            probe = CompressedImage(header=probe.header, format="png", data=b"probe")

        def heard():
            self.publish(probe)
            with self._lock:
                return any(s.frames_received for s in self.statuses)
        wait_until(heard, 30, "the tracker node to receive images", interval=0.2)

    def call(self, client, request, timeout: float = 120.0):
        future = client.call_async(request)
        wait_until(future.done, timeout, f"a response from {client.srv_name}")
        return future.result()

    def set_target(self, box, index: int | None = None, target_id: str = "") -> SetTarget.Response:
        request = SetTarget.Request(x=float(box[0]), y=float(box[1]), width=float(box[2]), height=float(box[3]),
                                    target_id=target_id)
        if index is not None:
            request.image_header.stamp = stamp(index)
        return self.call(self.set_client, request)

    def clear(self) -> Trigger.Response:
        return self.call(self.clear_client, Trigger.Request())

    def publish(self, msg) -> None:
        self.image_pub.publish(msg)

    def received(self, store: list, index: int) -> list:
        key = (stamp(index).sec, stamp(index).nanosec)
        with self._lock:
            return [m for m in store if (m.header.stamp.sec, m.header.stamp.nanosec) == key]

    def wait_detections(self, index: int, count: int = 1, timeout: float = 120.0) -> list[Detection2D]:
        return wait_until(lambda: len(self.received(self.detections, index)) >= count and
                          self.received(self.detections, index), timeout, f"Detection2D of image {index}")

    def wait_status(self, predicate, timeout: float = 30.0) -> TrackerStatus:
        def find():
            with self._lock:
                return next((s for s in reversed(self.statuses) if predicate(s)), None)
        return wait_until(find, timeout, "a matching TrackerStatus")

    def track(self, msg, index: int, count: int = 1) -> list[Detection2D]:
        """Publish one image and wait for its Detection2D(s); the node is idle between images."""
        self.publish(msg)
        return self.wait_detections(index, count)

    def feed(self, msg) -> None:
        """Publish an image while no target is set and wait until an IDLE status counts it as received
        (the image QoS keeps only the newest message, so the next one must wait for this one)."""
        with self._lock:
            seen = max((s.frames_received for s in self.statuses), default=0)
        self.publish(msg)
        self.wait_status(lambda s: s.frames_received > seen)
