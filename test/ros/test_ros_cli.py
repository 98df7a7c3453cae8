"""The README's ROS 2 commands, run literally as a user runs them (ros2 launch, ros2 service call,
ros2 topic echo, ros2 param, ros2 lifecycle, ros2 run), over real DDS with frames of the packaged real
clip; the boxes they print equal the core tracker's. The last test checks that every ROS command of the
README's "ROS 2 node" section is one of those run here.
"""
from __future__ import annotations

import re
import shlex
import sys
import threading
import time

import pytest
import torch
import yaml
from ros_cli import Background, run, stop_daemon
from ros_harness import DEMO_BOX, PRESET, RELIABLE, ROOT, Client, demo_frames, image_msg, png_msg, stamp, wait_until
from sensor_msgs.msg import CompressedImage, Image
from siamrpnpp_msgs.msg import TrackerStatus
from vision_msgs.msg import Detection2D

from siamrpnpp_core import SiamRPNTracker, TrackState, build_model, get_preset

# The README's commands, character for character (test_readme_commands_are_all_run checks it).
LAUNCH = ("ros2 launch siamrpnpp tracker.launch.py image_topic:=/camera/image_raw weights:=/path/to/model.pth "
          "device:=cpu")
SET_TARGET = ('ros2 service call /siamrpnpp_tracker/set_target siamrpnpp_msgs/srv/SetTarget '
              '"{x: 255.0, y: 119.0, width: 24.0, height: 42.0}"')
ECHO = "ros2 topic echo --once /tracked_object"
ECHO_FIELD = "ros2 topic echo --once /tracked_object --field bbox"
CLEAR = "ros2 service call /siamrpnpp_tracker/clear_target std_srvs/srv/Trigger"
PARAM_GET = "ros2 param get /siamrpnpp_tracker device"
PARAM_LIST = "ros2 param list /siamrpnpp_tracker"
LIFECYCLE_GET = "ros2 lifecycle get /siamrpnpp_tracker"
DEACTIVATE = "ros2 lifecycle set /siamrpnpp_tracker deactivate"
ACTIVATE = "ros2 lifecycle set /siamrpnpp_tracker activate"
LAUNCH_MANUAL = "ros2 launch siamrpnpp tracker.launch.py image_topic:=/camera/image_raw autostart:=false"
PARAM_SET = "ros2 param set /siamrpnpp_tracker max_targets 2"
CONFIGURE = "ros2 lifecycle set /siamrpnpp_tracker configure"
CLEANUP = "ros2 lifecycle set /siamrpnpp_tracker cleanup"
RUN_COMPRESSED = ("ros2 run siamrpnpp tracker_node --ros-args -r __ns:=/uav1 -r image:=camera/image_raw "
                  "-p image_transport:=compressed -p device:=cpu")
RUN_RELIABLE = ("ros2 run siamrpnpp tracker_node --ros-args -p image_topic:=/camera/image_raw -p device:=cpu "
                "-p qos_overrides./camera/image_raw.subscription.reliability:=reliable")
QOS_GET = "ros2 param get /siamrpnpp_tracker qos_overrides./camera/image_raw.subscription.reliability"
PYTHON_M = (".venv/bin/python -m siamrpnpp_ros --ros-args --params-file config/tracker.yaml "
            "-p image_topic:=/camera/image_raw -p device:=cpu")

RAN: set[str] = set()  # README commands run so far


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, default_model):
    """A pysot-layout .pth (the README's /path/to/model.pth): the default preset's demonstration weights."""
    path = tmp_path_factory.mktemp("weights") / "model.pth"
    torch.save(default_model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def cli(checkpoint, tmp_path_factory):
    """``cli.run(line)`` / ``cli.start(line)`` for README lines, with their placeholders filled in."""
    logs = tmp_path_factory.mktemp("cli")
    started = []

    class Cli:
        @staticmethod
        def concrete(line: str) -> str:
            RAN.add(line)
            return line.replace("/path/to/model.pth", str(checkpoint)).replace(".venv/bin/python",
                                                                             shlex.quote(sys.executable))

        def run(self, line: str, **kwargs) -> str:
            return run(self.concrete(line), **kwargs)

        def start(self, line: str) -> Background:
            process = Background(self.concrete(line), logs / f"{len(started)}.log")
            started.append(process)
            return process

        @staticmethod
        def stop_all() -> None:
            while started:
                started.pop().stop()

    yield Cli()
    Cli.stop_all()
    stop_daemon()


@pytest.fixture(autouse=True)
def _one_node_at_a_time(cli):
    """Each test stops what it started, even when it fails: the next one starts a node of the same name."""
    yield
    cli.stop_all()


@pytest.fixture(scope="module")
def frames():
    return demo_frames(10)


class Watcher:
    """The test node's view of the root-namespace tracker: its image publisher, statuses, detections."""

    def __init__(self, node, image_topic: str = "/camera/image_raw", namespace: str = "", compressed=False):
        self.node, self._lock = node, threading.Lock()
        self.statuses: list[TrackerStatus] = []
        self.detections: list[Detection2D] = []
        self.image_pub = node.create_publisher(CompressedImage if compressed else Image, image_topic, RELIABLE)
        self.compressed = compressed
        node.create_subscription(TrackerStatus, f"{namespace}/siamrpnpp_tracker/status", self._keep(self.statuses),
                                 RELIABLE)
        node.create_subscription(Detection2D, f"{namespace}/tracked_object", self._keep(self.detections), RELIABLE)

    def _keep(self, store):
        def callback(msg):
            with self._lock:
                store.append(msg)
        return callback

    def received(self) -> int:
        with self._lock:
            return max((s.frames_received for s in self.statuses), default=0)

    def deliver(self, frame, index: int, timeout: float = 90.0, again_after: float = 10.0) -> None:
        """Publish frame ``index`` and wait until the node's status counts one more received image. Best
        effort may lose it (or discovery may not have finished on the node's side): it is sent again only
        after ``again_after`` seconds without the count moving, so the node does not track it twice."""
        before = self.received()
        msg = png_msg(frame, index) if self.compressed else image_msg(frame, index)
        sent = [time.monotonic()]
        self.image_pub.publish(msg)

        def received() -> bool:
            if self.received() > before:
                return True
            if time.monotonic() - sent[0] > again_after:
                sent[0] = time.monotonic()
                self.image_pub.publish(msg)
            return False
        wait_until(received, timeout, f"the node to receive image {index}")

    def detection(self, index: int, timeout: float = 60.0) -> Detection2D:
        def find():
            with self._lock:
                return next((d for d in self.detections if d.header.stamp == stamp(index)), None)
        return wait_until(find, timeout, f"the Detection2D of image {index}")

    def subscribers(self, topic: str) -> int:
        return len(self.node.get_subscriptions_info_by_topic(topic))

    def start_echo(self, cli, line: str, topic: str = "/tracked_object", timeout: float = 180.0) -> Background:
        """``line`` (a `ros2 topic echo`) started again until it subscribes to ``topic``."""
        end = time.monotonic() + timeout
        while True:
            before = self.subscribers(topic)
            echo = cli.start(line)
            wait_until(lambda: self.subscribers(topic) > before or not echo.alive(), timeout, f"`{line}` to subscribe")
            if echo.alive():
                return echo
            assert "Could not determine the type" in echo.output() and time.monotonic() < end, echo.output()
            time.sleep(1.0)


def response_of(output: str) -> dict:
    """The fields of the response `ros2 service call` prints (success, message, target_id)."""
    match = re.search(r"response:\n\S+\((.*)\)", output)
    assert match, output
    return dict(re.findall(r"(\w+)=(True|False|'[^']*')", match.group(1)))


def first_message(output: str) -> dict:
    """The first YAML document `ros2 topic echo` printed."""
    return yaml.safe_load(output.split("\n---")[0])


def box_of(bbox: dict) -> tuple:
    """(centre x, centre y, width, height) of a BoundingBox2D as `ros2 topic echo` prints it."""
    return bbox["center"]["position"]["x"], bbox["center"]["position"]["y"], bbox["size_x"], bbox["size_y"]


def centre_size(result) -> tuple:
    x, y, w, h = result.bbox
    return x + w / 2, y + h / 2, w, h


def assert_box(bbox: dict, expected) -> None:
    assert box_of(bbox) == pytest.approx(centre_size(expected), abs=1e-3)


def test_launch_set_target_echo_params_and_pause(cli, ros_node, frames, checkpoint):
    watcher = Watcher(ros_node)
    launch = cli.start(LAUNCH)
    # the subscription can be seen before launch has relayed the node's log line: wait for both
    wait_until(lambda: (watcher.image_pub.get_subscription_count()
                        and "active: tracking /camera/image_raw (raw)" in launch.output()) or not launch.alive(),
               300, "the launched node's image subscription and its log line")
    assert launch.alive(), launch.output()
    assert "active: tracking /camera/image_raw (raw)" in launch.output()
    watcher.deliver(frames[0], 0)
    response = response_of(cli.run(SET_TARGET))
    assert response["success"] == "True", response
    target_id = response["target_id"].strip("'")
    core = SiamRPNTracker(build_model(PRESET, weights=checkpoint, device="cpu"), get_preset(PRESET).tracker)
    core.init(frames[0], DEMO_BOX)

    # `ros2 topic echo` without a type asks the ros2 daemon for it and gives up when the daemon has not
    # seen the topic yet ("Could not determine the type"): run it again then, as a user would.
    echo, echo_field = watcher.start_echo(cli, ECHO), watcher.start_echo(cli, ECHO_FIELD)
    # The tracker's publisher may match an echo's subscription a little after the echo sees it: feed
    # frames, one at a time, until both echoes have printed, keeping the core tracker in step.
    expected, index = {}, 0
    while (echo.alive() or echo_field.alive()) and index + 2 < len(frames):  # one frame left for later
        index += 1
        watcher.deliver(frames[index], index)
        expected[index] = core.track(frames[index])
        end = time.monotonic() + 10.0
        while (echo.alive() or echo_field.alive()) and time.monotonic() < end:
            time.sleep(0.1)
    assert echo.wait(30) == 0 and echo_field.wait(30) == 0, echo.output() + echo_field.output()
    message = first_message(echo.output())
    shown = message["header"]["stamp"]["sec"] - stamp(0).sec
    assert message["header"]["stamp"] == {"sec": stamp(shown).sec, "nanosec": stamp(shown).nanosec}
    assert message["header"]["frame_id"] == "camera_optical" and message["id"] == target_id
    assert_box(message["bbox"], expected[shown])
    if expected[shown].state is TrackState.TRACKING:  # one hypothesis with the core's score; none when lost
        assert message["results"][0]["hypothesis"]["score"] == pytest.approx(expected[shown].score, abs=1e-5)
    else:
        assert not message["results"], message
    # --field prints the box alone (no stamp): it is the core's box of one of the frames fed.
    bbox = first_message(echo_field.output())
    assert any(box_of(bbox) == pytest.approx(centre_size(r), abs=1e-3) for r in expected.values()), bbox

    assert "String value is: cpu" in cli.run(PARAM_GET)
    names = cli.run(PARAM_LIST).split()
    for name in ("autostart", "confidence_low", "stale_input_timeout",
                 "qos_overrides./camera/image_raw.subscription.reliability",
                 "qos_overrides./tracked_object.publisher.depth"):
        assert name in names, names
    assert "active [3]" in cli.run(LIFECYCLE_GET)

    # Pause: no image subscription, nothing tracked; the target is kept and resumes on activate.
    assert "Transitioning successful" in cli.run(DEACTIVATE)
    assert "inactive [2]" in cli.run(LIFECYCLE_GET)
    wait_until(lambda: watcher.image_pub.get_subscription_count() == 0, 30, "the image subscription to go")
    assert "Transitioning successful" in cli.run(ACTIVATE)
    wait_until(lambda: watcher.image_pub.get_subscription_count(), 30, "the image subscription to return")
    index += 1
    watcher.deliver(frames[index], index)
    det = watcher.detection(index)
    assert det.id == target_id
    assert_box({"center": {"position": {"x": det.bbox.center.position.x, "y": det.bbox.center.position.y}},
                "size_x": det.bbox.size_x, "size_y": det.bbox.size_y}, core.track(frames[index]))

    assert "cleared 1 target(s)" in cli.run(CLEAR)
    assert launch.stop() == 0, launch.output()
    assert "Traceback" not in launch.output(), launch.output()


def test_manual_lifecycle_with_autostart_false(cli, ros_node):
    watcher = Watcher(ros_node)
    launch = cli.start(LAUNCH_MANUAL)
    wait_until(lambda: "autostart is false" in launch.output() or not launch.alive(), 120, "the node to start")
    assert "unconfigured [1]" in cli.run(LIFECYCLE_GET)
    assert "Set parameter successful" in cli.run(PARAM_SET)  # read when configured
    assert "Transitioning successful" in cli.run(CONFIGURE)
    assert "inactive [2]" in cli.run(LIFECYCLE_GET)
    assert watcher.image_pub.get_subscription_count() == 0, "no image subscription before activate"
    refused = cli.run("ros2 param set /siamrpnpp_tracker max_targets 3", check=False)
    assert "parameters are read when the node is configured" in refused, refused
    assert "Transitioning successful" in cli.run(ACTIVATE)
    wait_until(lambda: watcher.image_pub.get_subscription_count(), 30, "the image subscription")
    assert "Integer value is: 2" in cli.run("ros2 param get /siamrpnpp_tracker max_targets")
    assert "Transitioning successful" in cli.run(DEACTIVATE)
    assert "Transitioning successful" in cli.run(CLEANUP)
    assert "unconfigured [1]" in cli.run(LIFECYCLE_GET)
    wait_until(lambda: "network unloaded" in launch.output(), 30, "the cleanup log line")  # relayed by launch
    assert launch.stop() == 0, launch.output()


def test_ros_run_compressed_topic_follows_namespace_and_remap(cli, ros_node, frames, default_model):
    """image_transport compressed: the remapped, namespaced base topic + /compressed (not image/compressed)."""
    watcher = Watcher(ros_node, "/uav1/camera/image_raw/compressed", "/uav1", compressed=True)
    node = cli.start(RUN_COMPRESSED)
    active = "active: tracking /uav1/camera/image_raw/compressed (compressed)"
    # The log line is written after the subscription exists: wait for both, the log may lag discovery.
    wait_until(lambda: (watcher.image_pub.get_subscription_count() and active in node.output())
               or not node.alive(), 300, "a subscription on /uav1/camera/image_raw/compressed")
    assert node.alive(), node.output()
    assert active in node.output()
    assert watcher.subscribers("/uav1/image/compressed") == 0
    watcher.deliver(frames[0], 0)
    client = Client(ros_node, "/uav1", compressed=True)
    response = client.set_target(DEMO_BOX, 0, "walker")
    assert response.success, response.message
    core = SiamRPNTracker(default_model, get_preset(PRESET).tracker)
    core.init(frames[0], DEMO_BOX)
    watcher.deliver(frames[1], 1)
    det = watcher.detection(1)
    expected = core.track(frames[1])  # PNG is lossless: the node tracked the same pixels
    assert det.id == "walker"
    assert_box({"center": {"position": {"x": det.bbox.center.position.x, "y": det.bbox.center.position.y}},
                "size_x": det.bbox.size_x, "size_y": det.bbox.size_y}, expected)
    assert node.stop() == 0, node.output()


def test_ros_run_with_a_qos_override(cli, ros_node):
    """qos_overrides.<topic>.subscription.reliability makes the image subscription reliable (default: best effort)."""
    node = cli.start(RUN_RELIABLE)
    topic = "/camera/image_raw"
    wait_until(lambda: ros_node.get_subscriptions_info_by_topic(topic) or not node.alive(), 300,
             "the image subscription")
    assert node.alive(), node.output()
    [info] = ros_node.get_subscriptions_info_by_topic(topic)
    assert info.qos_profile.reliability.name == "RELIABLE"  # (discovery does not carry the depth)
    assert "String value is: reliable" in cli.run(QOS_GET)
    depth = run("ros2 param get /siamrpnpp_tracker qos_overrides./camera/image_raw.subscription.depth")
    assert "Integer value is: 1" in depth, "the sensor-data depth is kept"
    assert node.stop() == 0, node.output()


def test_plain_python_entry_point(cli, ros_node):
    node = cli.start(PYTHON_M)
    wait_until(lambda: "active: tracking /camera/image_raw" in node.output() or not node.alive(), 300,
             "the node to activate")
    [info] = wait_until(lambda: ros_node.get_subscriptions_info_by_topic("/camera/image_raw"), 30, "its subscription")
    assert info.qos_profile.reliability.name == "BEST_EFFORT", "sensor-data default"
    assert node.stop() == 0, node.output()


def readme_ros_commands() -> list[str]:
    """Every command of the README's "ROS 2 node" section that runs ROS: `ros2 ...` and the node's entry point."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## ROS 2 node"):text.index("\n## Evaluation on tracking benchmarks")]
    lines = [line[4:] for line in section.splitlines() if line.startswith("    ")]
    commands, current = [], ""
    for line in lines:
        current = f"{current} {line.strip()}" if current else line.strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        current = re.sub(r"\s{2,}#.*$", "", current)  # a trailing comment
        if current.startswith("ros2 ") or "-m siamrpnpp_ros" in current:
            commands.append(current)
        current = ""
    return commands


def test_readme_commands_are_all_run():
    commands = readme_ros_commands()
    assert len(commands) >= 10, commands
    missing = [c for c in commands if c not in RAN]
    assert not missing, f"README commands no test ran: {missing}"
