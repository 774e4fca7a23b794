"""Copy the small part of a grid's run folders into ``results/`` (the book's results store).

    python scripts/collect_results.py runs/grid_small results/synth_small_grid \
        --predictions valorpp/seed87 link/seed87

For every ``<variant>/seed<k>/results.json`` under SRC (complete runs only) it copies the
run record, plus ``summary.json`` / ``summary.md``; checkpoints are never copied. For every
complete run with test predictions it also writes ``test_decisions.npz``: a predictions file
whose probabilities are the run's gated 0/1 decisions (frame >= 0.5 AND video >= 0.5, with every
video probability 1), a few tens of kB, which scores exactly the record's ten numbers (checked
here) and gives the per-video scores the paired bootstrap of ``linkpaper.gains`` needs. For the runs
named by ``--predictions`` it also stores the test predictions, at float16 precision to keep
the repository small: every value keeps its side of the 0.5 threshold, so the file scores
exactly the ten numbers of the run record (checked here before writing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkpaper.data.annotations import load_annotations  # noqa: E402
from linkpaper.gains import DECISIONS_FILE  # noqa: E402
from linkpaper.metrics import binarize_predictions, evaluate_probs  # noqa: E402
from linkpaper.predictions import load_predictions, save_predictions  # noqa: E402


def quantise_keeping_threshold(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """float16 copy of ``prob`` in which no value crosses ``threshold`` (decisions unchanged)."""
    low = prob.astype(np.float16)
    above, low_above = prob >= threshold, low >= threshold
    low[above & ~low_above] = np.float16(threshold)
    low[~above & low_above] = np.nextafter(np.float16(threshold), np.float16(0))
    return low


def write_decisions(source: Path, target: Path, record: dict, test) -> None:
    """``target``: the gated 0/1 decisions of the predictions in ``source``, checked to score the
    record's test row exactly."""
    predictions = load_predictions(source).aligned_to(test.filenames, "test")
    audio, visual = binarize_predictions(predictions.frame_prob, predictions.video_prob)
    decisions = np.stack([audio, visual], axis=2)  # (N, T, 2, C)
    ones = np.ones(predictions.video_prob.shape, dtype=np.float32)
    scores = evaluate_probs(decisions.astype(np.float32), ones, test.gt_audio, test.gt_visual)
    if scores.row() != record["test_row"]:
        raise SystemExit(f"{source}: the decisions do not reproduce the record's test scores")
    save_predictions(target, test.filenames, decisions.astype(np.float32), ones)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--predictions", nargs="*", default=[], help="run folders (relative to SRC) whose test predictions to keep")
    args = parser.parse_args()

    copied = decided = 0
    test = None
    for record_path in sorted(args.src.glob("*/seed*/results.json")):
        record = json.loads(record_path.read_text())
        if not record.get("complete"):
            print(f"skip (incomplete): {record_path}")
            continue
        target = args.dst / record_path.relative_to(args.src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(record_path, target)
        copied += 1
        source = record_path.parent / "test_predictions.npz"
        if source.is_file():
            if test is None:
                test = load_annotations("test")
            write_decisions(source, target.parent / DECISIONS_FILE, record, test)
            decided += 1
    for name in ("summary.json", "summary.md"):
        if (args.src / name).is_file():
            shutil.copyfile(args.src / name, args.dst / name)

    for run in args.predictions:
        source = args.src / run / "test_predictions.npz"
        record = json.loads((args.src / run / "results.json").read_text())
        predictions = load_predictions(source)
        frame16 = quantise_keeping_threshold(predictions.frame_prob)
        video16 = quantise_keeping_threshold(predictions.video_prob)
        if test is None:
            test = load_annotations("test")
        order = [test.filenames.index(name) for name in predictions.filenames]
        scores = evaluate_probs(frame16, video16, test.gt_audio[order], test.gt_visual[order])
        if not np.allclose(scores.row(), record["test_row"], atol=1e-9, rtol=0):
            raise SystemExit(f"{run}: float16 predictions do not reproduce the record's test scores")
        target = args.dst / run / "test_predictions.npz"
        np.savez_compressed(target, filename=np.array(predictions.filenames, dtype=str),
                            frame_prob=frame16, video_prob=video16)
        print(f"predictions: {target} ({target.stat().st_size / 1e6:.2f} MB, scores identical)")
    print(f"copied {copied} run records into {args.dst} ({decided} with test decisions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
