"""Parameters and diagnostics of the node process over real DDS: integers in a params file for float
parameters, descriptors with their ranges, diagnostics with the device as hardware_id, a stale-input
warning while a target is set, and IDLE statuses stamped with the current time."""
from __future__ import annotations

import threading

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import DescribeParameters, GetParameters
from ros_harness import DEMO_BOX, RELIABLE, demo_frames, image_msg, publish_until, wait_until
from siamrpnpp_msgs.msg import TrackerStatus

NS = "/p"
NODE = f"{NS}/siamrpnpp_tracker"


@pytest.fixture(scope="module")
def integer_params(tmp_path_factory):
    """A params file that writes float parameters as YAML integers (as people do)."""
    path = tmp_path_factory.mktemp("params") / "integers.yaml"
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": {
        "confidence_low": 0, "confidence_high": 0, "diagnostics_period": 1, "stale_input_timeout": 1}}}))
    return path


@pytest.fixture(scope="module")
def tracker(start_tracker, integer_params):
    return start_tracker(NS, params_file=integer_params)


@pytest.fixture(scope="module")
def diagnostics(ros_node):
    """Our node's DiagnosticStatus messages, in arrival order."""
    store, lock = [], threading.Lock()

    def keep(msg):
        with lock:
            store.extend(s for s in msg.status if s.name.startswith(NODE))
    ros_node.create_subscription(DiagnosticArray, "/diagnostics", keep, RELIABLE)

    def since(count: int = 0):
        with lock:
            return list(store[count:])
    return since


def call(node, service_type, name: str, request):
    client = node.create_client(service_type, name)
    wait_until(client.service_is_ready, 30, name)
    future = client.call_async(request)
    wait_until(future.done, 30, f"the response of {name}")
    return future.result()


def test_integer_yaml_values_are_accepted_for_float_parameters(tracker, ros_node):
    process, _ = tracker
    names = ["confidence_low", "stale_input_timeout", "max_targets"]
    values = call(ros_node, GetParameters, f"{NODE}/get_parameters", GetParameters.Request(names=names)).values
    assert [(v.type, v.integer_value) for v in values[:2]] == [(ParameterType.PARAMETER_INTEGER, 0),
                                                                (ParameterType.PARAMETER_INTEGER, 1)]
    assert process.alive() and "active: tracking /p/image" in process.log()


def test_parameter_descriptors_carry_their_ranges(tracker, ros_node):
    names = ["confidence_low", "max_targets", "reinit_min_score", "device"]
    described = call(ros_node, DescribeParameters, f"{NODE}/describe_parameters",
                     DescribeParameters.Request(names=names)).descriptors
    by_name = {d.name: d for d in described}
    low = by_name["confidence_low"]
    assert low.dynamic_typing and [(r.from_value, r.to_value) for r in low.floating_point_range] == [(-1.0, 1.0)]
    assert [(r.from_value, r.to_value, r.step) for r in by_name["max_targets"].integer_range] == [(1, 64, 1)]
    assert [(r.from_value, r.to_value) for r in by_name["reinit_min_score"].floating_point_range] == [(0.0, 1.0)]
    assert "CUDA device that is missing is an error" in by_name["device"].description


def test_diagnostics_warn_on_stale_input_only_with_a_target(tracker, ros_node, diagnostics):
    _, client = tracker
    frames = demo_frames(2)
    idle = wait_until(lambda: [d for d in diagnostics() if d.message == "idle"], 30, "an idle diagnostic")[-1]
    assert idle.level == DiagnosticStatus.OK and idle.hardware_id == "cpu"
    values = {v.key: v.value for v in idle.values}
    assert values["device"] == "cpu" and float(values["seconds_since_last_image"]) >= 0

    received = max((s.frames_received for s in client.statuses), default=0)
    publish_until(lambda: client.publish(image_msg(frames[0], 0)),
                  lambda: any(s.frames_received > received for s in client.statuses), "image 0 to arrive")
    assert client.set_target(DEMO_BOX, 0).success
    publish_until(lambda: client.publish(image_msg(frames[1], 1)), lambda: client.received(client.detections, 1),
                  "the Detection2D of image 1")
    count = len(diagnostics())
    stale = wait_until(lambda: [d for d in diagnostics(count) if "no image for" in d.message], 30,
                       "a stale-input warning")[0]
    assert stale.level == DiagnosticStatus.WARN and stale.hardware_id == "cpu"
    assert stale.message.startswith("tracking; no image for") and "(stale_input_timeout 1 s)" in stale.message

    assert client.clear().success  # no target: no stale warning, although still no image
    count = len(diagnostics())
    wait_until(lambda: [d for d in diagnostics(count) if d.message == "idle" and d.level == DiagnosticStatus.OK],
               30, "an OK idle diagnostic after clear_target")


def test_idle_status_is_stamped_now(tracker, ros_node):
    """IDLE statuses carry the current time, not the stamp of the last image (1000 s and up here)."""
    _, client = tracker
    now = ros_node.get_clock().now().to_msg()
    status = client.wait_status(lambda s: s.state == TrackerStatus.IDLE and s.header.stamp.sec >= now.sec)
    assert status.header.stamp.sec > 1_000_000_000 and status.header.frame_id == "camera_optical"
