"""`benchmarks/gpu_check.py --dry-run`: every step of the GPU check runs (or says why not) on the CPU."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_dry_run_runs_every_step_and_writes_its_tables(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--dry-run", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    steps = report["steps"]
    assert list(steps) == ["environment", "install", "cuda_tests", "speed", "onnxruntime", "tensorrt"]
    assert steps["install"]["status"] == "skipped" and steps["tensorrt"]["status"] == "skipped"
    assert all(steps[name]["status"] == "ok" for name in ("environment", "cuda_tests", "speed", "onnxruntime"))
    assert "skipped" in steps["cuda_tests"]["result"]["pytest"]  # collected, then skipped without CUDA
    records = steps["speed"]["result"]["gpu"]
    assert {r["backend"] for r in records} == {"eager", "torch"}
    assert all(len(r["boxes"]) == 4 and r["batch"]["targets"] == 2 for r in records)
    onnx = steps["onnxruntime"]["result"]["siamrpn_alex_dwxcorr CPUExecutionProvider"]
    assert onnx["relative_error"] < 1e-4
    # the folded torch engine tracks the same boxes as the eager path it is compared with
    rows = {row["config"]: row for row in report["agreement"]}
    assert rows["cpu siamrpn_alex_dwxcorr torch fp32"]["vs fp32 same device"]["mean_iou"] > 0.999
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| speed | ok |" in table and "mean IoU vs CPU" in table
