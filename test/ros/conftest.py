"""Fixtures for the ROS 2 tests (helpers in ros_harness.py).

Without rclpy and our interfaces (run `make ros`) these tests are skipped, unless SIAMRPNPP_REQUIRE_ROS=1
(set by CI), which turns the skip into a failure.
"""
from __future__ import annotations

import os
import threading

import pytest

# isort: off
from ros_harness import Client, NodeProcess  # first: skips this folder when ROS 2 is not set up
import rclpy
from rclpy.executors import SingleThreadedExecutor
# isort: on


@pytest.fixture(scope="session")
def ros_node():
    rclpy.init()
    node = rclpy.create_node(f"siamrpnpp_test_{os.getpid()}")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def start_tracker(ros_node, tmp_path_factory):
    """``start_tracker(namespace, compressed=False, **parameter_overrides)`` -> (NodeProcess, Client)."""
    started = []

    def start(namespace: str, compressed: bool = False, **overrides):
        log = tmp_path_factory.mktemp("node") / f"{namespace.strip('/')}.log"
        process = NodeProcess(namespace, log, device="cpu", **overrides)
        started.append(process)
        client = Client(ros_node, namespace, compressed)
        client.wait_ready(process)
        return process, client

    yield start
    for process in started:
        alive = process.alive()
        code = process.stop()
        assert alive, f"the node died during the tests:\n{process.log()[-4000:]}"
        assert code == 0, f"the node exited with {code} on SIGINT:\n{process.log()[-4000:]}"


@pytest.fixture(scope="session")
def walker_frames(vtest_frames):
    """Real frames of OpenCV's pedestrian video and a box around a walker on it."""
    return vtest_frames, (638.0, 238.0, 48.0, 84.0)


@pytest.fixture(scope="session")
def default_model():
    """The network the node builds from config/tracker.yaml (default preset and weights), on the CPU."""
    from ros_harness import PRESET

    from siamrpnpp_core import build_model

    return build_model(PRESET, device="cpu")
