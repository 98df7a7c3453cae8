"""One command for a freshly lent CUDA machine: install, CUDA tests, speed, runtimes, agreement.

    python benchmarks/gpu_check.py [--out benchmarks/results] [--no-install] [--dry-run]

Steps, each timed and recorded; a failing step is reported loudly and the next one still runs:

1. ``environment``: GPU (nvidia-smi), torch build, CUDA availability.
2. ``install``: if this torch cannot use CUDA, the CUDA build of torch 2.13 from the package index
   (``pip install torch==2.13.0``, which is the CUDA build on Linux x86-64), then ``onnxruntime-gpu``
   and ``tensorrt`` when PyPI offers them. Skipped with ``--no-install`` and ``--dry-run``.
3. ``cuda_tests``: ``pytest -m cuda`` (tests skipped on machines without CUDA).
4. ``speed``: ``benchmarks/track_speed.py`` for R50, AlexNet and MobileNetV2: eager fp32 on the CPU
   (reference boxes), and on CUDA eager fp32, the folded ``torch`` engine in fp32 and fp16, each with
   and without CUDA graphs, plus ``--targets`` targets tracked in one batch.
5. ``onnxruntime``: the exported search graph under ONNX Runtime's CUDA and TensorRT execution
   providers: time per call and error of the maps against PyTorch fp32.
6. ``tensorrt``: FP16 engines built from the exported graphs with TensorRT's Python API, checked by
   ``benchmarks/tensorrt_check.py`` (map error, box difference and time on the packaged clip).
7. ``agreement``: per configuration of step 4, the mean and minimum IoU of its boxes against the fp32
   CUDA path and against the CPU path, and the fraction of frames below IoU 0.9.

Writes ``gpu_check.json`` and ``gpu_check.md`` to ``--out`` and prints the Markdown. Targets (issue 14):
one R50 target in fp16 at >= 300 FPS and >= 1000 target-frames/s batched on an H100/H200-class GPU.
``--dry-run`` runs the same steps on the CPU with AlexNet and a few frames (CI runs it so the script does
not rot); it installs nothing and skips what needs CUDA, saying so.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PRESETS = ("siamrpn_r50_l234_dwxcorr", "siamrpn_alex_dwxcorr", "siamrpn_mobilev2_l234_dwxcorr")
FP16_FPS_TARGET = 300
BATCH_TARGET = 1000


class Skipped(Exception):
    """A step that cannot run here; its message says why."""


def run(cmd: list[str], timeout: float) -> str:
    """Run ``cmd``; its output on success, ``RuntimeError`` with the output's tail on failure."""
    print("$ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"exit {out.returncode}: {(out.stdout + out.stderr)[-2000:]}")
    return out.stdout


def cuda_available() -> bool:
    code = "import torch; print(torch.cuda.is_available())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} CPUs"


def step_environment(args) -> dict:
    smi = shutil.which("nvidia-smi")
    gpu = (subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                          capture_output=True, text=True).stdout.strip() if smi else "no nvidia-smi")
    code = "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())"
    torch_info = run([sys.executable, "-c", code], 120).strip()
    return {"gpu": gpu, "torch (version, CUDA, available)": torch_info, "python": platform.python_version(),
            "cpus": os.cpu_count()}


def step_install(args) -> dict:
    if args.dry_run or args.no_install:
        raise Skipped("--dry-run" if args.dry_run else "--no-install")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = {}
    if not cuda_available():
        run(pip + ["--force-reinstall", "--no-deps", "torch==2.13.0"], 600)
        run(pip + ["torch==2.13.0"], 600)  # its CUDA runtime packages
        done["torch"] = "CUDA build installed"
    for package in ("onnxruntime-gpu", "tensorrt"):
        try:
            run(pip + [package], 600)
            done[package] = "installed"
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            done[package] = f"not installed: {str(error)[-300:]}"
    if not cuda_available():
        raise RuntimeError(f"torch still cannot use CUDA after the install ({done})")
    return done


def step_cuda_tests(args) -> dict:
    out = run([sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", "test/test_cuda.py"],
              900)
    return {"pytest": out.strip().splitlines()[-1]}


def step_speed(args) -> dict:
    if args.dry_run:  # one CPU run stands for both devices
        records = _speed_records(args, "cpu", ["eager", "torch"], targets=args.targets)
        return {"cpu": [r for r in records if r["backend"] == "eager"], "gpu": records}
    if not cuda_available():
        raise Skipped("torch cannot use CUDA here")
    return {"cpu": _speed_records(args, "cpu", ["eager"], targets=1),
            "gpu": _speed_records(args, "cuda", ["eager", "torch"], targets=args.targets, half=True)}


def _speed_records(args, device: str, backends: list[str], targets: int, half: bool = False) -> list[dict]:
    """``track_speed.py`` records (per-stage times, boxes, batch throughput) for one device."""
    cmd = [sys.executable, str(HERE / "track_speed.py"), "--devices", device, "--backends", *backends,
           "--frames", str(args.frames), "--warmup", str(args.warmup), "--targets", str(targets),
           "--presets", *args.presets] + (["--half"] if half else [])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "speed.json")
        run(cmd + ["--json", path], args.step_timeout)
        with open(path) as f:
            return json.load(f)["records"]


def _search_inputs(preset: str):
    """The preset's model on the CPU (shipped or fixed-seed weights) and one exemplar and search crop."""
    import torch

    from siamrpnpp_core import DEFAULT_PRESET, build_model, get_preset

    config = get_preset(preset).tracker
    generator = torch.Generator().manual_seed(0)
    z = torch.rand(1, 3, config.exemplar_size, config.exemplar_size, generator=generator) * 255
    x = torch.rand(1, 3, config.instance_size, config.instance_size, generator=generator) * 255
    return build_model(preset, random_init=preset != DEFAULT_PRESET, device="cpu"), z, x


def step_onnxruntime(args) -> dict:
    import numpy as np
    import onnxruntime as ort
    import torch

    from siamrpnpp_core.backends import build_engine
    from siamrpnpp_core.backends.onnx_export import export_onnx
    from siamrpnpp_core.model.inference import template_kernels

    wanted = (["CPUExecutionProvider"] if args.dry_run
              else ["CUDAExecutionProvider", "TensorrtExecutionProvider"])
    providers = [p for p in wanted if p in ort.get_available_providers()]
    if not providers:
        raise Skipped(f"onnxruntime {ort.__version__} offers {ort.get_available_providers()}, none of {wanted}")
    device = "cpu" if args.dry_run else "cuda"
    results = {}
    for preset in args.presets:
        model, z, x = _search_inputs(preset)
        with tempfile.TemporaryDirectory() as folder:
            _, search_path = export_onnx(model, folder, search_size=x.shape[-1])
            model, z, eager = model.to(device), z.to(device), build_engine(model.to(device), backend="eager")
            with torch.inference_mode():  # the exported graph takes the inference form's kernels
                kernels = template_kernels(model, z)
                expected = [t.float().cpu().numpy() for t in eager.search(eager.template(z), x.to(device))]
            feeds = {"x": x.numpy(), **{f"kernel{i}": k.float().cpu().numpy() for i, k in enumerate(kernels)}}
            for provider in providers:
                session = ort.InferenceSession(str(search_path), providers=[provider])
                got = session.run(["cls", "loc"], feeds)
                times = []
                for _ in range(args.frames):
                    start = time.perf_counter()
                    session.run(["cls", "loc"], feeds)
                    times.append((time.perf_counter() - start) * 1000)
                error = max(float(np.abs(g - e).max() / np.abs(e).max()) for g, e in zip(got, expected))
                results[f"{preset} {provider}"] = {"median_ms": float(np.median(times)), "relative_error": error}
    return results


def step_tensorrt(args) -> dict:
    if args.dry_run:
        raise Skipped("--dry-run: TensorRT needs an NVIDIA GPU")
    try:
        import tensorrt  # noqa: F401
    except ImportError as error:
        raise Skipped(f"tensorrt is not importable: {error}") from None
    results = {}
    for preset in args.presets:
        with tempfile.TemporaryDirectory() as folder:
            out = run([sys.executable, str(HERE / "tensorrt_check.py"), folder, "--preset", preset, "--build"],
                      args.step_timeout)
            results[preset] = out.strip().splitlines()[-3:]
    return results


def agreement(speed: dict) -> list[dict]:
    """IoU of every configuration's boxes against the fp32 reference on its device and against the CPU."""
    import numpy as np

    from siamrpnpp_core.boxes import iou

    cpu = {r["preset"]: np.array(r["boxes"]) for r in speed.get("cpu", []) if r["backend"] == "eager"}
    rows = []
    records = speed.get("gpu", [])
    fp32 = {r["preset"]: np.array(r["boxes"]) for r in records
            if r["backend"] == "eager" and r["precision"] == "fp32"}
    for r in records:
        boxes, row = np.array(r["boxes"]), {"config": _config_name(r)}
        for name, reference in (("vs fp32 same device", fp32.get(r["preset"])), ("vs CPU", cpu.get(r["preset"]))):
            if reference is not None and len(reference) == len(boxes):
                overlap = iou(boxes, reference)
                row[name] = {"mean_iou": float(overlap.mean()), "min_iou": float(overlap.min()),
                             "below_0.9": float((overlap < 0.9).mean())}
        rows.append(row)
    return rows


def _config_name(record: dict) -> str:
    graphs = " + CUDA graphs" if record.get("cuda_graphs") else ""
    return f"{record['device']} {record['preset']} {record['backend']} {record['precision']}{graphs}"


def markdown(report: dict) -> str:
    lines = [f"# GPU check ({report['mode']})", "", f"machine: {report['machine']}", "",
             "| step | status | seconds | detail |", "|---|---|---|---|"]
    for name, step in report["steps"].items():
        detail = step.get("reason") or step.get("error") or ""
        lines.append(f"| {name} | {step['status']} | {step['seconds']:.1f} | {detail[:200].replace('|', '/')} |")
    speed = report["steps"].get("speed", {}).get("result", {})
    if speed:
        lines += ["", "| configuration | ms/frame | FPS | batch targets | target-frames/s |", "|---|---|---|---|---|"]
        for r in speed.get("cpu", []) + [r for r in speed.get("gpu", []) if r not in speed.get("cpu", [])]:
            batch = (f"{r['batch']['targets']} | {r['batch']['target_frames_per_s']:.0f}" if "batch" in r
                     else "- | -")
            lines.append(f"| {_config_name(r)} | {r['total_ms']:.2f} | {1000 / r['total_ms']:.1f} | {batch} |")
    rows = report.get("agreement", [])
    if rows:
        lines += ["", "| configuration | mean IoU vs fp32 | min | frames < 0.9 | mean IoU vs CPU | min | frames < 0.9 |",
                  "|---|---|---|---|---|---|---|"]
        for row in rows:
            cells = []
            for key in ("vs fp32 same device", "vs CPU"):
                a = row.get(key)
                cells += [f"{a['mean_iou']:.4f}", f"{a['min_iou']:.4f}", f"{a['below_0.9']:.1%}"] if a else ["-"] * 3
            lines.append(f"| {row['config']} | " + " | ".join(cells) + " |")
    ort_rows = report["steps"].get("onnxruntime", {}).get("result", {})
    if ort_rows:
        lines += ["", "| ONNX Runtime | median ms | max relative error vs PyTorch fp32 |", "|---|---|---|"]
        lines += [f"| {k} | {v['median_ms']:.2f} | {v['relative_error']:.2e} |" for k, v in ort_rows.items()]
    lines += ["", f"targets: R50 fp16 one target >= {FP16_FPS_TARGET} FPS, batched >= {BATCH_TARGET} target-frames/s"]
    return "\n".join(lines) + "\n"


STEPS = (("environment", step_environment), ("install", step_install), ("cuda_tests", step_cuda_tests),
         ("speed", step_speed), ("onnxruntime", step_onnxruntime), ("tensorrt", step_tensorrt))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE / "results"), help="folder for gpu_check.json and .md")
    parser.add_argument("--dry-run", action="store_true", help="CPU only, AlexNet, a few frames; installs nothing")
    parser.add_argument("--no-install", action="store_true", help="use the packages already installed")
    parser.add_argument("--presets", nargs="+", choices=PRESETS, help="default: all three (dry run: AlexNet)")
    parser.add_argument("--frames", type=int, help="timed frames per configuration (default 60; dry run 3)")
    parser.add_argument("--warmup", type=int, help="untimed frames first (default 10; dry run 1)")
    parser.add_argument("--targets", type=int, help="targets in one batch (default 32; dry run 2)")
    parser.add_argument("--step-timeout", type=float, default=420, help="seconds before a step is stopped")
    args = parser.parse_args(argv)
    dry = args.dry_run
    args.presets = args.presets or (["siamrpn_alex_dwxcorr"] if dry else list(PRESETS))
    args.frames = args.frames or (3 if dry else 60)
    args.warmup = args.warmup if args.warmup is not None else (1 if dry else 10)
    args.targets = args.targets or (2 if dry else 32)
    sys.path.insert(0, str(ROOT))

    report = {"mode": "dry run (CPU)" if dry else "CUDA", "machine": cpu_model(), "steps": {}}
    for name, fn in STEPS:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            entry = {"status": "ok", "result": fn(args)}
        except Skipped as reason:
            entry = {"status": "skipped", "reason": str(reason)}
        except Exception as error:  # every step reports and the next one runs
            traceback.print_exc()
            entry = {"status": "FAILED", "error": f"{type(error).__name__}: {error}"}
        entry["seconds"] = time.perf_counter() - start
        print(f"   {entry['status']}" + (f": {entry.get('reason') or entry.get('error')}"
                                         if entry["status"] != "ok" else ""), flush=True)
        report["steps"][name] = entry
    report["agreement"] = agreement(report["steps"]["speed"].get("result", {}))

    os.makedirs(args.out, exist_ok=True)
    from siamrpnpp_core.atomic import atomic_write

    atomic_write(os.path.join(args.out, "gpu_check.json"), json.dumps(report, indent=1, default=str))
    table = markdown(report)
    atomic_write(os.path.join(args.out, "gpu_check.md"), table)
    print(table)
    return 1 if any(s["status"] == "FAILED" for s in report["steps"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
