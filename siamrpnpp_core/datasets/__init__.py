"""Tracking datasets as on disk, read by the evaluation and by the training-data preparation alike.

``load_dataset(name, root)`` reads OTB100 (original layout or pysot's json index), UAV123, UAV20L,
LaSOT, GOT-10k, TrackingNet, VOT2016-2019 and VOT2018-LT (the table in :mod:`.table`; one module per
family). Sequences are parsed on first access; a missing, unparsable or inconsistent file raises
``DatasetError`` naming the sequence, the file and the line.
"""
from .base import PROTOCOLS, Dataset, DatasetError, DatasetInfo, Sequence
from .table import DATASETS, canonical_name, dataset_names, load_dataset

__all__ = ["DATASETS", "PROTOCOLS", "Dataset", "DatasetError", "DatasetInfo", "Sequence", "canonical_name",
           "dataset_names", "load_dataset"]
