"""YouTube-BoundingBoxes: the detection csv (youtube_id, timestamp_ms, class_id, class_name, object_id,
object_presence, xmin, xmax, ymin, ymax; coordinates relative to the frame) and the frames the user
decoded, found by ``frame_pattern`` (fields ``youtube_id``, ``timestamp_ms``, ``class_id``, ``object_id``).
One video per youtube id; one track per (class, object); frames in time order."""
from __future__ import annotations

import csv
import os

from .common import FrameJob, VideoJob

DEFAULT_PATTERN = "{youtube_id}/{timestamp_ms}.jpg"
COLUMNS = ("youtube_id", "timestamp_ms", "class_id", "class_name", "object_id", "object_presence",
           "xmin", "xmax", "ymin", "ymax")


def video_jobs(root: str, annotations: str | None = None, frame_pattern: str = DEFAULT_PATTERN, **_
               ) -> list[VideoJob]:
    if annotations is None:
        raise ValueError("YouTube-BB needs --annotations yt_bb_detection_<split>.csv")
    rows: dict[str, dict[int, list]] = {}
    with open(annotations, newline="") as f:
        for record in csv.reader(f):
            if len(record) < len(COLUMNS) or record[0] == "youtube_id":
                continue
            r = dict(zip(COLUMNS, record))
            if r["object_presence"] != "present":
                continue
            try:
                ts = int(r["timestamp_ms"])
                rel = tuple(float(r[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
            except ValueError:
                continue
            if rel[2] > rel[0] and rel[3] > rel[1]:
                rows.setdefault(r["youtube_id"], {}).setdefault(ts, []).append((r, rel))
    jobs = []
    for vid in sorted(rows):
        job = VideoJob(vid)
        for k, ts in enumerate(sorted(rows[vid])):
            path = os.path.join(root, frame_pattern.format(**rows[vid][ts][0][0]))
            boxes = {f"{int(r['class_id']):02d}{int(r['object_id']):02d}": rel for r, rel in rows[vid][ts]}
            job.frames.append(FrameJob(k, path, boxes, relative=True))
        jobs.append(job)
    if not jobs:
        raise ValueError(f"{annotations}: no present objects found")
    return jobs
