"""Box formats and their conversions, and the one IoU used by tracking, training and evaluation.

Formats (last axis of an array, or four scalars):

- ``xywh``: top-left corner and size, the format of result files and of the user's boxes;
- ``cxcywh``: centre and size, the tracker's state and the anchors';
- ``xyxy``: top-left and bottom-right corners, the training targets'.

Sizes carry no +1. Where the centre of an ``xywh`` box is taken, the rule is explicit: ``"pixel"``
(``x + (w - 1) / 2``, pysot and every evaluation toolkit) or ``"continuous"`` (``x + w / 2``, mmtracking).
"""
from __future__ import annotations

import numpy as np

CENTRE_RULES = ("pixel", "continuous")
FORMATS = ("xywh", "xyxy")


def _columns(boxes):
    return np.moveaxis(np.asarray(boxes, dtype=np.float64), -1, 0)


def xyxy_to_cxcywh(boxes) -> np.ndarray:
    """``(..., 4)`` corners to centre and size, float64."""
    x1, y1, x2, y2 = _columns(boxes)
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=-1)


def xywh_to_xyxy(boxes) -> np.ndarray:
    """``(..., 4)`` top-left corner and size to corners, float64."""
    x, y, w, h = _columns(boxes)
    return np.stack([x, y, x + w, y + h], axis=-1)


def cxcywh_to_xyxy(boxes) -> np.ndarray:
    """``(..., 4)`` centre and size to corners, float64."""
    cx, cy, w, h = _columns(boxes)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def xywh_centre(x, y, w, h, rule: str = "pixel"):
    """Centre ``(cx, cy)`` of a top-left-and-size box by ``rule`` (see the module docstring)."""
    if rule not in CENTRE_RULES:
        raise ValueError(f"centre rule must be one of {CENTRE_RULES}, got {rule!r}")
    offset = 1.0 if rule == "pixel" else 0.0
    return x + (w - offset) / 2, y + (h - offset) / 2


def cxcywh_to_xywh(cx, cy, w, h):
    """Centre and size to the top-left corner and size the tracker reports: ``(cx - w/2, cy - h/2, w, h)``."""
    return cx - w / 2, cy - h / 2, w, h


def iou(a, b, *, fmt: str = "xywh", eps: float = 0.0) -> np.ndarray:
    """Intersection over union of boxes ``a`` and ``b`` (``(..., 4)``, broadcast against each other).

    ``inter / (area_a + area_b - inter + eps)`` with continuous areas (no +1 on sizes), clipped to
    [0, 1]; areas are ``w * h`` for ``xywh`` and ``(x2 - x1) * (y2 - y1)`` for ``xyxy``. NaN gives NaN.
    """
    if fmt not in FORMATS:
        raise ValueError(f"box format must be one of {FORMATS}, got {fmt!r}")
    ax, ay, ac, ad = _columns(a)
    bx, by, bc, bd = _columns(b)
    if fmt == "xywh":
        ax2, ay2, bx2, by2 = ax + ac, ay + ad, bx + bc, by + bd
        area_a, area_b = ac * ad, bc * bd
    else:
        ax2, ay2, bx2, by2 = ac, ad, bc, bd
        area_a, area_b = (ac - ax) * (ad - ay), (bc - bx) * (bd - by)
    inter_w = np.maximum(np.minimum(ax2, bx2) - np.maximum(ax, bx), 0)
    inter_h = np.maximum(np.minimum(ay2, by2) - np.maximum(ay, by), 0)
    inter = inter_w * inter_h
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(inter / (area_a + area_b - inter + eps), 0.0, 1.0)
