"""Scores from a run's predictions (chapters 8 and 10).

:func:`segment_alignment` (does a segment's audio label set equal its visual label set?),
:func:`masked_segment_scores` (segment-level F restricted to a kind of segment),
:func:`cross_modal_error_rows` (errors that copy the other modality's labels) and
:func:`example_videos` (which test videos show a difference).

Shapes: N videos, T = 10 segments, C = 25 classes; predictions and ground truth are (N, T, C)
bool. F-scores are percentages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from linkpaper.errors import UserError
from linkpaper.evaluation.inference import is_active
from linkpaper.evaluation.metrics import f_from_counts

SEGMENT_KINDS = ("empty", "aligned", "non-aligned")
EMPTY, ALIGNED, NON_ALIGNED = range(3)
MASKED_MODALITIES = ("audio", "visual", "audio_visual", "event")


def load_run_predictions(run_dir: str | Path, filenames: list[str], split: str = "test") -> tuple:
    """(pred_audio, pred_visual), each (N, T, C) bool, of a run's saved test predictions.

    Reads ``run_dir/test_predictions.npz``, or else ``test_decisions.npz`` (the gated 0/1
    decisions that ``scripts/collect_results.py`` stores for every run), reorders it to
    ``filenames`` (the annotation order) and applies the official gating
    (``metrics.binarize_predictions``; a no-op on decisions).
    """
    from linkpaper.evaluation.metrics import binarize_predictions
    from linkpaper.evaluation.predictions import load_predictions
    from linkpaper.training.runs import DECISIONS_FILE, PREDICTIONS_FILE

    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file() and (Path(run_dir) / DECISIONS_FILE).is_file():
        path = Path(run_dir) / DECISIONS_FILE
    predictions = load_predictions(path).aligned_to(list(filenames), split)
    return binarize_predictions(predictions.frame_prob, predictions.video_prob)


def cross_modal_errors(predictions: dict, gt_audio, gt_visual):
    """Segment-level errors of each model, split by what the *other* modality's ground truth says.

    predictions: {name: (pred_audio, pred_visual)}, each (N, T, C) bool (gated decisions);
    gt_audio, gt_visual: (N, T, C). Counts over all (video, segment, class) cells:
    ``visual FP, heard`` (predicted visible where the class is heard but not seen: the audio
    leaking into the visual stream), ``visual FP, neither``, ``visual FN``, and the mirror
    counts for audio (``audio FP, seen`` ...). Returns a pandas frame, one row per model.
    """
    import pandas as pd

    gt_a, gt_v = np.asarray(gt_audio, bool), np.asarray(gt_visual, bool)
    rows = {}
    for name, (pred_a, pred_v) in predictions.items():
        pred_a, pred_v = np.asarray(pred_a, bool), np.asarray(pred_v, bool)
        rows[name] = {
            "visual TP": int((pred_v & gt_v).sum()),
            "visual FP, heard": int((pred_v & ~gt_v & gt_a).sum()),
            "visual FP, neither": int((pred_v & ~gt_v & ~gt_a).sum()),
            "visual FN": int((~pred_v & gt_v).sum()),
            "audio TP": int((pred_a & gt_a).sum()),
            "audio FP, seen": int((pred_a & ~gt_a & gt_v).sum()),
            "audio FP, neither": int((pred_a & ~gt_a & ~gt_v).sum()),
            "audio FN": int((~pred_a & gt_a).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def cross_modal_error_rows(measured: list[dict], test):
    """:func:`cross_modal_errors` of every measured variant, averaged over its seeds' runs.

    measured: :func:`measured_rows` whose run folders hold test predictions or decisions;
    test: the test annotations. One row per variant (its ``model`` name), counts averaged over
    the seeds, plus the number of seeds ``n``.
    """
    import pandas as pd

    rows = {}
    for row in measured:
        per_run = [
            cross_modal_errors({"run": load_run_predictions(run, test.filenames)}, test.gt_audio, test.gt_visual).loc[
                "run"
            ]
            for run in row["runs"]
        ]
        mean = pd.concat(per_run, axis=1).mean(axis=1)
        mean["n"] = len(per_run)
        rows[row["model"]] = mean
    return pd.DataFrame.from_dict(rows, orient="index")


def target_group_shares(pl_audio, pl_visual) -> dict:
    """Share of all (video, audio segment i, visual segment j) pairs in each S-LOSS target group.

    pl_audio, pl_visual: (N, T, C) labels (>= 0.5 is active). Groups as in
    ``linkpaper.losses.alignment_diagnostics``: ``same`` (IoU 1), ``overlap`` (0 < IoU < 1),
    ``disjoint`` (IoU 0, not both empty), ``empty`` (no class on either side). Also the mean
    IoU target over all pairs (``mean target``).
    """
    import torch

    from linkpaper.losses import iou_targets

    a = torch.as_tensor(is_active(np.asarray(pl_audio)))
    v = torch.as_tensor(is_active(np.asarray(pl_visual)))
    r = iou_targets(a.float(), v.float())
    empty = ~a.any(-1).unsqueeze(2) & ~v.any(-1).unsqueeze(1)
    total = r.numel()
    return {
        "same": float((r == 1).sum()) / total,
        "overlap": float(((r > 0) & (r < 1)).sum()) / total,
        "disjoint": float(((r == 0) & ~empty).sum()) / total,
        "empty": float(empty.sum()) / total,
        "mean target": float(r.mean()),
    }


def segment_alignment(gt_audio, gt_visual) -> np.ndarray:
    """(N, T) int8 kind of every segment: ``EMPTY`` (no event heard or seen), ``ALIGNED`` (the
    classes heard are exactly the classes seen) or ``NON_ALIGNED`` (they differ, e.g. a narrator
    heard but not seen). Names in ``SEGMENT_KINDS``; LINK's motivation is the last kind."""
    gt_audio, gt_visual = np.asarray(gt_audio, dtype=bool), np.asarray(gt_visual, dtype=bool)
    if gt_audio.shape != gt_visual.shape or gt_audio.ndim != 3:
        raise UserError(f"ground truth shapes {gt_audio.shape} and {gt_visual.shape}: expected two equal (N, T, C)")
    same = (gt_audio == gt_visual).all(axis=2)
    empty = ~(gt_audio | gt_visual).any(axis=2)
    kind = np.full(gt_audio.shape[:2], NON_ALIGNED, dtype=np.int8)
    kind[same] = ALIGNED
    kind[empty] = EMPTY
    return kind


def masked_segment_scores(pred_audio, pred_visual, gt_audio, gt_visual, mask) -> dict:
    """Segment-level F restricted to the (video, segment) cells where ``mask`` (N, T) is True.

    Counts TP / FP / FN over every class of the selected segments, pooled (micro) over videos:
    ``F = 2TP / (2TP + FP + FN)`` in percent (NaN when there is nothing to count). Modalities:
    audio, visual, audio_visual (AND of both, for prediction and ground truth) and event
    (audio and visual counts added, as Event@AV). Returns ``{modality: {"tp", "fp", "fn",
    "f"}}`` and ``"segments"``: the number of selected segments. Unlike the official metric
    (a mean over videos of per-video F) this pools counts, since a kind of segment covers
    only part of a video.
    """
    arrays = [np.asarray(a, dtype=bool) for a in (pred_audio, pred_visual, gt_audio, gt_visual)]
    mask = np.asarray(mask, dtype=bool)
    if any(a.shape != arrays[0].shape for a in arrays) or mask.shape != arrays[0].shape[:2]:
        raise UserError(f"shapes {[a.shape for a in arrays]} and mask {mask.shape}: expected (N, T, C) x4 and (N, T)")
    pa, pv, ga, gv = (a[mask] for a in arrays)  # (M, C)
    pairs = {"audio": (pa, ga), "visual": (pv, gv), "audio_visual": (pa & pv, ga & gv)}
    result: dict = {}
    for m, (p, g) in pairs.items():
        result[m] = {"tp": int((p & g).sum()), "fp": int((p & ~g).sum()), "fn": int((~p & g).sum())}
    result["event"] = {k: result["audio"][k] + result["visual"][k] for k in ("tp", "fp", "fn")}
    for counts in (result[m] for m in MASKED_MODALITIES):
        counts["f"] = f_from_counts(counts["tp"], counts["fp"], counts["fn"], scale=100.0, empty=float("nan"))
    result["segments"] = int(mask.sum())
    return result


def example_videos(
    per_video_a: np.ndarray, per_video_b: np.ndarray, count: int = 3, eligible: np.ndarray | None = None
) -> list[tuple[int, str]]:
    """Indices of test videos worth plotting, comparing two models' per-video scores (N,).

    Returns ``count`` (index, why) pairs, deterministic (ties go to the lower index): the
    largest gain of b over a, the largest loss, then the videos closest to the median
    difference. Pass e.g. ``scores.per_video["segment"]["type"]`` of each model. ``eligible``
    (N,) bool restricts the choice (e.g. videos with several classes and a non-aligned
    segment); by default every video is eligible.
    """
    a, b = np.asarray(per_video_a, dtype=float), np.asarray(per_video_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise UserError(f"per-video scores of shapes {a.shape} and {b.shape}: expected two equal (N,)")
    allowed = np.ones(len(a), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    if allowed.shape != a.shape or not allowed.any():
        raise UserError(
            f"eligible has shape {allowed.shape} and {int(allowed.sum())} video(s); expected {a.shape} with one or more"
        )
    candidates = np.nonzero(allowed)[0]
    diff = (b - a)[candidates]
    picks = [(int(candidates[np.argmax(diff)]), "largest gain"), (int(candidates[np.argmin(diff)]), "largest loss")]
    order = np.argsort(np.abs(diff - np.median(diff)), kind="stable")
    for index in candidates[order]:
        if len(picks) >= count:
            break
        if int(index) not in {p for p, _ in picks}:
            picks.append((int(index), "typical"))
    return picks[:count]
