"""ImageNet VID: ``Annotations/VID/<split>/<...>/<video>/<frame>.xml`` (objects with ``trackid``) and
``Data/VID/<split>/.../<frame>.JPEG``; each folder of xml files is a video."""
from __future__ import annotations

import logging
import os

from .common import FrameJob, VideoJob
from .voc_xml import read_objects

log = logging.getLogger(__name__)


def video_jobs(root: str, split: str = "train", **_) -> list[VideoJob]:
    ann_root = os.path.join(root, "Annotations", "VID", split)
    if not os.path.isdir(ann_root):
        raise ValueError(f"{ann_root} not found (expected the ILSVRC VID layout under {root})")
    jobs = []
    for folder, _, files in sorted(os.walk(ann_root)):
        xmls = sorted(f for f in files if f.endswith(".xml"))
        if not xmls:
            continue
        rel = os.path.relpath(folder, ann_root)
        job = VideoJob(f"{split}/{rel}")
        for name in xmls:
            stem = name[:-4]
            try:
                objects = read_objects(os.path.join(folder, name))
            except ValueError as e:
                log.warning("%s", e)
                continue
            boxes = {f"{int(t or k):02d}": box for k, (t, box) in enumerate(objects)}
            if boxes and stem.isdigit():
                job.frames.append(FrameJob(int(stem), os.path.join(root, "Data", "VID", split, rel, stem + ".JPEG"),
                                           boxes))
        if job.frames:
            jobs.append(job)
    if not jobs:
        raise ValueError(f"{ann_root}: no annotated video frames found")
    return jobs
