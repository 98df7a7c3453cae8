"""Score a tracker's result files against a dataset, under the dataset's protocol and named scoring rules."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import metrics, vot_metrics
from ..datasets import Dataset, DatasetError
from .region import OVERLAP_RULES, vot_overlaps
from .results import read_boxes, read_regions, read_values, repetitions, result_paths

# metric name -> (protocols it exists for, higher is better)
METRICS = {
    "success": (("ope",), True), "precision": (("ope", "vot-lt"), True), "norm_precision": (("ope",), True),
    "ao": (("got10k",), True), "sr50": (("got10k",), True), "sr75": (("got10k",), True),
    "eao": (("vot",), True), "accuracy": (("vot",), True), "robustness": (("vot",), False),
    "lost_number": (("vot",), False), "f_score": (("vot-lt",), True), "recall": (("vot-lt",), True),
}
DEFAULT_METRIC = {"ope": "success", "got10k": "ao", "vot": "eao", "vot-lt": "f_score"}


@dataclass(frozen=True)
class ScoreOptions:
    """Where the toolkits differ: ``ope_rules`` (``metrics.OPE_RULES``: pysot | got10k | lasot),
    ``norm_precision_form`` (``metrics.NORM_PRECISION_FORMS``: pysot | auc; default: the OPE rules'),
    ``overlap`` (VOT rasterisation, ``region.OVERLAP_RULES``: pysot | vot)."""

    ope_rules: str = "pysot"
    norm_precision_form: str | None = None
    overlap: str = "pysot"

    def __post_init__(self) -> None:
        metrics.get_ope_rules(self.ope_rules)
        if self.norm_precision_form not in (None, *metrics.NORM_PRECISION_FORMS):
            raise ValueError(f"normalized precision form must be one of {metrics.NORM_PRECISION_FORMS}, "
                             f"got {self.norm_precision_form!r}")
        if self.overlap not in OVERLAP_RULES:
            raise ValueError(f"overlap rule must be one of {OVERLAP_RULES}, got {self.overlap!r}")


def check_metric(metric: str, protocol: str) -> str:
    """``metric`` if the protocol defines it, else ``ValueError`` listing the ones it does."""
    if metric not in METRICS or protocol not in METRICS[metric][0]:
        names = [m for m, (protocols, _) in METRICS.items() if protocol in protocols]
        raise ValueError(f"metric {metric!r} does not exist for {protocol} datasets; use one of {', '.join(names)}")
    return metric


def _missing(tracker: str, seq: str, path: str) -> DatasetError:
    return DatasetError(f"tracker {tracker}, sequence {seq}: missing result file {path}")


def _check_length(tracker, seq, path, got, expected):
    if got != expected:
        raise DatasetError(f"tracker {tracker}, sequence {seq}: {path} has {got} lines for {expected} frames")


def score_tracker(dataset: Dataset, results_dir: str, tracker: str, options: ScoreOptions = ScoreOptions()) -> dict:
    """Metrics of ``<results_dir>/<tracker>`` on ``dataset``: summary values, curves and per-sequence scores."""
    if not dataset.has_groundtruth:
        raise ValueError(f"{dataset.name} ({dataset.root}) has no ground truth beyond frame 0: "
                         "submit the result files to the benchmark's evaluation server")
    tracker_dir = os.path.join(results_dir, tracker)
    if not os.path.isdir(tracker_dir):
        raise DatasetError(f"no results for tracker {tracker}: {tracker_dir} does not exist")
    scorer = {"ope": _score_ope, "got10k": _score_got10k, "vot": _score_vot, "vot-lt": _score_lt}[dataset.protocol]
    out = scorer(dataset, tracker_dir, tracker, options)
    out["tracker"], out["protocol"], out["dataset"] = tracker, dataset.protocol, dataset.name
    return out


def _score_ope(dataset, tracker_dir, tracker, options):
    rules = metrics.get_ope_rules(options.ope_rules)
    form = options.norm_precision_form or rules.norm_precision_form
    curves, per_seq = [], {}
    for seq in dataset:
        path = result_paths("ope", tracker_dir, seq.name)["boxes"]
        if not os.path.isfile(path):
            raise _missing(tracker, seq.name, path)
        pred = read_boxes(path, f"tracker {tracker}, sequence {seq.name}")
        _check_length(tracker, seq.name, path, len(pred), len(seq.groundtruth))
        c = metrics.ope_curves(pred, seq.groundtruth, seq.visible, rules, form)
        curves.append(c)
        per_seq[seq.name] = {"success": float(np.mean(c.success)), "precision": float(c.precision[20])}
    out = metrics.ope_summary(curves, form)
    out["per_sequence"] = per_seq
    return out


def _score_got10k(dataset, tracker_dir, tracker, options):
    ious, times, per_seq = [], [], {}
    for seq in dataset:
        files = repetitions("got10k", tracker_dir, seq.name)
        if not files:
            raise _missing(tracker, seq.name, result_paths("got10k", tracker_dir, seq.name)["boxes"])
        seq_ious = []
        for path in files:
            pred = read_boxes(path, f"tracker {tracker}, sequence {seq.name}")
            _check_length(tracker, seq.name, path, len(pred), len(seq.groundtruth))
            seq_ious.append(metrics.got10k_ious(pred, seq.groundtruth, seq.cover, seq.image_size()))
        seq_ious = np.concatenate(seq_ious)
        ious.append(seq_ious)
        time_path = result_paths("got10k", tracker_dir, seq.name)["times"]
        if os.path.isfile(time_path):
            times.append(read_values(time_path))
        per_seq[seq.name] = {"ao": float(np.mean(seq_ious)) if seq_ious.size else float("nan")}
    out = metrics.got10k_summary(ious, times or None)
    out["per_sequence"] = per_seq
    return out


def _score_vot(dataset, tracker_dir, tracker, options):
    results = []
    for seq in dataset:
        files = repetitions("vot", tracker_dir, seq.name)
        if not files:
            raise _missing(tracker, seq.name, result_paths("vot", tracker_dir, seq.name)["boxes"])
        trajs = [read_regions(p, f"tracker {tracker}, sequence {seq.name}") for p in files]
        for path, t in zip(files, trajs):
            _check_length(tracker, seq.name, path, len(t), len(seq.groundtruth))
        width, height = seq.image_size()
        results.append(vot_metrics.vot_sequence(seq.name, trajs, list(seq.groundtruth), width, height,
                                                options.overlap, seq.tags))
    out = vot_metrics.accuracy_robustness(results)
    phi = vot_metrics.expected_overlap_curve(*vot_metrics.eao_fragments(results))
    out["eao"] = vot_metrics.eao(phi, dataset.eao_interval)  # the benchmark's, from the dataset table
    out["eao_curve"], out["eao_interval"] = phi, dataset.eao_interval
    out["per_sequence"] = {r.name: {"failures": float(np.mean([len(f) for f in r.failures]))} for r in results}
    return out


def _score_lt(dataset, tracker_dir, tracker, options):
    sequences = []
    for seq in dataset:
        paths = result_paths("vot-lt", tracker_dir, seq.name)
        for key in ("boxes", "confidence"):
            if not os.path.isfile(paths[key]):
                raise _missing(tracker, seq.name, paths[key])
        traj = read_regions(paths["boxes"], f"tracker {tracker}, sequence {seq.name}")
        scores = read_values(paths["confidence"], f"tracker {tracker}, sequence {seq.name}")
        n = len(seq.groundtruth)
        _check_length(tracker, seq.name, paths["boxes"], len(traj), n)
        if len(scores) < n:  # a trailing empty line may be lost; pad with "no score"
            scores = np.concatenate([scores, np.full(n - len(scores), np.nan)])
        _check_length(tracker, seq.name, paths["confidence"], len(scores), n)
        width, height = seq.image_size()
        bounds = vot_metrics.overlap_bounds(width, height, options.overlap, "f_score")
        overlaps = vot_overlaps(traj, list(seq.groundtruth), bounds, options.overlap)
        visible = seq.visible if seq.visible is not None else ~np.isnan(seq.groundtruth).any(axis=1)
        sequences.append((overlaps, scores, int(np.sum(visible))))
    return vot_metrics.lt_f_score(sequences)
