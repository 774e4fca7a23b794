"""LEAP (Zhou et al., "Label-anticipated Event Disentanglement for Audio-Visual Video Parsing",
ECCV 2024): label-query decoders on the MM-Pyramid encoder.

    h_a, h_v = PyramidEncoder(x_a, x_v)                         (B, T, H)   (MM-Pyramid's)
    q^0 = fc_label(E)          E: the (C, 300) GloVe class table  (C, H)  one query per class
    q^m <- DecoderLayer(q^m, h_m) twice, per modality m         (B, C, H)  pre-norm cross-attention
    p^m = sigmoid(fc_class^m(q^m))                              (B, C)     video-level, per modality
    s^m = mean over heads of the last layer's raw scores q . k / sqrt(d)   (B, C, T)
    p_t^m = sigmoid(s^m)^T                                      (B, T, C)  segment-level
    P = OR(p^a >= 0.5, p^v >= 0.5)                              (B, C)     hard: no gradient

The scores that give the segment probabilities are recomputed with the updated (not
normalised) query after the layer's attention branch, as in the released decoder. Defaults are
the released ``run_leap_train.sh`` network: H 512, 8 encoder and 8 decoder heads, FFN 512,
2 decoder layers per modality, dropout 0.2. What LEAP reads and how it is trained:
``book/decisions.md#method-leap``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from linkpaper.classes import GLOVE_DIM, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.errors import ConfigError
from linkpaper.evaluation.inference import is_active
from linkpaper.models.audio_pooling import audio_pooling_matrix
from linkpaper.models.config import AUDIO_PATHS
from linkpaper.models.dropout import drop
from linkpaper.models.han import refuse_plsim
from linkpaper.models.inputs import FeatureInputs, check_config
from linkpaper.models.mm_pyramid import FeedForward, PyramidEncoder, WindowedAttention
from linkpaper.models.valor import AVVPOutput


@dataclass
class LEAPConfig:
    """LEAP at its released size; the encoder fields are MM-Pyramid's."""

    hidden_dim: int = 512
    num_heads: int = 8  # encoder heads (mmp_head)
    decoder_heads: int = 8  # avl_head
    ff_dim: int = 512
    num_levels: int = 4
    kernel_size: int = 3
    decoder_layers: int = 2  # per modality (lv_layer_num = la_layer_num)
    dropout: float = 0.2
    attention_dropout: float = 0.1
    label_dim: int = GLOVE_DIM  # width of the class table (300 for GloVe-6B-300d)
    num_classes: int = NUM_CLASSES
    num_segments: int = NUM_SEGMENTS
    audio_dim: int = 768
    visual_dim: int = 768
    visual_3d_dim: int = 512
    audio_path: str = "fast"

    def __post_init__(self):
        check_config(
            self,
            "LEAP",
            positive=(
                "hidden_dim",
                "num_heads",
                "decoder_heads",
                "ff_dim",
                "num_levels",
                "kernel_size",
                "decoder_layers",
                "label_dim",
                "num_classes",
                "num_segments",
                "audio_dim",
                "visual_dim",
                "visual_3d_dim",
            ),
            probabilities=("dropout", "attention_dropout"),
            choices={"audio_path": AUDIO_PATHS},
        )
        if self.hidden_dim % self.decoder_heads:
            raise ConfigError(
                f"LEAP config hidden_dim={self.hidden_dim} is not divisible by decoder_heads={self.decoder_heads}"
            )


class DecoderLayer(nn.Module):
    """One label-query layer: q <- q + drop(attn(norm1(q), h, h)); scores = attn(q, h, h) with
    the updated q; q <- q + drop(ffn(norm2(q))).

    forward(q (B, C, H), h (B, T, H)) -> (q (B, C, H), scores (B, heads, C, T) before the softmax).
    """

    def __init__(self, config: LEAPConfig):
        super().__init__()
        H = config.hidden_dim
        self.norm1 = nn.LayerNorm(H)
        self.attn = WindowedAttention(H, config.decoder_heads, None, config.attention_dropout)
        self.norm2 = nn.LayerNorm(H)
        self.ffn = FeedForward(H, config.ff_dim, config.dropout)
        self.dropout_p = config.dropout

    def forward(self, q, h):
        q = q + drop(self.attn(self.norm1(q), h, h)[0], self.dropout_p, self.training)
        scores = self.attn(q, h, h)[1]
        return q + drop(self.ffn(self.norm2(q)), self.dropout_p, self.training), scores


class LEAP(FeatureInputs, nn.Module):
    """LEAP: input projections -> ``PyramidEncoder`` -> one label-query decoder per modality.

    The class table is the buffer ``label_table`` (C, label_dim), saved with the model and set
    by :meth:`set_label_table` (``build`` in the registry fills it with LEAP's GloVe table).
    forward(audio, visual, visual_3d) -> AVVPOutput whose ``frame_logits`` are the head-averaged
    scores and whose ``global_prob`` is the hard OR of the two video-level predictions.
    """

    def __init__(self, config: LEAPConfig | None = None):
        super().__init__()
        config = config or LEAPConfig()
        self.config = config
        H = config.hidden_dim
        self.fc_a = nn.Linear(config.audio_dim, H)
        self.fc_v = nn.Linear(config.visual_dim, H)
        self.fc_st = nn.Linear(config.visual_3d_dim, H)
        self.fc_fusion = nn.Linear(2 * H, H)
        self.encoder = PyramidEncoder(config)
        self.fc_label = nn.Linear(config.label_dim, H)
        self.visual_decoder = nn.ModuleList([DecoderLayer(config) for _ in range(config.decoder_layers)])
        self.audio_decoder = nn.ModuleList([DecoderLayer(config) for _ in range(config.decoder_layers)])
        self.fc_audio_class = nn.Linear(H, 1)
        self.fc_visual_class = nn.Linear(H, 1)
        self.register_buffer("label_table", torch.zeros(config.num_classes, config.label_dim))
        self.register_buffer("table_set", torch.tensor(False))
        self.register_buffer("audio_pooling", audio_pooling_matrix(config.num_segments), persistent=False)

    def set_label_table(self, table) -> None:
        """Register the (C, label_dim) class table the queries start from (LEAP: GloVe, (25, 300))."""
        table = torch.as_tensor(table, dtype=torch.float32)
        expected = tuple(self.label_table.shape)
        if tuple(table.shape) != expected:
            raise ConfigError(
                f"LEAP label table: expected shape {expected} (classes x label_dim), got "
                f"{tuple(table.shape)}; build the model with label_dim={table.shape[-1]}"
            )
        if not torch.isfinite(table).all():
            raise ConfigError("LEAP label table has NaN or infinite values")
        self.label_table.copy_(table)
        self.table_set.fill_(True)

    @staticmethod
    def _decode(layers, queries, hidden):
        scores = None
        for layer in layers:
            queries, scores = layer(queries, hidden)
        return queries, scores.mean(dim=1).transpose(1, 2)  # (B, C, H), (B, T, C)

    def forward(self, audio, visual, visual_3d, plsim_audio=None, plsim_visual=None) -> AVVPOutput:
        refuse_plsim(self, plsim_audio, plsim_visual)
        if not bool(self.table_set):
            raise ConfigError(
                "LEAP has no class label table: call model.set_label_table(table) "
                "(the registry's build fills in LEAP's GloVe table)"
            )
        x_a, x_v = self.embed(audio, visual, visual_3d)
        h_a, h_v = self.encoder(x_a, x_v)
        queries = self.fc_label(self.label_table).expand(h_a.shape[0], -1, -1)  # (B, C, H)
        q_v, logits_v = self._decode(self.visual_decoder, queries, h_v)
        q_a, logits_a = self._decode(self.audio_decoder, queries, h_a)
        a_prob = torch.sigmoid(self.fc_audio_class(q_a).squeeze(-1))
        v_prob = torch.sigmoid(self.fc_visual_class(q_v).squeeze(-1))
        a_on, v_on = is_active(a_prob).to(a_prob.dtype), is_active(v_prob).to(v_prob.dtype)
        frame_logits = torch.stack([logits_a, logits_v], dim=2)  # (B, T, 2, C)
        return AVVPOutput(
            global_prob=a_on + v_on - a_on * v_on,
            a_prob=a_prob,
            v_prob=v_prob,
            frame_prob=torch.sigmoid(frame_logits),
            frame_logits=frame_logits,
            audio_hidden=h_a,
            visual_hidden=h_v,
        )
