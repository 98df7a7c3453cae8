"""launch_testing test of launch/tracker.launch.py: the launched node tracks and exits cleanly.

launch_testing is not on PyPI: this runs on a ROS 2 machine after `colcon build` (the launch file
starts the installed tracker_node), and is skipped elsewhere.
"""
from __future__ import annotations

import time
import unittest

import numpy as np
import pytest

try:  # launch_testing and launch_ros ship with ROS 2 distributions, not on PyPI
    import launch_ros  # noqa: F401 - the launch file needs it
    import launch_testing.actions
    import launch_testing.asserts
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    from launch import LaunchDescription
except ImportError as error:
    pytest.skip(f"launch_testing / launch_ros not installed ({error}); they ship with ROS 2, not on PyPI",
                allow_module_level=True)
import rclpy
from ros_harness import PARAMS_FILE, RELIABLE, ROOT, image_msg, stamp
from sensor_msgs.msg import Image
from siamrpnpp.srv import SetTarget
from vision_msgs.msg import Detection2D


@pytest.mark.launch_test
def generate_test_description():
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(ROOT / "launch" / "tracker.launch.py")),
        launch_arguments={"namespace": "lt", "params_file": str(PARAMS_FILE), "image_topic": "camera",
                          "device": "cpu"}.items())
    return LaunchDescription([tracker, launch_testing.actions.ReadyToTest()])


class TestTrackerLaunch(unittest.TestCase):
    """Active test: an image in, set_target, a Detection2D with the image's header out."""

    @classmethod
    def setUpClass(cls):
        rclpy.init()
        cls.node = rclpy.create_node("tracker_launch_test")

    @classmethod
    def tearDownClass(cls):
        cls.node.destroy_node()
        rclpy.shutdown()

    def spin_until(self, predicate, timeout: float):
        end = time.monotonic() + timeout
        while time.monotonic() < end and not predicate():
            rclpy.spin_once(self.node, timeout_sec=0.1)
        return predicate()

    def test_launched_node_tracks(self, proc_output):
        detections = []
        self.node.create_subscription(Detection2D, "/lt/tracked_object", detections.append, RELIABLE)
        publisher = self.node.create_publisher(Image, "/lt/camera", RELIABLE)
        client = self.node.create_client(SetTarget, "/lt/siamrpnpp_tracker/set_target")
        self.assertTrue(self.spin_until(client.service_is_ready, 180), "set_target never came up")
        frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
        response = None
        for attempt in range(20):  # images may be lost until discovery completes (best effort)
            publisher.publish(image_msg(frame, attempt))
            future = client.call_async(SetTarget.Request(x=100.0, y=80.0, width=40.0, height=50.0))
            self.spin_until(future.done, 60)
            response = future.result()
            if response.success:
                break
            time.sleep(0.5)
        self.assertTrue(response.success, response.message)
        for index in range(100, 110):
            publisher.publish(image_msg(frame, index))
            if self.spin_until(lambda: detections, 30):
                break
        self.assertTrue(detections, "no Detection2D from the launched node")
        self.assertEqual(detections[0].header.frame_id, "camera_optical")
        self.assertGreaterEqual(detections[0].header.stamp.sec, stamp(100).sec)
        proc_output.assertWaitFor("target 1 set to", timeout=10)


@launch_testing.post_shutdown_test()
class TestTrackerShutdown(unittest.TestCase):
    def test_exit_code(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
