"""GOT-10k: ``<split>/list.txt``, ``<seq>/*.jpg``, ``groundtruth.txt`` (test: first line only),
``absence.label``, ``cover.label``, ``meta_info.ini``."""
from __future__ import annotations

import os
import re

from .base import Dataset, DatasetError, DatasetInfo, Sequence
from .files import check_length, list_images, pad_first_row, read_flags, read_names, read_table

SPLITS = ("train", "val", "test")


def split_dir(root: str, split: str, name: str) -> str:
    """``root`` itself when it holds ``list.txt``, else ``root/<split>``."""
    for folder in (root, os.path.join(root, split)):
        if os.path.isfile(os.path.join(folder, "list.txt")):
            return folder
    raise DatasetError(f"{name}: no list.txt in {root} or {os.path.join(root, split)}")


def read_resolution(path: str, seq: str) -> tuple[int, int] | None:
    """``(width, height)`` from a ``meta_info.ini`` line ``resolution: (W, H)``."""
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        match = re.search(r"resolution:\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", f.read())
    if not match:
        raise DatasetError(f"sequence {seq}: {path} has no 'resolution: (W, H)' line")
    return int(match.group(1)), int(match.group(2))


def read_got10k(root: str, info: DatasetInfo, split: str = "val") -> Dataset:
    """A split of GOT-10k. ``cover.label`` is required where it is scored (val) and optional in train;
    a missing ``absence.label`` means the target is always present."""
    if split not in SPLITS:
        raise ValueError(f"GOT-10k split must be one of {SPLITS}, got {split!r}")
    folder = split_dir(root, split, info.name)
    names = read_names(os.path.join(folder, "list.txt"))

    def load(seq: str) -> Sequence:
        seq_dir = os.path.join(folder, seq)
        frames = list_images(seq_dir, seq)
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        resolution = read_resolution(os.path.join(seq_dir, "meta_info.ini"), seq)
        if len(gt) == 1 and len(frames) > 1:
            return Sequence(seq, frames, pad_first_row(gt, len(frames)), resolution=resolution)
        check_length(seq, frames, gt, gt_path)
        cover_path = os.path.join(seq_dir, "cover.label")
        cover = None if split == "train" and not os.path.isfile(cover_path) else read_flags(cover_path, seq, len(gt))
        absent = read_flags(os.path.join(seq_dir, "absence.label"), seq, len(gt), missing_ok=True)
        return Sequence(seq, frames, gt, visible=absent == 0, cover=cover, resolution=resolution)

    return Dataset(info, folder, names, load, has_groundtruth=split != "test")
