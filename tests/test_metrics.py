"""linkpaper.evaluation.metrics: the official AVVP protocol, vectorised path == per-video loop, and the
sanity numbers of book/decisions.md#ref-metric on the real LLP CSVs."""

import itertools
import math

import numpy as np
import pytest
import torch

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.errors import UserError
from linkpaper.evaluation.metrics import (
    SCORE_COLUMNS,
    MetricInputError,
    binarize_predictions,
    evaluate_predictions,
    evaluate_predictions_loop,
    evaluate_probs,
    event_bounds,
    event_count_table,
    event_counts,
    extract_events,
    match_events,
    row_codes,
)

ALL_ROWS = np.array(list(itertools.product([0, 1], repeat=NUM_SEGMENTS)), dtype=bool)  # (1024, 10)


def brute_force_events(row) -> list[tuple[int, int]]:
    """Every [s, e) that is all ones and cannot be extended on either side."""
    n = len(row)
    return [
        (s, e)
        for s in range(n)
        for e in range(s + 1, n + 1)
        if all(row[s:e]) and (s == 0 or not row[s - 1]) and (e == n or not row[e])
    ]


def one_class(rows_pred, rows_gt, class_index=3):
    """(1, T, C) pred and gt with one class row set, everything else empty."""
    pred = np.zeros((1, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    gt = np.zeros_like(pred)
    pred[0, :, class_index] = rows_pred
    gt[0, :, class_index] = rows_gt
    return pred, gt


def row(*intervals):
    r = np.zeros(NUM_SEGMENTS, dtype=bool)
    for s, e in intervals:
        r[s:e] = True
    return r


def random_pairs(n_videos, seed):
    """Sparse random GT and noisy predictions: a few active classes per video, some runs."""
    rng = np.random.default_rng(seed)
    shape = (n_videos, NUM_SEGMENTS, NUM_CLASSES)
    active = rng.random((n_videos, 1, NUM_CLASSES)) < 0.12
    density = rng.random((n_videos, 1, NUM_CLASSES))
    gt_a = active & (rng.random(shape) < density)
    gt_v = active & (rng.random(shape) < density) & (rng.random((n_videos, 1, NUM_CLASSES)) < 0.7)
    flip = rng.random((n_videos, 1, 1)) * 0.3  # per-video noise level, 0 = oracle
    pred_a = gt_a ^ (rng.random(shape) < flip) & (active | (rng.random(shape) < 0.02))
    pred_v = gt_v ^ (rng.random(shape) < flip) & (active | (rng.random(shape) < 0.02))
    return pred_a, pred_v, gt_a, gt_v


# ------------------------------------------------------------------------------------------
# Event extraction and matching
# ------------------------------------------------------------------------------------------


def test_event_extraction_on_all_1024_sequences():
    start, length = event_bounds(ALL_ROWS)
    assert start.shape == (1024, 5)  # at most 5 maximal runs in 10 segments
    for r, values in enumerate(ALL_ROWS):
        expected = brute_force_events(values.tolist())
        assert extract_events(values.tolist()) == expected
        fast = [(int(s), int(s + n)) for s, n in zip(start[r], length[r]) if n > 0]
        assert fast == expected
        assert (length[r] > 0).tolist() == [True] * len(expected) + [False] * (5 - len(expected))


def test_event_table_agrees_with_the_loop_matching_on_random_row_pairs():
    table = event_count_table()
    assert table.shape == (3, 1024, 1024)
    rng = np.random.default_rng(0)
    for p, g in rng.integers(0, 1024, size=(4000, 2)):
        expected = match_events(extract_events(ALL_ROWS_BY_CODE[p]), extract_events(ALL_ROWS_BY_CODE[g]))
        assert tuple(table[:, p, g]) == expected


ALL_ROWS_BY_CODE = [[(code >> t) & 1 for t in range(NUM_SEGMENTS)] for code in range(1024)]


@pytest.mark.parametrize(
    "pred, gt, expected",
    [
        (row((0, 3)), row((3, 6)), (0, 1, 1)),  # touching, no overlap
        (row((0, 2)), row((0, 4)), (1, 0, 0)),  # IoU exactly 0.5 counts
        (row((0, 1)), row((0, 2)), (1, 0, 0)),  # 1 vs 2 segments: IoU 0.5
        (row((0, 1)), row((0, 3)), (0, 1, 1)),  # 1 vs 3 segments: IoU 1/3
        (row((0, 3)), row((1, 4)), (1, 0, 0)),  # 2 / 4 = 0.5
        (row((0, 2)), row((1, 3)), (0, 1, 1)),  # 1 / 3
        (row((0, 4)), row((0, 2), (3, 4)), (1, 0, 1)),  # one pred event, one GT event unmatched
        (row((0, 2), (3, 5)), row((0, 5)), (0, 2, 1)),  # 2/5 each: nothing matches
        (row((0, 10)), row((0, 5)), (1, 0, 0)),
        (row((0, 10)), row((0, 4)), (0, 1, 1)),
        (row(), row((2, 4), (6, 7)), (0, 0, 2)),
        (row((2, 4), (6, 7)), row(), (0, 2, 0)),
    ],
)
def test_iou_edge_cases(pred, gt, expected):
    assert match_events(extract_events(pred.tolist()), extract_events(gt.tolist())) == expected
    p, g = one_class(pred, gt)
    tp, fp, fn = event_counts(row_codes(p), row_codes(g))
    assert (int(tp[0, 3]), int(fp[0, 3]), int(fn[0, 3])) == expected
    assert tp.sum() + fp.sum() + fn.sum() == sum(expected)  # other classes stay empty


# ------------------------------------------------------------------------------------------
# Per-video scores
# ------------------------------------------------------------------------------------------


def test_empty_video_scores_one_and_one_miss_scores_zero():
    empty = np.zeros((2, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    gt = empty.copy()
    gt[1, 0:3, 5] = True  # video 1 has one audio event, nothing predicted
    scores = evaluate_predictions(empty, empty, gt, empty)
    for level in ("segment", "event"):
        assert scores.per_video[level]["audio"].tolist() == [1.0, 0.0]
        assert scores.per_video[level]["visual"].tolist() == [1.0, 1.0]
        assert scores.per_video[level]["audio_visual"].tolist() == [1.0, 1.0]
        assert scores.per_video[level]["event"].tolist() == [1.0, 0.0]
        assert scores.table[level]["audio"] == pytest.approx(50.0)
        assert scores.table[level]["type"] == pytest.approx((50 + 100 + 100) / 3)


def test_keep_rule_and_f_over_kept_classes_only():
    pred, gt = one_class(row((0, 4)), row((0, 2)), class_index=0)  # segment: TP 2, FP 2 -> F 2/3
    pred[0, 5:7, 1] = True
    gt[0, 5:7, 1] = True  # class 1 perfect
    scores = evaluate_predictions(pred, pred, gt, gt)
    assert scores.per_video["segment"]["audio"][0] == pytest.approx((4 / 6 + 1.0) / 2)
    assert scores.per_video["event"]["audio"][0] == pytest.approx((1.0 + 1.0) / 2)  # IoU 0.5 matches
    seg = scores.per_class["segment"]["audio"]
    assert seg.videos[:3].tolist() == [1, 1, 0] and np.isnan(seg.f[2])
    assert seg.f[:2] == pytest.approx([100 * 4 / 6, 100.0])
    assert (seg.tp[:2].tolist(), seg.fp[:2].tolist(), seg.fn[:2].tolist()) == ([2, 2], [2, 0], [0, 0])


def test_event_av_pools_counts_instead_of_averaging():
    pred_a, gt_a = one_class(row((0, 4)), row((0, 4)))  # audio: 4 TP
    pred_v, gt_v = one_class(row((0, 1)), row())  # visual: 1 FP
    scores = evaluate_predictions(pred_a, pred_v, gt_a, gt_v)
    assert scores.per_video["segment"]["audio"][0] == 1.0
    assert scores.per_video["segment"]["visual"][0] == 0.0
    assert scores.per_video["segment"]["event"][0] == pytest.approx(8 / 9)  # 2*4 / (2*4 + 1)
    assert scores.per_video["event"]["event"][0] == pytest.approx(2 / 3)  # 1 TP + 1 FP events
    assert scores.per_video["segment"]["audio_visual"][0] == 0.0  # AV pred on segment 0, no AV GT
    assert scores.per_video["segment"]["type"][0] == pytest.approx((1.0 + 0.0 + 0.0) / 3)


def test_fast_path_equals_the_loop_on_random_pairs():
    pred_a, pred_v, gt_a, gt_v = random_pairs(3000, seed=1)
    fast = evaluate_predictions(pred_a, pred_v, gt_a, gt_v)
    loop = evaluate_predictions_loop(pred_a, pred_v, gt_a, gt_v)
    assert fast.row() == loop.row()
    for level, modality in SCORE_COLUMNS:
        assert np.array_equal(fast.per_video[level][modality], loop.per_video[level][modality])
    for level in fast.per_class:
        for modality, ours in fast.per_class[level].items():
            theirs = loop.per_class[level][modality]
            for name in ("videos", "tp", "fp", "fn"):
                assert np.array_equal(getattr(ours, name), getattr(theirs, name))
            np.testing.assert_array_equal(ours.f, theirs.f)
    # the random pairs exercise every case: perfect, empty, partially right videos
    seg_a = fast.per_video["segment"]["audio"]
    assert (seg_a == 1.0).any() and (seg_a == 0.0).any() and ((seg_a > 0) & (seg_a < 1)).sum() > 500


def test_row_layout_and_type_column():
    pred_a, pred_v, gt_a, gt_v = random_pairs(200, seed=2)
    scores = evaluate_predictions(pred_a, pred_v, gt_a, gt_v)
    assert len(SCORE_COLUMNS) == 10 and SCORE_COLUMNS[3] == ("segment", "type")
    assert SCORE_COLUMNS[9] == ("event", "event")
    assert scores.row() == [scores.table[level][m] for level, m in SCORE_COLUMNS]
    for level in ("segment", "event"):
        t = scores.table[level]
        assert t["type"] == pytest.approx((t["audio"] + t["visual"] + t["audio_visual"]) / 3, abs=1e-12)
        assert t["audio"] == pytest.approx(100 * scores.per_video[level]["audio"].mean())
    text = scores.format_table("my run")
    assert text.splitlines()[0] == "my run" and "Type@AV" in text and "Event@AV" in text
    assert f"{scores.table['event']['visual']:.2f}" in text and "200 videos" in text


# ------------------------------------------------------------------------------------------
# Prediction gating and input checks
# ------------------------------------------------------------------------------------------


def test_binarize_gates_frames_by_the_video_prediction_inclusively():
    frame = np.zeros((1, NUM_SEGMENTS, 2, NUM_CLASSES), dtype=np.float32)
    video = np.zeros((1, NUM_CLASSES), dtype=np.float32)
    frame[0, 2, 0, 1] = 0.5  # audio, class 1: exactly the threshold
    frame[0, 3, 1, 1] = 0.49  # visual below
    frame[0, 4, 0, 2] = 0.9  # class 2: video prob below 0.5 -> gated off
    video[0, 1], video[0, 2] = 0.5, 0.4999
    pred_a, pred_v = binarize_predictions(frame, video)
    assert pred_a.dtype == bool and pred_a.shape == (1, NUM_SEGMENTS, NUM_CLASSES)
    assert np.argwhere(pred_a).tolist() == [[0, 2, 1]]
    assert not pred_v.any()


def test_torch_inputs_give_the_same_scores():
    rng = np.random.default_rng(3)
    frame = rng.random((50, NUM_SEGMENTS, 2, NUM_CLASSES)).astype(np.float32)
    video = rng.random((50, NUM_CLASSES)).astype(np.float32)
    gt_a = rng.random((50, NUM_SEGMENTS, NUM_CLASSES)) < 0.1
    gt_v = rng.random((50, NUM_SEGMENTS, NUM_CLASSES)) < 0.1
    ours = evaluate_probs(frame, video, gt_a, gt_v)
    theirs = evaluate_probs(
        torch.from_numpy(frame), torch.from_numpy(video), torch.from_numpy(gt_a), gt_v.astype(np.int64)
    )
    assert ours.row() == theirs.row()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: {**a, "pred_audio": a["pred_audio"][:, :9]}, "pred_audio has shape (4, 9, 25)"),
        (lambda a: {**a, "gt_visual": a["gt_visual"][:3]}, "gt_visual has 3 videos; expected 4"),
        (lambda a: {**a, "gt_audio": a["gt_audio"] + 2.0}, "gt_audio holds values other than 0 and 1"),
        (lambda a: {**a, "pred_visual": a["pred_visual"].astype(str)}, "pred_visual has dtype <U5"),
        (lambda a: {k: v[:0] for k, v in a.items()}, "no videos to evaluate"),
    ],
)
def test_bad_binary_inputs_raise_clear_user_errors(change, message):
    zeros = np.zeros((4, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    arrays = change({"pred_audio": zeros, "pred_visual": zeros, "gt_audio": zeros, "gt_visual": zeros})
    with pytest.raises(MetricInputError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        evaluate_predictions(**arrays)
    assert isinstance(info.value, UserError)


@pytest.mark.parametrize(
    "frame_value, video_value, message",
    [
        (np.nan, 0.5, "frame_prob holds 1 NaN or infinite"),
        (1.5, 0.5, r"frame_prob has values in \[0, 1.5\]"),
        (0.5, -0.1, r"video_prob has values in \[-0.1, 0\]"),
    ],
)
def test_bad_probabilities_raise_clear_user_errors(frame_value, video_value, message):
    frame = np.zeros((2, NUM_SEGMENTS, 2, NUM_CLASSES))
    video = np.zeros((2, NUM_CLASSES))
    frame[0, 0, 0, 0] = frame_value
    video[1, 3] = video_value
    with pytest.raises(UserError, match=message):
        binarize_predictions(frame, video)
    with pytest.raises(UserError, match=r"frame_prob has shape \(2, 10, 25\)"):
        binarize_predictions(frame[:, :, 0], video)


# ------------------------------------------------------------------------------------------
# Sanity numbers on the real LLP CSVs (book/decisions.md#ref-metric)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llp_gt(llp_data_dir):
    root = llp_data_dir
    from linkpaper.data.annotations import load_annotations

    return {split: load_annotations(split, root) for split in ("val", "test")}


REFERENCE = {
    ("val", "nothing"): [0.62, 10.79, 14.33, 8.58, 0.00] * 2,
    ("test", "nothing"): [0.50, 10.08, 14.50, 8.36, 0.00] * 2,
    ("val", "weak"): [77.07, 58.65, 52.07, 62.60, 71.53, 63.85, 53.48, 44.15, 53.82, 61.12],
    ("test", "weak"): [76.12, 60.35, 52.61, 63.03, 71.73, 63.03, 55.75, 44.69, 54.49, 61.60],
    ("val", "oracle"): [100.0] * 10,
    ("test", "oracle"): [100.0] * 10,
}


@pytest.mark.parametrize("split, predictor", sorted(REFERENCE))
def test_reference_sanity_numbers_on_real_csvs(llp_gt, split, predictor):
    a = llp_gt[split]
    if predictor == "oracle":
        pred_a, pred_v = a.gt_audio, a.gt_visual
    elif predictor == "nothing":
        pred_a = pred_v = np.zeros_like(a.gt_audio)
    else:  # every GT weak-label class, both modalities, all ten segments (leaks GT)
        pred_a = pred_v = np.broadcast_to(a.weak.astype(bool)[:, None, :], a.gt_audio.shape)
    scores = evaluate_predictions(pred_a, pred_v, a.gt_audio, a.gt_visual)
    assert [round(x, 2) for x in scores.row()] == REFERENCE[split, predictor]


def test_one_f_score_for_pooled_counts():
    from linkpaper.evaluation.metrics import f_from_counts, precision_recall_f

    assert f_from_counts(3, 1, 2) == 6 / 9 and f_from_counts(0, 0, 0) == 0.0
    assert math.isnan(f_from_counts(0, 0, 0, scale=100.0, empty=float("nan")))
    prf = precision_recall_f(3, 1, 2)
    assert prf["precision"] == 0.75 and prf["recall"] == 0.6 and abs(prf["f"] - 6 / 9) < 1e-15
    assert precision_recall_f(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f": 0.0}
