"""Benchmark datasets as on disk: the ``Sequence`` and ``Dataset`` types, parsing helpers, registry.

``load_dataset(name, root)`` reads OTB100 (original layout or pysot's json index), UAV123, UAV20L,
LaSOT, GOT-10k, TrackingNet, VOT2016-2019 and VOT2018-LT. Sequences are parsed on first access;
missing or inconsistent files raise ``DatasetError`` naming the sequence and the file.
"""
from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..sources import natural_key

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
PROTOCOLS = ("ope", "got10k", "vot", "vot-lt")


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or inconsistent with the others."""


@dataclass
class Sequence:
    """One video: frame paths, ground truth (NaN where unknown) and per-frame flags.

    groundtruth: ``(N, 4)`` x, y, w, h or ``(N, 8)`` polygons; test splits know only row 0.
    visible: target present per frame (LaSOT, GOT-10k, VOT-LT), or None when the layout has no flag.
    cover: GOT-10k visible ratio 0..8. tags: VOT per-frame attribute flags.
    resolution: ``(width, height)`` when the layout records it (GOT-10k), else read from frame 0.
    """

    name: str
    frames: list[str]
    groundtruth: np.ndarray
    visible: np.ndarray | None = None
    cover: np.ndarray | None = None
    tags: dict[str, np.ndarray] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()
    resolution: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the video (from the layout's metadata or the first frame)."""
        if self.resolution is None:
            image = cv2.imread(self.frames[0], cv2.IMREAD_UNCHANGED)
            if image is None:
                raise DatasetError(f"sequence {self.name}: unreadable image {self.frames[0]}")
            self.resolution = (int(image.shape[1]), int(image.shape[0]))
        return self.resolution

    def read_frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as a BGR uint8 image."""
        image = cv2.imread(self.frames[index], cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"sequence {self.name}: unreadable image {self.frames[index]}")
        return image


class Dataset:
    """An ordered collection of sequences of one benchmark, loaded lazily by name."""

    def __init__(self, name: str, protocol: str, root: str, names: list[str],
                 loader: Callable[[str], Sequence], has_groundtruth: bool = True,
                 eao_interval: tuple[int, int] | None = None):
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if not names:
            raise DatasetError(f"{name} at {root}: no sequences found")
        self.name, self.protocol, self.root = name, protocol, root
        self.names = list(names)
        self.has_groundtruth = has_groundtruth
        self.eao_interval = eao_interval
        self._loader = loader
        self._cache: dict[str, Sequence] = {}

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Sequence]:
        return (self[n] for n in self.names)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Sequence:
        if name not in self.names:
            raise KeyError(f"{self.name} has no sequence {name!r}")
        if name not in self._cache:
            self._cache[name] = self._loader(name)
        return self._cache[name]

    def subset(self, names) -> Dataset:
        """The same dataset restricted to ``names`` (in the given order)."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise DatasetError(f"{self.name} has no sequence(s) {', '.join(missing)}")
        return Dataset(self.name, self.protocol, self.root, list(names), self.__getitem__,
                       self.has_groundtruth, self.eao_interval)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} sequences, protocol={self.protocol!r}, root={self.root!r})"


def require_file(path: str, seq: str) -> str:
    """``path`` if it is a file, else ``DatasetError`` naming the sequence."""
    if not os.path.isfile(path):
        raise DatasetError(f"sequence {seq}: missing file {path}")
    return path


def require_dir(path: str, seq: str) -> str:
    if not os.path.isdir(path):
        raise DatasetError(f"sequence {seq}: missing folder {path}")
    return path


def parse_number_lines(path: str, what: str) -> list[list[float]]:
    """Rows of numbers separated by commas, tabs or spaces (``nan`` allowed); trailing blank lines ignored."""
    with open(path) as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    rows = []
    for k, line in enumerate(lines, 1):
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            raise DatasetError(f"{what}: {path} line {k} is not numbers: {line!r}") from None
    return rows


def read_table(path: str, seq: str, widths=(4, 8), allow_empty: bool = False) -> np.ndarray:
    """A ground-truth style table: one row of ``widths`` numbers per line."""
    require_file(path, seq)
    rows = parse_number_lines(path, f"sequence {seq}")
    for k, row in enumerate(rows, 1):
        if len(row) not in widths:
            expected = " or ".join(str(w) for w in widths)
            raise DatasetError(f"sequence {seq}: {path} line {k} has {len(row)} numbers, expected {expected}")
    if not rows:
        if allow_empty:
            return np.zeros((0, widths[0]))
        raise DatasetError(f"sequence {seq}: {path} is empty")
    if len({len(r) for r in rows}) > 1:
        raise DatasetError(f"sequence {seq}: {path} mixes rows of different lengths")
    return np.array(rows, dtype=float)


def read_flags(path: str, seq: str, length: int, missing_ok: bool = False) -> np.ndarray:
    """Integer flags, one per frame, on one comma-separated line or one per line."""
    if missing_ok and not os.path.isfile(path):
        return np.zeros(length, dtype=int)
    require_file(path, seq)
    with open(path) as f:
        parts = [p for p in re.split(r"[,\s]+", f.read().strip()) if p]
    try:
        flags = np.array([int(float(p)) for p in parts], dtype=int)
    except ValueError:
        raise DatasetError(f"sequence {seq}: {path} holds non-numeric flags") from None
    if missing_ok and len(flags) < length:  # VOT tag files stop at the last tagged frame
        flags = np.concatenate([flags, np.zeros(length - len(flags), dtype=int)])
    if len(flags) != length:
        raise DatasetError(f"sequence {seq}: {path} has {len(flags)} flags for {length} frames")
    return flags


def list_images(folder: str, seq: str) -> list[str]:
    """Image files of ``folder`` in natural order."""
    require_dir(folder, seq)
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
    if not names:
        raise DatasetError(f"sequence {seq}: no images in {folder}")
    return [os.path.join(folder, n) for n in sorted(names, key=natural_key)]


def check_frames(paths: list[str], seq: str) -> list[str]:
    """``paths`` if all exist (one directory listing per folder), else a ``DatasetError``."""
    listing: dict[str, set[str]] = {}
    for p in paths:
        folder, base = os.path.split(p)
        if folder not in listing:
            listing[folder] = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        if base not in listing[folder]:
            raise DatasetError(f"sequence {seq}: missing image {p}")
    return paths


def check_length(seq: str, frames: list[str], gt: np.ndarray, gt_path: str) -> None:
    if len(frames) != len(gt):
        raise DatasetError(f"sequence {seq}: {gt_path} has {len(gt)} boxes for {len(frames)} images")


def pad_first_row(gt: np.ndarray, length: int) -> np.ndarray:
    """Test-split ground truth (frame 0 only) extended with NaN rows to ``length`` frames."""
    out = np.full((length, gt.shape[1]), np.nan)
    out[: len(gt)] = gt[:length]
    return out


# name -> (reader, aliases); readers take (root, name, **options) and return a Dataset.
_READERS: dict[str, Callable[..., Dataset]] = {}
_ALIASES: dict[str, str] = {}


def register(name: str, *aliases: str):
    """Decorator registering a reader under a canonical dataset name and its aliases."""
    def wrap(fn):
        _READERS[name] = fn
        for a in (name, *aliases):
            _ALIASES[a.lower().replace("_", "-")] = name
        return fn
    return wrap


def canonical_name(name: str) -> str:
    """Canonical dataset name of ``name`` (case-insensitive, aliases accepted)."""
    from . import readers_ope, readers_vot  # noqa: F401  (register the readers)
    key = name.lower().replace("_", "-")
    if key not in _ALIASES:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(_READERS)}")
    return _ALIASES[key]


def dataset_names() -> list[str]:
    canonical_name("OTB100")
    return list(_READERS)


def load_dataset(name: str, root: str, **options) -> Dataset:
    """Open dataset ``name`` at ``root``; options: ``split`` (GOT-10k val/test, LaSOT test/all),
    ``index`` (a pysot-style json index to use instead of the original layout)."""
    canonical = canonical_name(name)
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DatasetError(f"{canonical}: dataset folder {root} does not exist")
    options = {k: v for k, v in options.items() if v is not None}
    reader = _READERS[canonical]
    accepted = inspect.signature(reader).parameters
    for key in options:
        if key not in accepted:
            raise ValueError(f"{canonical} takes no {key!r} option")
    return reader(root, canonical, **options)
