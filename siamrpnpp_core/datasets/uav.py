"""UAV123 and UAV20L: ``anno/<name>/<seq>.txt`` (NaN rows when the target is absent) and
``data_seq/UAV123/<folder>/%06d.jpg``; UAV123's sub-sequences (``bird1_2``) are frame ranges of one folder."""
from __future__ import annotations

import glob
import os

from .base import Dataset, DatasetError, DatasetInfo, Sequence
from .files import check_frames, read_table, require_dir
from .pysot_json import json_index, read_json_index

# UAV123 sub-sequences: (first, last) frame of the parent folder (from the benchmark's configuration).
SUBSEQUENCES = {
    "bird1_1": (1, 253), "bird1_2": (775, 1477), "bird1_3": (1573, 2437),
    "car1_1": (1, 751), "car1_2": (751, 1627), "car1_3": (1627, 2629),
    "car6_1": (1, 487), "car6_2": (487, 1807), "car6_3": (1807, 2953), "car6_4": (2953, 3925),
    "car6_5": (3925, 4861), "car8_1": (1, 1357), "car8_2": (1357, 2575), "car16_1": (1, 415),
    "car16_2": (415, 1993), "group1_1": (1, 1333), "group1_2": (1333, 2515), "group1_3": (2515, 3925),
    "group1_4": (3925, 4873), "group2_1": (1, 907), "group2_2": (907, 1771), "group2_3": (1771, 2683),
    "group3_1": (1, 1567), "group3_2": (1567, 2827), "group3_3": (2827, 4369), "group3_4": (4369, 5527),
    "person2_1": (1, 1189), "person2_2": (1189, 2623), "person4_1": (1, 1501), "person4_2": (1501, 2743),
    "person5_1": (1, 877), "person5_2": (877, 2101), "person7_1": (1, 1249), "person7_2": (1249, 2065),
    "person8_1": (1, 1075), "person8_2": (1075, 1525), "person12_1": (1, 601), "person12_2": (601, 1621),
    "person14_1": (1, 847), "person14_2": (847, 1813), "person14_3": (1813, 2923),
    "person17_1": (1, 1501), "person17_2": (1501, 2347), "person19_1": (1, 1243),
    "person19_2": (1243, 2791), "person19_3": (2791, 4357), "truck4_1": (1, 577), "truck4_2": (577, 1261),
    "uav1_1": (1, 1555), "uav1_2": (1555, 2377), "uav1_3": (2473, 3469),
}


def read_uav(root: str, info: DatasetInfo, index: str | None = None) -> Dataset:
    """UAV123 (sub-sequences as frame ranges) or UAV20L (whole folders)."""
    path = json_index(root, info.name, index)
    if path:
        return read_json_index(root, info, path)
    anno_dir = require_dir(os.path.join(root, "anno", info.name), info.name)
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(anno_dir, "*.txt")))
    ranges = SUBSEQUENCES if info.name == "UAV123" else {}

    def load(seq: str) -> Sequence:
        gt_path = os.path.join(anno_dir, f"{seq}.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        folder = seq.rsplit("_", 1)[0] if seq in ranges else seq
        first, last = ranges.get(seq, (1, len(gt)))
        if last - first + 1 != len(gt):
            raise DatasetError(f"sequence {seq}: {gt_path} has {len(gt)} boxes, frames {first}-{last} expected")
        img_dir = require_dir(os.path.join(root, "data_seq", "UAV123", folder), seq)
        frames = check_frames([os.path.join(img_dir, f"{k:06d}.jpg") for k in range(first, last + 1)], seq)
        return Sequence(seq, frames, gt)  # NaN rows mark absent targets; each set of OPE rules treats them

    return Dataset(info, root, names, load)
