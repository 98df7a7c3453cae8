"""Shared fixtures: real videos from Debian's opencv-doc (fetched by `make test-data`), small models."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
from video_frames import read_frames

ROOT = Path(__file__).resolve().parent.parent
OPENCV_DATA = ROOT / ".cache" / "opencv-doc" / "usr" / "share" / "doc" / "opencv-doc" / "examples" / "data"

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
# Ray (test/eval/test_ray.py) on the loopback only: it reads this when first imported, whichever test imports it.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"


@pytest.fixture(autouse=True)
def core_logs_propagate():
    """Our log lines reach ``caplog``: launch (imported by launch_testing's pytest plugin, and reset by each
    launch test) makes every logger created afterwards a non-propagating ``LaunchLogger``."""
    logging.setLoggerClass(logging.Logger)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("siamrpnpp") and isinstance(logger, logging.Logger):
            logger.propagate = True


def opencv_doc_path(name: str) -> Path:
    """Path of a file shipped by Debian's opencv-doc; fails (not skips) if `make test-data` was not run."""
    path = OPENCV_DATA / name
    if not path.is_file():
        pytest.fail(f"{path} missing: run `make test-data` (scripts/fetch_test_data.sh)")
    return path


@pytest.fixture
def opencv_doc_video():
    """``opencv_doc_video("vtest.avi")`` -> path of a real video."""
    return opencv_doc_path


@pytest.fixture(scope="session")
def vtest_frames():
    """Twelve real 768x576 frames of OpenCV's pedestrian video; the walker on the right at (638, 238, 48, 84)."""
    return read_frames(opencv_doc_path("vtest.avi"), 12)


@pytest.fixture(scope="session")
def r50_model():
    """The R50 preset's network (siamrpn_r50_l234_dwxcorr, seeded random weights) on the CPU, shared by the session."""
    from siamrpnpp_core import build_model

    return build_model("siamrpn_r50_l234_dwxcorr", random_init=True, device="cpu")
