"""Running sequences away from the driver: in this process, or as Ray tasks on a cluster.

A :class:`RunSpec` says everything a worker needs to run one sequence (picklable); each worker process
builds the network's engine and reads the dataset once (:func:`run_named` caches them), with one thread
per worker. A fan-out (``fan_out(names)``) yields ``(name, SequenceRun)`` as sequences finish, for
:func:`.runner.iter_dataset`, which writes the files on the driver: only the dataset must be reachable
at the same path on every machine, not the result folders.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from ..config import TrackerConfig
from ..options import TrackerOptions

log = logging.getLogger(__name__)
_CACHE: dict = {}


@dataclass(frozen=True)
class RunSpec:
    """A dataset (as ``load_dataset`` takes it), a tracker (options and configuration) and the run's rules."""

    dataset: str
    root: str
    tracker: TrackerOptions
    config: TrackerConfig
    split: str | None = None
    index: str | None = None
    init_rule: str = "pysot"
    overlap: str = "pysot"

    def load_dataset(self):
        """The dataset, read once per process."""
        from ..datasets import load_dataset
        key = ("dataset", self.dataset, self.root, self.split, self.index)
        if key not in _CACHE:
            _CACHE[key] = load_dataset(self.dataset, self.root, split=self.split, index=self.index)
        return _CACHE[key]


def one_thread() -> None:
    """One compute thread in this process (torch, and ONNX Runtime sessions built afterwards)."""
    import torch
    torch.set_num_threads(1)


def cached_engine(options: TrackerOptions):
    """The network in its engine, built once per process and options."""
    key = ("engine", options)
    if key not in _CACHE:
        _CACHE[key] = options.build_engine()
    return _CACHE[key]


def run_named(spec: RunSpec, name: str):
    """Run sequence ``name`` of ``spec``'s dataset with ``spec``'s tracker; returns its ``SequenceRun``."""
    from ..tracker import SiamRPNTracker
    from .runner import checked_run
    tracker = SiamRPNTracker(cached_engine(spec.tracker), spec.config)
    return checked_run(tracker, spec.load_dataset(), name, init_rule=spec.init_rule, overlap=spec.overlap,
                       progress=False)


def _ray_task(spec: RunSpec, name: str):
    one_thread()
    return run_named(spec, name)


def local_fan_out(spec: RunSpec):
    """Sequences one after the other in this process."""
    return lambda names: ((name, run_named(spec, name)) for name in names)


class RayFanOut:
    """Each sequence as a Ray task of one CPU; the tasks of a pruned or failed run are cancelled."""

    def __init__(self, spec: RunSpec):
        self.spec = spec

    def __call__(self, names):
        import ray
        if "ray_task" not in _CACHE:
            _CACHE["ray_task"] = ray.remote(num_cpus=1)(_ray_task)
        spec = ray.put(self.spec)
        refs = {_CACHE["ray_task"].remote(spec, name): name for name in names}
        try:
            while refs:
                [ready], _ = ray.wait(list(refs), num_returns=1)
                name = refs.pop(ready)
                yield name, ray.get(ready)
        finally:
            for ref in refs:
                ray.cancel(ref)


@contextlib.contextmanager
def ray_session(address: str | None):
    """Connected to the Ray cluster at ``address`` (``auto``, ``local`` or ``host:port``) for the block;
    reuses this process's connection if there is one (and leaves it open)."""
    if address is None:
        yield
        return
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install 'siamrpnpp[ray]'") from None
    if ray.is_initialized():
        current = ray.get_runtime_context().gcs_address
        if address not in ("auto", "local", current):
            raise ValueError(f"this process is already connected to the Ray cluster at {current}, not {address}")
        yield
        return
    extra = {"include_dashboard": False} if address == "local" else {}
    context = ray.init(address=address, **extra)
    log.info("Ray cluster at %s: %s CPUs", context.address_info.get("gcs_address"),
             ray.cluster_resources().get("CPU", 0))
    try:
        yield
    finally:
        ray.shutdown()
