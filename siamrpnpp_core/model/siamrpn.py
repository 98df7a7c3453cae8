"""The SiamRPN++ network: shared backbone, adjust neck (optional) and depthwise RPN head(s)."""
from __future__ import annotations

import torch
from torch import nn

from ..config import PYSOT, WEIGHTS_FORMATS, ModelConfig
from .alexnet import AlexNet, alexnet_channels
from .resnet import ResNet50
from .head import DepthwiseRPN, MultiRPN
from .mobilenet_v2 import MobileNetV2, mobilenet_channels
from .neck import AdjustAllLayer

RESNET50_CHANNELS = {1: 256, 2: 512, 3: 1024, 4: 2048}


def build_backbone(config: ModelConfig) -> tuple[nn.Module, tuple[int, ...]]:
    """The configured backbone and its output channels per used level."""
    if config.backbone == "resnet50":
        return ResNet50(config.used_layers), tuple(RESNET50_CHANNELS[i] for i in config.used_layers)
    if config.backbone == "alexnet":
        return AlexNet(config.width_mult), alexnet_channels(config.width_mult)[-1:]
    channels = mobilenet_channels(config.width_mult)
    return MobileNetV2(config.used_layers, config.width_mult), tuple(channels[i] for i in config.used_layers)


class SiamRPN(nn.Module):
    """``template(z)`` gives the target's features once; ``track(zf, x)`` gives (cls, loc) per frame.

    cls is (B, 2A, S, S) with channels 0..A-1 background and A..2A-1 foreground; loc is (B, 4A, S, S)
    holding dx, dy, dw, dh blocks of A channels each. ``weights_format`` says whose conventions the
    weights follow (``checkpoint.load_weights`` sets it; a new network is ``PYSOT``); the tracker adopts it.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.weights_format = PYSOT
        self.backbone, channels = build_backbone(config)
        if tuple(config.neck_in_channels) != channels:
            raise ValueError(f"{config.backbone} (width {config.width_mult}) gives {channels} channels, "
                             f"but neck_in_channels is {tuple(config.neck_in_channels)}")
        self.neck = None
        if config.adjust:
            self.neck = AdjustAllLayer(config.neck_in_channels, config.neck_out_channels,
                                       config.template_center_size)
        if config.rpn == "single":
            width = config.head_channels[0]
            self.rpn_head = DepthwiseRPN(config.anchor_num, width, width)
        else:
            self.rpn_head = MultiRPN(config.anchor_num, config.head_channels, config.weighted_fusion)

    @property
    def weights_format(self) -> str:
        return self._weights_format

    @weights_format.setter
    def weights_format(self, value: str) -> None:
        if value not in WEIGHTS_FORMATS:
            raise ValueError(f"weights_format must be one of {WEIGHTS_FORMATS}, got {value!r}")
        self._weights_format = value

    def features(self, x: torch.Tensor):
        """Backbone (and neck) features of image crop(s): a list per level, or one tensor (AlexNet)."""
        out = self.backbone(x)
        return self.neck(out) if self.neck is not None else out

    def template(self, z: torch.Tensor):
        """Features of the 127x127 exemplar crop(s)."""
        return self.features(z)

    def track(self, zf, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classification and regression maps of search crop(s) ``x`` against template features ``zf``."""
        return self.rpn_head(zf, self.features(x))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.track(self.template(z), x)
