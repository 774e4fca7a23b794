"""VALOR++ (Lai et al., NeurIPS'23): input projections, HAN encoder, attentive MMIL heads.

A re-implementation of ``MMIL_Net`` as described in ``book/decisions.md#ref-valor-network``. Module
names and parameter shapes are those of the released checkpoints, so

    model.load_state_dict(torch.load("checkpoint_best.pt", weights_only=True))

(or ``linkpaper.models.registry.load_valor_checkpoint``, which names a bad file) works on
``NTUBarista/valor_trained_models/models/model_VALOR++/checkpoint_best.pt``.
Modules are created in the reference order, so the same seed gives the same initial weights.

Shapes: B batch, T = 10 segments, H hidden, C = 25 classes; modality index 0 audio, 1 visual.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from linkpaper.errors import ConfigError
from linkpaper.models.audio_pooling import audio_pooling_matrix
from linkpaper.models.config import ModelConfig
from linkpaper.models.dropout import drop
from linkpaper.models.inputs import FeatureInputs


@dataclass
class AVVPOutput:
    """What every AVVP model returns.

    global_prob, a_prob, v_prob: (B, C) video-level probabilities (fused, audio, visual).
        As in VALOR, global_prob can exceed 1 (up to 2): frame attention is normalised over
        time per modality and modality attention per segment. The loss clamps it, and
        ``linkpaper.training.scoring.predict`` clamps it to [0, 1]; the >= 0.5 gate is unaffected.

    frame_prob, frame_logits: (B, T, 2, C) segment probabilities / logits, modality axis 2.

    audio_hidden, visual_hidden: (B, T, H) HAN encoder outputs (the features the heads read;
        S-LOSS compares them).

    diagnostics: detached scalars for the run record (LINK only).
    """

    global_prob: torch.Tensor
    a_prob: torch.Tensor
    v_prob: torch.Tensor
    frame_prob: torch.Tensor
    frame_logits: torch.Tensor
    audio_hidden: torch.Tensor
    visual_hidden: torch.Tensor
    diagnostics: dict = field(default_factory=dict)


def multi_head_attention(
    mha: nn.MultiheadAttention, query: torch.Tensor, context: torch.Tensor | None, dropout_p: float, training: bool
) -> torch.Tensor:
    """nn.MultiheadAttention's computation with its parameters, batch-first, our dropout.

    query (B, T, H), context (B, S, H) or None for self-attention -> (B, T, H). The same
    arithmetic as ``mha(q, k, k)`` in the sequence-first layout (a test compares the two), with
    no transposes of the inputs, one packed Q/K/V product for self-attention, and the dropout
    of ``linkpaper.models.dropout.drop`` on the attention weights.
    """
    B, T, H = query.shape
    heads = mha.num_heads
    d = H // heads
    weight, bias = mha.in_proj_weight, mha.in_proj_bias
    if context is None:
        q, k, v = F.linear(query, weight, bias).view(B, T, 3, heads, d).permute(2, 0, 3, 1, 4).unbind(0)
    else:
        S = context.shape[1]
        q = F.linear(query, weight[:H], bias[:H]).view(B, T, heads, d).transpose(1, 2)
        k, v = F.linear(context, weight[H:], bias[H:]).view(B, S, 2, heads, d).permute(2, 0, 3, 1, 4).unbind(0)
    # q, k, v: (B, heads, T or S, d)
    weights = torch.softmax((q * d**-0.5) @ k.transpose(-2, -1), dim=-1)  # (B, heads, T, S)
    heads_out = drop(weights, dropout_p, training) @ v
    return F.linear(heads_out.transpose(1, 2).reshape(B, T, H), mha.out_proj.weight, mha.out_proj.bias)


class HANLayer(nn.Module):
    """One post-norm hybrid-attention layer (book/decisions.md#ref-valor-network).

    q <- norm1(q + drop(CMA(q, k, k)) + drop(SA(q, q, q)))
    q <- norm2(q + drop(linear2(drop(relu(linear1(q))))))
    self_attn / cm_attn are nn.MultiheadAttention modules (their parameter names are the
    released checkpoints'); ``multi_head_attention`` runs their arithmetic batch-first. Every
    dropout (the four above and the one on the attention weights) is
    ``linkpaper.models.dropout.drop`` with p = ``dropout``.
    """

    def __init__(self, hidden_dim: int, num_heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(hidden_dim, num_heads, dropout=dropout)
        self.cm_attn = nn.MultiheadAttention(hidden_dim, num_heads, dropout=dropout)
        self.linear1 = nn.Linear(hidden_dim, ff_dim)
        self.linear2 = nn.Linear(ff_dim, hidden_dim)
        self.norm1 = nn.LayerNorm(hidden_dim)
        self.norm2 = nn.LayerNorm(hidden_dim)
        self.dropout_p = dropout

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """query, context: (B, T, H) -> updated query (B, T, H)."""
        p, training = self.dropout_p, self.training
        cross = multi_head_attention(self.cm_attn, query, context, p, training)
        self_ = multi_head_attention(self.self_attn, query, None, p, training)
        q = self.norm1(query + drop(cross, p, training) + drop(self_, p, training))
        ff = self.linear2(drop(F.relu(self.linear1(q)), p, training))
        return self.norm2(q + drop(ff, p, training))


class HANEncoder(nn.Module):
    """A stack of HANLayers, each shared by both modalities, updated audio first.

    Per layer: x_a <- layer(x_a, x_v), then x_v <- layer(x_v, updated x_a). The layers start
    as copies of one initialised layer (as in VALOR). final_norm_a / final_norm_v belong to
    VALOR's unused pre-norm branch: they are in the state dict but never applied.
    """

    def __init__(self, layer: HANLayer, num_layers: int, hidden_dim: int):
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.final_norm_a = nn.LayerNorm(hidden_dim)
        self.final_norm_v = nn.LayerNorm(hidden_dim)

    def forward(self, x_a: torch.Tensor, x_v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for layer in self.layers:
            x_a = layer(x_a, x_v)
            x_v = layer(x_v, x_a)
        return x_a, x_v


def attentive_mmil_pooling(
    fc_prob: nn.Linear, fc_frame_att: nn.Linear, fc_av_att: nn.Linear, h_a: torch.Tensor, h_v: torch.Tensor
) -> dict:
    """HAN's attentive MMIL pooling (Tian et al., ECCV 2020), the heads of HAN, VALOR++,
    MM-Pyramid and JoMoLD: (B, T, H) x 2 -> {frame_logits, frame_prob (B, T, 2, C),
    global_prob, a_prob, v_prob (B, C)}.

    Frame attention is a softmax over time per modality and class, modality attention a
    softmax over the two modalities per segment and class; a_prob / v_prob are the
    time-attended sums of one modality (HAN's modality-wise targets).
    """
    x = torch.stack([h_a, h_v], dim=2)  # (B, T, 2, H)
    frame_logits = fc_prob(x)  # (B, T, 2, C)
    frame_prob = torch.sigmoid(frame_logits)
    frame_att = torch.softmax(fc_frame_att(x), dim=1)  # over time
    av_att = torch.softmax(fc_av_att(x), dim=2)  # over modality
    temporal_prob = frame_att * frame_prob
    return {
        "frame_logits": frame_logits,
        "frame_prob": frame_prob,
        "global_prob": (temporal_prob * av_att).sum(dim=(1, 2)),  # (B, C)
        "a_prob": temporal_prob[:, :, 0].sum(dim=1),
        "v_prob": temporal_prob[:, :, 1].sum(dim=1),
    }


class VALORPlusPlus(FeatureInputs, nn.Module):
    """VALOR++ (``MMIL_Net``): fc_a/fc_v/fc_st/fc_fusion -> HAN encoder -> MMIL heads.

    forward(audio (B, 64, Da) maps or (B, T, Da) pooled, visual (B, T, Dv), visual_3d
    (B, T, 512)) -> AVVPOutput. The input projections (``embed``, ``pool_audio_input``) are
    the field's shared input stage, ``linkpaper.models.inputs.FeatureInputs``. ``plsim_audio`` / ``plsim_visual``
    are accepted (and must be
    None) so every model of the grid has one call signature.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        config = (config or ModelConfig()).validate()
        self.config = config
        H = config.hidden_dim
        self.create_heads_and_projections(H, config.num_classes)
        layer = HANLayer(H, config.num_heads, config.ff_dim, config.dropout)
        self.hat_encoder = HANEncoder(layer, config.num_layers, H)
        # Not in the state dict: released checkpoints load strictly.
        self.register_buffer("audio_pooling", audio_pooling_matrix(config.num_segments), persistent=False)

    # ----- encoder and heads (book/decisions.md#ref-valor-network) -----

    def encode_and_predict(self, x_a: torch.Tensor, x_v: torch.Tensor, diagnostics: dict | None = None) -> AVVPOutput:
        """HAN encoder, then the attentive MMIL heads: (B, T, H) x 2 -> AVVPOutput."""
        h_a, h_v = self.hat_encoder(x_a, x_v)
        heads = attentive_mmil_pooling(self.fc_prob, self.fc_frame_att, self.fc_av_att, h_a, h_v)
        return AVVPOutput(
            audio_hidden=h_a, visual_hidden=h_v, **heads, diagnostics=diagnostics if diagnostics is not None else {}
        )

    def forward(self, audio, visual, visual_3d, plsim_audio=None, plsim_visual=None) -> AVVPOutput:
        if plsim_audio is not None or plsim_visual is not None:
            raise ConfigError("PLSIM labels were passed to a model without PLSIM (use a '+P' variant or 'link')")
        x_a, x_v = self.embed(audio, visual, visual_3d)
        return self.encode_and_predict(x_a, x_v)
