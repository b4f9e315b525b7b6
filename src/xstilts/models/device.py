"""The device and precision policy: the one place that decides where a model runs and in what dtype.

Every protocol (evaluation, attack, retrieval, alignment) and the trainer ask this module; nothing
else calls ``model.to(...)`` or casts weights. The rules:

* device: the first CUDA device when there is one, else the CPU (``XSTILTS_DEVICE`` overrides,
  e.g. ``cpu`` on a GPU machine, ``cuda:1``);
* bf16 only where the device runs it natively: CUDA with bf16 support, or a CPU with AVX512-BF16
  or AMX. Elsewhere bf16 is emulated and many times slower than fp32 (a 2-core AVX2 EPYC ran a
  bf16 training benchmark for over 15 minutes where fp32 took 82 s);
* ``auto`` chooses bf16 where it is native and fp32 elsewhere; an explicit ``bf16`` where it is
  not native prints one warning line and runs fp32.

The hardware is read once into a ``Capability``; tests inject their own to check every branch.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16"]
log = logging.getLogger("xstilts.device")

# CPU feature flags (Linux /proc/cpuinfo names) that mean bf16 arithmetic in hardware.
NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class Capability:
    """What the hardware offers: a CUDA device (and its bf16), and native bf16 on the CPU."""

    cuda: bool
    cuda_bf16: bool
    cpu_bf16: bool

    def native_bf16(self, device: torch.device | str) -> bool:
        kind = torch.device(device).type
        if kind == "cuda":
            return self.cuda and self.cuda_bf16
        if kind == "cpu":
            return self.cpu_bf16
        return False


def _cpu_flags() -> set[str]:
    """The CPU's feature flags where the OS lists them (Linux; macOS through sysctl)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    if sys.platform == "darwin" and platform.machine() == "arm64":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "hw.optional.arm.FEAT_BF16"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            return {"arm_bf16"} if out == "1" else set()
        except (OSError, subprocess.SubprocessError):
            return set()
    return set()


def cpu_has_native_bf16(flags: set[str] | None = None, capability: str | None = None) -> bool:
    """AVX512-BF16 or AMX (x86), FEAT_BF16 (Apple silicon). ``torch``'s own dispatch level
    ("AMX" where it reports one) is the fallback where the OS lists no flags."""
    flags = _cpu_flags() if flags is None else flags
    if any(f in flags for f in NATIVE_BF16_CPU_FLAGS) or "arm_bf16" in flags or "bf16" in flags:
        return True
    if capability is None:
        try:
            capability = torch.backends.cpu.get_cpu_capability()
        except (AttributeError, RuntimeError):
            capability = ""
    return "AMX" in capability.upper()


@functools.cache
def detect() -> Capability:
    """The capability of this machine (read once per process). ``XSTILTS_NATIVE_BF16=0`` (or
    ``1``) overrides the CPU's answer, e.g. to reproduce an AVX2-only host's choices."""
    cuda = torch.cuda.is_available()
    env = os.environ.get("XSTILTS_NATIVE_BF16")
    return Capability(
        cuda=cuda,
        cuda_bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        cpu_bf16=cpu_has_native_bf16() if env not in ("0", "1") else env == "1",
    )


def choose_device(cap: Capability | None = None) -> torch.device:
    """``XSTILTS_DEVICE`` if set, else CUDA where there is one, else the CPU."""
    env = os.environ.get("XSTILTS_DEVICE")
    if env:
        return torch.device(env)
    cap = cap or detect()
    return torch.device("cuda") if cap.cuda else torch.device("cpu")


_warned: set[tuple[str, str]] = set()


def resolve_precision(
    asked: str,
    device: torch.device | str,
    cap: Capability | None = None,
    *,
    where: str = "precision",
) -> Literal["fp32", "bf16"]:
    """The precision that runs: ``auto`` -> bf16 where native, else fp32; ``bf16`` where it is
    not native -> one warning line (once per setting and device) and fp32."""
    cap = cap or detect()
    dev = torch.device(device)
    if asked in ("fp32", "no"):
        return "fp32"
    if asked not in ("auto", "bf16"):
        raise ValueError(f"unknown precision {asked!r} (auto, fp32 or bf16)")
    native = cap.native_bf16(dev)
    if native:
        return "bf16"
    if asked == "bf16" and (where, dev.type) not in _warned:
        _warned.add((where, dev.type))
        log.warning(
            "%s: bf16 is not native on this %s (no %s); running fp32",
            where,
            dev.type.upper(),
            "bf16 CUDA support" if dev.type == "cuda" else "AVX512-BF16 or AMX",
        )
    return "fp32"


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class Placement:
    """Where a model was put and in which dtype (recorded with results)."""

    device: torch.device
    precision: Literal["fp32", "bf16"]

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.precision]


def place(
    model: torch.nn.Module,
    precision: str = "fp32",
    *,
    device: torch.device | str | None = None,
    cap: Capability | None = None,
    where: str = "precision",
) -> Placement:
    """Move ``model`` to the policy's device and cast it to the precision that runs there."""
    cap = cap or detect()
    dev = torch.device(device) if device is not None else choose_device(cap)
    prec = resolve_precision(precision, dev, cap, where=where)
    model.to(device=dev, dtype=DTYPES[prec])
    return Placement(dev, prec)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device a model's weights are on (CPU for a model without parameters)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def training_mixed_precision(
    asked: str, cap: Capability | None = None, *, where: str = "mixed_precision"
) -> Literal["no", "bf16", "fp16"]:
    """The ``accelerate`` mixed-precision mode for a phase's ``mixed_precision`` setting.

    ``fp16`` needs CUDA (refused elsewhere by accelerate, passed through); ``bf16``/``auto``
    follow ``resolve_precision`` on the training device.
    """
    cap = cap or detect()
    if asked == "fp16":
        return "fp16"
    dev = choose_device(cap)
    return "bf16" if resolve_precision(asked, dev, cap, where=where) == "bf16" else "no"


def training_on_cpu(cap: Capability | None = None) -> bool:
    """Whether training runs on the CPU (no CUDA, or ``XSTILTS_DEVICE=cpu``)."""
    return choose_device(cap).type == "cpu"
