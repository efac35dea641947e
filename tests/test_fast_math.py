"""The ``fast_math`` switch on the CPU: what each setting resolves to on which CPU (detected
from its flags, never guessed), the notice where bf16 is asked for and not native, the start
lines that say which plan runs, checkpoints that load under any plan, and bf16 training whose
losses stay near float32's.  The networks' bf16 numbers against the oracle are in
tests/test_equivalence_networks.py."""

from __future__ import annotations

import json

import pytest
import torch

import sharpvid.fast.devices as devices
from sharpvid.fast.checkpoint import load_generator
from sharpvid.fast.config import ConfigError, config_from_dict, load_config
from sharpvid.fast.devices import cpu_flags, native_bf16, resolve_fast_math
from sharpvid.fast.training.loop import Trainer
from test_train import DATA, run_cli, tiny, train_lines

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
AVX2 = frozenset({"fma", "avx2", "avx512f"})
SAPPHIRE = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})


@pytest.fixture
def native_bf16_cpu(monkeypatch):
    """This test's CPU has AVX512-BF16 (the autouse fixture in conftest.py takes it away)."""
    monkeypatch.setattr(devices, "cpu_flags", lambda path="/proc/cpuinfo": SAPPHIRE)


# ------------------------------------------------------------------------------ resolution


def test_cpu_flags_read_x86_and_arm_cpuinfo_and_nothing_elsewhere(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512_bf16\n\n"
                   "processor\t: 1\nflags\t\t: fpu\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    # cpu_flags is the real function: imported before conftest's fixture patched the module
    assert cpu_flags(str(x86)) == {"fpu", "avx2", "avx512_bf16"}
    assert "bf16" in cpu_flags(str(arm))
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.mark.parametrize("flags, evidence", [
    (SAPPHIRE, "avx512_bf16"), (frozenset({"amx_bf16"}), "amx_bf16"),
    (frozenset({"asimd", "bf16"}), "bf16")])
def test_native_bf16_cpu_gets_bf16_and_channels_last(flags, evidence):
    for setting in ("auto", "on", True):
        plan = resolve_fast_math(setting, CPU, flags)
        assert plan.bf16 and plan.channels_last and not plan.notice
        assert evidence in plan.summary and "bf16 autocast" in plan.summary


def test_cpu_without_native_bf16_keeps_float32_and_on_says_why():
    auto = resolve_fast_math("auto", CPU, AVX2)
    assert not auto and auto.notice == ""
    assert auto.summary.startswith("float32: this CPU has no native bf16")
    on = resolve_fast_math("on", CPU, AVX2)
    assert not on
    assert on.notice.startswith("fast_math on asked for, but this CPU has no native bf16 (no "
                                "avx512_bf16, amx_bf16 or bf16 flag in /proc/cpuinfo)")
    assert "\n" not in on.notice and "float32" in on.notice
    unread = resolve_fast_math("on", CPU, frozenset())
    assert "cannot be read" in unread.notice


def test_off_is_float32_nchw_everywhere():
    for flags in (AVX2, SAPPHIRE):
        for setting in ("off", False):
            plan = resolve_fast_math(setting, CPU, flags)
            assert not plan and plan.summary == "float32: fast_math off"
    with pytest.raises(ValueError, match="fast_math must be one of"):
        resolve_fast_math("fast", CPU, AVX2)


def test_cuda_plans_follow_the_gpus_native_bf16(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    assert native_bf16(cuda) == (False, "Tesla V100 has no native bf16")
    assert not resolve_fast_math("auto", cuda).bf16
    assert resolve_fast_math("on", cuda).bf16  # asked for: emulated, and the summary says so
    assert "emulated" in resolve_fast_math("on", cuda).summary
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    plan = resolve_fast_math("auto", cuda)
    assert plan.bf16 and plan.channels_last and "NVIDIA H200" in plan.summary


# ------------------------------------------------------------------------------ config


def test_config_takes_auto_on_off_and_booleans():
    for value, expected in (("auto", "auto"), ("on", "on"), ("off", "off"), ("true", "on"),
                            ("false", "off")):
        assert tiny(f"fast_math={value}").fast_math == expected
    old = tiny().to_dict()
    old["fast_math"] = True  # a config.json written before the setting had three values
    assert config_from_dict(old, "config.json").fast_math == "on"
    assert load_config("demo").fast_math == "auto"
    with pytest.raises(ConfigError, match=r"^overrides: fast_math must be one of \('auto', "
                                          r"'on', 'off'\) \(or true/false\), got 'fastest'$"):
        tiny("fast_math=fastest")


# ------------------------------------------------------------------------------ training


def test_train_start_line_names_the_plan_and_on_gets_a_one_line_notice(tmp_path):
    status, out, err = run_cli("train", "tiny", f"--data={DATA}", "--steps=1", "--sample_every=0",
                               "--val_every=0", "--fast_math=on", "--out", tmp_path / "run",
                               "--quiet")
    assert status == 0, err
    assert "; float32: this CPU has no native bf16 (no" in out.splitlines()[0]
    notices = [line for line in err.splitlines() if "notice" in line]
    assert notices == ["sharpvid: notice: fast_math on asked for, but this CPU has no native "
                       "bf16 (no avx512_bf16, amx_bf16 or bf16 flag in /proc/cpuinfo): float32 "
                       "instead"]
    status, out, err = run_cli("train", "tiny", f"--data={DATA}", "--steps=1", "--sample_every=0",
                               "--val_every=0", "--fast_math=off", "--out", tmp_path / "off",
                               "--quiet")
    assert status == 0 and "; float32: fast_math off; run folder" in out and "notice" not in err


def test_bf16_training_on_a_native_bf16_cpu_stays_near_float32_and_saves_float32(
        tmp_path, native_bf16_cpu):
    steps = 12
    runs = {}
    for setting in ("auto", "off"):
        trainer = Trainer(tiny(f"fast_math={setting}", steps=steps), tmp_path / setting,
                          progress=False)
        assert trainer.fast_math.bf16 == (setting == "auto")
        assert trainer.g.scales[0].convs[0].weight.is_contiguous(
            memory_format=torch.channels_last) == (setting == "auto")
        assert trainer.fit() == 0
        runs[setting] = train_lines(tmp_path / setting)
    for bf16, f32 in zip(runs["auto"], runs["off"]):
        for key in ("g/total", "g/lp", "g/gdl", "d/loss"):
            assert bf16[key] == pytest.approx(f32[key], rel=0.05), (bf16["step"], key)
    # a checkpoint saved under bf16 holds float32 weights and loads under any plan
    g_off, _, state = load_generator(tmp_path / "auto", CPU, "off")
    assert not g_off.fast_math
    assert all(v.dtype == torch.float32 for v in state["generator"].values())
    g_bf16, _, _ = load_generator(tmp_path / "auto", CPU)
    assert g_bf16.fast_math.bf16  # the run's own setting, resolved on this (native) CPU
    x = torch.rand(2, 4, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(g_bf16(x)[-1], g_off(x)[-1], rtol=0.02, atol=0.02)


def test_evaluate_and_predict_take_fast_math_and_say_which(tmp_path):
    run = tmp_path / "run"
    assert Trainer(tiny(steps=1), run, progress=False).fit() == 0
    status, out, err = run_cli("evaluate", run, "--data", DATA, "--frame-range", "0.5:1",
                               "--frames", "1", "--out", tmp_path / "eval", "--pictures", "0",
                               "--fast-math", "off")
    assert status == 0, err
    assert "float32: fast_math off" in out
    meta = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert meta["evaluation"]["fast_math"] == "float32: fast_math off"
    status, out, err = run_cli("evaluate", run, "--data", DATA, "--frame-range", "0.5:1",
                               "--frames", "1", "--out", tmp_path / "eval2", "--pictures", "0",
                               "--fast-math", "on")
    assert status == 0, err
    assert [line for line in err.splitlines() if "notice" in line][0].startswith(
        "sharpvid: notice: fast_math on asked for, but this CPU has no native bf16")
    status, out, err = run_cli("predict", run, "synthetic:videos=1,frames=8,height=32,width=32",
                               "--out", tmp_path / "pred", "--fast-math", "off")
    assert status == 0, err
    assert "on cpu; float32: fast_math off; input frames" in err and "notice" not in err
    with pytest.raises(SystemExit) as exc:
        run_cli("predict", run, "x", "--out", tmp_path / "p2", "--fast-math", "fast")
    assert exc.value.code == 2


def test_the_flag_offers_the_configs_settings():
    import argparse

    from sharpvid.fast.commands import add_fast_math_flag
    from sharpvid.fast.devices import FAST_MATH_SETTINGS

    parser = argparse.ArgumentParser()
    add_fast_math_flag(parser)
    flag = next(a for a in parser._actions if "--fast-math" in a.option_strings)
    assert tuple(flag.choices) == FAST_MATH_SETTINGS
