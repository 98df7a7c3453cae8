"""Reading published SiamRPN++ weights safely, in every layout users have, into our module tree.

Accepted: a pysot model-zoo state_dict, a pysot training checkpoint ``{epoch, state_dict, optimizer}``,
``module.``-prefixed (DataParallel/DDP) keys, an mmtracking checkpoint ``{meta, state_dict}`` (keys
renamed automatically), and safetensors files. Pickles are read with ``weights_only=True``: arbitrary
Python objects are refused, never executed.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import zipfile

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_path
from .config import MMTRACKING, PYSOT, WEIGHTS_FORMATS

try:
    from numpy._core.multiarray import scalar as _numpy_scalar
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import scalar as _numpy_scalar

# Safetensors metadata key of the weights format; files written before it was named hold "convention".
FORMAT_KEYS = ("weights_format", "convention")

# mmtracking name -> pysot name, applied in order (backbone keys are identical).
_MMTRACKING_RENAMES = [
    (r"^neck\.convs\.(\d)\.conv\.", lambda m: f"neck.downsample{int(m[1]) + 2}.downsample.0."),
    (r"^neck\.convs\.(\d)\.bn\.", lambda m: f"neck.downsample{int(m[1]) + 2}.downsample.1."),
    (r"^head\.cls_heads\.(\d)\.", lambda m: f"rpn_head.rpn{int(m[1]) + 2}.cls."),
    (r"^head\.reg_heads\.(\d)\.", lambda m: f"rpn_head.rpn{int(m[1]) + 2}.loc."),
    (r"\.kernel_convs\.conv\.", ".conv_kernel.0."),
    (r"\.kernel_convs\.bn\.", ".conv_kernel.1."),
    (r"\.search_convs\.conv\.", ".conv_search.0."),
    (r"\.search_convs\.bn\.", ".conv_search.1."),
    (r"\.head_convs\.0\.conv\.", ".head.0."),
    (r"\.head_convs\.0\.bn\.", ".head.1."),
    (r"\.head_convs\.1\.conv\.", ".head.3."),
    (r"^head\.cls_weight$", "rpn_head.cls_weight"),
    (r"^head\.reg_weight$", "rpn_head.loc_weight"),
]
_MMTRACKING_MARKERS = ("neck.convs.", "head.cls_heads.", "head.reg_heads.")
# Objects found in the metadata of real checkpoints that are data, not code.
_SAFE_GLOBALS = [np.dtype, _numpy_scalar, *{type(np.dtype(t)) for t in "fdil?bB"}]


class CheckpointError(ValueError):
    """A weights file that cannot be used, with the reason in the message."""


def read_state_dict(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """Tensors of a checkpoint under pysot key names, and its weights format (``PYSOT`` or ``MMTRACKING``)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    if _is_safetensors(path):
        state, weights_format = _read_safetensors(path)
    else:
        state, weights_format = _unwrap(_torch_load(path), path), None
    state = _strip_prefix(state, "module.")
    if weights_format is None:
        weights_format = MMTRACKING if any(k.startswith(_MMTRACKING_MARKERS) for k in state) else PYSOT
        if weights_format == MMTRACKING:
            state = {mmtracking_to_pysot_key(k): v for k, v in state.items()}
    return state, weights_format


def mmtracking_to_pysot_key(key: str) -> str:
    """Rename one mmtracking SiamRPN++ key to the release's (pysot) module path."""
    for pattern, repl in _MMTRACKING_RENAMES:
        key = re.sub(pattern, repl, key)
    return key


def load_weights(model: torch.nn.Module, path: str | os.PathLike) -> str:
    """Load ``path`` into ``model`` with strict checking and set ``model.weights_format``; returns it."""
    state, weights_format = read_state_dict(path)
    check_state_dict(model, state, source=os.fspath(path))
    model.load_state_dict(state, strict=False)  # strictness checked above, with a clearer message
    model.weights_format = weights_format
    return weights_format


def check_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Raise one ``CheckpointError`` listing missing/unexpected keys and shape mismatches."""
    expected = model.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in state and k not in optional]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", mismatched)):
        if items:
            problems.append(f"{len(items)} {label} (first: {', '.join(items[:3])})")
    if problems:
        raise CheckpointError(f"{source} does not fit the model: " + "; ".join(problems))


def save_safetensors(state: dict[str, torch.Tensor], path: str | os.PathLike, weights_format: str,
                     **metadata) -> None:
    """Write tensors (contiguous, CPU), the weights format and string metadata, atomically."""
    if weights_format not in WEIGHTS_FORMATS:
        raise ValueError(f"weights_format must be one of {WEIGHTS_FORMATS}, got {weights_format!r}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    meta = {"format": "pt", FORMAT_KEYS[0]: weights_format, **{k: str(v) for k, v in metadata.items()}}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=meta)


def _is_safetensors(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000


def _read_safetensors(path: str) -> tuple[dict[str, torch.Tensor], str | None]:
    try:
        state = load_file(path)
        with open(path, "rb") as f:
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupt or truncated safetensors file ({e})") from None
    meta = header.get("__metadata__") or {}
    weights_format = next((meta[k] for k in FORMAT_KEYS if k in meta), None)
    if weights_format is not None and weights_format not in WEIGHTS_FORMATS:
        raise CheckpointError(f"{path}: unknown weights format {weights_format!r} in its metadata "
                              f"(known: {', '.join(WEIGHTS_FORMATS)})")
    return state, weights_format


def _torch_load(path: str):
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            # zip-format files are memory-mapped (faster start); the legacy format of older releases is read
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as e:
        text = str(e)
        if "weights_only" in text.lower():
            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
            detail = f" ({found[1]})" if found else ""
            raise CheckpointError(
                f"{path}: refused, the file holds arbitrary Python objects{detail}; only plain tensors and "
                "containers are loaded (re-save the state_dict, or convert to safetensors on a trusted machine)"
            ) from None
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({_first_line(e)})") from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({_first_line(e)})") from None
    except Exception as e:  # the restricted unpickler fails in many ways on files that are not pickles
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({type(e).__name__}: {_first_line(e)})") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _unwrap(obj, path: str) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: holds no state_dict (found {type(obj).__name__})")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: not a state_dict, entries that are not tensors: {', '.join(map(str, bad[:3]))}")
    return obj


def _strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return state
