"""Building a ready-to-run model and tracker from a preset name, a weights file and a device."""
from __future__ import annotations

import gc
import logging
import os
from contextlib import contextmanager
from dataclasses import replace
from importlib import resources

import torch

from .backends import build_engine
from .checkpoint import PYSOT, load_weights
from .config import DEFAULT_PRESET, Preset, TrackerConfig, get_preset
from .device import resolve_device, resolve_dtype
from .model import SiamRPN
from .tracker import SiamRPNTracker

log = logging.getLogger(__name__)

RANDOM_INIT_SEED = 0
RANDOM = "random"  # weights=RANDOM: seeded random initialisation, even for the default preset
# Demonstration weights of DEFAULT_PRESET, trained on synthetic sequences (training/make_default_model.py).
DEFAULT_WEIGHTS = "siamrpn_alex_synthetic.safetensors"


def default_weights_path() -> str | None:
    """Path of the shipped demonstration weights, or None if the package lacks them."""
    path = resources.files("siamrpnpp_core") / "data" / DEFAULT_WEIGHTS
    return str(path) if path.is_file() else None


def build_model(preset: str | Preset = DEFAULT_PRESET, weights: str | os.PathLike | None = None,
                device: str | torch.device = "auto", half: bool = False) -> SiamRPN:
    """The preset's network in eval mode on ``device``, with ``weights`` loaded strictly.

    Without weights, the default preset gets the shipped demonstration weights (trained on synthetic
    data only); other presets, or ``weights="random"``, are randomly initialised from a fixed seed
    (identical in every process): they track nothing meaningful and exist for demos and tests.
    ``model.convention`` records whether the weights come from pysot or mmtracking.
    """
    preset = get_preset(preset)
    dev = resolve_device(device)
    dtype = resolve_dtype(dev, half)
    convention = PYSOT
    if weights is None and preset.name == DEFAULT_PRESET and preset.model == get_preset(DEFAULT_PRESET).model:
        weights = default_weights_path()
        if weights is not None:
            log.info("no weights given: using the shipped demonstration weights of %s (synthetic training "
                     "data only; use the published SiamRPN++ weights for real tracking)", preset.name)
    if weights is not None and os.fspath(weights) != RANDOM:
        with _collector_paused():
            model = _uninitialised(preset)  # every tensor is overwritten by the strict load below
            convention = load_weights(model, weights)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            model = SiamRPN(preset.model)
        log.warning("%s: %s is randomly initialised and will not track meaningfully",
                    "weights='random'" if weights is not None else "no weights given", preset.name)
    model.convention = convention
    return model.eval().to(dev, dtype)


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector: building and loading a network makes thousands of small
    objects, and the full collections they trigger cost R50 about 0.1 s of start-up."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _uninitialised(preset: Preset) -> SiamRPN:
    """The network with allocated but unset tensors (skips random init; BN step counters zeroed)."""
    with torch.device("meta"):
        model = SiamRPN(preset.model)
    model = model.to_empty(device="cpu")
    for name, buffer in model.named_buffers():
        if name.endswith("num_batches_tracked"):
            buffer.zero_()
    return model


def build_tracker(preset: str | Preset = DEFAULT_PRESET, weights: str | os.PathLike | None = None,
                  device: str | torch.device = "auto", half: bool = False,
                  tracker_config: TrackerConfig | None = None, backend: str = "auto",
                  cuda_graphs: bool = False) -> SiamRPNTracker:
    """A tracker for the preset on ``backend`` (see ``siamrpnpp_core.backends``).

    Weights from mmtracking switch the crop/anchor convention to theirs.
    """
    preset = get_preset(preset)
    model = build_model(preset, weights, device, half)
    return SiamRPNTracker(build_engine(model, backend, cuda_graphs), tracker_config_for(preset, model, tracker_config))


def tracker_config_for(preset: Preset, model: SiamRPN, config: TrackerConfig | None = None) -> TrackerConfig:
    """``config`` (default: the preset's) in the convention of the loaded weights."""
    config = config or preset.tracker
    return config if config.convention == model.convention else replace(config, convention=model.convention)
