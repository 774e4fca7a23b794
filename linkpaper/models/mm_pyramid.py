"""MM-Pyramid (Yu et al., "MM-Pyramid: Multimodal Pyramid Attentional Network for Audio-Visual
Event Localization and Video Parsing", ACM MM 2022): HAN's input projections and heads around a
multimodal pyramid encoder.

Attentive feature pyramid (one :class:`PyramidLevel` per level l = 0..L-1, dilation d = 2^l):

    v_sa = SA_v(v), a_sa = SA_a(a)                  self-attention inside a window |i - j| <= d
    v_ca = CA(v, a), a_ca = CA(a, v)                cross-attention, one layer for both directions
    v <- sigmoid(W1 [v_sa; v_ca]) * v_sa + sigmoid(W2 [v_sa; v_ca]) * v_ca      (gated fusion; a alike)
    v <- relu(v + conv1x1(relu(dilated_conv3(v))))                              (temporal block)

Adaptive semantic fusion, per segment, over the L level outputs s (T segments, L levels):

    u = SA(s) over the L levels;  out = sum_l sigmoid(w . u_l) u_l            (sigmoid, not softmax)

Every attention layer is pre-norm (x + drop(attn(norm(x), k, v)), then x + drop(FFN(norm(x)))),
8 heads, FFN 512, residual dropout 0.2, attention-weight dropout 0.1 (``MMPyramidConfig``: the
released ``AVVPNet(head=8, hidden=512, ffn=512, n_channels=[512] * 4)``). Losses are HAN's
(``linkpaper.methods.han``). Where the released code departs from the text, and what we chose:
``book/decisions.md#method-mm-pyramid``.

Shapes: B batch, T = 10 segments, H hidden, C = 25 classes, L levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.models.audio_pooling import audio_pooling_matrix
from linkpaper.models.config import AUDIO_PATHS
from linkpaper.models.dropout import drop
from linkpaper.models.han import refuse_plsim
from linkpaper.models.inputs import FeatureInputs, check_config
from linkpaper.models.valor import AVVPOutput, attentive_mmil_pooling

MASKED_SCORE = -1e9  # the score a key outside the window gets before the softmax (as released)


@dataclass
class MMPyramidConfig:
    """MM-Pyramid at its released size (about 44 M parameters on HAN's inputs)."""

    hidden_dim: int = 512  # H; every level keeps H channels (the released n_channels = [512] * 4)
    num_heads: int = 8
    ff_dim: int = 512
    num_levels: int = 4  # L, dilations 1, 2, 4, 8
    kernel_size: int = 3  # the dilated temporal convolution
    dropout: float = 0.2  # residual branches and inside the FFN
    attention_dropout: float = 0.1  # on the attention weights
    num_classes: int = NUM_CLASSES
    num_segments: int = NUM_SEGMENTS
    audio_dim: int = 768
    visual_dim: int = 768
    visual_3d_dim: int = 512
    audio_path: str = "fast"
    released_stream_order: bool = False  # True: the heads read (visual, audio) as the released code does

    def __post_init__(self):
        check_config(
            self,
            "MM-Pyramid",
            positive=(
                "hidden_dim",
                "num_heads",
                "ff_dim",
                "num_levels",
                "kernel_size",
                "num_classes",
                "num_segments",
                "audio_dim",
                "visual_dim",
                "visual_3d_dim",
            ),
            probabilities=("dropout", "attention_dropout"),
            choices={"audio_path": AUDIO_PATHS},
        )


class WindowedAttention(nn.Module):
    """Multi-head attention whose query i sees only keys j with |i - j| <= ``window`` (all keys
    when ``window`` is None). query (B, Tq, H), key / value (B, Tk, H) ->
    (output (B, Tq, H), scores (B, heads, Tq, Tk) before the softmax, after the window mask).

    ``layer_norm`` is built but never applied, as in the released module (its weights load and
    are ignored).
    """

    def __init__(self, hidden_dim: int, num_heads: int, window: int | None, dropout: float):
        super().__init__()
        self.num_heads, self.window, self.dropout_p = num_heads, window, dropout
        self.q = nn.Linear(hidden_dim, hidden_dim)
        self.k = nn.Linear(hidden_dim, hidden_dim)
        self.v = nn.Linear(hidden_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, hidden_dim)

    def forward(self, query, key, value):
        B, Tq, H = query.shape
        d = H // self.num_heads

        def split(x):  # (B, T, H) -> (B, heads, T, d)
            return x.view(B, -1, self.num_heads, d).transpose(1, 2)

        q, k, v = split(self.q(query)), split(self.k(key)), split(self.v(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        if self.window is not None:
            i = torch.arange(Tq, device=query.device)[:, None]
            j = torch.arange(key.shape[1], device=query.device)[None, :]
            scores = scores.masked_fill((i - j).abs() > self.window, MASKED_SCORE)
        weights = drop(torch.softmax(scores, dim=-1), self.dropout_p, self.training)
        heads_out = (weights @ v).transpose(1, 2).reshape(B, Tq, H)
        return self.out(heads_out), scores


class FeedForward(nn.Module):
    """fc2(drop(relu(fc1(x)))): (B, T, H) -> (B, T, H)."""

    def __init__(self, hidden_dim: int, ff_dim: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(hidden_dim, ff_dim)
        self.fc2 = nn.Linear(ff_dim, hidden_dim)
        self.dropout_p = dropout

    def forward(self, x):
        return self.fc2(drop(F.relu(self.fc1(x)), self.dropout_p, self.training))


class PreNormAttentionLayer(nn.Module):
    """q <- q + drop(attn(norm1(q), k, v));  q <- q + drop(ffn(norm2(q))). Keys and values are
    not normalised. forward(q (B, Tq, H), k, v (B, Tk, H)) -> (q (B, Tq, H), scores)."""

    def __init__(self, config, window: int | None):
        super().__init__()
        H = config.hidden_dim
        self.norm1 = nn.LayerNorm(H)
        self.attn = WindowedAttention(H, config.num_heads, window, config.attention_dropout)
        self.norm2 = nn.LayerNorm(H)
        self.ffn = FeedForward(H, config.ff_dim, config.dropout)
        self.dropout_p = config.dropout

    def forward(self, q, k, v):
        attended, scores = self.attn(self.norm1(q), k, v)
        q = q + drop(attended, self.dropout_p, self.training)
        return q + drop(self.ffn(self.norm2(q)), self.dropout_p, self.training), scores


class TemporalBlock(nn.Module):
    """relu(x + conv2(relu(conv1(x)))), conv1 of size ``kernel_size`` dilated by ``dilation``
    ("same" padding), conv2 1x1. (B, T, H) -> (B, T, H)."""

    def __init__(self, hidden_dim: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv1d(
            hidden_dim, hidden_dim, kernel_size, padding=dilation * (kernel_size - 1) // 2, dilation=dilation
        )
        self.conv2 = nn.Conv1d(hidden_dim, hidden_dim, 1)

    def forward(self, x):
        x = x.transpose(1, 2)  # (B, H, T)
        return F.relu(x + self.conv2(F.relu(self.conv1(x)))).transpose(1, 2)


class PyramidLevel(nn.Module):
    """One pyramid unit: windowed self-attention per modality, one cross-attention layer used in
    both directions, gated fusion of the two, then a dilated temporal block per modality.
    (B, T, H) x 2 -> (B, T, H) x 2 (audio, visual)."""

    def __init__(self, config: MMPyramidConfig, dilation: int):
        super().__init__()
        H = config.hidden_dim
        self.visual_self = PreNormAttentionLayer(config, window=dilation)
        self.audio_self = PreNormAttentionLayer(config, window=dilation)
        self.cross = PreNormAttentionLayer(config, window=dilation)
        self.gate_v1, self.gate_v2 = nn.Linear(2 * H, H), nn.Linear(2 * H, H)
        self.gate_a1, self.gate_a2 = nn.Linear(2 * H, H), nn.Linear(2 * H, H)
        self.conv_v = TemporalBlock(H, config.kernel_size, dilation)
        self.conv_a = TemporalBlock(H, config.kernel_size, dilation)

    @staticmethod
    def _gate(gate1, gate2, own, other):
        both = torch.cat([own, other], dim=-1)
        return torch.sigmoid(gate1(both)) * own + torch.sigmoid(gate2(both)) * other

    def forward(self, a, v):
        v_sa = self.visual_self(v, v, v)[0]
        a_sa = self.audio_self(a, a, a)[0]
        v_ca = self.cross(v, a, a)[0]
        a_ca = self.cross(a, v, v)[0]
        v = self._gate(self.gate_v1, self.gate_v2, v_sa, v_ca)
        a = self._gate(self.gate_a1, self.gate_a2, a_sa, a_ca)
        return self.conv_a(a), self.conv_v(v)


class PyramidEncoder(nn.Module):
    """The multimodal pyramid attentional module: L ``PyramidLevel`` layers (dilations 2^l), then
    the adaptive semantic fusion of the L level outputs per segment and modality.
    (x_a, x_v) (B, T, H) x 2 -> (h_a, h_v) (B, T, H) x 2."""

    def __init__(self, config: MMPyramidConfig):
        super().__init__()
        H = config.hidden_dim
        self.levels = nn.ModuleList([PyramidLevel(config, 2**level) for level in range(config.num_levels)])
        self.fusion_v = PreNormAttentionLayer(config, window=None)
        self.fusion_a = PreNormAttentionLayer(config, window=None)
        self.select_v = nn.Linear(H, 1)
        self.select_a = nn.Linear(H, 1)

    @staticmethod
    def _fuse(layer, select, stages):
        B, T, L, H = stages.shape
        units = stages.reshape(B * T, L, H)
        interacted = layer(units, units, units)[0]  # attention across the L levels of one segment
        weight = torch.sigmoid(select(interacted))  # (B*T, L, 1)
        return (interacted * weight).sum(dim=1).view(B, T, H)

    def forward(self, x_a, x_v):
        stages_a, stages_v = [], []
        for level in self.levels:
            x_a, x_v = level(x_a, x_v)
            stages_a.append(x_a)
            stages_v.append(x_v)
        h_a = self._fuse(self.fusion_a, self.select_a, torch.stack(stages_a, dim=2))
        h_v = self._fuse(self.fusion_v, self.select_v, torch.stack(stages_v, dim=2))
        return h_a, h_v


class MMPyramid(FeatureInputs, nn.Module):
    """MM-Pyramid: input projections -> :class:`PyramidEncoder` -> HAN's attentive MMIL pooling.

    ``released_stream_order``: the released network stacks (visual, audio) before the heads, so
    its "audio" predictions (modality index 0) are made from the visual stream and vice versa.
    False (our default) keeps audio at index 0 as the text describes; True reproduces the
    released network (``load_reference_checkpoint`` sets it). forward(audio, visual,
    visual_3d) -> AVVPOutput.
    """

    def __init__(self, config: MMPyramidConfig | None = None):
        super().__init__()
        config = config or MMPyramidConfig()
        self.config = config
        self.create_heads_and_projections(config.hidden_dim, config.num_classes)
        self.encoder = PyramidEncoder(config)
        self.register_buffer("audio_pooling", audio_pooling_matrix(config.num_segments), persistent=False)

    def forward(self, audio, visual, visual_3d, plsim_audio=None, plsim_visual=None) -> AVVPOutput:
        refuse_plsim(self, plsim_audio, plsim_visual)
        x_a, x_v = self.embed(audio, visual, visual_3d)
        h_a, h_v = self.encoder(x_a, x_v)
        first, second = (h_v, h_a) if self.config.released_stream_order else (h_a, h_v)
        heads = attentive_mmil_pooling(self.fc_prob, self.fc_frame_att, self.fc_av_att, first, second)
        return AVVPOutput(audio_hidden=h_a, visual_hidden=h_v, **heads)
