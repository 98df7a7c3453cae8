"""GOT-10k: ``<root>/<split>/<sequence>/00000001.jpg`` with ``groundtruth.txt`` (x,y,w,h) and
``absence.label`` (1 = target absent, left out); ``list.txt`` names the sequences when present."""
from __future__ import annotations

import os

from .common import FrameJob, VideoJob
from .sequences import read_boxes, read_flags, sequence_frames


def video_jobs(root: str, split: str = "train", sequences: list[str] | None = None, **_) -> list[VideoJob]:
    base = os.path.join(root, split) if os.path.isdir(os.path.join(root, split)) else root
    if not os.path.isdir(base):
        raise ValueError(f"{root}: GOT-10k folder not found")
    listing = os.path.join(base, "list.txt")
    if os.path.isfile(listing):
        with open(listing) as f:
            names = [line.strip() for line in f if line.strip()]
    else:
        names = sorted(n for n in os.listdir(base) if os.path.isfile(os.path.join(base, n, "groundtruth.txt")))
    jobs = []
    for name in names:
        if sequences and name not in sequences:
            continue
        folder = os.path.join(base, name)
        gt = os.path.join(folder, "groundtruth.txt")
        if not os.path.isfile(gt):
            continue
        boxes = read_boxes(gt)
        absent = read_flags(os.path.join(folder, "absence.label"), len(boxes))
        images = sequence_frames(folder)
        jobs.append(VideoJob(name, [FrameJob(k, images[k], {"00": (x, y, x + w, y + h)})
                                    for k, (x, y, w, h) in enumerate(boxes[:len(images)])
                                    if w > 0 and h > 0 and not absent[k]]))
    if not jobs:
        raise ValueError(f"{base}: no GOT-10k sequences (<sequence>/groundtruth.txt) found")
    return jobs
