"""Anchor targets: which anchors are positive/negative for a search crop and their regression deltas.

Positive: IoU with the target > ``thr_high`` (at most ``pos_num``); negative: IoU < ``thr_low`` (at most
``total_num - pos_num``). For a negative pair (the search crop shows another object) only anchors in the
7x7 cells around where the template's target would be are negatives (at most ``neg_num``); that window
follows the authors' rule exactly, including near the border where it holds fewer cells, or none.

With ``hard_neg_num`` > 0 (not in the authors' recipe), the other anchors of a positive pair with IoU
below ``thr_low`` are labelled ``HARD_CANDIDATE``: the loss adds the ``hard_neg_num`` of them (and of the
sampled negatives) that the network scores highest, e.g. anchors on a look-alike distractor
(``losses.hard_negative_sum``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..boxes import cxcywh_to_xyxy, iou, xyxy_to_cxcywh
from ..config import TrackerConfig
from ..geometry import anchor_shapes, generate_anchors

NEGATIVE_RADIUS = 3  # cells on each side of the projected centre: a 7x7 window
HARD_CANDIDATE = -2  # label of a negative anchor not sampled, a candidate hard negative (else ignored, like -1)


@dataclass(frozen=True)
class TargetConfig:
    """The labelling settings, taken by name from a ``TrainConfig`` (``TrainConfig.target_config()``)."""

    thr_high: float
    thr_low: float
    pos_num: int
    total_num: int
    neg_num: int
    hard_neg_num: int = 0


class AnchorTarget:
    """Labels for a ``search_size`` crop whose score map is ``output_size`` cells of the tracker's stride."""

    def __init__(self, tracker: TrackerConfig, search_size: int, output_size: int, config: TargetConfig):
        self.config = config
        self.search_size = search_size
        self.size = output_size
        self.stride = tracker.stride
        shapes = anchor_shapes(tracker.stride, tracker.ratios, tracker.scales)  # the authors' (pysot) anchors
        self.anchor_num = len(shapes)
        origin = search_size // 2 - (output_size // 2) * tracker.stride
        centers = generate_anchors(shapes, output_size, tracker.stride, origin).astype(np.float64)
        self.centers = centers  # (A*S*S, 4) cx, cy, w, h; anchor-major
        self.corners = cxcywh_to_xyxy(centers)

    def projected_cell(self, box) -> tuple[int, int]:
        """The score-map cell (x, y) of the centre of ``box`` (corners in search-crop pixels) by the
        authors' rule ``S // 2 + ceil(d / stride + 0.5)``, ``d`` the centre's offset from the crop's
        centre pixel; not clamped, so it can lie outside the map. (For ``d`` a multiple of the stride it
        is one cell right of/below the nearest cell.)"""
        half = self.search_size // 2
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return tuple(self.size // 2 + math.ceil((c - half) / self.stride + 0.5) for c in (cx, cy))

    def negative_window(self, box) -> tuple[slice, slice]:
        """(rows, columns) of the 7x7 cells around :meth:`projected_cell`, cut to the map: fewer cells
        near the border, none when the projection lies more than 3 cells outside. (The authors slice
        with the unclamped ``cx + 4`` as end, which wraps around for a projection more than 4 cells left
        of or above the map; no crop jitter of the shipped recipes reaches that case, taken here as empty.)"""
        r = NEGATIVE_RADIUS
        cx, cy = self.projected_cell(box)
        cut = [slice(min(max(c - r, 0), self.size), min(max(c + r + 1, 0), self.size)) for c in (cy, cx)]
        return cut[0], cut[1]

    def __call__(self, box, negative: bool, rng: np.random.Generator):
        """``cls (A, S, S)`` int64 (1 positive, 0 negative, -1 ignored, or ``HARD_CANDIDATE``), ``delta (4, A,
        S, S)`` float32 and ``delta_weight (A, S, S)`` float32 (1 / number of positives on positives)."""
        a, s, cfg = self.anchor_num, self.size, self.config
        cls = np.full(a * s * s, -1, dtype=np.int64)
        delta = np.zeros((4, a * s * s), dtype=np.float32)
        weight = np.zeros(a * s * s, dtype=np.float32)
        if negative:
            rows, columns = self.negative_window(box)
            cells = np.zeros((a, s, s), dtype=bool)
            cells[:, rows, columns] = True
            cls[_select(np.flatnonzero(cells.reshape(-1)), cfg.neg_num, rng)] = 0
            return cls.reshape(a, s, s), delta.reshape(4, a, s, s), weight.reshape(a, s, s)
        tcx, tcy, tw, th = xyxy_to_cxcywh(box)
        c = self.centers
        delta[0] = (tcx - c[:, 0]) / c[:, 2]
        delta[1] = (tcy - c[:, 1]) / c[:, 3]
        delta[2] = np.log(tw / c[:, 2])
        delta[3] = np.log(th / c[:, 3])
        overlap = iou(self.corners, np.asarray(box, dtype=np.float64), fmt="xyxy")
        pos = _select(np.flatnonzero(overlap > cfg.thr_high), cfg.pos_num, rng)
        eligible = np.flatnonzero(overlap < cfg.thr_low)
        neg = _select(eligible, cfg.total_num - cfg.pos_num, rng)
        if cfg.hard_neg_num > 0:
            cls[eligible] = HARD_CANDIDATE
        cls[pos] = 1
        weight[pos] = 1.0 / (len(pos) + 1e-6)
        cls[neg] = 0
        return cls.reshape(a, s, s), delta.reshape(4, a, s, s), weight.reshape(a, s, s)


def _select(indices: np.ndarray, keep: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``keep`` of ``indices``, drawn without replacement."""
    if len(indices) <= keep:
        return indices
    return rng.choice(indices, size=keep, replace=False)
