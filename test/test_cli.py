"""The `siamrpnpp` command end to end on real videos."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamrpnpp_core import build_tracker, open_frames
from siamrpnpp_core.sources import natural_key

from video_frames import read_frames

INIT = "638,238,48,84"


def siamrpnpp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "siamrpnpp_core.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def read_boxes(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_track_video_writes_results_and_annotated_video(tmp_path, opencv_doc_video):
    out, video = tmp_path / "boxes.txt", tmp_path / "tracked.mp4"
    run = siamrpnpp("track", opencv_doc_video("vtest.avi"), "--init", INIT, "--device", "cpu", "--output", out,
                    "--video", video, "--max-frames", 6)
    assert run.returncode == 0, run.stderr
    assert "fps" in run.stdout
    boxes = read_boxes(out)
    assert boxes.shape == (6, 4)
    assert boxes[0].tolist() == [638, 238, 48, 84]
    written = read_frames(video, 6)
    assert written[0].shape == (576, 768, 3)

    # the command adds no error to what the Python API gives on the same frames
    tracker = build_tracker(device="cpu")
    frames = read_frames(opencv_doc_video("vtest.avi"), 6)
    tracker.init(frames[0], (638, 238, 48, 84))
    api = [tracker.track(f).bbox for f in frames[1:]]
    np.testing.assert_allclose(boxes[1:], api, atol=1e-4)


def test_track_image_folder(tmp_path, opencv_doc_video):
    folder = tmp_path / "img"
    folder.mkdir()
    for i, frame in enumerate(read_frames(opencv_doc_video("Megamind.avi"), 4)):
        cv2.imwrite(str(folder / f"{i + 1}.jpg"), frame)  # 1.jpg .. 4.jpg, natural order
    out = tmp_path / "r.txt"
    run = siamrpnpp("track", folder, "--init", "300,100,120,150", "--device", "cpu", "--output", out)
    assert run.returncode == 0, run.stderr
    assert read_boxes(out).shape == (4, 4)


def test_long_term_preset_through_the_command_line(tmp_path, opencv_doc_video):
    out = tmp_path / "lt.txt"
    run = siamrpnpp("track", opencv_doc_video("tree.avi"), "--init", "120,60,60,90", "--device", "cpu",
                    "--preset", "siamrpn_r50_l234_dwxcorr_lt", "--output", out, "--max-frames", 3)
    assert run.returncode == 0, run.stderr
    assert read_boxes(out).shape == (3, 4)


@pytest.mark.parametrize("args,message", [
    (["track", "missing.avi", "--init", INIT], "no such video file or image folder"),
    (["track", "VIDEO", "--init", "1,2,3"], "expected X,Y,W,H"),
    (["track", "VIDEO", "--init", "1,2,0,3", "--max-frames", 2], "width and height must be positive"),
    (["track", "VIDEO", "--init", "5000,2,10,10", "--max-frames", 2], "entirely outside"),
    (["track", "VIDEO", "--init", INIT, "--weights", "nope.pth"], "no such file"),
    (["track", "VIDEO", "--init", INIT, "--device", "cuda:7"], "CUDA device"),
    (["track", "VIDEO", "--init", INIT, "--preset", "resnet9000"], "invalid choice"),
])
def test_bad_command_lines_give_clear_errors(opencv_doc_video, args, message):
    args = [str(opencv_doc_video("tree.avi")) if a == "VIDEO" else a for a in args]
    run = siamrpnpp(*args, "--device", "cpu") if "--device" not in args else siamrpnpp(*args)
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_demo_runs_on_the_packaged_clip(tmp_path):
    run = siamrpnpp("demo", "--device", "cpu", "--max-frames", 3, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "shipped demonstration model" in run.stdout  # no --weights: the default preset's trained weights
    assert read_boxes(tmp_path / "demo_boxes.txt").shape == (3, 4)
    assert (tmp_path / "demo_tracked.mp4").stat().st_size > 0


def test_frame_sources(tmp_path, opencv_doc_video):
    assert sorted(["10.jpg", "2.jpg", "1.jpg"], key=natural_key) == ["1.jpg", "2.jpg", "10.jpg"]
    source = open_frames(opencv_doc_video("tree.avi"))
    assert source.length_hint and sum(1 for _ in source) == 68
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="holds no images"):
        open_frames(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="unreadable image"):
        list(open_frames(tmp_path))
    with pytest.raises(ValueError, match="cannot be opened as a video"):
        open_frames(tmp_path / "notes.txt")
    assert Path(tmp_path / "notes.txt").exists()
