"""Building a ready-to-run model and tracker from a preset name, a weights file and a device."""
from __future__ import annotations

import logging
import os
from dataclasses import replace

import torch

from .checkpoint import PYSOT, load_weights
from .config import Preset, TrackerConfig, get_preset
from .device import resolve_device, resolve_dtype
from .model import SiamRPN
from .tracker import SiamRPNTracker

log = logging.getLogger(__name__)

RANDOM_INIT_SEED = 0


def build_model(preset: str | Preset = "siamrpn_r50_l234_dwxcorr", weights: str | os.PathLike | None = None,
                device: str | torch.device = "auto", half: bool = False) -> SiamRPN:
    """The preset's network in eval mode on ``device``, with ``weights`` loaded strictly.

    Without weights the network is randomly initialised from a fixed seed (identical in every
    process); it tracks nothing meaningful and exists for demos and tests. ``model.convention``
    records whether the weights come from pysot or mmtracking.
    """
    preset = get_preset(preset)
    dev = resolve_device(device)
    dtype = resolve_dtype(dev, half)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model = SiamRPN(preset.model)
    convention = PYSOT
    if weights is not None:
        convention = load_weights(model, weights)
    else:
        log.warning("no weights given: %s is randomly initialised and will not track meaningfully", preset.name)
    model.convention = convention
    return model.eval().to(dev, dtype)


def build_tracker(preset: str | Preset = "siamrpn_r50_l234_dwxcorr", weights: str | os.PathLike | None = None,
                  device: str | torch.device = "auto", half: bool = False,
                  tracker_config: TrackerConfig | None = None) -> SiamRPNTracker:
    """A tracker for the preset; weights from mmtracking switch the crop/anchor convention to theirs."""
    preset = get_preset(preset)
    model = build_model(preset, weights, device, half)
    config = tracker_config or preset.tracker
    if config.convention != model.convention:
        config = replace(config, convention=model.convention)
    return SiamRPNTracker(model, config)
