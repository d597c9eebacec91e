"""train/checkpoints.py: the one checkpoint format of the trainers (with or without a schedule) and seed runs."""
from __future__ import annotations

import torch

from face_addon.train.checkpoints import load_checkpoint, resume_or_start, save_checkpoint, seed_ranges


def _parts(seed: int):
    torch.manual_seed(seed)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    return net, opt, torch.optim.lr_scheduler.StepLR(opt, 10)


def test_round_trip_restores_model_optimiser_schedule_and_state(tmp_path):
    net, opt, sched = _parts(0)
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    sched.step()
    save_checkpoint(tmp_path / "checkpoint.pt", net, opt, sched, {"step": 1, "seconds": 2.5})
    net2, opt2, sched2 = _parts(1)
    assert load_checkpoint(tmp_path / "checkpoint.pt", net2, opt2, sched2) == {"step": 1, "seconds": 2.5}
    assert torch.equal(net2.weight, net.weight) and sched2.last_epoch == 1
    assert opt2.state_dict()["state"][0]["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # written through a temp file


def test_without_schedule_and_with_a_partial_model_state(tmp_path):
    net, opt, _ = _parts(0)
    partial = {"weight": net.weight.detach().clone()}  # e.g. a frozen backbone left out
    save_checkpoint(tmp_path / "c.pt", net, opt, None, {"step": 0}, model_state=partial)
    assert "sched" not in torch.load(tmp_path / "c.pt", weights_only=True)
    net2, opt2, _ = _parts(1)
    bias = net2.bias.detach().clone()
    load_checkpoint(tmp_path / "c.pt", net2, opt2, None, strict=False)
    assert torch.equal(net2.weight, net.weight) and torch.equal(net2.bias, bias)


def test_seed_ranges():
    assert seed_ranges([]) == []
    assert seed_ranges([3, 4, 5, 9, 11, 12]) == [[3, 5], [9, 9], [11, 12]]


def test_resume_or_start(tmp_path):
    """A fresh state without --resume or without a checkpoint; with both, the saved state and parts restored."""
    net, opt, sched = _parts(0)
    fresh, said = {"step": 0}, []
    assert resume_or_start(tmp_path, fresh, net, opt, sched, True, said.append) == (tmp_path / "checkpoint.pt", fresh)
    save_checkpoint(tmp_path / "checkpoint.pt", net, opt, sched, {"step": 7})
    assert resume_or_start(tmp_path, fresh, net, opt, sched, False, said.append)[1] is fresh and not said
    net2, opt2, sched2 = _parts(1)
    assert resume_or_start(tmp_path, fresh, net2, opt2, sched2, True, said.append)[1] == {"step": 7}
    assert torch.equal(net2.weight, net.weight) and said == ["resumed at step 7"]
