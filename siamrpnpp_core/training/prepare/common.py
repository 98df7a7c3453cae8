"""Cropping videos in parallel into the prepared layout, resumably, skipping unreadable images.

Each finished video is appended to ``<out>/<name>.progress.jsonl``; a rerun skips those videos, so an
interrupted preparation continues where it stopped. The index json is written (atomically) at the end.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from multiprocessing import get_context

import cv2
import numpy as np
from tqdm import tqdm

from ...atomic import atomic_write
from ...geometry import context_size
from ..augmentation import crop_roi
from ..index import crop_name

log = logging.getLogger(__name__)
CROP_SIZE = 511


@dataclass
class FrameJob:
    """One image and the boxes ``(x1, y1, x2, y2)`` of its tracks (``"00"``, ``"01"``, ...), in pixels
    or, with ``relative``, as fractions of the image's width and height."""

    frame: int
    image: str
    boxes: dict[str, tuple[float, float, float, float]]
    relative: bool = False


@dataclass
class VideoJob:
    name: str
    frames: list[FrameJob] = field(default_factory=list)


def crop_search_region(image: np.ndarray, box, out_size: int = CROP_SIZE, exemplar_size: int = 127,
                       context_amount: float = 0.5) -> np.ndarray:
    """The square around ``box`` whose context region (``context_size``) spans ``exemplar_size`` of
    the ``out_size`` output pixels; outside the image: the image's mean colour."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = context_size(x2 - x1, y2 - y1, context_amount) * out_size / exemplar_size
    window = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    fill = tuple(float(v) for v in image.mean(axis=(0, 1)))
    return crop_roi(image, window, out_size, fill)


def _crop_video(args) -> tuple[str, dict, dict]:
    job, out_dir, quality = args
    cv2.setNumThreads(1)
    tracks: dict[str, dict[str, list[float]]] = {}
    stats = {"frames": 0, "crops": 0, "unreadable": 0}
    folder = os.path.join(out_dir, job.name)
    for frame in job.frames:
        paths = {t: os.path.join(folder, crop_name(frame.frame, t)) for t in frame.boxes}
        todo = {t for t, p in paths.items() if not (os.path.isfile(p) and os.path.getsize(p) > 0)}
        image = None
        if todo or frame.relative:
            image = cv2.imread(frame.image, cv2.IMREAD_COLOR)
            if image is None:
                stats["unreadable"] += 1
                continue
            os.makedirs(folder, exist_ok=True)
        stats["frames"] += 1
        boxes = frame.boxes
        if frame.relative:
            h, w = image.shape[:2]
            boxes = {t: (b[0] * w, b[1] * h, b[2] * w, b[3] * h) for t, b in boxes.items()}
        for track, box in boxes.items():
            if track in todo:
                encoded, data = cv2.imencode(".jpg", crop_search_region(image, box),
                                             [cv2.IMWRITE_JPEG_QUALITY, quality])
                if not encoded:
                    raise OSError(f"cannot encode the crop for {paths[track]}")
                atomic_write(paths[track], data.tobytes(), durable=False)  # remade if lost: no fsync per crop
            tracks.setdefault(track, {})[f"{frame.frame:06d}"] = [round(float(v), 2) for v in box]
            stats["crops"] += 1
    return job.name, tracks, stats


def _read_progress(path: str) -> dict[str, tuple[dict, dict]]:
    done = {}
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    done[entry["video"]] = (entry["tracks"], entry["stats"])
                except (json.JSONDecodeError, KeyError):
                    continue  # a line cut by a crash: that video is simply redone
    return done


def prepare(jobs, out: str, name: str = "train", workers: int = 2, quality: int = 90,
            progress: bool = True) -> dict:
    """Crop every job's boxes into ``<out>/crop511`` and write ``<out>/<name>.json``; returns counts."""
    crops = os.path.join(out, "crop511")
    os.makedirs(crops, exist_ok=True)
    journal = os.path.join(out, f"{name}.progress.jsonl")
    done = _read_progress(journal)
    jobs = list(jobs)
    todo = [j for j in jobs if j.name not in done and j.frames]
    totals = {"videos": 0, "frames": 0, "crops": 0, "unreadable": 0, "resumed_videos": len(jobs) - len(todo)}
    args = [(j, crops, quality) for j in todo]
    with open(journal, "a") as log_file:
        if workers > 1:
            # spawned, not forked: a fork after OpenCV or OpenMP started threads can hang the children
            pool = get_context("spawn").Pool(workers)
            results = pool.imap_unordered(_crop_video, args, chunksize=max(1, min(16, len(args) // (workers * 8) or 1)))
        else:
            pool, results = None, map(_crop_video, args)
        try:
            for video, tracks, stats in tqdm(results, total=len(args), desc=f"prepare {name}", unit="video",
                                             disable=not progress or None):
                done[video] = (tracks, stats)
                log_file.write(json.dumps({"video": video, "tracks": tracks, "stats": stats}) + "\n")
                log_file.flush()
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    index = {}
    for video in sorted(done):
        tracks, stats = done[video]
        for key in ("frames", "crops", "unreadable"):
            totals[key] += stats[key]
        if tracks:
            index[video] = tracks
            totals["videos"] += 1
    atomic_write(os.path.join(out, f"{name}.json"), json.dumps(index))
    if totals["unreadable"]:
        log.warning("%d missing or corrupt images were skipped", totals["unreadable"])
    return totals
