"""The atomic writer: whole files only, unique temporary names, nothing left behind on errors."""
import multiprocessing as mp
import os

import pytest

from siamrpnpp_core.atomic import atomic_open, atomic_path, atomic_write


def _writer(path, tag, rounds, barrier):
    barrier.wait()
    for i in range(rounds):
        atomic_write(path, f"{tag}:{i}:" + tag * 20000 + "\n")


def test_two_processes_writing_one_path_leave_a_whole_file(tmp_path):
    path = tmp_path / "result.txt"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(path), tag, 200, barrier)) for tag in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    tag, index, body = path.read_text().split(":")
    assert tag in "ab" and index == "199" and body == tag * 20000 + "\n"
    assert os.listdir(tmp_path) == ["result.txt"]  # no temporary file left


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "model.bin"
    atomic_write(path, b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "wb") as f:
            f.write(b"half")
            raise RuntimeError("writer crashed")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_atomic_path_gives_a_fresh_name_in_the_same_folder(tmp_path):
    target = tmp_path / "sub" / "w.safetensors"
    with atomic_path(target) as tmp:
        assert os.path.dirname(tmp) == str(target.parent) and tmp != str(target)
        with open(tmp, "w") as f:
            f.write("x")
        assert not target.exists()
    assert target.read_text() == "x"


def test_atomic_open_refuses_append():
    with pytest.raises(ValueError, match="whole files"):
        with atomic_open("x", "a"):
            pass


def test_a_non_durable_write_is_still_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "crop.jpg"
    atomic_write(path, b"first", durable=False)
    atomic_write(path, b"second", durable=False)
    assert path.read_bytes() == b"second" and os.listdir(tmp_path) == ["crop.jpg"]
