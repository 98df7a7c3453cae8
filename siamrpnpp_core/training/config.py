"""Training configuration: one frozen dataclass with named presets, loadable from YAML or JSON.

Values default to the authors' release (pysot ``cfg.TRAIN`` / ``cfg.DATASET``); a config file names a
``base`` preset and overrides any field, nested sections included. Unknown keys are errors.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace

from ..config import ModelConfig, get_preset


@dataclass(frozen=True)
class DatasetSpec:
    """One prepared dataset: 511x511 crops under ``root`` (or packed in ``lmdb``) and its json index.

    ``frame_range``: template and search frames at most this many annotated frames apart;
    ``num_use``: videos drawn per epoch (-1: each video once).
    """

    name: str
    root: str
    anno: str
    frame_range: int = 100
    num_use: int = -1
    lmdb: str | None = None


@dataclass(frozen=True)
class AugmentConfig:
    """Crop jitter (``shift`` pixels, relative ``scale``) and probabilities of blur, flip and colour."""

    shift: float = 0.0
    scale: float = 0.0
    blur: float = 0.0
    flip: float = 0.0
    color: float = 1.0


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. ``batch_size`` is the global batch per optimiser step;
    ``micro_batch`` the samples per forward pass (BatchNorm statistics group), so that one process and
    N processes compute the same thing."""

    preset: str = "siamrpn_r50_l234_dwxcorr"
    model: dict = field(default_factory=dict)  # ModelConfig overrides, e.g. {"width_mult": 0.25}
    datasets: tuple[DatasetSpec, ...] = ()
    # sampling
    epochs: int = 20
    pairs_per_epoch: int = 600000
    batch_size: int = 28
    micro_batch: int = 0  # 0: the per-process share of batch_size
    exemplar_size: int = 127
    search_size: int = 255
    crop_size: int = 511
    context_amount: float = 0.5
    negative: float = 0.2
    gray: float = 0.0
    template_aug: AugmentConfig = AugmentConfig(shift=4, scale=0.05, blur=0.0, flip=0.0, color=1.0)
    search_aug: AugmentConfig = AugmentConfig(shift=64, scale=0.18, blur=0.2, flip=0.0, color=1.0)
    # anchor targets and loss
    thr_high: float = 0.6
    thr_low: float = 0.3
    pos_num: int = 16
    total_num: int = 64
    neg_num: int = 16
    cls_weight: float = 1.0
    loc_weight: float = 1.2
    # optimisation
    base_lr: float = 0.005
    end_lr: float = 0.0005
    warmup_epochs: int = 5
    warmup_start_lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 1e-4
    grad_clip: float = 10.0
    backbone_train_epoch: int = 10
    backbone_train_layers: tuple[str, ...] = ("layer2", "layer3", "layer4")
    backbone_lr_mult: float = 0.1
    pretrained: str | None = None  # ImageNet-pretrained backbone weights
    amp: bool = True  # mixed precision on CUDA devices
    # run
    seed: int = 0
    device: str = "auto"
    num_workers: int = 2
    out_dir: str = "runs/train"
    checkpoint_interval: int = 500  # optimiser steps between checkpoints (and at every epoch end)
    keep_checkpoints: int = 3
    log_interval: int = 20
    tensorboard: bool = True

    def __post_init__(self) -> None:
        get_preset(self.preset)
        if self.batch_size < 1 or self.micro_batch < 0 or self.epochs < 1:
            raise ValueError("batch_size and epochs must be positive, micro_batch non-negative")
        if not 0 <= self.negative <= 1 or not 0 <= self.gray <= 1:
            raise ValueError("negative and gray are probabilities in [0, 1]")
        if self.thr_low > self.thr_high:
            raise ValueError("thr_low must not exceed thr_high")
        if self.pos_num > self.total_num:
            raise ValueError("pos_num must not exceed total_num")
        if self.checkpoint_interval < 1 or self.keep_checkpoints < 2:
            raise ValueError("checkpoint_interval must be >= 1 and keep_checkpoints >= 2 (a fallback)")
        if (self.search_size - self.exemplar_size) % 8:
            raise ValueError("search_size - exemplar_size must be a multiple of the stride (8)")

    def model_config(self) -> ModelConfig:
        """The preset's architecture with this config's overrides."""
        base = get_preset(self.preset).model
        try:
            return replace(base, **{k: tuple(v) if isinstance(v, list) else v for k, v in self.model.items()})
        except TypeError as e:
            raise ValueError(f"bad model override: {e}") from None

    def output_size(self) -> int:
        """Side of the score map for the training search size."""
        return get_preset(self.preset).tracker.score_size(self.search_size)

    def steps_per_epoch(self) -> int:
        return max(self.pairs_per_epoch // self.batch_size, 1)

    def to_dict(self) -> dict:
        return asdict(self)


# The authors' 8-GPU recipe for the main model (datasets to be filled in by the user's config).
_R50 = TrainConfig()
TRAIN_PRESETS: dict[str, TrainConfig] = {
    "siamrpn_r50_l234_dwxcorr": _R50,
    "siamrpn_alex_dwxcorr": replace(_R50, preset="siamrpn_alex_dwxcorr",
                                    backbone_train_layers=("layer2", "layer3", "layer4", "layer5")),
    "siamrpn_mobilev2_l234_dwxcorr": replace(_R50, preset="siamrpn_mobilev2_l234_dwxcorr",
                                             backbone_train_layers=tuple(f"layer{i}" for i in range(2, 8))),
}


def _build(cls, data, where: str):
    """Dataclass ``cls`` from a mapping, rejecting unknown keys and converting lists to tuples."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(known)}")
    return data


def merge(config: TrainConfig, overrides: dict, where: str = "config") -> TrainConfig:
    """``config`` with ``overrides`` (nested mappings for the augmentation sections, a list for datasets)."""
    _build(TrainConfig, overrides, where)
    values = {}
    for key, value in overrides.items():
        current = getattr(config, key)
        if key == "datasets":
            if not isinstance(value, list):
                raise ValueError(f"{where}: datasets must be a list")
            value = tuple(DatasetSpec(**_build(DatasetSpec, d, f"{where}: datasets[{i}]"))
                          for i, d in enumerate(value))
        elif is_dataclass(current):
            value = replace(current, **_build(type(current), value, f"{where}: {key}"))
        elif key == "model":
            value = {**current, **_build(ModelConfig, value, f"{where}: model")}
        elif isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return replace(config, **values)


def load_config(path: str | os.PathLike | None = None, base: str | None = None, overrides: dict | None = None
                ) -> TrainConfig:
    """A config from a YAML/JSON file whose optional ``base`` names a preset, then ``overrides``."""
    data = {}
    if path is not None:
        with open(path) as f:
            text = f.read()
        if os.fspath(path).endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a config file holds a mapping of settings")
    data = dict(data)
    base = data.pop("base", None) or base or data.get("preset", "siamrpn_r50_l234_dwxcorr")
    if base not in TRAIN_PRESETS:
        raise ValueError(f"unknown training preset {base!r}; available: {', '.join(TRAIN_PRESETS)}")
    config = merge(TRAIN_PRESETS[base], data, os.fspath(path) if path else "config")
    if overrides:
        config = merge(config, overrides, "overrides")
    return _resolve_paths(config, path)


def _resolve_paths(config: TrainConfig, path) -> TrainConfig:
    """Dataset paths in a config file are relative to the file's folder unless they exist as given."""
    if path is None:
        return config
    folder = os.path.dirname(os.path.abspath(path))
    fixed = []
    for spec in config.datasets:
        changes = {}
        for key in ("root", "anno", "lmdb"):
            value = getattr(spec, key)
            if value and not os.path.isabs(value) and not os.path.exists(value):
                candidate = os.path.join(folder, value)
                if os.path.exists(candidate):
                    changes[key] = candidate
        fixed.append(replace(spec, **changes))
    return replace(config, datasets=tuple(fixed))


def parse_override(text: str) -> dict:
    """``key=value`` (value parsed as YAML; ``a.b=v`` sets a nested field) to a nested mapping."""
    if "=" not in text:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    import yaml

    key, value = text.split("=", 1)
    parsed = yaml.safe_load(value)
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = parsed
    return out
