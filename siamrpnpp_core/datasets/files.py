"""Reading annotation files and frame folders, with one policy for bad content: ``DatasetError`` naming
the sequence, the file and (for a bad row) the line. Nothing is guessed or replaced by zeros."""
from __future__ import annotations

import os
import re

import numpy as np

from ..sources import list_images as _image_paths
from .base import DatasetError

_SEPARATORS = re.compile(r"[,\s]+")


def require_file(path: str, seq: str) -> str:
    """``path`` if it is a file, else ``DatasetError`` naming the sequence."""
    if not os.path.isfile(path):
        raise DatasetError(f"sequence {seq}: missing file {path}")
    return path


def require_dir(path: str, seq: str) -> str:
    if not os.path.isdir(path):
        raise DatasetError(f"sequence {seq}: missing folder {path}")
    return path


def read_names(path: str) -> list[str]:
    """Non-empty lines of a listing such as ``list.txt``, stripped."""
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def text_lines(path: str) -> list[str]:
    """The lines of a text file, trailing blank lines dropped."""
    with open(path) as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def parse_number_lines(path: str, what: str) -> list[list[float]]:
    """Rows of numbers separated by commas, tabs or spaces (``nan`` allowed); trailing blank lines ignored."""
    rows = []
    for k, line in enumerate(text_lines(path), 1):
        try:
            rows.append([float(p) for p in _SEPARATORS.split(line.strip()) if p])
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
    flags = []
    with open(path) as f:
        for k, line in enumerate(f, 1):
            try:
                flags += [int(float(p)) for p in _SEPARATORS.split(line.strip()) if p]
            except ValueError:
                raise DatasetError(f"sequence {seq}: {path} line {k} holds non-numeric flags: {line.strip()!r}") \
                    from None
    flags = np.array(flags, dtype=int)
    if missing_ok and len(flags) < length:  # VOT tag files stop at the last tagged frame
        flags = np.concatenate([flags, np.zeros(length - len(flags), dtype=int)])
    if len(flags) != length:
        raise DatasetError(f"sequence {seq}: {path} has {len(flags)} flags for {length} frames")
    return flags


def list_images(folder: str, seq: str) -> list[str]:
    """Image files of ``folder`` in natural order (``sources.IMAGE_EXTENSIONS``)."""
    require_dir(folder, seq)
    paths = _image_paths(folder)
    if not paths:
        raise DatasetError(f"sequence {seq}: no images in {folder}")
    return paths


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
