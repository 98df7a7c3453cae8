"""The synthetic benchmark: real backgrounds, every event, every layout readable, fixed seed."""
import filecmp
import os
from pathlib import Path

import numpy as np
import pytest

from siamrpnpp_core.evaluation import load_dataset
from siamrpnpp_core.synthetic import LAYOUTS, SynthConfig, generate, load_backgrounds

BACKGROUNDS = Path(__file__).resolve().parents[2] / ".cache/opencv-doc/usr/share/doc/opencv-doc/examples/data"


@pytest.fixture(scope="module")
def backgrounds():
    if not BACKGROUNDS.is_dir():
        pytest.fail(f"{BACKGROUNDS} missing: run `make test-data`")
    return str(BACKGROUNDS)


def small(layout, seed=0):
    return SynthConfig(num_sequences=4, length=12, size=(96, 72), seed=seed, layout=layout)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_is_read_back(tmp_path, backgrounds, layout):
    name = generate(str(tmp_path), small(layout), backgrounds)
    ds = load_dataset(name, str(tmp_path))
    assert len(ds) == 4
    for seq in ds:
        assert len(seq) == 12 and seq.read_frame(0).shape == (72, 96, 3)
        gt = seq.groundtruth
        shown = ~np.isnan(gt).any(axis=1) & (gt[:, 2] > 0) if gt.shape[1] == 4 else np.ones(len(gt), bool)
        assert shown[0]
        if gt.shape[1] == 4:
            box = gt[shown]
            assert (box[:, 0] >= 0).all() and (box[:, 0] + box[:, 2] <= 96).all()
            assert (box[:, 1] >= 0).all() and (box[:, 1] + box[:, 3] <= 72).all()


def test_events_are_present_and_flagged(tmp_path, backgrounds):
    generate(str(tmp_path), small("lasot"), backgrounds)
    ds = load_dataset("LaSOT", str(tmp_path))
    sizes = ds["synth-1"].groundtruth[:, 2] * ds["synth-1"].groundtruth[:, 3]
    assert sizes.max() / sizes.min() > 1.8  # strong scale change
    centres = ds["synth-2"].groundtruth[:, :2] + ds["synth-2"].groundtruth[:, 2:] / 2
    assert np.max(np.abs(np.diff(centres, axis=0))) > 0.15 * 72  # a jump: fast motion
    root = tmp_path / "synth"
    occluded = np.loadtxt(root / "synth-3" / "full_occlusion.txt", delimiter=",")
    assert occluded.sum() >= 1 and not ds["synth-3"].visible.all()
    out = np.loadtxt(root / "synth-4" / "out_of_view.txt", delimiter=",")
    assert out.sum() >= 1
    assert (ds["synth-4"].groundtruth[out == 1] == 0).all()  # LaSOT writes 0,0,0,0 when absent


def test_fixed_seed_gives_identical_files(tmp_path, backgrounds):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(str(a), small("otb"), backgrounds)
    generate(str(b), small("otb"), backgrounds)
    generate(str(c), small("otb", seed=1), backgrounds)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)
    gt_a = np.genfromtxt(a / "Synth01" / "groundtruth_rect.txt", delimiter=",")
    gt_c = np.genfromtxt(c / "Synth01" / "groundtruth_rect.txt", delimiter=",")
    assert not np.array_equal(gt_a, gt_c)


def test_backgrounds_errors(tmp_path):
    with pytest.raises(ValueError, match="--backgrounds"):
        load_backgrounds(None)
    with pytest.raises(ValueError, match="does not exist"):
        load_backgrounds(str(tmp_path / "nope"))
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match="at least 2"):
        load_backgrounds(str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="layout"):
        SynthConfig(layout="coco")


def test_distractors_share_the_targets_look_and_pass_behind_it(backgrounds):
    from siamrpnpp_core.synthetic import render_sequence

    images = load_backgrounds(backgrounds)
    plain_cfg = SynthConfig(num_sequences=1, length=30, size=(160, 120))
    busy_cfg = SynthConfig(num_sequences=1, length=30, size=(160, 120), distractors=3)
    plain = render_sequence(np.random.default_rng([0, 1]), images, plain_cfg, "scale_change")
    busy = render_sequence(np.random.default_rng([0, 1]), images, busy_cfg, "scale_change")
    np.testing.assert_array_equal(busy.boxes, plain.boxes)  # the target moves as without distractors
    changed = 0
    for k, (a, b) in enumerate(zip(plain.frames, busy.frames)):
        x, y, w, h = (int(v) for v in plain.boxes[k])
        np.testing.assert_array_equal(a[y:y + h, x:x + w], b[y:y + h, x:x + w])  # the target stays on top
        outside = np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30
        outside[y:y + h, x:x + w] = False
        changed += outside.mean() > 0.02
    assert changed >= 20, changed  # look-alikes in most frames
    # their colours are the target's kind: closer to the target's mean colour than the background is
    k = 15
    x, y, w, h = (int(v) for v in plain.boxes[k])
    target_colour = plain.frames[k][y:y + h, x:x + w].reshape(-1, 3).mean(0)
    diff = np.abs(plain.frames[k].astype(int) - busy.frames[k].astype(int)).sum(axis=2) > 30
    diff[y:y + h, x:x + w] = False
    assert diff.any()
    added = np.abs(busy.frames[k][diff].mean(0) - target_colour).sum()
    replaced = np.abs(plain.frames[k][diff].mean(0) - target_colour).sum()
    assert added < replaced, (added, replaced)


def test_tall_targets_are_upright():
    from siamrpnpp_core.synthetic import render_sequence

    images = load_backgrounds(str(BACKGROUNDS))
    cfg = SynthConfig(num_sequences=1, length=10, size=(200, 200), tall=1.0)
    for k in range(3):
        seq = render_sequence(np.random.default_rng([0, k]), images, cfg, "fast_motion")
        w, h = seq.boxes[0][2:]
        assert h / w > 1.4, (w, h)
    slim = SynthConfig(num_sequences=1, length=10, size=(200, 200), tall=1.0, tall_aspect=(3.5, 4.0))
    for k in range(3):
        seq = render_sequence(np.random.default_rng([0, k]), images, slim, "fast_motion")
        w, h = seq.boxes[0][2:]
        assert h / w > 2.8, (w, h)
    with pytest.raises(ValueError, match="tall_aspect must be a range"):
        SynthConfig(tall_aspect=(2.0, 1.5))
    with pytest.raises(ValueError, match="distractors must be >= 0"):
        SynthConfig(distractors=-1)


def test_shape_mask_fills_its_extent_and_leaves_the_corners_empty():
    from siamrpnpp_core.synthetic import shape_mask

    for k in range(20):
        mask = shape_mask(np.random.default_rng(k), side=64)
        assert mask.shape == (64, 64) and mask.dtype == np.float32
        assert 0 <= mask.min() and mask.max() <= 1
        for edge in (mask[0], mask[-1], mask[:, 0], mask[:, -1]):  # the blob reaches every side of its box
            assert edge.max() > 0.3, k
        assert max(mask[0, 0], mask[0, -1], mask[-1, 0], mask[-1, -1]) < 0.5, k
        assert 0.55 < mask.mean() < 0.97, (k, mask.mean())  # a blob, neither a sliver nor the whole box
    np.testing.assert_array_equal(shape_mask(np.random.default_rng(3)), shape_mask(np.random.default_rng(3)))


def test_shaped_targets_show_the_background_at_their_box_corners(backgrounds):
    from siamrpnpp_core.synthetic import render_sequence

    images = load_backgrounds(backgrounds)
    framed = render_sequence(np.random.default_rng([0, 2]), images, SynthConfig(size=(160, 120), length=12),
                             "fast_motion")
    blob = render_sequence(np.random.default_rng([0, 2]), images, SynthConfig(size=(160, 120), length=12, shaped=1.0),
                           "fast_motion")
    np.testing.assert_array_equal(blob.boxes, framed.boxes)  # the same target path and box
    for k in range(12):
        x, y, w, h = (int(v) for v in blob.boxes[k])
        a, b = framed.frames[k].astype(int), blob.frames[k].astype(int)
        outside = np.ones(a.shape[:2], bool)
        outside[y:y + h, x:x + w] = False
        np.testing.assert_array_equal(a[outside], b[outside])  # nothing changes around the target
        cy, cx = y + h // 2, x + w // 2
        np.testing.assert_allclose(b[cy - 1:cy + 2, cx - 1:cx + 2], a[cy - 1:cy + 2, cx - 1:cx + 2], atol=1)
        corners = [(y, x), (y, x + w - 1), (y + h - 1, x), (y + h - 1, x + w - 1)]
        # the framed target's border colour is gone from the corners: the background shows there
        assert sum(np.abs(a[r, c] - b[r, c]).sum() > 30 for r, c in corners) >= 3, k


def test_synth_command_takes_distractors_and_tall_targets(tmp_path, backgrounds):
    from siamrpnpp_core.cli import main

    out = tmp_path / "busy"
    assert main(["eval", "synth", "--out", str(out), "--num-sequences", "2", "--length", "8", "--size", "160x120",
                 "--distractors", "2", "--tall", "1", "--shaped", "0.5", "--backgrounds", backgrounds]) == 0
    meta = (out / "synthetic.json").read_text()
    assert '"distractors": 2' in meta and '"tall": 1.0' in meta and '"shaped": 0.5' in meta
    gt = np.loadtxt(out / "synth" / "synth-1" / "groundtruth.txt", delimiter=",")
    assert gt[0, 3] > 1.4 * gt[0, 2]


def test_bad_distractor_settings_are_refused(tmp_path, capsys):
    from siamrpnpp_core.cli import main

    with pytest.raises(ValueError, match="tall and shaped probabilities in"):
        SynthConfig(tall=1.5)
    with pytest.raises(ValueError, match="tall and shaped probabilities in"):
        SynthConfig(shaped=-0.1)
    assert main(["eval", "synth", "--out", str(tmp_path / "s"), "--distractors", "-1"]) == 2
    assert "distractors must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
