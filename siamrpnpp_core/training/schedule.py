"""Learning rate per epoch (warm-up then log decay) and the backbone's training phase."""
from __future__ import annotations

import math

import numpy as np

from .config import TrainConfig


def learning_rates(cfg: TrainConfig) -> np.ndarray:
    """One learning rate per epoch: ``warmup_epochs`` geometric steps from ``warmup_start_lr`` toward
    ``base_lr`` (reaching it at the first normal epoch), then log-spaced from ``base_lr`` to ``end_lr``."""
    warm = min(cfg.warmup_epochs, cfg.epochs)
    rest = cfg.epochs - warm
    warmup = np.empty(0)
    if warm:
        ratio = math.pow(cfg.base_lr / cfg.warmup_start_lr, 1.0 / warm)
        warmup = cfg.warmup_start_lr * ratio ** np.arange(warm)
    decay = np.logspace(math.log10(cfg.base_lr), math.log10(cfg.end_lr), rest) if rest else np.empty(0)
    return np.concatenate([warmup, decay])


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    return float(learning_rates(cfg)[min(epoch, cfg.epochs - 1)])


def backbone_trainable(cfg: TrainConfig, epoch: int) -> bool:
    """Whether the backbone's ``backbone_train_layers`` are trained in ``epoch`` (0-based)."""
    return bool(cfg.backbone_train_layers) and epoch >= cfg.backbone_train_epoch
