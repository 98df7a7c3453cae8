"""launch_testing test of launch/tracker.launch.py as installed (found through the ament index): the
launched lifecycle node activates itself, tracks frames of the packaged real clip exactly as the core
tracker does, and exits cleanly on shutdown.

Collected by pytest through launch_testing's plugin (`make test`), and registered with add_launch_test in
CMakeLists.txt for `colcon test` on a ROS machine, where `launch_test` loads this file on its own.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ros_harness, when launch_test loads this file alone

import pytest  # noqa: E402

try:  # installed by `make ros` from the ROS tool wheels, or part of a ROS distribution
    import launch_testing.actions
    import launch_testing.asserts
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import GroupAction, IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch_ros.actions import SetParameter

    from launch import LaunchDescription
except ImportError as error:
    if os.environ.get("SIAMRPNPP_REQUIRE_ROS") == "1":
        raise
    pytest.skip(f"launch_testing / launch_ros not installed ({error}); `make ros` installs them from "
                "../shared/ros-wheels", allow_module_level=True)
import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from ros_harness import DEMO_BOX as BOX  # noqa: E402
from ros_harness import PRESET, RELIABLE, demo_frames, image_msg, stamp  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from siamrpnpp_msgs.srv import SetTarget  # noqa: E402
from vision_msgs.msg import Detection2D  # noqa: E402

from siamrpnpp_core import SiamRPNTracker, build_model, get_preset  # noqa: E402

NS = "/lt"


@pytest.mark.launch_test
def generate_test_description():
    launch_file = os.path.join(get_package_share_directory("siamrpnpp"), "launch", "tracker.launch.py")
    tracker = GroupAction([
        # Reliable images, through the standard QoS override parameter (the default is best effort).
        SetParameter(name=f"qos_overrides.{NS}/camera.subscription.reliability", value="reliable"),
        IncludeLaunchDescription(PythonLaunchDescriptionSource(launch_file),
                                 launch_arguments={"namespace": NS, "image_topic": "camera",
                                                   "device": "cpu"}.items()),
    ])
    return LaunchDescription([tracker, launch_testing.actions.ReadyToTest()])


class TestTrackerLaunch(unittest.TestCase):
    """Active test: frames in, set_target, Detection2D boxes equal to the core tracker's out."""

    @classmethod
    def setUpClass(cls):
        cls.context = rclpy.Context()  # its own: pytest may hold the default one for other tests
        rclpy.init(context=cls.context)
        cls.node = rclpy.create_node("tracker_launch_test", context=cls.context)
        cls.executor = SingleThreadedExecutor(context=cls.context)
        cls.executor.add_node(cls.node)
        cls.spinner = threading.Thread(target=cls.executor.spin, daemon=True)
        cls.spinner.start()

    @classmethod
    def tearDownClass(cls):
        cls.executor.shutdown()
        cls.node.destroy_node()
        rclpy.shutdown(context=cls.context)
        cls.spinner.join(timeout=10)

    def wait(self, predicate, timeout: float, what: str):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        self.fail(f"timed out after {timeout:.0f} s waiting for {what}")

    def test_launched_node_activates_and_tracks_like_the_core(self, proc_output):
        frames = demo_frames(4)
        detections = []
        self.node.create_subscription(Detection2D, f"{NS}/tracked_object", detections.append, RELIABLE)
        publisher = self.node.create_publisher(Image, f"{NS}/camera", RELIABLE)
        client = self.node.create_client(SetTarget, f"{NS}/siamrpnpp_tracker/set_target")
        proc_output.assertWaitFor(f"active: tracking {NS}/camera (raw)", timeout=300)
        self.wait(lambda: client.service_is_ready() and publisher.get_subscription_count(), 60,
                  "set_target and the image subscription")
        response = None
        for _ in range(40):  # until the node has heard the first image
            publisher.publish(image_msg(frames[0], 0))
            future = client.call_async(SetTarget.Request(x=BOX[0], y=BOX[1], width=BOX[2], height=BOX[3]))
            response = self.wait(lambda f=future: f.done() and f.result(), 60, "the set_target response")
            if response.success:
                break
            self.assertIn("no image received yet", response.message)
            time.sleep(0.25)
        self.assertTrue(response.success, response.message)
        core = SiamRPNTracker(build_model(PRESET, device="cpu"), get_preset(PRESET).tracker)
        core.init(frames[0], BOX)
        for index in (1, 2, 3):
            publisher.publish(image_msg(frames[index], index))
            expected = core.track(frames[index])
            [det] = self.wait(lambda i=index: [d for d in detections if d.header.stamp == stamp(i)], 60,
                              f"the Detection2D of image {index}")
            x, y, w, h = expected.bbox
            self.assertEqual(det.id, response.target_id)
            self.assertEqual(det.header.frame_id, "camera_optical")
            got = (det.bbox.center.position.x, det.bbox.center.position.y, det.bbox.size_x, det.bbox.size_y)
            for value, want in zip(got, (x + w / 2, y + h / 2, w, h)):
                self.assertAlmostEqual(value, want, places=3)
        proc_output.assertWaitFor(f"target {response.target_id} set to", timeout=10)


@launch_testing.post_shutdown_test()
class TestTrackerShutdown(unittest.TestCase):
    def test_exit_code(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
