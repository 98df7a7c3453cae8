"""Preparation jobs from single-target tracking datasets (LaSOT, GOT-10k) read by the shared dataset
layer (:mod:`siamrpnpp_core.datasets`): its readers, file checks and bad-row policy (an error naming
the file and line) apply unchanged."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...boxes import xywh_to_xyxy
from ...datasets import Dataset
from .common import FrameJob, VideoJob


def usable_frames(seq) -> np.ndarray:
    """Indices of the frames with a visible target and a finite box of positive size."""
    gt = seq.groundtruth
    usable = np.isfinite(gt).all(axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0)
    if seq.visible is not None:
        usable &= seq.visible
    return np.flatnonzero(usable)


def dataset_jobs(dataset: Dataset, video_name: Callable[[str], str] = str) -> list[VideoJob]:
    """One job per sequence (named ``video_name(sequence name)``), track ``"00"`` on its usable frames."""
    jobs = []
    for seq in dataset:
        corners = xywh_to_xyxy(seq.groundtruth)
        jobs.append(VideoJob(video_name(seq.name), [FrameJob(int(k), seq.frames[k], {"00": tuple(corners[k])})
                                                     for k in usable_frames(seq)]))
    return jobs
