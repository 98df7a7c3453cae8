"""The SiamRPN training loss: balanced cross-entropy over selected anchors plus weighted L1 regression.

``cls`` = 0.5 * mean NLL over positive anchors + 0.5 * mean NLL over negative anchors; ``loc`` = sum of
|pred - target| over the 4 coordinates times the anchors' weights (1 / positives of the pair), divided
by the batch size; ``total = cls_weight * cls + loc_weight * loc``. The means' denominators (counts of
positives, negatives and pairs) can be given, so that split batches (gradient accumulation or
several processes) sum to exactly the loss of the whole batch.

With ``hard_negatives`` = k > 0 (online hard-negative mining, not in the authors' recipe), ``cls`` gains
``hard_weight`` (0.5 by default) * the mean background NLL of each pair's k negative or candidate anchors
(labels 0 and ``targets.HARD_CANDIDATE``) with the highest foreground score.

A class with no anchor adds nothing (the authors' mean over an empty selection is NaN). With
``single_anchor="drop"`` (the authors'), a class with exactly one anchor adds nothing either: their
index list of a single anchor is squeezed to a 0-d tensor, which their code reads as "no selection"
and answers with 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .targets import HARD_CANDIDATE


@dataclass(frozen=True)
class Normalizer:
    """Denominators of the loss: positive anchors, negative anchors and pairs in the whole batch."""

    positives: float
    negatives: float
    pairs: float

    @classmethod
    def of(cls, labels: torch.Tensor) -> "Normalizer":
        return cls(float((labels == 1).sum()), float((labels == 0).sum()), float(labels.shape[0]))


def log_probabilities(cls: torch.Tensor) -> torch.Tensor:
    """(B, 2A, S, S) logits to (B, 2, A, S, S) log-probabilities (background, foreground)."""
    b, c, h, w = cls.shape
    return F.log_softmax(cls.float().view(b, 2, c // 2, h, w), dim=1)


def classification_sums(logp: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed NLL over positive and over negative anchors; ``logp`` of :func:`log_probabilities`, ``labels``
    (B, A, S, S) in {-1, 0, 1} (other values are ignored)."""
    zero = logp.new_zeros(())
    pos = -torch.where(labels == 1, logp[:, 1], zero).sum()
    neg = -torch.where(labels == 0, logp[:, 0], zero).sum()
    return pos, neg


def hard_negative_sum(logp: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Summed background NLL of each pair's ``k`` highest-scored anchors labelled 0 or ``HARD_CANDIDATE``
    (all of them where a pair has fewer); ``logp`` of :func:`log_probabilities`."""
    b = logp.shape[0]
    candidate = ((labels == 0) | (labels == HARD_CANDIDATE)).view(b, -1)
    foreground = logp[:, 1].reshape(b, -1).detach().masked_fill(~candidate, -math.inf)
    top = foreground.topk(min(k, foreground.shape[1]), dim=1)
    nll = -logp[:, 0].reshape(b, -1).gather(1, top.indices)
    return torch.where(torch.isfinite(top.values), nll, nll.new_zeros(())).sum()


def regression_sum(loc: torch.Tensor, delta: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Sum over anchors of ``weight * |loc - delta|_1``; loc (B, 4A, S, S), delta (B, 4, A, S, S)."""
    b, c, h, w = loc.shape
    diff = (loc.float().view(b, 4, c // 4, h, w) - delta).abs().sum(dim=1)
    return (diff * weight).sum()


def siamrpn_loss(cls: torch.Tensor, loc: torch.Tensor, labels: torch.Tensor, delta: torch.Tensor,
                 weight: torch.Tensor, norm: Normalizer | None = None, cls_weight: float = 1.0,
                 loc_weight: float = 1.2, single_anchor: str = "drop",
                 hard_negatives: int = 0, hard_weight: float = 0.5) -> dict[str, torch.Tensor]:
    """``{"total", "cls", "loc"}`` for one (part of a) batch; ``norm`` defaults to this batch's counts;
    ``single_anchor``: ``"drop"`` or ``"count"``; ``hard_negatives``, ``hard_weight``: k and its factor of
    the module docstring."""
    if single_anchor not in ("drop", "count"):
        raise ValueError(f"single_anchor must be 'drop' or 'count', got {single_anchor!r}")
    norm = norm or Normalizer.of(labels)
    least = 2 if single_anchor == "drop" else 1
    logp = log_probabilities(cls)
    pos, neg = classification_sums(logp, labels)
    zero = cls.new_zeros((), dtype=torch.float32)
    cls_loss = (0.5 * pos / norm.positives if norm.positives >= least else zero) + \
               (0.5 * neg / norm.negatives if norm.negatives >= least else zero)
    if hard_negatives > 0:
        hard = hard_negative_sum(logp, labels, hard_negatives)
        cls_loss = cls_loss + hard_weight * hard / (hard_negatives * norm.pairs)
    loc_loss = regression_sum(loc, delta, weight) / norm.pairs
    return {"total": cls_weight * cls_loss + loc_weight * loc_loss, "cls": cls_loss, "loc": loc_loss}
