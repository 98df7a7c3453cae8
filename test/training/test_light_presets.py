"""The release's lighter models: AlexNet and MobileNetV2 presets, their exact key layouts and strict loading."""
import numpy as np
import pytest
import torch

from siamrpnpp_core import CheckpointError, SiamRPNTracker, build_model, build_tracker, get_preset
from siamrpnpp_core.model import SiamRPN

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _rpn_keys(base):
    keys = []
    for branch in ("cls", "loc"):
        for part in ("conv_kernel", "conv_search"):
            keys += [f"{base}.{branch}.{part}.0.weight"] + [f"{base}.{branch}.{part}.1.{x}" for x in BN]
        keys += [f"{base}.{branch}.head.0.weight"] + [f"{base}.{branch}.head.1.{x}" for x in BN]
        keys += [f"{base}.{branch}.head.3.weight", f"{base}.{branch}.head.3.bias"]
    return keys


def alex_keys():
    """pysot model-zoo keys of siamrpn_alex_dwxcorr: convs at features.0/4/8/11/14 (with bias), BNs after."""
    keys = []
    for conv in (0, 4, 8, 11, 14):
        keys += [f"backbone.features.{conv}.weight", f"backbone.features.{conv}.bias"]
        keys += [f"backbone.features.{conv + 1}.{x}" for x in BN]
    return keys + _rpn_keys("rpn_head")


def mobilev2_keys():
    keys = ["backbone.layer0.0.weight"] + [f"backbone.layer0.1.{x}" for x in BN]
    for layer, blocks in enumerate((1, 2, 3, 4, 3, 3, 1), start=1):
        for b in range(blocks):
            for conv, bn in ((0, 1), (3, 4), (6, 7)):
                keys.append(f"backbone.layer{layer}.{b}.conv.{conv}.weight")
                keys += [f"backbone.layer{layer}.{b}.conv.{bn}.{x}" for x in BN]
    for k in (2, 3, 4):
        keys.append(f"neck.downsample{k}.downsample.0.weight")
        keys += [f"neck.downsample{k}.downsample.1.{x}" for x in BN]
        keys += _rpn_keys(f"rpn_head.rpn{k}")
    return keys


def test_alex_keys_shapes_and_output():
    preset = get_preset("siamrpn_alex_dwxcorr")
    model = SiamRPN(preset.model).eval()
    sd = model.state_dict()
    assert sorted(sd) == sorted(alex_keys()) and len(sd) == 75
    assert sd["backbone.features.0.weight"].shape == (96, 3, 11, 11)
    assert sd["backbone.features.14.weight"].shape == (256, 384, 3, 3)
    assert sd["rpn_head.cls.head.3.weight"].shape == (10, 256, 1, 1)
    assert sd["rpn_head.loc.conv_search.0.weight"].shape == (256, 256, 3, 3)
    assert not any(isinstance(m, torch.nn.Conv2d) and m.padding != (0, 0) for m in model.backbone.modules())
    t = preset.tracker
    assert (t.instance_size, t.base_size, t.penalty_k, t.window_influence, t.lr) == (287, 0, 0.16, 0.40, 0.30)
    with torch.no_grad():
        cls, loc = model(torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 287, 287))
    assert cls.shape == (1, 10, 21, 21) and loc.shape == (1, 20, 21, 21) and t.score_size() == 21


def test_mobilev2_keys_dilations_and_output():
    preset = get_preset("siamrpn_mobilev2_l234_dwxcorr")
    model = SiamRPN(preset.model).eval()
    sd = model.state_dict()
    assert sorted(sd) == sorted(mobilev2_keys())
    assert "rpn_head.cls_weight" not in sd
    assert sd["backbone.layer0.0.weight"].shape == (44, 3, 3, 3)
    assert sd["neck.downsample2.downsample.0.weight"].shape == (256, 44, 1, 1)
    assert sd["neck.downsample4.downsample.0.weight"].shape == (256, 448, 1, 1)
    modules = dict(model.named_modules())
    # depthwise convs: (stride, padding, dilation); a stage's first block halves a changed dilation
    expect = {"backbone.layer2.0.conv.3": (2, 0, 1), "backbone.layer4.0.conv.3": (1, 1, 1),
              "backbone.layer4.1.conv.3": (1, 2, 2), "backbone.layer5.0.conv.3": (1, 2, 2),
              "backbone.layer6.0.conv.3": (1, 2, 2), "backbone.layer6.2.conv.3": (1, 4, 4),
              "backbone.layer7.0.conv.3": (1, 4, 4)}
    for name, (s, p, d) in expect.items():
        conv = modules[name]
        assert (conv.stride[0], conv.padding[0], conv.dilation[0]) == (s, p, d), name
        assert conv.groups == conv.in_channels
    assert preset.tracker.penalty_k == 0.04 and preset.tracker.lr == 0.5
    with torch.no_grad():
        cls, _ = model(torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 255, 255))
    assert cls.shape == (1, 10, 25, 25)


@pytest.mark.parametrize("preset, keys", [("siamrpn_alex_dwxcorr", alex_keys),
                                          ("siamrpn_mobilev2_l234_dwxcorr", mobilev2_keys)])
def test_model_zoo_layout_loads_strictly(tmp_path, preset, keys):
    shapes = {k: v.shape for k, v in SiamRPN(get_preset(preset).model).state_dict().items()}
    g = torch.Generator().manual_seed(1)
    zoo = {k: (torch.randint(0, 9, shapes[k], generator=g) if k.endswith("num_batches_tracked")
               else torch.randn(shapes[k], generator=g)) for k in keys()}
    path = tmp_path / "model.pth"
    torch.save({"epoch": 19, "state_dict": {f"module.{k}": v for k, v in zoo.items()}}, path)  # a DDP training save
    model = build_model(preset, weights=path, device="cpu")
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, zoo[k])
    del zoo[keys()[3]]
    torch.save(zoo, path)
    with pytest.raises(CheckpointError, match="missing keys"):
        build_model(preset, weights=path, device="cpu")


def test_alex_tracker_follows_through_real_frames(vtest_frames):
    tracker = build_tracker("siamrpn_alex_dwxcorr", random_init=True, device="cpu")
    assert tracker.config.instance_size == 287
    tracker.init(vtest_frames[0], (638, 238, 48, 84))
    for frame in vtest_frames[1:4]:
        result = tracker.track(frame)
        assert all(np.isfinite(result.bbox)) and 0 <= result.score <= 1


def test_default_tracker_uses_the_shipped_weights(vtest_frames):
    from siamrpnpp_core.builder import default_weights_path, shipped_weights_for
    from siamrpnpp_core.checkpoint import read_state_dict

    path = default_weights_path()
    assert path is not None and path.endswith("siamrpn_mobilev2_l5_synthetic.safetensors"), path
    tracker = build_tracker(device="cpu")
    assert tracker.model.config == get_preset("siamrpn_mobilev2_l5").model
    shipped, _ = read_state_dict(path)
    for k, v in tracker.model.state_dict().items():
        torch.testing.assert_close(v, shipped[k].to(v.dtype))
    random_model = build_model("siamrpn_mobilev2_l5", random_init=True, device="cpu")
    assert not torch.equal(random_model.state_dict()["rpn_head.rpn2.cls.head.3.weight"],
                           tracker.model.state_dict()["rpn_head.rpn2.cls.head.3.weight"])
    # the AlexNet presets keep their own shipped weights; a network without any gets none
    assert shipped_weights_for("siamrpn_alex_colour").endswith("siamrpn_alex_synthetic.safetensors")
    assert shipped_weights_for("siamrpn_r50_l234_dwxcorr") is None
    # the README's API on the same network (eager PyTorch) follows the walker as the default backend does
    eager = SiamRPNTracker(tracker.model, tracker.config)
    for t in (tracker, eager):
        t.init(vtest_frames[0], (638, 238, 48, 84))
    for frame in vtest_frames[1:6]:
        ours, theirs = tracker.track(frame), eager.track(frame)
        np.testing.assert_allclose(theirs.bbox, ours.bbox, atol=0.05)
        assert theirs.score == pytest.approx(ours.score, abs=1e-4)
