"""The training loop: one process or many (torchrun, DistributedDataParallel), resumable at any step.

Each optimiser step consumes ``batch_size`` pairs split into micro-batches of ``micro_batch`` across
the processes. Under ``per_replica_sum`` (the authors') each micro-batch is a replica, normalised by
its own counts, and the gradients of all the step's micro-batches are summed; under ``global_mean``
every micro-batch is normalised by the whole step's counts. Either way one process accumulating and
N processes take the same step up to floating-point order. At the epoch where the backbone starts
training the SGD optimiser is built anew (momentum restarts), as the authors do. Checkpoints every
``checkpoint_interval`` steps.
"""
from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os
import signal
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..atomic import atomic_open
from ..backends.precision import BF16_UNITS, cpu_flags, units
from ..checkpoint import PYSOT, load_weights, save_safetensors
from ..device import resolve_device
from ..model import SiamRPN
from .checkpointing import load_checkpoint_file, load_latest, rng_state, save_checkpoint, set_rng_state
from .config import PER_REPLICA_SUM, TrainConfig
from .losses import Normalizer, siamrpn_loss
from .sampling import PairDataset, StepSampler, collate, worker_init
from .schedule import backbone_trainable, lr_at

log = logging.getLogger(__name__)
LOG_FIELDS = ("step", "epoch", "lr", "loss", "cls_loss", "loc_loss", "grad_norm", "skipped_steps", "pairs_per_s",
              "elapsed_s")
# Config fields that decide which samples a step sees: a resumed run must not change them.
SAMPLE_FIELDS = ("seed", "batch_size", "pairs_per_epoch", "epochs")


def backbone_stage(backbone: torch.nn.Module, name: str) -> list[torch.nn.Module]:
    """Modules of a named backbone stage (``layer2``, ...)."""
    if hasattr(backbone, "stage"):
        return backbone.stage(name)
    if not hasattr(backbone, name):
        raise ValueError(f"the backbone has no stage {name!r}")
    return [getattr(backbone, name)]


def load_pretrained_backbone(backbone: torch.nn.Module, path: str) -> None:
    """Load ImageNet-pretrained backbone weights (keys bare or prefixed ``backbone.``; classifier keys
    ``fc.*``/``classifier.*`` ignored), checked strictly."""
    from ..checkpoint import check_state_dict, read_state_dict

    state, _ = read_state_dict(path)
    if any(k.startswith("backbone.") for k in state):
        state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    state = {k: v for k, v in state.items() if not k.startswith(("fc.", "classifier."))}
    check_state_dict(backbone, state, source=path)
    backbone.load_state_dict(state, strict=False)


def load_init_weights(model: torch.nn.Module, path: str) -> None:
    """Start from a whole model's weights (fine-tuning): strictly, and only in pysot's convention, the one
    our training targets follow (mmtracking's weights place anchors and crops differently)."""
    weights_format = load_weights(model, path)
    if weights_format != PYSOT:
        raise ValueError(f"init_weights {path}: {weights_format} weights; training targets follow pysot's "
                         "convention, so only pysot-layout weights can be fine-tuned")


class Trainer:
    """Builds model, optimiser, data and logs from a :class:`TrainConfig`; ``run()`` trains."""

    def __init__(self, cfg: TrainConfig, dataset: PairDataset | None = None, resume: str | None = "auto",
                 progress: bool = True):
        self.cfg = cfg
        self.rank, self.world, local_rank = _init_distributed()
        self.device = _device(cfg.device, local_rank, self.world)
        self.micro = cfg.micro_batch or cfg.batch_size // self.world
        share = cfg.batch_size // self.world
        if cfg.batch_size % self.world or share % self.micro:
            raise ValueError(f"batch_size {cfg.batch_size} must split into {self.world} process(es) x whole "
                             f"micro-batches of {self.micro}")
        self.accumulation = share // self.micro
        self.replicas = cfg.batch_size // self.micro
        torch.manual_seed(cfg.seed)
        self.model = SiamRPN(cfg.model_config())
        if cfg.pretrained:
            load_pretrained_backbone(self.model.backbone, cfg.pretrained)
        if cfg.init_weights:
            load_init_weights(self.model, cfg.init_weights)
        self.model.to(self.device)
        self.train_layers = [m for name in cfg.backbone_train_layers for m in backbone_stage(self.model.backbone, name)]
        train_params = {id(p) for m in self.train_layers for p in m.parameters()}
        self._groups = [
            (1.0, [p for n, p in self.model.named_parameters() if not n.startswith("backbone.")]),
            (cfg.backbone_lr_mult, [p for p in self.model.backbone.parameters() if id(p) in train_params])]
        for p in self.model.backbone.parameters():
            p.requires_grad_(False)
        self.optimizer = self._new_optimizer()
        self.amp = autocast_dtype(cfg.amp, self.device)
        if self.amp == torch.bfloat16 and self.device.type == "cpu":  # measured faster than contiguous with bf16
            self.memory_format = torch.channels_last
            if not units(cpu_flags(), "bf16"):
                log.warning("amp: bf16 on a CPU without bf16 units (%s): emulated, likely slower than float32",
                            ", ".join(BF16_UNITS))
        else:
            self.memory_format = torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == torch.float16)
        self.step = self.skipped = 0
        self.dataset = dataset or PairDataset(cfg)
        self.steps_per_epoch = cfg.steps_per_epoch()
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.unfreeze_step = cfg.backbone_train_epoch * self.steps_per_epoch if cfg.backbone_train_layers else None
        self.progress = progress and self.rank == 0
        self._phase = None
        self._stop = False
        self.ddp = None
        if resume:
            self._resume(resume)

    # --- state -------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "step": self.step, "skipped": self.skipped,
                "rng": rng_state(), "config": json.dumps(self.cfg.to_dict())}

    def _resume(self, resume: str) -> None:
        if resume == "auto":
            found = load_latest(self.cfg.out_dir)
            if found is None:
                return
            state, path = found
        else:
            state, path = load_checkpoint_file(resume), resume
        saved = json.loads(state.get("config", "{}"))
        changed = [k for k in SAMPLE_FIELDS if k in saved and saved[k] != getattr(self.cfg, k)]
        if changed:
            raise ValueError(f"{path}: the run was started with different {', '.join(changed)}; "
                             "resume with the same config or use a new out_dir")
        self.model.load_state_dict(state["model"])
        self._set_phase(self._epoch(state["step"]))  # the parameter groups' trainable set first
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.skipped = int(state["step"]), int(state["skipped"])
        set_rng_state(state["rng"])
        if self.rank == 0:
            log.info("resumed from %s at step %d", path, self.step)

    def save(self) -> str | None:
        if self.rank != 0:
            return None
        return save_checkpoint(self.state(), self.cfg.out_dir, self.step, self.cfg.keep_checkpoints)

    def export(self, path: str, half: bool = False) -> None:
        """Write the model's weights as safetensors (``half``: float16 storage), loadable by ``build_tracker``."""
        state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in self.model.state_dict().items()}
        save_safetensors(state, path, PYSOT, preset=self.cfg.preset, step=self.step)

    # --- phases ------------------------------------------------------------------------------------
    def _new_optimizer(self) -> torch.optim.SGD:
        """SGD over the head (full rate) and the backbone's trainable stages (``backbone_lr_mult``)."""
        cfg = self.cfg
        return torch.optim.SGD([{"params": params, "lr_mult": mult} for mult, params in self._groups],
                               lr=cfg.base_lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)

    def _epoch(self, step: int) -> int:
        return min(step // self.steps_per_epoch, self.cfg.epochs - 1)

    def _set_phase(self, epoch: int) -> None:
        trainable = backbone_trainable(self.cfg, epoch)
        if trainable != self._phase:
            for m in self.train_layers:
                for p in m.parameters():
                    p.requires_grad_(trainable)
            self._phase = trainable
            self.ddp = None  # DDP registers the parameters that need gradients when it is built
        if self.world > 1 and self.ddp is None:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=ids)
        lr = lr_at(self.cfg, epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_mult"]

    def _train_mode(self) -> None:
        self.model.train()
        self.model.backbone.eval()  # frozen layers keep their BatchNorm statistics
        if self._phase:
            for m in self.train_layers:
                m.train()

    # --- loop --------------------------------------------------------------------------------------
    def _loader(self):
        sampler = StepSampler(self.cfg, self.rank, self.world, self.step)
        workers = self.cfg.num_workers
        # spawned workers: a fork after OpenCV/OpenMP threads ran in this process can deadlock the children
        return DataLoader(self.dataset, batch_size=self.micro, sampler=sampler, num_workers=workers,
                          collate_fn=collate, worker_init_fn=worker_init if workers else None,
                          pin_memory=self.device.type == "cuda", prefetch_factor=4 if workers else None,
                          multiprocessing_context="spawn" if workers else None)

    def run(self, max_steps: int | None = None) -> dict:
        """Train until the schedule ends (or ``max_steps`` more steps); returns the last logged row."""
        end = self.total_steps if max_steps is None else min(self.total_steps, self.step + max_steps)
        if self.step >= end:
            return {}
        logger = _Logger(self.cfg, self.step) if self.rank == 0 else None
        batches = iter(self._loader())
        bar = tqdm(total=end, initial=self.step, unit="step", disable=not self.progress or None, dynamic_ncols=True)
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            signal.signal(s, self._request_stop)
        window = _Window()
        row = {}
        try:
            while self.step < end:
                epoch = self._epoch(self.step)
                if self.step == self.unfreeze_step:  # a function of the step: a resumed run restarts it too
                    self.optimizer = self._new_optimizer()
                if self._phase is None or backbone_trainable(self.cfg, epoch) != self._phase or \
                        self.step % self.steps_per_epoch == 0:
                    self._set_phase(epoch)
                self._train_mode()
                micro = [next(batches) for _ in range(self.accumulation)]
                losses, grad_norm, stop = self._train_step(micro)
                self.step += 1
                window.add(losses, grad_norm, self.cfg.batch_size)
                bar.update(1)
                last = self.step == end or stop
                if logger and (self.step % self.cfg.log_interval == 0 or last):
                    row = window.row(self.step, epoch, self.optimizer.param_groups[0]["lr"], self.skipped)
                    logger.write(row)
                    bar.set_postfix(loss=f"{row['loss']:.3f}", pairs_s=f"{row['pairs_per_s']:.1f}")
                if self.step % self.cfg.checkpoint_interval == 0 or self.step % self.steps_per_epoch == 0 or last:
                    self.save()
                if stop:
                    log.warning("stopped by signal at step %d; the checkpoint is saved, rerun to resume", self.step)
                    raise KeyboardInterrupt
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            bar.close()
            if logger:
                logger.close()
        if self.rank == 0 and self.step == self.total_steps:
            self.export(os.path.join(self.cfg.out_dir, "model.safetensors"))
        return row

    def _request_stop(self, signum, frame) -> None:
        self._stop = True

    def _train_step(self, micro: list[dict]):
        """Forward/backward over the micro-batches, clip, and step unless the gradient is not finite
        (then parameters and BatchNorm statistics stay as they were)."""
        labels = [b["label_cls"] for b in micro]
        counts = torch.tensor([sum(float((lab == 1).sum()) for lab in labels),
                               sum(float((lab == 0).sum()) for lab in labels),
                               sum(lab.shape[0] for lab in labels), float(self._stop)], dtype=torch.float64)
        counts = self._all_reduce(counts)
        norm = Normalizer(float(counts[0]), float(counts[1]), float(counts[2]))
        per_replica = self.cfg.loss_normalisation == PER_REPLICA_SUM
        net = self.ddp or self.model
        buffers = [b.detach().clone() for b in self.model.buffers()]  # BatchNorm statistics, restored on a skip
        sums = torch.zeros(3, dtype=torch.float64)
        for j, batch in enumerate(micro):
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
            for k in ("template", "search"):
                batch[k] = batch[k].contiguous(memory_format=self.memory_format)
            sync = self.ddp is None or j == len(micro) - 1
            with (contextlib.nullcontext() if sync else self.ddp.no_sync()):
                with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
                    cls, loc = net(batch["template"], batch["search"])
                out = siamrpn_loss(cls, loc, batch["label_cls"], batch["label_loc"], batch["label_loc_weight"],
                                   Normalizer.of(labels[j]) if per_replica else norm, self.cfg.cls_weight,
                                   self.cfg.loc_weight, self.cfg.single_anchor, self.cfg.hard_neg_num,
                                   self.cfg.hard_neg_weight)
                # DDP averages over the processes: times world, the step's gradient is the sum over micro-batches
                self.scaler.scale(out["total"] * self.world).backward()
            sums += torch.tensor([float(out[k].detach()) for k in ("total", "cls", "loc")], dtype=torch.float64)
        self.scaler.unscale_(self.optimizer)
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)) if params else 0.0
        if math.isfinite(grad_norm):
            self.scaler.step(self.optimizer)
        else:
            self.skipped += 1
            with torch.no_grad():
                for b, saved in zip(self.model.buffers(), buffers):
                    b.copy_(saved)
            log.warning("step %d: non-finite gradient, step skipped (%d so far)", self.step, self.skipped)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        sums = self._all_reduce(sums)  # per replica: the mean of the replicas' losses is logged, as the authors do
        return sums / self.replicas if per_replica else sums, grad_norm, bool(counts[3] > 0)

    def _all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.world == 1:
            return tensor
        moved = tensor.to(self.device) if self.device.type == "cuda" else tensor
        dist.all_reduce(moved)
        return moved.cpu()


class _Window:
    """Running sums between two log rows."""

    def __init__(self):
        self.start = time.perf_counter()
        self.begin = self.start
        self.reset()

    def reset(self):
        self.sums = torch.zeros(3, dtype=torch.float64)
        self.steps = self.pairs = 0
        self.norm = 0.0
        self.begin = time.perf_counter()

    def add(self, sums, grad_norm, pairs):
        self.sums += sums
        self.steps += 1
        self.pairs += pairs
        self.norm = grad_norm

    def row(self, step, epoch, lr, skipped) -> dict:
        now = time.perf_counter()
        n = max(self.steps, 1)
        row = {"step": step, "epoch": epoch, "lr": lr, "loss": float(self.sums[0]) / n,
               "cls_loss": float(self.sums[1]) / n, "loc_loss": float(self.sums[2]) / n, "grad_norm": self.norm,
               "skipped_steps": skipped, "pairs_per_s": self.pairs / max(now - self.begin, 1e-9),
               "elapsed_s": now - self.start}
        self.reset()
        return row


class _Logger:
    """CSV log (rows past the resumed step dropped) and TensorBoard scalars when available."""

    def __init__(self, cfg: TrainConfig, step: int):
        os.makedirs(cfg.out_dir, exist_ok=True)
        self.path = os.path.join(cfg.out_dir, "log.csv")
        rows = []
        if os.path.isfile(self.path):
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit() and int(r["step"]) <= step]
        with atomic_open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        self.file = open(self.path, "a", newline="")
        self.csv = csv.DictWriter(self.file, LOG_FIELDS)
        self.tb = None
        if cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.warning("tensorboard is not installed: logging to %s only (pip install tensorboard)", self.path)
            else:
                self.tb = SummaryWriter(os.path.join(cfg.out_dir, "tensorboard"), purge_step=step + 1)

    def write(self, row: dict) -> None:
        self.csv.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self.file.flush()
        if self.tb:
            for key in ("lr", "loss", "cls_loss", "loc_loss", "grad_norm", "pairs_per_s"):
                self.tb.add_scalar(f"train/{key}", row[key], row["step"])

    def close(self) -> None:
        self.file.close()
        if self.tb:
            self.tb.close()


def _init_distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; initialises the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("SIAMRPNPP_DIST_BACKEND") != "gloo" else "gloo"
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))


def autocast_dtype(amp: str, device: torch.device, cpu_features: frozenset[str] | None = None) -> torch.dtype | None:
    """The autocast dtype of config ``amp`` on ``device``; None: float32 throughout.

    ``auto`` picks what is fast and safe there: float16 on CUDA, bfloat16 on CPUs with bf16 units
    (``cpu_features``, default this machine's flags), else float32.
    """
    if amp == "auto":
        if device.type == "cuda":
            return torch.float16
        has_bf16 = units(cpu_flags() if cpu_features is None else cpu_features, "bf16")
        return torch.bfloat16 if device.type == "cpu" and has_bf16 else None
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("amp: fp16 needs a CUDA device (on CPUs use bf16)")
    return {"off": None, "fp16": torch.float16, "bf16": torch.bfloat16}[amp]


def _device(name: str, local_rank: int, world: int) -> torch.device:
    device = resolve_device(name)
    if device.type == "cuda" and world > 1:
        device = torch.device(f"cuda:{local_rank}")
        torch.cuda.set_device(device)
    return device

