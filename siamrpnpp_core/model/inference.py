"""The network in inference form: BatchNorm folded, template kernels computed once, branches merged.

``TemplateBranch(z)`` returns, per feature level, the correlation kernels of the classification and
regression branches concatenated on channels (``conv_kernel`` applied once at init, as the paper's
Sec. 3.3 allows). ``SearchBranch(x, *kernels)`` returns (cls, loc) for a batch of search crops with
one kernel set per crop. Both are plain tensor programs that export to ONNX. The arithmetic is the
eager model's up to float rounding.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.fx.experimental.optimization import fuse
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .head import DepthwiseRPN, DepthwiseXCorr, xcorr_depthwise
from .neck import crop_center
from .siamrpn import SiamRPN


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An eval-mode copy of ``module`` with each Conv2d followed by BatchNorm2d folded into one conv."""
    return fuse(copy.deepcopy(module).eval(), inplace=True)


def fold_sequential(block: nn.Sequential) -> nn.Sequential:
    """Copy of a Sequential with each Conv2d -> BatchNorm2d pair replaced by one biased conv."""
    layers = list(block.children())
    out = []
    for layer in layers:
        if isinstance(layer, nn.BatchNorm2d) and out and isinstance(out[-1], nn.Conv2d):
            out[-1] = fuse_conv_bn_eval(out[-1].eval(), layer.eval())
        else:
            out.append(copy.deepcopy(layer))
    return nn.Sequential(*out)


def xcorr_depthwise_unrolled(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``xcorr_depthwise`` as a sum of shifted products: elementwise ops only, any batch size.

    This form has no convolution with a runtime kernel, which TensorRT and other compilers accept.
    """
    kh, kw = kernel.shape[2], kernel.shape[3]
    out_h, out_w = search.shape[2] - kh + 1, search.shape[3] - kw + 1
    out = None
    for i in range(kh):
        for j in range(kw):
            term = search[:, :, i:i + out_h, j:j + out_w] * kernel[:, :, i:i + 1, j:j + 1]
            out = term if out is None else out + term
    return out


def _merged_conv(first: nn.Sequential, second: nn.Sequential) -> nn.Conv2d:
    """One conv computing both folded conv+BN blocks (outputs of ``first`` then ``second``)."""
    a, b = fold_sequential(first)[0], fold_sequential(second)[0]
    merged = nn.Conv2d(a.in_channels, a.out_channels + b.out_channels, a.kernel_size, bias=True)
    merged.weight.data = torch.cat([a.weight.data, b.weight.data])
    merged.bias.data = torch.cat([a.bias.data, b.bias.data])
    return merged


def _scaled_head(head: nn.Sequential, weight: float) -> nn.Sequential:
    """Folded 1x1 head whose output is multiplied by the level's fusion ``weight``."""
    folded = fold_sequential(head)
    last = folded[-1]
    last.weight.data *= weight
    last.bias.data *= weight
    return folded


class LevelHead(nn.Module):
    """One level's RPN in inference form: merged search conv, correlation, cls and loc heads."""

    def __init__(self, rpn: DepthwiseRPN, cls_weight: float = 1.0, loc_weight: float = 1.0,
                 unrolled_xcorr: bool = False):
        super().__init__()
        self.hidden = rpn.cls.conv_search[0].out_channels
        self.conv_kernel = _merged_conv(rpn.cls.conv_kernel, rpn.loc.conv_kernel)
        self.conv_search = _merged_conv(rpn.cls.conv_search, rpn.loc.conv_search)
        self.cls_head = _scaled_head(rpn.cls.head, cls_weight)
        self.loc_head = _scaled_head(rpn.loc.head, loc_weight)
        self.xcorr = xcorr_depthwise_unrolled if unrolled_xcorr else xcorr_depthwise

    def kernel(self, z_f: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv_kernel(z_f))

    def forward(self, x_f: torch.Tensor, kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.xcorr(F.relu(self.conv_search(x_f)), kernel)
        return self.cls_head(feature[:, :self.hidden]), self.loc_head(feature[:, self.hidden:])


def rpn_levels(model: SiamRPN) -> list[DepthwiseRPN]:
    """The model's depthwise RPN blocks, one per feature level, in level order."""
    head = model.rpn_head
    if isinstance(head, DepthwiseRPN):
        return [head]
    return [getattr(head, f"rpn{i + 2}") for i in range(len(model.config.neck_out_channels))]


def _level_heads(model: SiamRPN, unrolled_xcorr: bool) -> nn.ModuleList:
    levels = rpn_levels(model)
    count = len(levels)
    if isinstance(model.rpn_head, DepthwiseRPN) or not model.rpn_head.weighted:
        cls_w = loc_w = [1.0 / count] * count
    else:
        head = model.rpn_head
        cls_w, loc_w = F.softmax(head.cls_weight.detach(), 0).tolist(), F.softmax(head.loc_weight.detach(), 0).tolist()
    return nn.ModuleList([LevelHead(rpn, c, l, unrolled_xcorr) for rpn, c, l in zip(levels, cls_w, loc_w)])


def template_kernels(model: SiamRPN, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``TemplateBranch``'s kernels computed by the unfolded model itself (nothing to fold or export)."""
    features = model.template(z)
    features = features if isinstance(features, (list, tuple)) else [features]
    return tuple(torch.cat([rpn.cls.conv_kernel(f), rpn.loc.conv_kernel(f)], 1)
                 for rpn, f in zip(rpn_levels(model), features))


class _Features(nn.Module):
    """Folded backbone and neck 1x1 adjust convs; the template keeps its centre square."""

    def __init__(self, model: SiamRPN):
        super().__init__()
        self.backbone = fold_batchnorm(model.backbone)
        self.adjust = None
        self.center_size = model.config.template_center_size
        if model.neck is not None:
            self.adjust = nn.ModuleList([fold_sequential(getattr(model.neck, f"downsample{i + 2}").downsample)
                                         for i in range(model.neck.levels)])

    def forward(self, x: torch.Tensor, center_crop: bool) -> list[torch.Tensor]:
        out = self.backbone(x)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        if self.adjust is None:
            return out
        out = [conv(f) for conv, f in zip(self.adjust, out)]
        if center_crop:  # the template's features keep their centre square, as in AdjustLayer
            out = [crop_center(f, self.center_size) for f in out]
        return out


class InferenceNetwork(nn.Module):
    """Shared folded weights for the two exported programs below."""

    def __init__(self, model: SiamRPN, unrolled_xcorr: bool = False):
        super().__init__()
        first = next(model.parameters())
        if first.device.type != "cpu" or first.dtype != torch.float32:  # fold in float32 on the CPU
            model = copy.deepcopy(model).float().cpu()
        model.eval()
        self.features = _Features(model)
        self.heads = _level_heads(model, unrolled_xcorr)
        self.center_crop = model.neck is not None and model.config.template_center_size > 0


class TemplateBranch(nn.Module):
    """z (N, 3, 127, 127) -> one correlation kernel tensor per level, (N, 2*hidden, k, k)."""

    def __init__(self, network: InferenceNetwork):
        super().__init__()
        self.network = network

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        z_fs = self.network.features(z, self.network.center_crop)
        return tuple(head.kernel(z_f) for head, z_f in zip(self.network.heads, z_fs))


class SearchBranch(nn.Module):
    """x (N, 3, S, S) and per-level kernels (N, ...) -> cls (N, 2A, s, s), loc (N, 4A, s, s)."""

    def __init__(self, network: InferenceNetwork):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor, *kernels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_fs = self.network.features(x, False)
        cls = loc = None
        for head, x_f, kernel in zip(self.network.heads, x_fs, kernels):
            c, l = head(x_f, kernel)
            cls, loc = (c, l) if cls is None else (cls + c, loc + l)
        return cls, loc
