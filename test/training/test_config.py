"""Training configs: presets, YAML/JSON files, overrides and clear errors."""
import json
from dataclasses import replace

import pytest

from siamrpnpp_core.training import config as training_config
from siamrpnpp_core.training.config import TRAIN_PRESETS, TrainConfig, load_config, parse_override
from siamrpnpp_core.training.targets import TargetConfig


def test_release_defaults():
    cfg = TRAIN_PRESETS["siamrpn_r50_l234_dwxcorr"]
    assert (cfg.template_aug.shift, cfg.template_aug.scale, cfg.search_aug.shift, cfg.search_aug.scale) == \
        (4, 0.05, 64, 0.18)
    assert (cfg.search_aug.blur, cfg.negative, cfg.thr_high, cfg.thr_low, cfg.pos_num, cfg.total_num) == \
        (0.2, 0.2, 0.6, 0.3, 16, 64)
    assert (cfg.cls_weight, cfg.loc_weight, cfg.momentum, cfg.weight_decay, cfg.grad_clip) == (1.0, 1.2, 0.9, 1e-4, 10)
    assert cfg.output_size() == 25
    assert TRAIN_PRESETS["siamrpn_alex_dwxcorr"].output_size() == 17
    # the authors' 8 GPUs x 28 pairs, their per-replica loss and their single-anchor rule
    assert (cfg.batch_size, cfg.micro_batch, cfg.loss_normalisation, cfg.single_anchor) == \
        (224, 28, "per_replica_sum", "drop")


def test_output_size_uses_the_training_exemplar_and_the_presets_geometry():
    # (search - exemplar) // stride + 1 + base size: the training exemplar, not the tracker's 127
    assert replace(TRAIN_PRESETS["siamrpn_r50_l234_dwxcorr"], exemplar_size=111).output_size() == 144 // 8 + 1 + 8
    assert replace(TRAIN_PRESETS["siamrpn_alex_dwxcorr"], exemplar_size=111).output_size() == 144 // 8 + 1


def test_the_stride_comes_from_the_preset(monkeypatch):
    real = training_config.get_preset("siamrpn_r50_l234_dwxcorr")
    coarse = replace(real, tracker=replace(real.tracker, stride=16))
    monkeypatch.setattr(training_config, "get_preset", lambda name: coarse)
    assert TrainConfig().output_size() == 128 // 16 + 1 + 8
    with pytest.raises(ValueError, match=r"multiple of the stride \(16\)"):
        TrainConfig(search_size=263)  # 136 is a multiple of 8, not of 16


def test_target_config_is_taken_from_the_training_config():
    cfg = replace(TRAIN_PRESETS["siamrpn_r50_l234_dwxcorr"], thr_high=0.7, thr_low=0.2, pos_num=8, total_num=32,
                  neg_num=12)
    assert cfg.target_config() == TargetConfig(thr_high=0.7, thr_low=0.2, pos_num=8, total_num=32, neg_num=12)


def test_overrides_apply_in_order_and_are_validated_once():
    sets = ["search_aug.shift=32", "search_aug.scale=0.1", "batch_size=8", "micro_batch=4", "model.width_mult=0.5",
            "search_aug.shift=16"]
    cfg = load_config(None, "siamrpn_alex_dwxcorr", [parse_override(text) for text in sets])
    assert (cfg.search_aug.shift, cfg.search_aug.scale, cfg.search_aug.blur) == (16, 0.1, 0.2)
    assert (cfg.batch_size, cfg.micro_batch, cfg.model) == (8, 4, {"width_mult": 0.5})
    with pytest.raises(ValueError, match="micro_batch"):
        load_config(None, "siamrpn_alex_dwxcorr", [{"batch_size": 8}])  # 8 is no multiple of the preset's 28


def test_yaml_file_with_base_and_nested_overrides(tmp_path):
    (tmp_path / "crops").mkdir()
    (tmp_path / "vid.json").write_text("{}")
    path = tmp_path / "run.yaml"
    path.write_text("base: siamrpn_alex_dwxcorr\nepochs: 3\nsearch_aug: {shift: 32}\n"
                    "datasets:\n  - {name: VID, root: crops, anno: vid.json, frame_range: 100, num_use: 5}\n")
    cfg = load_config(path, overrides={"batch_size": 8, "micro_batch": 4, **parse_override("template_aug.scale=0.1")})
    assert cfg.preset == "siamrpn_alex_dwxcorr" and cfg.epochs == 3 and cfg.batch_size == 8
    assert cfg.search_aug.shift == 32 and cfg.search_aug.scale == 0.18 and cfg.template_aug.scale == 0.1
    assert cfg.datasets[0].root == str(tmp_path / "crops")  # relative to the config file
    assert cfg.datasets[0].num_use == 5
    (tmp_path / "run.json").write_text(json.dumps({"base": "siamrpn_alex_dwxcorr", "seed": 4}))
    assert load_config(tmp_path / "run.json").seed == 4


@pytest.mark.parametrize("text, message", [
    ("epoch: 3\n", "unknown key"),
    ("search_aug: {shfit: 3}\n", "unknown key"),
    ("base: resnet9000\n", "unknown training preset"),
    ("negative: 1.5\n", "probabilities"),
    ("datasets: {name: x}\n", "must be a list"),
    ("model: {backbone: vgg}\n", None),
    ("loss_normalisation: mean\n", "loss_normalisation must be one of"),
    ("single_anchor: keep\n", "single_anchor must be one of"),
    ("hard_neg_num: -1\n", "hard_neg_num must be non-negative"),
    ("hard_neg_weight: -0.1\n", "hard_neg_weight must be non-negative"),
])
def test_bad_configs_are_rejected_clearly(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(path).model_config()


def test_shipped_config_files_load():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "training" / "configs"
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert {"siamrpn_r50_l234_dwxcorr.yaml", "default_synthetic.yaml", "default_mobilenet.yaml"} <= set(names)
    for path in folder.glob("*.yaml"):
        cfg = load_config(path)
        assert cfg.datasets and cfg.batch_size % (cfg.micro_batch or cfg.batch_size) == 0
