"""Training configs: presets, YAML/JSON files, overrides and clear errors."""
import json

import pytest

from siamrpnpp_core.training.config import TRAIN_PRESETS, load_config, parse_override


def test_release_defaults():
    cfg = TRAIN_PRESETS["siamrpn_r50_l234_dwxcorr"]
    assert (cfg.template_aug.shift, cfg.template_aug.scale, cfg.search_aug.shift, cfg.search_aug.scale) == \
        (4, 0.05, 64, 0.18)
    assert (cfg.search_aug.blur, cfg.negative, cfg.thr_high, cfg.thr_low, cfg.pos_num, cfg.total_num) == \
        (0.2, 0.2, 0.6, 0.3, 16, 64)
    assert (cfg.cls_weight, cfg.loc_weight, cfg.momentum, cfg.weight_decay, cfg.grad_clip) == (1.0, 1.2, 0.9, 1e-4, 10)
    assert cfg.output_size() == 25
    assert TRAIN_PRESETS["siamrpn_alex_dwxcorr"].output_size() == 17


def test_yaml_file_with_base_and_nested_overrides(tmp_path):
    (tmp_path / "crops").mkdir()
    (tmp_path / "vid.json").write_text("{}")
    path = tmp_path / "run.yaml"
    path.write_text("base: siamrpn_alex_dwxcorr\nepochs: 3\nsearch_aug: {shift: 32}\n"
                    "datasets:\n  - {name: VID, root: crops, anno: vid.json, frame_range: 100, num_use: 5}\n")
    cfg = load_config(path, overrides={"batch_size": 8, **parse_override("template_aug.scale=0.1")})
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
    assert "siamrpn_r50_l234_dwxcorr.yaml" in names and "default_synthetic.yaml" in names
    for path in folder.glob("*.yaml"):
        cfg = load_config(path)
        assert cfg.datasets and cfg.batch_size % (cfg.micro_batch or cfg.batch_size) == 0
