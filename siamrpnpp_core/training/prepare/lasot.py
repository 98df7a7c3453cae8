"""LaSOT (every sequence, ``split="all"``): ``<root>/<class>/<class>-<n>/img/00000001.jpg`` with
``groundtruth.txt``; frames flagged in ``full_occlusion.txt`` or ``out_of_view.txt`` are left out."""
from __future__ import annotations

import os

from ...datasets import load_dataset
from ...datasets.lasot import sequence_folder
from .common import VideoJob
from .sequences import dataset_jobs


def video_jobs(root: str, sequences: list[str] | None = None, **_) -> list[VideoJob]:
    dataset = load_dataset("LaSOT", root, split="all")
    if sequences:
        dataset = dataset.subset(sequences)
    return dataset_jobs(dataset, lambda name: sequence_folder(name).replace(os.sep, "/"))
