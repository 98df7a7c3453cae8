"""GOT-10k: ``<root>/<split>/<sequence>/00000001.jpg`` with ``groundtruth.txt`` (x,y,w,h), listed in
``list.txt``; frames flagged in ``absence.label`` (1 = target absent) are left out."""
from __future__ import annotations

from ...datasets import load_dataset
from .common import VideoJob
from .sequences import dataset_jobs


def video_jobs(root: str, split: str = "train", sequences: list[str] | None = None, **_) -> list[VideoJob]:
    dataset = load_dataset("GOT-10k", root, split=split)
    return dataset_jobs(dataset.subset(sequences) if sequences else dataset)
