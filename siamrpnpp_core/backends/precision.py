"""Arithmetic precision of the CPU backends, and the choice ``auto`` makes from the CPU's features.

``fp32``  exact (the reference; boxes equal the eager model's);
``bf16``  bfloat16 convolutions: OpenVINO's inference precision hint, or the ``torch`` engine's weights;
``int8``  the search graph statically quantised by ONNX Runtime on real search crops (see
          ``calibration``), run by ONNX Runtime or OpenVINO;
``auto``  bf16 where the CPU has bf16 units, else int8 where it has 8-bit dot-product units or AVX2, else
          ``fp32``: bf16 kept the one-step agreement within the noise floor on both benchmark models, int8
          is faster but agreed less (README, Reduced precision).

Everything here except :func:`cpu_flags` is a pure function of its arguments (a CPU's flag set is
passed in), so every choice can be tested with made-up flag sets.
"""
from __future__ import annotations

import functools
import platform
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "int8")
# Precisions each backend runs (``auto`` as a backend: any installed CPU backend, see ``backend_for``).
BACKEND_PRECISIONS = {"eager": ("fp32",), "torch": ("fp32", "bf16"), "onnxruntime": ("fp32", "int8"),
                      "openvino": ("fp32", "bf16", "int8")}
# /proc/cpuinfo flags (x86 "flags", Arm "Features") of units that make a precision fast.
BF16_UNITS = ("amx_bf16", "avx512_bf16", "bf16")  # bf16: Arm's BFDOT/BFMMLA
INT8_DOT_UNITS = ("amx_int8", "avx512_vnni", "avx_vnni", "i8mm", "asimddp")  # i8mm, asimddp: Arm dot products
# AVX2's 8-bit multiply-adds, without a dot product: int8 then runs at a 7-bit range (see ``calibration``) and
# still took 0.56 of fp32's frame time (AlexNet, ONNX Runtime, a 2-core AVX2 EPYC; README, Reduced precision).
INT8_UNITS = INT8_DOT_UNITS + ("avx2",)


def parse_cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of the first processor listed in the text of ``/proc/cpuinfo``."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@functools.cache
def cpu_flags() -> frozenset[str]:
    """This machine's CPU feature flags (empty where ``/proc/cpuinfo`` cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return parse_cpu_flags(f.read())
    except OSError:
        return frozenset()


@functools.cache
def cpu_model() -> str:
    """This machine's CPU model name (``/proc/cpuinfo``; else what ``platform`` knows), for benchmark reports."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _present(flags: Iterable[str], wanted: Iterable[str]) -> list[str]:
    present = set(flags)
    return [flag for flag in wanted if flag in present]


def units(flags: Iterable[str], precision: str) -> list[str]:
    """The flags in ``flags`` that give ``precision`` hardware support (empty for fp32 and for none)."""
    return _present(flags, {"bf16": BF16_UNITS, "int8": INT8_UNITS}.get(precision, ()))


def dot_product_units(flags: Iterable[str]) -> list[str]:
    """The flags in ``flags`` of 8-bit dot-product units (without them int8 is quantised to 7 bits)."""
    return _present(flags, INT8_DOT_UNITS)


def choose_precision(flags: Iterable[str], available: Iterable[str]) -> tuple[str, str]:
    """``auto``: the precision to run among ``available`` on a CPU with ``flags``, and why.

    bf16 first (closest to fp32), then int8 (fastest), else fp32.
    """
    flags, available = frozenset(flags), tuple(available)
    for precision in ("bf16", "int8"):
        found = units(flags, precision)
        if precision in available and found:
            return precision, f"the CPU has {precision} units ({', '.join(found)})"
    unused = [p for p in ("bf16", "int8") if units(flags, p)]
    if unused:
        return "fp32", f"the CPU has {' and '.join(unused)} units but the backend does not run {' or '.join(unused)}"
    return "fp32", "no bf16 or int8 units in the CPU flags (" + ", ".join(BF16_UNITS + INT8_UNITS) + ")"


def precision_warning(precision: str, flags: Iterable[str]) -> str | None:
    """Why an explicitly requested ``precision`` may be slow on a CPU with ``flags`` (None: it is fine)."""
    if precision == "fp32" or units(flags, precision):
        return None
    listed = ", ".join(BF16_UNITS if precision == "bf16" else INT8_UNITS)
    if precision == "bf16":
        return (f"precision 'bf16' on a CPU without bf16 units ({listed}): it runs emulated, likely slower than "
                "fp32 (OpenVINO may fall back to f32), and boxes still differ from fp32")
    return (f"precision 'int8' on a CPU without 8-bit multiply-add units ({listed}): it runs on plain vector "
            "instructions with a 7-bit range (reduce_range), so it may gain little over fp32")


def resolve_precision(precision: str, backends: Iterable[str], device_type: str, flags: Iterable[str]) -> str:
    """The concrete precision (fp32, bf16 or int8) for ``precision`` run by one of ``backends``
    (the concrete backend, or the installed candidates of ``auto``) on ``device_type``.

    Raises ``ValueError`` for an unknown precision, a reduced one off the CPU, or one no candidate runs;
    logs the choice of ``auto`` and warns for an explicit precision the CPU has no units for.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if device_type != "cpu":
        if precision in ("bf16", "int8"):
            raise ValueError(f"precision {precision!r} is for the CPU backends; on {device_type} use fp32 "
                             "(half=True for float16 on CUDA)")
        return "fp32"
    backends = tuple(backends)
    available = sorted({p for b in backends for p in BACKEND_PRECISIONS[b]})
    if precision == "auto":
        chosen, why = choose_precision(flags, available)
        log.info("precision auto: %s, because %s", chosen, why)
        return chosen
    if precision not in available:
        runners = [b for b, ps in BACKEND_PRECISIONS.items() if precision in ps]
        raise ValueError(f"precision {precision!r} does not run on backend {'/'.join(backends)}; "
                         f"use backend {' or '.join(repr(b) for b in runners)}")
    warning = precision_warning(precision, flags)
    if warning:
        log.warning(warning)
    return precision


def backend_for(precision: str, installed: Iterable[str]) -> str:
    """The CPU backend ``auto`` runs ``precision`` with, among the ``installed`` runtimes' backends.

    fp32 and int8: ONNX Runtime, which takes any input shape without OpenVINO's compile stall per new
    shape (OpenVINO's int8 was a little faster for R50: 0.26 against 0.31 of the fp32 frame time);
    bf16: OpenVINO (0.48 against the torch engine's 0.57).
    """
    installed = set(installed) | {"torch"}
    order = {"fp32": ("onnxruntime", "torch"), "int8": ("onnxruntime", "openvino"),
             "bf16": ("openvino", "torch")}[precision]
    for backend in order:
        if backend in installed:
            return backend
    raise ValueError(f"precision {precision!r} needs onnxruntime or openvino (pip install onnxruntime)")
