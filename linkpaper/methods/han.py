"""HAN's losses (Tian et al., ECCV 2020): weak-label multiple-instance learning, also MM-Pyramid's.

    L = BCE(P, y) + BCE(p_a, y) + BCE(p_v, 0.9 y + 0.05)

P (B, C) the attentive-MMIL video probability, p_a / p_v (B, C) the modality probabilities
(``AVVPOutput.a_prob`` / ``v_prob``), y (B, C) the weak labels; the visual target is smoothed,
the audio target is not. The three terms are ``linkpaper.losses.weak_label_losses`` (the
``valor++/weak`` control trains VALOR++'s network on them too); probabilities are clamped to
[1e-7, 1 - 1e-7] before each BCE, as in the released code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from linkpaper.losses import PROB_EPS, weak_label_losses


def bce(prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean BCE of probabilities clamped to [1e-7, 1 - 1e-7] (the released codes' clamp)."""
    return F.binary_cross_entropy(prob.clamp(PROB_EPS, 1.0 - PROB_EPS), target.to(prob.dtype))


def han_losses(model, output, batch: dict) -> dict:
    """HAN's three terms on a batch ({'weak': (B, C), ...}) and their sum: {video, audio_video,
    visual_video, total}."""
    losses = weak_label_losses(output, batch["weak"])
    losses["total"] = losses["video"] + losses["audio_video"] + losses["visual_video"]
    return losses
