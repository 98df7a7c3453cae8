"""The benchmarks this package reads: a declarative table of names to readers, imported lazily.

Each reader is ``reader(root, info, **options) -> Dataset`` in the named module of this package;
``load_dataset`` imports it only when that dataset is opened.
"""
from __future__ import annotations

import importlib
import inspect
import os

from .base import Dataset, DatasetError, DatasetInfo

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("OTB100", "otb", "read_otb", "ope", ("OTB2015", "OTB"), description="OTB-2015, 100 targets"),
        DatasetInfo("UAV123", "uav", "read_uav", "ope", description="UAV123, with its sub-sequences"),
        DatasetInfo("UAV20L", "uav", "read_uav", "ope", description="UAV123's 20 long sequences"),
        DatasetInfo("LaSOT", "lasot", "read_lasot", "ope", ("LaSOT-test", "LaSOTBenchmark"),
                    description="LaSOT; test split (280 videos) by default"),
        DatasetInfo("GOT-10k", "got10k", "read_got10k", "got10k", ("GOT10k",), description="GOT-10k train/val/test"),
        DatasetInfo("TrackingNet", "trackingnet", "read_trackingnet", "ope", ("TrackingNet-test",),
                    description="TrackingNet test (first-frame boxes only)"),
        DatasetInfo("VOT2016", "vot", "read_vot", "vot", eao_interval=(108, 371), description="VOT2016 short-term"),
        DatasetInfo("VOT2017", "vot", "read_vot", "vot", eao_interval=(100, 356), description="VOT2017 short-term"),
        DatasetInfo("VOT2018", "vot", "read_vot", "vot", ("VOT2018-ST",), eao_interval=(100, 356),
                    description="VOT2018 short-term"),
        DatasetInfo("VOT2019", "vot", "read_vot", "vot", eao_interval=(46, 291), description="VOT2019 short-term"),
        DatasetInfo("VOT2018-LT", "vot", "read_vot", "vot-lt", ("VOT-LT2018", "VOT2018LT"),
                    description="VOT2018 long-term"),
    )
}


def _key(name: str) -> str:
    return name.lower().replace("_", "-")


_ALIASES = {_key(a): info.name for info in DATASETS.values() for a in (info.name, *info.aliases)}


def canonical_name(name: str) -> str:
    """Canonical dataset name of ``name`` (case-insensitive, aliases accepted)."""
    try:
        return _ALIASES[_key(name)]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}") from None


def dataset_names() -> list[str]:
    return list(DATASETS)


def load_dataset(name: str, root: str | os.PathLike, **options) -> Dataset:
    """Open dataset ``name`` at ``root``; options: ``split`` (GOT-10k train/val/test, LaSOT test/all),
    ``index`` (a pysot-style json index to read instead of the original layout). None values are ignored."""
    info = DATASETS[canonical_name(name)]
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DatasetError(f"{info.name}: dataset folder {root} does not exist")
    options = {k: v for k, v in options.items() if v is not None}
    reader = getattr(importlib.import_module(f"{__package__}.{info.module}"), info.reader)
    accepted = inspect.signature(reader).parameters
    for key in options:
        if key not in accepted or key in ("root", "info"):
            raise ValueError(f"{info.name} takes no {key!r} option")
    return reader(root, info, **options)
