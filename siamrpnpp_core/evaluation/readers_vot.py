"""Readers of the VOT short-term (VOT2016-2019) and long-term (VOT2018-LT) datasets.

Layout: ``list.txt``; ``<seq>/color/*.jpg`` (older releases: images directly in ``<seq>/``);
``groundtruth.txt`` with 8 (polygon) or 4 (rectangle) numbers per line, NaN lines for frames
without the target (long-term); per-frame attribute flags in ``<tag>.tag`` (or ``.label``) files.
"""
from __future__ import annotations

import os

import numpy as np

from .datasets import Dataset, DatasetError, Sequence, check_length, list_images, read_flags, read_table, register
from .readers_ope import TAG_NAMES, json_index, read_json_index
from .vot_metrics import EAO_INTERVALS


def _frames(seq_dir: str, seq: str) -> list[str]:
    color = os.path.join(seq_dir, "color")
    return list_images(color if os.path.isdir(color) else seq_dir, seq)


def _tags(seq_dir: str, seq: str, length: int) -> dict[str, np.ndarray]:
    tags = {}
    for tag in TAG_NAMES:
        for ext in (".tag", ".label"):
            path = os.path.join(seq_dir, tag + ext)
            if os.path.isfile(path):
                tags[tag] = read_flags(path, seq, length, missing_ok=True)
                break
        else:
            tags[tag] = np.zeros(length, dtype=int)
    return tags


def _read_vot(root: str, name: str, protocol: str, index: str | None) -> Dataset:
    interval = EAO_INTERVALS.get(name)
    path = json_index(root, name, index)
    if path:
        return read_json_index(root, name, path, protocol, eao_interval=interval)
    listing = os.path.join(root, "list.txt")
    if not os.path.isfile(listing):
        raise DatasetError(f"{name}: missing {listing}")
    with open(listing) as f:
        names = [line.strip() for line in f if line.strip()]

    def load(seq: str) -> Sequence:
        seq_dir = os.path.join(root, seq)
        if not os.path.isdir(seq_dir):
            raise DatasetError(f"sequence {seq}: missing folder {seq_dir} (listed in {listing})")
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_table(gt_path, seq, widths=(4, 8))
        frames = _frames(seq_dir, seq)
        check_length(seq, frames, gt, gt_path)
        visible = ~np.isnan(gt).any(axis=1) if protocol == "vot-lt" else None
        return Sequence(seq, frames, gt, visible=visible, tags=_tags(seq_dir, seq, len(gt)))

    return Dataset(name, protocol, root, names, load, eao_interval=interval)


@register("VOT2018", "VOT2018-ST")
def read_vot2018(root: str, name: str, index: str | None = None) -> Dataset:
    """VOT2018 short-term (reset-based protocol, EAO over lengths 100-356)."""
    return _read_vot(root, name, "vot", index)


@register("VOT2016")
def read_vot2016(root: str, name: str, index: str | None = None) -> Dataset:
    return _read_vot(root, name, "vot", index)


@register("VOT2017")
def read_vot2017(root: str, name: str, index: str | None = None) -> Dataset:
    return _read_vot(root, name, "vot", index)


@register("VOT2019")
def read_vot2019(root: str, name: str, index: str | None = None) -> Dataset:
    return _read_vot(root, name, "vot", index)


@register("VOT2018-LT", "VOT-LT2018", "VOT2018LT")
def read_vot2018_lt(root: str, name: str, index: str | None = None) -> Dataset:
    """VOT2018 long-term: NaN ground-truth lines where the target is absent."""
    return _read_vot(root, name, "vot-lt", index)
