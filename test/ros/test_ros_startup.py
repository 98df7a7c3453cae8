"""Start-up errors: a bad parameter, a missing CUDA device or weights file stops the node with a clear
log line and exit code 1 (never a silent fallback); ``auto`` logs the device it chose."""
from __future__ import annotations

import subprocess

import pytest
from ros_harness import NodeProcess


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"device": "cuda:0"}, "cannot start: device 'cuda:0' requested but this machine has 0 CUDA device(s)"),
    ({"image_transport": "theora"}, "cannot start: parameter image_transport must be one of raw, compressed"),
    ({"max_targets": 0}, "cannot start: parameter max_targets"),
    ({"preset": "siamrpn_tiny"}, "cannot start: unknown preset 'siamrpn_tiny'"),
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
