"""The one dataset layer: its table, one policy for bad rows (evaluation and training preparation alike),
one list of image extensions."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from siamrpnpp_core.datasets import DATASETS, DatasetError, canonical_name, load_dataset
from siamrpnpp_core.sources import IMAGE_EXTENSIONS, open_frames
from siamrpnpp_core.training.prepare import video_jobs


def _images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        assert cv2.imwrite(str(folder / name), np.full((12, 16, 3), 20 * k, np.uint8))


def _lasot(root, rows, occluded="0,0,0", name="cat-1"):
    folder = root / name.rsplit("-", 1)[0] / name
    _images(folder / "img", [f"{i:08d}.jpg" for i in range(1, len(rows) + 1)])
    (folder / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (folder / "full_occlusion.txt").write_text(occluded + "\n")
    (folder / "out_of_view.txt").write_text(",".join("0" * len(rows)) + "\n")
    return folder


def test_a_bad_row_is_an_error_naming_file_and_line_in_evaluation_and_preparation(tmp_path):
    folder = _lasot(tmp_path, ["1,2,5,6", "2,2,5,6", "3,2,x,6"])
    message = rf"sequence cat-1: {folder / 'groundtruth.txt'} line 3 is not numbers: '3,2,x,6'"
    with pytest.raises(DatasetError, match=message):
        load_dataset("LaSOT", tmp_path, split="all")["cat-1"]
    with pytest.raises(DatasetError, match=message):  # preparation used to turn the row into zeros
        video_jobs("lasot", str(tmp_path))
    (folder / "groundtruth.txt").write_text("1,2,5,6\n2,2,5,6\n3,2,5\n")
    with pytest.raises(DatasetError, match=r"groundtruth.txt line 3 has 3 numbers, expected 4"):
        video_jobs("lasot", str(tmp_path))


def test_a_bad_flag_line_and_a_length_mismatch_are_errors(tmp_path):
    folder = _lasot(tmp_path, ["1,2,5,6", "2,2,5,6", "3,2,5,6"], occluded="0\n1\nyes")
    with pytest.raises(DatasetError, match=r"full_occlusion.txt line 3 holds non-numeric flags: 'yes'"):
        video_jobs("lasot", str(tmp_path))
    (folder / "full_occlusion.txt").write_text("0,1\n")
    with pytest.raises(DatasetError, match=r"full_occlusion.txt has 2 flags for 3 frames"):
        video_jobs("lasot", str(tmp_path))
    (folder / "groundtruth.txt").write_text("1,2,5,6\n2,2,5,6\n")  # preparation used to cut the longer list
    with pytest.raises(DatasetError, match=r"groundtruth.txt has 2 boxes for 3 images"):
        video_jobs("lasot", str(tmp_path))


def test_preparation_takes_the_visible_frames_the_evaluation_reads(tmp_path):
    _lasot(tmp_path, ["1,2,5,6", "2,2,5,6", "nan,nan,nan,nan", "4,2,0,6"], occluded="0,1,0,0")
    seq = load_dataset("LaSOT", tmp_path, split="all")["cat-1"]
    assert seq.visible.tolist() == [True, False, True, True]
    [job] = video_jobs("lasot", str(tmp_path))
    assert job.name == "cat/cat-1"
    assert [(f.frame, f.image, f.boxes["00"]) for f in job.frames] == [(0, seq.frames[0], (1.0, 2.0, 6.0, 8.0))]
    with pytest.raises(DatasetError, match="no sequence"):
        video_jobs("lasot", str(tmp_path), sequences=["cat-9"])


def test_got10k_cover_labels_are_optional_in_train_only(tmp_path):
    for split in ("train", "val"):
        seq = tmp_path / split / "GOT-10k_000001"
        _images(seq, ["00000001.jpg", "00000002.jpg"])
        (seq / "groundtruth.txt").write_text("1,2,3,4\n2,2,3,4\n")
        (tmp_path / split / "list.txt").write_text("GOT-10k_000001\n")
    train = load_dataset("GOT-10k", tmp_path, split="train")
    assert train.has_groundtruth and train["GOT-10k_000001"].cover is None
    with pytest.raises(DatasetError, match=r"missing file .*val/GOT-10k_000001/cover.label"):  # scored: required
        load_dataset("GOT-10k", tmp_path, split="val")["GOT-10k_000001"]


def test_image_extensions_are_the_same_for_frame_folders_and_datasets(tmp_path):
    names = ["1.png", "2.JPG", "3.tif", "4.webp", "10.bmp", "11.jpeg"]
    folder = tmp_path / "cat" / "cat-1"
    _images(folder / "img", [n for n in names if cv2.haveImageWriter(n)])
    (folder / "img" / "notes.txt").write_text("not a frame")
    written = sorted(p.name for p in (folder / "img").iterdir() if p.suffix != ".txt")
    assert {n.rsplit(".", 1)[1].lower() for n in names} <= {e[1:] for e in IMAGE_EXTENSIONS}
    n = len(written)
    (folder / "groundtruth.txt").write_text("1,2,5,6\n" * n)
    (folder / "full_occlusion.txt").write_text("0\n" * n)
    (folder / "out_of_view.txt").write_text("0\n" * n)
    frames = load_dataset("LaSOT", tmp_path, split="all")["cat-1"].frames
    assert frames == open_frames(folder / "img").images  # same files, same natural order
    assert [f.rsplit("/", 1)[1] for f in frames] == [n for n in names if n in written]


def test_the_table_names_readers_imported_only_when_used():
    assert canonical_name("otb2015") == "OTB100" and canonical_name("vot2018_lt") == "VOT2018-LT"
    assert DATASETS["VOT2016"].eao_interval == (108, 371) and DATASETS["VOT2018-LT"].eao_interval is None
    with pytest.raises(ValueError, match="unknown dataset 'OTB50'"):
        canonical_name("OTB50")
    code = ("import sys, siamrpnpp_core.datasets as d; "
            "print(sorted(m for m in sys.modules if m.startswith('siamrpnpp_core.datasets.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['siamrpnpp_core.datasets.base', 'siamrpnpp_core.datasets.table']"
