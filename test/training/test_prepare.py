"""Preparation from every annotation format to crops + index: geometry, bad images, resume, LMDB."""
import json
import os

import cv2
import numpy as np

from siamrpnpp_core.cli import main as siamrpnpp
from siamrpnpp_core.training.augmentation import target_box
from siamrpnpp_core.training.index import FileStore, LmdbStore, load_index, pack_lmdb
from siamrpnpp_core.training.prepare import prepare, video_jobs


def _image(path, boxes, size=(320, 240), seed=0):
    """A noisy background with a white rectangle per box (x1, y1, x2, y2)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 100, (size[1], size[0], 3), dtype=np.uint8)
    for x1, y1, x2, y2 in boxes:
        image[int(y1):int(y2), int(x1):int(x2)] = 255
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), image)


def _check_crop(out, video, frame, track, box):
    crop = cv2.imread(os.path.join(out, "crop511", video, f"{frame:06d}.{track}.x.jpg"))
    assert crop.shape == (511, 511, 3)
    expected = target_box(crop.shape, (box[2] - box[0], box[3] - box[1]))
    centre = crop[int(expected[1]) + 3:int(expected[3]) - 3, int(expected[0]) + 3:int(expected[2]) - 3]
    assert centre.mean() > 240  # the white target fills its expected box


def test_coco_with_missing_and_corrupt_images(tmp_path):
    root = tmp_path / "train2017"
    _image(root / "a.jpg", [(40, 50, 120, 110), (200, 100, 260, 200)])
    root.joinpath("c.jpg").write_bytes(b"not a jpeg at all")
    ann = {"images": [{"id": i, "file_name": f"{c}.jpg"} for i, c in ((1, "a"), (2, "b"), (3, "c"))],
           "annotations": [{"image_id": 1, "bbox": [40, 50, 80, 60], "iscrowd": 0},
                           {"image_id": 1, "bbox": [200, 100, 60, 100], "iscrowd": 0},
                           {"image_id": 1, "bbox": [0, 0, 300, 200], "iscrowd": 1},
                           {"image_id": 2, "bbox": [10, 10, 50, 50], "iscrowd": 0},
                           {"image_id": 3, "bbox": [10, 10, 50, 50], "iscrowd": 0}]}
    (tmp_path / "instances.json").write_text(json.dumps(ann))
    out = tmp_path / "out"
    totals = prepare(video_jobs("coco", str(root), annotations=str(tmp_path / "instances.json")), str(out),
                     workers=2, progress=False)
    assert totals["unreadable"] == 2 and totals["videos"] == 1 and totals["crops"] == 2
    index = json.loads((out / "train.json").read_text())
    assert index == {"train2017/a": {"00": {"000000": [40, 50, 120, 110]}, "01": {"000000": [200, 100, 260, 200]}}}
    _check_crop(str(out), "train2017/a", 0, "01", (200, 100, 260, 200))


def _voc(path, objects, trackids=False):
    parts = ["<annotation><size><width>320</width><height>240</height></size>"]
    for k, (x1, y1, x2, y2) in enumerate(objects):
        tid = f"<trackid>{k}</trackid>" if trackids else ""
        parts.append(f"<object>{tid}<name>n0</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
                     f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    path.write_text("".join(parts) + "</annotation>")


def test_imagenet_det_and_vid(tmp_path):
    _voc(tmp_path / "Annotations/DET/train/n01/img1.xml", [(30, 40, 90, 120), (150, 60, 230, 140)])
    _image(tmp_path / "Data/DET/train/n01/img1.JPEG", [(30, 40, 90, 120), (150, 60, 230, 140)])
    (tmp_path / "Annotations/DET/train/n01/broken.xml").write_text("<annotation><object>")
    for f in range(3):
        box = (50 + 10 * f, 60, 120 + 10 * f, 130)
        _voc(tmp_path / f"Annotations/VID/train/a/vid1/{f:06d}.xml", [box], trackids=True)
        _image(tmp_path / f"Data/VID/train/a/vid1/{f:06d}.JPEG", [box], seed=f)
    det = prepare(video_jobs("det", str(tmp_path)), str(tmp_path / "det"), workers=1, progress=False)
    assert det["crops"] == 2
    _check_crop(str(tmp_path / "det"), "train/n01/img1", 0, "01", (150, 60, 230, 140))
    vid = prepare(video_jobs("vid", str(tmp_path)), str(tmp_path / "vid"), workers=1, progress=False)
    index = json.loads((tmp_path / "vid" / "train.json").read_text())
    assert vid["crops"] == 3 and list(index) == ["train/a/vid1"]
    assert index["train/a/vid1"]["00"]["000002"] == [70, 60, 140, 130]
    _check_crop(str(tmp_path / "vid"), "train/a/vid1", 2, "00", (70, 60, 140, 130))


def test_youtube_bb_relative_boxes(tmp_path):
    rows = ["abc,1000,5,cat,0,present,0.25,0.5,0.25,0.75",
            "abc,2000,5,cat,0,present,0.3,0.55,0.25,0.75",
            "abc,3000,5,cat,0,absent,-1,-1,-1,-1",
            "zzz,1000,5,cat,0,present,0.1,0.2,0.1,0.2"]  # its frame is missing
    (tmp_path / "yt.csv").write_text("\n".join(rows) + "\n")
    _image(tmp_path / "frames/abc/1000.jpg", [(80, 60, 160, 180)])
    _image(tmp_path / "frames/abc/2000.jpg", [(96, 60, 176, 180)])
    totals = prepare(video_jobs("ytbb", str(tmp_path / "frames"), annotations=str(tmp_path / "yt.csv")),
                     str(tmp_path / "out"), workers=1, progress=False)
    assert totals["crops"] == 2 and totals["unreadable"] == 1
    index = json.loads((tmp_path / "out" / "train.json").read_text())
    assert index["abc"]["0500"]["000001"] == [96, 60, 176, 180]
    _check_crop(str(tmp_path / "out"), "abc", 1, "0500", (96, 60, 176, 180))


def test_got10k_skips_absent_frames(tmp_path):
    seq = tmp_path / "train" / "GOT-10k_Train_000001"
    boxes = [(40, 50, 60, 40), (45, 50, 60, 40), (0, 0, 0, 0)]
    for k, (x, y, w, h) in enumerate(boxes):
        _image(seq / f"{k + 1:08d}.jpg", [(x, y, x + w, y + h)] if w else [], seed=k)
    (seq / "groundtruth.txt").write_text("\n".join(",".join(map(str, b)) for b in boxes) + "\n")
    (seq / "absence.label").write_text("0\n0\n1\n")
    (tmp_path / "train" / "list.txt").write_text("GOT-10k_Train_000001\n")
    totals = prepare(video_jobs("got10k", str(tmp_path)), str(tmp_path / "out"), workers=1, progress=False)
    assert totals["crops"] == 2
    _check_crop(str(tmp_path / "out"), "GOT-10k_Train_000001", 1, "00", (45, 50, 105, 90))


def test_lasot_resume_and_lmdb(synthetic_raw, tmp_path):
    out = tmp_path / "out"
    jobs = video_jobs("lasot", synthetic_raw)
    # frames flagged out of view / fully occluded in the sequence files are left out
    hidden = sum(1 for j in jobs for _ in j.frames)
    assert hidden < 6 * 16
    first = prepare(jobs, str(out), workers=1, progress=False)
    # simulate a run killed while writing: keep the first two finished videos and a cut line
    lines = (out / "train.progress.jsonl").read_text().splitlines()
    (out / "train.progress.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    os.remove(out / "train.json")
    again = prepare(video_jobs("lasot", synthetic_raw), str(out), workers=1, progress=False)
    assert again["resumed_videos"] == 2 and again["crops"] == first["crops"]
    videos = load_index(str(out / "train.json"))
    assert len(videos) == 6
    packed, missing = pack_lmdb(str(out / "crop511"), str(out / "train.json"), str(tmp_path / "db"), progress=False)
    assert packed == first["crops"] and missing == 0
    files, db = FileStore(str(out / "crop511")), LmdbStore(str(tmp_path / "db"))
    track = videos[3][0]
    np.testing.assert_array_equal(files.read(track.path(track.frames[-1])), db.read(track.path(track.frames[-1])))
    assert db.read("no/such/crop.jpg") is None


def test_prepare_command_line(synthetic_raw, tmp_path, capsys):
    code = siamrpnpp(["prepare", "lasot", "--root", synthetic_raw, "--out", str(tmp_path / "p"), "--workers", "1",
                      "--sequences", "synth-1", "synth-2", "--lmdb"])
    assert code == 0
    text = capsys.readouterr().out
    assert "2 videos" in text and "crop511.lmdb" in text
    assert sorted(json.loads((tmp_path / "p" / "train.json").read_text())) == ["synth/synth-1", "synth/synth-2"]
    assert siamrpnpp(["prepare", "got10k", "--root", str(tmp_path / "nothing"), "--out", str(tmp_path / "q")]) == 2


def test_lmdb_store_in_forked_loader_workers(prepared, tmp_path):
    """The pair loader reads an LMDB pack in the main process and then in forked workers."""
    from torch.utils.data import DataLoader

    from siamrpnpp_core.training.config import load_config
    from siamrpnpp_core.training.sampling import PairDataset, StepSampler, collate

    root, anno = prepared
    db = str(tmp_path / "db")
    pack_lmdb(root, anno, db, progress=False)
    run = {"pairs_per_epoch": 8, "batch_size": 4, "micro_batch": 4, "epochs": 1}
    spec = {"name": "s", "root": root, "anno": anno}
    cfg = load_config(None, "siamrpn_alex_dwxcorr", {"datasets": [{**spec, "lmdb": db}], **run})
    dataset = PairDataset(cfg)
    first = dataset[(0, 0)]  # opens the database in this process
    batches = list(DataLoader(dataset, batch_size=4, sampler=StepSampler(cfg), num_workers=1, collate_fn=collate))
    assert len(batches) == 2 and batches[0]["search"].shape == (4, 3, 255, 255)
    np.testing.assert_array_equal(batches[0]["search"][0].numpy(), first["search"])  # same pair, same pixels
    files = PairDataset(load_config(None, "siamrpn_alex_dwxcorr", {"datasets": [spec], **run}))
    np.testing.assert_array_equal(files[(0, 0)]["search"], first["search"])
