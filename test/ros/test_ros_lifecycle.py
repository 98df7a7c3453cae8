"""The tracker node in this process, through its lifecycle, over real DDS: template inference for a
detector's re-initialisation runs on the tracking thread while image callbacks go on; deactivate pauses
(no subscription, no buffered frames, targets kept); cleanup unloads the network.

In process so that the test can hold the template inference at a gate and see the node's own counters.
"""
from __future__ import annotations

import gc
import threading
import weakref

import pytest
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from ros_harness import DEMO_BOX, RELIABLE, Client, demo_frames, image_msg, publish_until, stamp, wait_until
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from siamrpnpp_ros.node import TrackerNode

NS = "/inproc"
SUCCESS = TransitionCallbackReturn.SUCCESS


@pytest.fixture(scope="module")
def frames():
    return demo_frames(6)


@pytest.fixture(scope="module")
def tracker(ros_node):
    """The node, configured and active, spun by its own executor; LOST from the first frame (confidence
    thresholds at 1.0), re-initialised from NS/detections."""
    node = TrackerNode(namespace=NS, parameter_overrides=[
        Parameter("device", value="cpu"), Parameter("autostart", value=False),
        Parameter("confidence_low", value=1.0), Parameter("confidence_high", value=1.0),
        Parameter("detections_topic", value="detections"), Parameter("reinit_min_score", value=0.5),
        Parameter(f"qos_overrides.{NS}/image.subscription.reliability", value="reliable")])
    executor = MultiThreadedExecutor(num_threads=3)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
    yield node
    executor.shutdown()
    node.destroy_node()
    spinner.join(timeout=10)


def detection_on(box, score: float) -> Detection2D:
    det = Detection2D()
    det.bbox.center.position.x, det.bbox.center.position.y = box[0] + box[2] / 2, box[1] + box[3] / 2
    det.bbox.size_x, det.bbox.size_y = box[2], box[3]
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id, hypothesis.hypothesis.score = "person", score
    det.results.append(hypothesis)
    return det


def test_reinit_template_work_does_not_block_image_callbacks(tracker, ros_node, frames):
    client = Client(ros_node, NS)
    wait_until(lambda: client.image_pub.get_subscription_count() and client.set_client.service_is_ready(), 60,
               "the in-process node's subscription and service")

    def deliver(index: int) -> None:
        before = tracker.counts["frames_received"]
        publish_until(lambda: client.publish(image_msg(frames[index], index)),
                      lambda: tracker.counts["frames_received"] > before, f"image {index} to arrive")

    deliver(0)
    response = client.set_target(DEMO_BOX, 0, "walker")
    assert response.success, response.message
    deliver(1)
    wait_until(lambda: all(t.lost for t in tracker.targets.snapshot()) and tracker.targets.snapshot(), 60,
               "the target to be LOST")

    engine = tracker.targets.engine
    original, gate, entered = engine.template, threading.Event(), threading.Event()

    def held_template(z):
        entered.set()
        gate.wait(120)
        return original(z)

    engine.template = held_template
    try:
        detections = ros_node.create_publisher(Detection2DArray, f"{NS}/detections", RELIABLE)
        wait_until(lambda: detections.get_subscription_count(), 30, "the detections subscription")
        array = Detection2DArray(detections=[detection_on((120.0, 100.0, 30.0, 50.0), 0.9)])
        array.header.stamp = stamp(1)  # an image in the node's buffer
        seq = tracker.frames.find((stamp(1).sec, stamp(1).nanosec)).seq
        publish_until(lambda: detections.publish(array), entered.is_set,
                      "the re-initialisation to start its template inference")
        # The template inference is held at the gate: image callbacks must go on meanwhile (before, the
        # re-initialisation ran in the image callbacks' group and blocked them).
        for index in (2, 3):
            deliver(index)
    finally:
        gate.set()
        engine.template = original
    wait_until(lambda: tracker.targets.snapshot()[0].init_seq == seq, 60, "the target re-initialised on image 1")


def test_deactivate_pauses_and_cleanup_unloads(tracker, ros_node, frames):
    client = Client(ros_node, NS)
    target_ids = [t.id for t in tracker.targets.snapshot()]
    assert target_ids == ["walker"]
    assert tracker.trigger_deactivate() == SUCCESS
    wait_until(lambda: client.image_pub.get_subscription_count() == 0, 30, "the image subscription to go")
    assert tracker.frames.newest() is None, "the frame buffer is freed"
    assert [t.id for t in tracker.targets.snapshot()] == target_ids, "targets are kept while paused"
    refused = client.set_target(DEMO_BOX, None, "other")
    assert not refused.success and "not active" in refused.message

    assert tracker.trigger_activate() == SUCCESS
    wait_until(lambda: client.image_pub.get_subscription_count(), 30, "the image subscription to return")
    assert [t.id for t in tracker.targets.snapshot()] == target_ids
    assert tracker.trigger_deactivate() == SUCCESS

    engine = weakref.ref(tracker.targets.engine)
    assert tracker.trigger_cleanup() == SUCCESS
    gc.collect()
    assert engine() is None, "cleanup releases the network"
    assert tracker.targets is None
    wait_until(lambda: not client.set_client.service_is_ready(), 30, "set_target to go with the configuration")
