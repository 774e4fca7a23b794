"""Dropout for the HAN layers, with a CPU mask cheaper than torch's ``bernoulli_``.

On the CPU, torch draws a dropout mask with one Mersenne-Twister number per element. Here
each mask comes from NumPy's SFC64 generator as one 16-bit integer per element (four per
64-bit output; the measured costs of both are in ``benchmarks/README.md``), and an element
is dropped when that integer falls below

    drop_threshold(p) = round(p * 65536),

so the drop probability is round(p * 65536) / 65536 (0.1 -> 0.1000061) and kept elements are
scaled by 1 / (1 - that), which keeps the expectation exact. Each mask's generator is seeded
with one draw from torch's global CPU generator, so torch's RNG state stays the only source
of randomness: a seed gives the same masks, and a checkpoint that saves torch's RNG state
resumes them exactly. On other devices (CUDA), and inside a ``torch.compile``'d forward
(``--compile``), ``F.dropout`` is used unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MASK_LEVELS = 1 << 16  # one uint16 per element


def drop_threshold(p: float) -> int:
    """The uint16 level below which an element is dropped: round(p * 65536)."""
    return round(p * MASK_LEVELS)


def dropout_mask(shape: tuple, p: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A CPU mask of ``shape``: 0 where dropped, 1 / (1 - p') where kept (p' = threshold / 65536).

    Each 64-bit SFC64 output gives four 16-bit levels, read as int16 (uniform on
    [-32768, 32767]); an element is dropped when its level is below threshold - 32768, which
    happens with probability threshold / 65536. NumPy turns the comparison into the float mask
    with one multiply (float32 / float64; other dtypes are converted afterwards).
    """
    threshold = drop_threshold(p)
    seed = int(torch.randint(0, 2**63 - 1, (1,)))  # advances torch's global CPU generator
    n = math.prod(shape)
    words = np.random.SFC64(seed).random_raw(-(-n // 4))  # 4 levels per uint64
    keep = words.view(np.int16)[:n] >= threshold - MASK_LEVELS // 2
    work_dtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    mask = torch.empty(n, dtype=work_dtype)
    out = mask.numpy()  # shares mask's memory
    np.multiply(keep, out.dtype.type(MASK_LEVELS / (MASK_LEVELS - threshold)), out=out)
    return mask.view(shape).to(dtype)


def drop(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout of ``x`` (any shape): identity unless training with p > 0."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or torch.compiler.is_compiling():
        # CUDA, and a compiled forward (the NumPy mask would break the graph at every call):
        # torch's own dropout, whose masks differ from the eager CPU run's
        return F.dropout(x, p, training=True)
    return x * dropout_mask(x.shape, p, x.dtype)
