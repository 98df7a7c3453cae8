"""The loss on known inputs, and exact equality of split and whole batches."""
import math

import numpy as np
import pytest
import torch

from siamrpnpp_core.training.losses import Normalizer, siamrpn_loss


def _maps(batch=2, anchors=5, size=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    cls = torch.randn(batch, 2 * anchors, size, size, generator=g)
    loc = torch.randn(batch, 4 * anchors, size, size, generator=g)
    labels = torch.randint(-1, 2, (batch, anchors, size, size), generator=g)
    delta = torch.randn(batch, 4, anchors, size, size, generator=g)
    weight = (labels == 1).float() / (labels == 1).flatten(1).sum(1).clamp(min=1).view(-1, 1, 1, 1)
    return cls, loc, labels, delta, weight


def test_uniform_logits_give_log_two():
    cls = torch.zeros(1, 10, 2, 2)
    labels = torch.full((1, 5, 2, 2), -1)
    labels[0, 0, 0, 0], labels[0, 1, 1, 1] = 1, 0
    out = siamrpn_loss(cls, torch.zeros(1, 20, 2, 2), labels, torch.zeros(1, 4, 5, 2, 2), torch.zeros(1, 5, 2, 2))
    assert out["cls"].item() == pytest.approx(math.log(2))
    assert out["loc"].item() == 0
    assert out["total"].item() == pytest.approx(math.log(2))


def test_hand_computed_values():
    # one anchor, 1x1 map, two pairs: logits (bg, fg); the layout puts background first
    cls = torch.tensor([[[[0.0]], [[2.0]]], [[[1.0]], [[-1.0]]]])  # (2, 2, 1, 1)
    labels = torch.tensor([[[[1]]], [[[0]]]])
    loc = torch.tensor([[1.0, 2.0, 0.0, -1.0], [5.0, 5.0, 5.0, 5.0]]).view(2, 4, 1, 1)
    delta = torch.tensor([[0.5, 2.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]).view(2, 4, 1, 1, 1)
    weight = torch.tensor([1.0, 0.0]).view(2, 1, 1, 1)
    out = siamrpn_loss(cls, loc, labels, delta, weight, cls_weight=1.0, loc_weight=1.2)
    nll_pos = -math.log(math.exp(2) / (1 + math.exp(2)))
    nll_neg = -math.log(math.exp(1) / (math.exp(1) + math.exp(-1)))
    assert out["cls"].item() == pytest.approx(0.5 * nll_pos + 0.5 * nll_neg, rel=1e-6)
    assert out["loc"].item() == pytest.approx((0.5 + 0 + 1 + 2) * 1.0 / 2, rel=1e-6)  # summed L1 / batch
    assert out["total"].item() == pytest.approx(out["cls"].item() + 1.2 * out["loc"].item(), rel=1e-6)


def test_only_negatives_is_half_the_negative_term():
    cls, loc, labels, delta, weight = _maps()
    labels = labels.clamp(max=0)
    out = siamrpn_loss(cls, loc, labels, delta, weight * 0)
    logp = torch.log_softmax(cls.view(2, 2, 5, 3, 3), dim=1)[:, 0]
    assert out["cls"].item() == pytest.approx(0.5 * -logp[labels == 0].mean().item(), rel=1e-5)


def test_split_batch_sums_to_the_whole():
    cls, loc, labels, delta, weight = _maps(batch=4, seed=1)
    whole = siamrpn_loss(cls, loc, labels, delta, weight)
    norm = Normalizer.of(labels)
    parts = [siamrpn_loss(cls[i:i + 2], loc[i:i + 2], labels[i:i + 2], delta[i:i + 2], weight[i:i + 2], norm)
             for i in (0, 2)]
    for key in ("total", "cls", "loc"):
        assert sum(p[key] for p in parts).item() == pytest.approx(whole[key].item(), rel=1e-6)


def test_gradient_pushes_positives_to_foreground():
    cls, loc, labels, delta, weight = _maps(seed=2)
    cls.requires_grad_(True)
    siamrpn_loss(cls, loc, labels, delta, weight)["total"].backward()
    fg_grad = cls.grad.view(2, 2, 5, 3, 3)[:, 1]
    assert np.all(fg_grad[labels == 1].numpy() < 0) and np.all(fg_grad[labels == 0].numpy() > 0)
    assert np.all(fg_grad[labels == -1].numpy() == 0)
