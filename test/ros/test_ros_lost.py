"""Lost targets over real DDS: reported on the status topic and on Detection2D, several targets in one
node, re-initialisation from a detector, with the default best-effort QoS and PNG CompressedImage input.

The network is a generated checkpoint whose classification head sees background everywhere
(foreground probability 0.12 for every anchor), so every target is LOST from the first frame.
"""
from __future__ import annotations

import re
import time

import cv2
import pytest
from ros_harness import PRESET, png_msg, publish_until, stamp, wait_until
from siamrpnpp_msgs.msg import TargetStatus, TrackerStatus
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from siamrpnpp_core import SiamRPNTracker, build_model, get_preset
from siamrpnpp_core.checkpoint import save_safetensors

LEFT, RIGHT = (319.0, 119.0, 24.0, 42.0), (100.0, 100.0, 40.0, 50.0)


@pytest.fixture(scope="module")
def blind_weights(tmp_path_factory, default_model):
    state = {k: v.clone() for k, v in default_model.state_dict().items()}
    anchors = get_preset(PRESET).tracker.anchor_num
    heads = [k[: -len(".weight")] for k in state if re.fullmatch(r"rpn_head\.(rpn\d\.)?cls\.head\.3\.weight", k)]
    assert heads, "no classification head found"
    for head in heads:  # the last 1x1 convolution of each classification branch
        state[f"{head}.weight"].zero_()
        bias = state[f"{head}.bias"]
        bias[:anchors], bias[anchors:] = 1.0, -1.0  # background channels first, then foreground
    path = tmp_path_factory.mktemp("weights") / "blind.safetensors"
    save_safetensors(state, path, "pysot")
    return path


@pytest.fixture(scope="module")
def blind_model(blind_weights):
    return build_model(PRESET, weights=blind_weights, device="cpu")


@pytest.fixture(scope="module")
def frames(vtest_frames):
    """Half-size frames: their PNGs (~0.2 MB) travel well over best-effort DDS."""
    return [cv2.resize(f, (384, 288), interpolation=cv2.INTER_AREA) for f in vtest_frames[:6]]


@pytest.fixture(scope="module")
def tracker(start_tracker, blind_weights):
    return start_tracker("/b", compressed=True, weights=str(blind_weights), image_transport="compressed",
                         max_targets=2, detections_topic="detections")


def core(model, frame, box) -> SiamRPNTracker:
    tracker = SiamRPNTracker(model, get_preset(PRESET).tracker)
    tracker.init(frame, box)
    return tracker


def by_id(detections) -> dict[str, Detection2D]:
    return {d.id: d for d in detections}


def assert_lost(det: Detection2D, expected, index: int) -> None:
    x, y, w, h = expected.bbox
    assert expected.state.value == "lost"
    assert det.header.stamp == stamp(index) and det.header.frame_id == "camera_optical"
    assert det.results == [], "a LOST target's Detection2D carries no hypothesis"
    got = (det.bbox.center.position.x, det.bbox.center.position.y, det.bbox.size_x, det.bbox.size_y)
    assert got == pytest.approx((x + w / 2, y + h / 2, w, h), abs=1e-3)


def set_on(client, box, index: int, target_id: str):
    def attempt():
        response = client.set_target(box, index, target_id)
        return None if not response.success and "no image" in response.message else response
    response = wait_until(attempt, 30, f"set_target on image {index}")
    assert response.success, response.message
    assert response.target_id == target_id


@pytest.fixture(scope="module")
def references() -> dict[str, SiamRPNTracker]:
    """The core trackers that mirror the node's targets, carried from one test to the next."""
    return {}


def test_lost_state_is_reported_for_two_targets(tracker, frames, blind_model, references):
    _, client = tracker
    client.publish(png_msg(frames[0], 0))
    set_on(client, LEFT, 0, "left")
    set_on(client, RIGHT, 0, "right")
    refused = client.set_target((10, 10, 20, 20), 0, "third")
    assert not refused.success and "already tracking 2 targets (max_targets=2)" in refused.message
    references.update(left=core(blind_model, frames[0], LEFT), right=core(blind_model, frames[0], RIGHT))
    for i in (1, 2, 3):
        client.publish(png_msg(frames[i], i))
        expected = {name: ref.track(frames[i]) for name, ref in references.items()}
        got = by_id(client.wait_detections(i, count=2))
        assert sorted(got) == ["left", "right"]
        for name in got:
            assert_lost(got[name], expected[name], i)
        time.sleep(0.1)
    status = client.wait_status(lambda s: s.header.stamp == stamp(3))
    assert status.state == TrackerStatus.LOST
    assert {t.id: (t.state, t.frames_lost) for t in status.targets} == {
        "left": (TargetStatus.LOST, 3), "right": (TargetStatus.LOST, 3)}
    for target in status.targets:
        assert target.score == pytest.approx(expected[target.id].score, abs=1e-5) and target.score < 0.5


def detection(box, score: float, class_id: str = "person") -> Detection2D:
    det = Detection2D()
    det.bbox.center.position.x, det.bbox.center.position.y = box[0] + box[2] / 2, box[1] + box[3] / 2
    det.bbox.size_x, det.bbox.size_y = box[2], box[3]
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id, hypothesis.hypothesis.score = class_id, score
    det.results.append(hypothesis)
    return det


def test_lost_target_is_reinitialised_from_a_detector(tracker, frames, blind_model, references):
    process, client = tracker
    publisher = client.node.create_publisher(Detection2DArray, "/b/detections", 10)
    wait_until(lambda: publisher.get_subscription_count() > 0, 10, "the node's detections subscription")
    new_box = (200.0, 150.0, 30.0, 60.0)
    array = Detection2DArray(detections=[detection((50, 50, 20, 20), 0.2), detection(new_box, 0.9)])
    array.header.stamp, array.header.frame_id = stamp(3), "camera_optical"  # an image in the node's buffer
    # Sent again while not applied: the node's subscription may match our publisher a little after we see
    # it (a re-initialised target is not LOST until its next frame, so a second copy changes nothing).
    publish_until(lambda: publisher.publish(array),
                  lambda: "target left re-initialised from a detection (score 0.90)" in process.log(),
                  "the re-initialisation")
    left, right = core(blind_model, frames[3], new_box), references["right"]
    client.publish(png_msg(frames[4], 4))
    expected = {"left": left.track(frames[4]), "right": right.track(frames[4])}
    got = by_id(client.wait_detections(4, count=2))
    for name in ("left", "right"):
        assert_lost(got[name], expected[name], 4)
