"""A model's probabilities on a whole split, and their AVVP F-scores.

:func:`predict` runs a model over a split in a few large ``no_grad`` batches (the split already
lives as tensors on the model's device: :func:`prepare_split`); :func:`evaluate_split` scores the
probabilities against the split's dense ground truth with the official metric
(``linkpaper.evaluation.metrics.evaluate_probs``: frame >= 0.5 AND video >= 0.5, eqs of section 3.2).
The training loop validates with them every epoch and tests with them at the end.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
import torch

from linkpaper.data.split import AVVPSplit
from linkpaper.errors import UserError
from linkpaper.evaluation.metrics import AVVPScores, evaluate_probs
from linkpaper.training.divergence import DivergenceError, count_text, nonfinite_inputs

SELECTION_SCORE = ("segment", "type")
"""The validation score that picks the best epoch: segment-level Type@AV (as VALOR)."""


class Predictions(NamedTuple):
    """What :func:`predict` returns, float32 numpy arrays."""

    frame_prob: np.ndarray  # (N, T, 2, C): audio (0) and visual (1) segment probabilities
    video_prob: np.ndarray  # (N, C), clamped to [0, 1]


class Evaluation(NamedTuple):
    """What :func:`evaluate_split` returns: the scores and the probabilities they were made from."""

    scores: AVVPScores
    frame_prob: np.ndarray  # (N, T, 2, C)
    video_prob: np.ndarray  # (N, C)


def forward(model, tensors: dict, plsim: tuple):
    """``model``'s AVVPOutput on ``tensors`` ({"audio", "visual", "visual_3d"}: (B, ...)) with the
    (audio, visual) PLSIM labels ``plsim`` ((B, T, C) each, or None)."""
    return model(tensors["audio"], tensors["visual"], tensors["visual_3d"], plsim_audio=plsim[0], plsim_visual=plsim[1])


@torch.no_grad()
def prepare_split(model, split: AVVPSplit, device) -> AVVPSplit:
    """``split`` on ``device``, with (N, 64, 768) audio maps pooled once to (N, 10, 768) when the
    model takes the fast audio path (``pool_audio_input``), so no batch repeats that step."""
    moved = split.to(device)
    return replace(moved, audio=model.pool_audio_input(moved.audio))


@torch.no_grad()
def predict(model, split: AVVPSplit, plsim: tuple = (None, None), batch_size: int = 1024) -> Predictions:
    """Probabilities for every video of ``split`` (already on the model's device), computed in
    ``batch_size`` chunks with ``model.eval()`` and ``no_grad``. Restores the training mode."""
    was_training = model.training
    model.eval()
    frames, videos = [], []
    n = len(split)
    tensors = {"audio": split.audio, "visual": split.visual, "visual_3d": split.visual_3d}
    for start in range(0, n, batch_size):
        chunk = slice(start, min(start + batch_size, n))
        output = forward(
            model,
            {k: v[chunk] for k, v in tensors.items()},
            tuple(None if p is None else p[chunk] for p in plsim),
        )
        frames.append(output.frame_prob.float())
        # VALOR's attentive pooling can exceed 1 (frame attention is normalised over time per
        # modality, modality attention per segment); the reference clamps it before its BCE.
        # Clamping to [0, 1] leaves the >= 0.5 gate unchanged and makes a valid predictions file.
        videos.append(output.global_prob.float().clamp(0.0, 1.0))
    model.train(was_training)
    return Predictions(torch.cat(frames).cpu().numpy(), torch.cat(videos).cpu().numpy())


def evaluate_split(model, split: AVVPSplit, plsim: tuple = (None, None), batch_size: int = 1024) -> Evaluation:
    """The scores of ``model`` on a split with dense ground truth, and its probabilities.

    Non-finite probabilities raise DivergenceError naming whether the inputs or the weights are at fault.
    """
    if split.gt_audio is None or split.gt_visual is None:
        raise UserError(f"the {split.name} split has no dense ground truth to evaluate against")
    frame_prob, video_prob = predict(model, split, plsim, batch_size)
    if not (np.isfinite(frame_prob).all() and np.isfinite(video_prob).all()):
        inputs = nonfinite_inputs(split.tensor_fields())
        cause = (
            f"its input features hold non-finite values ({count_text(inputs)})"
            if inputs
            else "the inputs are finite, so the model's weights are not"
        )
        raise DivergenceError(f"the model's {split.name} predictions hold NaN or infinite values: {cause}")
    return Evaluation(evaluate_probs(frame_prob, video_prob, split.gt_audio, split.gt_visual), frame_prob, video_prob)


def score_row(scores: AVVPScores) -> list[float]:
    """The ten F-scores (percent) of an AVVPScores in SCORE_COLUMNS order."""
    return [float(x) for x in scores.row()]


def scores_record(scores: AVVPScores) -> dict:
    """{level: {score: F}} of an AVVPScores as plain floats (what results.json holds)."""
    return {level: {k: float(v) for k, v in table.items()} for level, table in scores.table.items()}


def selection_score(scores: AVVPScores) -> float:
    """The validation score of :data:`SELECTION_SCORE` (segment-level Type@AV)."""
    return scores.table[SELECTION_SCORE[0]][SELECTION_SCORE[1]]
