"""Training SiamRPN++: dataset preparation, pair sampling and augmentation, anchor targets, losses,
schedule, the (distributed, resumable) training loop. Entry point: ``python training/train.py``."""
from .config import TRAIN_PRESETS, AugmentConfig, DatasetSpec, TrainConfig, load_config

__all__ = ["TRAIN_PRESETS", "AugmentConfig", "DatasetSpec", "TrainConfig", "load_config"]
