"""JoMoLD's losses and its three stages (Cheng et al., ECCV 2022; ``book/decisions.md#method-jomold``).

Stage 1, the noise estimator: the network without cross-modal attention, trained on

    L_1 = BCE(P, y) + BCE(p_a, y) + BCE(p_v, 0.9 y + 0.05) + L_nce                (all weights 1)

Stage 2, per-class noise ratios, from the estimator in eval mode over the training split: a
labelled (video, class) pair is noisy in the visual modality when p_v * (0.9 y + 0.05) falls
below 1.8 x the class's mean p_v, in the audio modality when p_a * y falls below 0.6 x the
mean p_a; ratio_m[c] = noisy pairs / videos labelled c.

Stage 3, a fresh network with cross-modal attention. Each batch, the network without
cross-modal attention (no gradient) gives per-pair BCE losses l_a, l_v; for class c, among the
n = floor(r * positives) positives (r warmed up linearly over 0.9 epoch), the visual label is
dropped where l_a is among the n lowest and l_v among the n highest (the sound is clearly
there, the sight is not), and the audio label symmetrically. Then

    L_3 = 2 BCE(p_a, y~_a) + BCE(p_v, y~_v) + BCE(P, y) + L_nce

L_nce (the audio-visual contrastive term): for each audio segment i, softmax over the visual
segments j of cos(h_a[i], h_v[j]) / 0.2, scored against the label-smoothed target (0.9 on
j = i, 0.1 / (T - 1) elsewhere) as -log sum_j target_j * prob_j, mean over (b, i).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from linkpaper.errors import ConfigError
from linkpaper.evaluation.inference import is_active
from linkpaper.losses import PROB_EPS, han_visual_target
from linkpaper.methods.han import bce
from linkpaper.models.jomold import segment_similarities

NCE_SMOOTHING = 0.1
AUDIO_NOISE_THRESHOLD = 0.6  # a_thres: audio label noisy below 0.6 x the class's mean p_a
VISUAL_NOISE_THRESHOLD = 1.8  # v_thres
AUDIO_WEIGHT = 2.0  # stage 3's weight on the audio term (stage 1: 1)
RATIO_WARMUP_EPOCHS = 0.9  # warm_up_epoch: the noise ratios reach their value after 0.9 epoch


def contrastive_loss(
    audio_hidden: torch.Tensor, visual_hidden: torch.Tensor, temperature: float, smoothing: float = NCE_SMOOTHING
) -> torch.Tensor:
    """L_nce (module docstring) of (B, T, H) x 2 encoder outputs: a scalar."""
    prob = torch.softmax(segment_similarities(audio_hidden, visual_hidden, temperature), dim=-1)  # (B, T, T)
    T = prob.shape[-1]
    target = torch.full_like(prob, smoothing / (T - 1))
    target.diagonal(dim1=-2, dim2=-1).fill_(1.0 - smoothing)
    return -torch.log((target * prob).sum(dim=-1)).mean()


def modality_targets(weak: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio target y, visual target 0.9 y + 0.05), each (B, C)."""
    return weak.clone(), han_visual_target(weak)


def estimator_losses(model, output, batch: dict) -> dict:
    """Stage 1's L_1 on a batch: {video, audio, visual, nce, total}."""
    weak = batch["weak"].to(output.a_prob.dtype)
    target_a, target_v = modality_targets(weak)
    losses = {
        "video": bce(output.global_prob, weak),
        "audio": bce(output.a_prob, target_a),
        "visual": bce(output.v_prob, target_v),
        "nce": contrastive_loss(output.audio_hidden, output.visual_hidden, model.config.temperature),
    }
    losses["total"] = sum(losses.values())
    return losses


def _ranked(values: torch.Tensor, eligible: torch.Tensor, n: int, highest: bool) -> torch.Tensor:
    """(B,) mask of the n eligible entries with the lowest (or highest) ``values`` (stable order)."""
    order = torch.sort(values, stable=True).indices
    order = order[eligible[order]]
    chosen = order[-n:] if highest else order[:n]
    mask = torch.zeros_like(eligible)
    mask[chosen] = True
    return mask


@torch.no_grad()
def drop_noisy_labels(a_prob, v_prob, target_a, target_v, ratio_a, ratio_v) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 3's per-batch label dropping (module docstring).

    a_prob, v_prob (B, C) from the network without cross-modal attention; target_a, target_v
    (B, C) the modality targets; ratio_a, ratio_v (C,) the warmed-up noise ratios. Returns new
    targets with the dropped labels set to 0.
    """
    loss_a = F.binary_cross_entropy(a_prob.clamp(PROB_EPS, 1 - PROB_EPS), target_a, reduction="none")
    loss_v = F.binary_cross_entropy(v_prob.clamp(PROB_EPS, 1 - PROB_EPS), target_v, reduction="none")
    positive_a, positive_v = is_active(target_a), is_active(target_v)
    new_a, new_v = target_a.clone(), target_v.clone()
    for c in range(target_a.shape[1]):
        n_v = math.floor(float(ratio_v[c]) * int(positive_v[:, c].sum()))
        if n_v > 0:  # audible but not visible: drop the visual label
            drop_v = _ranked(loss_a[:, c], positive_v[:, c], n_v, highest=False) & _ranked(
                loss_v[:, c], positive_v[:, c], n_v, highest=True
            )
            new_v[drop_v, c] = 0.0
        n_a = math.floor(float(ratio_a[c]) * int(positive_a[:, c].sum()))
        if n_a > 0:  # visible but not audible: drop the audio label
            drop_a = _ranked(loss_a[:, c], positive_a[:, c], n_a, highest=True) & _ranked(
                loss_v[:, c], positive_a[:, c], n_a, highest=False
            )
            new_a[drop_a, c] = 0.0
    return new_a, new_v


@torch.no_grad()
def estimate_noise_ratios(
    model,
    audio,
    visual,
    visual_3d,
    weak,
    batch_size: int = 1024,
    audio_threshold: float = AUDIO_NOISE_THRESHOLD,
    visual_threshold: float = VISUAL_NOISE_THRESHOLD,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stage 2: per-class noise ratios (ratio_a, ratio_v), each (C,) float64, of the stage-1
    estimator (eval mode, no cross-modal attention) on the training split's tensors.

    Classes no training video is labelled with get ratio 0.
    """
    was_training = model.training
    model.eval()
    a_probs, v_probs = [], []
    for start in range(0, audio.shape[0], batch_size):
        part = slice(start, start + batch_size)
        output = model(audio[part], visual[part], visual_3d[part], cross_attention=False)
        a_probs.append(output.a_prob.double())
        v_probs.append(output.v_prob.double())
    model.train(was_training)
    a_prob, v_prob = torch.cat(a_probs), torch.cat(v_probs)
    weak = weak.to(a_prob)
    target_a, target_v = modality_targets(weak)
    labelled = weak != 0
    noisy_a = labelled & (a_prob * target_a / a_prob.mean(dim=0) < audio_threshold)
    noisy_v = labelled & (v_prob * target_v / v_prob.mean(dim=0) < visual_threshold)
    events = labelled.sum(dim=0).double()  # videos labelled with each class

    def ratio(noisy):
        return torch.where(events > 0, noisy.sum(dim=0) / events.clamp(min=1), torch.zeros_like(events))

    return ratio(noisy_a), ratio(noisy_v)


def begin_denoising(model, ratio_a: torch.Tensor, ratio_v: torch.Tensor, warmup_steps: float) -> None:
    """Stage hand-over: give the fresh stage-3 network the estimator's noise ratios, (C,) each, and
    the number of optimiser steps over which they warm up (0.9 epoch of the training split)."""
    C = model.config.num_classes
    for name, ratio in (("ratio_a", ratio_a), ("ratio_v", ratio_v)):
        ratio = torch.as_tensor(ratio, dtype=torch.float64)
        if ratio.shape != (C,) or not torch.isfinite(ratio).all() or (ratio < 0).any() or (ratio > 1).any():
            raise ConfigError(
                f"JoMoLD {name}: expected {C} finite noise ratios in [0, 1], got {tuple(ratio.shape)} "
                f"values {ratio.tolist()[:4]}..."
            )
    model.noise_ratio_audio.copy_(torch.as_tensor(ratio_a, dtype=torch.float64))
    model.noise_ratio_visual.copy_(torch.as_tensor(ratio_v, dtype=torch.float64))
    model.denoise_warmup_steps.fill_(float(warmup_steps))
    model.denoise_step.zero_()


def warmed_up_ratios(model) -> tuple[torch.Tensor, torch.Tensor]:
    """The noise ratios at the model's current stage-3 step: ratio * min(1, step / warm-up steps)."""
    warmup = float(model.denoise_warmup_steps)
    scale = 1.0 if warmup <= 0 else min(1.0, int(model.denoise_step) / warmup)
    return model.noise_ratio_audio * scale, model.noise_ratio_visual * scale


def denoising_losses(model, output, batch: dict) -> dict:
    """Stage 3's L_3 on a batch (one training step: advances the ratio warm-up by one step).

    {video, audio, visual, nce, total}. The labels dropped in this batch are counted in
    ``output.diagnostics`` (``dropped_audio``, ``dropped_visual``), which the run record keeps.
    """
    weak = batch["weak"].to(output.a_prob.dtype)
    target_a, target_v = modality_targets(weak)
    with torch.no_grad():
        estimate = model(batch["audio"], batch["visual"], batch["visual_3d"], cross_attention=False)
    ratio_a, ratio_v = warmed_up_ratios(model)
    denoised_a, denoised_v = drop_noisy_labels(estimate.a_prob, estimate.v_prob, target_a, target_v, ratio_a, ratio_v)
    model.denoise_step.add_(1)
    losses = {
        "video": bce(output.global_prob, weak),
        "audio": AUDIO_WEIGHT * bce(output.a_prob, denoised_a),
        "visual": bce(output.v_prob, denoised_v),
        "nce": contrastive_loss(output.audio_hidden, output.visual_hidden, model.config.temperature),
    }
    losses["total"] = sum(losses.values())
    output.diagnostics["dropped_audio"] = (is_active(target_a) & ~is_active(denoised_a)).sum().float()
    output.diagnostics["dropped_visual"] = (is_active(target_v) & ~is_active(denoised_v)).sum().float()
    return losses


def hand_over(estimator, data, config) -> tuple:
    """Stages 1 -> 3: the noise ratios of a trained estimator on ``data.train`` and the function
    that gives them to the fresh stage-3 network.

    estimator: the stage-1 network (its best epoch); config: the run's TrainConfig (its
    ``batch_size`` sets the warm-up, 0.9 epoch of optimiser steps). Returns (prepare(model),
    {"noise_ratios": {"audio": [...], "visual": [...]}, "warmup_steps": float}) for the record.
    """
    from linkpaper.training.scoring import prepare_split  # the engine's own split preparation (pooled audio)

    device = next(estimator.parameters()).device
    train = prepare_split(estimator, data.train, device)
    ratio_a, ratio_v = estimate_noise_ratios(
        estimator, train.audio, train.visual, train.visual_3d, train.weak, batch_size=config.eval_batch_size
    )
    warmup_steps = RATIO_WARMUP_EPOCHS * math.ceil(len(train) / config.batch_size)

    def prepare(model) -> None:
        begin_denoising(model, ratio_a, ratio_v, warmup_steps)

    info = {
        "noise_ratios": {"audio": [float(r) for r in ratio_a], "visual": [float(r) for r in ratio_v]},
        "warmup_steps": warmup_steps,
    }
    return prepare, info
