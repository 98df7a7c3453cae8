"""The release's MobileNetV2 backbone (width 1.4, dilated later stages, stride 8 overall).

``layer0`` is a 3x3 stride-2 unpadded conv + BN + ReLU6; ``layer1``..``layer7`` are inverted-residual
stages. A stage's first block halves its dilation when the previous stage's differs; depthwise
padding is ``2 - stride`` or the dilation. Only the stages up to the last used one are built. Module
names match the pysot model-zoo keys.
"""
from __future__ import annotations

import torch
from torch import nn

# (expansion t, channels c, repeats n, stride s, dilation d) of layer1..layer7.
SETTINGS = ((1, 16, 1, 1, 1), (6, 24, 2, 2, 1), (6, 32, 3, 2, 1), (6, 64, 4, 1, 2), (6, 96, 3, 1, 2),
            (6, 160, 3, 1, 4), (6, 320, 1, 1, 4))


def mobilenet_channels(width_mult: float = 1.4) -> tuple[int, ...]:
    """Output channels of layer0..layer7."""
    return (int(32 * width_mult),) + tuple(int(c * width_mult) for _, c, _, _, _ in SETTINGS)


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise (strided or dilated) -> 1x1 linear; identity added when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int, dilation: int = 1):
        super().__init__()
        hidden = cin * expansion
        padding = dilation if dilation > 1 else 2 - stride
        self.residual = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, padding, dilation=dilation, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """Backbone returning the outputs of ``used_layers`` (indices among 0..7)."""

    def __init__(self, used_layers=(3, 5, 7), width_mult: float = 1.4):
        super().__init__()
        self.used_layers = tuple(used_layers)
        channels = mobilenet_channels(width_mult)
        self.layer0 = nn.Sequential(nn.Conv2d(3, channels[0], 3, 2, 0, bias=False), nn.BatchNorm2d(channels[0]),
                                    nn.ReLU6(inplace=True))
        self.depth = max(self.used_layers)
        cin, last_dilation = channels[0], 1
        for index, (t, _, n, s, d) in enumerate(SETTINGS[:self.depth], start=1):
            cout = channels[index]
            first_dilation = d if d == last_dilation else max(d // 2, 1)
            blocks = [InvertedResidual(cin, cout, s, t, first_dilation)]
            blocks += [InvertedResidual(cout, cout, 1, t, d) for _ in range(1, n)]
            self.add_module(f"layer{index}", nn.Sequential(*blocks))
            cin, last_dilation = cout, d

    def stage(self, name: str) -> list[nn.Module]:
        return [getattr(self, name)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index in range(self.depth + 1):
            x = getattr(self, f"layer{index}")(x)
            outputs.append(x)
        return [outputs[i] for i in self.used_layers]
