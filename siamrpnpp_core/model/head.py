"""Depthwise cross-correlation RPN heads and their learned fusion (the paper's Sec. 3.3-3.4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def xcorr_depthwise(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlate each channel of ``search`` (B, C, H, W) with the same channel of ``kernel`` (B, C, h, w)."""
    batch, channels = kernel.shape[:2]
    x = search.reshape(1, batch * channels, search.size(2), search.size(3))
    k = kernel.reshape(batch * channels, 1, kernel.size(2), kernel.size(3))
    out = F.conv2d(x, k, groups=batch * channels)
    return out.reshape(batch, channels, out.size(2), out.size(3))


def _conv_bn_relu(cin: int, cout: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel_size, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DepthwiseXCorr(nn.Module):
    """conv_kernel(z) and conv_search(x), depthwise correlation, then a 1x1 head to ``out_channels``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.conv_kernel = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.conv_search = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.head = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel_size=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, kernel_size=1),
        )

    def forward(self, kernel: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        return self.head(xcorr_depthwise(self.conv_search(search), self.conv_kernel(kernel)))


class DepthwiseRPN(nn.Module):
    """Classification (2A channels: A background then A foreground) and regression (4A) branches."""

    def __init__(self, anchor_num: int = 5, in_channels: int = 256, hidden: int = 256):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, hidden, 2 * anchor_num)
        self.loc = DepthwiseXCorr(in_channels, hidden, 4 * anchor_num)

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls(z_f, x_f), self.loc(z_f, x_f)


class MultiRPN(nn.Module):
    """One ``DepthwiseRPN`` per level (``rpn2``, ``rpn3``, ...), fused by softmax weights or a plain mean."""

    def __init__(self, anchor_num: int, in_channels, weighted: bool = True):
        super().__init__()
        self.weighted = weighted
        for i, channels in enumerate(in_channels):
            self.add_module(f"rpn{i + 2}", DepthwiseRPN(anchor_num, channels, channels))
        if weighted:
            self.cls_weight = nn.Parameter(torch.ones(len(in_channels)))
            self.loc_weight = nn.Parameter(torch.ones(len(in_channels)))

    def forward(self, z_fs, x_fs) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = [getattr(self, f"rpn{i + 2}")(z, x) for i, (z, x) in enumerate(zip(z_fs, x_fs))]
        cls = [c for c, _ in outputs]
        loc = [l for _, l in outputs]
        if not self.weighted:
            return sum(cls) / len(cls), sum(loc) / len(loc)
        return _weighted_sum(cls, F.softmax(self.cls_weight, 0)), _weighted_sum(loc, F.softmax(self.loc_weight, 0))


def _weighted_sum(maps: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    total = 0
    for i, m in enumerate(maps):
        total = total + m * weights[i]
    return total
