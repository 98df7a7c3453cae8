"""`siamrpnpp demo` writes a video whose first frame shows the box the tracker was started from."""
import subprocess
import sys
from importlib import resources

import numpy as np

from siamrpnpp_core.cli import DEMO_INIT

from video_frames import read_frames


def magenta(pixels: np.ndarray) -> np.ndarray:
    """Which BGR pixels are the init box's magenta (after the video codec's loss)."""
    b, g, r = (pixels[..., i].astype(int) for i in range(3))
    return (b > 180) & (r > 180) & (g < 90)


def edge_coverage(frame: np.ndarray, box, band: int = 2) -> list[float]:
    """For each side of ``box`` (top, bottom, left, right): the fraction of its length where a magenta
    pixel lies within ``band`` pixels across the side."""
    x, y, w, h = (round(v) for v in box)
    xs, ys = np.arange(x + 3, x + w - 2), np.arange(y + 3, y + h - 2)  # the corners are left out
    sides = []
    for fixed, along, horizontal in ((y, xs, True), (y + h, xs, True), (x, ys, False), (x + w, ys, False)):
        hit = np.zeros(len(along), bool)
        for d in range(-band, band + 1):
            pixels = frame[fixed + d, along] if horizontal else frame[along, fixed + d]
            hit |= magenta(pixels)
        sides.append(float(hit.mean()))
    return sides


def test_first_frame_of_the_demo_video_shows_the_init_box(tmp_path):
    video = tmp_path / "demo_tracked.mp4"
    run = subprocess.run([sys.executable, "-m", "siamrpnpp_core.cli", "demo", "--device", "cpu", "--max-frames", "2",
                          "--video", str(video), "--output", str(tmp_path / "boxes.txt")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr
    first = read_frames(video, 1)[0]
    assert min(edge_coverage(first, DEMO_INIT)) > 0.9
    # the check sees the drawing, not the scene: the clip's own first frame has no such box
    clip = read_frames(resources.files("siamrpnpp_core") / "data" / "demo.mp4", 1)[0]
    assert max(edge_coverage(clip, DEMO_INIT)) < 0.05
    # and the box is where the init box is: shifted by 10 pixels it is not found
    x, y, w, h = DEMO_INIT
    assert max(edge_coverage(first, (x + 10, y + 10, w, h))) < 0.2
