"""The SiamRPN++ network: shared backbone, adjust neck and multi-level depthwise RPN head."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .backbone import ResNet50
from .head import MultiRPN
from .neck import AdjustAllLayer


class SiamRPN(nn.Module):
    """``template(z)`` gives the target's features once; ``track(zf, x)`` gives (cls, loc) per frame.

    cls is (B, 2A, S, S) with channels 0..A-1 background and A..2A-1 foreground; loc is (B, 4A, S, S)
    holding dx, dy, dw, dh blocks of A channels each.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.backbone != "resnet50":
            raise ValueError(f"unsupported backbone {config.backbone!r}")
        self.config = config
        self.backbone = ResNet50(config.used_layers)
        self.neck = AdjustAllLayer(config.neck_in_channels, config.neck_out_channels, config.template_center_size)
        self.rpn_head = MultiRPN(config.anchor_num, config.neck_out_channels, config.weighted_fusion)

    def template(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Features of the 127x127 exemplar crop(s), one tensor per level."""
        return self.neck(self.backbone(z))

    def track(self, zf: list[torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classification and regression maps of search crop(s) ``x`` against template features ``zf``."""
        return self.rpn_head(zf, self.neck(self.backbone(x)))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.track(self.template(z), x)
