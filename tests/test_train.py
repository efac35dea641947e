"""Training (Algorithm 1): the logged losses are the oracle's, resume is exact, checkpoints are
atomic, the non-finite guard keeps bad values out of the weights, signals save and exit 0, and
every bad input is one line."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import sharpvid.fast.checkpoint as checkpoint
import sharpvid.fast.training.step
import sharpvid.reference.losses as ref_losses
import sharpvid.reference.networks as ref_net
from sharpvid.fast import cli
from sharpvid.fast.config import load_config
from sharpvid.fast.networks import to_reference_weights
from sharpvid.fast.training.critics import instance_noise
from sharpvid.fast.training.errors import TrainError
from sharpvid.fast.training.loop import Trainer
from sharpvid.fast.training.optim import scheduled_lr
from sharpvid.fast.video.clips import to_model
from sharpvid.reference.pyramid import frame_pyramid
from videodata import moving_square, write_frames

DATA = "synthetic:videos=3,frames=12,height=32,width=32"


def tiny(*overrides: str, steps: int = 4):
    return load_config("tiny", [f"data={DATA}", f"steps={steps}", "log_every=1",
                                "sample_every=0", "val_every=0", *overrides])


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([*map(str, args)])
    return status, out.getvalue(), err.getvalue()


def train_lines(run_dir: Path, kind: str = "train") -> list[dict]:
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    drop = ("time", "steps_per_s", "samples_per_s")
    return [{k: v for k, v in d.items() if k not in drop} for d in lines if d["kind"] == kind]


# ---------------------------------------------------------------------------------------------
# One step against the oracle
# ---------------------------------------------------------------------------------------------


def _f64(batch: np.ndarray) -> np.ndarray:
    return to_model(batch).double().numpy()


@pytest.mark.parametrize("lam_adv", [0.05, 0.0])
def test_logged_losses_equal_the_oracle(tmp_path, lam_adv):
    cfg = tiny(f"lam_adv={lam_adv}", "g_optimizer=sgd", "g_lr=0.04", "lam_gdl=0.7", "p=1.5",
               "alpha=1.2")
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    net = cfg.network_config()
    w_g = to_reference_weights(trainer.g)
    w_d = to_reference_weights(trainer.critics[0].module) if lam_adv else None
    values = trainer.step()
    clips = trainer.loader.clips
    k = 0
    if lam_adv:  # D step on batch 0 with G and D as they were
        clip = _f64(clips.batch(0, cfg.batch, cfg.seed, 0))
        x, y = clip[:, :4], clip[:, 4]
        fake = ref_net.generator_forward(w_g, x, net)
        d_real = ref_net.discriminator_forward(w_d, x, frame_pyramid(y, 4), net)
        d_fake = ref_net.discriminator_forward(w_d, x, fake, net)
        assert values["d/loss"] == pytest.approx(ref_losses.discriminator_loss(d_real, d_fake),
                                                 rel=1e-5)
        assert values["d/acc_real"] == pytest.approx(np.mean([np.mean(p > 0.5) for p in d_real]))
        w_d = to_reference_weights(trainer.critics[0].module)  # G meets the updated D
        k = 1
    clip = _f64(clips.batch(k, cfg.batch, cfg.seed, 0))  # G's own, new batch
    x, y = clip[:, :4], clip[:, 4]
    y_hat = ref_net.generator_forward(w_g, x, net)
    d_fake = ref_net.discriminator_forward(w_d, x, y_hat, net) if lam_adv else None
    expected = ref_losses.combined_generator_loss(
        y_hat, frame_pyramid(y, 4), d_fake, lam_adv=lam_adv, lam_lp=1.0, lam_gdl=0.7, p=1.5,
        alpha=1.2)
    assert values["g/total"] == pytest.approx(expected, rel=1e-5)
    assert values["g/lp"] == pytest.approx(
        sum(ref_losses.lp_loss(a, b, 1.5) for a, b in zip(y_hat, frame_pyramid(y, 4))), rel=1e-5)
    assert ("d/loss" in values) == bool(lam_adv) and not trainer.critics == bool(lam_adv)
    # the update happened, with the paper's plain SGD: w <- w - lr * grad (tiny's copy path
    # starts each scale's last conv at zero, so that layer moves first)
    last = f"scales.0.convs.{len(net.g_kernels[0]) - 1}.bias"
    assert not np.allclose(to_reference_weights(trainer.g)[last], w_g[last])


def test_recursive_training_of_two_frames(tmp_path):
    """n = 2: frame 2 is predicted from the window that ends with G's own frame 1, and the logged
    loss is the mean of the two frames' Eq. (6) losses, each the oracle's on the same batch."""
    # the paper's output: an untrained copy path would predict the last frame whatever the window
    cfg = tiny("n=2", "net.output=paper", "lam_adv=0", "lam_gdl=0.7", "p=1.5", "alpha=1.2", steps=2)
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    net = cfg.network_config()
    w_g = to_reference_weights(trainer.g)
    values = trainer.step()
    assert "bad" not in values
    assert len(trainer.last_rollout.preds[0]) == 4  # the pyramid of the first predicted frame
    clip = _f64(trainer.loader.clips.batch(0, cfg.batch, cfg.seed, 0))  # no D step: batch 0
    x, y1, y2 = clip[:, :4], clip[:, 4], clip[:, 5]

    def loss(preds, y):  # Eq. (6) without the adversarial term, the oracle's
        return ref_losses.combined_generator_loss(preds, frame_pyramid(y, 4), lam_gdl=0.7, p=1.5,
                                                  alpha=1.2)

    pred1 = ref_net.generator_forward(w_g, x, net)
    window2 = np.concatenate([x[:, 1:], pred1[-1][:, None]], axis=1)  # G's frame 1 slides in
    loss2 = loss(ref_net.generator_forward(w_g, window2, net), y2)
    assert values["g/total"] == pytest.approx((loss(pred1, y1) + loss2) / 2, rel=1e-5)
    # frame 2 from the real frame 1 (no recursion) would log a different value
    teacher = loss(ref_net.generator_forward(w_g, clip[:, 1:5], net), y2)
    assert abs(teacher - loss2) > 1e-4 * loss2


def test_learning_rate_schedules():
    assert scheduled_lr("exponential", 0.04, 0.005, 0, 101) == pytest.approx(0.04)
    assert scheduled_lr("exponential", 0.04, 0.005, 100, 101) == pytest.approx(0.005)
    assert scheduled_lr("exponential", 0.04, 0.005, 50, 101) == pytest.approx((0.04 * 0.005) ** .5)
    assert scheduled_lr("linear", 1.0, 0.0, 25, 101) == pytest.approx(0.75)
    assert scheduled_lr("constant", 0.02, 0.5, 70, 101) == 0.02


# ---------------------------------------------------------------------------------------------
# Checkpoints, resume, the guard, signals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("net", [[], ["net.output=flow", "net.upsample_mode=bilinear"]],
                         ids=["paper", "flow"])
def test_resumed_run_logs_what_an_uninterrupted_run_logs(tmp_path, net):
    # the paper's SGD with its decaying rate: the resumed run must continue the schedule too;
    # the flow path computes its input flows at every step, from the same frames: as exact
    cfg = tiny("checkpoint_every=3", "g_optimizer=sgd", "g_lr=0.04", "g_lr_final=0.005",
               "g_lr_schedule=exponential", *net, steps=6)
    whole = Trainer(cfg, tmp_path / "whole", progress=False)
    whole.fit()
    # a run killed after step 4: the checkpoint of step 3 is on disk, step 4 was logged, and the
    # last line of the log was cut short
    part = Trainer(cfg, tmp_path / "part", progress=False)
    part._stop_everywhere = lambda requested: part.step_no >= 4
    part.fit()
    (tmp_path / "part" / "checkpoints" / "step-00000004.pt").unlink()
    with open(tmp_path / "part" / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "kind": "tr')
    status, out, err = run_cli("train", "--resume", tmp_path / "part", "--quiet")
    assert status == 0, err
    assert "dropping a damaged line" in err
    assert train_lines(tmp_path / "part") == train_lines(tmp_path / "whole")
    assert [d["lr/g"] for d in train_lines(tmp_path / "part")][-1] == pytest.approx(0.005)
    a = checkpoint.load_checkpoint(tmp_path / "whole")
    b = checkpoint.load_checkpoint(tmp_path / "part")
    assert a["step"] == b["step"] == 6
    for key, value in a["generator"].items():
        torch.testing.assert_close(b["generator"][key], value, rtol=0, atol=0)


def test_resume_refuses_another_process_count(tmp_path):
    run = tmp_path / "run"
    Trainer(tiny(steps=1), run, progress=False).fit()
    path = run / "checkpoints" / "step-00000001.pt"
    state = torch.load(path, weights_only=True)
    torch.save({**state, "world": 2}, path)
    status, out, err = run_cli("train", "--resume", run, "--steps=2", "--quiet")
    assert status == 2 and "saved by a run of 2 process(es), resumed with 1" in err


def test_resume_takes_a_bare_key_value_as_an_override(tmp_path):
    """Under torchrun overrides are bare ``key=value``; after --resume the first one must not
    be read as a CONFIG (argparse hands it to the positional)."""
    run = tmp_path / "run"
    Trainer(tiny(steps=1), run, progress=False).fit()
    status, out, err = run_cli("train", "--resume", run, "steps=2", "--quiet")
    assert status == 0, err
    assert checkpoint.load_checkpoint(run)["step"] == 2


def test_checkpoints_keep_the_newest_and_survive_a_failed_save(tmp_path, monkeypatch):
    trainer = Trainer(tiny("checkpoint_every=1", "keep_checkpoints=2", steps=3),
                      tmp_path / "run", progress=False)
    trainer.fit()
    ckpts = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-00000002.pt", "step-00000003.pt"]
    before = (ckpts / "step-00000003.pt").read_bytes()

    def full_disk(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    trainer.step()
    with pytest.raises(checkpoint.CheckpointError, match="No space left on device.*kept"):
        trainer.save()
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-00000002.pt", "step-00000003.pt"]
    assert (ckpts / "step-00000003.pt").read_bytes() == before
    monkeypatch.undo()
    assert checkpoint.load_checkpoint(tmp_path / "run")["step"] == 3


def _poison_lp(monkeypatch, when):
    """G's ℓp term NaN at the steps (counted from 1) where ``when(step)`` holds."""
    good = sharpvid.fast.training.step.lp_term
    monkeypatch.setattr(sharpvid.fast.training.step, "lp_term",
                        lambda r, p: good(r, p) * (float("nan") if when() else 1.0))


def test_nonfinite_loss_never_reaches_the_weights(tmp_path, monkeypatch):
    trainer = Trainer(tiny("checkpoint_every=2", "nan_patience=2", "nan_lr_factor=0.5", steps=6),
                      tmp_path / "run", progress=False)
    poisoned = {3, 4}
    _poison_lp(monkeypatch, lambda: trainer.step_no + 1 in poisoned)
    weights = {}
    original_step = trainer.step

    def step():
        values = original_step()
        weights.setdefault(trainer.step_no, {k: v.clone() for k, v in trainer.g.state_dict().items()})
        return values

    trainer.step = step
    poisoned_once = {3, 4}

    def forget_after_restore(*args, **kwargs):  # the retry after the restore is clean
        poisoned.clear()
        return restore(*args, **kwargs)

    restore = trainer.restore
    trainer.restore = forget_after_restore
    trainer.fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    bad = [d for d in lines if d["kind"] == "nonfinite"]
    assert [d["step"] for d in bad] == sorted(poisoned_once)
    assert all("g/lp" in d["terms"] and "g/total" in d["terms"] for d in bad)
    # the skipped G update left the weights as after step 2
    for key, value in weights[2].items():
        torch.testing.assert_close(weights[3][key], value, rtol=0, atol=0)
    restores = [d for d in lines if d["kind"] == "restore"]
    assert restores == [{"step": 4, "kind": "restore", "from_step": 2, "lr_scale": 0.5}]
    assert trainer.step_no == 6 and trainer.guard.lr_scale == 0.5
    last = [d for d in lines if d["kind"] == "train"][-1]
    assert last["lr/g"] == pytest.approx(0.5 * 1e-3)


def test_persistent_nonfinite_losses_lower_the_rates_then_give_up(tmp_path, monkeypatch):
    trainer = Trainer(tiny("checkpoint_every=2", "nan_patience=1", "nan_max_restores=3", steps=6),
                      tmp_path / "run", progress=False)
    _poison_lp(monkeypatch, lambda: trainer.step_no >= 2)
    with pytest.raises(TrainError, match="non-finite losses at step 3 after 3 restores"):
        trainer.fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [d["lr_scale"] for d in lines if d["kind"] == "restore"] == [0.5, 0.25, 0.125]
    assert checkpoint.load_checkpoint(tmp_path / "run")["step"] == 2  # the good state stays


def test_a_checkpoint_saved_at_a_bad_step_does_not_reset_the_restore_limit(tmp_path, monkeypatch):
    """nan_patience 2, a checkpoint every step: the bad step below the patience is saved, and
    that save must not count as a new good state, or every restore would start a fresh count
    and a run that is NaN for good would train on to its last step."""
    trainer = Trainer(tiny("checkpoint_every=1", "nan_patience=2", "nan_max_restores=2",
                           steps=12), tmp_path / "run", progress=False)
    _poison_lp(monkeypatch, lambda: trainer.step_no >= 2)
    with pytest.raises(TrainError, match="after 2 restores"):
        trainer.fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len([d for d in lines if d["kind"] == "restore"]) == 2


def test_a_partly_nonfinite_step_skips_only_the_nonfinite_update(tmp_path, capsys, monkeypatch):
    """D's values non-finite, G's finite: D's update is skipped, G's lands (it was computed
    from finite values against the unchanged critic), and the message says which."""
    trainer = Trainer(tiny(steps=1), tmp_path / "run", progress=False)
    critic = trainer.critics[0]
    d_before = {k: v.clone() for k, v in critic.module.state_dict().items()}
    g_before = {k: v.clone() for k, v in trainer.g.state_dict().items()}
    original = sharpvid.fast.training.step.critic_loss
    monkeypatch.setattr(sharpvid.fast.training.step, "critic_loss", lambda *a: (
        lambda loss, *acc: (loss * float("nan"), *acc))(*original(*a)))
    trainer.fit()
    for k, v in critic.module.state_dict().items():
        torch.testing.assert_close(v, d_before[k], rtol=0, atol=0)
    assert any(not torch.equal(v, g_before[k]) for k, v in trainer.g.state_dict().items())
    err = capsys.readouterr().err
    assert "step 1: non-finite d/loss" in err and "the critics' update skipped (G's landed)" in err


def _wait_for(path: Path, text: str, proc, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text():
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended early: {proc.stderr.read()}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_finishes_the_step_saves_and_exits_0(tmp_path, sig):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sharpvid.fast.cli", "train", "tiny", "--out", str(run), f"--data={DATA}",
         "--steps=100000", "--log_every=1", "--sample_every=0", "--val_every=0",
         "--checkpoint_every=100000", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    _wait_for(run / "metrics.jsonl", '"step": 3,', proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"{sig.name}: stopped after step" in err and "(saved)" in err and "--resume" in err
    step = checkpoint.load_checkpoint(run)["step"]
    assert step >= 3 and train_lines(run)[-1]["step"] == step


def test_validation_scores_the_baselines_once_and_the_model_every_time(tmp_path, monkeypatch):
    """The validation clips are fixed, so copy-last's and flow extrapolation's scores are the
    same at every validation: computed at the first, reused after; the model's are new."""
    import sharpvid.fast.flow
    from sharpvid.fast.evaluate import predict_and_score

    folder = write_frames(tmp_path / "frames", moving_square(12, 32, 40))
    trainer = Trainer(tiny(f"val_data={folder}", "net.output=copy"),
                      tmp_path / "run", progress=False)
    calls = []
    real = sharpvid.fast.flow.flow_extrapolate
    monkeypatch.setattr(sharpvid.fast.flow, "flow_extrapolate",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    first = trainer.validate()
    assert len(calls) == len(trainer.val) >= 1
    with torch.no_grad():
        for p in trainer.g.parameters():
            p.add_(0.01)  # a copy path no longer at its zero start: the model's scores change
    second = trainer.validate()
    assert len(calls) == len(trainer.val)  # not again
    for key in first:
        if key.endswith(("_copy_last", "_flow_extrap")):
            assert second[key] == first[key], key
    assert second["psnr_seed"] != first["psnr_seed"]
    # and the reused values are the baselines' own scores on those clips
    values = []
    for clip in trainer.val:
        _, scores = predict_and_score(trainer.g, to_model(clip[None], "cpu"), trainer.cfg.m,
                                      trainer.cfg.n)
        values += scores["flow_extrap"]["psnr_seed"].flatten().tolist()
    trainer.close()
    assert math.isfinite(first["psnr_seed_flow_extrap"])
    assert first["psnr_seed_flow_extrap"] == pytest.approx(np.mean(values))


# ---------------------------------------------------------------------------------------------
# Data kinds
# ---------------------------------------------------------------------------------------------


def test_trains_on_a_frame_folder_and_a_prepared_folder(tmp_path):
    folder = write_frames(tmp_path / "frames", moving_square(12, 40, 48))
    status, out, err = run_cli("train", "tiny", "--out", tmp_path / "a", f"--data={folder}",
                               "--steps=2", "--batch=2", "--quiet", "--sample_every=1",
                               f"--val_data={folder}", "--val_every=2", "--val_clips=1")
    assert status == 0, err
    assert (tmp_path / "a" / "samples" / "step-00000002.png").is_file()
    val = train_lines(tmp_path / "a", "val")[0]
    assert val["psnr_seed"] > 0 and val["psnr_seed_copy_last"] > 0 and "sharp_seed_moving" not in val
    assert val["psnr_seed_flow_extrap"] > 0
    prepared = tmp_path / "prep"
    assert cli.main(["prepare", DATA, "--out", str(prepared), "--clips", "16", "--frames", "6"]) == 0
    status, out, err = run_cli("train", "tiny", "--out", tmp_path / "b", f"--data={prepared}",
                               "--steps=2", "--batch=2", "--quiet")
    assert status == 0, err


# ---------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing lost
# ---------------------------------------------------------------------------------------------


def test_bad_input_is_one_line(tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "tiny", "--out", run, f"--data={DATA}", "--steps=1", "--quiet")[0] == 0
    first = (run / "checkpoints" / "step-00000001.pt").read_bytes()
    cases = [
        (("tiny", "--out", tmp_path / "x", "--stpes=3"), "unknown config key 'stpes'"),
        (("tiny", "--out", tmp_path / "x", "--steps=many"), "steps must be int"),
        (("tiny", "--out", tmp_path / "x", "--net.activation=tanh"), "activation must be one of"),
        (("nosuch", "--out", tmp_path / "x"), "unknown config 'nosuch'"),
        (("tiny", "--out", run), "holds another run; use --resume"),
        (("tiny", "--out", tmp_path / "x", "--device=cuda"), "no CUDA device"),
        (("tiny", "--out", tmp_path / "x", "--data=synthetic:videos=1,frames=4"),
         "fewer than the 5"),
        (("tiny", "--out", tmp_path / "x", f"--data={tmp_path / 'missing'}"), "no such file"),
        (("--resume", tmp_path / "x"), "no run to resume"),
        (("--resume", run, "--network=authors_small"), "another network config (shape scales."),
        (("tiny", "--out", tmp_path / "x", "--real_label_range=[1.0,0.7]"),
         "real_label_range must be [low, high] with 0 <= low <= high <= 1.5"),
        (("tiny", "--out", tmp_path / "x", "--fake_label_range=[-0.1,0.2]"),
         "fake_label_range must be [low, high]"),
        (("tiny", "--out", tmp_path / "x", "--real_label_range=[0.7,1.6]"), "<= 1.5"),
        (("tiny", "--out", tmp_path / "x", "--instance_noise=-0.1"),
         "instance_noise must be a finite number >= 0"),
        (("tiny", "--out", tmp_path / "x", "--adv_warmup=-5"), "adv_warmup must be >= 0"),
        (("tiny", "--out", tmp_path / "x", "--adv_region=still"), "adv_region must be one of"),
        (("tiny", "--out", tmp_path / "x", "--adv_region_threshold=-0.1"),
         "adv_region_threshold must be a finite number >= 0"),
        (("tiny", "--out", tmp_path / "x", "--net.output=frames"), "output must be one of"),
        (("tiny", "--out", tmp_path / "x", "--d_adam_beta1=1"), "d_adam_beta1 must be in [0, 1)"),
        (("tiny", "--out", tmp_path / "x", "--keep_static=1.5"), "keep_static must be in [0, 1]"),
        (("tiny", "--out", tmp_path / "x", "--still_clips=-0.1"), "still_clips must be in [0, 1]"),
    ]
    if torch.cuda.is_available():
        cases = [c for c in cases if "--device=cuda" not in c[0]]
    for args, message in cases:
        status, out, err = run_cli("train", *args, "--quiet")
        assert status == 2, (args, err)
        assert err.count("\n") == 1 and message in err, (args, err)
    # a damaged checkpoint is named, and the run's files are untouched by all of the above
    (run / "checkpoints" / "step-00000002.pt").write_bytes(b"not a checkpoint")
    status, out, err = run_cli("train", "--resume", run, "--steps=3", "--quiet")
    assert status == 2 and "step-00000002.pt: not a readable checkpoint" in err
    assert (run / "checkpoints" / "step-00000001.pt").read_bytes() == first
    # --force with a bad new config loses nothing; a good one starts over
    (run / "checkpoints" / "step-00000002.pt").unlink()
    status, out, err = run_cli("train", "tiny", "--out", run, f"--data={tmp_path / 'missing'}",
                               "--force", "--quiet")
    assert status == 2 and (run / "checkpoints" / "step-00000001.pt").read_bytes() == first
    assert run_cli("train", "tiny", "--out", run, f"--data={DATA}", "--steps=1", "--force",
                   "--quiet")[0] == 0


def test_tensorboard_receives_the_logged_values(tmp_path):
    pytest.importorskip("tensorboard")  # installed by `make test` (the tensorboard extra)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    Trainer(tiny("tensorboard=true", steps=2), tmp_path / "run", progress=False).fit()
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert "train/g/total" in scalars and "train/d/loss" in scalars
    assert [e.step for e in events.Scalars("train/g/lp")] == [1, 2]


@pytest.mark.gpu
@pytest.mark.parametrize("compile_", [False, True])
def test_cuda_training_with_fast_math(tmp_path, compile_):
    cfg = tiny("device=cuda", "fast_math=true", f"compile={str(compile_).lower()}", steps=3)
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    trainer.fit()
    assert trainer.device.type == "cuda" and "bad" not in trainer.last
    assert trainer.g.scales[0].convs[0].weight.is_contiguous(memory_format=torch.channels_last)
    state = checkpoint.load_checkpoint(tmp_path / "run")
    assert state["step"] == 3 and "cuda" in state["rng"]


def test_pictures_that_cannot_be_written_are_a_warning(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "samples").write_text("a file where the samples folder goes")
    status, out, err = run_cli("train", "tiny", "--out", run, f"--data={DATA}", "--steps=2",
                               "--sample_every=1", "--quiet")
    assert status == 0 and "warning" in err and "training goes on" in err
    assert checkpoint.load_checkpoint(run)["step"] == 2


# ---------------------------------------------------------------------------------------------
# GAN stabilisers: label smoothing, leaky ReLU in G and/or D (SGD for D / Adam for G: the configs)
# ---------------------------------------------------------------------------------------------


def test_label_smoothing_and_leaky_relu_match_the_oracle(tmp_path):
    cfg = tiny("label_smoothing=true", "real_label_range=[0.8,1.1]", "fake_label_range=[0,0.2]",
               "d_activation=leaky_relu", "net.leaky_slope=0.1")
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    assert trainer.g.config.activation == "relu"
    d_net = trainer.critics[0].module.config
    assert d_net.activation == "leaky_relu" and d_net.leaky_slope == 0.1
    w_g = to_reference_weights(trainer.g)
    w_d = to_reference_weights(trainer.critics[0].module)
    values = trainer.step()
    clip = _f64(trainer.loader.clips.batch(0, cfg.batch, cfg.seed, 0))
    x, y = clip[:, :4], clip[:, 4]
    rng = np.random.default_rng([cfg.seed, 0, 0, 1])  # the trainer's key for step 0's labels
    real = ref_losses.smoothed_labels((cfg.batch,), True, rng, real_range=(0.8, 1.1))
    fake = ref_losses.smoothed_labels((cfg.batch,), False, rng, fake_range=(0.0, 0.2))
    fake_frames = ref_net.generator_forward(w_g, x, trainer.g.config)
    d_real = ref_net.discriminator_forward(w_d, x, frame_pyramid(y, 4), d_net)
    d_fake = ref_net.discriminator_forward(w_d, x, fake_frames, d_net)
    expected = ref_losses.discriminator_loss(d_real, d_fake, real, fake)
    assert values["d/loss"] == pytest.approx(expected, rel=1e-5)
    assert values["d/loss"] != pytest.approx(ref_losses.discriminator_loss(d_real, d_fake),
                                             rel=1e-3)
    # the resolved config records the stabilisers, and evaluation rebuilds G from it
    trainer.save()
    g, read_back, _ = checkpoint.load_generator(tmp_path / "run")
    assert read_back.label_smoothing and read_back.d_activation == "leaky_relu"
    assert read_back.real_label_range == (0.8, 1.1)


def test_leaky_generator_is_rebuilt_leaky_from_its_checkpoint(tmp_path):
    trainer = Trainer(tiny("g_activation=leaky_relu", "lam_adv=0", steps=1), tmp_path / "run",
                      progress=False)
    trainer.fit()
    g, cfg, _ = checkpoint.load_generator(tmp_path / "run")
    assert g.config.activation == "leaky_relu" and not trainer.critics
    x = torch.rand(1, 4, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(g(x)[-1], trainer.g.eval()(x)[-1])


# ---------------------------------------------------------------------------------------------
# Several discriminators (GMAN aggregation) and the blur detector D2
# ---------------------------------------------------------------------------------------------


def test_blur_detector_loss_equals_the_oracle(tmp_path):
    import sharpvid.reference.blur as ref_blur

    cfg = tiny("discriminators=0", "blur_detector=true", "blur_size=5", "blur_variance=5")
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    (blur,) = trainer.critics
    assert blur.name == "blur" and not blur.module.config.conditional_d
    w_d2 = to_reference_weights(blur.module)
    values = trainer.step()
    clip = _f64(trainer.loader.clips.batch(0, cfg.batch, cfg.seed, 0))
    y = clip[:, 4]
    net = blur.module.config
    sharp = ref_net.discriminator_forward(w_d2, None, frame_pyramid(y, 4), net)
    blurred = ref_blur.gaussian_blur(y, 5, 5.0)
    blurry = ref_net.discriminator_forward(w_d2, None, frame_pyramid(blurred, 4), net)
    assert values["d_blur/loss"] == pytest.approx(ref_losses.discriminator_loss(sharp, blurry),
                                                  rel=1e-4)


def test_a_change_judging_d_trains_beside_the_frame_judging_blur_detector(tmp_path):
    cfg = tiny("net.d_input=change", "blur_detector=true", steps=1)
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    d, blur = trainer.critics
    assert d.module.config.d_input == "change" and d.module.config.conditional_d
    assert blur.module.config.d_input == "frame" and not blur.module.config.conditional_d
    w_d = to_reference_weights(d.module)
    clip = _f64(trainer.loader.clips.batch(0, cfg.batch, cfg.seed, 0))
    x = clip[:, :4]
    # copy-last, where the copy path starts, is what the change D sees as zeros
    copied = ref_net.discriminator_forward(w_d, x, frame_pyramid(x[:, -1], 4), d.module.config)
    zeros = ref_net.discriminator_forward(w_d, x, frame_pyramid(0 * x[:, -1], 4),
                                          dataclasses.replace(d.module.config, d_input="frame"))
    np.testing.assert_allclose(copied, zeros, rtol=1e-12)
    values = trainer.step()
    assert np.isfinite(values["d/loss"]) and np.isfinite(values["d_blur/loss"])


@pytest.mark.parametrize("aggregate", ["mean", "max", "gman"])
def test_several_discriminators_and_the_blur_detector_train_together(tmp_path, aggregate):
    cfg = tiny("discriminators=2", "blur_detector=true", "blur_detector_fakes=true",
               f"adv_aggregate={aggregate}", "gman_lambda=2", "blur=median", "blur_size=3",
               "checkpoint_every=1", steps=2)
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    trainer.fit()
    assert [c.name for c in trainer.critics] == ["d1", "d2", "blur"]
    w1 = trainer.critics[0].module.state_dict()["scales.0.convs.0.weight"]
    assert not torch.equal(w1, trainer.critics[1].module.state_dict()["scales.0.convs.0.weight"])
    last = train_lines(tmp_path / "run")[-1]
    adv = [last[f"g/adv_{name}"] for name in ("d1", "d2", "blur")]
    assert last["g/adv"] == pytest.approx(
        ref_losses.aggregate_adversarial(adv, aggregate, 2.0), rel=1e-5)
    for name in ("d1", "d2", "blur"):
        assert np.isfinite(last[f"d_{name}/loss"]) and 0 <= last[f"d_{name}/acc_fake"] <= 1
    state = checkpoint.load_checkpoint(tmp_path / "run")
    assert sorted(state["critics"]) == ["blur", "d1", "d2"]
    status, out, err = run_cli("train", "--resume", tmp_path / "run", "--steps=3",
                               "--blur_detector=false", "--quiet")
    assert status == 2 and "critics ['blur', 'd1', 'd2']" in err


def test_init_d2_loads_only_the_blur_detector_and_freeze_keeps_it(tmp_path):
    source = Trainer(tiny("discriminators=0", "blur_detector=true", steps=1), tmp_path / "a",
                     progress=False)
    source.fit()
    d2 = {k: v.clone() for k, v in source.critics[0].module.state_dict().items()}
    status, out, err = run_cli("train", "tiny", "--out", tmp_path / "b", f"--data={DATA}",
                               "--steps=2", "--blur_detector=true", "--freeze_d2=true",
                               "--init_d2", tmp_path / "a", "--seed=5", "--quiet")
    assert status == 0, err
    state = checkpoint.load_checkpoint(tmp_path / "b")
    assert sorted(state["critics"]) == ["blur", "d"]
    for key, value in d2.items():  # loaded, then never updated
        torch.testing.assert_close(state["critics"]["blur"][key], value, rtol=0, atol=0)
    assert "d/loss" in train_lines(tmp_path / "b")[-1]  # D1 trains; D2 does not
    assert "d_blur/loss" not in train_lines(tmp_path / "b")[-1]
    cases = [
        (("--init_d2", tmp_path / "a"), "need the blur detector"),
        (("--init_d2", tmp_path / "missing", "--blur_detector=true"), "no such checkpoint"),
        (("--init_d2", tmp_path / "b", "--blur_detector=true", "--network=authors_small"),
         "blur detector D2 weights are for another network config (shape scales.0.convs.0"),
    ]
    for extra, message in cases:
        status, out, err = run_cli("train", "tiny", "--out", tmp_path / "c", f"--data={DATA}",
                                   "--steps=1", "--quiet", *extra)
        assert status == 2 and message in err and err.count("\n") == 1, (extra, err)
    no_d2 = Trainer(tiny(steps=1), tmp_path / "plain", progress=False)
    no_d2.fit()
    status, out, err = run_cli("train", "tiny", "--out", tmp_path / "c", f"--data={DATA}",
                               "--steps=1", "--quiet", "--blur_detector=true",
                               "--init_d2", tmp_path / "plain")
    assert status == 2 and "holds no blur detector (critics: ['d'])" in err


# ---------------------------------------------------------------------------------------------
# The VGG19 perceptual term
# ---------------------------------------------------------------------------------------------


def _vgg_file(path: Path, upto: str = "relu2_2") -> Path:
    """A torchvision-format VGG19 checkpoint with seeded random weights (tests only)."""
    import sharpvid.reference.perceptual as ref_perc

    weights = ref_perc.init_vgg19_weights(upto, rng=0)
    torch.save({k: torch.from_numpy(v).float() for k, v in weights.items()}
               | {"classifier.0.weight": torch.zeros(2, 2)}, path)
    return path


def test_perceptual_term_equals_the_oracle(tmp_path):
    import sharpvid.reference.perceptual as ref_perc

    vgg = _vgg_file(tmp_path / "vgg19.pth")
    cfg = tiny("lam_adv=0", "lam_perc=0.3", 'perc_layers=[["relu1_2", 0.5], ["relu2_2", 1.0]]',
               f"vgg19_weights={vgg}")
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    w_g = to_reference_weights(trainer.g)
    values = trainer.step()
    clip = _f64(trainer.loader.clips.batch(0, cfg.batch, cfg.seed, 0))
    x, y = clip[:, :4], clip[:, 4]
    y_hat = ref_net.generator_forward(w_g, x, trainer.g.config)
    w_vgg = {k: v.double().numpy() for k, v in torch.load(vgg, weights_only=True).items()
             if k.startswith("features.")}
    perc = ref_perc.perceptual_loss(w_vgg, y_hat[-1], y, (("relu1_2", 0.5), ("relu2_2", 1.0)))
    assert values["g/perc"] == pytest.approx(perc, rel=1e-4)
    expected = ref_losses.combined_generator_loss(y_hat, frame_pyramid(y, 4)) + 0.3 * perc
    assert values["g/total"] == pytest.approx(expected, rel=1e-5)


def test_perceptual_term_needs_a_weights_file(tmp_path):
    for extra, message in [((), "needs VGG19 weights: torchvision's ImageNet checkpoint"),
                           (("--vgg19_weights", tmp_path / "nope.pth"), "not found"),
                           (("--perc_layers=[[\"relu9_9\", 1]]",), "perc_layers")]:
        status, out, err = run_cli("train", "tiny", "--out", tmp_path / "r", f"--data={DATA}",
                                   "--lam_perc=0.1", "--steps=1", "--quiet", *extra)
        assert status == 2 and message in err and err.count("\n") == 1, (extra, err)


# ---------------------------------------------------------------------------------------------
# Beyond the paper: the copy path, the critic's training
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["copy", "warp"])
def test_a_copy_run_starts_as_copy_last_and_its_checkpoint_rebuilds_a_copy_generator(tmp_path,
                                                                                    output):
    run = tmp_path / "run"
    trainer = Trainer(tiny(f"net.output={output}", steps=0), run, progress=False)
    trainer.fit()  # step 0 saved: the untrained G
    g, cfg, _ = checkpoint.load_generator(run)
    assert g.config.output == output and cfg.generator_config().output == output
    x = to_model(trainer.loader.clips.batch(0, 2, 0, 0))[:, :4]
    with torch.no_grad():
        assert torch.equal(g(x)[-1], x[:, -1])
    if output == "warp":  # the field is older than the warp path: no such old checkpoint
        return
    # a checkpoint from before the field existed loads as the paper's G
    path = run / "checkpoints" / "step-00000000.pt"
    state = torch.load(path, weights_only=True)
    del state["config"]["net"]["output"]
    torch.save(state, path)
    assert checkpoint.load_generator(run)[0].config.output == "paper"


def test_a_warp_run_learns_a_flow_and_its_checkpoint_rebuilds_it(tmp_path):
    """output="warp": the flow channels get a gradient from the first step (the zero flow is
    not a dead start), and the checkpoint rebuilds the C + 2 outputs of every scale."""
    run = tmp_path / "run"
    trainer = Trainer(tiny("net.output=warp", steps=2), run, progress=False)
    last = trainer.g.scales[-1].convs[-1]
    assert last.weight.shape[0] == 5  # 3 channels of change, then the flow's x and y
    trainer.step()
    assert last.weight[3:].abs().max() > 0 and last.bias[3:].abs().max() > 0
    trainer.fit()
    g, _, _ = checkpoint.load_generator(run)
    torch.testing.assert_close(g.scales[-1].convs[-1].weight, last.weight.detach())
    trainer.close()


def test_adversarial_warmup_ramps_the_weight_in_the_logged_total(tmp_path):
    trainer = Trainer(tiny("adv_warmup=4", steps=2), tmp_path / "run", progress=False)
    for s in (1, 2):
        v = trainer.step()
        expected = v["g/lp"] + v["g/gdl"] + 0.05 * s / 4 * v["g/adv"]
        assert v["g/total"] == pytest.approx(expected, rel=1e-5)


def _two_frame_rollout(m: int = 2, scales: int = 2):
    """A rollout of 2 predicted frames of one 8x8 clip whose real frames change only in the
    top-left 4x4 corner, the predictions leaves of autograd."""
    from sharpvid.fast.pyramid import frame_pyramid as pyramid
    from sharpvid.fast.training.objectives import Rollout

    frames = torch.zeros(1, m + 2, 3, 8, 8)
    frames[:, m:, :, :4, :4] = 0.5 * torch.arange(1, 3).view(1, 2, 1, 1, 1)  # moves each frame
    preds = [[torch.rand(1, 3, 8 >> (scales - 1 - k), 8 >> (scales - 1 - k), requires_grad=True)
              for k in range(scales)] for _ in range(2)]
    x = frames[:, :m]
    windows = [x, torch.cat([x[:, 1:], preds[0][-1][:, None]], dim=1)]
    return Rollout(windows, preds, [pyramid(frames[:, m + j], scales) for j in range(2)],
                   [frames[:, j:j + m] for j in range(2)])


def test_the_moving_adversarial_region_keeps_values_and_stops_the_gradient_on_still_pixels():
    from sharpvid.fast.training.objectives import adversarial_region

    r = _two_frame_rollout()
    assert adversarial_region(r, "frame", 0.05) == list(zip(r.windows, r.preds))
    for j, (window, preds) in enumerate(adversarial_region(r, "moving", 0.05)):
        torch.testing.assert_close(window, r.windows[j], rtol=0, atol=0)
        for p, q in zip(preds, r.preds[j]):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
        (sum(p.sum() for p in preds) + window.sum()).backward()
    for j in (0, 1):
        fine, coarse = r.preds[j][1].grad[0], r.preds[j][0].grad[0]
        assert (fine[:, :4, :4] > 0).all() and (fine[:, 4:] == 0).all() and \
            (fine[:, :, 4:] == 0).all()
        assert (coarse[:, :2, :2] > 0).all() and (coarse[:, 2:] == 0).all()
    # frame 0's finest prediction also sits in frame 1's window: twice the gradient where moving
    torch.testing.assert_close(r.preds[0][1].grad[:, :, :4, :4], torch.full((1, 3, 4, 4), 2.0))


def test_the_moving_adversarial_region_leaves_every_logged_loss_as_it_is(tmp_path):
    runs = [Trainer(tiny(f"adv_region={region}", steps=1), tmp_path / region, progress=False)
            for region in ("frame", "moving")]
    a, b = (t.step() for t in runs)
    for key in ("g/total", "g/lp", "g/gdl", "g/adv", "d/loss"):
        assert a[key] == pytest.approx(b[key], rel=1e-6), key
    assert a["g/grad_norm"] != pytest.approx(b["g/grad_norm"], rel=1e-6)
    for t in runs:
        t.close()


def test_instance_noise_changes_only_what_the_critic_sees_and_decays(tmp_path):
    plain = Trainer(tiny(steps=2), tmp_path / "a", progress=False)
    noisy = Trainer(tiny("instance_noise=0.5", "instance_noise_steps=1", steps=2), tmp_path / "b",
                    progress=False)
    a, b = plain.step(), noisy.step()
    assert a["g/lp"] == pytest.approx(b["g/lp"], rel=1e-6)  # G's own losses: same G, same data
    assert a["d/loss"] != pytest.approx(b["d/loss"], rel=1e-3)  # the critic saw noise
    frames, critic = [torch.zeros(2, 3, 4, 4)], noisy.critics[0]
    assert not torch.equal(instance_noise(critic, frames, noisy.cfg, 0)[0], frames[0])
    # sigma has fallen to 0 after instance_noise_steps
    assert instance_noise(critic, frames, noisy.cfg, 1)[0] is frames[0]


def test_the_seeds_label_range_is_warned_about(tmp_path):
    status, out, err = run_cli("train", "tiny", "--out", tmp_path / "run", f"--data={DATA}",
                               "--steps=1", "--quiet", "--label_smoothing=true",
                               "--real_label_range=[0.7,1.2]", "--fake_label_range=[0,0.3]")
    assert status == 0, err
    assert "warning: real_label_range=[0.7, 1.2] reaches above 1" in err
    assert "fake_label_range" not in err


def test_the_critic_trains_on_logits_with_its_own_adam_betas(tmp_path):
    trainer = Trainer(tiny("d_optimizer=adam", "d_lr=2e-4", "d_adam_beta1=0.5", steps=1),
                      tmp_path / "run", progress=False)
    assert trainer.critics[0].optimizer.param_groups[0]["betas"] == (0.5, 0.999)
    assert trainer.g_opt.param_groups[0]["betas"] == (0.9, 0.999)
    # a D so sure that σ rounds to 1 on a fake: the probability form's gradient is exactly 0
    # there, the logit form's is not
    z = torch.tensor([40.0], requires_grad=True)
    from sharpvid.fast.losses import discriminator_loss

    discriminator_loss([torch.tensor([0.0])], [z], logits=True).backward()
    assert z.grad.item() > 0.5


def test_keep_static_is_the_share_of_clips_cut_without_the_motion_test():
    from sharpvid.fast.training.data import training_clips

    assert training_clips(tiny("keep_static=0.4")).cfg.keep_anyway == 0.4
    assert training_clips(tiny()).cfg.keep_anyway == 0.05  # TF's


class _Numbered:
    """Clips whose every pixel of frame t of clip i of batch k is 3 k + 7 i + t (mod 256): the
    origin of each frame can be read back."""

    def batch(self, k, batch_size, seed=0, rank=0):
        i = np.arange(batch_size)[:, None]
        t = np.arange(5)[None, :]
        value = ((3 * k + 7 * i + t + 11 * rank + seed) % 256).astype(np.uint8)
        return np.broadcast_to(value[:, :, None, None, None], (batch_size, 5, 3, 4, 4)).copy()


def test_still_clips_replace_a_share_of_each_batch_by_one_of_its_frames_repeated():
    from sharpvid.fast.training.data import StillClips, with_still_clips

    source = _Numbered()
    assert with_still_clips(source, 0.0) is source  # off: the stream is untouched
    every = StillClips(source, 1.0).batch(3, 6, seed=2, rank=1)
    original = source.batch(3, 6, seed=2, rank=1)
    for clip, frames in zip(every, original):
        assert (clip == clip[0]).all()  # one frame over all m + n
        assert any((clip[0] == f).all() for f in frames)  # and it is one of the clip's own
    share = StillClips(source, 0.3)
    batches = [share.batch(k, 8) for k in range(50)]
    still = np.array([[(c == c[0]).all() for c in b] for b in batches])
    assert 0.2 < still.mean() < 0.4  # the share, per clip
    for k, b in enumerate(batches):  # the other clips are the source's, frame for frame
        np.testing.assert_array_equal(b[~still[k]], source.batch(k, 8)[~still[k]])
    # the same draw for the same (k, seed, rank): a resumed stream repeats it
    np.testing.assert_array_equal(share.batch(7, 8, 1, 0), StillClips(source, 0.3).batch(7, 8, 1, 0))
    assert not np.array_equal(share.batch(7, 8, 1, 0), share.batch(7, 8, 2, 0))


def test_a_run_with_still_clips_trains_on_them(tmp_path, monkeypatch):
    trainer = Trainer(tiny("still_clips=1.0", steps=1), tmp_path / "run", progress=False)
    clip = trainer.loader.clips.batch(0, 4, 0, 0)
    assert all((c == c[0]).all() for c in clip)
    seen = []  # the batches the D and G steps really get

    def recorded(fn):
        def step(run, clip):
            seen.append(clip.detach().cpu())
            return fn(run, clip)
        return step

    step = sharpvid.fast.training.step
    monkeypatch.setattr(step, "discriminator_step", recorded(step.discriminator_step))
    monkeypatch.setattr(step, "generator_step", recorded(step.generator_step))
    trainer.fit()
    trainer.close()
    assert len(seen) == 2  # one D step and one G step
    for batch in seen:  # every clip of both batches is one frame repeated over its m + n frames
        assert all(torch.equal(c, c[:1].expand_as(c)) for c in batch)
    assert train_lines(tmp_path / "run")[-1]["step"] == 1


def test_spectral_norm_normalises_the_critics_weights_and_resumes_exactly(tmp_path):
    cfg = tiny("d_spectral_norm=true", "checkpoint_every=2", steps=4)
    whole = Trainer(cfg, tmp_path / "whole", progress=False)
    whole.fit()
    d = whole.critics[0].module
    layer = d.scales[0].convs[0]
    assert hasattr(layer, "parametrizations")  # torch's spectral_norm
    d.eval()
    sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
    assert sigma == pytest.approx(1.0, abs=0.05)  # W / σ(W), σ by power iteration
    assert "scales.0.convs.0.weight" in d._weights()  # the computed weight, by the oracle's name
    # resume: the power iteration's vectors are in the checkpoint
    part = Trainer(cfg, tmp_path / "part", progress=False)
    part._stop_everywhere = lambda requested: part.step_no >= 2
    part.fit()
    status, out, err = run_cli("train", "--resume", tmp_path / "part", "--quiet")
    assert status == 0, err
    assert train_lines(tmp_path / "part") == train_lines(tmp_path / "whole")
