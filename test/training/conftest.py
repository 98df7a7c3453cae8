"""Small generated training data shared by the training tests: synthetic sequences (real photographs
from Debian's opencv-doc as textures and backgrounds) prepared into 511x511 crops."""
from __future__ import annotations

import pytest
import torch
from trainkit import backgrounds


@pytest.fixture
def one_thread():
    """Training in this process on one thread (two threads on two shared cores are slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory):
    """Six short synthetic sequences in the LaSOT layout."""
    from siamrpnpp_core.synthetic import SynthConfig, generate

    out = tmp_path_factory.mktemp("synthetic_raw")
    generate(str(out), SynthConfig(num_sequences=6, length=16, size=(192, 144), seed=7, layout="lasot"),
             backgrounds=backgrounds())
    return str(out)


@pytest.fixture(scope="session")
def prepared(synthetic_raw, tmp_path_factory):
    """``synthetic_raw`` cropped by the LaSOT preparation: (crop folder, index path)."""
    from siamrpnpp_core.training.prepare import prepare, video_jobs

    out = tmp_path_factory.mktemp("prepared")
    prepare(video_jobs("lasot", synthetic_raw), str(out), workers=1, progress=False)
    return str(out / "crop511"), str(out / "train.json")
