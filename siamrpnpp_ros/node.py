"""The siamrpnpp tracking node: a managed (lifecycle) node, camera images in, vision_msgs/Detection2D out,
the target set by service.

Lifecycle: ``configure`` reads the parameters and loads the network; ``activate`` subscribes to the
camera (and the detector and camera_info topics) and starts the tracking thread; ``deactivate`` pauses:
it unsubscribes, stops the thread and frees the frame buffer and the CUDA allocator's cache, keeping the
targets; ``cleanup`` unloads the network. With ``autostart`` (the default) the node configures and
activates itself, so it runs like a plain node.

Threads: the executor runs the callbacks (images are converted and buffered there). One tracking thread
takes jobs (target initialisations, whose template inference would otherwise block a callback) and the
newest frame from its inbox, so no backlog builds up when inference is slower than the camera.
"""
from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout  # not the builtin before Python 3.11 (Humble)
from dataclasses import dataclass, fields

import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from siamrpnpp_msgs.msg import TargetBearing, TrackerStatus
from siamrpnpp_msgs.srv import SetTarget
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D, Detection2DArray

from siamrpnpp_core import build_tracker, get_preset, resolve_device
from siamrpnpp_core.visualize import draw_result

from . import messages
from .bearing import Camera, bearing
from .conversions import ImageConverter, ImageError
from .frames import Frame, FrameBuffer, LatestFrame, stamp_key
from .params import NodeConfig, compressed_topic
from .reinit import pick_detections
from .targets import TargetSet

NODE_NAME = "siamrpnpp_tracker"

# Default QoS of each topic; every one can be overridden with the standard parameters
# qos_overrides.<fully qualified topic>.<publisher|subscription>.<history|depth|reliability>.
SENSOR_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT,
                        durability=DurabilityPolicy.VOLATILE)  # sensor data, newest frame only
DETECTIONS_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
OUTPUT_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE)
SET_TARGET_TIMEOUT = 120.0  # seconds a set_target request waits for the tracking thread


def overridable() -> QoSOverridingOptions:
    return QoSOverridingOptions.with_default_policies()


def fmt_stamp(stamp) -> str:
    sec, nanosec = stamp_key(stamp) if not isinstance(stamp, tuple) else stamp
    return f"{sec}.{nanosec:09d}"


@dataclass
class InitJob:
    """A target (re-)initialisation for the tracking thread; ``done`` gets the id or the error."""

    frame: Frame
    box: tuple
    target_id: str
    existing: bool
    done: Future
    reason: str = ""  # for the log: where the request came from


class RosLogHandler(logging.Handler):
    """Forwards the core's Python log records (weights, device choices) to the node's ROS logger."""

    def __init__(self, logger):
        super().__init__()
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelno
        log = self.logger.error if level >= logging.ERROR else self.logger.warning if level >= logging.WARNING \
            else self.logger.info
        log(self.format(record))


class TrackerNode(LifecycleNode):
    """SiamRPN++ tracker node; see config/tracker.yaml for its parameters."""

    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self._core_log = RosLogHandler(self.get_logger())
        core_log = logging.getLogger("siamrpnpp_core")
        core_log.setLevel(logging.INFO)
        core_log.addHandler(self._core_log)
        self._config_names = {f.name for f in fields(NodeConfig)}
        self._configured = self._active = False
        self.failure = ""  # why the last configure failed
        self.config: NodeConfig | None = None
        self.targets: TargetSet | None = None
        self._subscriptions_active: list = []
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._declare_parameters()
        self.config = self._read_config()  # a bad value stops the node now, whatever autostart says
        self.add_on_set_parameters_callback(self._on_set_parameters)

    @property
    def autostart(self) -> bool:
        return self.config.autostart

    # --- parameters -------------------------------------------------------------------------------
    def _declare_parameters(self) -> None:
        for f in fields(NodeConfig):
            descriptor = ParameterDescriptor(description=f.metadata["doc"])
            limits = f.metadata["range"]
            if type(f.default) is float:
                descriptor.dynamic_typing = True  # a YAML `0` for a float parameter is an integer
                if limits:
                    descriptor.floating_point_range = [FloatingPointRange(
                        from_value=float(limits[0]), to_value=float(limits[1]), step=0.0)]
            elif type(f.default) is int and limits:
                descriptor.integer_range = [IntegerRange(from_value=limits[0], to_value=limits[1], step=1)]
            try:
                self.declare_parameter(f.name, f.default, descriptor)
            except ParameterException as error:
                raise ValueError(f"parameter {f.name}: {error}") from None

    def _read_config(self, changes: dict | None = None) -> NodeConfig:
        values = {name: self.get_parameter(name).value for name in self._config_names}
        values.update(changes or {})
        return NodeConfig(**values)

    def _on_set_parameters(self, parameters) -> SetParametersResult:
        ours = {p.name: p.value for p in parameters if p.name in self._config_names}
        if not ours:
            return SetParametersResult(successful=True)
        if self._configured:
            return SetParametersResult(successful=False, reason=(
                "parameters are read when the node is configured: `ros2 lifecycle set "
                f"{self.get_fully_qualified_name()} cleanup` (after deactivate) before changing them"))
        try:
            self._read_config(ours)
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    # --- lifecycle --------------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._configure()
        except Exception as error:  # noqa: BLE001 - bad preset, device or weights: report, stay unconfigured
            self.failure = str(error)
            self.get_logger().error(f"configure failed: {error}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self._configured = True
        return super().on_configure(state)

    def on_activate(self, state) -> TransitionCallbackReturn:
        try:
            self._subscribe()
        except Exception as error:  # noqa: BLE001 - e.g. an invalid qos_overrides value: report, stay inactive
            self.failure = str(error)
            self.get_logger().error(f"activate failed: {error}")
            self._pause()
            return TransitionCallbackReturn.FAILURE
        return super().on_activate(state)

    def _subscribe(self) -> None:
        cfg, inputs = self.config, MutuallyExclusiveCallbackGroup()
        self._image_topic = self.resolve_topic_name(cfg.image_topic)
        if cfg.image_transport == "compressed":
            self._image_topic = compressed_topic(self._image_topic)  # the remapped base name + /compressed
            subscription = self.create_subscription(CompressedImage, self._image_topic, self._on_compressed,
                                                    SENSOR_QOS, callback_group=inputs,
                                                    qos_overriding_options=overridable())
        else:
            subscription = self.create_subscription(Image, cfg.image_topic, self._on_image, SENSOR_QOS,
                                                    callback_group=inputs, qos_overriding_options=overridable())
        self._subscriptions_active = [subscription]
        if cfg.detections_topic:
            self._subscriptions_active.append(self.create_subscription(
                Detection2DArray, cfg.detections_topic, self._on_detections, DETECTIONS_QOS,
                callback_group=inputs, qos_overriding_options=overridable()))
        if cfg.publish_bearing:
            self._subscriptions_active.append(self.create_subscription(
                CameraInfo, cfg.camera_info_topic, self._on_camera_info, SENSOR_QOS, callback_group=inputs,
                qos_overriding_options=overridable()))
        self._stop.clear()
        self._worker = threading.Thread(target=self._track_loop, name="siamrpnpp_tracking", daemon=True)
        self._worker.start()
        self._last_image = None
        self._active = True
        self.get_logger().info(f"active: tracking {self._image_topic} ({cfg.image_transport}) -> "
                               f"{self.resolve_topic_name(cfg.output_topic)}")

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._pause()
        self.get_logger().info(f"inactive: {len(self.targets)} target(s) kept; activate to resume")
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("unconfigured: network unloaded")
        return super().on_cleanup(state)

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._pause()
        self._release()
        return super().on_shutdown(state)

    def on_error(self, state) -> TransitionCallbackReturn:
        self._pause()
        self._release()
        return super().on_error(state)

    def _configure(self) -> None:
        self.config = cfg = self._read_config()
        device = resolve_device(cfg.device)
        if cfg.cpu_threads:
            torch.set_num_threads(cfg.cpu_threads)
        if cfg.device.strip().lower() == "auto":
            self.get_logger().info(f"device auto: using {device}")
        tracker = build_tracker(get_preset(cfg.preset), weights=cfg.weights or None,
                                random_init=cfg.random_weights, device=device, half=cfg.half,
                                tracker_config=cfg.tracker_config(), backend=cfg.backend,
                                cuda_graphs=cfg.cuda_graphs, precision=cfg.precision)
        self.device = device
        self.targets = TargetSet(tracker.engine, tracker.config, cfg.max_targets)
        self.converter = ImageConverter(cfg.use_cv_bridge)
        self.frames = FrameBuffer(cfg.frame_buffer_size)
        self.inbox = LatestFrame()
        self.counts = {"frames_received": 0, "frames_processed": 0, "frames_rejected": 0}
        self.camera: Camera | None = None
        self.fps = 0.0
        self._last_done: float | None = None
        self._last_status: TrackerStatus | None = None
        self._last_image: float | None = None  # time.monotonic() of the last image received
        self._log_times: dict[str, float] = {}
        self._image_topic = self.resolve_topic_name(cfg.image_topic)
        self._lifecycle_pubs = [
            det_pub := self.create_lifecycle_publisher(Detection2D, cfg.output_topic, OUTPUT_QOS,
                                                       qos_overriding_options=overridable()),
            array_pub := self.create_lifecycle_publisher(Detection2DArray, cfg.array_topic, OUTPUT_QOS,
                                                         qos_overriding_options=overridable()),
            status_pub := self.create_lifecycle_publisher(TrackerStatus, "~/status", OUTPUT_QOS,
                                                          qos_overriding_options=overridable()),
        ]
        self.det_pub, self.array_pub, self.status_pub = det_pub, array_pub, status_pub
        self.debug_pub = self.bearing_pub = None
        if cfg.debug_image:  # RViz's Image display or rqt_image_view; rendered only while subscribed
            self.debug_pub = self.create_lifecycle_publisher(Image, "~/debug_image", OUTPUT_QOS,
                                                             qos_overriding_options=overridable())
            self._lifecycle_pubs.append(self.debug_pub)
        if cfg.publish_bearing:
            self.bearing_pub = self.create_lifecycle_publisher(TargetBearing, "~/bearing", OUTPUT_QOS,
                                                               qos_overriding_options=overridable())
            self._lifecycle_pubs.append(self.bearing_pub)
        # Diagnostics are published in every configured state (an inactive tracker says so).
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", OUTPUT_QOS) if cfg.diagnostics else None
        services = MutuallyExclusiveCallbackGroup()
        self._services_made = [
            self.create_service(SetTarget, "~/set_target", self._on_set_target, callback_group=services),
            self.create_service(Trigger, "~/clear_target", self._on_clear_target, callback_group=services),
        ]
        self._diag_timer = self.create_timer(cfg.diagnostics_period, self._on_timer,
                                        callback_group=MutuallyExclusiveCallbackGroup())
        self.get_logger().info(f"configured: preset {cfg.preset} on {device} ({tracker.engine.name}), image "
                               f"conversion {self.converter.backend}; activate to subscribe to {self._image_topic}")

    def _pause(self) -> None:
        """Stop work: no subscriptions, no tracking thread, no buffered frames (targets are kept)."""
        self._active = False
        for subscription in self._subscriptions_active:
            self.destroy_subscription(subscription)
        self._subscriptions_active = []
        self._stop.set()
        if self._worker is not None:
            self.inbox.wake()
            self._worker.join(timeout=30.0)
            self._worker = None
        if hasattr(self, "inbox"):
            for job in self.inbox.drain_jobs():
                job.done.set_exception(ValueError("the node was deactivated"))
            self.inbox.discard()
            self.frames.clear()
        self._free_device_memory()

    def _release(self) -> None:
        """Back to unconfigured: publishers, services, timer and the network gone."""
        for publisher in getattr(self, "_lifecycle_pubs", []):
            self.destroy_lifecycle_publisher(publisher)
        self._lifecycle_pubs = []
        for service in getattr(self, "_services_made", []):
            self.destroy_service(service)
        self._services_made = []
        if getattr(self, "diag_pub", None) is not None:
            self.destroy_publisher(self.diag_pub)
        self.diag_pub = None
        if getattr(self, "_diag_timer", None) is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        self.targets = None
        self._configured = False
        gc.collect()
        self._free_device_memory()

    @staticmethod
    def _free_device_memory() -> None:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # --- inputs -----------------------------------------------------------------------------------
    def _on_image(self, msg: Image) -> None:
        self._receive(msg, self.converter.image)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._receive(msg, self.converter.compressed)

    def _receive(self, msg, convert) -> None:
        if not self._active:
            return
        received = time.monotonic()
        self._last_image = received
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
            self.inbox.put(frame)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self.camera = Camera.from_camera_info(msg)
        except ValueError as error:
            self._warn_throttled("camera_info", f"ignoring camera_info: {error}")

    def _on_detections(self, msg: Detection2DArray) -> None:
        """Re-initialise LOST targets on a detector's boxes; the template work goes to the tracking thread."""
        lost = [t.id for t in self.targets.snapshot() if t.lost]
        if not lost or not self._active:
            return
        frame = self.frames.find(stamp_key(msg.header.stamp))
        if frame is None:
            self._warn_throttled("reinit", f"detections {fmt_stamp(msg.header.stamp)}: image not in the buffer")
            return
        boxes = pick_detections(msg.detections, len(lost), self.config.reinit_class_id,
                                self.config.reinit_min_score)
        for target_id, (box, score) in zip(lost, boxes, strict=False):
            self.inbox.put_job(InitJob(frame, box, target_id, True, Future(),
                                       reason=f"re-initialised from a detection (score {score:.2f})"))

    # --- services ---------------------------------------------------------------------------------
    def _on_set_target(self, request: SetTarget.Request, response: SetTarget.Response) -> SetTarget.Response:
        box = (request.x, request.y, request.width, request.height)
        try:
            if not self._active:
                raise ValueError("the node is not active (ros2 lifecycle set "
                                 f"{self.get_fully_qualified_name()} activate)")
            frame = self._frame_for(request.image_header.stamp)
            job = InitJob(frame, box, request.target_id, False, Future(), reason=f"set to {box}")
            self.inbox.put_job(job)
            response.target_id = job.done.result(timeout=SET_TARGET_TIMEOUT)
        except (ValueError, FutureTimeout) as error:
            response.success, response.message, response.target_id = False, str(error), request.target_id
            self.get_logger().warning(f"set_target {box} refused: {error}")
            return response
        response.success = True
        return response

    def _frame_for(self, stamp) -> Frame:
        """The buffered frame with ``stamp``, or the newest one for a zero stamp."""
        newest = self.frames.newest()
        if newest is None:
            raise ValueError(f"no image received yet on {self._image_topic}")
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
        if self.targets is None:
            response.success, response.message = False, "the node is not configured"
            return response
        count = self.targets.clear()
        self.inbox.discard()
        response.success, response.message = True, f"cleared {count} target(s)"
        self.get_logger().info(response.message)
        if self._active:
            self._publish_idle()
        return response

    # --- tracking thread --------------------------------------------------------------------------
    def _track_loop(self) -> None:
        while not self._stop.is_set():
            item = self.inbox.take(timeout=0.2)
            if item is None:
                continue
            if isinstance(item, InitJob):
                self._initialise(item)
                continue
            try:
                self._process(item)
            except Exception as error:  # noqa: BLE001 - a failed frame must not end tracking
                self.get_logger().error(f"tracking image {fmt_stamp(item.stamp)} failed: {error!r}")

    def _initialise(self, job: InitJob) -> None:
        try:
            target_id = self.targets.set(job.frame, job.box, job.target_id, existing=job.existing)
        except Exception as error:  # noqa: BLE001 - reported to the requester
            if job.existing:
                self.get_logger().warning(f"re-initialising target {job.target_id} failed: {error}")
            job.done.set_exception(error if isinstance(error, ValueError) else ValueError(repr(error)))
            return
        self.get_logger().info(f"target {target_id} {job.reason} on image {fmt_stamp(job.frame.stamp)}")
        job.done.set_result(target_id)

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
        return {**self.counts, "frames_dropped": self.inbox.dropped}

    def _publish_idle(self) -> None:
        """IDLE status stamped now (frame_id of the last image, if any)."""
        newest = self.frames.newest()
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=newest.header.frame_id if newest else "")
        status = messages.tracker_status(header, [], self._counts())
        self.status_pub.publish(status)
        self._last_status = status

    def _on_timer(self) -> None:
        if self.targets is None:
            return
        if self._active and not len(self.targets):
            self._publish_idle()
        if self.diag_pub is None:
            return
        status = self._last_status or messages.tracker_status(Header(), [], self._counts())
        if len(self.targets) and not status.targets:  # targets set, no frame tracked yet
            status = messages.tracker_status(status.header, self.targets.snapshot(), self._counts())
        input_age = None if self._last_image is None else time.monotonic() - self._last_image
        extra = {"fps": f"{self.fps:.2f}", "device": str(self.device),
                 "lifecycle_state": "active" if self._active else "inactive"}
        stale_after = self.config.stale_input_timeout if self._active else 0.0
        diag = messages.diagnostic(f"{self.get_fully_qualified_name()}: tracker", status, extra,
                                   hardware_id=str(self.device), input_age=input_age, stale_after=stale_after)
        if not self._active:
            diag.message = f"inactive ({diag.message})"
        self.diag_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()), status=[diag]))

    def _warn_throttled(self, reason: str, text: str, period: float = 1.0) -> None:
        now = time.monotonic()
        if now - self._log_times.get(reason, -period) >= period:
            self._log_times[reason] = now
            self.get_logger().warning(text)

    def stop(self) -> None:
        """Stop the tracking thread (at shutdown, whatever the state)."""
        self._pause()

    def destroy_node(self) -> None:
        self._pause()
        logging.getLogger("siamrpnpp_core").removeHandler(self._core_log)
        super().destroy_node()


def main(args=None) -> int:
    """Run the node until shutdown; exit code 1 if it cannot start (bad parameter, device, weights)."""
    rclpy.init(args=args)
    try:
        node = TrackerNode()
    except (ValueError, OSError) as error:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        return 1
    if node.autostart:
        for step, trigger in (("configure", node.trigger_configure), ("activate", node.trigger_activate)):
            if trigger() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().fatal(f"cannot start: {node.failure or step + ' failed'}")
                node.destroy_node()
                rclpy.try_shutdown()
                return 1
    else:
        node.get_logger().info("autostart is false: waiting unconfigured for `ros2 lifecycle set "
                               f"{node.get_fully_qualified_name()} configure`")
    executor = MultiThreadedExecutor(num_threads=3)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # A terminal's Ctrl-C reaches both `ros2 launch` and the node, and launch then forwards its own
        # SIGINT: a repeated interrupt must not cut the clean stop short (SIGTERM/SIGKILL still end it).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.stop()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
