"""LaSOT: ``<cat>/<cat>-<n>/img/*.jpg``, ``groundtruth.txt``, ``full_occlusion.txt``, ``out_of_view.txt``."""
from __future__ import annotations

import glob
import os

from ..sources import natural_key
from .base import Dataset, DatasetInfo, Sequence
from .files import check_length, list_images, read_flags, read_names, read_table, require_dir
from .pysot_json import json_index, read_json_index

SPLITS = ("test", "all")


def sequence_folder(name: str) -> str:
    """``airplane-1`` -> ``airplane/airplane-1``, the sequence's folder under the dataset root."""
    return os.path.join(name.rsplit("-", 1)[0], name)


def read_lasot(root: str, info: DatasetInfo, split: str = "test", index: str | None = None) -> Dataset:
    """``split="test"`` takes the sequences of ``testing_set.txt`` (when present); ``"all"`` every one found.

    A frame is visible when flagged neither fully occluded nor out of view.
    """
    if split not in SPLITS:
        raise ValueError(f"LaSOT split must be one of {SPLITS}, got {split!r}")
    path = json_index(root, info.name, index)
    if path:
        return read_json_index(root, info, path)
    listing = os.path.join(root, "testing_set.txt")
    if split == "test" and os.path.isfile(listing):
        names = read_names(listing)
    else:
        found = glob.glob(os.path.join(root, "*", "*-*", "groundtruth.txt"))
        names = sorted({os.path.basename(os.path.dirname(p)) for p in found}, key=natural_key)

    def load(seq: str) -> Sequence:
        seq_dir = require_dir(os.path.join(root, sequence_folder(seq)), seq)
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        frames = list_images(os.path.join(seq_dir, "img"), seq)
        check_length(seq, frames, gt, gt_path)
        occluded = read_flags(os.path.join(seq_dir, "full_occlusion.txt"), seq, len(gt))
        out_of_view = read_flags(os.path.join(seq_dir, "out_of_view.txt"), seq, len(gt))
        return Sequence(seq, frames, gt, visible=(occluded == 0) & (out_of_view == 0))

    return Dataset(info, root, names, load)
