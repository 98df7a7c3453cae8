"""Run a tracker over a dataset under the dataset's protocol and write the standard result files.

Any object with ``init(frame, (x, y, w, h))`` and ``track(frame) -> result`` (``result.bbox``,
``result.score``) works; the command line builds a :class:`~siamrpnpp_core.SiamRPNTracker`.
Sequences whose result files exist are skipped, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..datasets import Dataset, DatasetError, Sequence
from .region import axis_aligned_box, vot_overlap
from .results import is_done, result_paths, write_boxes, write_values
from .vot_metrics import SKIPPING, overlap_bounds

log = logging.getLogger(__name__)


@dataclass
class SequenceRun:
    """What one pass over a sequence produced: per-frame entries, seconds per frame, scores."""

    entries: list = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    scores: list = field(default_factory=list)


def _frames(seq: Sequence, progress: bool):
    bar = tqdm(range(len(seq)), desc=seq.name, unit="frame", leave=False, disable=not progress or None)
    for index in bar:
        yield index, seq.read_frame(index)


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def run_one_pass(tracker, seq: Sequence, init_rule: str = "pysot", progress: bool = False,
                 long_term: bool = False) -> SequenceRun:
    """Initialise on frame 0's ground truth, then track every later frame.

    Frame 0's entry is the initial box (``[1]`` in long-term files); its score is ``None``.
    """
    run = SequenceRun()
    for index, frame in _frames(seq, progress):
        if index == 0:
            box = axis_aligned_box(seq.groundtruth[0], init_rule)
            _, seconds = _timed(tracker.init, frame, box)
            run.entries.append([1] if long_term else list(box))
            run.scores.append(None)
        else:
            result, seconds = _timed(tracker.track, frame)
            run.entries.append(list(result.bbox))
            run.scores.append(float(result.score))
        run.times.append(seconds)
    return run


def run_reset_based(tracker, seq: Sequence, init_rule: str = "pysot", overlap: str = "pysot",
                    skipping: int = SKIPPING, progress: bool = False) -> SequenceRun:
    """VOT supervised run: ``1`` at each (re)initialisation, ``2`` when the overlap with the ground
    truth drops to 0, ``0`` for the frames skipped before re-initialising ``skipping`` frames later."""
    run = SequenceRun()
    restart = 0
    bounds = None
    for index, frame in _frames(seq, progress):
        if bounds is None:
            bounds = overlap_bounds(frame.shape[1], frame.shape[0], overlap, "accuracy")
        if index < restart:
            run.entries.append([0])
            run.times.append(0.0)
            continue
        gt = seq.groundtruth[index]
        if index == restart:
            if np.isnan(gt).any():  # no ground truth to start from: try the next frame
                restart += 1
                run.entries.append([0])
                run.times.append(0.0)
                continue
            _, seconds = _timed(tracker.init, frame, axis_aligned_box(gt, init_rule))
            run.entries.append([1])
        else:
            result, seconds = _timed(tracker.track, frame)
            if vot_overlap(result.bbox, gt, bounds, overlap) > 0:
                run.entries.append(list(result.bbox))
            else:
                run.entries.append([2])
                restart = index + skipping
        run.times.append(seconds)
    return run


def run_sequence(tracker, seq: Sequence, protocol: str, **options) -> SequenceRun:
    """One pass of ``tracker`` over ``seq`` under ``protocol`` (ope, got10k, vot, vot-lt)."""
    if protocol == "vot":
        return run_reset_based(tracker, seq, **options)
    options.pop("overlap", None)
    return run_one_pass(tracker, seq, long_term=protocol == "vot-lt", **options)


def write_run(protocol: str, tracker_dir: str, seq: str, run: SequenceRun) -> None:
    """Write a run's files; the box file goes last, so its presence marks a finished sequence."""
    paths = result_paths(protocol, tracker_dir, seq)
    if "times" in paths:
        write_values(paths["times"], run.times)
    if "confidence" in paths:
        write_values(paths["confidence"], run.scores, "{:.6f}")
    write_boxes(paths["boxes"], run.entries)


def checked_run(tracker, dataset: Dataset, name: str, **options) -> SequenceRun:
    """:func:`run_sequence` on sequence ``name``; a tracker's ``ValueError`` names the sequence."""
    try:
        return run_sequence(tracker, dataset[name], dataset.protocol, **options)
    except DatasetError:
        raise
    except ValueError as e:  # e.g. the tracker rejected a ground-truth box
        raise ValueError(f"sequence {name}: {e}") from e


def pending(dataset: Dataset, tracker_dir: str, sequences=None, overwrite: bool = False) -> list[str]:
    """The sequences (default: all) still to run: those without a finished result file, or all with ``overwrite``."""
    names = list(sequences) if sequences else dataset.names
    for name in names:
        if name not in dataset:
            raise KeyError(f"{dataset.name} has no sequence {name!r}")
    return [n for n in names if overwrite or not is_done(dataset.protocol, tracker_dir, n)]


def iter_dataset(tracker, dataset: Dataset, tracker_dir: str, names: list[str], fan_out=None, **options):
    """Run ``names`` and write their files; yields each name once its files are written.

    ``fan_out(names)``, when given, runs them elsewhere (e.g. :class:`~.distributed.RayFanOut`) and yields
    ``(name, SequenceRun)`` as each finishes; ``tracker`` is then unused.
    """
    runs = fan_out(names) if fan_out else ((n, checked_run(tracker, dataset, n, **options)) for n in names)
    try:
        for name, run in runs:
            write_run(dataset.protocol, tracker_dir, name, run)
            yield name
    finally:
        runs.close()


def run_dataset(tracker, dataset: Dataset, results_dir: str, tracker_name: str, sequences=None,
                overwrite: bool = False, progress: bool = True, init_rule: str = "pysot",
                overlap: str = "pysot", fan_out=None) -> list[str]:
    """Track every sequence (or ``sequences``) of ``dataset``; returns the names actually run.

    Results go to ``<results_dir>/<tracker_name>/...`` in the layout of the dataset's protocol;
    ``fan_out`` runs the sequences elsewhere (see :func:`iter_dataset`).
    """
    tracker_dir = os.path.join(results_dir, tracker_name)
    todo = pending(dataset, tracker_dir, sequences, overwrite)
    total = len(sequences) if sequences else len(dataset)
    if len(todo) < total:
        log.info("%s: %d of %d sequences already done, skipped", tracker_name, total - len(todo), total)
    options = {"init_rule": init_rule, "overlap": overlap, "progress": progress and fan_out is None}
    done = iter_dataset(tracker, dataset, tracker_dir, todo, fan_out, **options)
    for _ in tqdm(done, total=len(todo), desc=f"{tracker_name} on {dataset.name}", unit="seq",
                  disable=not progress or None):
        pass
    return todo
