"""Start-up errors: a bad parameter, a missing CUDA device or weights file stops the node with a clear
log line and exit code 1 (never a silent fallback); ``auto`` logs the device it chose."""
from __future__ import annotations

import subprocess

import pytest
from ros_harness import Client, NodeProcess, image_msg, reliable_images


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"device": "cuda:0"}, "cannot start: device 'cuda:0' requested but this machine has 0 CUDA device(s)"),
    ({"image_transport": "theora"}, "cannot start: parameter image_transport must be one of raw, compressed"),
    ({"max_targets": 0}, "cannot start: parameter max_targets"),
    ({"preset": "siamrpn_tiny"}, "cannot start: unknown preset 'siamrpn_tiny'"),
    ({"qos_overrides./startup/image.subscription.reliability": "fast"},
     "cannot start: Unexpected QoS override for policy `reliability`: `fast`"),
    ({"device": "auto", "weights": "/nonexistent/model.pth"}, "cannot start: /nonexistent/model.pth: no such file"),
])
def test_bad_start_up_parameters_stop_the_node(tmp_path, overrides, expected):
    import torch

    if torch.cuda.is_available() and overrides.get("device") == "cuda:0":
        pytest.skip("this machine has a CUDA device")
    process = NodeProcess("/startup", tmp_path / "node.log", **overrides)
    try:
        code = process.process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.stop()
        pytest.fail(f"the node kept running with {overrides}:\n{process.log()}")
    process.stop()
    log = process.log()
    assert code == 1 and expected in log, log
    if overrides.get("device") == "auto":
        assert "device auto: using cpu" in log


def test_a_failed_configure_leaves_the_managed_node_running_unconfigured(tmp_path, ros_node):
    """autostart false: configure with a missing CUDA device fails through the lifecycle service; the node
    stays up, unconfigured, with the reason in its log, and configures once the parameter is fixed."""
    import torch
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    from ros_harness import wait_until

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    process = NodeProcess("/managed", tmp_path / "managed.log", device="cuda:0", autostart=False)
    try:
        def call(kind, name, request):
            client = ros_node.create_client(kind, f"/managed/siamrpnpp_tracker/{name}")
            wait_until(lambda: client.service_is_ready() or not process.alive(), 120, name)
            assert process.alive(), process.log()
            future = client.call_async(request)
            wait_until(future.done, 120, f"the {name} response")
            return future.result()

        configure = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE))
        assert not call(ChangeState, "change_state", configure).success
        assert call(GetState, "get_state", GetState.Request()).current_state.id == State.PRIMARY_STATE_UNCONFIGURED
        assert "configure failed: device 'cuda:0' requested" in process.log() and process.alive()
        cpu = Parameter(name="device", value=ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="cpu"))
        assert call(SetParameters, "set_parameters", SetParameters.Request(parameters=[cpu])).results[0].successful
        assert call(ChangeState, "change_state", configure).success
        assert call(GetState, "get_state", GetState.Request()).current_state.id == State.PRIMARY_STATE_INACTIVE
    finally:
        assert process.stop() == 0, process.log()


def test_a_repeated_ctrl_c_while_tracking_ends_the_node_cleanly(tmp_path, ros_node, walker_frames):
    """A terminal's Ctrl-C under ``ros2 launch`` reaches the node twice (from the terminal, then from
    launch): the second interrupt, mid-shutdown while a frame is being tracked, must not end in a traceback."""
    frames, box = walker_frames
    process = NodeProcess("/interrupted", tmp_path / "node.log", **reliable_images("/interrupted"))
    client = Client(ros_node, "/interrupted")
    client.wait_ready(process)
    client.feed(image_msg(frames[0], 0))
    assert client.set_target(box, index=0).success, process.log()
    for index in range(1, 4):
        client.publish(image_msg(frames[index], index))  # the tracking thread is busy when the signals come
    code = process.stop(interrupts=2)
    assert code == 0 and "Traceback" not in process.log(), process.log()
