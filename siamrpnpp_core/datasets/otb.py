"""OTB100: ``<Seq>/img/*.jpg`` and ``<Seq>/groundtruth_rect[.k].txt`` (or pysot's ``OTB100.json``)."""
from __future__ import annotations

import glob
import os

from .base import Dataset, DatasetInfo, Sequence
from .files import check_length, list_images, read_table
from .pysot_json import json_index, read_json_index

# Videos whose image folder holds more frames than the benchmark uses: (first, last), 1-based.
FRAME_RANGES = {"David": (300, 770), "Football1": (1, 74), "Freeman3": (1, 460), "Freeman4": (1, 283),
                "Diving": (1, 215)}


def read_otb(root: str, info: DatasetInfo, index: str | None = None) -> Dataset:
    """``.1``/``.2`` ground-truth files give one sequence per target (``Jogging-1``, ``Skating2-2``)."""
    path = json_index(root, info.name, index)
    if path:
        return read_json_index(root, info, path)
    entries: dict[str, tuple[str, str]] = {}
    for folder in sorted(os.listdir(root)):
        seq_dir = os.path.join(root, folder)
        if not os.path.isdir(os.path.join(seq_dir, "img")):
            continue
        plain = os.path.join(seq_dir, "groundtruth_rect.txt")
        numbered = sorted(glob.glob(os.path.join(seq_dir, "groundtruth_rect.*.txt")))
        if os.path.isfile(plain) or len(numbered) == 1:
            entries[folder] = (folder, plain if os.path.isfile(plain) else numbered[0])
        else:  # Jogging, Skating2: one sequence per target
            for gt_path in numbered:
                k = os.path.basename(gt_path).split(".")[1]
                entries[f"{folder}-{k}"] = (folder, gt_path)

    def load(seq: str) -> Sequence:
        folder, gt_path = entries[seq]
        gt = read_table(gt_path, seq, widths=(4,))
        frames = list_images(os.path.join(root, folder, "img"), seq)
        if folder in FRAME_RANGES:
            first, last = FRAME_RANGES[folder]
            frames = frames[first - 1: last]
        check_length(seq, frames, gt, gt_path)
        return Sequence(seq, frames, gt)

    return Dataset(info, root, list(entries), load)
