"""Result files in the layouts other toolkits read and write, written atomically (temp file + rename).

Under a results folder (e.g. ``results/OTB100``), one folder per tracker:

* ``ope``:    ``<tracker>/<seq>.txt``: one ``x,y,w,h`` line per frame, frame 0 included (pysot, got10k OTB).
* ``got10k``: ``<tracker>/<seq>/<seq>_001.txt`` plus ``<seq>_time.txt`` (seconds per frame).
* ``vot``:    ``<tracker>/baseline/<seq>/<seq>_001.txt``: ``1`` (init), ``2`` (failure), ``0`` (skipped) or a region.
* ``vot-lt``: ``<tracker>/longterm/<seq>/<seq>_001.txt`` (``1`` then regions), ``<seq>_001_confidence.value``
  (empty first line, then one score per frame) and ``<seq>_time.txt``.
"""
from __future__ import annotations

import glob
import os
import re

import numpy as np

from ..atomic import atomic_write
from ..datasets import DatasetError
from ..datasets.files import parse_number_lines, text_lines


def format_row(values) -> str:
    return ",".join(f"{float(v):.4f}" for v in np.ravel(values))


def result_paths(protocol: str, tracker_dir: str, seq: str, repetition: int = 1) -> dict[str, str]:
    """Paths of one sequence's result files: ``boxes`` and, where the format has them, ``times``, ``confidence``."""
    rep = f"{seq}_{repetition:03d}"
    if protocol == "ope":
        return {"boxes": os.path.join(tracker_dir, f"{seq}.txt")}
    if protocol == "got10k":
        folder = os.path.join(tracker_dir, seq)
        return {"boxes": os.path.join(folder, f"{rep}.txt"), "times": os.path.join(folder, f"{seq}_time.txt")}
    if protocol == "vot":
        return {"boxes": os.path.join(tracker_dir, "baseline", seq, f"{rep}.txt")}
    if protocol == "vot-lt":
        folder = os.path.join(tracker_dir, "longterm", seq)
        return {"boxes": os.path.join(folder, f"{rep}.txt"),
                "confidence": os.path.join(folder, f"{rep}_confidence.value"),
                "times": os.path.join(folder, f"{seq}_time.txt")}
    raise ValueError(f"unknown protocol {protocol!r}")


def is_done(protocol: str, tracker_dir: str, seq: str) -> bool:
    """True when every file of the sequence's first repetition exists (the runner writes them last-first)."""
    return all(os.path.isfile(p) for p in result_paths(protocol, tracker_dir, seq).values())


def repetitions(protocol: str, tracker_dir: str, seq: str) -> list[str]:
    """Box files of all repetitions of a sequence (``_001``, ``_002``, ...), in order."""
    first = result_paths(protocol, tracker_dir, seq)["boxes"]
    if protocol == "ope":
        return [first] if os.path.isfile(first) else []
    pattern = os.path.join(os.path.dirname(first), f"{glob.escape(seq)}_[0-9][0-9][0-9].txt")
    return sorted(glob.glob(pattern))


def write_boxes(path: str, rows) -> None:
    """One comma-separated region (or special code) per line."""
    lines = []
    for row in rows:
        arr = np.ravel(np.asarray(row, float))
        lines.append(str(int(arr[0])) if arr.size == 1 else format_row(arr))
    atomic_write(path, "\n".join(lines) + "\n")


def _parse_lines(path: str, what: str) -> list[list[float]]:
    if not os.path.isfile(path):
        raise DatasetError(f"{what}: missing result file {path}")
    return parse_number_lines(path, what)


def read_boxes(path: str, what: str = "result") -> np.ndarray:
    """An ``(N, 4)`` array from an OPE / GOT-10k result file (commas, tabs or spaces; NaN allowed)."""
    rows = _parse_lines(path, what)
    bad = [k for k, r in enumerate(rows, 1) if len(r) != 4]
    if bad:
        raise DatasetError(f"{what}: {path} line {bad[0]} does not hold 4 numbers")
    if not rows:
        raise DatasetError(f"{what}: {path} is empty")
    return np.array(rows, float)


def read_regions(path: str, what: str = "result") -> list[np.ndarray]:
    """A VOT trajectory: per line a code (1 number) or a region (4 or 8 numbers)."""
    rows = _parse_lines(path, what)
    bad = [k for k, r in enumerate(rows, 1) if len(r) not in (1, 4, 8)]
    if bad:
        raise DatasetError(f"{what}: {path} line {bad[0]} is neither a code nor a 4/8-number region")
    return [np.array(r, float) for r in rows]


def write_values(path: str, values, fmt: str = "{:.8f}") -> None:
    """One number per line; ``None`` or NaN becomes an empty line (frame 0 of a confidence file)."""
    lines = ["" if v is None or not np.isfinite(v) else fmt.format(float(v)) for v in values]
    atomic_write(path, "\n".join(lines) + "\n")


def read_values(path: str, what: str = "result") -> np.ndarray:
    """Numbers one per line (or comma-separated repetitions: the first column); empty lines are NaN."""
    if not os.path.isfile(path):
        raise DatasetError(f"{what}: missing file {path}")
    out = []
    for k, line in enumerate(text_lines(path), 1):
        first = re.split(r"[,\s]+", line.strip())[0] if line.strip() else ""
        try:
            out.append(float(first) if first else np.nan)
        except ValueError:
            raise DatasetError(f"{what}: {path} line {k} is not a number: {line!r}") from None
    return np.array(out, float)


def list_trackers(results_dir: str) -> list[str]:
    """Tracker folders under a results folder."""
    if not os.path.isdir(results_dir):
        return []
    return sorted(n for n in os.listdir(results_dir)
                  if os.path.isdir(os.path.join(results_dir, n)) and not n.startswith("."))
