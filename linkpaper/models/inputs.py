"""The input stage every AVVP network of the field shares, and its config checks.

HAN, MM-Pyramid, JoMoLD, LEAP and VALOR++ all start with the same four projections
(Tian et al., ECCV 2020, Sec. 4.1; ``book/decisions.md#ref-valor-network``):

    x_a = fc_a(audio)                                            (B, T, H)
    x_v = fc_fusion([mean_8(fc_v(visual)) ; fc_st(visual_3d)])   (B, T, H)

``mean_8`` averages the 8 frames of a segment when the 2-D visual input is HAN's ResNet-152
release (B, 80, 2048); CLIP features (B, 10, 768) are already one vector per segment. The
audio input is either one vector per segment (VGGish (B, 10, 128), pooled CLAP (B, 10, 768))
or VALOR's (B, 64, 768) CLAP maps, pooled exactly by ``audio_pooling_matrix``.

:class:`FeatureInputs` is a mixin: the model owns ``fc_a``, ``fc_v``, ``fc_st``, ``fc_fusion``
(the released checkpoints' names), an ``audio_pooling`` buffer and a ``config`` with
``audio_dim``, ``visual_dim``, ``visual_3d_dim``, ``num_segments`` and ``audio_path``.
"""

from __future__ import annotations

from dataclasses import fields

import torch

from linkpaper.data.layout import RESNET_FRAMES
from linkpaper.errors import ConfigError, UserError
from linkpaper.models.audio_pooling import FREQ_GROUPS, TIME_STEPS, reference_audio_embedding

AUDIO_MAP_TOKENS = FREQ_GROUPS * TIME_STEPS  # 64 CLAP tokens per clip


class InputShapeError(UserError, ValueError):
    """A feature tensor whose shape the model cannot take."""


class FeatureInputs:
    """embed_audio / embed_visual / pool_audio_input for a model with fc_a, fc_v, fc_st, fc_fusion."""

    def create_heads_and_projections(self, hidden_dim: int, num_classes: int) -> None:
        """The attentive MMIL heads (fc_prob, fc_frame_att, fc_av_att: H -> C) and the input
        projections (fc_a, fc_v, fc_st, fc_fusion), under the released checkpoints' names and in
        the reference networks' creation order, so a seed gives the reference's initial weights.
        Call it in ``__init__`` before the encoder is created."""
        from torch import nn

        H, C = hidden_dim, num_classes
        self.fc_prob = nn.Linear(H, C)
        self.fc_frame_att = nn.Linear(H, C)
        self.fc_av_att = nn.Linear(H, C)
        self.fc_a = nn.Linear(self.config.audio_dim, H)
        self.fc_v = nn.Linear(self.config.visual_dim, H)
        self.fc_st = nn.Linear(self.config.visual_3d_dim, H)
        self.fc_fusion = nn.Linear(2 * H, H)

    def pool_audio_input(self, audio: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """(N, 64, Da) CLAP maps -> (N, T, Da) through the fixed (T, 64) pooling matrix, ``chunk``
        videos at a time; any other input (and every input on the ``"reference"`` path) is
        returned unchanged. The engine calls it once per split (``scoring.prepare_split``)."""
        if audio.dim() != 3 or audio.shape[1] != AUDIO_MAP_TOKENS or self.config.audio_path != "fast":
            return audio
        matrix = self.audio_pooling.to(device=audio.device, dtype=audio.dtype)
        if audio.shape[0] <= chunk:
            return matrix @ audio
        return torch.cat([matrix @ audio[start : start + chunk] for start in range(0, audio.shape[0], chunk)])

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 64, Da) CLAP maps or (B, T, Da) segment features -> x_a (B, T, H)."""
        T = self.config.num_segments
        if audio.dim() != 3 or audio.shape[-1] != self.config.audio_dim or audio.shape[1] not in (AUDIO_MAP_TOKENS, T):
            raise InputShapeError(
                f"audio features: expected (B, {AUDIO_MAP_TOKENS}, {self.config.audio_dim}) CLAP maps or "
                f"(B, {T}, {self.config.audio_dim}) pooled features, got {tuple(audio.shape)}"
            )
        if audio.shape[1] == AUDIO_MAP_TOKENS and self.config.audio_path == "reference":
            return reference_audio_embedding(audio, self.fc_a, T)
        return self.fc_a(self.pool_audio_input(audio))

    def embed_visual(self, visual: torch.Tensor, visual_3d: torch.Tensor) -> torch.Tensor:
        """(B, T, Dv) [or (B, 80, Dv) ResNet frames] and (B, T, D3) -> x_v (B, T, H)."""
        T = self.config.num_segments
        if visual.dim() != 3 or visual.shape[-1] != self.config.visual_dim or visual.shape[1] not in (T, RESNET_FRAMES):
            raise InputShapeError(
                f"visual features: expected (B, {T}, {self.config.visual_dim}), got {tuple(visual.shape)}"
            )
        if (
            visual_3d.dim() != 3
            or visual_3d.shape[1:] != (T, self.config.visual_3d_dim)
            or visual_3d.shape[0] != visual.shape[0]
        ):
            raise InputShapeError(
                f"3-D visual features: expected ({visual.shape[0]}, {T}, {self.config.visual_3d_dim}), "
                f"got {tuple(visual_3d.shape)}"
            )
        vid_s = self.fc_v(visual)
        if visual.shape[1] == RESNET_FRAMES:  # average the 8 frames of each segment
            vid_s = vid_s.reshape(vid_s.shape[0], T, RESNET_FRAMES // T, -1).mean(dim=2)
        return self.fc_fusion(torch.cat([vid_s, self.fc_st(visual_3d)], dim=-1))

    def embed(self, audio, visual, visual_3d) -> tuple[torch.Tensor, torch.Tensor]:
        """x_a, x_v (B, T, H): the features the encoder reads."""
        x_a = self.embed_audio(audio)
        x_v = self.embed_visual(visual, visual_3d)
        if x_a.shape[0] != x_v.shape[0]:
            raise InputShapeError(f"batch sizes differ: audio {x_a.shape[0]}, visual {x_v.shape[0]}")
        return x_a, x_v


def check_config(
    config, name: str, positive: tuple[str, ...], probabilities: tuple[str, ...] = (), choices: dict | None = None
) -> None:
    """Raise ConfigError naming the field for a wrong type, a non-positive size, a dropout
    outside [0, 1) or a value outside ``choices`` ({field: allowed values})."""
    for f in fields(config):
        value = getattr(config, f.name)
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        expected = {"int": int, "float": (int, float), "bool": bool, "str": str}.get(kind)
        if expected is not None and (isinstance(value, bool) and kind != "bool" or not isinstance(value, expected)):
            raise ConfigError(f"{name} config {f.name}: expected {kind}, got {value!r}")
    for field_name in positive:
        if getattr(config, field_name) <= 0:
            raise ConfigError(f"{name} config {field_name}: must be > 0, got {getattr(config, field_name)}")
    for field_name in probabilities:
        if not 0.0 <= getattr(config, field_name) < 1.0:
            raise ConfigError(f"{name} config {field_name}: must be in [0, 1), got {getattr(config, field_name)}")
    for field_name, allowed in (choices or {}).items():
        if getattr(config, field_name) not in allowed:
            raise ConfigError(
                f"{name} config {field_name}: unknown {getattr(config, field_name)!r}; "
                f"choose one of {', '.join(map(str, allowed))}"
            )
    if config.hidden_dim % config.num_heads:
        raise ConfigError(
            f"{name} config hidden_dim={config.hidden_dim} is not divisible by num_heads={config.num_heads}"
        )
