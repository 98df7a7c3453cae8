"""ImageNet MobileNetV2 weights (the common PyTorch port's layout) converted to the release's backbone: every
key placed, the input normalisation folded into the stem and the identity expansion of the first block
exact, checked against the port's computation written out with torch.nn.functional."""
import pytest
import torch
import torch.nn.functional as F

from siamrpnpp_core import build_model, get_preset
from siamrpnpp_core.checkpoint import check_state_dict
from siamrpnpp_core.model.imagenet import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, mobilenet_v2_from_imagenet
from siamrpnpp_core.model.mobilenet_v2 import MobileNetV2

# (expansion, output channels, blocks) of the port's inverted residuals, width 1.0.
PORT = ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1))


def _bn(prefix, channels, g):
    return {f"{prefix}.weight": torch.rand(channels, generator=g) + 0.5,
            f"{prefix}.bias": torch.randn(channels, generator=g),
            f"{prefix}.running_mean": torch.randn(channels, generator=g),
            f"{prefix}.running_var": torch.rand(channels, generator=g) + 0.5,
            f"{prefix}.num_batches_tracked": torch.tensor(7)}


def port_state(seed=0):
    """Random weights in the port's layout: features.0 stem, features.1..17 blocks, features.18 last conv."""
    g = torch.Generator().manual_seed(seed)
    state = {"features.0.0.weight": torch.randn(32, 3, 3, 3, generator=g) * 0.3, **_bn("features.0.1", 32, g)}
    cin, index = 32, 1
    for t, cout, n in PORT:
        for _ in range(n):
            hidden, p = cin * t, f"features.{index}.conv"
            if t == 1:
                state |= {f"{p}.0.weight": torch.randn(hidden, 1, 3, 3, generator=g), **_bn(f"{p}.1", hidden, g),
                          f"{p}.3.weight": torch.randn(cout, hidden, 1, 1, generator=g), **_bn(f"{p}.4", cout, g)}
            else:
                state |= {f"{p}.0.weight": torch.randn(hidden, cin, 1, 1, generator=g), **_bn(f"{p}.1", hidden, g),
                          f"{p}.3.weight": torch.randn(hidden, 1, 3, 3, generator=g), **_bn(f"{p}.4", hidden, g),
                          f"{p}.6.weight": torch.randn(cout, hidden, 1, 1, generator=g), **_bn(f"{p}.7", cout, g)}
            cin, index = cout, index + 1
    return state | {"features.18.0.weight": torch.randn(1280, 320, 1, 1, generator=g), **_bn("features.18.1", 1280, g)}


def _batch_norm(x, state, prefix):
    return F.batch_norm(x, state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"],
                        state[f"{prefix}.weight"], state[f"{prefix}.bias"], training=False, eps=1e-5)


def _backbone(depth, state):
    net = MobileNetV2((depth,), width_mult=1.0).eval()
    converted = mobilenet_v2_from_imagenet(state, depth)
    check_state_dict(net, converted, source="converted")  # every key placed, nothing left over, shapes fit
    net.load_state_dict(converted, strict=False)
    return net


@pytest.mark.parametrize("depth", [5, 7])
def test_every_backbone_key_is_filled(depth):
    net = _backbone(depth, port_state())
    assert not any(name.startswith(f"layer{depth + 1}") for name in net.state_dict())


def test_stem_takes_bgr_0_255_for_normalised_rgb():
    state = port_state()
    net = _backbone(5, state)
    bgr = torch.rand(1, 3, 41, 37, generator=torch.Generator().manual_seed(1)) * 255
    mean, std = torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD_RGB).view(1, 3, 1, 1)
    rgb = (bgr.flip(1) / 255 - mean) / std
    expected = F.relu6(_batch_norm(F.conv2d(rgb, state["features.0.0.weight"], stride=2), state, "features.0.1"))
    with torch.no_grad():
        torch.testing.assert_close(net.layer0(bgr), expected, rtol=1e-4, atol=1e-4)


def test_first_block_gains_an_exact_identity_expansion():
    state = port_state()
    net = _backbone(5, state)
    x = torch.rand(2, 32, 15, 15, generator=torch.Generator().manual_seed(2)) * 6  # a ReLU6 output
    p = "features.1.conv"
    y = F.relu6(_batch_norm(F.conv2d(x, state[f"{p}.0.weight"], padding=1, groups=32), state, f"{p}.1"))
    expected = _batch_norm(F.conv2d(y, state[f"{p}.3.weight"]), state, f"{p}.4")
    with torch.no_grad():
        torch.testing.assert_close(net.layer1(x), expected, rtol=1e-5, atol=1e-5)


def test_later_blocks_keep_their_weights_in_order():
    state = port_state()
    converted = mobilenet_v2_from_imagenet(state, 7)
    assert torch.equal(converted["layer2.0.conv.0.weight"], state["features.2.conv.0.weight"])
    assert torch.equal(converted["layer5.2.conv.7.running_var"], state["features.13.conv.7.running_var"])
    assert torch.equal(converted["layer7.0.conv.6.weight"], state["features.17.conv.6.weight"])
    assert not any(k.startswith("features") for k in converted)


def test_other_layouts_are_refused_by_name():
    state = port_state()
    del state["features.9.conv.3.weight"]
    with pytest.raises(KeyError, match="features.9.conv.3.weight"):
        mobilenet_v2_from_imagenet(state, 5)


def test_light_preset_shapes_and_speed_relevant_depth():
    """The light preset's network stops at layer 5: a 127 template gives 7x7 kernels, a 255 search a 25x25
    map of 5 anchors."""
    model = build_model(get_preset("siamrpn_mobilev2_l5"), weights=None, device="cpu")
    assert not hasattr(model.backbone, "layer6")
    with torch.no_grad():
        zf = model.template(torch.zeros(1, 3, 127, 127))
        cls, loc = model.track(zf, torch.rand(1, 3, 255, 255) * 255)
    assert [tuple(f.shape) for f in zf] == [(1, 128, 7, 7)]
    assert cls.shape == (1, 10, 25, 25) and loc.shape == (1, 20, 25, 25)
