"""The tracker node over real DDS: its Detection2D boxes equal the core tracker's on the same frames.

One node process for the module, started with config/tracker.yaml as the launch file does (default
preset and weights). Its lost/tracking hysteresis is set to 0/0 so that every target reports TRACKING
(the lost state is covered by test_ros_lost.py).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace

import cv2
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from ros_harness import PRESET, image_msg, reliable_images, stamp, wait_until
from sensor_msgs.msg import CameraInfo, Image
from siamrpnpp_msgs.msg import TargetBearing, TrackerStatus
from vision_msgs.msg import Detection2DArray

from siamrpnpp_core import SiamRPNTracker, get_preset
from siamrpnpp_ros.bearing import Camera, bearing

CONFIG = replace(get_preset(PRESET).tracker, confidence_low=0.0, confidence_high=0.0)
K = [500.0, 0.0, 384.0, 0.0, 520.0, 288.0, 0.0, 0.0, 1.0]
D = [-0.2, 0.05, 0.001, -0.002, 0.0]


@pytest.fixture(scope="module")
def tracker(start_tracker):
    # Reliable images: 1.3 MB best-effort samples exceed Fast DDS's default shared-memory segment
    # and get lost in UDP fragments (the default QoS is covered with small images in test_ros_lost.py).
    # stale_input_timeout: frames here come as the test sends them, seconds apart on a loaded machine
    return start_tracker("/a", confidence_low=0, confidence_high=0, publish_bearing=True, stale_input_timeout=600.0,
                         **reliable_images("/a"))


def reference(model, frame, box) -> SiamRPNTracker:
    core = SiamRPNTracker(model, CONFIG)
    core.init(frame, box)
    return core


def assert_same(det, expected, target_id: str, index: int) -> None:
    """Detection2D == core TrackResult (centre/size of the same box, score, state) on image ``index``."""
    x, y, w, h = expected.bbox
    assert det.header.stamp == stamp(index) and det.header.frame_id == "camera_optical"
    assert det.id == target_id
    got = (det.bbox.center.position.x, det.bbox.center.position.y, det.bbox.size_x, det.bbox.size_y)
    assert got == pytest.approx((x + w / 2, y + h / 2, w, h), abs=1e-3)
    assert len(det.results) == 1, "a tracked target carries one hypothesis"
    assert det.results[0].hypothesis.class_id == "target"
    assert det.results[0].hypothesis.score == pytest.approx(expected.score, abs=1e-5)
    assert 0.0 <= det.results[0].hypothesis.score <= 1.0


def set_on(client, box, index: int, target_id: str = ""):
    """set_target on image ``index`` (published just before), retrying until the node has received it."""
    def attempt():
        response = client.set_target(box, index, target_id)
        if not response.success and ("no image" in response.message):
            return None
        return response
    response = wait_until(attempt, 30, f"set_target on image {index}")
    assert response.success, response.message
    return response


def test_set_target_before_any_image_is_refused(tracker):
    process, client = tracker
    response = client.set_target((10, 10, 20, 20))
    assert not response.success
    assert "no image received yet" in response.message and "/a/image" in response.message
    assert process.alive()
    assert "using the shipped demonstration weights" in process.log(), "core log records reach the ROS log"


def test_detections_equal_core_tracker(tracker, walker_frames, default_model):
    _, client = tracker
    frames, box = walker_frames
    camera_info = client.node.create_publisher(CameraInfo, "/a/camera_info", 10)
    info = CameraInfo(k=K, d=D, distortion_model="plumb_bob", width=768, height=576)
    bearings = []
    client.node.create_subscription(TargetBearing, "/a/siamrpnpp_tracker/bearing", bearings.append, 50)
    client.publish(image_msg(frames[0], 0))
    target_id = set_on(client, box, 0).target_id
    core = reference(default_model, frames[0], box)
    for i in range(1, 12):
        camera_info.publish(info)  # with every image, as a camera driver does
        client.publish(image_msg(frames[i], i))
        expected = core.track(frames[i])  # computed while the node works on the same frame
        [det] = client.wait_detections(i)
        assert_same(det, expected, target_id, i)
    status = client.wait_status(lambda s: s.header.stamp == stamp(11))
    assert status.state == TrackerStatus.TRACKING and status.header.frame_id == "camera_optical"
    assert [t.id for t in status.targets] == [target_id]
    assert status.targets[0].score == pytest.approx(expected.score, abs=1e-5)
    assert status.frames_dropped == 0 and status.frames_processed >= 11
    assert 0 < status.inference_time < status.latency
    # Bearing of the box centre from CameraInfo, on the same header.
    wait_until(lambda: any(b.header.stamp == stamp(11) for b in bearings), 10, "a bearing for image 11")
    last = next(b for b in bearings if b.header.stamp == stamp(11))
    u, v = det.bbox.center.position.x, det.bbox.center.position.y
    azimuth, elevation, _ = bearing(Camera(K, D), u, v)
    assert (last.azimuth, last.elevation) == pytest.approx((azimuth, elevation), abs=1e-9)
    assert math.isclose(last.direction.x ** 2 + last.direction.y ** 2 + last.direction.z ** 2, 1.0)
    assert last.id == target_id and (last.azimuth > 0) == (u > K[2])


def test_set_target_on_older_buffered_frame(tracker, walker_frames, default_model):
    _, client = tracker
    frames, box = walker_frames
    assert client.clear().success
    for i in range(6, 10):  # no target: buffered, not tracked
        client.feed(image_msg(frames[i], 60 + i))
    response = set_on(client, box, 67, target_id="walker")
    assert response.target_id == "walker"
    core = reference(default_model, frames[7], box)
    assert not client.received(client.detections, 69), "images without a target must not be tracked"
    for i in (10, 11):
        client.publish(image_msg(frames[i], 60 + i))
        expected = core.track(frames[i])
        [det] = client.wait_detections(60 + i)
        assert_same(det, expected, "walker", 60 + i)


def test_clear_then_set_again_on_newest(tracker, walker_frames, default_model):
    _, client = tracker
    frames, box = walker_frames
    response = client.clear()
    assert response.success and "cleared 1 target" in response.message
    client.wait_status(lambda s: s.state == TrackerStatus.IDLE and not s.targets)
    client.publish(image_msg(frames[3], 20))
    time.sleep(1.0)
    assert not client.received(client.detections, 20), "a cleared node must not publish detections"
    response = set_on(client, box, None)  # no stamp: the newest image (20)
    assert response.target_id not in ("", "walker")
    core = reference(default_model, frames[3], box)
    client.publish(image_msg(frames[4], 21))
    expected = core.track(frames[4])
    [det] = client.wait_detections(21)
    assert_same(det, expected, response.target_id, 21)


@pytest.mark.parametrize(("box", "index", "reason"), [
    ((math.nan, 10, 20, 20), None, "non-finite"),
    ((10, 10, 0, 20), None, "positive"),
    ((10, 10, 20, -5), None, "positive"),
    ((5000, 10, 20, 20), None, "outside"),
    ((10, 10, 20, 20), 999, "no image with stamp 1999.000000123 in the frame buffer"),
])
def test_bad_set_target_requests_are_refused(tracker, box, index, reason):
    process, client = tracker
    response = client.set_target(box, index)
    assert not response.success and reason in response.message, response.message
    assert process.alive()
    wait_until(lambda: reason in process.log(), 5, "the refusal in the node's log")


def test_encodings_are_converted_like_the_core_expects(tracker, walker_frames, default_model):
    _, client = tracker
    frames, box = walker_frames
    client.publish(image_msg(frames[0], 30))
    target_id = set_on(client, box, 30).target_id
    core = reference(default_model, frames[0], box)
    conversions = {"rgb8": cv2.COLOR_BGR2RGB, "mono8": cv2.COLOR_BGR2GRAY, "bgra8": cv2.COLOR_BGR2BGRA,
                   "rgba8": cv2.COLOR_BGR2RGBA}
    for index, (encoding, code) in enumerate(conversions.items(), start=31):
        pixels = cv2.cvtColor(frames[index - 30], code)
        client.publish(image_msg(pixels, index, encoding))
        expected = core.track(cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if encoding == "mono8" else frames[index - 30])
        [det] = client.wait_detections(index)
        assert_same(det, expected, target_id, index)


def test_malformed_images_are_dropped_and_tracking_goes_on(tracker, walker_frames, default_model):
    process, client = tracker
    frames, box = walker_frames
    client.publish(image_msg(frames[0], 40))
    target_id = set_on(client, box, 40).target_id
    core = reference(default_model, frames[0], box)
    # The counts in a tracked frame's status include every image received before it.
    client.publish(image_msg(frames[1], 41))
    assert_same(client.wait_detections(41)[0], core.track(frames[1]), target_id, 41)
    before = client.wait_status(lambda s: s.header.stamp == stamp(41)).frames_rejected
    short = image_msg(frames[2], 42)
    short.data = short.data[:-100]  # step x height disagrees with the data size
    empty = image_msg(frames[2][:0], 43)  # 0 rows
    unknown = image_msg(frames[2], 44, encoding="xyz9")
    # Paced by the node's own log line: the image QoS keeps only the newest message, so a fixed
    # sleep lets a busy node skip one.
    for msg, line in ((short, "dropped image 1042.000000123"), (empty, "dropped image 1043.000000123"),
                      (unknown, "dropped image 1044.000000123")):
        client.publish(msg)
        wait_until(lambda: line in process.log(), 15, f"the node's log line {line!r}")
    client.publish(image_msg(frames[2], 45))
    [det] = client.wait_detections(45)
    assert_same(det, core.track(frames[2]), target_id, 45)
    for bad in (42, 43, 44):
        assert not client.received(client.detections, bad)
    log = process.log()
    assert "dropped image 1042.000000123" in log and "step x height" in log
    assert "dropped image 1043.000000123: empty image" in log
    assert "unsupported image encoding 'xyz9'" in log or "cannot convert image encoding 'xyz9'" in log
    status = client.wait_status(lambda s: s.header.stamp == stamp(45))
    assert status.frames_rejected == before + 3
    assert process.alive()


def test_debug_image_and_array_follow_the_source_header(tracker, walker_frames):
    _, client = tracker
    frames, box = walker_frames
    debug, arrays, diagnostics = [], [], []
    client.node.create_subscription(Image, "/a/siamrpnpp_tracker/debug_image", debug.append, 10)
    client.node.create_subscription(Detection2DArray, "/a/tracked_objects", arrays.append, 10)
    client.node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    client.publish(image_msg(frames[0], 50))
    set_on(client, box, 50)
    # The node renders the debug image and the array only for subscribers it has matched, which may be
    # a little after ours see it: track frames until both come for one of them.
    for index in range(51, 62):
        client.publish(image_msg(frames[index - 50], index))
        [det] = client.wait_detections(index)
        try:
            wait_until(lambda i=index: any(m.header.stamp == stamp(i) for m in debug) and
                       any(m.header.stamp == stamp(i) for m in arrays), 3, "the debug image and the array")
            break
        except AssertionError:
            continue
    else:
        pytest.fail("no debug image and array for any of the 11 frames tracked")
    image = next(m for m in debug if m.header.stamp == stamp(index))
    assert image.header.frame_id == "camera_optical" and image.encoding == "bgr8"
    assert (image.height, image.width, image.step) == (576, 768, 768 * 3)
    array = next(m for m in arrays if m.header.stamp == stamp(index))
    assert [d.id for d in array.detections] == [det.id]
    ours = wait_until(lambda: [s for m in diagnostics for s in m.status if s.name.startswith("/a/siamrpnpp_tracker")],
                      10, "the node's diagnostics")
    values = {v.key: v.value for v in ours[-1].values}
    assert ours[-1].message == "tracking" and values["device"] == "cpu" and int(values["frames_processed"]) > 0
