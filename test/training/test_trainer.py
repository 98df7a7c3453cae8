"""Training runs on generated data: the loss falls and the tracker improves; two-process DDP matches one
process; a run killed with SIGKILL mid-interval (its last checkpoint corrupt), or stopped just before the
backbone unfreezes (new optimiser), resumes to the same weights; `siamrpnpp train` runs."""
import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from trainkit import (ROOT, TRAIN_PY, env, free_port, run_training, tiny_config, tiny_values, train_command,
                      write_config)

from siamrpnpp_core import SiamRPNTracker, get_preset
from siamrpnpp_core.training.checkpointing import list_checkpoints, load_latest, save_checkpoint
from siamrpnpp_core.training.trainer import Trainer

# 8 steps of 4 pairs in micro-batches of 2; the backbone unfreezes at step 4 (epoch 1); checkpoints every 3
RUN = {"epochs": 2, "pairs_per_epoch": 16, "batch_size": 4, "micro_batch": 2, "checkpoint_interval": 3}


def _log(out_dir):
    with open(os.path.join(out_dir, "log.csv"), newline="") as f:
        return list(csv.DictReader(f))


def _mean_iou(model, sequences):
    """Mean IoU of the tracker over the sequences' visible frames."""
    tracker = SiamRPNTracker(model.eval(), get_preset("siamrpn_alex_dwxcorr").tracker)
    ious = []
    for frames, boxes in sequences:
        tracker.init(frames[0], tuple(boxes[0]))
        for frame, (x, y, w, h) in zip(frames[1:], boxes[1:]):
            px, py, pw, ph = tracker.track(frame).bbox
            if w <= 0:
                continue
            iw = max(0.0, min(px + pw, x + w) - max(px, x))
            ih = max(0.0, min(py + ph, y + h) - max(py, y))
            ious.append(iw * ih / (pw * ph + w * h - iw * ih))
    return float(np.mean(ious))


def test_short_run_loss_falls_and_tracker_improves(prepared, synthetic_raw, tmp_path, one_thread):
    from siamrpnpp_core.evaluation import load_dataset

    dataset = load_dataset("LaSOT", synthetic_raw)
    sequences = [([s.read_frame(i) for i in range(len(s))], s.groundtruth) for s in dataset]
    cfg = tiny_config(prepared, tmp_path / "run", epochs=1, pairs_per_epoch=320, batch_size=8, micro_batch=8,
                      backbone_train_epoch=0, backbone_train_layers=["layer1", "layer2", "layer3", "layer4", "layer5"],
                      backbone_lr_mult=1.0, base_lr=0.02, end_lr=0.02, warmup_epochs=0, checkpoint_interval=100,
                      log_interval=10, tensorboard=True)
    trainer = Trainer(cfg, progress=False)
    before = _mean_iou(trainer.model, sequences)
    trainer.run()
    rows = _log(cfg.out_dir)
    losses = [float(r["loss"]) for r in rows]
    assert len(rows) == 4 and rows[-1]["step"] == "40"
    assert np.mean(losses[-2:]) < 0.6 * losses[0], losses
    after = _mean_iou(trainer.model, sequences)
    print(f"mean IoU on the training sequences: {before:.3f} untrained, {after:.3f} after 40 steps")
    assert after > before + 0.1, (before, after)
    assert os.path.isfile(os.path.join(cfg.out_dir, "model.safetensors"))
    assert any(n.startswith("events.out.tfevents") for n in os.listdir(os.path.join(cfg.out_dir, "tensorboard")))


def _assert_same_weights(out_dir, reference):
    """The run's final weights equal the uninterrupted run's, bit for bit."""
    final = load_file(str(out_dir / "model.safetensors"))
    for k, v in reference.items():
        torch.testing.assert_close(final[k], v, rtol=0, atol=0, msg=k)


@pytest.fixture(scope="module")
def reference(prepared, tmp_path_factory):
    """An uninterrupted single-process run (one thread), its final weights."""
    out = tmp_path_factory.mktemp("reference")
    config = write_config(out / "run.yaml", tiny_values(prepared, out / "run", **RUN))
    done = run_training(config)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [r["step"] for r in _log(out / "run")] == [str(s) for s in range(1, 9)]
    return load_file(str(out / "run" / "model.safetensors"))


def test_killed_run_resumes_to_the_same_weights(prepared, reference, tmp_path):
    config = write_config(tmp_path / "run.yaml", tiny_values(prepared, tmp_path / "run", **RUN))
    proc = subprocess.Popen(train_command(config), env=env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    log_path = tmp_path / "run" / "log.csv"
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if log_path.is_file() and any(r["step"] == "4" for r in _log(tmp_path / "run")):
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # between checkpoints 3 and 6
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    steps = [s for s, _ in list_checkpoints(str(tmp_path / "run"))]
    assert steps and steps[0] < 8 and not (tmp_path / "run" / "model.safetensors").exists()
    # the newest checkpoint is corrupt (cut short): the resume falls back to the one before
    newest = list_checkpoints(str(tmp_path / "run"))[0][1]
    data = open(newest, "rb").read()
    corrupt = os.path.join(tmp_path / "run", f"checkpoint_{steps[0] + 1:08d}.pth")
    with open(corrupt, "wb") as f:
        f.write(data[: len(data) // 2])
    resumed = run_training(config)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "trying the previous checkpoint" in resumed.stderr
    _assert_same_weights(tmp_path / "run", reference)
    assert [r["step"] for r in _log(tmp_path / "run")] == [str(s) for s in range(1, 9)]


def test_resume_at_the_unfreeze_epoch_reproduces_the_run(prepared, reference, tmp_path):
    # the checkpoint of step 4 ends epoch 0: the resumed run builds the new optimiser at step 4 as well
    config = write_config(tmp_path / "run.yaml", tiny_values(prepared, tmp_path / "run", **RUN))
    first = run_training(config, "--max-steps", "4")
    assert first.returncode == 0, first.stderr[-3000:]
    assert [s for s, _ in list_checkpoints(str(tmp_path / "run"))] == [4, 3]
    resumed = run_training(config)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "checkpoint_00000004.pth at step 4" in resumed.stderr
    _assert_same_weights(tmp_path / "run", reference)


def test_two_process_ddp_matches_one_process(prepared, reference, tmp_path):
    config = write_config(tmp_path / "run.yaml", tiny_values(prepared, tmp_path / "run", **RUN))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           f"--master_port={free_port()}", str(TRAIN_PY), "--config", str(config), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**env(), "SIAMRPNPP_DIST_BACKEND": "gloo"},
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    final = load_file(str(tmp_path / "run" / "model.safetensors"))
    trained = [k for k in reference if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    for k in trained:
        torch.testing.assert_close(final[k], reference[k], rtol=1e-4, atol=1e-5, msg=k)
    assert len(_log(tmp_path / "run")) == 8  # rank 0 logs every step once


def test_checkpoint_fallback_and_atomicity(tmp_path):
    folder = str(tmp_path)
    for step in (1, 2, 3, 4):
        save_checkpoint({"model": {"w": torch.full((2,), float(step))}, "step": step}, folder, step, keep=3)
    assert [s for s, _ in list_checkpoints(folder)] == [4, 3, 2]  # the oldest pruned
    assert not any(name.endswith(".tmp") for name in os.listdir(folder))
    with open(os.path.join(folder, "checkpoint_00000004.pth"), "r+b") as f:
        f.truncate(100)
    state, path = load_latest(folder)
    assert state["step"] == 3 and path.endswith("checkpoint_00000003.pth")
    assert load_latest(str(tmp_path / "none")) is None


def test_changed_sampling_settings_refuse_to_resume(prepared, tmp_path):
    cfg = tiny_config(prepared, tmp_path / "run", **RUN)
    Trainer(cfg, progress=False).run(max_steps=3)
    with pytest.raises(ValueError, match="batch_size"):
        Trainer(tiny_config(prepared, tmp_path / "run", **{**RUN, "batch_size": 2}), progress=False)
    resumed = Trainer(cfg, progress=False)
    assert resumed.step == 3


def test_non_finite_steps_are_skipped_and_counted(prepared, tmp_path):
    from siamrpnpp_core.training.sampling import PairDataset

    class Poisoned(PairDataset):
        def __getitem__(self, key):
            sample = super().__getitem__(key)
            if key[1] in (4, 5, 6, 7):  # the second step's pairs
                sample["search"][:] = np.nan
            return sample

    cfg = tiny_config(prepared, tmp_path / "run", **RUN)
    trainer = Trainer(cfg, dataset=Poisoned(cfg), progress=False)
    trainer.run(max_steps=1)
    after_one = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.run(max_steps=1)
    assert trainer.skipped == 1 and trainer.step == 2
    for k, v in trainer.model.state_dict().items():
        torch.testing.assert_close(v, after_one[k], msg=k)  # the poisoned step changed no weight nor statistic
    trainer.run(max_steps=1)
    assert trainer.skipped == 1
    assert all(torch.isfinite(v.float()).all() for v in trainer.model.state_dict().values())
    assert _log(cfg.out_dir)[-1]["skipped_steps"] == "1"


def test_pretrained_backbone_is_loaded(prepared, tmp_path):
    from siamrpnpp_core.model.alexnet import AlexNet

    torch.manual_seed(3)
    backbone = AlexNet(0.25)
    state = {**backbone.state_dict(), "fc.weight": torch.zeros(10, 4), "fc.bias": torch.zeros(10)}
    torch.save(state, tmp_path / "alexnet_imagenet.pth")
    cfg = tiny_config(prepared, tmp_path / "run", pretrained=str(tmp_path / "alexnet_imagenet.pth"))
    trainer = Trainer(cfg, progress=False)
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(trainer.model.backbone.state_dict()[k], v)
    del state["features.0.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match="missing keys"):
        Trainer(tiny_config(prepared, tmp_path / "run2", pretrained=str(tmp_path / "broken.pth")), progress=False)


def test_fine_tuning_starts_from_whole_model_weights(prepared, tmp_path, one_thread):
    """``init_weights``: a new run starts from an exported model (every tensor equal) and trains on from it;
    weights of another shape, or in mmtracking's convention, are refused before any step."""
    from siamrpnpp_core.checkpoint import MMTRACKING, save_safetensors

    first = Trainer(tiny_config(prepared, tmp_path / "first", **RUN), resume=None, progress=False)
    first.run(max_steps=2)
    first.export(str(tmp_path / "first.safetensors"))
    tuned = Trainer(tiny_config(prepared, tmp_path / "tuned", **RUN, init_weights=str(tmp_path / "first.safetensors")),
                    resume=None, progress=False)
    for name, tensor in first.model.state_dict().items():
        torch.testing.assert_close(tuned.model.state_dict()[name], tensor, rtol=0, atol=0)
    before = {n: t.clone() for n, t in tuned.model.state_dict().items()}
    tuned.run(max_steps=1)
    assert any(not torch.equal(before[n], t) for n, t in tuned.model.state_dict().items())

    save_safetensors(first.model.state_dict(), tmp_path / "mm.safetensors", MMTRACKING)
    with pytest.raises(ValueError, match="only pysot-layout weights"):
        Trainer(tiny_config(prepared, tmp_path / "mm", init_weights=str(tmp_path / "mm.safetensors")), progress=False)
    with pytest.raises(ValueError, match="does not fit the model"):
        Trainer(tiny_config(prepared, tmp_path / "wide", model={"width_mult": 0.5, "neck_in_channels": [128]},
                            init_weights=str(tmp_path / "first.safetensors")), progress=False)


def test_sigterm_saves_the_current_step(prepared, tmp_path):
    values = tiny_values(prepared, tmp_path / "run", **{**RUN, "checkpoint_interval": 100, "num_workers": 1})
    config = write_config(tmp_path / "run.yaml", values)
    proc = subprocess.Popen(train_command(config), env=env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    log_path = tmp_path / "run" / "log.csv"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if log_path.is_file() and len(_log(tmp_path / "run")) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    logged = int(_log(tmp_path / "run")[-1]["step"])
    assert [s for s, _ in list_checkpoints(str(tmp_path / "run"))][0] == logged < 8


def test_siamrpnpp_train_subcommand(prepared, tmp_path, capsys, one_thread):
    from siamrpnpp_core.cli import main

    config = write_config(tmp_path / "run.yaml", tiny_values(prepared, tmp_path / "run", **RUN))
    assert main(["train", "--config", str(config), "--max-steps", "1", "--no-progress",
                 "--set", "search_aug.shift=8", "--set", "search_aug.scale=0.1"]) == 0
    assert "step 1/8: loss" in capsys.readouterr().out
    state, _ = load_latest(str(tmp_path / "run"))
    assert state["step"] == 1 and '"search_aug": {"shift": 8, "scale": 0.1' in state["config"]
    assert main(["train", "--config", str(config), "--set", "epochs=0"]) == 2
    assert "siamrpnpp: error: batch_size and epochs must be positive" in capsys.readouterr().err


def test_bf16_step_follows_the_float32_step(prepared, tmp_path, one_thread):
    """amp: bf16 (autocast, channels-last on CPUs) takes nearly the float32 step, and exports plain weights."""
    deltas, trainers = {}, {}
    for amp in ("off", "bf16"):
        cfg = tiny_config(prepared, tmp_path / amp, epochs=1, pairs_per_epoch=8, batch_size=8, micro_batch=8,
                          backbone_train_epoch=0, warmup_epochs=0, base_lr=0.01, end_lr=0.01, amp=amp)
        trainer = Trainer(cfg, resume=None, progress=False)
        start = torch.cat([p.detach().flatten().clone() for p in trainer.model.parameters()])
        trainer.run(max_steps=1)
        deltas[amp] = torch.cat([p.detach().flatten() for p in trainer.model.parameters()]) - start
        trainers[amp] = trainer
    assert trainers["off"].amp is None and trainers["bf16"].amp == torch.bfloat16
    conv = trainers["bf16"].model.backbone.features[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    cosine = torch.nn.functional.cosine_similarity(deltas["off"], deltas["bf16"], dim=0)
    assert cosine > 0.95, float(cosine)
    assert float(deltas["bf16"].norm() / deltas["off"].norm()) == pytest.approx(1.0, abs=0.1)
    path = tmp_path / "bf16.safetensors"
    trainers["bf16"].export(str(path))
    saved = load_file(str(path))
    for name, tensor in trainers["bf16"].model.state_dict().items():
        assert saved[name].is_contiguous()
        torch.testing.assert_close(saved[name], tensor, rtol=0, atol=0)


def test_amp_modes_are_checked():
    from siamrpnpp_core.training.config import TrainConfig

    assert TrainConfig(amp=True).amp == "auto" and TrainConfig(amp=False).amp == "off"
    with pytest.raises(ValueError, match="amp must be one of auto, off, fp16, bf16"):
        TrainConfig(amp="fp8")
    if not torch.cuda.is_available():
        from siamrpnpp_core.training.trainer import autocast_dtype

        with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
            autocast_dtype("fp16", torch.device("cpu"))
        cpu = torch.device("cpu")
        assert autocast_dtype("auto", cpu, frozenset({"avx2", "fma"})) is None
        assert autocast_dtype("auto", cpu, frozenset({"avx2", "avx512_bf16"})) == torch.bfloat16
        assert autocast_dtype("auto", cpu, frozenset({"amx_bf16"})) == torch.bfloat16
        assert autocast_dtype("off", cpu, frozenset({"avx512_bf16"})) is None


def test_hard_negative_mining_adds_to_the_first_step_loss(prepared, tmp_path, one_thread):
    """``hard_neg_num``: the same first batch (labelling draws nothing more) gives the same positive and
    negative terms plus the hardest negatives' term, so a larger classification loss."""
    rows = [Trainer(tiny_config(prepared, tmp_path / str(k), **RUN, hard_neg_num=k), resume=None,
                    progress=False).run(max_steps=1) for k in (0, 8)]
    assert rows[1]["loc_loss"] == pytest.approx(rows[0]["loc_loss"], rel=1e-6)
    assert rows[1]["cls_loss"] > rows[0]["cls_loss"] + 0.05
