"""Every backend computes the eager model's maps and boxes; batching and ONNX export keep them too."""
from __future__ import annotations

import copy
import dataclasses
import tempfile

import numpy as np
import onnx
import pytest
import torch
from video_frames import read_frames

from siamrpnpp_core import SiamRPNTracker, build_model, get_preset, track_batch
from siamrpnpp_core.backends import build_engine, resolve_backend
from siamrpnpp_core.backends.onnx_export import export_onnx, verify_onnx
from siamrpnpp_core.model.inference import InferenceNetwork, SearchBranch, TemplateBranch, template_kernels

WALKER = (638, 238, 48, 84)  # vtest.avi, frame 0
OTHERS = [(450, 100, 40, 90), (100, 300, 60, 120)]


def randomize_batchnorm(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Give every BatchNorm non-trivial statistics so that folding them is really exercised."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
    return model


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max())


@pytest.fixture(scope="module")
def r50():
    return randomize_batchnorm(build_model("siamrpn_r50_l234_dwxcorr", random_init=True, device="cpu"))


@pytest.fixture(scope="module")
def alexnet():
    return build_model("siamrpn_alex_dwxcorr", device="cpu")  # the shipped trained weights


@pytest.mark.parametrize("preset", ["siamrpn_r50_l234_dwxcorr", "siamrpn_alex_dwxcorr",
                                    "siamrpn_mobilev2_l234_dwxcorr"])
@pytest.mark.parametrize("unrolled", [False, True])
def test_inference_form_equals_eager_model(preset, unrolled):
    model = randomize_batchnorm(build_model(preset, random_init=True, device="cpu"))
    network = InferenceNetwork(model, unrolled_xcorr=unrolled)
    generator = torch.Generator().manual_seed(0)
    z = torch.rand(2, 3, 127, 127, generator=generator) * 255
    x = torch.rand(2, 3, 255, 255, generator=generator) * 255
    with torch.inference_mode():
        cls_ref, loc_ref = model.track(model.template(z), x)
        kernels = TemplateBranch(network)(z)
        cls, loc = SearchBranch(network)(x, *kernels)
        unfolded_kernels = template_kernels(model, z)  # what the ONNX Runtime and OpenVINO engines use
    assert len(unfolded_kernels) == len(kernels)
    for unfolded, folded in zip(unfolded_kernels, kernels):
        assert unfolded.shape == folded.shape and relative_error(unfolded, folded) < 1e-5
    assert cls.shape == cls_ref.shape and loc.shape == loc_ref.shape
    assert relative_error(cls, cls_ref) < 1e-5
    assert relative_error(loc, loc_ref) < 1e-5
    # The inference form is a copy: the eager model's BatchNorms are untouched.
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in network.modules())


@pytest.mark.parametrize("backend", ["torch", "onnxruntime", "openvino"])
def test_backend_maps_equal_eager_for_a_batch(backend, alexnet, r50, tmp_path):
    for model in (alexnet, r50):
        engine = build_engine(model, backend=backend, cache_dir=tmp_path)
        reference = build_engine(model, backend="eager")
        generator = torch.Generator().manual_seed(3)
        z = torch.rand(2, 3, 127, 127, generator=generator) * 255
        for size in (255, 287):  # the default and a larger search region (dynamic axes)
            x = torch.rand(2, 3, size, size, generator=generator) * 255
            cls, loc = engine.search(engine.template(z), x)
            cls_ref, loc_ref = reference.search(reference.template(z), x)
            assert relative_error(cls, cls_ref) < 1e-5, (backend, size)
            assert relative_error(loc, loc_ref) < 1e-5, (backend, size)


def _track(engine, config, frames, box):
    tracker = SiamRPNTracker(engine, config)
    tracker.init(frames[0], box)
    return np.array([tracker.track(f).bbox for f in frames[1:]])


@pytest.mark.parametrize("backend", ["torch", "onnxruntime", "openvino"])
def test_backend_boxes_equal_reference_on_real_video(backend, alexnet, opencv_doc_video, tmp_path):
    frames = read_frames(opencv_doc_video("vtest.avi"), 60)
    config = get_preset("siamrpn_alex_dwxcorr").tracker
    reference = _track(build_engine(alexnet, backend="eager"), config, frames, WALKER)
    boxes = _track(build_engine(alexnet, backend=backend, cache_dir=tmp_path), config, frames, WALKER)
    assert np.abs(boxes - reference).max() <= 0.01
    assert np.ptp(reference[:, 0]) > 5  # the boxes really move over the clip


def test_default_backend_boxes_equal_reference_for_r50_on_real_video(r50, opencv_doc_video, tmp_path):
    frames = read_frames(opencv_doc_video("vtest.avi"), 16)
    config = get_preset("siamrpn_r50_l234_dwxcorr").tracker
    reference = _track(build_engine(r50, backend="eager"), config, frames, WALKER)
    boxes = _track(build_engine(r50, backend="auto", cache_dir=tmp_path), config, frames, WALKER)
    assert np.abs(boxes - reference).max() <= 0.01


@pytest.mark.parametrize("backend", ["eager", "onnxruntime"])
def test_track_batch_equals_one_tracker_at_a_time(backend, alexnet, opencv_doc_video, tmp_path):
    frames = read_frames(opencv_doc_video("vtest.avi"), 20)
    engine = build_engine(alexnet, backend=backend, cache_dir=tmp_path)
    config = get_preset("siamrpn_alex_dwxcorr").tracker
    boxes = [WALKER, *OTHERS]
    single = [SiamRPNTracker(engine, config) for _ in boxes]
    batched = [SiamRPNTracker(engine, config) for _ in boxes]
    for tracker, other, box in zip(single, batched, boxes):
        tracker.init(frames[0], box)
        other.init(frames[0], box)
    calls = []
    search = engine.search
    engine.search = lambda kernels, x: calls.append(x.shape[0]) or search(kernels, x)
    for frame in frames[1:]:
        expected = [t.track(frame) for t in single]
        calls.clear()
        got = track_batch(batched, [frame] * len(batched))
        assert calls == [3]  # one network pass for the three targets
        for e, g in zip(expected, got):
            assert np.allclose(g.bbox, e.bbox, atol=1e-3) and abs(g.score - e.score) < 1e-5
            assert g.state == e.state


def test_track_batch_groups_by_search_size_and_keeps_order(alexnet, opencv_doc_video):
    frames = read_frames(opencv_doc_video("vtest.avi"), 4)
    engine = build_engine(alexnet, backend="eager")
    base = get_preset("siamrpn_alex_dwxcorr").tracker
    lost_config = dataclasses.replace(base, long_term=True, confidence_low=1.01, confidence_high=1.02)
    trackers = [SiamRPNTracker(engine, base), SiamRPNTracker(engine, lost_config), SiamRPNTracker(engine, base)]
    for tracker, box in zip(trackers, [WALKER, *OTHERS]):
        tracker.init(frames[0], box)
    sizes = []
    search = engine.search
    engine.search = lambda kernels, x: sizes.append(tuple(x.shape)) or search(kernels, x)
    track_batch(trackers, [frames[1]] * 3)  # the second tracker becomes lost: it searches wider next
    sizes.clear()
    results = track_batch(trackers, [frames[2], frames[2], frames[3]])
    size = base.instance_size
    assert sorted(sizes) == sorted([(2, 3, size, size), (1, 3, 831, 831)])
    assert results[1].state.value == "lost" and results[0].state.value == "tracking"


def test_track_batch_rejects_bad_calls(alexnet, vtest_frames):
    engine = build_engine(alexnet, backend="eager")
    tracker = SiamRPNTracker(engine, get_preset("siamrpn_alex_dwxcorr").tracker)
    with pytest.raises(ValueError, match="before init"):
        track_batch([tracker], [vtest_frames[0]])
    tracker.init(vtest_frames[0], WALKER)
    with pytest.raises(ValueError, match="1 trackers but 2 frames"):
        track_batch([tracker], vtest_frames[:2])
    with pytest.raises(ValueError, match="uint8"):
        track_batch([tracker], [vtest_frames[1].astype(np.float32)])


def test_onnx_export_is_tensorrt_friendly_and_matches_pytorch(r50, tmp_path):
    template_path, search_path = export_onnx(r50, tmp_path)
    graph = onnx.load(str(search_path)).graph
    constants = {init.name for init in graph.initializer}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    assert convs and all(node.input[1] in constants for node in convs)  # no conv takes a runtime kernel
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert inputs["x"] == ["batch", 3, "size", "size"]
    assert inputs["kernel0"][0] == "batch" and len(inputs) == 4
    errors = verify_onnx(r50, template_path, search_path, batch=3)
    assert max(errors.values()) < 1e-5, errors


def test_backend_choice_and_errors(alexnet):
    assert resolve_backend("auto", torch.device("cpu")) == "onnxruntime"
    assert resolve_backend("auto", torch.device("cuda", 0)) == "torch"
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        resolve_backend("tensorrt", torch.device("cpu"))
    with pytest.raises(ValueError, match="runs on the CPU"):
        resolve_backend("openvino", torch.device("cuda", 0))
    with pytest.raises(ValueError, match="cuda_graphs needs"):
        build_engine(alexnet, backend="torch", cuda_graphs=True)


def test_export_command_writes_checked_graphs_and_trtexec_lines(tmp_path, capsys):
    from siamrpnpp_core.cli import main

    assert main(["export", str(tmp_path / "onnx"), "--preset", "siamrpn_alex_dwxcorr"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "onnx" / "template.onnx").is_file() and (tmp_path / "onnx" / "search.onnx").is_file()
    errors = [float(v.split()[-1]) for v in out.split("max |difference| / max |value|: ")[1].splitlines()[0].split(",")]
    assert len(errors) == 3 and max(errors) < 1e-5
    assert "--fp16" in out and "--maxShapes=x:8x3x255x255,kernel0:8x512x4x4" in out


def test_onnx_graphs_are_cached_by_weights_and_architecture(alexnet, tmp_path):
    from siamrpnpp_core.backends.onnx_export import weights_digest

    first = build_engine(alexnet, backend="onnxruntime", cache_dir=tmp_path).graph_path
    stamp = first.stat().st_mtime_ns
    again = build_engine(alexnet, backend="onnxruntime", cache_dir=tmp_path).graph_path
    assert again == first and again.stat().st_mtime_ns == stamp  # reused, not exported again
    assert not (first.parent / "template.onnx").exists()  # the engines run the template branch in PyTorch
    changed = copy.deepcopy(alexnet)
    with torch.no_grad():
        changed.rpn_head.cls.head[3].bias[0] += 1.0
    assert weights_digest(changed) != weights_digest(alexnet)
    changed.rpn_head.cls.head[3].bias.data = alexnet.rpn_head.cls.head[3].bias.data.clone()
    changed.config = dataclasses.replace(alexnet.config, template_center_size=5)
    assert weights_digest(changed) != weights_digest(alexnet)  # same weights, other program


def test_onnxruntime_reuses_its_optimised_graph_and_rebuilds_a_damaged_one(alexnet, tmp_path, caplog):
    first = build_engine(alexnet, backend="onnxruntime", cache_dir=tmp_path)
    entries = list(first.graph_path.parent.glob("ort-*"))
    assert len(entries) == 1 and sorted(p.name for p in entries[0].iterdir()) == ["search.onnx", "search.weights"]
    assert not list(tmp_path.rglob("*.tmp*"))
    optimised = entries[0] / "search.onnx"
    z = torch.rand(2, 3, 127, 127) * 255
    x = torch.rand(2, 3, 255, 255) * 255
    expected = first.search(first.template(z), x)

    stamp = optimised.stat().st_mtime_ns
    cached = build_engine(alexnet, backend="onnxruntime", cache_dir=tmp_path)
    assert optimised.stat().st_mtime_ns == stamp  # loaded, not optimised and written again
    for got, want in zip(cached.search(cached.template(z), x), expected):
        torch.testing.assert_close(got, want, rtol=0, atol=0)

    (entries[0] / "search.weights").write_bytes(b"truncated")
    with caplog.at_level("WARNING"):
        rebuilt = build_engine(alexnet, backend="onnxruntime", cache_dir=tmp_path)
    assert "unreadable cached graph" in caplog.text
    assert (entries[0] / "search.weights").stat().st_size > 1_000_000  # the entry was written again
    assert not list(tmp_path.rglob("*.tmp*"))
    for got, want in zip(rebuilt.search(rebuilt.template(z), x), expected):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_onnx_backends_track_without_a_writable_cache(backend, alexnet, tmp_path, caplog, monkeypatch):
    blocker = tmp_path / "not-a-folder"  # even root cannot create a folder below a file
    blocker.write_text("")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    reference = build_engine(alexnet, backend="eager")
    with caplog.at_level("WARNING"):
        engine = build_engine(alexnet, backend=backend, cache_dir=blocker / "cache")
    assert "cannot write the ONNX cache" in caplog.text and engine.graph_path is None
    z = torch.rand(1, 3, 127, 127) * 255
    x = torch.rand(1, 3, 287, 287) * 255
    for got, want in zip(engine.search(engine.template(z), x), reference.search(reference.template(z), x)):
        assert relative_error(got, want) < 1e-5
    assert not list(scratch.iterdir())  # the one-run export is deleted once loaded
