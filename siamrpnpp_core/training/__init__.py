"""Training SiamRPN++: dataset preparation, pair sampling and augmentation, anchor targets, losses,
schedule, the (distributed, resumable) training loop. Entry points: ``siamrpnpp train`` and
``python training/train.py`` (also under ``torchrun``)."""
from .config import TRAIN_PRESETS, AugmentConfig, DatasetSpec, TrainConfig, load_config

__all__ = ["TRAIN_PRESETS", "AugmentConfig", "DatasetSpec", "TrainConfig", "load_config"]
