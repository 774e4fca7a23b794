"""How a model's forward runs: its number format (``--precision``) and compilation (``--compile``).

``fp32`` (the default) leaves the model untouched, so its numbers are those of every earlier
run bit for bit. ``bf16`` runs the forward under ``torch.autocast`` (CPU or CUDA) with
bfloat16: matrix products and the other ops autocast lists compute in bf16 while the weights,
their gradients and AdamW's state stay fp32. The output's tensors are handed back as fp32, so
the losses (whose clamp to ``1 - 1e-7`` bf16 cannot represent) and the metric run in fp32.

bf16 is fast only where the hardware has it: on x86 CPUs the ``avx512_bf16`` or ``amx_bf16``
instructions (``/proc/cpuinfo``), on CUDA an Ampere or newer GPU. Elsewhere torch emulates it
and it is usually slower than fp32 (:func:`bf16_support` says which; the measured figures are
in ``benchmarks/README.md``).

``compile`` wraps the model's ``__call__`` with ``torch.compile`` in place
(``nn.Module.compile``), so parameter names, checkpoints and ``state_dict`` are unchanged; the
first calls in each mode (training, evaluation) pay the compilation.
"""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import torch

from linkpaper.errors import ConfigError

PRECISIONS = ("fp32", "bf16")
"""The ``--precision`` choices; the first is the default."""
DEFAULT_PRECISION = PRECISIONS[0]
AUTOCAST_DTYPES = {"bf16": torch.bfloat16}

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
"""x86 instruction sets that compute bf16 in hardware (Cooper Lake / Sapphire Rapids and later)."""


def check_precision(precision: str, device: str | torch.device) -> None:
    """Raise ConfigError unless ``precision`` is one of PRECISIONS and ``device`` can run it."""
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision: unknown {precision!r}; choose one of {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if (
        precision == "bf16"
        and device.type == "cuda"
        and torch.cuda.is_available()
        and not torch.cuda.is_bf16_supported()
    ):
        raise ConfigError(
            f"--precision bf16: {torch.cuda.get_device_name(device)} has no bf16 support "
            "(it needs an Ampere or newer GPU); use --precision fp32"
        )


def apply_precision(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    """``model`` with its forward run in ``precision`` (in place; returns the model).

    fp32 changes nothing. bf16 replaces the instance's ``forward`` by one that runs the class's
    forward under autocast on the inputs' device and returns the AVVPOutput with fp32 tensors.
    """
    if precision == DEFAULT_PRECISION:
        return model
    model.forward = types.MethodType(_autocast_forward, model)  # a bound method: deepcopy rebinds it
    model.precision = precision
    return model


def _autocast_forward(self, *args, **kwargs):
    device_type = next(a for a in args if isinstance(a, torch.Tensor)).device.type
    with torch.autocast(device_type=device_type, dtype=AUTOCAST_DTYPES[self.precision]):
        output = type(self).forward(self, *args, **kwargs)
    return as_float32(output)


def as_float32(output):
    """A copy of a dataclass output (AVVPOutput) whose floating-point tensors are fp32
    (differentiable casts; ``diagnostics`` included)."""

    def cast(value):
        if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != torch.float32:
            return value.float()
        return value

    changes = {
        f.name: cast(getattr(output, f.name))
        for f in dataclasses.fields(output)
        if isinstance(getattr(output, f.name), torch.Tensor)
    }
    diagnostics = getattr(output, "diagnostics", None)
    if isinstance(diagnostics, dict):
        changes["diagnostics"] = {name: cast(value) for name, value in diagnostics.items()}
    return dataclasses.replace(output, **changes)


def compile_model(model: torch.nn.Module, backend: str = "inductor") -> torch.nn.Module:
    """``model`` with ``torch.compile`` applied to its calls in place (``backend``: torch's default)."""
    model.compile(backend=backend)
    return model


# --------------------------------------------------------------------------------------------
# What the hardware offers
# --------------------------------------------------------------------------------------------


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU's instruction-set flags (the first ``flags`` line of ``/proc/cpuinfo``; empty where
    the file is missing, e.g. not on Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def bf16_support(device: str | torch.device = "cpu", cpuinfo: str | Path = "/proc/cpuinfo") -> dict:
    """``{"hardware": bool, "flags": [...], "text": one line}``: whether ``device`` computes bf16
    in hardware, and the line the benchmarks print with every bf16 figure."""
    device = torch.device(device)
    if device.type == "cuda":
        native = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        name = torch.cuda.get_device_name(device) if torch.cuda.is_available() else "CUDA"
        return {"hardware": native, "flags": [], "text": f"{name}: bf16 {'in hardware' if native else 'not supported'}"}
    flags = sorted(cpu_flags(cpuinfo) & set(CPU_BF16_FLAGS))
    if flags:
        text = f"bf16 flags: {', '.join(flags)} (bf16 in hardware)"
    else:
        text = (
            f"bf16 flags: none of {', '.join(CPU_BF16_FLAGS)}: bf16 is emulated on this CPU "
            "(expect it slower than fp32)"
        )
    return {"hardware": bool(flags), "flags": flags, "text": text}
