"""Readers shared by the single-object sequence formats (LaSOT, GOT-10k)."""
from __future__ import annotations

import os
import re

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def read_boxes(path: str) -> np.ndarray:
    """``(N, 4)`` x, y, w, h from a comma/space/tab separated file; unparsable lines become zeros."""
    rows = []
    with open(path) as f:
        for line in f:
            parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
            try:
                values = [float(p) for p in parts[:4]]
            except ValueError:
                values = []
            rows.append(values if len(values) == 4 and np.all(np.isfinite(values)) else [0, 0, 0, 0])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def read_flags(path: str, count: int) -> np.ndarray:
    """0/1 flags (comma or line separated); all zeros if the file is missing."""
    flags = np.zeros(count, dtype=bool)
    if os.path.isfile(path):
        with open(path) as f:
            values = [v for v in re.split(r"[,\s]+", f.read().strip()) if v]
        n = min(len(values), count)
        flags[:n] = [v not in ("0", "0.0") for v in values[:n]]
    return flags


def sequence_frames(folder: str) -> list[str]:
    """Image files of a sequence folder in name order."""
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.lower().endswith(IMAGE_EXTENSIONS)]
