"""The one place a device name becomes a ``torch.device`` (``"auto"`` picks CUDA when present,
and asking for CUDA where there is none is a one-line :class:`DeviceError`, not a deep
traceback from the first tensor moved there), and the one place the ``fast_math`` setting
becomes what the networks do on that device (:func:`resolve_fast_math`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


class DeviceError(ValueError):
    """A device that does not exist here."""


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` if available else ``cpu``; ``"cpu"``, ``"cuda"``, ``"cuda:K"``.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        raise DeviceError(f"device must be auto, cpu, cuda or cuda:K, got {spec!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec!r} asked for, but this machine has no CUDA device "
                              f"(torch {torch.__version__}); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {spec!r} asked for, but this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise DeviceError(f"device must be auto, cpu, cuda or cuda:K, got {spec!r}")
    return device


# ---------------------------------------------------------------------------------------------
# Fast math: what the networks' speed switch does on this device
# ---------------------------------------------------------------------------------------------

#: The values of the ``fast_math`` config key and of ``--fast-math``.
FAST_MATH_SETTINGS = ("auto", "on", "off")

#: /proc/cpuinfo flags of a CPU that computes bf16 natively: AVX512-BF16's dot products
#: (``vdpbf16ps``) or AMX's bf16 tiles (x86), FEAT_BF16 (Arm, listed as "bf16").
_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


@dataclass(frozen=True)
class FastMath:
    """What the networks' ``fast_math`` switch does: convolutions in ``channels_last`` and/or
    under bf16 autocast (the pyramids, Laplacian sums, losses and metrics stay float32).

    ``summary`` is the start line's words; ``notice`` a one-line notice when ``on`` was asked
    for and cannot be given here ("" otherwise).  ``bool(plan)``: whether anything changes.
    """

    channels_last: bool = False
    bf16: bool = False
    summary: str = "float32"
    notice: str = ""

    def __bool__(self) -> bool:
        return self.channels_last or self.bf16


OFF = FastMath()
ON = FastMath(channels_last=True, bf16=True, summary="bf16 autocast + channels_last")


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (x86 ``flags``, Arm ``Features``); empty
    where the file does not exist (macOS, Windows): nothing is guessed."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def native_bf16(device: torch.device, flags: frozenset[str] | None = None) -> tuple[bool, str]:
    """Whether ``device`` computes bf16 natively, and the evidence (a flag, a GPU name) or why
    not.  CUDA: ``torch.cuda.is_bf16_supported`` without emulation (Ampere and newer); the CPU:
    a bf16 flag in ``/proc/cpuinfo`` (:data:`_BF16_FLAGS`; torch's own oneDNN check also
    accepts plain AVX-512, where bf16 is emulated and slower than float32)."""
    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        try:
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # pragma: no cover - torch without the argument
            native = torch.cuda.is_bf16_supported()
        return native, name if native else f"{name} has no native bf16"
    flags = cpu_flags() if flags is None else flags
    found = [f for f in _BF16_FLAGS if f in flags]
    if found:
        return True, f"CPU flag {found[0]}"
    why = "no avx512_bf16, amx_bf16 or bf16 flag in /proc/cpuinfo" if flags else \
        "its flags cannot be read here (no /proc/cpuinfo)"
    return False, f"this CPU has no native bf16 ({why})"


def resolve_fast_math(setting: str | bool, device: torch.device,
                      flags: frozenset[str] | None = None) -> FastMath:
    """The plan for ``fast_math = setting`` on ``device``.

    - ``off``: float32, NCHW: the numbers of the oracle-checked float32 path.
    - ``on`` / ``auto`` where the device has native bf16 (:func:`native_bf16`): bf16 autocast
      and channels_last.
    - A CPU without native bf16: float32 NCHW, as ``off``; ``on`` also gets a notice saying
      why.  Measured on a 2-core AVX2 EPYC (benchmarks/RESULTS.md, 2026-12-02): emulated bf16
      trained the demo at 0.13x float32 (single convolutions 5-20x slower), and channels_last
      alone, though faster for single large convolutions, made whole training steps slower
      for the paper config (-8 to -20 %) and for the demo at its 64x64 patches (-3 %).
    - CUDA without native bf16 (before Ampere): ``auto`` keeps float32, ``on`` runs bf16 anyway.
    """
    if isinstance(setting, bool):
        setting = "on" if setting else "off"
    if setting not in FAST_MATH_SETTINGS:
        raise ValueError(f"fast_math must be one of {FAST_MATH_SETTINGS}, got {setting!r}")
    device = torch.device(device)
    if setting == "off":
        return FastMath(summary="float32: fast_math off")
    native, evidence = native_bf16(device, flags)
    if native:
        return FastMath(channels_last=True, bf16=True,
                        summary=f"bf16 autocast + channels_last: {evidence}")
    if device.type == "cuda" and setting == "on":
        return FastMath(channels_last=True, bf16=True,
                        summary=f"bf16 autocast + channels_last, emulated: {evidence}")
    plan = FastMath(summary=f"float32: {evidence}")
    if setting == "on" and device.type == "cpu":
        return dataclasses.replace(plan, notice=f"fast_math on asked for, but {evidence}: "
                                                f"float32 instead")
    return plan
