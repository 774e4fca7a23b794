"""HAN's losses (Tian et al., ECCV 2020): weak-label multiple-instance learning, also MM-Pyramid's.

    L = BCE(P, y) + BCE(p_a, y) + BCE(p_v, 0.9 y + 0.05)

P (B, C) the attentive-MMIL video probability, p_a / p_v (B, C) the modality probabilities
(``AVVPOutput.a_prob`` / ``v_prob``), y (B, C) the weak labels. The visual target is smoothed
(the released code's label smoothing with v = 0.9: 0.9 y + 0.1 * 0.5); the audio target is not.
Probabilities are clamped to [1e-7, 1 - 1e-7] before each BCE, as in the released code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from linkpaper.losses import PROB_EPS

VISUAL_SMOOTHING = 0.9  # the released code's v; the audio target keeps a = 1.0


def smoothed(weak: torch.Tensor, keep: float) -> torch.Tensor:
    """keep * y + (1 - keep) * 0.5: HAN's label smoothing toward 0.5."""
    return keep * weak + (1.0 - keep) * 0.5


def bce(prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean BCE of probabilities clamped to [1e-7, 1 - 1e-7] (the released codes' clamp)."""
    return F.binary_cross_entropy(prob.clamp(PROB_EPS, 1.0 - PROB_EPS), target.to(prob.dtype))


def han_losses(model, output, batch: dict) -> dict:
    """HAN's three terms on a batch ({'weak': (B, C), ...}) and their sum: {video, audio, visual, total}."""
    weak = batch["weak"].to(output.global_prob.dtype)
    losses = {
        "video": bce(output.global_prob, weak),
        "audio": bce(output.a_prob, weak),
        "visual": bce(output.v_prob, smoothed(weak, VISUAL_SMOOTHING)),
    }
    losses["total"] = losses["video"] + losses["audio"] + losses["visual"]
    return losses
