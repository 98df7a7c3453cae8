"""LaSOT: ``<root>/<class>/<class>-<n>/img/00000001.jpg`` with ``groundtruth.txt`` (x,y,w,h per line);
frames flagged in ``full_occlusion.txt`` or ``out_of_view.txt`` are left out."""
from __future__ import annotations

import os

from .common import FrameJob, VideoJob
from .sequences import read_boxes, read_flags, sequence_frames


def video_jobs(root: str, sequences: list[str] | None = None, **_) -> list[VideoJob]:
    if not os.path.isdir(root):
        raise ValueError(f"{root}: LaSOT folder not found")
    jobs = []
    for cls in sorted(os.listdir(root)):
        class_dir = os.path.join(root, cls)
        if not os.path.isdir(class_dir):
            continue
        for seq in sorted(os.listdir(class_dir)):
            folder = os.path.join(class_dir, seq)
            gt = os.path.join(folder, "groundtruth.txt")
            if not os.path.isfile(gt) or (sequences and seq not in sequences):
                continue
            boxes = read_boxes(gt)
            hidden = read_flags(os.path.join(folder, "full_occlusion.txt"), len(boxes)) | \
                read_flags(os.path.join(folder, "out_of_view.txt"), len(boxes))
            images = sequence_frames(os.path.join(folder, "img"))
            jobs.append(VideoJob(f"{cls}/{seq}", [
                FrameJob(k, images[k], {"00": (x, y, x + w, y + h)})
                for k, (x, y, w, h) in enumerate(boxes[:len(images)]) if w > 0 and h > 0 and not hidden[k]]))
    if not jobs:
        raise ValueError(f"{root}: no LaSOT sequences (<class>/<sequence>/groundtruth.txt) found")
    return jobs
