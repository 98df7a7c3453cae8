"""TrackingNet test: ``TEST/anno/<seq>.txt`` (first frame only), ``TEST/frames/<seq>/<k>.jpg``."""
from __future__ import annotations

import glob
import os

from .base import Dataset, DatasetInfo, Sequence
from .files import check_length, list_images, pad_first_row, read_table, require_dir


def read_trackingnet(root: str, info: DatasetInfo) -> Dataset:
    """The test split; ``root`` may be the dataset folder or its ``TEST`` folder."""
    test_dir = root if os.path.isdir(os.path.join(root, "anno")) else os.path.join(root, "TEST")
    anno_dir = require_dir(os.path.join(test_dir, "anno"), info.name)
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(anno_dir, "*.txt")))

    def load(seq: str) -> Sequence:
        gt_path = os.path.join(anno_dir, f"{seq}.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        frames = list_images(os.path.join(test_dir, "frames", seq), seq)
        if len(gt) not in (1, len(frames)):
            check_length(seq, frames, gt, gt_path)
        return Sequence(seq, frames, pad_first_row(gt, len(frames)) if len(gt) == 1 else gt)

    return Dataset(info, test_dir, names, load, has_groundtruth=False)
