"""FP16 accuracy and speed of TensorRT engines built from `siamrpnpp export` (needs a GPU and tensorrt).

    siamrpnpp export onnx/ --preset siamrpn_r50_l234_dwxcorr --weights model.pth   # prints trtexec lines
    trtexec ... (the printed commands)                  # template.plan and search.plan, --fp16
    python benchmarks/tensorrt_check.py onnx/ --preset siamrpn_r50_l234_dwxcorr --weights model.pth

With ``--build`` it exports the graphs into the folder and builds the same FP16 engines with TensorRT's
Python API (for machines with the ``tensorrt`` wheel but no ``trtexec``).

Runs the engines on random crops against the eager float32 PyTorch model on the same GPU (relative
error of cls/loc), then tracks the packaged clip with both and prints the largest box difference
and the median per-frame time of each.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from siamrpnpp_core import SiamRPNTracker, build_model, get_preset
from siamrpnpp_core.backends import Engine, build_engine
from siamrpnpp_core.backends.base import placement


class TensorRTEngine(Engine):
    """Our Engine interface over two deserialised TensorRT engines, buffers as torch CUDA tensors."""

    name = "tensorrt"

    def __init__(self, folder: Path, model: torch.nn.Module):
        import tensorrt as trt

        self.model = model  # the network the engines were built from (its weights' format, for the tracker)
        self.device, self.dtype = placement(model)[0], torch.float32
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engines = {}
        for part in ("template", "search"):
            engine = runtime.deserialize_cuda_engine((folder / f"{part}.plan").read_bytes())
            self.engines[part] = (engine, engine.create_execution_context())

    def _run(self, part: str, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        import tensorrt as trt

        engine, context = self.engines[part]
        outputs = {}
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                tensor = inputs[name].float().contiguous()
                context.set_input_shape(name, tuple(tensor.shape))
                context.set_tensor_address(name, tensor.data_ptr())
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            if engine.get_tensor_mode(name) == trt.TensorIOMode.OUTPUT:
                out = torch.empty(tuple(context.get_tensor_shape(name)), device=self.device)
                context.set_tensor_address(name, out.data_ptr())
                outputs[name] = out
        context.execute_async_v3(torch.cuda.current_stream(self.device).cuda_stream)
        return outputs

    def template(self, z):
        out = self._run("template", {"z": z})
        return tuple(out[f"kernel{i}"] for i in range(len(out)))

    def search(self, kernels, x):
        out = self._run("search", {"x": x, **{f"kernel{i}": k for i, k in enumerate(kernels)}})
        return out["cls"], out["loc"]


def build_plans(model: torch.nn.Module, folder: Path, search_size: int, max_batch: int = 8) -> None:
    """Export ``model`` to ``folder`` and build ``template.plan`` and ``search.plan`` in FP16, batch 1..max_batch."""
    import tensorrt as trt

    from siamrpnpp_core.backends.onnx_export import export_onnx, profile_shapes

    template_path, search_path = export_onnx(model.float().cpu(), folder, search_size=search_size)
    logger = trt.Logger(trt.Logger.WARNING)
    for path, inputs in profile_shapes(template_path, search_path, max_batch, search_size).items():
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(path):
            raise RuntimeError(f"TensorRT cannot parse {path}: "
                               + "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
        config = builder.create_builder_config()
        config.set_flag(trt.BuilderFlag.FP16)
        profile = builder.create_optimization_profile()
        for name, (low, opt, high) in inputs.items():
            profile.set_shape(name, low, opt, high)
        config.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise RuntimeError(f"TensorRT could not build an engine from {path}")
        Path(path).with_suffix(".plan").write_bytes(bytes(plan))


def track_clip(engine, config, frames, box):
    tracker = SiamRPNTracker(engine, config)
    tracker.init(frames[0], box)
    boxes, times = [], []
    for frame in frames[1:]:
        torch.cuda.synchronize()
        start = time.perf_counter()
        boxes.append(tracker.track(frame).bbox)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return np.array(boxes), statistics.median(times[5:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder with template.plan and search.plan")
    parser.add_argument("--preset", default="siamrpn_r50_l234_dwxcorr")
    parser.add_argument("--weights")
    parser.add_argument("--build", action="store_true", help="export and build the FP16 engines into FOLDER first")
    args = parser.parse_args()
    from track_speed import load_frames  # same folder

    from siamrpnpp_core.cli import DEMO_INIT

    device = torch.device("cuda", 0)
    preset = get_preset(args.preset)
    if args.build:
        build_plans(build_model(preset, weights=args.weights, device="cpu"), args.folder, preset.tracker.instance_size)
    model = build_model(preset, weights=args.weights, device=device)
    reference, trt_engine = build_engine(model, backend="eager"), TensorRTEngine(args.folder, model)
    generator = torch.Generator(device=device).manual_seed(0)
    z = torch.rand(2, 3, 127, 127, device=device, generator=generator) * 255
    x = torch.rand(2, 3, 255, 255, device=device, generator=generator) * 255
    expected = reference.search(reference.template(z), x)
    got = trt_engine.search(trt_engine.template(z), x)
    for name, a, b in zip(("cls", "loc"), got, expected):
        print(f"{name}: max |TensorRT - PyTorch fp32| / max |PyTorch| = {float((a - b).abs().max() / b.abs().max()):.2e}")
    config = preset.tracker  # SiamRPNTracker adopts the weights format of the loaded model
    frames = load_frames(120)
    boxes_ref, ms_ref = track_clip(reference, config, frames, DEMO_INIT)
    boxes_trt, ms_trt = track_clip(trt_engine, config, frames, DEMO_INIT)
    print(f"packaged clip, {len(frames) - 1} frames: largest box difference {np.abs(boxes_trt - boxes_ref).max():.3f} px; "
          f"median ms/frame PyTorch eager fp32 {ms_ref:.2f}, TensorRT {ms_trt:.2f}")


if __name__ == "__main__":
    main()
