"""The AVVP inference rule, one definition for the metric and for PLSIM's ``self`` labels.

A class is predicted in segment t of modality m when its frame probability is >= 0.5 **and**
the predicted video probability is >= 0.5 (the gate uses the *predicted* video labels, never
the ground truth; book/decisions.md#ref-metric). Works on numpy arrays and torch tensors alike.
"""

from __future__ import annotations

from typing import NamedTuple

THRESHOLD = 0.5
"""Frame and video probabilities are thresholded at 0.5 (hard-coded in the official inference code)."""


def is_active(labels):
    """Where a label (or a probability) counts as on: ``labels >= 0.5`` (:data:`THRESHOLD`), for
    pseudo labels, weak labels and PLSIM's labels (eq 13) alike; numpy in numpy out, torch in
    torch out, any shape."""
    return labels >= THRESHOLD


class SegmentDecisions(NamedTuple):
    """What :func:`gated_segments` returns: the predicted segments of each modality."""

    audio: object  # (N, T, C) bool, numpy or torch as the input
    visual: object  # (N, T, C) bool


def gated_segments(frame_prob, video_prob, threshold: float = THRESHOLD) -> SegmentDecisions:
    """(pred_audio, pred_visual), each (N, T, C) bool, from frame_prob (N, T, 2, C) (modality 0
    audio, 1 visual) and video_prob (N, C): ``(frame_prob[:, :, m] >= threshold) AND
    (video_prob >= threshold)``, numpy in numpy out, torch in torch out."""
    segments = frame_prob >= threshold
    video = (video_prob >= threshold)[:, None, :]
    return SegmentDecisions(segments[:, :, 0, :] & video, segments[:, :, 1, :] & video)
