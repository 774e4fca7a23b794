"""The official AVVP evaluation (HAN / VALOR / LEAP ``eval_metrics.py``), vectorised over videos.

Protocol (book/decisions.md#ref-metric), for N videos, T = 10 segments, C = 25 classes:

1. **Predictions** (section 3.2). ``pred_m = (frame_prob[:, :, m] >= 0.5) AND (video_prob >= 0.5)``
   for m in {audio, visual}; the audio-visual prediction is ``pred_a AND pred_v`` and the
   audio-visual ground truth ``gt_a AND gt_v``. All are (N, T, C) bool.
2. **Counts per video and class.** Segment level (3.3): TP/FP/FN over the T segments. Event
   level (3.4): an event is a maximal run of 1s in one class row; a predicted event is a TP if
   its IoU with *any* GT event of that class is >= 0.5, else an FP; a GT event that no predicted
   event matches at IoU >= 0.5 is an FN.
3. **Per-video F.** A class is *kept* iff it has any prediction or any GT (TP + FP + FN > 0);
   ``F_c = 2TP / (2TP + FP + FN)``; the video's score is the mean of ``F_c`` over kept classes,
   or 1.0 when no class is kept. Event@AV pools the audio and visual counts per class before
   taking F (it is not a mean of the a and v scores).
4. **Aggregation** (3.5): each per-video score is averaged over videos and multiplied by 100;
   Type@AV = (audio + visual + audio-visual) / 3.

``evaluate_predictions`` computes all of this with numpy array operations, no Python loop over
videos: each (video, class) row of 10 bits becomes an integer (``row_codes``), segment counts
are bit counts of ANDed codes, and event counts are looked up in a table of all 1024 x 1024
(pred row, GT row) pairs built once from the vectorised event extraction (``event_bounds``,
``event_count_table``). ``evaluate_predictions_loop`` is the same protocol written as plain
per-video Python, kept to teach the protocol and to cross-check the fast path (they agree
exactly, per-video scores included).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.errors import UserError
from linkpaper.evaluation.inference import THRESHOLD, SegmentDecisions, gated_segments
from linkpaper.evaluation.predictions import (
    check_probabilities,
)

IOU_THRESHOLD = 0.5  # event matching, inclusive
LEVELS = ("segment", "event")
SCORE_MODALITIES = ("audio", "visual", "audio_visual", "type", "event")
COUNTED_MODALITIES = ("audio", "visual", "audio_visual", "event")  # scores computed from counts
SCORE_COLUMNS: tuple[tuple[str, str], ...] = tuple((level, m) for level in LEVELS for m in SCORE_MODALITIES)
"""The ten reported scores in table order: Seg a, v, av, Type@AV, Event@AV, then Event-level."""
SCORE_LABELS: tuple[str, ...] = tuple(
    f"{'Seg' if level == 'segment' else 'Event'} { {'audio': 'a', 'visual': 'v', 'audio_visual': 'av'}.get(m, m) }"
    for level, m in SCORE_COLUMNS
)
"""The ten scores' short labels, in ``SCORE_COLUMNS`` order: "Seg a", ..., "Event event"."""
COLUMN_TITLES = {
    "audio": "Audio",
    "visual": "Visual",
    "audio_visual": "Audio-visual",
    "type": "Type@AV",
    "event": "Event@AV",
}


class MetricInputError(UserError, ValueError):
    """Predictions or ground truth with the wrong shape, dtype or values."""


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class ClassScores:
    """Per-class view of one (level, modality) score.

    f: (C,) percent, mean of the per-video class F over the videos where the class is kept
    (NaN for a class kept in no video); videos: (C,) how many videos keep the class;
    tp, fp, fn: (C,) counts summed over videos.
    """

    f: np.ndarray
    videos: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray


@dataclass
class AVVPScores:
    """The AVVP scores of N videos.

    table: ``{"segment"|"event": {"audio", "visual", "audio_visual", "type", "event": percent}}``.
    per_video: same keys, each an (N,) float64 array of per-video scores in [0, 1]
    (``type`` is the per-video mean of audio, visual and audio_visual).
    per_class: ``{level: {"audio", "visual", "audio_visual", "event": ClassScores}}``.
    """

    table: dict[str, dict[str, float]]
    per_video: dict[str, dict[str, np.ndarray]]
    per_class: dict[str, dict[str, ClassScores]]
    n_videos: int

    def row(self) -> list[float]:
        """The ten scores (percent) in ``SCORE_COLUMNS`` order."""
        return [self.table[level][m] for level, m in SCORE_COLUMNS]

    def format_table(self, title: str | None = None) -> str:
        """The ten scores as a small text table (percent, two decimals)."""
        header = f"{'':<14}" + "".join(f"{COLUMN_TITLES[m]:>14}" for m in SCORE_MODALITIES)
        lines = [title] if title else []
        lines.append(header)
        for level in LEVELS:
            values = "".join(f"{self.table[level][m]:>14.2f}" for m in SCORE_MODALITIES)
            lines.append(f"{level + '-level':<14}{values}")
        lines.append(f"({self.n_videos} videos; F-scores in %, averaged over videos)")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Input checks and prediction gating
# --------------------------------------------------------------------------------------------


def _as_numpy(array) -> np.ndarray:
    if hasattr(array, "detach"):  # a torch tensor, on any device
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def _as_binary(array, name: str, n_videos: int | None = None) -> np.ndarray:
    """(N, T, C) array of 0/1 values (bool, int or float; numpy or torch) -> bool."""
    array = _as_numpy(array)
    expected = f"(N, {NUM_SEGMENTS}, {NUM_CLASSES})"
    if array.ndim != 3 or array.shape[1:] != (NUM_SEGMENTS, NUM_CLASSES):
        raise MetricInputError(f"{name} has shape {array.shape}; expected {expected} (videos, segments, classes)")
    if n_videos is not None and array.shape[0] != n_videos:
        raise MetricInputError(f"{name} has {array.shape[0]} videos; expected {n_videos} like the other inputs")
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "iuf":
        raise MetricInputError(f"{name} has dtype {array.dtype}; expected bool or 0/1 numbers")
    binary = array.astype(bool)
    if not np.array_equal(binary, array):
        raise MetricInputError(f"{name} holds values other than 0 and 1; binarize it first (binarize_predictions)")
    return binary


def binarize_predictions(frame_prob, video_prob, threshold: float = THRESHOLD) -> SegmentDecisions:
    """Segment predictions gated by the predicted video label (section 3.2).

    frame_prob: (N, 10, 2, 25) in [0, 1] (modality 0 audio, 1 visual); video_prob: (N, 25).
    Returns (pred_audio, pred_visual), each (N, 10, 25) bool:
    ``(frame_prob[:, :, m] >= threshold) AND (video_prob >= threshold)``.
    """
    frame_prob, video_prob = check_probabilities(frame_prob, video_prob, source="binarize_predictions")
    return gated_segments(frame_prob, video_prob, threshold)


# --------------------------------------------------------------------------------------------
# Fast path: counts for all videos and classes at once
# --------------------------------------------------------------------------------------------


def event_bounds(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of 1s of each row: (R, T) bool -> (start, length), each (R, K) int16.

    Run k of row r covers segments ``start[r, k] : start[r, k] + length[r, k]``; rows have at
    most K = 5 runs for T = 10 (K shrinks to the largest count present); unused runs have
    length 0. A run starts where a 1 follows a 0 (or the row start) and ends where a 0 (or the
    row end) follows; ``cumsum`` of the start flags numbers the runs of a row 1, 2, ...
    """
    n_rows, n_segments = rows.shape
    padded = np.zeros((n_rows, n_segments + 2), dtype=bool)
    padded[:, 1:-1] = rows
    starts = rows & ~padded[:, :-2]  # first segment of a run
    lasts = rows & ~padded[:, 2:]  # last segment of a run
    run_number = np.cumsum(starts, axis=1, dtype=np.int16)
    n_runs = int(run_number[:, -1].max(initial=0))
    row, first = np.nonzero(starts)  # row-major: runs of a row come in order
    _, last = np.nonzero(lasts)
    k = run_number[row, first] - 1
    start = np.zeros((n_rows, n_runs), dtype=np.int16)
    length = np.zeros((n_rows, n_runs), dtype=np.int16)
    start[row, k] = first
    length[row, k] = last - first + 1
    return start, length


def row_codes(binary: np.ndarray) -> np.ndarray:
    """(N, T, C) bool -> (N, C) int64 row codes: class row ``r`` becomes ``sum_t r[t] * 2**t``.

    Every per-row quantity of the protocol is a function of the (pred, GT) pair of row codes:
    AND of rows is ``&`` of codes, segment counts are bit counts, event counts a table look-up.
    """
    codes = np.zeros((binary.shape[0], binary.shape[2]), dtype=np.int64)
    for t in range(binary.shape[1]):
        codes |= binary[:, t, :].astype(np.int64) << t
    return codes


def segment_counts(pred_codes: np.ndarray, gt_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment-level (TP, FP, FN), each (N, C) int64, from (N, C) ``row_codes`` (section 3.3)."""
    tp = np.bitwise_count(pred_codes & gt_codes).astype(np.int64)
    fp = np.bitwise_count(pred_codes & ~gt_codes).astype(np.int64)
    fn = np.bitwise_count(~pred_codes & gt_codes).astype(np.int64)
    return tp, fp, fn


@functools.lru_cache(maxsize=1)
def event_count_table() -> np.ndarray:
    """(3, 2**T, 2**T) int16: event-level TP, FP, FN of every (pred row, GT row) pair of codes.

    A class row has only 2**10 = 1024 possible values and an event only 55 possible
    intervals, so the matching of all 1024 x 1024 row pairs is three small matrix products
    (computed once per process); scoring is then a look-up by ``row_codes``:

    * ``events`` (1024, 55): row code -> which intervals are its maximal runs (``event_bounds``);
    * ``iou_ok`` (55, 55): interval pairs with IoU >= 0.5 (``|a & b| >= 0.5 |a | b|``, exact);
    * ``matched`` (1024, 55): intervals matched by at least one event of a row;
    * TP[p, g] = events of p matched by g; FN[p, g] = events of g not matched by p;
      FP = events of p - TP.
    """
    n_codes = 2**NUM_SEGMENTS
    codes = np.arange(n_codes, dtype=np.int64)
    rows = ((codes[:, None] >> np.arange(NUM_SEGMENTS)) & 1).astype(bool)  # bit t = segment t
    interval_start, interval_end = np.triu_indices(NUM_SEGMENTS + 1, k=1)  # all [start, end), 55
    interval_index = np.full((NUM_SEGMENTS + 1, NUM_SEGMENTS + 1), -1)
    interval_index[interval_start, interval_end] = np.arange(interval_start.size)

    start, length = event_bounds(rows)  # (1024, 5)
    events = np.zeros((n_codes, interval_start.size), dtype=np.float32)
    code, k = np.nonzero(length)
    events[code, interval_index[start[code, k], start[code, k] + length[code, k]]] = 1

    overlap = np.minimum(interval_end[:, None], interval_end) - np.maximum(interval_start[:, None], interval_start)
    intersection = np.maximum(overlap, 0)
    union = (interval_end - interval_start)[:, None] + (interval_end - interval_start) - intersection
    iou_ok = (intersection >= IOU_THRESHOLD * union).astype(np.float32)

    matched = (events @ iou_ok > 0).astype(np.float32)  # (1024, 55)
    hits = np.rint(events @ matched.T).astype(np.int64)  # hits[p, g] = events of p matched by g
    n_events = np.rint(events.sum(axis=1)).astype(np.int64)
    tp = hits
    fp = n_events[:, None] - hits
    fn = n_events[None, :] - hits.T  # events of g matched by p, subtracted from g's count
    table = np.stack([tp, fp, fn]).astype(np.int16)
    table.flags.writeable = False  # cached and shared: never modified
    return table


def event_counts(pred_codes: np.ndarray, gt_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event-level (TP, FP, FN), each (N, C) int64, from (N, C) ``row_codes`` (section 3.4).

    Looks every (video, class) row pair up in ``event_count_table``.
    """
    flat = pred_codes * (2**NUM_SEGMENTS) + gt_codes
    table = event_count_table().reshape(3, -1)
    return tuple(np.take(table[i], flat).astype(np.int64) for i in range(3))


def f_from_counts(tp, fp, fn, scale: float = 1.0, empty: float = 0.0) -> float:
    """The F-score of pooled counts, ``scale * 2TP / (2TP + FP + FN)``; ``empty`` when there is
    nothing to count (no prediction and no ground truth). The one F-score of the package: the
    official metric's per-class F (:func:`class_f_scores`, vectorised) is the same formula."""
    denominator = 2 * tp + fp + fn
    return scale * 2 * tp / denominator if denominator else empty


def precision_recall_f(tp, fp, fn) -> dict[str, float]:
    """``{"precision", "recall", "f"}`` of pooled counts, each 0.0 where undefined.

    ``f = 2PR / (P + R)``, which equals :func:`f_from_counts` up to rounding; it is kept in this
    form because the teacher-quality and pseudo-label tables were computed with it.
    """
    tp, fp, fn = float(tp), float(fp), float(fn)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f": f}


def class_f_scores(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, kept), each (N, C): ``F = 2TP / (2TP + FP + FN)`` where kept (any pred or GT), else 0."""
    denominator = 2 * tp + fp + fn
    kept = denominator > 0  # TP + FP > 0 or TP + FN > 0
    return (2 * tp) / np.maximum(denominator, 1), kept


def video_scores(f: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """(N,) per-video score from (N, C) ``class_f_scores``: mean F over kept classes, 1.0 if none."""
    n_kept = kept.sum(axis=1)
    # cumsum adds left to right, like the official Python sum(), so both agree bit for bit
    total = np.cumsum(f, axis=1)[:, -1]
    return np.where(n_kept > 0, total / np.maximum(n_kept, 1), 1.0)


# --------------------------------------------------------------------------------------------
# Assembly and public entry points
# --------------------------------------------------------------------------------------------


Counts = tuple[np.ndarray, np.ndarray, np.ndarray]


def _pooled(audio: Counts, visual: Counts) -> Counts:
    """Event@AV counts: audio and visual TP/FP/FN added per class."""
    return tuple(a + v for a, v in zip(audio, visual))


def _per_class(counts: Counts) -> ClassScores:
    f, kept = class_f_scores(*counts)
    videos = kept.sum(axis=0)
    mean_f = np.full(NUM_CLASSES, np.nan)
    np.divide(100.0 * f.sum(axis=0), videos, out=mean_f, where=videos > 0)  # f is 0 where not kept
    return ClassScores(mean_f, videos, *(c.sum(axis=0) for c in counts))


def _assemble(per_video: dict, counts: dict, n_videos: int) -> AVVPScores:
    """Tables and per-class views from per-video scores and (N, C) counts of each level/modality."""
    table: dict[str, dict[str, float]] = {}
    for level in LEVELS:
        scores = per_video[level]
        scores["type"] = (scores["audio"] + scores["visual"] + scores["audio_visual"]) / 3
        mean = {m: 100 * float(np.mean(scores[m])) for m in COUNTED_MODALITIES}
        mean["type"] = (mean["audio_visual"] + mean["audio"] + mean["visual"]) / 3  # official order
        table[level] = {m: mean[m] for m in SCORE_MODALITIES}
    per_class = {level: {m: _per_class(counts[level][m]) for m in COUNTED_MODALITIES} for level in LEVELS}
    per_video = {level: {m: per_video[level][m] for m in SCORE_MODALITIES} for level in LEVELS}
    return AVVPScores(table=table, per_video=per_video, per_class=per_class, n_videos=n_videos)


def _check_inputs(pred_audio, pred_visual, gt_audio, gt_visual) -> tuple[np.ndarray, ...]:
    pred_audio = _as_binary(pred_audio, "pred_audio")
    n_videos = pred_audio.shape[0]
    if n_videos == 0:
        raise MetricInputError("no videos to evaluate (pred_audio has 0 rows)")
    return (
        pred_audio,
        _as_binary(pred_visual, "pred_visual", n_videos),
        _as_binary(gt_audio, "gt_audio", n_videos),
        _as_binary(gt_visual, "gt_visual", n_videos),
    )


def evaluate_predictions(pred_audio, pred_visual, gt_audio, gt_visual) -> AVVPScores:
    """All ten AVVP scores from binary predictions; vectorised over videos.

    pred_audio, pred_visual, gt_audio, gt_visual: (N, 10, 25), bool or 0/1, numpy or torch.
    The audio-visual prediction and GT are the AND of the two modalities.
    """
    pred_a, pred_v, gt_a, gt_v = _check_inputs(pred_audio, pred_visual, gt_audio, gt_visual)
    pred_codes = {"audio": row_codes(pred_a), "visual": row_codes(pred_v)}
    gt_codes = {"audio": row_codes(gt_a), "visual": row_codes(gt_v)}
    pred_codes["audio_visual"] = pred_codes["audio"] & pred_codes["visual"]  # AND of rows
    gt_codes["audio_visual"] = gt_codes["audio"] & gt_codes["visual"]
    counts, per_video = {}, {}
    for level, count in (("segment", segment_counts), ("event", event_counts)):
        counts[level] = {m: count(pred_codes[m], gt_codes[m]) for m in pred_codes}
        counts[level]["event"] = _pooled(counts[level]["audio"], counts[level]["visual"])
        per_video[level] = {m: video_scores(*class_f_scores(*c)) for m, c in counts[level].items()}
    return _assemble(per_video, counts, pred_a.shape[0])


def evaluate_probs(frame_prob, video_prob, gt_audio, gt_visual, threshold: float = THRESHOLD) -> AVVPScores:
    """Scores of probabilities: frame_prob (N, 10, 2, 25), video_prob (N, 25), GT (N, 10, 25) bool.

    Gates the frame predictions by the predicted video label (``binarize_predictions``), then
    ``evaluate_predictions``.
    """
    pred_audio, pred_visual = binarize_predictions(frame_prob, video_prob, threshold)
    return evaluate_predictions(pred_audio, pred_visual, gt_audio, gt_visual)


# --------------------------------------------------------------------------------------------
# The same protocol as plain per-video Python (teaching version and cross-check)
# --------------------------------------------------------------------------------------------


def extract_events(row) -> list[tuple[int, int]]:
    """Maximal runs of 1s in a 0/1 sequence, as (start, end) pairs with ``end`` exclusive."""
    events, start = [], None
    for t, active in enumerate(list(row) + [0]):
        if active and start is None:
            start = t
        elif not active and start is not None:
            events.append((start, t))
            start = None
    return events


def event_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """IoU of two (start, end) events, in segments."""
    intersection = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - intersection
    return intersection / union


def match_events(pred_events, gt_events) -> tuple[int, int, int]:
    """(TP, FP, FN) of one class row: IoU >= 0.5 with any event of the other side (no 1-to-1)."""
    tp = sum(1 for p in pred_events if any(event_iou(p, g) >= IOU_THRESHOLD for g in gt_events))
    fp = len(pred_events) - tp
    fn = sum(1 for g in gt_events if not any(event_iou(p, g) >= IOU_THRESHOLD for p in pred_events))
    return tp, fp, fn


def _segment_row_counts(pred_row, gt_row) -> tuple[int, int, int]:
    tp = sum(1 for p, g in zip(pred_row, gt_row) if p and g)
    fp = sum(1 for p, g in zip(pred_row, gt_row) if p and not g)
    fn = sum(1 for p, g in zip(pred_row, gt_row) if g and not p)
    return tp, fp, fn


def _event_row_counts(pred_row, gt_row) -> tuple[int, int, int]:
    return match_events(extract_events(pred_row), extract_events(gt_row))


def f_score_of_video(class_counts) -> float:
    """Mean F over the classes with any prediction or GT; 1.0 if there is none ("all true negatives")."""
    f_scores = [2 * tp / (2 * tp + fp + fn) for tp, fp, fn in class_counts if tp + fp > 0 or tp + fn > 0]
    return sum(f_scores) / len(f_scores) if f_scores else 1.0


def evaluate_predictions_loop(pred_audio, pred_visual, gt_audio, gt_visual) -> AVVPScores:
    """``evaluate_predictions`` written as a loop over videos and classes (slow; same numbers)."""
    pred_a, pred_v, gt_a, gt_v = _check_inputs(pred_audio, pred_visual, gt_audio, gt_visual)
    n_videos = pred_a.shape[0]
    per_video = {level: {m: np.zeros(n_videos) for m in COUNTED_MODALITIES} for level in LEVELS}
    counts = {
        level: {m: np.zeros((3, n_videos, NUM_CLASSES), dtype=np.int64) for m in COUNTED_MODALITIES} for level in LEVELS
    }
    for n in range(n_videos):
        # class x segment matrices, as the official code holds them
        predicted = {"audio": pred_a[n].T, "visual": pred_v[n].T, "audio_visual": (pred_a[n] & pred_v[n]).T}
        truth = {"audio": gt_a[n].T, "visual": gt_v[n].T, "audio_visual": (gt_a[n] & gt_v[n]).T}
        predicted = {m: rows.tolist() for m, rows in predicted.items()}
        truth = {m: rows.tolist() for m, rows in truth.items()}
        for level, row_counts in (("segment", _segment_row_counts), ("event", _event_row_counts)):
            video = {m: [row_counts(predicted[m][c], truth[m][c]) for c in range(NUM_CLASSES)] for m in predicted}
            video["event"] = [
                (ta + tv, fa + fv, na + nv) for (ta, fa, na), (tv, fv, nv) in zip(video["audio"], video["visual"])
            ]
            for m, class_counts in video.items():
                per_video[level][m][n] = f_score_of_video(class_counts)
                counts[level][m][:, n, :] = np.array(class_counts).T
    counts = {level: {m: tuple(c) for m, c in by_m.items()} for level, by_m in counts.items()}
    return _assemble(per_video, counts, n_videos)
