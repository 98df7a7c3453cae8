"""pysot's json index of a dataset: ``{seq: {video_dir, init_rect, img_names, gt_rect, attr, [absent], [tags]}}``."""
from __future__ import annotations

import json
import os

import numpy as np

from .base import VOT_TAGS, Dataset, DatasetError, DatasetInfo, Sequence
from .files import check_frames, check_length


def json_index(root: str, name: str, index: str | None) -> str | None:
    """The json index to read: ``index`` if given, else ``<root>/<name>.json`` when present."""
    if index:
        if not os.path.isfile(index):
            raise DatasetError(f"{name}: json index {index} does not exist")
        return index
    candidate = os.path.join(root, f"{name}.json")
    return candidate if os.path.isfile(candidate) else None


def read_json_index(root: str, info: DatasetInfo, path: str) -> Dataset:
    """The sequences of a pysot-style index; ``img_names`` are relative to ``root``.

    LaSOT's ``absent`` list is read as pysot scores it: frames with value 1 are the ones evaluated
    (the target is present).
    """
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetError(f"{info.name}: cannot read json index {path}: {e}") from None
    if not isinstance(meta, dict) or not meta:
        raise DatasetError(f"{info.name}: json index {path} holds no sequences")

    def load(seq: str) -> Sequence:
        entry = meta[seq]
        try:
            frames = [os.path.join(root, p) for p in entry["img_names"]]
            gt = np.array([np.ravel(r) if len(np.ravel(r)) else [np.nan] * 4 for r in entry["gt_rect"]], float)
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"sequence {seq}: malformed entry in {path}: {e}") from None
        if gt.ndim != 2 or gt.shape[1] not in (4, 8):
            raise DatasetError(f"sequence {seq}: gt_rect in {path} is not rows of 4 or 8 numbers")
        check_length(seq, frames, gt, path)
        check_frames(frames, seq)
        visible = np.asarray(entry["absent"], int) == 1 if "absent" in entry else None
        tags = {t: np.asarray(entry[t], int) for t in VOT_TAGS if entry.get(t)}
        return Sequence(seq, frames, gt, visible=visible, tags=tags, attributes=tuple(entry.get("attr", ())))

    return Dataset(info, root, list(meta), load)
