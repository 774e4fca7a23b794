"""HAN (Tian et al., "Unified Multisensory Perception: Weakly-Supervised Audio-Visual Video
Parsing", ECCV 2020): the hybrid attention network and attentive MMIL pooling.

    x_a, x_v = input projections                                   (B, T, H)
    h_a = HANLayer(x_a, x_v),  h_v = HANLayer(x_v, x_a)           (B, T, H)   hybrid attention
    p_t^m = sigmoid(fc_prob(h_t^m))                                (B, T, 2, C)
    P = sum_t sum_m softmax_t(fc_frame_att) * softmax_m(fc_av_att) * p   (B, C)   attentive MMIL

One HAN layer is shared by the audio and the visual stream (the released ``MMIL_Net`` has
H 512, one head, FFN 512, one layer, dropout 0.1: ``HANConfig``'s defaults). Both streams are
updated from the previous layer's pair (HAN's and JoMoLD's encoders), unlike VALOR++, which
updates the visual stream from the already updated audio one
(``book/decisions.md#method-han``). The layer itself is VALOR++'s :class:`HANLayer`: the same
arithmetic and parameter names.

Inputs: VALOR's layout (pooled CLAP (B, 10, 768) or maps (B, 64, 768), CLIP (B, 10, 768),
R(2+1)D (B, 10, 512)) by default; HAN's release (VGGish (B, 10, 128), ResNet-152 (B, 80, 2048),
R(2+1)D (B, 10, 512)) with ``audio_dim=128, visual_dim=2048`` (:data:`HAN_RELEASE_INPUTS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.layout import HAN_LAYOUT
from linkpaper.errors import ConfigError
from linkpaper.models.audio_pooling import audio_pooling_matrix
from linkpaper.models.config import AUDIO_PATHS
from linkpaper.models.dropout import drop
from linkpaper.models.inputs import FeatureInputs, check_config
from linkpaper.models.valor import AVVPOutput, HANLayer, attentive_mmil_pooling, multi_head_attention

HAN_RELEASE_INPUTS = {f"{stream}_dim": shape[-1] for stream, (_, shape) in HAN_LAYOUT.items()}
"""Input widths of HAN's feature release: VGGish (10, 128), ResNet-152 (80, 2048), R(2+1)D (10, 512)."""


@dataclass
class HANConfig:
    """HAN's network at its published size (``MMIL_Net`` in the released code)."""

    hidden_dim: int = 512  # H
    num_heads: int = 1
    ff_dim: int = 512
    num_layers: int = 1
    dropout: float = 0.1
    num_classes: int = NUM_CLASSES  # C
    num_segments: int = NUM_SEGMENTS  # T
    audio_dim: int = 768  # pooled CLAP (VALOR layout); 128 for VGGish
    visual_dim: int = 768  # CLIP ViT-L/14; 2048 for ResNet-152 frames
    visual_3d_dim: int = 512  # R(2+1)D-18
    audio_path: str = "fast"

    def __post_init__(self):
        check_config(
            self,
            "HAN",
            positive=(
                "hidden_dim",
                "num_heads",
                "ff_dim",
                "num_layers",
                "num_classes",
                "num_segments",
                "audio_dim",
                "visual_dim",
                "visual_3d_dim",
            ),
            probabilities=("dropout",),
            choices={"audio_path": AUDIO_PATHS},
        )


def self_attention_only(layer: HANLayer, query: torch.Tensor) -> torch.Tensor:
    """A HAN layer with its cross-modal branch removed (JoMoLD's noise estimator, ``with_ca=False``):

    q <- norm1(q + drop(SA(q, q, q)));  q <- norm2(q + drop(linear2(drop(relu(linear1(q))))))
    query (B, T, H) -> (B, T, H).
    """
    p, training = layer.dropout_p, layer.training
    self_ = multi_head_attention(layer.self_attn, query, None, p, training)
    q = layer.norm1(query + drop(self_, p, training))
    ff = layer.linear2(drop(F.relu(layer.linear1(q)), p, training))
    return layer.norm2(q + drop(ff, p, training))


class HybridAttentionEncoder(nn.Module):
    """``num_layers`` hybrid attention layers, each shared by both modalities, both streams updated
    from the previous pair: (h_a, h_v) <- (layer(h_a, h_v), layer(h_v, h_a)).

    norm1 / norm2 belong to the released encoder's unused final-norm option: they are in the
    state dict but never applied. ``cross_attention=False`` drops the cross-modal branch
    (:func:`self_attention_only`). (B, T, H) x 2 -> (B, T, H) x 2.
    """

    def __init__(self, config: HANConfig):
        super().__init__()
        H = config.hidden_dim
        self.layers = nn.ModuleList(
            [HANLayer(H, config.num_heads, config.ff_dim, config.dropout) for _ in range(config.num_layers)]
        )
        self.norm1 = nn.LayerNorm(H)
        self.norm2 = nn.LayerNorm(H)

    def forward(self, x_a: torch.Tensor, x_v: torch.Tensor, cross_attention: bool = True):
        for layer in self.layers:
            if cross_attention:
                x_a, x_v = layer(x_a, x_v), layer(x_v, x_a)
            else:
                x_a, x_v = self_attention_only(layer, x_a), self_attention_only(layer, x_v)
        return x_a, x_v


class HAN(FeatureInputs, nn.Module):
    """HAN: input projections -> ``HybridAttentionEncoder`` -> attentive MMIL pooling.

    forward(audio, visual, visual_3d) -> AVVPOutput (``plsim_audio`` / ``plsim_visual`` are
    accepted and must be None, so every model of the registry has one call signature).
    """

    def __init__(self, config: HANConfig | None = None):
        super().__init__()
        config = config or HANConfig()
        self.config = config
        self.create_heads_and_projections(config.hidden_dim, config.num_classes)
        self.hat_encoder = HybridAttentionEncoder(config)
        self.register_buffer("audio_pooling", audio_pooling_matrix(config.num_segments), persistent=False)

    def heads(self, h_a: torch.Tensor, h_v: torch.Tensor) -> dict:
        return attentive_mmil_pooling(self.fc_prob, self.fc_frame_att, self.fc_av_att, h_a, h_v)

    def forward(self, audio, visual, visual_3d, plsim_audio=None, plsim_visual=None) -> AVVPOutput:
        refuse_plsim(self, plsim_audio, plsim_visual)
        x_a, x_v = self.embed(audio, visual, visual_3d)
        h_a, h_v = self.hat_encoder(x_a, x_v)
        return AVVPOutput(audio_hidden=h_a, visual_hidden=h_v, **self.heads(h_a, h_v))


def refuse_plsim(model: nn.Module, plsim_audio, plsim_visual) -> None:
    """PLSIM labels belong to LINK's '+P' variants; any other model refuses them in one line."""
    if plsim_audio is not None or plsim_visual is not None:
        raise ConfigError(
            f"PLSIM labels were passed to {type(model).__name__}, which has no PLSIM (use a '+P' variant or 'link')"
        )
