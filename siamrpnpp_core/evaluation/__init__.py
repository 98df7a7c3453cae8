"""Evaluation toolkit: benchmark readers, runners, metrics, reports, hyperparameter search, synthetic data.

Command line: ``siamrpnpp eval {run,score,search,synth}``. Conventions where the reference toolkits
differ are named (``pysot`` by default, as for the published SiamRPN++ numbers); see the README.
"""
from .datasets import Dataset, DatasetError, Sequence, dataset_names, load_dataset
from .metrics import CONVENTIONS, OPEConvention, center_error, iou, normalized_center_error, ope_curves, ope_summary
from .region import axis_aligned_box, vot_overlap
from .runner import run_dataset, run_sequence
from .scoring import ScoreOptions, score_tracker

__all__ = [
    "CONVENTIONS", "Dataset", "DatasetError", "OPEConvention", "ScoreOptions", "Sequence", "axis_aligned_box",
    "center_error", "dataset_names", "iou", "load_dataset", "normalized_center_error", "ope_curves", "ope_summary",
    "run_dataset", "run_sequence", "score_tracker", "vot_overlap",
]
