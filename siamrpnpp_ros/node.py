"""The siamrpnpp tracking node: camera images in, vision_msgs/Detection2D out, target set by service.

Threads: the executor runs the callbacks (images are converted and buffered there); one tracking
thread takes the newest frame from a one-frame mailbox, so no backlog builds up when inference is
slower than the camera, and publishes the results.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import fields

import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from siamrpnpp.msg import TargetBearing, TrackerStatus
from siamrpnpp.srv import SetTarget
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D, Detection2DArray

from siamrpnpp_core import build_tracker, get_preset, resolve_device
from siamrpnpp_core.visualize import draw_result

from . import messages
from .bearing import Camera, bearing
from .conversions import ImageConverter, ImageError
from .frames import Frame, FrameBuffer, LatestFrame, stamp_key
from .params import NodeConfig
from .reinit import pick_detections
from .targets import TargetSet

NODE_NAME = "siamrpnpp_tracker"


def qos(reliability: str, depth: int) -> QoSProfile:
    policy = ReliabilityPolicy.BEST_EFFORT if reliability == "best_effort" else ReliabilityPolicy.RELIABLE
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=policy)


def fmt_stamp(stamp) -> str:
    sec, nanosec = stamp_key(stamp) if not isinstance(stamp, tuple) else stamp
    return f"{sec}.{nanosec:09d}"


class RosLogHandler(logging.Handler):
    """Forwards the core's Python log records (weights, device choices) to the node's ROS logger."""

    def __init__(self, logger):
        super().__init__()
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelno
        log = self.logger.error if level >= logging.ERROR else self.logger.warn if level >= logging.WARNING \
            else self.logger.info
        log(self.format(record))


class TrackerNode(Node):
    """SiamRPN++ tracker node; see config/tracker.yaml for its parameters."""

    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        core_log = logging.getLogger("siamrpnpp_core")
        core_log.setLevel(logging.INFO)
        core_log.addHandler(RosLogHandler(self.get_logger()))
        self.config = cfg = self._read_parameters()
        device = resolve_device(cfg.device)
        if cfg.cpu_threads:
            torch.set_num_threads(cfg.cpu_threads)
        if cfg.device.strip().lower() == "auto":
            self.get_logger().info(f"device auto: using {device}")
        preset = get_preset(cfg.preset)
        tracker = build_tracker(preset, cfg.weights or None, device, cfg.half, cfg.tracker_config(preset),
                                cfg.backend, cfg.cuda_graphs)
        self.targets = TargetSet(tracker.engine, tracker.config, cfg.max_targets)
        self.device = device
        self.converter = ImageConverter(cfg.use_cv_bridge)
        self.frames = FrameBuffer(cfg.frame_buffer_size)
        self.mailbox = LatestFrame()
        self.counts = {"frames_received": 0, "frames_processed": 0, "frames_rejected": 0}
        self.camera: Camera | None = None
        self.fps = 0.0
        self._last_done: float | None = None
        self._last_status: TrackerStatus | None = None
        self._log_times: dict[str, float] = {}
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._track_loop, name="siamrpnpp_tracking", daemon=True)
        self._make_interfaces()
        self.get_logger().info(
            f"tracking {cfg.subscribed_topic} ({cfg.image_transport}, {cfg.image_reliability}, depth "
            f"{cfg.image_depth}) -> {cfg.output_topic}; preset {preset.name} on {device} ({tracker.engine.name}), "
            f"image conversion "
            f"{self.converter.backend}")

    def _read_parameters(self) -> NodeConfig:
        values = {}
        for f in fields(NodeConfig):
            descriptor = ParameterDescriptor(description=f.metadata["doc"], read_only=True)
            try:
                values[f.name] = self.declare_parameter(f.name, f.default, descriptor).value
            except ParameterException as error:
                raise ValueError(f"parameter {f.name}: {error}") from None
        return NodeConfig(**values)

    def _make_interfaces(self) -> None:
        cfg = self.config
        out = qos(cfg.output_reliability, cfg.output_depth)
        inputs, services = MutuallyExclusiveCallbackGroup(), MutuallyExclusiveCallbackGroup()
        self.det_pub = self.create_publisher(Detection2D, cfg.output_topic, out)
        self.array_pub = self.create_publisher(Detection2DArray, cfg.array_topic, out)
        self.status_pub = self.create_publisher(TrackerStatus, "~/status", out)
        self.debug_pub = self.create_publisher(Image, "~/debug_image", out) if cfg.debug_image else None
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", out) if cfg.diagnostics else None
        self.bearing_pub = None
        image_qos = qos(cfg.image_reliability, cfg.image_depth)
        if cfg.image_transport == "compressed":
            self.create_subscription(CompressedImage, cfg.subscribed_topic, self._on_compressed, image_qos,
                                     callback_group=inputs)
        else:
            self.create_subscription(Image, cfg.image_topic, self._on_image, image_qos, callback_group=inputs)
        if cfg.detections_topic:
            self.create_subscription(Detection2DArray, cfg.detections_topic, self._on_detections,
                                     qos("best_effort", 5), callback_group=inputs)  # matches any detector
        if cfg.publish_bearing:
            self.bearing_pub = self.create_publisher(TargetBearing, "~/bearing", out)
            self.create_subscription(CameraInfo, cfg.camera_info_topic, self._on_camera_info, image_qos,
                                     callback_group=inputs)
        self.create_service(SetTarget, "~/set_target", self._on_set_target, callback_group=services)
        self.create_service(Trigger, "~/clear_target", self._on_clear_target, callback_group=services)
        self.create_timer(1.0, self._on_timer, callback_group=MutuallyExclusiveCallbackGroup())

    # --- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker.is_alive():
            self._worker.join(timeout=10.0)

    # --- inputs -----------------------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        self._receive(msg, self.converter.image)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._receive(msg, self.converter.compressed)

    def _receive(self, msg, convert) -> None:
        received = time.monotonic()
        self.counts["frames_received"] += 1
        try:
            image = convert(msg)
        except ImageError as error:
            self.counts["frames_rejected"] += 1
            self._warn_throttled(error.reason, f"dropped image {fmt_stamp(msg.header.stamp)}: {error}")
            return
        frame = Frame(image, msg.header, self.counts["frames_received"], received)
        self.frames.add(frame)
        if len(self.targets):
            self.mailbox.put(frame)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self.camera = Camera.from_camera_info(msg)
        except ValueError as error:
            self._warn_throttled("camera_info", f"ignoring camera_info: {error}")

    def _on_detections(self, msg: Detection2DArray) -> None:
        lost = [t.id for t in self.targets.snapshot() if t.lost]
        if not lost:
            return
        frame = self.frames.find(stamp_key(msg.header.stamp))
        if frame is None:
            self._warn_throttled("reinit", f"detections {fmt_stamp(msg.header.stamp)}: image not in the buffer")
            return
        boxes = pick_detections(msg.detections, len(lost), self.config.reinit_class_id,
                                self.config.reinit_min_score)
        for target_id, (box, score) in zip(lost, boxes, strict=False):
            try:
                self.targets.set(frame, box, target_id, existing=True)
                self.get_logger().info(f"target {target_id} re-initialised from a detection (score {score:.2f})")
            except ValueError as error:
                self.get_logger().warn(f"re-initialising target {target_id} failed: {error}")

    # --- services ---------------------------------------------------------------------------------
    def _on_set_target(self, request: SetTarget.Request, response: SetTarget.Response) -> SetTarget.Response:
        box = (request.x, request.y, request.width, request.height)
        try:
            frame = self._frame_for(request.image_header.stamp)
            response.target_id = self.targets.set(frame, box, request.target_id)
        except ValueError as error:
            response.success, response.message, response.target_id = False, str(error), request.target_id
            self.get_logger().warn(f"set_target {box} refused: {error}")
            return response
        response.success = True
        self.get_logger().info(f"target {response.target_id} set to {box} on image {fmt_stamp(frame.stamp)}")
        return response

    def _frame_for(self, stamp) -> Frame:
        """The buffered frame with ``stamp``, or the newest one for a zero stamp."""
        newest = self.frames.newest()
        if newest is None:
            raise ValueError(f"no image received yet on {self.resolve_topic_name(self.config.subscribed_topic)}")
        key = stamp_key(stamp)
        if key == (0, 0):
            return newest
        frame = self.frames.find(key)
        if frame is None:
            oldest, last = self.frames.span()
            raise ValueError(f"no image with stamp {fmt_stamp(key)} in the frame buffer (it holds stamps "
                             f"{fmt_stamp(oldest)} to {fmt_stamp(last)}, the last {self.config.frame_buffer_size} "
                             "images); set the target sooner or raise frame_buffer_size")
        return frame

    def _on_clear_target(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        count = self.targets.clear()
        self.mailbox.discard()
        response.success, response.message = True, f"cleared {count} target(s)"
        self.get_logger().info(response.message)
        self._publish_idle()
        return response

    # --- tracking thread --------------------------------------------------------------------------
    def _track_loop(self) -> None:
        while not self._stop.is_set():
            frame = self.mailbox.take(timeout=0.2)
            if frame is None:
                continue
            try:
                self._process(frame)
            except Exception as error:  # noqa: BLE001 - a failed frame must not end tracking
                self.get_logger().error(f"tracking image {fmt_stamp(frame.stamp)} failed: {error!r}")

    def _process(self, frame: Frame) -> None:
        start = time.monotonic()
        done = self.targets.step(frame)
        inference = time.monotonic() - start
        if not done:
            return
        detections = [messages.detection(frame.header, t, self.config.class_id) for t in done]
        for det in detections:
            self.det_pub.publish(det)
        published = time.monotonic()
        self.counts["frames_processed"] += 1
        if self._last_done is not None:
            period = published - self._last_done
            self.fps = 1.0 / period if self.fps == 0 else 0.9 * self.fps + 0.1 / max(period, 1e-6)
        self._last_done = published
        if self.array_pub.get_subscription_count():
            self.array_pub.publish(messages.detection_array(frame.header, detections))
        self._publish_bearings(frame, done)
        age = (self.get_clock().now() - Time.from_msg(frame.header.stamp)).nanoseconds * 1e-9
        status = messages.tracker_status(frame.header, done, self._counts(), latency=published - frame.received,
                                         image_age=age, inference_time=inference)
        self.status_pub.publish(status)
        self._last_status = status
        if self.debug_pub is not None and self.debug_pub.get_subscription_count():
            image = frame.image
            for target in done:
                image = draw_result(image, target.result, self.fps, label=f"{target.id}: ")
            self.debug_pub.publish(messages.bgr_image(frame.header, image))

    def _publish_bearings(self, frame: Frame, done) -> None:
        if self.bearing_pub is None or self.camera is None:
            return
        for target in done:
            if target.lost:
                continue
            x, y, w, h = target.result.bbox
            azimuth, elevation, direction = bearing(self.camera, x + w / 2.0, y + h / 2.0)
            self.bearing_pub.publish(messages.bearing(frame.header, target.id, azimuth, elevation, direction))

    # --- status -----------------------------------------------------------------------------------
    def _counts(self) -> dict:
        return {**self.counts, "frames_dropped": self.mailbox.dropped}

    def _publish_idle(self) -> None:
        newest = self.frames.newest()
        header = newest.header if newest else Header(stamp=self.get_clock().now().to_msg())
        status = messages.tracker_status(header, [], self._counts())
        self.status_pub.publish(status)
        self._last_status = status

    def _on_timer(self) -> None:
        if not len(self.targets):
            self._publish_idle()
        if self.diag_pub is not None and self._last_status is not None:
            extra = {"fps": f"{self.fps:.2f}", "device": str(self.device)}
            diag = messages.diagnostic(f"{self.get_fully_qualified_name()}: tracker", self._last_status, extra)
            header = Header(stamp=self.get_clock().now().to_msg())
            self.diag_pub.publish(DiagnosticArray(header=header, status=[diag]))

    def _warn_throttled(self, reason: str, text: str, period: float = 1.0) -> None:
        now = time.monotonic()
        if now - self._log_times.get(reason, -period) >= period:
            self._log_times[reason] = now
            self.get_logger().warn(text)


def main(args=None) -> int:
    """Run the node until shutdown; exit code 1 if it cannot start (bad parameter, device, weights)."""
    rclpy.init(args=args)
    try:
        node = TrackerNode()
    except (ValueError, OSError) as error:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        return 1
    executor = MultiThreadedExecutor(num_threads=3)
    executor.add_node(node)
    node.start()
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.stop()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
