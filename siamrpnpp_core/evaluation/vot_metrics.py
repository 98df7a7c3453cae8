"""VOT metrics: supervised accuracy / robustness / EAO (VOT2016-2019) and the long-term F-score.

A trajectory is a list with one region per frame (see :mod:`.region`): ``[1]`` initialised,
``[2]`` failure, ``[0]`` skipped, or 4/8 numbers. Rules follow the pysot toolkit, which produced the
published SiamRPN++ numbers; differences from it are noted where they exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .region import vot_overlaps

BURNIN = 10
SKIPPING = 5


def code(entry) -> int | None:
    """The special code of a one-number entry, else None."""
    arr = np.ravel(entry)
    return int(arr[0]) if arr.size == 1 else None


def failures(trajectory) -> list[int]:
    """Frame indices marked as failures (code 2)."""
    return [i for i, e in enumerate(trajectory) if code(e) == 2]


def overlap_bounds(width: int, height: int, rule: str = "pysot", metric: str = "accuracy"):
    """Grid limits for overlaps: pysot uses ``(W, H)`` for accuracy and the F-score but
    ``(W-1, H-1)`` for EAO; the ``vot`` rule uses ``(W-1, H-1)`` (the pixel grid) everywhere."""
    if rule == "pysot" and metric != "eao":
        return (width, height)
    return (width - 1, height - 1)


def burnin_overlaps(trajectory, groundtruth, bounds=None, burnin: int = BURNIN,
                    rule: str = "pysot") -> np.ndarray:
    """Per-frame overlaps with the ``burnin`` frames from each (re)initialisation set to NaN."""
    traj = list(trajectory)
    for i, entry in enumerate(trajectory):
        if code(entry) == 1:
            for j in range(i, min(i + burnin, len(traj))):
                traj[j] = np.array([0.0])
    return vot_overlaps(traj, groundtruth, bounds, rule)


@dataclass
class VOTSequenceResult:
    """One sequence's repetitions: overlaps (with burn-in for accuracy, without for EAO), failures."""

    name: str
    length: int
    accuracy_overlaps: list[np.ndarray]
    eao_overlaps: list[np.ndarray]
    failures: list[list[int]]
    tags: dict[str, np.ndarray] = field(default_factory=dict)


def vot_sequence(name, trajectories, groundtruth, width, height, rule="pysot", tags=None):
    """Overlaps and failures of all repetitions of one sequence."""
    acc_b = overlap_bounds(width, height, rule, "accuracy")
    eao_b = overlap_bounds(width, height, rule, "eao")
    return VOTSequenceResult(
        name, len(groundtruth),
        [burnin_overlaps(t, groundtruth, acc_b, BURNIN, rule) for t in trajectories],
        [vot_overlaps(list(t), groundtruth, eao_b, rule) for t in trajectories],
        [failures(t) for t in trajectories],
        dict(tags or {}),
    )


def accuracy_robustness(results: list[VOTSequenceResult]) -> dict:
    """Accuracy (mean overlap pooled over frames, repetitions averaged per frame), robustness
    (failures per 100 frames, averaged over repetitions) and the mean number of failures."""
    pooled, length = [], 0
    for r in results:
        stack = np.vstack(r.accuracy_overlaps)
        with np.errstate(invalid="ignore"):
            counts = np.sum(~np.isnan(stack), axis=0)
            per_frame = np.where(counts > 0, np.nansum(stack, axis=0) / np.maximum(counts, 1), np.nan)
        pooled.append(per_frame)
        length += stack.shape[1]
    overlaps = np.concatenate(pooled)
    reps = min(len(r.failures) for r in results)
    lost = np.array([sum(len(r.failures[k]) for r in results) for k in range(reps)], float)
    return {
        "accuracy": float(np.nanmean(overlaps)) if np.any(~np.isnan(overlaps)) else float("nan"),
        "robustness": float(np.mean(lost / length) * 100),
        "lost_number": float(np.mean(lost)),
        "frames": length,
    }


def eao_fragments(results: list[VOTSequenceResult], skipping: int = SKIPPING, tag: str = "all"):
    """Fragments ``(F, max_len)`` and weights ``(F,)``: a fragment starts at frame 0 and at each
    re-initialisation (``skipping`` frames after a failure); one ended by a failure is padded with 0,
    the last one of a run with NaN. Weights: the share of ``tag`` frames, divided by repetitions."""
    runs = [(r, o, f) for r in results for o, f in zip(r.eao_overlaps, r.failures)]
    max_len = max(len(o) for _, o, _ in runs)
    rows, weights = [], []
    for r, overlaps, fails in runs:
        seq_weight = 1.0 / len(r.eao_overlaps)
        tags = np.asarray(r.tags.get(tag, np.ones(r.length)), float) if tag != "all" else np.ones(r.length)
        starts = [0] + [f + skipping for f in fails if f + skipping <= len(overlaps)]
        for k, start in enumerate(starts):
            last = k == len(starts) - 1
            end = len(overlaps) if last else starts[k + 1] + 1
            row = np.full(max_len, np.nan if last else 0.0)
            frag = np.nan_to_num(np.asarray(overlaps[start:end], float), nan=0.0)
            row[: len(frag)] = frag
            share = np.sum(tags[start:end]) / ((r.length - start + 1e-16) if last and fails else (end - start))
            rows.append(row)
            weights.append(seq_weight * share)
    return np.array(rows), np.array(weights)


def expected_overlap_curve(fragments: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Phi[i]: weighted mean, over fragments still running at frame i, of their mean overlap on
    frames 1..i; Phi[0] = 1 (the initialisation frame is not scored)."""
    length = fragments.shape[1]
    phi = np.zeros(length)
    phi[0] = 1.0
    if length < 2:
        return phi
    body = fragments[:, 1:]
    running = ~np.isnan(body)
    means = np.cumsum(np.nan_to_num(body), axis=1) / np.arange(1, length)
    w = np.where(running, weights[:, None], 0.0)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi[1:] = np.where(total > 0, np.sum(means * w, axis=0) / total, 0.0)
    return phi


def eao(phi: np.ndarray, interval: tuple[int, int]) -> float:
    """Mean of Phi over sequence lengths ``interval = (low, high)`` (inclusive, 1-based)."""
    low, high = interval
    window = phi[low - 1: high]
    return float(np.mean(window)) if window.size else float("nan")


def lt_thresholds(scores, resolution: int = 100) -> np.ndarray:
    """Confidence thresholds, descending: +inf, 98 order statistics of all scores, -inf.

    With ``n >= 98`` scores: ``delta = floor(n/98)``, indices ``floor(linspace(delta-1, n-delta, 98) + 0.5)``
    into the sorted scores (pysot). With fewer scores (where pysot's rule indexes past the end) every
    distinct score is a threshold.
    """
    s = np.sort(np.asarray(scores, float)[~np.isnan(np.asarray(scores, float))])
    inner = resolution - 2
    if s.size >= inner:
        delta = np.floor(s.size / inner)
        idx = np.floor(np.linspace(delta - 1, s.size - delta, inner) + 0.5).astype(int)
        middle = s[idx]
    else:
        middle = np.unique(s)
    return np.concatenate([[np.inf], middle[::-1], [-np.inf]])


def lt_pr_curves(overlaps, scores, n_visible: int, thresholds) -> tuple[np.ndarray, np.ndarray]:
    """Tracking precision and recall of one sequence at each threshold.

    Selected frames: ``score >= t`` (``score > 0`` at -inf). Precision = mean overlap of selected
    frames (1 if none); recall = their summed overlap / number of frames with a visible target.
    NaN overlaps (absent target, frame 0) and NaN scores count as 0.
    """
    ov = np.nan_to_num(np.asarray(overlaps, float), nan=0.0)
    sc = np.nan_to_num(np.asarray(scores, float), nan=0.0)
    if ov.shape != sc.shape:
        raise ValueError(f"{sc.size} confidence values for {ov.size} frames")
    pr, re = np.ones(len(thresholds)), np.zeros(len(thresholds))
    for k, t in enumerate(thresholds):
        sel = sc > 0 if t == -np.inf else sc >= t
        if sel.any():
            pr[k] = ov[sel].mean()
            re[k] = ov[sel].sum() / n_visible if n_visible else np.nan
    return pr, re


def lt_f_score(sequences) -> dict:
    """VOT long-term precision, recall and F-score.

    ``sequences``: iterable of ``(overlaps, scores, n_visible)``. Thresholds come from all scores;
    the precision and recall curves are averaged over sequences; F = 2PR/(P+R) at its maximum.
    """
    sequences = list(sequences)
    thresholds = lt_thresholds(np.concatenate([np.asarray(s, float) for _, s, _ in sequences]))
    curves = [lt_pr_curves(o, s, n, thresholds) for o, s, n in sequences]
    pr = np.nanmean([c[0] for c in curves], axis=0)
    re = np.nanmean([c[1] for c in curves], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 2 * pr * re / (pr + re)
    best = int(np.nanargmax(f)) if np.any(~np.isnan(f)) else 0
    return {"precision": float(pr[best]), "recall": float(re[best]), "f_score": float(f[best]),
            "threshold": float(thresholds[best]), "precision_curve": pr, "recall_curve": re,
            "f_curve": f, "thresholds": thresholds}
