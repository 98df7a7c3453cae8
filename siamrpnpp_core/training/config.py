"""Training configuration: one frozen dataclass with named presets, loadable from YAML or JSON.

Values default to the authors' release (pysot ``cfg.TRAIN`` / ``cfg.DATASET``, their 8-GPU recipe); a
config file names a ``base`` preset and overrides any field, nested sections included. Unknown keys are
errors.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace

from ..config import ModelConfig, TrackerConfig, get_preset
from .targets import TargetConfig

# How the loss of one optimiser step is normalised (see ``TrainConfig``).
PER_REPLICA_SUM, GLOBAL_MEAN = "per_replica_sum", "global_mean"
LOSS_NORMALISATIONS = (PER_REPLICA_SUM, GLOBAL_MEAN)
# A label class (positive or negative) with exactly one anchor in a normalisation group.
SINGLE_ANCHOR_RULES = ("drop", "count")
# Mixed precision: auto = float16 (loss-scaled) on CUDA, bfloat16 on CPUs with bf16 units, else
# float32; bf16 = bfloat16 autocast (about twice float32's pairs/s on CPUs with bf16 units, see
# benchmarks/train_throughput.py).
AMP_MODES = ("auto", "off", "fp16", "bf16")


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
    """Everything a training run depends on.

    ``batch_size`` is the global batch of one optimiser step and ``micro_batch`` the pairs of one
    forward pass (the BatchNorm group); the step's micro-batches are spread over the processes and
    accumulated within each, so one process and N processes compute the same step.

    ``loss_normalisation``: ``per_replica_sum`` (the authors'): each micro-batch is one of the authors'
    GPUs (a *replica*): its loss is normalised by its own pairs, positives and negatives, and the
    replicas' gradients are summed (not averaged) before the clip; the authors' N GPUs x b pairs is
    ``batch_size = N*b, micro_batch = b`` on any number of processes. ``global_mean``: the whole step's
    loss normalised by the whole step's counts (the gradient of the mean over the batch; the scale
    does not grow with the number of micro-batches). With one micro-batch per step both agree.

    ``single_anchor``: a label class with exactly one anchor in a normalisation group (a replica, or
    the step under ``global_mean``): ``drop`` (the authors': its classification term is 0) or
    ``count`` (its NLL counts like any other).
    """

    preset: str = "siamrpn_r50_l234_dwxcorr"
    model: dict = field(default_factory=dict)  # ModelConfig overrides, e.g. {"width_mult": 0.25}
    datasets: tuple[DatasetSpec, ...] = ()
    # sampling
    epochs: int = 20
    pairs_per_epoch: int = 600000
    batch_size: int = 224  # the authors': 8 GPUs x 28 pairs
    micro_batch: int = 28  # 0: the per-process share of batch_size
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
    hard_neg_num: int = 0  # per positive pair, the highest-scored negative anchors added to the loss (0: off)
    hard_neg_weight: float = 0.5  # the hard negatives' mean NLL enters the cls loss with this factor
    cls_weight: float = 1.0
    loc_weight: float = 1.2
    loss_normalisation: str = PER_REPLICA_SUM
    single_anchor: str = "drop"
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
    init_weights: str | None = None  # whole-model weights to fine-tune from (pysot layout, loaded strictly)
    amp: str = "auto"  # one of AMP_MODES; YAML true/false mean auto/off
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
        if isinstance(self.amp, bool):
            object.__setattr__(self, "amp", "auto" if self.amp else "off")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {', '.join(AMP_MODES)} (or true/false), got {self.amp!r}")
        if self.batch_size < 1 or self.micro_batch < 0 or self.epochs < 1:
            raise ValueError("batch_size and epochs must be positive, micro_batch non-negative")
        if not 0 <= self.negative <= 1 or not 0 <= self.gray <= 1:
            raise ValueError("negative and gray are probabilities in [0, 1]")
        if self.thr_low > self.thr_high:
            raise ValueError("thr_low must not exceed thr_high")
        if self.pos_num > self.total_num:
            raise ValueError("pos_num must not exceed total_num")
        if self.hard_neg_num < 0:
            raise ValueError(f"hard_neg_num must be non-negative, got {self.hard_neg_num}")
        if self.hard_neg_weight < 0:
            raise ValueError(f"hard_neg_weight must be non-negative, got {self.hard_neg_weight}")
        if self.checkpoint_interval < 1 or self.keep_checkpoints < 2:
            raise ValueError("checkpoint_interval must be >= 1 and keep_checkpoints >= 2 (a fallback)")
        if self.micro_batch and self.batch_size % self.micro_batch:
            raise ValueError(f"batch_size {self.batch_size} must be a whole number of micro-batches of "
                             f"micro_batch {self.micro_batch}: set micro_batch as well")
        if self.loss_normalisation not in LOSS_NORMALISATIONS:
            raise ValueError(f"loss_normalisation must be one of {LOSS_NORMALISATIONS}, "
                             f"got {self.loss_normalisation!r}")
        if self.single_anchor not in SINGLE_ANCHOR_RULES:
            raise ValueError(f"single_anchor must be one of {SINGLE_ANCHOR_RULES}, got {self.single_anchor!r}")
        stride = self.tracker().stride
        if (self.search_size - self.exemplar_size) % stride:
            raise ValueError(f"search_size - exemplar_size must be a multiple of the stride ({stride})")

    def tracker(self) -> TrackerConfig:
        """The preset's tracker settings: anchor stride, ratios, scales and base size."""
        return get_preset(self.preset).tracker

    def model_config(self) -> ModelConfig:
        """The preset's architecture with this config's overrides."""
        base = get_preset(self.preset).model
        try:
            return replace(base, **{k: tuple(v) if isinstance(v, list) else v for k, v in self.model.items()})
        except TypeError as e:
            raise ValueError(f"bad model override: {e}") from None

    def output_size(self) -> int:
        """Side of the score map for the training crops: ``(search - exemplar) // stride + 1 + base_size``."""
        tracker = self.tracker()
        return (self.search_size - self.exemplar_size) // tracker.stride + 1 + tracker.base_size

    def target_config(self) -> TargetConfig:
        """The anchor-labelling settings, taken from this config by name."""
        return TargetConfig(**{f.name: getattr(self, f.name) for f in fields(TargetConfig)})

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
    "siamrpn_mobilev2_l5": replace(_R50, preset="siamrpn_mobilev2_l5", backbone_train_layers=("layer4", "layer5")),
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


def merge(config: TrainConfig, *overrides: Mapping, where: str = "config") -> TrainConfig:
    """``config`` with each of ``overrides`` applied in order (nested mappings for the augmentation
    sections and ``model``, merged field by field; a list for datasets), validated once at the end."""
    return _merge(config, [(where, data) for data in overrides])


def _merge(config: TrainConfig, sources: list[tuple[str, Mapping]]) -> TrainConfig:
    values: dict = {}
    for where, data in sources:
        _build(TrainConfig, data, where)
        for key, value in data.items():
            current = values.get(key, getattr(config, key))
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


def load_config(path: str | os.PathLike | None = None, base: str | None = None,
                overrides: Mapping | Sequence[Mapping] | None = None) -> TrainConfig:
    """A config from a YAML/JSON file whose optional ``base`` names a preset, then ``overrides``: one
    mapping or several applied in order (e.g. one per ``--set``), nested sections merged field by field."""
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
    extra = [overrides] if isinstance(overrides, Mapping) else list(overrides or ())
    sources = [(os.fspath(path) if path else "config", data)] + [("overrides", dict(o)) for o in extra]
    config = _merge(TRAIN_PRESETS[base], sources)
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
