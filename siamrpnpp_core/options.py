"""Tracker options: one set of command-line options and help texts for every command that builds a
tracker (``track``, ``demo``, ``eval run``, ``eval search``), and the picklable :class:`TrackerOptions`
they become. ``config.tracker_config`` turns them into a ``TrackerConfig`` (the ROS node calls it too)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from .backends import BACKENDS, PRECISIONS, build_engine
from .builder import build_model
from .config import DEFAULT_PRESET, HYPERPARAMETERS, PRESETS, TrackerConfig, tracker_config
from .tracker import SiamRPNTracker

# Command-line hyperparameter overrides: option dest = TrackerConfig field.
HYPERPARAMETER_OPTIONS = ("penalty_k", "window_influence", "lr")
COLOUR_OPTIONS = ("colour_weight", "colour_min_similarity")


@dataclass(frozen=True)
class TrackerOptions:
    """How to build a tracker: network and weights, test-time hyperparameters, device and backend.

    ``overrides`` are ``(TrackerConfig field, value)`` pairs applied after the preset and ``hparams``.
    """

    preset: str = DEFAULT_PRESET
    weights: str | None = None
    random_init: bool = False
    hparams: str | None = None
    overrides: tuple[tuple[str, object], ...] = ()
    device: str = "auto"
    half: bool = False
    backend: str = "auto"
    cuda_graphs: bool = False
    precision: str = "fp32"

    def config(self) -> TrackerConfig:
        return tracker_config(self.preset, self.hparams, dict(self.overrides))

    def build_engine(self):
        """The network (``build_model``) in its engine (``build_engine``), without the tracker state."""
        model = build_model(self.preset, weights=self.weights, random_init=self.random_init, device=self.device,
                            half=self.half)
        return build_engine(model, backend=self.backend, cuda_graphs=self.cuda_graphs, precision=self.precision)

    def build(self, config: TrackerConfig | None = None) -> SiamRPNTracker:
        """A tracker with ``config`` (default: :meth:`config`)."""
        return SiamRPNTracker(self.build_engine(), config or self.config())


def add_model_options(p: argparse.ArgumentParser, default_preset: str = DEFAULT_PRESET) -> None:
    """``--preset``, ``--weights``, ``--random-weights``."""
    p.add_argument("--preset", default=default_preset, choices=sorted(PRESETS),
                   help=f"network and hyperparameters (default {default_preset}; see `siamrpnpp presets`)")
    p.add_argument("--weights", help="pysot/mmtracking .pth or .safetensors (default: the shipped demonstration "
                                     "weights for the siamrpn_mobilev2_l5* and AlexNet presets, seeded random weights "
                                     "for the others)")
    p.add_argument("--random-weights", action="store_true", dest="random_init",
                   help="seeded random weights, for any preset (demos and tests: tracks nothing meaningful)")


def add_tracker_options(p: argparse.ArgumentParser, hyperparameters: bool = True) -> None:
    """Every tracker option; ``hyperparameters=False`` leaves ``--penalty-k/--window-influence/--lr`` to
    the caller (``eval search`` reads them as lists to search)."""
    add_model_options(p)
    p.add_argument("--hparams", choices=sorted(HYPERPARAMETERS),
                   help="named benchmark hyperparameters (penalty_k, window_influence, lr) instead of the preset's")
    if hyperparameters:
        for name in HYPERPARAMETER_OPTIONS:
            p.add_argument(f"--{name.replace('_', '-')}", type=float, help=f"override {name}")
    p.add_argument("--colour-weight", type=float,
                   help="share of the target's colour model in each proposal's score (0: the authors' tracker)")
    p.add_argument("--colour-min-similarity", type=float,
                   help="report lost when the tracked box's colours are less similar than this (0-1) to the target's")
    p.add_argument("--long-term", action="store_true", help="long-term mode: enlarge the search region when lost")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--half", action="store_true", help="float16 inference (CUDA only)")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="inference backend (default auto: onnxruntime on the CPU, torch on CUDA)")
    p.add_argument("--cuda-graphs", action="store_true", help="replay the per-frame step as a CUDA graph")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help="CPU arithmetic (default fp32, exact): bf16, int8 (calibrated on real video), or auto "
                        "(bf16, else int8, where this CPU has units for it, else fp32; the choice is logged)")


def tracker_options(args: argparse.Namespace) -> TrackerOptions:
    """The options parsed by :func:`add_tracker_options`."""
    overrides = {name: getattr(args, name) for name in HYPERPARAMETER_OPTIONS + COLOUR_OPTIONS
                 if getattr(args, name, None) is not None}
    if args.long_term:
        overrides["long_term"] = True
    return TrackerOptions(preset=args.preset, weights=args.weights, random_init=args.random_init,
                          hparams=args.hparams, overrides=tuple(overrides.items()), device=args.device,
                          half=args.half, backend=args.backend, cuda_graphs=args.cuda_graphs,
                          precision=args.precision)
