"""COCO: an ``instances_*.json`` annotation file and its image folder; every image is a one-frame video
and every (non-crowd) object a track."""
from __future__ import annotations

import json
import os

from .common import FrameJob, VideoJob


def video_jobs(root: str, annotations: str | None = None, **_) -> list[VideoJob]:
    """``root``: the image folder (e.g. ``train2017``); ``annotations``: its instances json."""
    if annotations is None:
        raise ValueError("COCO needs --annotations instances_<split>.json")
    try:
        with open(annotations) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{annotations}: cannot read the COCO annotations ({e})") from None
    images = {img["id"]: img["file_name"] for img in data.get("images", [])}
    objects: dict[int, list] = {}
    for ann in data.get("annotations", []):
        x, y, w, h = ann["bbox"]
        if ann.get("iscrowd") or w < 1 or h < 1 or ann["image_id"] not in images:
            continue
        objects.setdefault(ann["image_id"], []).append((x, y, x + w, y + h))
    split = os.path.basename(os.path.normpath(root))
    jobs = []
    for image_id in sorted(objects):
        name = images[image_id]
        boxes = {f"{k:02d}": box for k, box in enumerate(objects[image_id])}
        jobs.append(VideoJob(f"{split}/{os.path.splitext(name)[0]}", [FrameJob(0, os.path.join(root, name), boxes)]))
    if not jobs:
        raise ValueError(f"{annotations}: no usable object boxes")
    return jobs
