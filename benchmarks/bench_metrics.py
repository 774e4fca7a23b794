"""Speed of the vectorised AVVP metric on the 1200-video test split, against the per-video loop.

    LINKPAPER_DATA=/path/to/data python benchmarks/bench_metrics.py [--repeats 15] [--seed 0]

Writes a predictions file of seeded random probabilities for every test video (the hardest case
for the metric: many predicted events in every class), then prints the median wall time
(``time.perf_counter``) of

* scoring only: ``evaluate_probs`` with the ground truth already in memory;
* the whole ``python -m linkpaper evaluate`` path: read the CSVs and build the dense GT, read and
  align the predictions file, score;
* ``evaluate_predictions_loop``: the same protocol as plain per-video Python (the official
  implementation is a similar loop and takes about 2.5 s on this split);

and checks that the fast path and the loop give identical numbers (all ten scores and every
per-video score, bit for bit). Target: scoring < 0.05 s. Everything runs on one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import load_annotations
from linkpaper.evaluation.metrics import (
    SCORE_COLUMNS,
    binarize_predictions,
    evaluate_predictions_loop,
    evaluate_probs,
    event_count_table,
)
from linkpaper.evaluation.predictions import load_predictions, save_predictions

OFFICIAL_LOOP_SECONDS = 2.5  # the official per-video implementation on the test split (issue figure)


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats of the fast path (median)")
    parser.add_argument("--loop-repeats", type=int, default=3, help="timed repeats of the loop (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    annotations = load_annotations("test", args.data_dir)
    n_videos = len(annotations.filenames)
    rng = np.random.default_rng(args.seed)
    frame_prob = rng.random((n_videos, NUM_SEGMENTS, 2, NUM_CLASSES), dtype=np.float32)
    video_prob = rng.random((n_videos, NUM_CLASSES), dtype=np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        path = save_predictions(Path(tmp) / "random_test.npz", annotations.filenames, frame_prob, video_prob)
        print(f"predictions: {n_videos} test videos, seed {args.seed}, {path.stat().st_size / 1e6:.1f} MB")
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}, numpy {np.__version__}, one thread"
        )

        start = time.perf_counter()
        event_count_table()  # built once per process, then cached
        table_seconds = time.perf_counter() - start

        gt_audio, gt_visual = annotations.gt_audio, annotations.gt_visual
        score = median_seconds(lambda: evaluate_probs(frame_prob, video_prob, gt_audio, gt_visual), args.repeats)

        def whole_command():
            ann = load_annotations("test", args.data_dir)
            aligned = load_predictions(path).aligned_to(ann.filenames, split="test")
            return evaluate_probs(aligned.frame_prob, aligned.video_prob, ann.gt_audio, ann.gt_visual)

        whole = median_seconds(whole_command, args.repeats)
        fast = whole_command()

    pred_audio, pred_visual = binarize_predictions(frame_prob, video_prob)
    loop_scores = None

    def run_loop():
        nonlocal loop_scores
        loop_scores = evaluate_predictions_loop(pred_audio, pred_visual, gt_audio, gt_visual)

    loop = median_seconds(run_loop, args.loop_repeats)

    identical = fast.row() == loop_scores.row() and all(
        np.array_equal(fast.per_video[level][m], loop_scores.per_video[level][m]) for level, m in SCORE_COLUMNS
    )
    print(f"event-count table (once per process):        {table_seconds:8.4f} s")
    print(f"score only (GT in memory), median of {args.repeats:>2}:    {score:8.4f} s")
    print(f"read CSVs + build GT + read file + score:     {whole:8.4f} s")
    print(f"per-video loop, median of {args.loop_repeats:>2}:               {loop:8.4f} s")
    print(
        f"speed-up of scoring: {loop / score:.0f}x over the loop here, "
        f"{OFFICIAL_LOOP_SECONDS / score:.0f}x over the official ~{OFFICIAL_LOOP_SECONDS} s"
    )
    print(fast.format_table("random probabilities on test (fast path)"))
    print(f"fast path == loop (ten scores and all per-video scores, exact): {identical}")
    assert identical, "the vectorised metric and the loop disagree"


if __name__ == "__main__":
    main()
