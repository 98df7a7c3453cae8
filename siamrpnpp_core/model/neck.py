"""Layer-wise aggregation inputs: 1x1 adjust layers to a common width, template cropped to its centre."""
from __future__ import annotations

import torch
from torch import nn


def crop_center(x: torch.Tensor, size: int) -> torch.Tensor:
    """The centre ``size`` x ``size`` cells of a feature map (pysot's template crop)."""
    left = (x.size(3) - size) // 2
    return x[:, :, left:left + size, left:left + size]


class AdjustLayer(nn.Module):
    """1x1 conv + BN; maps narrower than 20 (template features) keep their centre ``center_size`` square."""

    def __init__(self, in_channels: int, out_channels: int, center_size: int = 7):
        super().__init__()
        self.downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.center_size = center_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        return crop_center(x, self.center_size) if x.size(3) < 20 else x


class AdjustAllLayer(nn.Module):
    """One ``AdjustLayer`` per backbone level, named ``downsample2``, ``downsample3``, ..."""

    def __init__(self, in_channels, out_channels, center_size: int = 7):
        super().__init__()
        self.levels = len(out_channels)
        for i, (cin, cout) in enumerate(zip(in_channels, out_channels)):
            self.add_module(f"downsample{i + 2}", AdjustLayer(cin, cout, center_size))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [getattr(self, f"downsample{i + 2}")(f) for i, f in enumerate(features)]
