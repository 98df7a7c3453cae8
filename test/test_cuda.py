"""CUDA paths on a real video (run by `benchmarks/gpu_check.py` with `pytest -m cuda`; skipped without CUDA)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from test_backends import WALKER, randomize_batchnorm
from video_frames import read_frames

from siamrpnpp_core import SiamRPNTracker, build_model, build_tracker, get_preset, track_batch
from siamrpnpp_core.backends import build_engine
from siamrpnpp_core.boxes import iou

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch cannot use one here)")]
FRAMES = 30


@pytest.fixture(scope="module")
def frames(opencv_doc_video):
    return read_frames(opencv_doc_video("vtest.avi"), FRAMES)


def track(tracker, frames, box=WALKER) -> np.ndarray:
    tracker.init(frames[0], box)
    return np.array([tracker.track(frame).bbox for frame in frames[1:]])


@pytest.fixture(scope="module")
def cpu_boxes(frames):
    return track(build_tracker(device="cpu", backend="eager"), frames)


def test_tracker_runs_on_the_gpu_and_follows_the_cpu_path(frames, cpu_boxes):
    tracker = build_tracker(device="cuda", backend="eager")
    assert tracker.device.type == "cuda"
    assert {p.device.type for p in tracker.model.parameters()} == {"cuda"}
    np.testing.assert_allclose(track(tracker, frames), cpu_boxes, atol=0.05)


@pytest.mark.parametrize("cuda_graphs", [False, True])
def test_folded_engine_and_cuda_graphs_equal_the_eager_gpu_path(frames, cuda_graphs):
    model = randomize_batchnorm(build_model("siamrpn_r50_l234_dwxcorr", random_init=True, device="cuda"))
    config = get_preset("siamrpn_r50_l234_dwxcorr").tracker
    eager = track(SiamRPNTracker(build_engine(model, backend="eager"), config), frames)
    folded = track(SiamRPNTracker(build_engine(model, backend="torch", cuda_graphs=cuda_graphs), config), frames)
    np.testing.assert_allclose(folded, eager, atol=0.05)


def test_half_precision_follows_the_same_target(frames, cpu_boxes):
    boxes = track(build_tracker(device="cuda", half=True, backend="torch"), frames)
    overlap = iou(boxes, cpu_boxes)
    assert overlap.mean() >= 0.95 and overlap.min() >= 0.8


def test_batched_targets_on_the_gpu_equal_one_by_one(frames):
    tracker = build_tracker(device="cuda", backend="torch")
    boxes = [WALKER, (450, 100, 40, 90), (100, 300, 60, 120)]
    singles = [track(SiamRPNTracker(tracker.engine, tracker.config), frames, box) for box in boxes]
    group = [SiamRPNTracker(tracker.engine, tracker.config) for _ in boxes]
    for t, box in zip(group, boxes):
        t.init(frames[0], box)
    batched = np.array([[r.bbox for r in track_batch(group, [frame] * len(group))] for frame in frames[1:]])
    np.testing.assert_allclose(batched.transpose(1, 0, 2), np.array(singles), atol=0.01)
