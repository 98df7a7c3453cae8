"""The loss on known inputs, the authors' rule for a class with one anchor, and exact equality of split
and whole batches."""
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
    out = siamrpn_loss(cls, torch.zeros(1, 20, 2, 2), labels, torch.zeros(1, 4, 5, 2, 2), torch.zeros(1, 5, 2, 2),
                       single_anchor="count")
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
    out = siamrpn_loss(cls, loc, labels, delta, weight, cls_weight=1.0, loc_weight=1.2, single_anchor="count")
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


def _one_anchor_map(logits_bg_fg, label_values):
    """One pair, one anchor kind, a 1 x N map: the anchors' (background, foreground) logits and labels."""
    n = len(label_values)
    cls = torch.tensor(logits_bg_fg, dtype=torch.float32).T.reshape(1, 2, 1, n)
    labels = torch.tensor(label_values).view(1, 1, 1, n)
    return cls, torch.zeros(1, 4, 1, n), labels, torch.zeros(1, 4, 1, 1, n), torch.zeros(1, 1, 1, n)


def test_single_positive_anchor_adds_no_classification_loss_by_default():
    # anchors: one positive (logits bg 0, fg 1), two negatives (bg 2, fg 0) and (bg 0, fg 0), one ignored
    maps = _one_anchor_map([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0], [5.0, -5.0]], [1, 0, 0, -1])
    nll_pos = math.log(1 + math.exp(-1))
    nll_neg = (math.log(1 + math.exp(-2)) + math.log(2)) / 2
    dropped = siamrpn_loss(*maps)  # the authors': the lone positive's index is squeezed to 0-d -> loss 0
    assert dropped["cls"].item() == pytest.approx(0.5 * nll_neg, rel=1e-6)
    counted = siamrpn_loss(*maps, single_anchor="count")
    assert counted["cls"].item() == pytest.approx(0.5 * nll_pos + 0.5 * nll_neg, rel=1e-6)
    # two positives: counted under both rules
    two = _one_anchor_map([[0.0, 1.0], [0.0, 3.0], [2.0, 0.0]], [1, 1, 0])
    both = 0.5 * (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(-3))) / 2
    assert siamrpn_loss(*two)["cls"].item() == pytest.approx(both, rel=1e-6)  # the lone negative dropped
    assert siamrpn_loss(*two, single_anchor="count")["cls"].item() == \
        pytest.approx(both + 0.5 * math.log(1 + math.exp(-2)), rel=1e-6)
    with pytest.raises(ValueError, match="single_anchor"):
        siamrpn_loss(*two, single_anchor="keep")


def test_single_positive_of_a_split_batch_follows_the_normaliser():
    # the one positive of the batch sits in the first half; the whole batch's counts decide
    cls, loc, labels, delta, weight = _maps(batch=4, seed=3)
    labels = labels.clamp(max=0)
    labels[0, 0, 0, 0] = 1
    norm = Normalizer.of(labels)
    assert norm.positives == 1
    parts = [siamrpn_loss(cls[i:i + 2], loc[i:i + 2], labels[i:i + 2], delta[i:i + 2], weight[i:i + 2], norm)
             for i in (0, 2)]
    logp = torch.log_softmax(cls.view(4, 2, 5, 3, 3), dim=1)[:, 0]
    only_negatives = 0.5 * -logp[labels == 0].mean().item()
    assert sum(p["cls"] for p in parts).item() == pytest.approx(only_negatives, rel=1e-5)


def test_hard_negatives_add_the_highest_scored_candidates():
    # one pair, 5 anchors on a 1x1 map: a positive, a sampled negative and three candidates (-2); the two
    # highest foreground scores among the negative and candidate anchors are anchors 3 and 1
    fg = torch.tensor([2.0, 1.5, -3.0, 4.0, -1.0])
    cls = torch.cat([torch.zeros(5), fg]).view(1, 10, 1, 1).requires_grad_(True)
    labels = torch.tensor([1, 0, -2, -2, -2]).view(1, 5, 1, 1)
    maps = (torch.zeros(1, 20, 1, 1), labels, torch.zeros(1, 4, 5, 1, 1), torch.zeros(1, 5, 1, 1))
    plain = siamrpn_loss(cls, *maps, single_anchor="count")
    hard = siamrpn_loss(cls, *maps, single_anchor="count", hard_negatives=2)

    def background_nll(x):
        return math.log1p(math.exp(x))  # -log softmax of background logit 0 against foreground x

    expected = 0.5 * (background_nll(4.0) + background_nll(1.5)) / 2
    assert hard["cls"].item() - plain["cls"].item() == pytest.approx(expected, rel=1e-6)
    lighter = siamrpn_loss(cls, *maps, single_anchor="count", hard_negatives=2, hard_weight=0.15)
    assert lighter["cls"].item() - plain["cls"].item() == pytest.approx(expected * 0.15 / 0.5, rel=1e-6)
    hard["total"].backward()
    fg_grad = cls.grad.view(1, 2, 5)[0, 1]
    assert fg_grad[3] > 0 and fg_grad[1] > 0  # pushed to background
    assert fg_grad[2] == 0 and fg_grad[4] == 0  # candidates not among the two hardest: untouched


def test_hard_negatives_off_is_the_authors_loss_and_ignore_candidates():
    cls, loc, labels, delta, weight = _maps(seed=3)
    candidates = labels.masked_fill(labels == -1, -2)
    authors = siamrpn_loss(cls, loc, labels, delta, weight)
    assert siamrpn_loss(cls, loc, candidates, delta, weight)["total"].item() == authors["total"].item()
    assert siamrpn_loss(cls, loc, labels, delta, weight, hard_negatives=0)["total"].item() == authors["total"].item()
