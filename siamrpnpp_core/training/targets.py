"""Anchor targets: which anchors are positive/negative for a search crop and their regression deltas.

Positive: IoU with the target > ``thr_high`` (at most ``pos_num``); negative: IoU < ``thr_low`` (at most
``total_num - pos_num``). For a negative pair (the search crop shows another object) only anchors in the
7x7 cells around where the template's target would be are negatives (at most ``neg_num``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import TrackerConfig
from ..geometry import anchor_shapes, generate_anchors


def corners_to_center(boxes: np.ndarray) -> np.ndarray:
    """``(..., 4)`` corners to ``(cx, cy, w, h)``."""
    x1, y1, x2, y2 = np.moveaxis(np.asarray(boxes, dtype=np.float64), -1, 0)
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=-1)


def center_to_corners(boxes: np.ndarray) -> np.ndarray:
    """``(..., 4)`` ``(cx, cy, w, h)`` to corners."""
    cx, cy, w, h = np.moveaxis(np.asarray(boxes, dtype=np.float64), -1, 0)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def box_iou(boxes: np.ndarray, box) -> np.ndarray:
    """IoU of each corner box in ``boxes (N, 4)`` with one corner box (continuous areas, no +1)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    ix1 = np.maximum(boxes[:, 0], box[0])
    iy1 = np.maximum(boxes[:, 1], box[1])
    ix2 = np.minimum(boxes[:, 2], box[2])
    iy2 = np.minimum(boxes[:, 3], box[3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    target = (box[2] - box[0]) * (box[3] - box[1])
    return inter / (area + target - inter)


@dataclass(frozen=True)
class TargetConfig:
    thr_high: float = 0.6
    thr_low: float = 0.3
    pos_num: int = 16
    total_num: int = 64
    neg_num: int = 16


class AnchorTarget:
    """Labels for a ``search_size`` crop whose score map is ``output_size`` cells of ``stride`` pixels."""

    def __init__(self, tracker: TrackerConfig, search_size: int, output_size: int,
                 config: TargetConfig = TargetConfig()):
        self.config = config
        self.search_size = search_size
        self.size = output_size
        self.stride = tracker.stride
        shapes = anchor_shapes(tracker.stride, tracker.ratios, tracker.scales, tracker.convention)
        self.anchor_num = len(shapes)
        origin = search_size // 2 - (output_size // 2) * tracker.stride
        centers = generate_anchors(shapes, output_size, tracker.stride, origin).astype(np.float64)
        self.centers = centers  # (A*S*S, 4) cx, cy, w, h; anchor-major
        self.corners = center_to_corners(centers)

    def projected_cell(self, box) -> tuple[int, int]:
        """The score-map cell (x, y) nearest to the centre of ``box`` (corners in search-crop pixels),
        kept inside the map. (pysot's ``ceil(d + 0.5)`` lands one cell right of/below the nearest.)"""
        half, last = self.search_size // 2, self.size - 1
        cell = [self.size // 2 + int(np.floor((c - half) / self.stride + 0.5))
                for c in ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)]
        return min(max(cell[0], 0), last), min(max(cell[1], 0), last)

    def __call__(self, box, negative: bool, rng: np.random.Generator):
        """``cls (A, S, S)`` int64 (1 positive, 0 negative, -1 ignored), ``delta (4, A, S, S)`` float32
        and ``delta_weight (A, S, S)`` float32 (1 / number of positives on positives)."""
        a, s, cfg = self.anchor_num, self.size, self.config
        cls = np.full(a * s * s, -1, dtype=np.int64)
        delta = np.zeros((4, a * s * s), dtype=np.float32)
        weight = np.zeros(a * s * s, dtype=np.float32)
        if negative:
            cx, cy = self.projected_cell(box)
            cells = np.zeros((a, s, s), dtype=bool)
            cells[:, max(0, cy - 3):min(s, cy + 4), max(0, cx - 3):min(s, cx + 4)] = True
            cls[_select(np.flatnonzero(cells.reshape(-1)), cfg.neg_num, rng)] = 0
            return cls.reshape(a, s, s), delta.reshape(4, a, s, s), weight.reshape(a, s, s)
        tcx, tcy, tw, th = corners_to_center(np.asarray(box, dtype=np.float64))
        c = self.centers
        delta[0] = (tcx - c[:, 0]) / c[:, 2]
        delta[1] = (tcy - c[:, 1]) / c[:, 3]
        delta[2] = np.log(tw / c[:, 2])
        delta[3] = np.log(th / c[:, 3])
        overlap = box_iou(self.corners, box)
        pos = _select(np.flatnonzero(overlap > cfg.thr_high), cfg.pos_num, rng)
        neg = _select(np.flatnonzero(overlap < cfg.thr_low), cfg.total_num - cfg.pos_num, rng)
        cls[pos] = 1
        weight[pos] = 1.0 / (len(pos) + 1e-6)
        cls[neg] = 0
        return cls.reshape(a, s, s), delta.reshape(4, a, s, s), weight.reshape(a, s, s)


def _select(indices: np.ndarray, keep: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``keep`` of ``indices``, drawn without replacement."""
    if len(indices) <= keep:
        return indices
    return rng.choice(indices, size=keep, replace=False)
