"""VOT short-term (VOT2016-2019) and long-term (VOT2018-LT) datasets.

Layout: ``list.txt``; ``<seq>/color/*.jpg`` (older releases: images directly in ``<seq>/``);
``groundtruth.txt`` with 8 (polygon) or 4 (rectangle) numbers per line, NaN lines for frames
without the target (long-term); per-frame attribute flags in ``<tag>.tag`` (or ``.label``) files.
"""
from __future__ import annotations

import os

import numpy as np

from .base import VOT_TAGS, Dataset, DatasetError, DatasetInfo, Sequence
from .files import check_length, list_images, read_flags, read_names, read_table
from .pysot_json import json_index, read_json_index


def _frames(seq_dir: str, seq: str) -> list[str]:
    color = os.path.join(seq_dir, "color")
    return list_images(color if os.path.isdir(color) else seq_dir, seq)


def _tags(seq_dir: str, seq: str, length: int) -> dict[str, np.ndarray]:
    tags = {}
    for tag in VOT_TAGS:
        for ext in (".tag", ".label"):
            path = os.path.join(seq_dir, tag + ext)
            if os.path.isfile(path):
                tags[tag] = read_flags(path, seq, length, missing_ok=True)
                break
        else:
            tags[tag] = np.zeros(length, dtype=int)
    return tags


def read_vot(root: str, info: DatasetInfo, index: str | None = None) -> Dataset:
    """A VOT dataset; in long-term ones (protocol ``vot-lt``) NaN rows mark frames without the target."""
    path = json_index(root, info.name, index)
    if path:
        return read_json_index(root, info, path)
    listing = os.path.join(root, "list.txt")
    if not os.path.isfile(listing):
        raise DatasetError(f"{info.name}: missing {listing}")
    long_term = info.protocol == "vot-lt"

    def load(seq: str) -> Sequence:
        seq_dir = os.path.join(root, seq)
        if not os.path.isdir(seq_dir):
            raise DatasetError(f"sequence {seq}: missing folder {seq_dir} (listed in {listing})")
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_table(gt_path, seq, widths=(4, 8))
        frames = _frames(seq_dir, seq)
        check_length(seq, frames, gt, gt_path)
        visible = ~np.isnan(gt).any(axis=1) if long_term else None
        return Sequence(seq, frames, gt, visible=visible, tags=_tags(seq_dir, seq, len(gt)))

    return Dataset(info, root, read_names(listing), load)
