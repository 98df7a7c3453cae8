"""Readers of the one-pass benchmarks: OTB100, pysot json indexes, UAV123/UAV20L, LaSOT, GOT-10k, TrackingNet."""
from __future__ import annotations

import glob
import json
import os
import re

import numpy as np

from ..sources import natural_key
from .datasets import (Dataset, DatasetError, Sequence, check_frames, check_length, list_images, pad_first_row,
                       read_flags, read_table, register, require_dir, require_file)

# OTB100 videos whose image folder holds more frames than the benchmark uses: (first, last), 1-based.
OTB_FRAME_RANGES = {"David": (300, 770), "Football1": (1, 74), "Freeman3": (1, 460), "Freeman4": (1, 283),
                    "Diving": (1, 215)}

# UAV123 sub-sequences: (first, last) frame of the parent folder (from the benchmark's configuration).
UAV123_RANGES = {
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

TAG_NAMES = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")


def json_index(root: str, name: str, index: str | None) -> str | None:
    """The json index to read: ``index`` if given, else ``<root>/<name>.json`` when present."""
    if index:
        if not os.path.isfile(index):
            raise DatasetError(f"{name}: json index {index} does not exist")
        return index
    candidate = os.path.join(root, f"{name}.json")
    return candidate if os.path.isfile(candidate) else None


def read_json_index(root: str, name: str, path: str, protocol: str, **extra) -> Dataset:
    """A pysot-style index: ``{seq: {video_dir, init_rect, img_names, gt_rect, attr, [absent], [tags]}}``.

    ``img_names`` are relative to ``root``. LaSOT's ``absent`` list is read as pysot scores it:
    frames with value 1 are the ones evaluated (the target is present).
    """
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetError(f"{name}: cannot read json index {path}: {e}") from None
    if not isinstance(meta, dict) or not meta:
        raise DatasetError(f"{name}: json index {path} holds no sequences")

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
        tags = {t: np.asarray(entry[t], int) for t in TAG_NAMES if entry.get(t)}
        return Sequence(seq, frames, gt, visible=visible, tags=tags, attributes=tuple(entry.get("attr", ())))

    return Dataset(name, protocol, root, list(meta), load, **extra)


@register("OTB100", "OTB2015", "OTB")
def read_otb(root: str, name: str, index: str | None = None) -> Dataset:
    """OTB100: ``<Seq>/img/*.jpg`` and ``<Seq>/groundtruth_rect[.k].txt`` (or ``OTB100.json``)."""
    path = json_index(root, name, index)
    if path:
        return read_json_index(root, name, path, "ope")
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
        if folder in OTB_FRAME_RANGES:
            first, last = OTB_FRAME_RANGES[folder]
            frames = frames[first - 1: last]
        check_length(seq, frames, gt, gt_path)
        return Sequence(seq, frames, gt)

    return Dataset(name, "ope", root, list(entries), load)


def _uav(root: str, name: str, index: str | None) -> Dataset:
    path = json_index(root, name, index)
    if path:
        return read_json_index(root, name, path, "ope")
    anno_dir = os.path.join(root, "anno", name)
    require_dir(anno_dir, name)
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(anno_dir, "*.txt")))

    def load(seq: str) -> Sequence:
        gt_path = os.path.join(anno_dir, f"{seq}.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        folder = seq.rsplit("_", 1)[0] if seq in UAV123_RANGES and name == "UAV123" else seq
        first, last = UAV123_RANGES.get(seq, (1, len(gt))) if name == "UAV123" else (1, len(gt))
        if last - first + 1 != len(gt):
            raise DatasetError(f"sequence {seq}: {gt_path} has {len(gt)} boxes, frames {first}-{last} expected")
        img_dir = os.path.join(root, "data_seq", "UAV123", folder)
        require_dir(img_dir, seq)
        frames = check_frames([os.path.join(img_dir, f"{k:06d}.jpg") for k in range(first, last + 1)], seq)
        return Sequence(seq, frames, gt)  # NaN rows mark absent targets; each convention treats them

    return Dataset(name, "ope", root, names, load)


@register("UAV123")
def read_uav123(root: str, name: str, index: str | None = None) -> Dataset:
    """UAV123: ``anno/UAV123/<seq>.txt`` (NaN rows when absent), ``data_seq/UAV123/<folder>/%06d.jpg``;
    sub-sequences such as ``bird1_2`` are frame ranges of one folder."""
    return _uav(root, name, index)


@register("UAV20L")
def read_uav20l(root: str, name: str, index: str | None = None) -> Dataset:
    """UAV20L: ``anno/UAV20L/<seq>.txt``, images of the whole ``data_seq/UAV123/<seq>`` folder."""
    return _uav(root, name, index)


@register("LaSOT", "LaSOT-test", "LaSOTBenchmark")
def read_lasot(root: str, name: str, split: str = "test", index: str | None = None) -> Dataset:
    """LaSOT: ``<cat>/<cat>-<n>/img/*.jpg``, ``groundtruth.txt``, ``full_occlusion.txt``, ``out_of_view.txt``.

    ``split="test"`` takes the sequences of ``testing_set.txt`` (when present); ``"all"`` every one found.
    """
    path = json_index(root, name, index)
    if path:
        return read_json_index(root, name, path, "ope")
    listing = os.path.join(root, "testing_set.txt")
    if split == "test" and os.path.isfile(listing):
        with open(listing) as f:
            names = [line.strip() for line in f if line.strip()]
    elif split in ("test", "all"):
        found = glob.glob(os.path.join(root, "*", "*-*", "groundtruth.txt"))
        names = sorted({os.path.basename(os.path.dirname(p)) for p in found}, key=natural_key)
    else:
        raise ValueError(f"LaSOT split must be 'test' or 'all', got {split!r}")

    def load(seq: str) -> Sequence:
        seq_dir = os.path.join(root, seq.rsplit("-", 1)[0], seq)
        require_dir(seq_dir, seq)
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        frames = list_images(os.path.join(seq_dir, "img"), seq)
        check_length(seq, frames, gt, gt_path)
        occluded = read_flags(os.path.join(seq_dir, "full_occlusion.txt"), seq, len(gt))
        out_of_view = read_flags(os.path.join(seq_dir, "out_of_view.txt"), seq, len(gt))
        return Sequence(seq, frames, gt, visible=(occluded == 0) & (out_of_view == 0))

    return Dataset(name, "ope", root, names, load)


def _split_dir(root: str, split: str, name: str) -> str:
    """``root`` itself when it holds ``list.txt``, else ``root/<split>``."""
    if os.path.isfile(os.path.join(root, "list.txt")):
        return root
    candidate = os.path.join(root, split)
    if not os.path.isfile(os.path.join(candidate, "list.txt")):
        raise DatasetError(f"{name}: no list.txt in {root} or {candidate}")
    return candidate


def read_resolution(path: str, seq: str) -> tuple[int, int] | None:
    """``(width, height)`` from a GOT-10k ``meta_info.ini`` line ``resolution: (W, H)``."""
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        match = re.search(r"resolution:\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", f.read())
    if not match:
        raise DatasetError(f"sequence {seq}: {path} has no 'resolution: (W, H)' line")
    return int(match.group(1)), int(match.group(2))


@register("GOT-10k", "GOT10k")
def read_got10k(root: str, name: str, split: str = "val") -> Dataset:
    """GOT-10k: ``<split>/list.txt``, ``<seq>/*.jpg``, ``groundtruth.txt`` (test: first line only),
    ``absence.label``, ``cover.label``, ``meta_info.ini``."""
    if split not in ("val", "test"):
        raise ValueError(f"GOT-10k split must be 'val' or 'test', got {split!r}")
    split_dir = _split_dir(root, split, name)
    with open(os.path.join(split_dir, "list.txt")) as f:
        names = [line.strip() for line in f if line.strip()]

    def load(seq: str) -> Sequence:
        seq_dir = os.path.join(split_dir, seq)
        frames = list_images(seq_dir, seq)
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        resolution = read_resolution(os.path.join(seq_dir, "meta_info.ini"), seq)
        if len(gt) == 1 and len(frames) > 1:
            return Sequence(seq, frames, pad_first_row(gt, len(frames)), resolution=resolution)
        check_length(seq, frames, gt, gt_path)
        cover = read_flags(require_file(os.path.join(seq_dir, "cover.label"), seq), seq, len(gt))
        absent = read_flags(os.path.join(seq_dir, "absence.label"), seq, len(gt), missing_ok=True)
        return Sequence(seq, frames, gt, visible=absent == 0, cover=cover, resolution=resolution)

    return Dataset(name, "got10k", split_dir, names, load, has_groundtruth=split == "val")


@register("TrackingNet", "TrackingNet-test")
def read_trackingnet(root: str, name: str) -> Dataset:
    """TrackingNet test: ``TEST/anno/<seq>.txt`` (first frame only), ``TEST/frames/<seq>/<k>.jpg``."""
    test_dir = root if os.path.isdir(os.path.join(root, "anno")) else os.path.join(root, "TEST")
    anno_dir = require_dir(os.path.join(test_dir, "anno"), name)
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(anno_dir, "*.txt")))

    def load(seq: str) -> Sequence:
        gt_path = os.path.join(anno_dir, f"{seq}.txt")
        gt = read_table(gt_path, seq, widths=(4,))
        frames = list_images(os.path.join(test_dir, "frames", seq), seq)
        if len(gt) not in (1, len(frames)):
            check_length(seq, frames, gt, gt_path)
        return Sequence(seq, frames, pad_first_row(gt, len(frames)) if len(gt) == 1 else gt)

    return Dataset(name, "ope", test_dir, names, load, has_groundtruth=False)
