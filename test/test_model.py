"""The network: the release's state_dict keys, layer geometry and output shapes."""
from pathlib import Path

import pytest
import torch

from siamrpnpp_core import PRESETS, get_preset
from siamrpnpp_core.model import SiamRPN
from siamrpnpp_core.model.head import xcorr_depthwise

KEYS = Path(__file__).resolve().parent / "data"


def release_keys(preset):
    """The state_dict keys of the release's checkpoint for ``preset``, as committed in test/data (written out
    once from pysot's documented module layout and checked by hand against it, not derived from our code)."""
    return (KEYS / f"keys_{preset}.txt").read_text().split()


RELEASED = sorted(path.stem.removeprefix("keys_") for path in KEYS.glob("keys_*.txt"))


# Presets of our own, not in the release: the released network whose keys theirs are a part of.
OWN = {"siamrpn_mobilev2_l5": "siamrpn_mobilev2_l234_dwxcorr", "siamrpn_mobilev2_l5_colour": "siamrpn_mobilev2_l234_dwxcorr"}


@pytest.mark.parametrize("preset", sorted(set(PRESETS) - set(OWN)))
def test_state_dict_keys_match_the_release(preset):
    """Each preset's network is a released one: its own key list, or that of the released preset with the same
    network (``siamrpn_alex_colour`` runs ``siamrpn_alex_dwxcorr``'s)."""
    model = get_preset(preset).model
    released = [name for name in RELEASED if name == preset or get_preset(name).model == model]
    assert released, f"{preset}: no released network has its configuration"
    assert sorted(SiamRPN(model).state_dict()) == sorted(release_keys(released[0]))


def test_light_mobilenet_keys_are_the_release_cut_at_layer5():
    """siamrpn_mobilev2_l5 names its modules as the release's MobileNetV2 model does, stopping at backbone
    layer 5 with one neck level and one RPN head (``downsample2``/``rpn2``)."""
    released = release_keys(OWN["siamrpn_mobilev2_l5"])
    cut = [k for k in released if not k.startswith(("backbone.layer6", "backbone.layer7", "neck.downsample3",
                                                     "neck.downsample4", "rpn_head.rpn3", "rpn_head.rpn4"))]
    assert sorted(SiamRPN(get_preset("siamrpn_mobilev2_l5").model).state_dict()) == sorted(cut)


def test_key_lists_have_the_documented_sizes():
    """458 keys (384 without num_batches_tracked) in the R50 model zoo file; the unweighted heads lack
    exactly the two fusion weights; the long-term model has the same names with other shapes."""
    r50 = release_keys("siamrpn_r50_l234_dwxcorr")
    assert len(r50) == 458 and len([k for k in r50 if not k.endswith("num_batches_tracked")]) == 384
    assert set(r50) - set(release_keys("siamrpn_r50_l234_dwxcorr_otb")) == {"rpn_head.cls_weight",
                                                                             "rpn_head.loc_weight"}
    assert release_keys("siamrpn_r50_l234_dwxcorr_lt") == r50
    assert "rpn_head.cls_weight" not in release_keys("siamrpn_mobilev2_l234_dwxcorr")


def test_long_term_preset_channels():
    sd = SiamRPN(get_preset("siamrpn_r50_l234_dwxcorr_lt").model).state_dict()
    assert sd["neck.downsample2.downsample.0.weight"].shape == (128, 512, 1, 1)
    assert sd["neck.downsample4.downsample.0.weight"].shape == (512, 2048, 1, 1)
    assert sd["rpn_head.rpn4.cls.conv_kernel.0.weight"].shape == (512, 512, 3, 3)
    assert sd["rpn_head.rpn2.loc.head.3.weight"].shape == (20, 128, 1, 1)


def _conv(model, name):
    return dict(model.named_modules())[name]


def test_backbone_strides_paddings_dilations():
    model = SiamRPN(get_preset("siamrpn_r50_l234_dwxcorr").model)
    expect = {
        "backbone.conv1": ((7, 7), (2, 2), (0, 0), (1, 1)),
        "backbone.layer1.0.conv2": ((3, 3), (1, 1), (1, 1), (1, 1)),
        "backbone.layer1.0.downsample.0": ((1, 1), (1, 1), (0, 0), (1, 1)),
        "backbone.layer2.0.conv2": ((3, 3), (2, 2), (0, 0), (1, 1)),
        "backbone.layer2.0.downsample.0": ((3, 3), (2, 2), (0, 0), (1, 1)),
        "backbone.layer2.1.conv2": ((3, 3), (1, 1), (1, 1), (1, 1)),
        "backbone.layer3.0.conv2": ((3, 3), (1, 1), (1, 1), (1, 1)),
        "backbone.layer3.0.downsample.0": ((3, 3), (1, 1), (1, 1), (1, 1)),
        "backbone.layer3.5.conv2": ((3, 3), (1, 1), (2, 2), (2, 2)),
        "backbone.layer4.0.conv2": ((3, 3), (1, 1), (2, 2), (2, 2)),
        "backbone.layer4.0.downsample.0": ((3, 3), (1, 1), (2, 2), (2, 2)),
        "backbone.layer4.2.conv2": ((3, 3), (1, 1), (4, 4), (4, 4)),
    }
    for name, (k, s, p, d) in expect.items():
        conv = _conv(model, name)
        assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation) == (k, s, p, d), name
    pool = model.backbone.maxpool
    assert (pool.kernel_size, pool.stride, pool.padding) == (3, 2, 1)


@pytest.mark.parametrize("preset", ["siamrpn_r50_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr_otb"])
def test_output_shapes(preset):
    model = SiamRPN(get_preset(preset).model).eval()
    with torch.no_grad():
        levels = model.backbone(torch.zeros(1, 3, 255, 255))
        assert [tuple(f.shape) for f in levels] == [(1, 512, 31, 31), (1, 1024, 31, 31), (1, 2048, 31, 31)]
        zf = model.template(torch.zeros(2, 3, 127, 127))
        assert [tuple(f.shape) for f in zf] == [(2, 256, 7, 7)] * 3
        cls, loc = model.track(zf, torch.rand(2, 3, 255, 255) * 255)
    assert cls.shape == (2, 10, 25, 25) and loc.shape == (2, 20, 25, 25)


def test_long_term_search_region_gives_97x97():
    model = SiamRPN(get_preset("siamrpn_r50_l234_dwxcorr_lt").model).eval()
    with torch.no_grad():
        zf = model.template(torch.zeros(1, 3, 127, 127))
        assert [f.shape[1] for f in zf] == [128, 256, 512]
        cls, loc = model.track(zf, torch.zeros(1, 3, 831, 831))
    assert cls.shape == (1, 10, 97, 97) and loc.shape == (1, 20, 97, 97)


def test_xcorr_depthwise_equals_per_channel_correlation():
    torch.manual_seed(0)
    search, kernel = torch.randn(2, 3, 9, 8), torch.randn(2, 3, 4, 3)
    out = xcorr_depthwise(search, kernel)
    assert out.shape == (2, 3, 6, 6)
    for b in range(2):
        for c in range(3):
            for y in range(6):
                for x in range(6):
                    expected = (search[b, c, y:y + 4, x:x + 3] * kernel[b, c]).sum()
                    assert out[b, c, y, x].item() == pytest.approx(expected.item(), abs=1e-5)


def test_fusion_is_softmax_weighted_or_mean():
    torch.manual_seed(0)
    for preset in ("siamrpn_r50_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr_otb"):
        model = SiamRPN(get_preset(preset).model).eval()
        head = model.rpn_head
        if head.weighted:
            with torch.no_grad():
                head.cls_weight.copy_(torch.tensor([0.0, 1.0, 2.0]))
                head.loc_weight.copy_(torch.tensor([2.0, 0.0, -1.0]))
        z = [torch.randn(1, 256, 7, 7) for _ in range(3)]
        x = [torch.randn(1, 256, 31, 31) for _ in range(3)]
        with torch.no_grad():
            cls, loc = head(z, x)
            parts = [getattr(head, f"rpn{i + 2}")(z[i], x[i]) for i in range(3)]
        if head.weighted:
            wc, wl = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0), torch.softmax(torch.tensor([2.0, 0.0, -1.0]), 0)
        else:
            wc = wl = torch.full((3,), 1 / 3)
        torch.testing.assert_close(cls, sum(w * p[0] for w, p in zip(wc, parts)), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(loc, sum(w * p[1] for w, p in zip(wl, parts)), rtol=1e-5, atol=1e-5)
