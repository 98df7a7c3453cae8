"""Building the node's output messages from core results (vision_msgs 4.x layout).

Convention: a Detection2D of a TRACKING target has one hypothesis (class_id, score in [0, 1]); one
of a LOST target has no hypothesis (empty ``results``) and the core's last estimate as its box.
"""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import Vector3
from sensor_msgs.msg import Image
from siamrpnpp_msgs.msg import TargetBearing, TargetStatus, TrackerStatus
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from .conversions import bgr_to_image_fields
from .targets import Target

STATES = {"tracking": TargetStatus.TRACKING, "lost": TargetStatus.LOST}


def detection(header, target: Target, class_id: str) -> Detection2D:
    """Detection2D of one target on the image with ``header``."""
    result = target.result
    x, y, w, h = result.bbox
    msg = Detection2D(header=header, id=target.id)
    msg.bbox.center.position.x = x + w / 2.0
    msg.bbox.center.position.y = y + h / 2.0
    msg.bbox.size_x, msg.bbox.size_y = float(w), float(h)
    if not target.lost:
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = class_id
        hypothesis.hypothesis.score = min(max(float(result.score), 0.0), 1.0)
        msg.results.append(hypothesis)
    return msg


def detection_array(header, detections: list[Detection2D]) -> Detection2DArray:
    return Detection2DArray(header=header, detections=detections)


def target_status(target: Target) -> TargetStatus:
    if target.result is None:
        return TargetStatus(id=target.id, state=TargetStatus.IDLE)
    return TargetStatus(id=target.id, state=STATES[target.result.state.value], score=float(target.result.score),
                        frames_lost=target.frames_lost)


def overall_state(targets: list[Target]) -> int:
    """IDLE without targets, TRACKING if any target is tracked, else LOST."""
    if not targets:
        return TrackerStatus.IDLE
    return TrackerStatus.LOST if all(t.lost for t in targets) else TrackerStatus.TRACKING


def tracker_status(header, targets: list[Target], counts: dict, **timings) -> TrackerStatus:
    """TrackerStatus with per-target states, ``counts`` (frames_*) and ``timings`` (latency, ...)."""
    return TrackerStatus(header=header, state=overall_state(targets), targets=[target_status(t) for t in targets],
                         **counts, **timings)


def bearing(header, target_id: str, azimuth: float, elevation: float, direction) -> TargetBearing:
    x, y, z = direction
    return TargetBearing(header=header, id=target_id, azimuth=azimuth, elevation=elevation,
                         direction=Vector3(x=x, y=y, z=z))


def bgr_image(header, image) -> Image:
    return Image(header=header, **bgr_to_image_fields(image))


def diagnostic(name: str, status: TrackerStatus, extra: dict, hardware_id: str,
               input_age: float | None = None, stale_after: float = 0.0) -> DiagnosticStatus:
    """One DiagnosticStatus summarising a TrackerStatus: OK while tracking or idle, WARN when lost or when,
    with a target set, no image arrived for more than ``stale_after`` seconds (``input_age``; 0 = off)."""
    state = {TrackerStatus.IDLE: "idle", TrackerStatus.TRACKING: "tracking", TrackerStatus.LOST: "lost"}[status.state]
    level = DiagnosticStatus.WARN if status.state == TrackerStatus.LOST else DiagnosticStatus.OK
    message = state
    stale = bool(status.targets) and stale_after > 0 and (input_age is None or input_age > stale_after)
    if stale:
        level = DiagnosticStatus.WARN
        message = (f"{state}; no image received yet" if input_age is None
                   else f"{state}; no image for {input_age:.1f} s (stale_input_timeout {stale_after:g} s)")
    values = {"targets": len(status.targets), "latency": f"{status.latency:.4f}",
              "image_age": f"{status.image_age:.4f}", "inference_time": f"{status.inference_time:.4f}",
              "frames_received": status.frames_received, "frames_processed": status.frames_processed,
              "frames_dropped": status.frames_dropped, "frames_rejected": status.frames_rejected,
              "seconds_since_last_image": "never" if input_age is None else f"{input_age:.2f}", **extra}
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
