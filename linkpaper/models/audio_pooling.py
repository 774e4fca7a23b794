"""VALOR++'s CLAP audio path, and the exact shortcut through one fixed (10, 64) matrix.

The released CLAP input is a (64, 768) HTS-AT token map: 2 frequency groups x 32 time steps,
frequency-group-major (``book/decisions.md#ref-valor-network``, ``#ref-teachers``). VALOR++ turns it into 10
segment vectors by

    (B, 64, D) -> (B, D, 2, 32) -> bicubic to (B, D, 2, 1024) -> fc_a on D -> (B, 2, 1024, H)
    -> mean over the 2 groups -> adaptive average pool 1024 -> 10 -> (B, 10, H)

Upsampling, the mean and the pooling are linear maps along the token axis whose weights sum
to one, so they commute with the affine fc_a (bias included). Pushing the identity basis
through them once, in float64, gives a (10, 64) matrix M with

    reference(audio) == fc_a(M @ audio)     for every (B, 64, D) input.

The fast path is 1024 x cheaper in memory (no (B, D, 2, 1024) tensor) and lets a cache keep
(10, 768) pooled features instead of (64, 768) maps.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

FREQ_GROUPS = 2
TIME_STEPS = 32
UPSAMPLED_STEPS = 1024


def _tokens_to_segments(maps: torch.Tensor, num_segments: int) -> torch.Tensor:
    """The reference linear ops on raw maps: (B, 64, D) -> (B, T, D) (no fc_a in between)."""
    batch, tokens, dim = maps.shape
    grid = maps.transpose(1, 2).reshape(batch, dim, FREQ_GROUPS, TIME_STEPS)
    upsampled = F.interpolate(grid, size=(FREQ_GROUPS, UPSAMPLED_STEPS), mode="bicubic", align_corners=False)
    per_step = upsampled.mean(dim=2)  # (B, D, 1024)
    return F.adaptive_avg_pool1d(per_step, num_segments).transpose(1, 2)


@lru_cache(maxsize=8)
def _pooling_matrix_float64(num_segments: int) -> torch.Tensor:
    tokens = FREQ_GROUPS * TIME_STEPS
    # on the CPU whatever the ambient default device (a model built under ``torch.device("meta")``
    # must not leave a meta matrix in the cache)
    basis = torch.eye(tokens, dtype=torch.float64, device="cpu").unsqueeze(-1)  # (64 inputs, 64 tokens, D=1)
    return _tokens_to_segments(basis, num_segments)[..., 0].T.contiguous()  # (T, 64)


def audio_pooling_matrix(num_segments: int = 10, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """M (T, 64): row t holds the weight of each of the 64 CLAP tokens in segment t.

    Computed in float64 from the reference operations; each row sums to one.
    """
    return _pooling_matrix_float64(num_segments).to(dtype).clone()


def pool_audio_maps(maps: torch.Tensor, num_segments: int = 10) -> torch.Tensor:
    """(B, 64, D) CLAP maps -> (B, T, D) pooled features with fc_a(pooled) == VALOR++'s x_a."""
    matrix = _pooling_matrix_float64(num_segments).to(device=maps.device, dtype=maps.dtype)
    return matrix @ maps


def reference_audio_embedding(maps: torch.Tensor, fc_a: torch.nn.Linear, num_segments: int = 10) -> torch.Tensor:
    """VALOR++'s slow path, in its original order: (B, 64, D) -> (B, T, H).

    upsample (bicubic, align_corners=False) -> fc_a on the channel axis -> mean over the 2
    frequency groups -> adaptive average pool 1024 -> T.
    """
    batch, tokens, dim = maps.shape
    grid = maps.transpose(1, 2).reshape(batch, dim, FREQ_GROUPS, TIME_STEPS)
    upsampled = F.interpolate(grid, size=(FREQ_GROUPS, UPSAMPLED_STEPS), mode="bicubic", align_corners=False)
    projected = fc_a(upsampled.permute(0, 2, 3, 1))  # (B, 2, 1024, H)
    per_step = projected.mean(dim=1).transpose(1, 2)  # (B, H, 1024)
    return F.adaptive_avg_pool1d(per_step, num_segments).transpose(1, 2)
