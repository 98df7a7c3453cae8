"""Building a ready-to-run model and tracker from a preset name, a weights file and a device."""
from __future__ import annotations

import gc
import logging
import os
from contextlib import contextmanager
from importlib import resources

import torch

from .backends import build_engine
from .checkpoint import load_weights
from .config import DEFAULT_PRESET, Preset, TrackerConfig, get_preset
from .device import resolve_device, resolve_dtype
from .model import SiamRPN
from .tracker import SiamRPNTracker

log = logging.getLogger(__name__)

RANDOM_INIT_SEED = 0
# Shipped demonstration weights (trained without labelled video, training/make_default_model.py), by the
# preset whose network they fit; every preset with the same network uses them.
SHIPPED_WEIGHTS = {
    "siamrpn_mobilev2_l5": "siamrpn_mobilev2_l5_synthetic.safetensors",
    "siamrpn_alex_dwxcorr": "siamrpn_alex_synthetic.safetensors",
}


def shipped_weights_name(preset: str | Preset) -> str | None:
    """File name (in ``siamrpnpp_core/data``) of the demonstration weights of ``preset``'s network, or None
    when none are shipped for it."""
    model = get_preset(preset).model
    return next((name for owner, name in SHIPPED_WEIGHTS.items() if get_preset(owner).model == model), None)


def shipped_weights_for(preset: str | Preset) -> str | None:
    """Path of the shipped demonstration weights for ``preset``'s network, or None (none shipped, or the
    package lacks the file)."""
    name = shipped_weights_name(preset)
    path = resources.files("siamrpnpp_core") / "data" / name if name else None
    return str(path) if path is not None and path.is_file() else None


def default_weights_path() -> str | None:
    """Path of the default preset's shipped weights, or None if the package lacks them."""
    return shipped_weights_for(DEFAULT_PRESET)


def build_model(preset: str | Preset = DEFAULT_PRESET, *, weights: str | os.PathLike | None = None,
                random_init: bool = False, device: str | torch.device = "auto", half: bool = False) -> SiamRPN:
    """The preset's network in eval mode on ``device``, with its weights.

    Args:
        preset: preset name (see ``siamrpnpp presets``) or a ``Preset``.
        weights: checkpoint to load strictly: pysot model-zoo or training ``.pth``, mmtracking ``.pth`` or
            ``.safetensors``. Without one, the presets of the default's AlexNet network (``siamrpn_alex_colour``,
            ``siamrpn_alex_dwxcorr``) get the shipped demonstration weights (trained without labelled
            video) and other presets a seeded random initialisation.
        random_init: seeded random initialisation (identical in every process) for any preset; such a
            network tracks nothing meaningful (demos, tests). Excludes ``weights``.
        device: ``"auto"`` (first CUDA GPU, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a
            ``torch.device``; a missing GPU is an error.
        half: float16 weights and activations (CUDA only).

    Returns:
        The ``SiamRPN`` module; its ``weights_format`` says whose conventions the weights follow.
    """
    if random_init and weights is not None:
        raise ValueError("give either weights or random_init, not both")
    preset = get_preset(preset)
    dev = resolve_device(device)
    dtype = resolve_dtype(dev, half)
    if weights is None and not random_init:
        weights = shipped_weights_for(preset)
        if weights is not None:
            log.info("no weights given: using the shipped demonstration weights of %s (trained without "
                     "labelled video; use the published SiamRPN++ weights for real tracking)", preset.name)
    if weights is not None:
        with _collector_paused():
            model = _uninitialised(preset)  # every tensor is overwritten by the strict load below
            load_weights(model, weights)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            model = SiamRPN(preset.model)
        log.warning("%s: %s is randomly initialised and will not track meaningfully",
                    "random_init" if random_init else "no weights given", preset.name)
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


def build_tracker(preset: str | Preset = DEFAULT_PRESET, *, weights: str | os.PathLike | None = None,
                  random_init: bool = False, device: str | torch.device = "auto", half: bool = False,
                  tracker_config: TrackerConfig | None = None, backend: str = "auto",
                  cuda_graphs: bool = False, precision: str = "fp32") -> SiamRPNTracker:
    """A tracker: the preset's network (:func:`build_model`) run by an engine (``build_engine``).

    Args:
        preset, weights, random_init, device, half: as for :func:`build_model`.
        tracker_config: test-time hyperparameters (default: the preset's). Its ``weights_format`` follows
            the loaded weights (mmtracking weights track with mmtracking's anchors and crops) unless it
            names one, which must then match.
        backend: ``"auto"``, ``"eager"``, ``"torch"``, ``"onnxruntime"`` or ``"openvino"`` (see
            ``siamrpnpp_core.backends``).
        cuda_graphs: replay the per-frame step as a CUDA graph (backend ``torch`` on CUDA).
        precision: CPU arithmetic: ``"fp32"`` (exact, the default), ``"bf16"``, ``"int8"`` or ``"auto"``
            (bf16, else int8, where the CPU has units for it, else fp32; logged); see
            ``siamrpnpp_core.backends.precision``.

    Returns:
        An uninitialised ``SiamRPNTracker``: call ``init(frame, box)``, then ``track(frame)``.
    """
    preset = get_preset(preset)
    model = build_model(preset, weights=weights, random_init=random_init, device=device, half=half)
    engine = build_engine(model, backend=backend, cuda_graphs=cuda_graphs, precision=precision)
    return SiamRPNTracker(engine, tracker_config or preset.tracker)
