"""Loading weights in every published layout, and a clear error for every bad file."""
import pickle
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from siamrpnpp_core import CheckpointError, SiamRPNTracker, build_engine, build_model, build_tracker, get_preset
from siamrpnpp_core import geometry as geo
from siamrpnpp_core import read_state_dict
from siamrpnpp_core.checkpoint import load_weights
from siamrpnpp_core.cli import main
from siamrpnpp_core.model import SiamRPN

PRESET = "siamrpn_r50_l234_dwxcorr"


def to_mmtracking_layout(state):
    """Name the tensors as mmtracking's SiamRPN++ checkpoint does (documented mapping, written out)."""
    out = {}
    for key, value in state.items():
        m = re.match(r"neck\.downsample(\d)\.downsample\.([01])\.(.*)", key)
        if m:
            out[f"neck.convs.{int(m[1]) - 2}.{'conv' if m[2] == '0' else 'bn'}.{m[3]}"] = value
            continue
        m = re.match(r"rpn_head\.rpn(\d)\.(cls|loc)\.(conv_kernel|conv_search|head)\.(\d)\.(.*)", key)
        if m:
            heads = "cls_heads" if m[2] == "cls" else "reg_heads"
            part = {("conv_kernel", "0"): "kernel_convs.conv", ("conv_kernel", "1"): "kernel_convs.bn",
                    ("conv_search", "0"): "search_convs.conv", ("conv_search", "1"): "search_convs.bn",
                    ("head", "0"): "head_convs.0.conv", ("head", "1"): "head_convs.0.bn",
                    ("head", "3"): "head_convs.1.conv"}[(m[3], m[4])]
            out[f"head.{heads}.{int(m[1]) - 2}.{part}.{m[5]}"] = value
            continue
        out[{"rpn_head.cls_weight": "head.cls_weight", "rpn_head.loc_weight": "head.reg_weight"}.get(key, key)] = value
    return out


@pytest.fixture(scope="module")
def reference_state():
    torch.manual_seed(123)
    model = SiamRPN(get_preset(PRESET).model)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.01)
    return {k: v.clone() for k, v in model.state_dict().items()}


def _assert_loaded(path, reference, weights_format="pysot"):
    model = SiamRPN(get_preset(PRESET).model)
    assert load_weights(model, path) == weights_format
    assert model.weights_format == weights_format
    loaded = model.state_dict()
    for key, value in reference.items():
        assert torch.equal(loaded[key], value), key


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, reference_state):
    """The same weights written in each layout users download or produce."""
    d = tmp_path_factory.mktemp("ckpt")
    sd = reference_state
    files = {}
    files["flat"] = d / "model.pth"
    torch.save(sd, files["flat"])
    files["training"] = d / "checkpoint_e20.pth"
    optimizer = {"state": {0: {"momentum_buffer": torch.zeros(3)}}, "param_groups": [{"lr": 0.005, "params": [0]}]}
    torch.save({"epoch": 20, "state_dict": {f"module.{k}": v for k, v in sd.items()}, "optimizer": optimizer},
               files["training"])
    files["legacy"] = d / "pysot_2019.pth"  # the pre-zip format of PyTorch 1.5 and older (memory-mapping not possible)
    torch.save(sd, files["legacy"], _use_new_zipfile_serialization=False)
    files["prefixed"] = d / "ddp.pth"
    torch.save({f"module.{k}": v for k, v in sd.items()}, files["prefixed"])
    files["no_batches_tracked"] = d / "old.pth"
    torch.save({k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}, files["no_batches_tracked"])
    files["mmtracking"] = d / "siamese_rpn_r50_20e_lasot.pth"
    meta = {"mmcv_version": "1.4.0", "config": "model = dict(type='SiamRPN')", "epoch": 20, "iter": 1000,
            "time": "Wed Apr 20 18:18:45 2022"}
    torch.save({"meta": meta, "state_dict": to_mmtracking_layout(sd)}, files["mmtracking"])
    files["safetensors"] = d / "model.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(files["safetensors"]))
    return files


@pytest.mark.parametrize("layout", ["flat", "legacy", "training", "prefixed", "no_batches_tracked", "safetensors"])
def test_pysot_layouts_load_strictly(layouts, reference_state, layout):
    ref = reference_state
    if layout == "no_batches_tracked":
        ref = {k: v for k, v in ref.items() if not k.endswith("num_batches_tracked")}
    _assert_loaded(layouts[layout], ref)


def test_loaded_weights_do_not_depend_on_the_file_afterwards(layouts, reference_state, tmp_path):
    path = tmp_path / "model.pth"  # zip-format files are memory-mapped while loading
    path.write_bytes(layouts["flat"].read_bytes())
    model = SiamRPN(get_preset(PRESET).model)
    load_weights(model, path)
    path.write_bytes(b"\0" * path.stat().st_size)  # overwritten in place, as a careless copy would
    path.unlink()
    for key, value in reference_state.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_mmtracking_checkpoint_is_detected_and_renamed(layouts, reference_state):
    _assert_loaded(layouts["mmtracking"], reference_state, weights_format="mmtracking")
    assert len(to_mmtracking_layout(reference_state)) == 458


def test_mmtracking_weights_track_with_mmtracking_conventions(layouts):
    tracker = build_tracker(PRESET, weights=layouts["mmtracking"], device="cpu", backend="eager")
    assert tracker.config.weights_format == "mmtracking"
    assert build_tracker(PRESET, weights=layouts["flat"], device="cpu").config.weights_format == "pysot"


def _template_crops(engine):
    """Record the exemplar crops ``engine`` receives."""
    crops, template = [], engine.template
    engine.template = lambda z: crops.append(z[0].permute(1, 2, 0).numpy().copy()) or template(z)
    return crops


def test_tracker_from_an_engine_follows_the_weights_format(layouts, vtest_frames):
    """``SiamRPNTracker(engine, config)``, the API's own path, gets mmtracking's centre and crop for
    mmtracking weights, and pysot's for the same tensors in pysot's layout."""
    image, box = vtest_frames[0], (638, 238, 48, 84)
    mean = image.mean(axis=(0, 1))
    s_z = round(float(geo.context_size(48, 84, 0.5)))
    for layout, centre, crop in (("mmtracking", (662.0, 280.0), geo.get_subwindow_mmtracking),
                                 ("flat", (661.5, 279.5), geo.get_subwindow)):
        engine = build_engine(build_model(PRESET, weights=layouts[layout], device="cpu"), backend="eager")
        crops = _template_crops(engine)
        tracker = SiamRPNTracker(engine, get_preset(PRESET).tracker)
        tracker.init(image, box)
        expected = crop(image, np.array(centre), 127, s_z, mean).astype(np.float32)
        np.testing.assert_array_equal(crops[0], expected)
        assert tracker.config.weights_format == ("mmtracking" if layout == "mmtracking" else "pysot")


def test_config_asking_for_another_weights_format_is_an_error(layouts):
    model = build_model(PRESET, weights=layouts["mmtracking"], device="cpu")
    pysot_config = replace(get_preset(PRESET).tracker, weights_format="pysot")
    with pytest.raises(ValueError, match="asks for pysot-format weights but the model's weights are in mmtracking"):
        SiamRPNTracker(model, pysot_config)
    with pytest.raises(ValueError, match="asks for pysot-format weights"):
        build_tracker(PRESET, weights=layouts["mmtracking"], device="cpu", tracker_config=pysot_config)
    assert SiamRPNTracker(model, replace(pysot_config, weights_format="mmtracking")).config.weights_format == \
        "mmtracking"
    with pytest.raises(ValueError, match="weights_format must be None or one of"):
        replace(pysot_config, weights_format="pysot_v2")


def test_safetensors_written_with_the_old_metadata_key_still_load(layouts, reference_state, tmp_path):
    for weights_format in ("mmtracking", "pysot"):
        path = tmp_path / f"old_{weights_format}.safetensors"
        save_file({k: v.contiguous() for k, v in reference_state.items()}, str(path),
                  metadata={"format": "pt", "convention": weights_format})  # before the key was renamed
        _assert_loaded(path, reference_state, weights_format)
    bad = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in reference_state.items()}, str(bad), metadata={"weights_format": "x"})
    with pytest.raises(CheckpointError, match="unknown weights format 'x'"):
        read_state_dict(bad)


def test_convert_writes_safetensors_for_every_layout(layouts, reference_state, tmp_path, capsys):
    for name in ("training", "mmtracking"):
        out = tmp_path / f"{name}.safetensors"
        assert main(["convert", str(layouts[name]), str(out)]) == 0
        weights_format = "mmtracking" if name == "mmtracking" else "pysot"
        _assert_loaded(out, reference_state, weights_format)
        assert read_state_dict(out)[1] == weights_format
    assert "wrote" in capsys.readouterr().out


def test_convert_rejects_a_checkpoint_of_another_preset(layouts, tmp_path, capsys):
    out = tmp_path / "x.safetensors"
    assert main(["convert", str(layouts["flat"]), str(out), "--preset", "siamrpn_r50_l234_dwxcorr_lt"]) == 2
    err = capsys.readouterr().err
    assert "shape mismatches" in err and "neck.downsample2.downsample.0.weight" in err
    assert not out.exists()


def _error(path):
    with pytest.raises(CheckpointError) as info:
        load_weights(SiamRPN(get_preset(PRESET).model), path)
    return str(info.value)


def test_missing_keys_are_named(tmp_path, reference_state):
    sd = dict(reference_state)
    del sd["rpn_head.rpn3.cls.head.3.bias"], sd["backbone.conv1.weight"]
    torch.save(sd, tmp_path / "m.pth")
    msg = _error(tmp_path / "m.pth")
    assert "2 missing keys" in msg and "backbone.conv1.weight" in msg and "rpn_head.rpn3.cls.head.3.bias" in msg


def test_unexpected_keys_are_named(tmp_path, reference_state):
    sd = dict(reference_state, **{"rpn_head.mask.weight": torch.zeros(1)})
    torch.save(sd, tmp_path / "u.pth")
    msg = _error(tmp_path / "u.pth")
    assert "1 unexpected keys" in msg and "rpn_head.mask.weight" in msg


def test_wrong_shapes_are_named(tmp_path, reference_state):
    sd = dict(reference_state, **{"rpn_head.cls_weight": torch.ones(4)})
    torch.save(sd, tmp_path / "s.pth")
    msg = _error(tmp_path / "s.pth")
    assert "rpn_head.cls_weight: file (4,) vs model (3,)" in msg


def test_truncated_files(tmp_path, layouts):
    for name in ("flat", "safetensors"):
        data = layouts[name].read_bytes()
        cut = tmp_path / f"cut_{layouts[name].name}"
        cut.write_bytes(data[: len(data) // 2])
        assert "truncated or corrupt" in _error(cut) or "corrupt or truncated" in _error(cut)


def test_files_that_are_not_checkpoints(tmp_path, opencv_doc_video):
    text = tmp_path / "notes.pth"
    text.write_text("these are not weights\n")
    assert "not a PyTorch checkpoint" in _error(text)
    assert "not a PyTorch checkpoint" in _error(opencv_doc_video("tree.avi"))
    empty = tmp_path / "empty.pth"
    empty.touch()
    assert "empty file" in _error(empty)
    assert "no such file" in _error(tmp_path / "absent.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    assert "holds no state_dict" in _error(tmp_path / "list.pth")
    torch.save({"a": 1}, tmp_path / "nontensor.pth")
    assert "entries that are not tensors" in _error(tmp_path / "nontensor.pth")


class _Exploit:
    """Unpickling this would create a file: a loader that executes pickles is unsafe."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_arbitrary_objects_are_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": _Exploit(str(marker))}, evil)
    assert "refused" in _error(evil) and "io.open" in _error(evil)
    assert not marker.exists()
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Exploit(str(marker))))
    assert "refused" in _error(raw)
    assert not marker.exists()
