"""Label statistics of LLP-structured data: weak labels and dense audio/visual timelines.

One set of functions serves the real LLP annotations (val+test dense ground truth), the
SynthLLP generator's train split (donor timelines) and the book's data notebook, so a number
of LLP (``book/decisions.md#llp-statistics``) and the same number for synthetic data come
from the same code.

Conventions follow the official evaluation (``book/decisions.md#ref-metric``): timelines are
(N, T, C) bool with T = 10 one-second segments; an *event* is a maximal run of 1s in one
(video, class) row; AV ground truth is ``audio & visual``.
"""

from __future__ import annotations

import numpy as np

from linkpaper.classes import CLASSES, NUM_CLASSES, NUM_SEGMENTS


def event_runs(timeline: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every maximal run of 1s in a (N, T, C) bool timeline.

    Returns four (E,) int arrays ``(video, class, onset, duration)`` ordered by video, class,
    onset; ``duration`` is in segments (seconds). Vectorised: no Python loop over videos.
    """
    x = np.asarray(timeline, dtype=bool).transpose(0, 2, 1)  # (N, C, T)
    n, c, t = x.shape
    padded = np.zeros((n, c, t + 2), dtype=np.int8)
    padded[:, :, 1:-1] = x
    step = np.diff(padded, axis=2)  # (N, C, T+1): +1 at a run start, -1 one past its end
    sv, sc, start = np.nonzero(step == 1)
    _, _, stop = np.nonzero(step == -1)  # same (video, class) order, so runs pair up
    return sv, sc, start, stop - start


def _hist(values: np.ndarray, low: int, high: int) -> list[int]:
    """Counts of each integer value in [low, high]."""
    return np.bincount(np.asarray(values, dtype=np.int64) - low, minlength=high - low + 1)[: high - low + 1].tolist()


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * len(counts)


def label_statistics(gt_audio: np.ndarray, gt_visual: np.ndarray, weak: np.ndarray) -> dict:
    """The LLP annotation statistics of one set of videos (``book/decisions.md#llp-statistics``).

    gt_audio, gt_visual: (N, T, C) bool dense timelines; weak: (N, C) video-level labels.
    Returns a JSON-serialisable dict; the keys marked (A)-(E) are the audio-visual
    non-alignment rates:

    * ``class_counts`` (C,), ``labels_per_video_hist`` (0..7), ``mean_labels_per_video``
    * ``seg_cell_shares`` [a_only, v_only, av] over active (video, segment, class) cells (C),
      and ``seg_cell_shares_per_class`` (C lists of 3; zeros for a class with no active cell)
    * ``weak_label_shares`` [av, a_only, v_only, neither] over weak labels (D), and
      ``weak_label_shares_per_class`` (C lists of 4)
    * ``mismatch_all`` / ``mismatch_labelled``: segments whose audio label set differs from the
      visual one, over all segments (A) / over segments with any label (B)
    * ``videos_ge1_single_modality``: videos with >= 1 weak label present in exactly one
      modality (E)
    * ``mean_duration`` {audio, visual, av} in seconds over merged runs, and per class
    * ``duration_hist`` (1..10 s) and ``onset_hist`` (segment 0..9) per modality
    * ``audio_background_seg`` / ``visual_background_seg``: segments with no label in that modality
    """
    audio = np.asarray(gt_audio, dtype=bool)
    visual = np.asarray(gt_visual, dtype=bool)
    weak_b = np.asarray(weak) > 0
    if audio.shape != visual.shape or audio.shape[0] != weak_b.shape[0]:
        raise ValueError(
            f"label_statistics: shapes disagree: audio {audio.shape}, visual {visual.shape}, "
            f"weak {weak_b.shape} (expected (N, T, C), (N, T, C), (N, C))"
        )
    n_videos = audio.shape[0]
    av = audio & visual

    cells = np.array([(audio & ~visual).sum(), (visual & ~audio).sum(), av.sum()], dtype=np.float64)
    a_any, v_any = audio.any(axis=1), visual.any(axis=1)  # (N, C)
    label_kinds = np.array(
        [
            (weak_b & a_any & v_any).sum(),
            (weak_b & a_any & ~v_any).sum(),
            (weak_b & ~a_any & v_any).sum(),
            (weak_b & ~a_any & ~v_any).sum(),
        ],
        dtype=np.float64,
    )
    cells_c = np.stack([(audio & ~visual).sum((0, 1)), (visual & ~audio).sum((0, 1)), av.sum((0, 1))], 1)
    kinds_c = np.stack(
        [
            (weak_b & a_any & v_any).sum(0),
            (weak_b & a_any & ~v_any).sum(0),
            (weak_b & ~a_any & v_any).sum(0),
            (weak_b & ~a_any & ~v_any).sum(0),
        ],
        1,
    )
    differ = (audio != visual).any(axis=2)  # (N, T)
    labelled = (audio | visual).any(axis=2)
    single = weak_b & (a_any ^ v_any)

    result = {
        "n_videos": int(n_videos),
        "class_counts": weak_b.sum(axis=0).astype(int).tolist(),
        "labels_per_video_hist": _hist(weak_b.sum(axis=1), 0, 7),
        "mean_labels_per_video": float(weak_b.sum(axis=1).mean()) if n_videos else 0.0,
        "seg_cell_shares": _shares(cells),
        "weak_label_shares": _shares(label_kinds),
        "seg_cell_shares_per_class": [_shares(row.astype(np.float64)) for row in cells_c],
        "weak_label_shares_per_class": [_shares(row.astype(np.float64)) for row in kinds_c],
        "mismatch_all": float(differ.mean()) if n_videos else 0.0,
        "mismatch_labelled": float(differ.sum() / max(labelled.sum(), 1)),
        "videos_ge1_single_modality": float(single.any(axis=1).mean()) if n_videos else 0.0,
        "audio_background_seg": float((~audio.any(axis=2)).mean()) if n_videos else 0.0,
        "visual_background_seg": float((~visual.any(axis=2)).mean()) if n_videos else 0.0,
        "mean_duration": {},
        "mean_duration_per_class": {},
        "duration_hist": {},
        "onset_hist": {},
        "n_events": {},
    }
    for name, timeline in (("audio", audio), ("visual", visual), ("av", av)):
        _, cls, onset, duration = event_runs(timeline)
        result["n_events"][name] = int(duration.size)
        result["mean_duration"][name] = float(duration.mean()) if duration.size else 0.0
        sums = np.bincount(cls, weights=duration, minlength=NUM_CLASSES)
        counts = np.bincount(cls, minlength=NUM_CLASSES)
        result["mean_duration_per_class"][name] = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0).tolist()
        result["duration_hist"][name] = _hist(duration, 1, NUM_SEGMENTS)
        result["onset_hist"][name] = _hist(onset, 0, NUM_SEGMENTS - 1)
    return result


COMPARISON_ROWS: tuple[tuple[str, str], ...] = (
    ("segment label-set mismatch, all segments (A)", "mismatch_all"),
    ("segment label-set mismatch, labelled segments (B)", "mismatch_labelled"),
    ("active cells: audio only", "seg_cell_shares.0"),
    ("active cells: visual only", "seg_cell_shares.1"),
    ("active cells: audio-visual", "seg_cell_shares.2"),
    ("weak labels: in both modalities", "weak_label_shares.0"),
    ("weak labels: audio only", "weak_label_shares.1"),
    ("weak labels: visual only", "weak_label_shares.2"),
    ("weak labels: in neither", "weak_label_shares.3"),
    ("videos with >= 1 single-modality weak label (E)", "videos_ge1_single_modality"),
    ("segments with no audio label", "audio_background_seg"),
    ("segments with no visual label", "visual_background_seg"),
    ("mean audio event duration (s)", "mean_duration.audio"),
    ("mean visual event duration (s)", "mean_duration.visual"),
    ("mean AV event duration (s)", "mean_duration.av"),
    ("mean weak labels per video", "mean_labels_per_video"),
)
"""(row title, dotted key into ``label_statistics``) for ``format_comparison``."""


def stat_value(stats: dict, key: str) -> float:
    """Look up a dotted key such as ``"seg_cell_shares.0"`` or ``"mean_duration.audio"``."""
    value = stats
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return float(value)


def format_comparison(columns: dict[str, dict], title: str = "") -> str:
    """A plain-text table of ``COMPARISON_ROWS`` with one column per ``label_statistics`` dict."""
    names = list(columns)
    width = max(len(row) for row, _ in COMPARISON_ROWS)
    lines = [title] if title else []
    lines.append(f"{'statistic':<{width}}  " + "  ".join(f"{n:>12}" for n in names))
    lines.append(f"{'videos':<{width}}  " + "  ".join(f"{columns[n]['n_videos']:>12d}" for n in names))
    for row, key in COMPARISON_ROWS:
        values = "  ".join(f"{stat_value(columns[n], key):>12.4f}" for n in names)
        lines.append(f"{row:<{width}}  {values}")
    return "\n".join(lines)


def per_class_table(stats: dict) -> str:
    """Per class: weak-label count and mean audio / visual event duration (seconds)."""
    lines = [f"{'class':<24} {'weak':>6} {'dur a':>6} {'dur v':>6}"]
    for c, name in enumerate(CLASSES):
        lines.append(
            f"{name:<24} {stats['class_counts'][c]:>6d} "
            f"{stats['mean_duration_per_class']['audio'][c]:>6.2f} "
            f"{stats['mean_duration_per_class']['visual'][c]:>6.2f}"
        )
    return "\n".join(lines)
