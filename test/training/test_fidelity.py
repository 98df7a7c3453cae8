"""The step the authors' multi-GPU training takes, computed here by hand in one process, against our
trainer on one process (accumulating micro-batches) and on two gloo processes; and the new optimiser
at the epoch where the backbone starts training."""
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from trainkit import ROOT, TRAIN_PY, env, free_port, tiny_config, tiny_values, write_config

from siamrpnpp_core.model import SiamRPN
from siamrpnpp_core.training.checkpointing import load_checkpoint_file
from siamrpnpp_core.training.sampling import PairDataset, collate
from siamrpnpp_core.training.trainer import Trainer

# one step of 4 pairs = 2 replicas (the authors' GPUs) of 2 pairs; the backbone frozen in epoch 0
# in float32 (amp auto would pick bfloat16 on CPUs with bf16 units)
STEP = {"epochs": 2, "pairs_per_epoch": 16, "batch_size": 4, "micro_batch": 2, "warmup_epochs": 0,
        "base_lr": 0.01, "end_lr": 0.01, "amp": "off"}


def authors_replica_loss(cls, loc, labels, delta, weight, cls_weight=1.0, loc_weight=1.2):
    """One GPU's loss in the authors' code, restated: mean NLL over the selected positive and negative
    anchors of this replica only (a lone index squeezed to 0-d counts as no selection: 0), and the
    weighted L1 summed and divided by this replica's pairs."""
    b, c, h, w = cls.shape
    logp = F.log_softmax(cls.view(b, 2, c // 2, h, w), dim=1).permute(0, 2, 3, 4, 1).reshape(-1, 2)
    flat = labels.reshape(-1)

    def mean_nll(value):
        index = (flat == value).nonzero().squeeze()
        return 0.0 if index.dim() == 0 else F.nll_loss(logp[index], flat[index])

    cls_loss = 0.5 * mean_nll(1) + 0.5 * mean_nll(0)
    loc_loss = ((loc.view(b, 4, c // 2, h, w) - delta).abs().sum(dim=1) * weight).sum() / b
    return cls_weight * cls_loss + loc_weight * loc_loss


def replicas_of_first_step(cfg):
    """The first step's pairs split as the authors' GPUs would hold them (micro-batches, in order)."""
    dataset = PairDataset(cfg)
    pairs = [dataset[(0, i)] for i in range(cfg.batch_size)]
    return [collate(pairs[i:i + cfg.micro_batch]) for i in range(0, cfg.batch_size, cfg.micro_batch)]


def authors_step(cfg):
    """(pre-clip gradient norm, parameters after the step): the replicas' gradients summed, clipped at
    ``grad_clip``, one SGD step (fresh momentum, weight decay) at epoch 0's rate on the head."""
    torch.manual_seed(cfg.seed)
    model = SiamRPN(cfg.model_config())
    model.train()
    model.backbone.eval()
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    for batch in replicas_of_first_step(cfg):
        cls, loc = model(batch["template"], batch["search"])
        authors_replica_loss(cls, loc, batch["label_cls"], batch["label_loc"], batch["label_loc_weight"]).backward()
    trained = {n: p for n, p in model.named_parameters() if p.requires_grad}
    norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in trained.values()))
    scale = min(1.0, cfg.grad_clip / (norm + 1e-6))
    with torch.no_grad():
        after = {n: p - cfg.base_lr * (p.grad * scale + cfg.weight_decay * p) for n, p in trained.items()}
    return norm, after


def assert_update(state, expected, atol=1e-6):
    for name, value in expected.items():
        torch.testing.assert_close(state[name], value, rtol=0, atol=atol, msg=name)


@pytest.fixture(scope="module")
def authors(prepared, tmp_path_factory):
    """The authors' step, with the clip set to 3/4 of their gradient norm so that it acts."""
    out = tmp_path_factory.mktemp("authors")
    norm, _ = authors_step(tiny_config(prepared, out, **STEP))
    cfg = tiny_config(prepared, out, **STEP, grad_clip=0.75 * norm)
    return cfg, norm, authors_step(cfg)[1]


def test_one_process_accumulating_takes_the_authors_step(prepared, authors, tmp_path, one_thread):
    cfg, authors_norm, expected = authors
    trainer = Trainer(tiny_config(prepared, tmp_path / "run", **STEP, grad_clip=cfg.grad_clip), progress=False)
    assert trainer.accumulation == 2 and trainer.replicas == 2
    row = trainer.run(max_steps=1)
    assert row["grad_norm"] == pytest.approx(authors_norm, rel=1e-5)
    assert_update(trainer.model.state_dict(), expected)


def test_global_mean_is_the_documented_other_step(prepared, authors, tmp_path, one_thread):
    cfg, authors_norm, expected = authors
    trainer = Trainer(tiny_config(prepared, tmp_path / "run", **STEP, grad_clip=cfg.grad_clip,
                                  loss_normalisation="global_mean"), progress=False)
    row = trainer.run(max_steps=1)
    # the whole step's counts: about half the authors' gradient here (two replicas), below the clip
    print(f"pre-clip gradient norm: authors {authors_norm:.4f}, global_mean {row['grad_norm']:.4f}, "
          f"ratio {authors_norm / row['grad_norm']:.3f}")
    assert 1.5 < authors_norm / row["grad_norm"] < 2.5
    state = trainer.model.state_dict()
    assert max(float((state[n] - v).abs().max()) for n, v in expected.items()) > 1e-4


def test_two_gloo_processes_take_the_authors_step(prepared, authors, tmp_path):
    cfg, _, expected = authors
    config = write_config(tmp_path / "run.yaml", tiny_values(prepared, tmp_path / "run", **STEP,
                                                             grad_clip=cfg.grad_clip))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           f"--master_port={free_port()}", str(TRAIN_PY), "--config", str(config), "--no-progress",
           "--max-steps", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**env(), "SIAMRPNPP_DIST_BACKEND": "gloo"},
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    state = load_checkpoint_file(str(tmp_path / "run" / "checkpoint_00000001.pth"))["model"]
    assert_update(state, expected)


def test_the_unfreeze_epoch_starts_a_new_optimizer(prepared, tmp_path, monkeypatch, one_thread):
    """Momentum restarts at the unfreeze (step 4 of 8): the buffer after that step is the first-step value."""
    steps = []
    original = torch.optim.SGD.step

    def step(self, closure=None):
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        fresh = all(p not in self.state for p in params)
        before = {p: (p.detach().clone(), p.grad.clone()) for p in params}
        result = original(self, closure)
        wd = self.param_groups[0]["weight_decay"]
        first_step = all(torch.allclose(self.state[p]["momentum_buffer"], g + wd * p0, rtol=0, atol=1e-7)
                         for p, (p0, g) in before.items())
        steps.append((fresh, first_step, len(params)))
        return result

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    Trainer(tiny_config(prepared, tmp_path / "run"), progress=False).run()
    assert [s[0] for s in steps] == [True, False, False, False, True, False, False, False]
    assert [s[1] for s in steps] == [True, False, False, False, True, False, False, False]
    assert steps[3][2] < steps[4][2]  # and from the unfreeze on, the backbone's stages are trained
