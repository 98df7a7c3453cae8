"""Each dataset reader on tiny datasets written here in the exact on-disk layout."""
import json
import os

import numpy as np
import pytest

from evalkit import boxes_text, copy_images, walk, write_images, write_text
from siamrpnpp_core.evaluation import DatasetError, load_dataset


def test_otb_original_layout(tmp_path, template_jpg):
    root = str(tmp_path)
    write_images(f"{root}/Basketball/img", [f"{i:04d}.jpg" for i in range(1, 6)])
    write_text(f"{root}/Basketball/groundtruth_rect.txt", boxes_text(walk(5)))
    write_images(f"{root}/Jogging/img", [f"{i:04d}.jpg" for i in range(1, 5)])
    write_text(f"{root}/Jogging/groundtruth_rect.1.txt", boxes_text(walk(4), "\t"))  # tab separated
    write_text(f"{root}/Jogging/groundtruth_rect.2.txt", boxes_text(walk(4, (1, 1, 3, 3)), " "))
    write_images(f"{root}/Human4/img", [f"{i:04d}.jpg" for i in range(1, 4)])
    write_text(f"{root}/Human4/groundtruth_rect.2.txt", boxes_text(walk(3)))
    copy_images(f"{root}/David/img", [f"{i:04d}.jpg" for i in range(1, 771)], template_jpg)
    write_text(f"{root}/David/groundtruth_rect.txt", boxes_text(walk(471)))
    os.makedirs(f"{root}/not_a_sequence")

    ds = load_dataset("OTB2015", root)
    assert ds.name == "OTB100" and ds.protocol == "ope"
    assert ds.names == ["Basketball", "David", "Human4", "Jogging-1", "Jogging-2"]
    assert ds["Jogging-2"].groundtruth[0].tolist() == [1, 1, 3, 3]
    assert ds["Jogging-1"].groundtruth.shape == (4, 4)
    david = ds["David"]  # frames 300..770 of the folder
    assert len(david) == 471 and david.frames[0].endswith("0300.jpg") and david.frames[-1].endswith("0770.jpg")
    assert ds["Basketball"].read_frame(4).shape == (12, 16, 3)
    assert ds["Basketball"].image_size() == (16, 12)


def test_otb_inconsistent_files_name_sequence_and_file(tmp_path):
    root = str(tmp_path)
    write_images(f"{root}/Car4/img", [f"{i:04d}.jpg" for i in range(1, 5)])
    write_text(f"{root}/Car4/groundtruth_rect.txt", boxes_text(walk(3)))
    write_images(f"{root}/Bolt/img", ["0001.jpg"])
    write_text(f"{root}/Bolt/groundtruth_rect.txt", "1,2,3\n")
    ds = load_dataset("OTB100", root)
    with pytest.raises(DatasetError, match=r"sequence Car4: .*groundtruth_rect.txt has 3 boxes for 4 images"):
        ds["Car4"]
    with pytest.raises(DatasetError, match=r"sequence Bolt: .*line 1 has 3 numbers"):
        ds["Bolt"]


def test_otb_json_index_form(tmp_path):
    root = str(tmp_path)
    write_images(f"{root}/Basketball/img", [f"{i:04d}.jpg" for i in range(1, 4)])
    index = {"Basketball": {"video_dir": "Basketball", "init_rect": [5, 4, 6, 5],
                            "img_names": [f"Basketball/img/{i:04d}.jpg" for i in range(1, 4)],
                            "gt_rect": walk(3).tolist(), "attr": ["IV", "OCC"]}}
    write_text(f"{root}/OTB100.json", json.dumps(index))
    seq = load_dataset("OTB100", root)["Basketball"]
    assert seq.attributes == ("IV", "OCC") and len(seq) == 3
    index["Basketball"]["img_names"][2] = "Basketball/img/0009.jpg"
    write_text(f"{root}/other.json", json.dumps(index))
    with pytest.raises(DatasetError, match=r"sequence Basketball: missing image .*0009.jpg"):
        load_dataset("OTB100", root, index=f"{root}/other.json")["Basketball"]


def test_uav123_subsequences_and_uav20l(tmp_path, template_jpg):
    root = str(tmp_path)
    copy_images(f"{root}/data_seq/UAV123/bird1", [f"{i:06d}.jpg" for i in range(1, 1478)], template_jpg)
    gt1 = walk(253)
    gt1[100:110] = np.nan
    write_text(f"{root}/anno/UAV123/bird1_1.txt", boxes_text(gt1).replace("nan", "NaN"))
    write_text(f"{root}/anno/UAV123/bird1_2.txt", boxes_text(walk(703)))
    write_text(f"{root}/anno/UAV20L/bird1.txt", boxes_text(walk(1477)))
    ds = load_dataset("UAV123", root)
    assert ds.names == ["bird1_1", "bird1_2"]
    s1, s2 = ds["bird1_1"], ds["bird1_2"]
    assert s1.frames[-1].endswith("bird1/000253.jpg")
    assert s2.frames[0].endswith("bird1/000775.jpg") and s2.frames[-1].endswith("bird1/001477.jpg")
    assert np.isnan(s1.groundtruth[100:110]).all() and not np.isnan(s1.groundtruth[:100]).any()
    long = load_dataset("UAV20L", root)["bird1"]
    assert len(long) == 1477 and long.frames[0].endswith("bird1/000001.jpg")
    write_text(f"{root}/anno/UAV123/bird1_3.txt", boxes_text(walk(10)))
    with pytest.raises(DatasetError, match=r"bird1_3: .*10 boxes, frames 1573-2437 expected"):
        load_dataset("UAV123", root)["bird1_3"]


def _lasot_seq(root, name, n, occluded=(), oov=()):
    cat = name.rsplit("-", 1)[0]
    folder = f"{root}/{cat}/{name}"
    write_images(f"{folder}/img", [f"{i:08d}.jpg" for i in range(1, n + 1)])
    write_text(f"{folder}/groundtruth.txt", boxes_text(walk(n)))
    write_text(f"{folder}/full_occlusion.txt", ",".join("1" if i in occluded else "0" for i in range(n)))
    write_text(f"{folder}/out_of_view.txt", ",".join("1" if i in oov else "0" for i in range(n)))
    write_text(f"{folder}/nlp.txt", "a plane\n")


def test_lasot_test_split_and_flags(tmp_path):
    root = str(tmp_path)
    _lasot_seq(root, "airplane-1", 6, occluded={2}, oov={4})
    _lasot_seq(root, "airplane-13", 3)
    _lasot_seq(root, "airplane-2", 3)
    write_text(f"{root}/testing_set.txt", "airplane-1\nairplane-13\n")
    ds = load_dataset("LaSOT", root)
    assert ds.names == ["airplane-1", "airplane-13"]
    assert ds["airplane-1"].visible.tolist() == [True, True, False, True, False, True]
    assert load_dataset("LaSOT", root, split="all").names == ["airplane-1", "airplane-2", "airplane-13"]
    os.remove(f"{root}/airplane/airplane-13/out_of_view.txt")
    with pytest.raises(DatasetError, match=r"sequence airplane-13: missing file .*out_of_view.txt"):
        ds["airplane-13"]


def test_got10k_val_and_test(tmp_path):
    root = str(tmp_path)
    val = f"{root}/val/GOT-10k_Val_000001"
    write_images(val, [f"{i:08d}.jpg" for i in range(1, 6)])
    write_text(f"{val}/groundtruth.txt", boxes_text(walk(5)))
    write_text(f"{val}/cover.label", "8\n8\n0\n3\n8\n")
    write_text(f"{val}/absence.label", "0\n0\n1\n0\n0\n")
    write_text(f"{val}/cut_by_image.label", "0\n0\n0\n0\n0\n")
    write_text(f"{val}/meta_info.ini", "[METAINFO]\nresolution: (1280, 720)\n")
    write_text(f"{root}/val/list.txt", "GOT-10k_Val_000001\n")
    test = f"{root}/test/GOT-10k_Test_000001"
    write_images(test, [f"{i:08d}.jpg" for i in range(1, 5)])
    write_text(f"{test}/groundtruth.txt", "1,2,3,4\n")
    write_text(f"{root}/test/list.txt", "GOT-10k_Test_000001\n")

    seq = load_dataset("GOT-10k", root)["GOT-10k_Val_000001"]
    assert seq.cover.tolist() == [8, 8, 0, 3, 8] and seq.visible.tolist() == [True, True, False, True, True]
    assert seq.image_size() == (1280, 720)  # from meta_info.ini, not the image
    ds = load_dataset("GOT-10k", root, split="test")
    assert not ds.has_groundtruth and ds.protocol == "got10k"
    gt = ds["GOT-10k_Test_000001"].groundtruth
    assert gt.shape == (4, 4) and gt[0].tolist() == [1, 2, 3, 4] and np.isnan(gt[1:]).all()
    assert load_dataset("GOT-10k", f"{root}/val").names == ["GOT-10k_Val_000001"]  # the split folder itself
    with pytest.raises(ValueError, match="split must be one of"):
        load_dataset("GOT-10k", root, split="trainval")


def test_trackingnet_numeric_frame_order(tmp_path):
    root = str(tmp_path)
    write_images(f"{root}/TEST/frames/seqA", [f"{i}.jpg" for i in range(12)])
    write_text(f"{root}/TEST/anno/seqA.txt", "10,20,30,40\n")
    ds = load_dataset("TrackingNet", root)
    seq = ds["seqA"]
    assert [os.path.basename(f) for f in seq.frames[8:12]] == ["8.jpg", "9.jpg", "10.jpg", "11.jpg"]
    assert seq.groundtruth.shape == (12, 4) and not ds.has_groundtruth


def test_vot2018_polygons_tags_and_old_layout(tmp_path):
    root = str(tmp_path)
    write_images(f"{root}/ants1/color", [f"{i:08d}.jpg" for i in range(1, 5)])
    polys = [[1, 1, 9, 2, 8, 9, 0, 8]] * 4
    write_text(f"{root}/ants1/groundtruth.txt", boxes_text(polys))
    write_text(f"{root}/ants1/occlusion.tag", "0\n1\n")  # VOT tag files stop at the last tagged frame
    write_text(f"{root}/ants1/camera_motion.tag", "1\n1\n1\n1\n")
    write_images(f"{root}/bag", [f"{i:08d}.jpg" for i in range(1, 4)])  # older releases: no color/
    write_text(f"{root}/bag/groundtruth.txt", boxes_text(walk(3)))
    write_text(f"{root}/list.txt", "ants1\nbag\n")
    ds = load_dataset("VOT2018", root)
    assert ds.protocol == "vot" and ds.eao_interval == (100, 356)
    ants = ds["ants1"]
    assert ants.groundtruth.shape == (4, 8)
    assert ants.tags["occlusion"].tolist() == [0, 1, 0, 0] and ants.tags["camera_motion"].sum() == 4
    assert ants.tags["size_change"].sum() == 0
    assert ds["bag"].groundtruth.shape == (3, 4) and len(ds["bag"]) == 3
    write_text(f"{root}/list.txt", "ants1\nball1\n")
    with pytest.raises(DatasetError, match=r"sequence ball1: missing folder"):
        load_dataset("VOT2018", root)["ball1"]


def test_vot2018_lt_absent_frames(tmp_path):
    root = str(tmp_path)
    write_images(f"{root}/bike1/color", [f"{i:08d}.jpg" for i in range(1, 5)])
    write_text(f"{root}/bike1/groundtruth.txt", "1,2,3,4\nnan,nan,nan,nan\n2,2,3,4\n3,2,3,4\n")
    write_text(f"{root}/list.txt", "bike1\n")
    ds = load_dataset("VOT2018-LT", root)
    assert ds.protocol == "vot-lt" and ds["bike1"].visible.tolist() == [True, False, True, True]


def test_dataset_level_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'OTB50'"):
        load_dataset("OTB50", tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("OTB100", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no sequences found"):
        load_dataset("OTB100", tmp_path)
    with pytest.raises(ValueError, match="takes no 'split' option"):
        load_dataset("OTB100", tmp_path, split="test")
    with pytest.raises(DatasetError, match="no list.txt"):
        load_dataset("GOT-10k", tmp_path)
