"""Evaluation toolkit: runners, metrics, reports and hyperparameter search over the benchmarks read by
:mod:`siamrpnpp_core.datasets`.

Command line: ``siamrpnpp eval {run,score,search,synth}``. Where the reference toolkits differ, each way
is named: one-pass scoring rules (``OPE_RULES``), normalised-precision forms (``NORM_PRECISION_FORMS``),
VOT overlap rules (``OVERLAP_RULES``) and initial-box rules (``INIT_RULES``); ``pysot`` by default, as
for the published SiamRPN++ numbers. See the README.
"""
from ..datasets import Dataset, DatasetError, Sequence, dataset_names, load_dataset
from .metrics import (NORM_PRECISION_FORMS, OPE_RULES, OPERules, center_error, iou, normalized_center_error,
                      ope_curves, ope_summary)
from .region import INIT_RULES, OVERLAP_RULES, axis_aligned_box, vot_overlap
from .runner import run_dataset, run_sequence
from .scoring import ScoreOptions, score_tracker

__all__ = [
    "Dataset", "DatasetError", "INIT_RULES", "NORM_PRECISION_FORMS", "OPERules", "OPE_RULES", "OVERLAP_RULES",
    "ScoreOptions", "Sequence", "axis_aligned_box", "center_error", "dataset_names", "iou", "load_dataset",
    "normalized_center_error", "ope_curves", "ope_summary", "run_dataset", "run_sequence", "score_tracker",
    "vot_overlap",
]
