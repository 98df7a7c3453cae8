"""ResNet-50 of the authors' release: stride 8 with dilated conv4/conv5 and its padding rules.

Differs from torchvision's: the stem convolution is unpadded, layer2's first block and all
strided/dilated shortcut branches use 3x3 convolutions, and conv4/conv5 keep stride 1 with
dilation 2/4 (halved in each layer's first block). Module names match pysot's state_dict keys.
"""
from __future__ import annotations

import torch
from torch import nn


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided or dilated) -> 1x1 residual block, expansion 4."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1):
        super().__init__()
        padding = 2 - stride
        if downsample is not None and dilation > 1:
            dilation //= 2
        if dilation > 1:
            padding = dilation
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=padding,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _shortcut(inplanes: int, outplanes: int, stride: int, dilation: int) -> nn.Sequential:
    """Projection shortcut: 1x1 for layer1, 3x3 (unpadded if strided, else dilation/2) otherwise."""
    if stride == 1 and dilation == 1:
        conv = nn.Conv2d(inplanes, outplanes, kernel_size=1, bias=False)
    else:
        dil = dilation // 2 if dilation > 1 else 1
        pad = dil if dilation > 1 else 0
        conv = nn.Conv2d(inplanes, outplanes, kernel_size=3, stride=stride, padding=pad, dilation=dil, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(outplanes))


class ResNet50(nn.Module):
    """Backbone returning the outputs of the requested layers (``used_layers`` among 2, 3, 4)."""

    def __init__(self, used_layers=(2, 3, 4), blocks=(3, 4, 6, 3)):
        super().__init__()
        self.used_layers = tuple(used_layers)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self._inplanes = 64
        self.layer1 = self._make_layer(64, blocks[0])
        self.layer2 = self._make_layer(128, blocks[1], stride=2)
        self.layer3 = self._make_layer(256, blocks[2], dilation=2)
        self.layer4 = self._make_layer(512, blocks[3], dilation=4)

    def _make_layer(self, planes: int, count: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        outplanes = planes * Bottleneck.expansion
        shortcut = _shortcut(self._inplanes, outplanes, stride, dilation)
        layers = [Bottleneck(self._inplanes, planes, stride, shortcut, dilation)]
        self._inplanes = outplanes
        layers += [Bottleneck(outplanes, planes, dilation=dilation) for _ in range(1, count)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        p1 = self.layer1(x)
        p2 = self.layer2(p1)
        p3 = self.layer3(p2)
        p4 = self.layer4(p3)
        levels = {1: p1, 2: p2, 3: p3, 4: p4}
        return [levels[i] for i in self.used_layers]
