"""The release's AlexNet backbone (pysot ``AlexNetLegacy``): one ``features`` Sequential, no padding.

Module positions inside ``features`` match the model-zoo keys ``backbone.features.{index}.*``; the
stages ``layer1``..``layer5`` name groups of those positions for freezing and per-layer learning rates.
"""
from __future__ import annotations

import torch
from torch import nn

CHANNELS = (96, 256, 384, 384, 256)
# Positions in ``features`` of each stage (conv, BN, [pool], [ReLU]).
STAGES = {"layer1": (0, 1, 2, 3), "layer2": (4, 5, 6, 7), "layer3": (8, 9, 10), "layer4": (11, 12, 13),
          "layer5": (14, 15)}


def alexnet_channels(width_mult: float = 1.0) -> tuple[int, ...]:
    """Output channels of the five convolutions for a width multiplier."""
    return tuple(int(c * width_mult) for c in CHANNELS)


class AlexNet(nn.Module):
    """conv11/2-BN-pool-ReLU, conv5-BN-pool-ReLU, conv3-BN-ReLU x2, conv3-BN; stride 8, 256 channels."""

    def __init__(self, width_mult: float = 1.0):
        super().__init__()
        c1, c2, c3, c4, c5 = alexnet_channels(width_mult)
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, kernel_size=11, stride=2), nn.BatchNorm2d(c1),
            nn.MaxPool2d(kernel_size=3, stride=2), nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, kernel_size=5), nn.BatchNorm2d(c2),
            nn.MaxPool2d(kernel_size=3, stride=2), nn.ReLU(inplace=True),
            nn.Conv2d(c2, c3, kernel_size=3), nn.BatchNorm2d(c3), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3), nn.BatchNorm2d(c4), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3), nn.BatchNorm2d(c5),
        )
        self.out_channels = c5

    def stage(self, name: str) -> list[nn.Module]:
        """The modules of stage ``layer1``..``layer5``."""
        if name not in STAGES:
            raise ValueError(f"AlexNet has no stage {name!r}; stages: {', '.join(STAGES)}")
        return [self.features[i] for i in STAGES[name]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
