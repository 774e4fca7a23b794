"""Teacher logits -> segment pseudo labels (book/decisions.md#ref-teachers; numpy only).

VALOR's rule, for both teachers: ``PL[t, c] = 1`` iff class ``c`` is in the video's weak label
AND ``logit[t, c] > threshold[c]`` (strictly greater). There is no top-k and no smoothing.
We keep the two factors apart: the *ungated* labels (the threshold alone, which PLSIM needs
and the released files lack) and the *gated* ones (the released form), so that always
``gated == ungated & weak``.
"""

from __future__ import annotations

import numpy as np

from linkpaper.classes import CLAP_THRESHOLDS, CLIP_THRESHOLDS, NUM_CLASSES

THRESHOLDS: dict[str, np.ndarray] = {
    "CLIP": np.asarray(CLIP_THRESHOLDS, dtype=np.float64),
    "CLAP": np.asarray(CLAP_THRESHOLDS, dtype=np.float64),
}
"""Per-class thresholds (25,) for each teacher, from ``linkpaper.classes``."""


def ungated_labels(logits: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(..., T, 25) logits -> (..., T, 25) int64: ``logit > threshold`` per class (strict)."""
    logits = np.asarray(logits)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if logits.shape[-1] != NUM_CLASSES or thresholds.shape != (NUM_CLASSES,):
        raise ValueError(
            f"expected (..., {NUM_CLASSES}) logits and ({NUM_CLASSES},) thresholds, "
            f"got {logits.shape} and {thresholds.shape}"
        )
    return (logits.astype(np.float64) > thresholds).astype(np.int64)


def gate(ungated: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """AND the (..., T, 25) ungated labels with the (..., 25) weak label -> (..., T, 25) int64."""
    weak = np.asarray(weak)
    if weak.shape[-1] != NUM_CLASSES:
        raise ValueError(f"expected a (..., {NUM_CLASSES}) weak label, got {weak.shape}")
    return (np.asarray(ungated).astype(bool) & (weak[..., None, :] > 0)).astype(np.int64)


def pseudo_labels(logits: np.ndarray, thresholds: np.ndarray, weak: np.ndarray | None = None):
    """(T, 25) logits -> ``(ungated, gated)`` (T, 25) int64; ``gated`` is None without ``weak``."""
    ungated = ungated_labels(logits, thresholds)
    return ungated, (None if weak is None else gate(ungated, weak))
