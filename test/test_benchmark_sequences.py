"""The hand-annotated sequences of benchmarks/vs_opencv.py: well formed, and the validation set (for choosing
settings) shares no frame with the held-out set (run once with them) or with the demo clip (vtest.avi 0-99)."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from vs_opencv import HELDOUT, heldout_sequences  # noqa: E402

VALIDATION = ROOT / "benchmarks" / "validation" / "sequences.toml"
DEMO_SOURCE = ("vtest.avi", range(0, 100))


@pytest.mark.parametrize("path", [HELDOUT, VALIDATION], ids=["held-out", "validation"])
def test_sequences_are_well_formed(path):
    sequences = heldout_sequences(path)
    assert len({s["name"] for s in sequences}) == len(sequences) >= 2
    for s in sequences:
        assert s["first"] < s["last"] and min(s["boxes"]) == s["first"], s["name"]
        for frame, (x, y, w, h) in s["boxes"].items():
            assert s["first"] <= frame <= s["last"] and w > 0 and h > 0 and x >= 0 and y >= 0, (s["name"], frame)


def frames_by_video(path) -> dict[str, set[int]]:
    used: dict[str, set[int]] = {}
    for s in heldout_sequences(path):
        used.setdefault(Path(s["path"]).name, set()).update(range(s["first"], s["last"] + 1))
    return used


def test_validation_frames_are_neither_held_out_nor_the_demo_clip():
    validation, heldout = frames_by_video(VALIDATION), frames_by_video(HELDOUT)
    for video, frames in validation.items():
        assert not frames & heldout.get(video, set()), video
        if video == DEMO_SOURCE[0]:
            assert not frames & set(DEMO_SOURCE[1]), video
    assert not heldout.get(DEMO_SOURCE[0], set()) & set(DEMO_SOURCE[1])
