"""Training losses: VALOR++'s three terms, LINK's label term and S-LOSS (eqs 7-12; book/decisions.md).

    L = L_video + L_a + L_v                                   (VALOR++, book/decisions.md#decision-segment-losses)
      + L_label + mean_ij(lambda_ij * (s_ij - r_ij)^2)       (LINK with S-LOSS, eqs 7-12)

Shapes: B batch, T = 10 segments, C = 25 classes, H hidden. Pseudo labels are the gated
(weak-label AND-ed) segment labels of the batch (AVVPSplit fields pseudo_audio/pseudo_visual).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PROB_EPS = 1e-7  # VALOR clamps probabilities to [1e-7, 1 - 1e-7] before BCE
LAMBDA_LOW = -0.2  # eq 11: below this cosine the weight is 1
LEAP_TARGET_EPS = 0.01  # LEAP adds 0.01 to its target (so no pair aims at exactly 0)
LEAP_EMPTY_DENOMINATOR = 1e-8  # LEAP's denominator for a video without any active class
HAN_VISUAL_TARGET_SCALE = 0.9  # HAN smooths the visual weak target: 0.9 y + 0.05 (audio unsmoothed)


def _clamped(prob: torch.Tensor) -> torch.Tensor:
    return prob.clamp(min=PROB_EPS, max=1.0 - PROB_EPS)


def valor_losses(output, weak: torch.Tensor, pl_audio: torch.Tensor, pl_visual: torch.Tensor) -> dict:
    """VALOR++'s terms, each mean-reduced (eq 7, eq 8 with the mean; book/decisions.md#decision-segment-losses).

    video: BCE(clamp(global_prob), weak (B, C)). audio / visual: BCE-with-logits of
    frame_logits[:, :, m] (B, T, C) against the pseudo labels (B, T, C).
    """
    dtype = output.global_prob.dtype
    return {
        "video": F.binary_cross_entropy(_clamped(output.global_prob), weak.to(dtype)),
        "audio": F.binary_cross_entropy_with_logits(output.frame_logits[:, :, 0], pl_audio.to(dtype)),
        "visual": F.binary_cross_entropy_with_logits(output.frame_logits[:, :, 1], pl_visual.to(dtype)),
    }


def weak_label_losses(output, weak: torch.Tensor) -> dict:
    """HAN's weak-label terms (the ``valor++/weak`` control; ``book/decisions.md#decision-weak-control``).

    video: BCE(clamp(global_prob), weak); audio_video: BCE(clamp(a_prob), weak); visual_video:
    BCE(clamp(v_prob), 0.9 weak + 0.05), the visual target smoothed because a weak label is
    often not visible. weak (B, C); probabilities (B, C). No segment pseudo label is read.
    """
    dtype = output.global_prob.dtype
    target = weak.to(dtype)
    return {
        "video": F.binary_cross_entropy(_clamped(output.global_prob), target),
        "audio_video": F.binary_cross_entropy(_clamped(output.a_prob), target),
        "visual_video": F.binary_cross_entropy(_clamped(output.v_prob), han_visual_target(target)),
    }


def han_visual_target(weak: torch.Tensor) -> torch.Tensor:
    """HAN's smoothed visual target 0.9 y + 0.05 (label smoothing toward 0.5), (B, C)."""
    return HAN_VISUAL_TARGET_SCALE * weak + (1.0 - HAN_VISUAL_TARGET_SCALE) / 2.0


def label_loss(output, pl_audio: torch.Tensor, pl_visual: torch.Tensor) -> torch.Tensor:
    """Eq 10, LEAP form (book/decisions.md#decision-label-term): BCE(a_prob, max_t pl_a) + BCE(v_prob, max_t pl_v).

    a_prob / v_prob (B, C) clamped to [1e-7, 1 - 1e-7]; pseudo labels (B, T, C).
    """
    dtype = output.a_prob.dtype
    target_a = pl_audio.to(dtype).amax(dim=1)
    target_v = pl_visual.to(dtype).amax(dim=1)
    return F.binary_cross_entropy(_clamped(output.a_prob), target_a) + F.binary_cross_entropy(
        _clamped(output.v_prob), target_v
    )


def iou_targets(pl_audio: torch.Tensor, pl_visual: torch.Tensor) -> torch.Tensor:
    """r_ij = |A_i ∩ V_j| / |A_i ∪ V_j| (eq 12 targets), 0 where the union is empty.

    A_i: classes active in audio segment i, V_j: in visual segment j. (B, T, C) x 2 -> (B, T, T).
    """
    dtype = pl_audio.dtype if pl_audio.is_floating_point() else torch.float32
    a = (pl_audio >= 0.5).to(dtype)
    v = (pl_visual >= 0.5).to(dtype)
    inter = a @ v.transpose(1, 2)
    union = a.sum(-1).unsqueeze(2) + v.sum(-1).unsqueeze(1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1.0), torch.zeros_like(inter))


def sloss_lambda(s: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """Eq 11 weight per pair from the cosine s (detached) and the scalar mu (gradient flows):

    1 where s <= -0.2; e^|1-mu| where -0.2 < s < 0; e^|1-mu| + (1 - e^|1-mu|) * s where s >= 0.
    """
    s = s.detach()
    mu = torch.as_tensor(mu, dtype=s.dtype, device=s.device)
    peak = torch.exp((1.0 - mu).abs())
    ramp = peak + (1.0 - peak) * s
    band = peak.expand_as(s)
    return torch.where(s <= LAMBDA_LOW, torch.ones_like(s), torch.where(s < 0, band, ramp))


def leap_targets(pl_audio: torch.Tensor, pl_visual: torch.Tensor) -> torch.Tensor:
    """LEAP's L_avss target per segment pair (the prior work's form; book: decisions page, S-LOSS).

    x_ij = |A_i ∩ V_j| / n, where n is the video's largest number of simultaneously active
    classes in either modality (max over segments of the per-segment class count, audio or
    visual; 1e-8 for a video with none); target = x / (1 + x) + 0.01 (LEAP writes it as
    sigmoid(log x) + eps). A perfect match aims at about 0.51, no shared class at 0.01.
    (B, T, C) x 2 -> (B, T, T).
    """
    dtype = pl_audio.dtype if pl_audio.is_floating_point() else torch.float32
    a = (pl_audio >= 0.5).to(dtype)
    v = (pl_visual >= 0.5).to(dtype)
    shared = a @ v.transpose(1, 2)  # (B, T, T)
    most = torch.maximum(a.sum(-1).amax(-1), v.sum(-1).amax(-1))  # (B,)
    most = torch.where(most > 0, most, torch.full_like(most, LEAP_EMPTY_DENOMINATOR))
    x = shared / most[:, None, None]
    return x / (1.0 + x) + LEAP_TARGET_EPS


def segment_cosines(audio_hidden: torch.Tensor, visual_hidden: torch.Tensor) -> torch.Tensor:
    """s_ij = cos(audio_hidden[:, i], visual_hidden[:, j]) for all T x T pairs: (B, T, H) x 2 -> (B, T, T)."""
    a = F.normalize(audio_hidden, dim=-1)
    v = F.normalize(visual_hidden, dim=-1)
    return a @ v.transpose(1, 2)


def similarity_loss(audio_hidden, visual_hidden, pl_audio, pl_visual, mu, form: str = "paper") -> torch.Tensor:
    """S-LOSS's similarity term: mean over b, i, j of lambda_ij * (prediction_ij - target_ij)^2.

    s_ij = cos(audio_hidden[i], visual_hidden[j]) over all T x T pairs, hidden (B, T, H);
    lambda_ij = sloss_lambda(s_ij, mu) (eq 11, on the raw cosine in both forms).
    form "paper" (eq 12): prediction s_ij, target iou_targets (B, T, T).
    form "leap" (LEAP's L_avss): prediction ReLU(s_ij), target leap_targets. With mu frozen at 1
    (lambda = 1 everywhere) this is exactly the prior work's loss.
    """
    s = segment_cosines(audio_hidden, visual_hidden)  # (B, T, T)
    if form == "paper":
        prediction, target = s, iou_targets(pl_audio, pl_visual).to(s.dtype)
    elif form == "leap":
        prediction, target = F.relu(s), leap_targets(pl_audio, pl_visual).to(s.dtype)
    else:
        raise ValueError(f"similarity_loss: unknown form {form!r}; choose 'paper' or 'leap'")
    return (sloss_lambda(s, mu) * (prediction - target) ** 2).mean()


@torch.no_grad()
def alignment_diagnostics(output, pl_audio: torch.Tensor, pl_visual: torch.Tensor) -> dict:
    """How the two streams relate on a batch, for every model (detached scalars, no loss).

    Mean cosine s_ij of the encoder outputs over the segment pairs whose gated pseudo labels
    have the same class set (``cos_same``: IoU 1), overlapping sets (``cos_overlap``: 0 < IoU
    < 1), disjoint non-empty sets (``cos_disjoint``) and two empty sets (``cos_empty``); and
    the mean frame probability a modality gives to cells whose class the *other* modality's
    pseudo labels hold alone (``visual_prob_on_audio_only``: visual frame probability where
    pl_audio = 1 and pl_visual = 0; ``audio_prob_on_visual_only``): with VALOR's classifier
    shared by both streams, a pull between audio and visual features shows up there.
    A group without any pair/cell in the batch gives NaN.
    """
    s = segment_cosines(output.audio_hidden, output.visual_hidden)
    a, v = pl_audio >= 0.5, pl_visual >= 0.5
    r = iou_targets(pl_audio, pl_visual).to(s.dtype)
    empty = ~a.any(-1).unsqueeze(2) & ~v.any(-1).unsqueeze(1)  # (B, T, T)
    groups = {
        "cos_same": r == 1,
        "cos_overlap": (r > 0) & (r < 1),
        "cos_disjoint": (r == 0) & ~empty,
        "cos_empty": empty,
    }
    result = {name: s[mask].mean() if mask.any() else s.new_tensor(float("nan")) for name, mask in groups.items()}
    prob = output.frame_prob
    for name, cells, modality in (("visual_prob_on_audio_only", a & ~v, 1), ("audio_prob_on_visual_only", v & ~a, 0)):
        values = prob[:, :, modality][cells]
        result[name] = values.mean() if values.numel() else prob.new_tensor(float("nan"))
    return result


def compute_losses(model, output, batch: dict) -> dict:
    """Every loss term of ``model`` on ``batch`` ({AVVPSplit field: (B, ...)}), plus "total".

    Keys: video, audio, visual; with S-LOSS on (``model.config.use_sloss``) also label and,
    unless ``similarity_form`` is "off", similarity. total = the sum, all weights 1 (eq 7).
    A model trained on weak labels only (``supervision == "weak"``) has HAN's terms instead
    (``weak_label_losses``: video, audio_video, visual_video).
    """
    config = getattr(model, "config", None)
    if getattr(config, "supervision", "pseudo") == "weak":
        losses = weak_label_losses(output, batch["weak"])
        losses["total"] = sum(losses.values())
        return losses
    pl_audio, pl_visual = batch["pseudo_audio"], batch["pseudo_visual"]
    losses = valor_losses(output, batch["weak"], pl_audio, pl_visual)
    if getattr(config, "use_sloss", False):
        losses["label"] = label_loss(output, pl_audio, pl_visual)
        if config.similarity_form != "off":
            losses["similarity"] = similarity_loss(
                output.audio_hidden,
                output.visual_hidden,
                pl_audio,
                pl_visual,
                model.sloss_mu,
                config.similarity_form,
            )
    losses["total"] = sum(losses.values())
    return losses
