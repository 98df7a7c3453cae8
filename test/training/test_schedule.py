"""Learning rate at every epoch boundary and the backbone's training phase (the release's 20-epoch recipe)."""
import numpy as np
import pytest

from siamrpnpp_core.training.config import TRAIN_PRESETS
from siamrpnpp_core.training.schedule import backbone_trainable, learning_rates, lr_at

CFG = TRAIN_PRESETS["siamrpn_r50_l234_dwxcorr"]


def test_release_values_at_each_epoch():
    lrs = learning_rates(CFG)
    assert len(lrs) == 20
    # warm-up: 0.001 * 5^(k/5), k = 0..4
    expected = [0.001, 0.0013797297, 0.0019036539, 0.0026265278, 0.0036238983]
    np.testing.assert_allclose(lrs[:5], expected, rtol=1e-7)
    # then log-spaced 0.005 -> 0.0005 over 15 epochs: ratio 10^(-1/14) per epoch
    np.testing.assert_allclose(lrs[5:], 0.005 * 10 ** (-np.arange(15) / 14), rtol=1e-9)
    assert lrs[5] == pytest.approx(0.005) and lrs[19] == pytest.approx(0.0005)
    assert lr_at(CFG, 10) == pytest.approx(0.005 * 10 ** (-5 / 14))
    assert lr_at(CFG, 99) == pytest.approx(0.0005)  # past the end: the last value


def test_backbone_frozen_until_epoch_ten():
    assert [backbone_trainable(CFG, e) for e in (0, 9, 10, 19)] == [False, False, True, True]
    assert CFG.backbone_train_layers == ("layer2", "layer3", "layer4") and CFG.backbone_lr_mult == 0.1


def test_no_warmup():
    from dataclasses import replace

    lrs = learning_rates(replace(CFG, warmup_epochs=0, epochs=3, base_lr=0.01, end_lr=0.0001))
    np.testing.assert_allclose(lrs, [0.01, 0.001, 0.0001])
