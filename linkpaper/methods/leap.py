"""LEAP's losses (Zhou et al., ECCV 2024), as its released training script weights them (all 1).

    L = BCE(p_a, max_t Y_a) + BCE(p_v, max_t Y_v) + BCE(P, y)              video level
      + BCE(p_t^a, Y_a) + BCE(p_t^v, Y_v)                                  segment level
      + mean_ij (ReLU(cos(h_a[i], h_v[j])) - (x_ij / (1 + x_ij) + 0.01))^2   L_avss

Y_a, Y_v (B, T, C) are the teachers' gated segment pseudo labels (the batch's
``pseudo_audio`` / ``pseudo_visual``), max_t Y (B, C) their video-level "any segment" labels,
y (B, C) the weak labels, x_ij LEAP's normalised class overlap (``linkpaper.losses.leap_targets``).
P is LEAP's hard OR of the modality predictions, so its term has no gradient (it is kept, as
released, so the logged total is LEAP's). Segment terms are BCE on clamped probabilities.
"""

from __future__ import annotations

import torch.nn.functional as F

from linkpaper.losses import leap_targets, segment_cosines
from linkpaper.methods.han import bce


def leap_losses(model, output, batch: dict) -> dict:
    """{audio_video, visual_video, video, audio, visual, avss, total} on a batch."""
    pl_a = batch["pseudo_audio"].to(output.a_prob.dtype)
    pl_v = batch["pseudo_visual"].to(output.a_prob.dtype)
    cosines = segment_cosines(output.audio_hidden, output.visual_hidden)
    losses = {
        "audio_video": bce(output.a_prob, pl_a.amax(dim=1)),
        "visual_video": bce(output.v_prob, pl_v.amax(dim=1)),
        "video": bce(output.global_prob, batch["weak"]),
        "audio": bce(output.frame_prob[:, :, 0], pl_a),
        "visual": bce(output.frame_prob[:, :, 1], pl_v),
        "avss": F.mse_loss(F.relu(cosines), leap_targets(pl_a, pl_v).to(cosines.dtype)),
    }
    losses["total"] = sum(losses.values())
    return losses
