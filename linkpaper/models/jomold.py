"""JoMoLD (Cheng et al., "Joint-Modal Label Denoising for Weakly-Supervised Audio-Visual Video
Parsing", ECCV 2022): HAN's network, an audio-visual contrastive term, and three stages.

The network is HAN's (:class:`linkpaper.models.han.HAN`) with two changes of the released code:

* dropout (p 0.5) on the visual stream between the encoder and the heads (training only);
* a switch for the cross-modal branch of every hybrid attention layer: the stage-1 noise
  estimator and the per-batch loss estimates of stage 3 run without it (``cross_attention``).

The contrastive term compares the encoder outputs segment by segment,
``sim[b, i, j] = cos(h_a[b, i], h_v[b, j]) / temperature`` (temperature 0.2); its loss and the
three stages live in ``linkpaper.methods.jomold``; ``book/decisions.md#method-jomold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from linkpaper.models.config import AUDIO_PATHS
from linkpaper.models.dropout import drop
from linkpaper.models.han import HAN, HANConfig, refuse_plsim
from linkpaper.models.inputs import check_config
from linkpaper.models.valor import AVVPOutput


@dataclass
class JoMoLDConfig(HANConfig):
    """HAN's network (``HANConfig``) plus JoMoLD's released settings."""

    classifier_dropout: float = 0.5  # on the visual stream before the heads
    temperature: float = 0.2  # of the contrastive similarities
    cross_attention: bool = True  # False for the stage-1 noise estimator

    def __post_init__(self):
        check_config(
            self,
            "JoMoLD",
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
                "temperature",
            ),
            probabilities=("dropout", "classifier_dropout"),
            choices={"audio_path": AUDIO_PATHS},
        )


def segment_similarities(audio_hidden: torch.Tensor, visual_hidden: torch.Tensor, temperature: float) -> torch.Tensor:
    """sim[b, i, j] = cos(audio_hidden[b, i], visual_hidden[b, j]) / temperature: (B, T, H) x 2 -> (B, T, T)."""
    a = F.normalize(audio_hidden, dim=-1)
    v = F.normalize(visual_hidden, dim=-1)
    return a @ v.transpose(1, 2) / temperature


class JoMoLD(HAN):
    """HAN with JoMoLD's visual classifier dropout and cross-attention switch.

    forward(audio, visual, visual_3d, cross_attention=None) -> AVVPOutput; ``cross_attention``
    None uses ``config.cross_attention``. ``audio_hidden`` / ``visual_hidden`` are the encoder
    outputs before the classifier dropout (the contrastive term reads them).
    """

    def __init__(self, config: JoMoLDConfig | None = None):
        super().__init__(config or JoMoLDConfig())
        C = self.config.num_classes
        # Stage 3's label-denoising state (``linkpaper.methods.jomold.begin_denoising``), saved
        # with the model so a resumed run drops the same labels.
        self.register_buffer("noise_ratio_audio", torch.zeros(C, dtype=torch.float64))
        self.register_buffer("noise_ratio_visual", torch.zeros(C, dtype=torch.float64))
        self.register_buffer("denoise_warmup_steps", torch.tensor(0.0, dtype=torch.float64))
        self.register_buffer("denoise_step", torch.tensor(0, dtype=torch.int64))

    def forward(
        self, audio, visual, visual_3d, plsim_audio=None, plsim_visual=None, cross_attention: bool | None = None
    ) -> AVVPOutput:
        refuse_plsim(self, plsim_audio, plsim_visual)
        if cross_attention is None:
            cross_attention = self.config.cross_attention
        x_a, x_v = self.embed(audio, visual, visual_3d)
        h_a, h_v = self.hat_encoder(x_a, x_v, cross_attention=cross_attention)
        heads = self.heads(h_a, drop(h_v, self.config.classifier_dropout, self.training))
        return AVVPOutput(audio_hidden=h_a, visual_hidden=h_v, **heads)
