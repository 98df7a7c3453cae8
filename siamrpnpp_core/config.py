"""Explicit, immutable configuration: model architecture, tracker hyperparameters and named presets.

Presets follow the authors' release (pysot ``experiments/*/config.yaml``); there is no global config.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

# Whose conventions a network's weights were trained with (anchor shapes, crop, box centre).
PYSOT, MMTRACKING = "pysot", "mmtracking"
WEIGHTS_FORMATS = (PYSOT, MMTRACKING)
BACKBONES = ("resnet50", "alexnet", "mobilenetv2")


@dataclass(frozen=True)
class ModelConfig:
    """Network architecture: backbone and its levels, adjust (neck) channels and RPN head.

    ``neck_in_channels`` are the backbone's output channels per level; without ``adjust`` (AlexNet)
    they feed the head directly. ``rpn`` is ``"multi"`` (one head per level, ``rpn_head.rpn{k}``) or
    ``"single"`` (one head, ``rpn_head.cls`` / ``rpn_head.loc``).
    """

    backbone: str = "resnet50"
    used_layers: tuple[int, ...] = (2, 3, 4)
    neck_in_channels: tuple[int, ...] = (512, 1024, 2048)
    neck_out_channels: tuple[int, ...] = (256, 256, 256)
    template_center_size: int = 7
    anchor_num: int = 5
    weighted_fusion: bool = True
    width_mult: float = 1.0
    adjust: bool = True
    rpn: str = "multi"

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.rpn not in ("multi", "single"):
            raise ValueError(f"rpn must be 'multi' or 'single', got {self.rpn!r}")
        if self.rpn == "single" and len(self.head_channels) != 1:
            raise ValueError("a single RPN head takes exactly one feature level")

    @property
    def head_channels(self) -> tuple[int, ...]:
        """Channels entering the RPN head(s), per level."""
        return self.neck_out_channels if self.adjust else self.neck_in_channels


@dataclass(frozen=True)
class TrackerConfig:
    """Test-time hyperparameters of the SiamRPN tracker (pysot ``cfg.TRACK`` and ``cfg.ANCHOR``)."""

    penalty_k: float = 0.05
    window_influence: float = 0.42
    lr: float = 0.38
    exemplar_size: int = 127
    instance_size: int = 255
    base_size: int = 8
    context_amount: float = 0.5
    stride: int = 8
    ratios: tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    scales: tuple[float, ...] = (8,)
    # Long-term mode: enlarged search region while lost (pysot SiamRPNLTTracker).
    long_term: bool = False
    lost_instance_size: int = 831
    lost_window_influence: float = 0.001
    # Lost/tracking hysteresis: lost below ``confidence_low``, tracking again above ``confidence_high``.
    confidence_low: float = 0.5
    confidence_high: float = 0.7
    # Colour model (siamrpnpp_core.colour; not in the authors' release, off at 0): the share of the target's
    # colour likelihood in each proposal's score, and the least colour similarity (Bhattacharyya, 0-1) of
    # the tracked box to the first frame's target below which the tracker reports itself lost.
    colour_weight: float = 0.0
    colour_min_similarity: float = 0.0
    colour_bins: int = 16
    # Weights format (WEIGHTS_FORMATS): None follows the loaded model's, as presets do; a named format
    # must equal the model's (SiamRPNTracker raises otherwise).
    weights_format: str | None = None

    def __post_init__(self) -> None:
        if self.weights_format is not None and self.weights_format not in WEIGHTS_FORMATS:
            raise ValueError(f"weights_format must be None or one of {WEIGHTS_FORMATS}, got {self.weights_format!r}")
        if not 0 <= self.window_influence <= 1:
            raise ValueError(f"window_influence must be in [0, 1], got {self.window_influence}")
        if self.lr < 0 or self.penalty_k < 0:
            raise ValueError("lr and penalty_k must be non-negative")
        if not 0 <= self.colour_weight <= 1 or not 0 <= self.colour_min_similarity <= 1:
            raise ValueError("colour_weight and colour_min_similarity must be in [0, 1]")
        if not 2 <= self.colour_bins <= 256:
            raise ValueError(f"colour_bins must be in [2, 256], got {self.colour_bins}")
        if self.confidence_low > self.confidence_high:
            raise ValueError("confidence_low must not exceed confidence_high")

    @property
    def anchor_num(self) -> int:
        return len(self.ratios) * len(self.scales)

    def score_size(self, instance_size: int | None = None) -> int:
        """Side of the output score map for a search region of ``instance_size`` pixels."""
        size = self.instance_size if instance_size is None else instance_size
        return (size - self.exemplar_size) // self.stride + 1 + self.base_size


@dataclass(frozen=True)
class Preset:
    """A named pairing of architecture and tracker hyperparameters."""

    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    description: str = ""


_R50 = ModelConfig()
_ALEX = ModelConfig(backbone="alexnet", used_layers=(5,), neck_in_channels=(256,), neck_out_channels=(256,),
                    weighted_fusion=False, adjust=False, rpn="single")
_MOBILEV2 = ModelConfig(backbone="mobilenetv2", used_layers=(3, 5, 7), neck_in_channels=(44, 134, 448),
                        weighted_fusion=False, width_mult=1.4)

# MobileNetV2 width 1.0 to layer 5 only (stride 8, 96 channels) and a 128-channel head: the light model
# that starts from ImageNet weights (siamrpnpp_core.model.imagenet).
_MOBILEV2_L5 = ModelConfig(backbone="mobilenetv2", used_layers=(5,), neck_in_channels=(96,), neck_out_channels=(128,),
                           weighted_fusion=False, width_mult=1.0)

_MOBILEV2_L5_TRACKER = TrackerConfig(penalty_k=0.04, window_influence=0.4, lr=0.5)  # pysot's MobileNetV2 values
_ALEX_TRACKER = TrackerConfig(penalty_k=0.16, window_influence=0.40, lr=0.30, instance_size=287, base_size=0)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "siamrpn_r50_l234_dwxcorr",
            _R50,
            TrackerConfig(penalty_k=0.05, window_influence=0.42, lr=0.38),
            "ResNet-50 layers 2-4, weighted fusion, VOT hyperparameters (the paper's main model)",
        ),
        Preset(
            "siamrpn_r50_l234_dwxcorr_otb",
            replace(_R50, weighted_fusion=False),
            TrackerConfig(penalty_k=0.24, window_influence=0.5, lr=0.25),
            "ResNet-50 layers 2-4, unweighted fusion, OTB hyperparameters",
        ),
        Preset(
            "siamrpn_r50_l234_dwxcorr_lt",
            replace(_R50, neck_out_channels=(128, 256, 512)),
            TrackerConfig(
                penalty_k=0.05,
                window_influence=0.28,
                lr=0.22,
                long_term=True,
                confidence_low=0.8,
                confidence_high=0.998,
            ),
            "ResNet-50 long-term tracker (VOT2018-LT): enlarged search while lost",
        ),
        Preset(
            "siamrpn_alex_dwxcorr",
            _ALEX,
            _ALEX_TRACKER,
            "AlexNet, one depthwise RPN, 287 search region (the release's fastest model; small robots)",
        ),
        Preset(
            "siamrpn_alex_colour",
            _ALEX,
            replace(_ALEX_TRACKER, colour_weight=0.3, colour_min_similarity=0.6),
            "siamrpn_alex_dwxcorr plus a colour model of the target (look-alikes rank lower; a box of other "
            "colours is reported lost); the default, set for the shipped weights",
        ),
        Preset(
            "siamrpn_mobilev2_l234_dwxcorr",
            _MOBILEV2,
            TrackerConfig(penalty_k=0.04, window_influence=0.4, lr=0.5),
            "MobileNetV2 (width 1.4) layers 3/5/7, unweighted fusion (light model for embedded GPUs)",
        ),
        Preset(
            "siamrpn_mobilev2_l5",
            _MOBILEV2_L5,
            _MOBILEV2_L5_TRACKER,
            "MobileNetV2 (width 1.0, ImageNet-initialised) to layer 5, one 128-channel depthwise RPN "
            "(a light model for CPUs)",
        ),
        Preset(
            "siamrpn_mobilev2_l5_colour",
            _MOBILEV2_L5,
            replace(_MOBILEV2_L5_TRACKER, colour_weight=0.2, colour_min_similarity=0.5),
            "siamrpn_mobilev2_l5 plus the colour model of the target; the default, set for the shipped weights",
        ),
    )
}


# The preset used when none is named: its network (and every preset's with the same one) has shipped
# demonstration weights (see builder.SHIPPED_WEIGHTS); its colour settings were chosen for them.
DEFAULT_PRESET = "siamrpn_mobilev2_l5_colour"


def get_preset(name: str | Preset) -> Preset:
    """Return the preset called ``name`` (a ``Preset`` passes through)."""
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}") from None


# Test-time (penalty_k, window_influence, lr) per benchmark, from the pysot and mmtracking configs.
HYPERPARAMETERS: dict[str, tuple[float, float, float]] = {
    "pysot_vot": (0.05, 0.42, 0.38),
    "pysot_otb": (0.24, 0.5, 0.25),
    "pysot_lt": (0.05, 0.28, 0.22),
    "mmtracking_lasot": (0.05, 0.42, 0.38),
    "mmtracking_trackingnet": (0.05, 0.42, 0.38),
    "mmtracking_uav123": (0.1, 0.1, 0.5),
    "mmtracking_otb100": (0.4, 0.5, 0.4),
    "mmtracking_vot2018": (0.04, 0.44, 0.33),
}


def with_hyperparameters(config: TrackerConfig, name: str) -> TrackerConfig:
    """``config`` with the named benchmark's penalty_k, window_influence and lr."""
    try:
        penalty_k, window_influence, lr = HYPERPARAMETERS[name]
    except KeyError:
        raise ValueError(f"unknown hyperparameter set {name!r}; available: {', '.join(HYPERPARAMETERS)}") from None
    return replace(config, penalty_k=penalty_k, window_influence=window_influence, lr=lr)


def tracker_config(preset: str | Preset = DEFAULT_PRESET, hparams: str | None = None,
                   overrides: Mapping[str, object] | None = None) -> TrackerConfig:
    """The one way options become a ``TrackerConfig``: the preset's, then the named hyperparameter
    set (``HYPERPARAMETERS``), then ``overrides`` (field name -> value; unknown names raise ``ValueError``)."""
    config = get_preset(preset).tracker
    if hparams:
        config = with_hyperparameters(config, hparams)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {f.name for f in fields(TrackerConfig)})
    if unknown:
        raise ValueError(f"unknown tracker option(s) {', '.join(unknown)}; TrackerConfig has "
                         f"{', '.join(f.name for f in fields(TrackerConfig))}")
    return replace(config, **overrides) if overrides else config
