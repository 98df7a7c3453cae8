"""ImageNet DET: ``Annotations/DET/<split>/**.xml`` and ``Data/DET/<split>/**.JPEG``; each image is a
one-frame video and each object a track."""
from __future__ import annotations

import logging
import os

from .common import FrameJob, VideoJob
from .voc_xml import read_objects

log = logging.getLogger(__name__)


def video_jobs(root: str, split: str = "train", **_) -> list[VideoJob]:
    ann_root = os.path.join(root, "Annotations", "DET", split)
    if not os.path.isdir(ann_root):
        raise ValueError(f"{ann_root} not found (expected the ILSVRC DET layout under {root})")
    jobs, bad = [], 0
    for folder, _, files in sorted(os.walk(ann_root)):
        for name in sorted(files):
            if not name.endswith(".xml"):
                continue
            rel = os.path.relpath(os.path.join(folder, name), ann_root)[:-4]
            try:
                objects = read_objects(os.path.join(folder, name))
            except ValueError as e:
                bad += 1
                log.warning("%s", e)
                continue
            if objects:
                image = os.path.join(root, "Data", "DET", split, rel + ".JPEG")
                boxes = {f"{k:02d}": box for k, (_, box) in enumerate(objects)}
                jobs.append(VideoJob(f"{split}/{rel}", [FrameJob(0, image, boxes)]))
    if bad:
        log.warning("%d unreadable annotation files skipped", bad)
    if not jobs:
        raise ValueError(f"{ann_root}: no annotated objects found")
    return jobs
