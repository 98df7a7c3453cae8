"""``--ray``: `eval run` and `eval search` fan sequences out over a Ray cluster (a local head of 2 CPUs
started here, stopped at the end) and give the same results as the local run."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Loopback only (also set in test/conftest.py): Ray otherwise binds its head, raylet and workers to the
# machine's network address. Ray reads this when imported; the command started below inherits it.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reporting home, no internet needed
import ray  # noqa: E402

from siamrpnpp_core import TrackerOptions
from siamrpnpp_core.cli import main
from siamrpnpp_core.evaluation.search import SearchJob, SearchOptions, search
from siamrpnpp_core.synthetic import SynthConfig, generate

BACKGROUNDS = Path(__file__).resolve().parents[2] / ".cache/opencv-doc/usr/share/doc/opencv-doc/examples/data"
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def cluster():
    """A Ray head on this machine's loopback only; its address."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024**2,
             log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    if not BACKGROUNDS.is_dir():
        pytest.fail(f"{BACKGROUNDS} missing: run `make test-data`")
    root = str(tmp_path_factory.mktemp("synth"))
    generate(root, SynthConfig(num_sequences=3, length=8, size=(128, 96), layout="lasot"), str(BACKGROUNDS))
    return root


def no_local_tracker(monkeypatch):
    """Building a network in this process fails (Ray's workers import their own copy)."""
    def fail(self):
        raise AssertionError("a tracker was built in the driver")
    monkeypatch.setattr(TrackerOptions, "build_engine", fail)


def test_run_over_ray_writes_the_local_run_s_files(cluster, synth_root, tmp_path, capsys):
    """Another process (the command) connects to the cluster by its address."""
    common = ["eval", "run", "--dataset", "LaSOT", "--root", synth_root, "--results", str(tmp_path), "--device", "cpu"]
    env = {**os.environ, "RAY_AUTH_MODE": "token"}  # Ray >= 2.59 makes local clusters ask for its token
    done = subprocess.run([sys.executable, "-m", "siamrpnpp_core.cli", *common, "--tracker-name", "ray", "--ray",
                           cluster], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0 and "ran 3 of 3 sequences" in done.stdout, done.stderr
    assert main(common + ["--tracker-name", "local"]) == 0
    names = sorted(os.listdir(tmp_path / "local"))
    assert len(names) == 3 and sorted(os.listdir(tmp_path / "ray")) == names
    for name in names:  # the same boxes; workers and driver may sum in another order (threads): 1e-3 px
        local, remote = (np.loadtxt(tmp_path / run / name, delimiter=",") for run in ("local", "ray"))
        np.testing.assert_allclose(remote, local, rtol=0, atol=1e-3, err_msg=name)
    assert main(common + ["--tracker-name", "ray", "--ray", "127.0.0.2:1"]) == 2  # one cluster per process
    assert "already connected to the Ray cluster at" in capsys.readouterr().err


def test_search_over_ray_scores_as_the_local_search(cluster, synth_root, tmp_path, monkeypatch):
    space = {"penalty_k": {"values": [0.05, 0.3]}, "window_influence": {"values": [0.42]}, "lr": {"values": [0.38]}}
    tables = {}
    no_local_tracker(monkeypatch)
    for where, address in (("ray", cluster), ("local", None)):
        if address is None:
            monkeypatch.undo()
        job = SearchJob("LaSOT", synth_root, str(tmp_path / where), "success", tracker=TrackerOptions(device="cpu"))
        rows, _ = search(job, space, SearchOptions(workers=2 if address else 1, ray=address, pruner="none"))
        tables[where] = sorted((r["setting"], r["success"]) for r in rows)
    assert tables["ray"] == tables["local"] and len(tables["ray"]) == 2
