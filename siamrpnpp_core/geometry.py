"""Pure geometry of the SiamRPN tracker: anchors, cosine window, crops, box decoding, penalties.

Every function reproduces the authors' release (pysot) arithmetic, dtypes included, so that boxes
match it to the last pixel; ``weights_format="mmtracking"`` variants follow mmtracking where it
differs. Boxes are ``(cx, cy, w, h)`` unless a name says otherwise (formats: :mod:`siamrpnpp_core.boxes`).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .config import PYSOT, WEIGHTS_FORMATS

# mmdet's DeltaXYWHBBoxCoder clamps dw, dh to |log(16 / 1000)| (wh_ratio_clip 0.016).
MMTRACKING_MAX_DELTA = abs(math.log(0.016))


def anchor_shapes(stride: int, ratios, scales, weights_format: str = PYSOT) -> np.ndarray:
    """Widths and heights ``(A, 2)`` of the base anchors, ratio-major then scale.

    pysot: ``w = int(sqrt(stride^2 / r))``, ``h = int(w * r)``; mmtracking (mmdet):
    ``w = int(stride / sqrt(r))``, ``h = int(stride * sqrt(r))``; both then times the scale.
    """
    if weights_format not in WEIGHTS_FORMATS:
        raise ValueError(f"weights_format must be one of {WEIGHTS_FORMATS}, got {weights_format!r}")
    shapes = []
    for r in ratios:
        if weights_format == PYSOT:
            ws = int(math.sqrt(stride * stride * 1.0 / r))
            hs = int(ws * r)
        else:
            ws = int(stride / math.sqrt(r))
            hs = int(stride * math.sqrt(r))
        shapes.extend((ws * s, hs * s) for s in scales)
    return np.asarray(shapes, dtype=np.float32)


def generate_anchors(shapes: np.ndarray, score_size: int, stride: int, origin: float | None = None) -> np.ndarray:
    """All anchors ``(A * S * S, 4)`` float32 as ``(cx, cy, w, h)`` relative to the search-region centre.

    Anchor-major order (index ``a * S * S + y * S + x``), the layout of the network's output maps.
    Centres lie on ``origin + stride * i``; pysot's default origin is ``-(S // 2) * stride``.
    """
    if origin is None:
        origin = -(score_size // 2) * stride
    grid = origin + stride * np.arange(score_size)
    xx, yy = np.meshgrid(grid, grid)
    num = len(shapes)
    anchors = np.zeros((num, score_size * score_size, 4), dtype=np.float32)
    anchors[:, :, 0] = xx.reshape(-1).astype(np.float32)
    anchors[:, :, 1] = yy.reshape(-1).astype(np.float32)
    anchors[:, :, 2:] = shapes[:, None, :]
    return anchors.reshape(-1, 4)


def cosine_window(score_size: int, anchor_num: int) -> np.ndarray:
    """Hanning window over the score map, tiled over anchors (float64, anchor-major)."""
    hanning = np.hanning(score_size)
    return np.tile(np.outer(hanning, hanning).reshape(-1), anchor_num)


def context_size(w, h, context_amount: float):
    """Side of the square context region around a ``w x h`` target: ``sqrt((w+p)(h+p))``, ``p = a(w+h)``."""
    pad = context_amount * (w + h)
    return np.sqrt((w + pad) * (h + pad))


def crop_origin(center: float, size: int) -> int:
    """pysot's first pixel of a ``size``-wide crop centred on ``center``: ``floor(c - (size+1)/2 + 0.5)``."""
    return int(np.floor(center - (size + 1) / 2 + 0.5))


def get_subwindow(image: np.ndarray, center, out_size: int, crop_size: int, fill) -> np.ndarray:
    """Square ``crop_size`` patch around ``center`` resized to ``out_size`` (pysot ``get_subwindow``).

    Pixels outside the image take ``fill`` (the channel average, truncated to uint8 as in pysot).
    Only the region of interest is copied; the result is a ``(out_size, out_size, C)`` uint8 array.
    """
    size = max(int(crop_size), 1)
    height, width = image.shape[:2]
    x0, y0 = crop_origin(center[0], size), crop_origin(center[1], size)
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + size, width), min(y0 + size, height)
    if (ix0, iy0, ix1, iy1) == (x0, y0, x0 + size, y0 + size):
        patch = image[y0:y0 + size, x0:x0 + size]
    else:
        patch = np.empty((size, size, image.shape[2]), dtype=np.uint8)
        patch[:] = np.asarray(fill).astype(np.uint8)
        if ix1 > ix0 and iy1 > iy0:
            patch[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = image[iy0:iy1, ix0:ix1]
    if out_size != size:
        patch = cv2.resize(patch, (out_size, out_size))
    return patch


def get_subwindow_mmtracking(image: np.ndarray, center, out_size: int, crop_size: int, fill) -> np.ndarray:
    """mmtracking's crop, as a float32 ``(out_size, out_size, C)`` array.

    Corners ``int(c -/+ size/2)`` (truncation toward zero), both inclusive except where the window runs
    past the right/bottom edge, float channel-average padding, bilinear resize without antialiasing.
    """
    height, width = image.shape[:2]
    x0, x1 = int(center[0] - crop_size / 2), int(center[0] + crop_size / 2)
    y0, y1 = int(center[1] - crop_size / 2), int(center[1] + crop_size / 2)
    x1, y1 = (x1 if x1 < width else x1 - 1), (y1 if y1 < height else y1 - 1)
    patch = np.empty((max(y1 - y0 + 1, 1), max(x1 - x0 + 1, 1), image.shape[2]), dtype=np.float32)
    patch[:] = np.asarray(fill, dtype=np.float32)
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1 + 1, width), min(y1 + 1, height)
    if ix1 > ix0 and iy1 > iy0:
        patch[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = image[iy0:iy1, ix0:ix1]
    tensor = torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)))[None]
    resized = F.interpolate(tensor, size=(out_size, out_size), mode="bilinear", align_corners=False)
    return resized[0].permute(1, 2, 0).numpy()


def decode_boxes(deltas: np.ndarray, anchors: np.ndarray, max_delta: float | None = None) -> np.ndarray:
    """Apply regression ``(4, N)`` = (dx, dy, dw, dh) to anchors ``(N, 4)``; returns ``(4, N)`` cx, cy, w, h.

    ``max_delta`` clamps dw and dh first (mmtracking); pysot does not clamp.
    """
    if max_delta is not None:
        deltas = np.concatenate([deltas[:2], np.clip(deltas[2:], -max_delta, max_delta)])
    boxes = np.empty_like(deltas)
    boxes[0] = deltas[0] * anchors[:, 2] + anchors[:, 0]
    boxes[1] = deltas[1] * anchors[:, 3] + anchors[:, 1]
    boxes[2] = np.exp(deltas[2]) * anchors[:, 2]
    boxes[3] = np.exp(deltas[3]) * anchors[:, 3]
    return boxes


def change(ratio):
    """Symmetric change ``max(r, 1/r)``."""
    return np.maximum(ratio, 1.0 / ratio)


def padded_size(w, h):
    """Equivalent square side of a box with half-perimeter padding: ``sqrt((w+p)(h+p))``, ``p = (w+h)/2``."""
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def scale_ratio_penalty(pred_w, pred_h, prev_size, scale_z: float, penalty_k: float):
    """The paper's scale and aspect-ratio change penalty ``exp(-(r_c * s_c - 1) * k)``.

    ``pred_w/h`` are in search-crop pixels; ``prev_size`` is the previous (w, h) in image pixels,
    brought to the crop scale by ``scale_z``.
    """
    s_c = change(padded_size(pred_w, pred_h) / padded_size(prev_size[0] * scale_z, prev_size[1] * scale_z))
    r_c = change((prev_size[0] / prev_size[1]) / (pred_w / pred_h))
    return np.exp(-(r_c * s_c - 1) * penalty_k)


def clip_box(cx, cy, w, h, image_shape, min_size: float = 10):
    """Keep the centre inside the image and the size within ``[min_size, image side]``."""
    height, width = image_shape[:2]
    return (
        max(0, min(cx, width)),
        max(0, min(cy, height)),
        max(min_size, min(w, width)),
        max(min_size, min(h, height)),
    )

