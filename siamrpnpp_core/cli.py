"""The ``siamrpnpp`` command line: track a video, run the demo, convert weights, list presets."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from importlib import resources

import cv2
from tqdm import tqdm

from .builder import build_model, shipped_weights_for
from .checkpoint import CheckpointError, check_state_dict, read_state_dict, save_safetensors
from .config import HYPERPARAMETERS, PRESETS, PYSOT, get_preset
from .model import SiamRPN
from .options import add_model_options, add_tracker_options, tracker_options
from .sources import open_frames, write_boxes
from .visualize import draw_init, draw_result

DEMO_INIT = (510.0, 238.0, 48.0, 84.0)  # the walking person on the right of the packaged clip


def parse_box(text: str) -> tuple[float, float, float, float]:
    """``"x,y,w,h"`` to four floats (argparse type)."""
    parts = text.replace(" ", "").split(",")
    try:
        box = tuple(float(p) for p in parts)
    except ValueError:
        box = ()
    if len(box) != 4:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H (four numbers), got {text!r}")
    return box


def _add_track_options(p: argparse.ArgumentParser) -> None:
    add_tracker_options(p)
    p.add_argument("--output", help="write one x,y,w,h line per frame (OTB result format)")
    p.add_argument("--video", help="write an annotated video (e.g. out.mp4)")
    p.add_argument("--show", action="store_true", help="show frames in a window while tracking")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siamrpnpp", description="SiamRPN++ visual object tracking.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("track", help="track one target through a video file or image folder")
    p.add_argument("source", help="video file or folder of images")
    p.add_argument("--init", required=True, type=parse_box, metavar="X,Y,W,H", help="target box in the first frame")
    _add_track_options(p)
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("demo", help="track the walking person in the packaged clip")
    _add_track_options(p)
    p.set_defaults(func=cmd_demo, video_default="demo_tracked.mp4", output_default="demo_boxes.txt")

    p = sub.add_parser("convert", help="write any accepted checkpoint as safetensors (checked against a preset)")
    p.add_argument("input", help="pysot / mmtracking .pth, training checkpoint or safetensors")
    p.add_argument("output", help="destination .safetensors")
    p.add_argument("--preset", default="siamrpn_r50_l234_dwxcorr", choices=sorted(PRESETS))
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("export", help="write the template and search branches as ONNX, checked with ONNX Runtime")
    p.add_argument("output", help="destination folder (template.onnx, search.onnx)")
    add_model_options(p, default_preset="siamrpn_r50_l234_dwxcorr")
    p.add_argument("--search-size", type=int, default=255, help="search crop used for tracing (axes stay dynamic)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("presets", help="list the named presets and hyperparameter sets")
    p.set_defaults(func=cmd_presets)

    _add_optional_groups(sub)
    return parser


def _add_optional_groups(sub) -> None:
    """Subcommand groups living in their own packages: ``eval`` and ``prepare``."""
    from .evaluation.cli import add_parser as add_eval
    from .training.cli import add_parser as add_prepare
    from .training.cli import add_train_parser

    add_eval(sub)
    add_prepare(sub)
    add_train_parser(sub)


def cmd_track(args) -> int:
    tracker = tracker_options(args).build()
    frames = open_frames(args.source)
    total = frames.length_hint
    if args.max_frames:
        total = min(total or args.max_frames, args.max_frames)
    if tracker.config.weights_format != PYSOT:
        logging.info("weights from %s: tracking with its crop and anchor conventions", tracker.config.weights_format)
    boxes, writer, elapsed, tracked = [], None, 0.0, 0
    try:
        for index, frame in enumerate(tqdm(frames, total=total, unit="frame", disable=None)):
            if args.max_frames and index >= args.max_frames:
                break
            if index == 0:
                tracker.init(frame, args.init)
                boxes.append(args.init)
                shown = draw_init(frame, args.init)
            else:
                start = time.perf_counter()
                result = tracker.track(frame)
                elapsed += time.perf_counter() - start
                tracked += 1
                boxes.append(result.bbox)
                shown = draw_result(frame, result, tracked / elapsed if elapsed else None)
            writer = _write_video(args.video, writer, shown, frames)
            if args.show:
                _show(shown)
    finally:  # an interrupted run still leaves the boxes and video it has so far
        if writer is not None:
            writer.release()
        if args.output and boxes:
            write_boxes(args.output, boxes)
    if not boxes:
        raise ValueError(f"{args.source}: no frames could be read")
    fps = tracked / elapsed if elapsed else 0.0
    print(f"tracked {tracked} frames after the first at {fps:.1f} fps ({tracker.device}, {args.preset})")
    for path in (args.output, args.video):
        if path:
            print(f"wrote {path}")
    return 0


def cmd_demo(args) -> int:
    args.source = str(resources.files("siamrpnpp_core") / "data" / "demo.mp4")
    args.init = DEMO_INIT
    args.video = args.video or args.video_default
    args.output = args.output or args.output_default
    if args.weights is None and not args.random_init and shipped_weights_for(args.preset):
        print(f"NOTE: no --weights given: using the shipped demonstration model ({args.preset}, trained without "
              "labelled video). For real tracking pass published SiamRPN++ weights (pysot model zoo "
              "model.pth) with --weights and the matching --preset.")
    elif args.weights is None:
        print("NOTE: no --weights given, so the network is RANDOMLY INITIALISED: the box will not follow the "
              "person. Pass published SiamRPN++ weights (pysot model zoo model.pth) with --weights.")
    return cmd_track(args)


def cmd_convert(args) -> int:
    state, weights_format = read_state_dict(args.input)
    check_state_dict(SiamRPN(get_preset(args.preset).model), state, source=args.input)
    save_safetensors(state, args.output, weights_format, preset=args.preset, source=os.path.basename(args.input))
    print(f"wrote {args.output}: {len(state)} tensors, {weights_format} weights format, preset {args.preset}")
    return 0


def cmd_export(args) -> int:
    from .backends.onnx_export import export_onnx, trtexec_commands, verify_onnx
    model = build_model(args.preset, weights=args.weights, random_init=args.random_init, device="cpu")
    template_path, search_path = export_onnx(model, args.output, search_size=args.search_size)
    errors = verify_onnx(model, template_path, search_path)
    print(f"wrote {template_path} and {search_path}")
    print("ONNX Runtime vs PyTorch eager, max |difference| / max |value|: "
          + ", ".join(f"{name} {value:.2e}" for name, value in errors.items()))
    print("TensorRT engines (FP16, batch 1 to 8):")
    for line in trtexec_commands(template_path, search_path, search_size=args.search_size):
        print("  " + line)
    return 0


def cmd_presets(args) -> int:
    for name, preset in PRESETS.items():
        t = preset.tracker
        print(f"{name:32s} k={t.penalty_k} wi={t.window_influence} lr={t.lr}  {preset.description}")
    print("\nhyperparameter sets (--hparams): penalty_k, window_influence, lr")
    for name, values in HYPERPARAMETERS.items():
        print(f"  {name:24s} {values}")
    return 0


def _write_video(path, writer, frame, frames):
    if not path:
        return None
    if writer is None:
        fps = getattr(frames, "fps", 0) or 25.0
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
        if not writer.isOpened():
            raise ValueError(f"{path}: cannot be written as a video")
    writer.write(frame)
    return writer


def _show(frame) -> None:
    try:
        cv2.imshow("siamrpnpp", frame)
        cv2.waitKey(1)
    except cv2.error:
        raise ValueError("--show needs an OpenCV build with GUI support (opencv-python, not -headless)") from None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, CheckpointError, OSError) as e:
        print(f"siamrpnpp: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
