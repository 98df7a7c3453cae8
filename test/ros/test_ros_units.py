"""The node's plain-Python parts: image conversion, frame hand-off, parameters, bearing, targets."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import fields
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import yaml
from ros_harness import PARAMS_FILE, PRESET, image_msg, png_msg
from sensor_msgs.msg import CompressedImage
from vision_msgs.msg import Detection2D, ObjectHypothesisWithPose

from siamrpnpp_core import get_preset
from siamrpnpp_ros.bearing import Camera, bearing
from siamrpnpp_ros.conversions import ImageConverter, ImageError, image_to_bgr
from siamrpnpp_ros.frames import Frame, FrameBuffer, LatestFrame
from siamrpnpp_ros.params import NodeConfig, compressed_topic, parameter_docs
from siamrpnpp_ros.reinit import pick_detections
from siamrpnpp_ros.targets import TargetSet

BUILT_IN = ImageConverter(use_cv_bridge=False)


@pytest.fixture(scope="module")
def bgr(vtest_frames):
    return vtest_frames[0][100:160, 200:280].copy()  # 60x80, real pixels


@pytest.mark.parametrize(("encoding", "to_encoding"), [
    ("bgr8", None), ("rgb8", cv2.COLOR_BGR2RGB), ("mono8", cv2.COLOR_BGR2GRAY),
    ("bgra8", cv2.COLOR_BGR2BGRA), ("rgba8", cv2.COLOR_BGR2RGBA)])
@pytest.mark.parametrize("padding", [0, 7])
def test_image_encodings_convert_to_bgr(bgr, encoding, to_encoding, padding):
    pixels = bgr if to_encoding is None else cv2.cvtColor(bgr, to_encoding)
    msg = image_msg(pixels, 0, encoding)
    if padding:  # rows padded beyond width x channels, as some drivers do
        rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
        msg.data = np.pad(rows, ((0, 0), (0, padding)), constant_values=255).tobytes()
        msg.step += padding
    expected = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if encoding == "mono8" else bgr
    out = BUILT_IN.image(msg)
    assert out.shape == expected.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, expected)


def test_malformed_images_raise_image_error(bgr):
    short = image_msg(bgr, 0)
    short.data = bytes(short.data)[:-3]
    narrow = image_msg(bgr, 0)
    narrow.step, narrow.data = 10, bytes(narrow.data)[: 10 * narrow.height]
    empty = image_msg(bgr[:, :0], 0)
    unknown = image_msg(bgr, 0, "32FC1")
    for msg, reason, text in ((short, "layout", "step x height"), (narrow, "layout", "smaller than width"),
                              (empty, "size", "empty image"), (unknown, "encoding 32FC1", "unsupported image encoding")):
        with pytest.raises(ImageError, match=text) as caught:
            image_to_bgr(msg)
        assert caught.value.reason == reason


def test_compressed_images_decode_or_raise(bgr):
    np.testing.assert_array_equal(BUILT_IN.compressed(png_msg(bgr, 0)), bgr)
    for data in (b"", b"not an image"):
        with pytest.raises(ImageError, match="cannot decode compressed image"):
            BUILT_IN.compressed(CompressedImage(format="jpeg", data=data))


def frame(seq: int, sec: int = 0) -> Frame:
    header = SimpleNamespace(stamp=SimpleNamespace(sec=sec or seq, nanosec=5))
    return Frame(np.zeros((4, 4, 3), np.uint8), header, seq, time.monotonic())


def test_frame_buffer_finds_recent_stamps_only():
    buffer = FrameBuffer(3)
    assert buffer.newest() is None and buffer.span() is None
    for seq in range(1, 6):
        buffer.add(frame(seq))
    assert buffer.newest().seq == 5 and buffer.span() == ((3, 5), (5, 5))
    assert buffer.find((4, 5)).seq == 4
    assert buffer.find((2, 5)) is None and buffer.find((4, 0)) is None
    with pytest.raises(ValueError):
        FrameBuffer(0)


def test_latest_frame_keeps_the_newest_and_counts_drops():
    box = LatestFrame()
    assert box.take(timeout=0.01) is None
    for seq in (1, 2, 3):
        box.put(frame(seq))
    assert box.take().seq == 3 and box.dropped == 2
    box.put(frame(4))
    box.discard()
    assert box.take(timeout=0.01) is None and box.dropped == 2
    threading.Timer(0.05, box.put, [frame(5)]).start()
    assert box.take(timeout=5).seq == 5


def test_params_file_documents_every_parameter_with_its_default():
    text = PARAMS_FILE.read_text()
    values = yaml.safe_load(text)["/**"]["ros__parameters"]
    docs = parameter_docs()
    assert values == {name: default for name, (default, _) in docs.items()}
    lines = [line.strip() for line in text.splitlines()]
    for name in docs:  # each key sits under a comment (shared by consecutive keys)
        index = lines.index(next(line for line in lines if line.startswith(f"{name}:"))) - 1
        while lines[index] and not lines[index].startswith("#"):
            index -= 1
        assert lines[index].startswith("#") and lines[index] != "#", f"{name} is not documented"
    assert all(doc for _, doc in docs.values())


@pytest.mark.parametrize(("change", "message"), [
    ({"image_transport": "theora"}, "image_transport must be one of raw, compressed"),
    ({"max_targets": 0}, r"max_targets must be in \[1, 64\], got 0"),
    ({"frame_buffer_size": 0}, "frame_buffer_size must be in"),
    ({"reinit_min_score": 1.5}, "reinit_min_score must be in"),
    ({"confidence_low": 2}, r"confidence_low must be in \[-1.0, 1.0\], got 2.0"),
    ({"colour_weight": 1.5}, r"colour_weight must be in \[-1.0, 1.0\], got 1.5"),
    ({"stale_input_timeout": -1.0}, "stale_input_timeout must be in"),
    ({"max_targets": 1.5}, "max_targets must be of type int, got 1.5"),
    ({"half": 1}, "half must be of type bool"),
    ({"backend": "tensorrt"}, "backend must be one of auto, eager, torch, onnxruntime, openvino"),
    ({"precision": "fp16"}, "precision must be one of"),
    ({"random_weights": True, "weights": "model.pth"}, "either weights or random_weights"),
])
def test_bad_parameters_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        NodeConfig(**change)


def test_tracker_config_overrides_the_preset():
    preset = get_preset(PRESET)
    assert NodeConfig().tracker_config() == preset.tracker
    config = NodeConfig(long_term=True, confidence_low=0.9, confidence_high=0.95).tracker_config()
    assert (config.long_term, config.confidence_low, config.confidence_high) == (True, 0.9, 0.95)
    assert (preset.tracker.colour_weight, preset.tracker.colour_min_similarity) == (0.2, 0.5)
    config = NodeConfig(colour_weight=0, colour_min_similarity=0.4).tracker_config()
    assert (config.colour_weight, config.colour_min_similarity) == (0.0, 0.4)
    assert NodeConfig(confidence_low=0).confidence_low == 0.0 and type(NodeConfig(confidence_low=0).confidence_low) is float
    assert compressed_topic("/cam/image_raw") == "/cam/image_raw/compressed"
    assert {f.name for f in fields(NodeConfig)} == set(parameter_docs())


def test_bearing_of_an_ideal_camera():
    camera = Camera([400, 0, 320, 0, 400, 240, 0, 0, 1])
    assert bearing(camera, 320, 240) == (0.0, 0.0, (0.0, 0.0, 1.0))
    azimuth, elevation, direction = bearing(camera, 720, 240)  # one focal length right: 45 degrees
    assert azimuth == pytest.approx(math.pi / 4) and elevation == pytest.approx(0.0)
    assert direction == pytest.approx((math.sqrt(0.5), 0.0, math.sqrt(0.5)))
    assert bearing(camera, 320, 0)[1] > 0, "above the centre is positive elevation"
    with pytest.raises(ValueError, match="focal"):
        Camera([0] * 9)


@pytest.mark.parametrize(("model", "d"), [("plumb_bob", [-0.25, 0.08, 0.001, -0.002, 0.0]),
                                          ("equidistant", [0.05, -0.01, 0.002, -0.001])])
def test_bearing_removes_lens_distortion(model, d):
    k = np.array([[450.0, 0, 330], [0, 455.0, 250], [0, 0, 1]])
    ray = np.array([[[0.3, -0.2, 1.0]]])
    if model == "equidistant":
        pixel = cv2.fisheye.projectPoints(ray, np.zeros(3), np.zeros(3), k, np.array(d))[0][0, 0]
    else:
        pixel = cv2.projectPoints(ray, np.zeros(3), np.zeros(3), k, np.array(d))[0][0, 0]
    azimuth, _, direction = bearing(Camera(k.ravel(), d, model), *pixel)
    expected = ray[0, 0] / np.linalg.norm(ray)
    assert direction == pytest.approx(tuple(expected), abs=1e-6)
    assert azimuth == pytest.approx(math.atan(0.3), abs=1e-6)


def test_pick_detections_by_score_and_class():
    def det(x, score, class_id="person", w=10.0):
        d = Detection2D()
        d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y = x, 50.0, w, 20.0
        d.results.append(ObjectHypothesisWithPose())
        d.results[0].hypothesis.class_id, d.results[0].hypothesis.score = class_id, score
        return d
    dets = [det(10, 0.6), det(20, 0.9, "car"), det(30, 0.3), det(40, 0.95, w=0.0), det(50, 0.7)]
    assert pick_detections(dets, 2) == [((15.0, 40.0, 10.0, 20.0), 0.9), ((45.0, 40.0, 10.0, 20.0), 0.7)]
    assert [s for _, s in pick_detections(dets, 5, class_id="person")] == [0.7, 0.6]
    assert pick_detections(dets, 5, min_score=0.99) == []


def test_target_set_shares_one_model(vtest_frames, default_model):
    config = get_preset(PRESET).tracker
    targets = TargetSet(default_model, config, max_targets=2)
    first = Frame(vtest_frames[0], None, 1, 0.0)
    assert targets.set(first, (638, 238, 48, 84)) == "1"
    assert targets.set(first, (100, 100, 40, 40), "mine") == "mine"
    with pytest.raises(ValueError, match="already tracking 2 targets"):
        targets.set(first, (10, 10, 20, 20), "third")
    with pytest.raises(ValueError, match="non-finite"):
        targets.set(first, (math.nan, 10, 20, 20), "mine")
    assert [t.id for t in targets.snapshot()] == ["1", "mine"]
    with pytest.raises(ValueError, match="no longer exists"):
        targets.set(first, (10, 10, 20, 20), "gone", existing=True)
    assert targets.step(first) == [], "a target does not track the frame it was initialised on"
    passes = []
    search = targets.engine.search
    targets.engine.search = lambda kernels, x: passes.append(x.shape[0]) or search(kernels, x)
    done = targets.step(Frame(vtest_frames[1], None, 2, 0.0))
    assert [t.id for t in done] == ["1", "mine"] and all(t.tracker.model is default_model for t in done)
    assert passes == [2], "both targets go through the network in one batched pass"
    assert targets.clear() == 2 and len(targets) == 0
    single = TargetSet(default_model, config)
    single.set(first, (638, 238, 48, 84), "a")
    single.set(first, (100, 100, 40, 40))
    assert [t.id for t in single.snapshot()] == ["1"], "a single-target node replaces its target"
