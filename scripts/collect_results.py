"""Copy the small part of a grid's run folders into ``results/`` (the book's results store).

    python scripts/collect_results.py runs/grid_small results/synth_small_grid \
        --predictions valorpp/seed87 link/seed87

For every ``<variant>/seed<k>/results.json`` under SRC (complete runs only) it copies the
run record, plus ``summary.json`` / ``summary.md``; checkpoints are never copied. For every
complete run with test predictions it also writes ``test_decisions.npz``: a predictions file
whose probabilities are the run's gated 0/1 decisions (frame >= 0.5 AND video >= 0.5, with every
video probability 1), a few tens of kB, which scores exactly the record's ten numbers (checked
here) and gives the per-video scores the paired bootstrap of ``linkpaper.evaluation.gains`` needs. For the runs
named by ``--predictions`` it also stores the test predictions, at float16 precision to keep
the repository small: every value keeps its side of the 0.5 threshold, so the file scores
exactly the ten numbers of the run record (checked here before writing).

Before it copies anything it checks SRC: a folder with run records, each one readable, all of
one configuration apart from model, seed and a method's own recipe (and the same as the
records already in DST); DST: a writable folder outside SRC; ``--predictions``: run folders inside SRC
(never an absolute path
or one that leaves SRC, so nothing is ever written into SRC). A problem is one ``error:`` line
naming the folder or file (exit status 2). Every file is written to a temporary name and renamed
when complete, so a full disk leaves no partial file in DST.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkpaper.data.annotations import load_annotations
from linkpaper.errors import UserError
from linkpaper.evaluation.metrics import binarize_predictions, evaluate_probs
from linkpaper.evaluation.predictions import load_predictions, save_predictions, write_npz_atomically
from linkpaper.safe_io import atomic_write_bytes, check_writable_dir, remove_created_dirs
from linkpaper.training.grid import grid_differences
from linkpaper.training.runs import DECISIONS_FILE, read_results

RECORDS = "*/seed*/results.json"


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
    predictions = load_predictions(source).aligned_to(test.filenames, "test", subset_hint=False)
    audio, visual = binarize_predictions(predictions.frame_prob, predictions.video_prob)
    decisions = np.stack([audio, visual], axis=2)  # (N, T, 2, C)
    ones = np.ones(predictions.video_prob.shape, dtype=np.float32)
    scores = evaluate_probs(decisions.astype(np.float32), ones, test.gt_audio, test.gt_visual)
    if scores.row() != record["test_row"]:
        raise UserError(f"{source}: the decisions do not reproduce the test scores of its run record")
    target.parent.mkdir(parents=True, exist_ok=True)  # only once the decisions are checked
    save_predictions(target, test.filenames, decisions.astype(np.float32), ones)


def _complete_records(src: Path, dst: Path) -> list[tuple[Path, dict]]:
    """The complete run records under ``src`` as (path, record) pairs, checked before anything is
    copied: ``src`` is a folder holding run records, each record is readable, and every record (and
    every one already in ``dst``) has one configuration apart from model, seed and a method's own
    recipe (``linkpaper.training.grid.grid_differences``). Prints the
    incomplete runs it skips; raises a UserError naming the folder or file and the problem."""
    if not src.is_dir():
        raise UserError(f"SRC {src}: no such folder; give the grid folder (the --out of 'python -m linkpaper grid')")
    if dst.resolve() == src.resolve():
        raise UserError(f"DST {dst} is SRC: collect into another folder (e.g. results/<name>)")
    if dst.resolve().is_relative_to(src.resolve()):
        raise UserError(
            f"DST {dst} lies inside SRC {src}: its records would be read as runs of the grid; "
            "collect into a folder outside SRC (e.g. results/<name>)"
        )
    paths = sorted(src.glob(RECORDS))
    if not paths:
        raise UserError(f"SRC {src}: no run records ({RECORDS}); is it the --out folder of a grid?")
    records = []
    for path in paths:
        record = read_results(path.parent)  # a damaged record: a UserError naming it
        if not record["complete"]:
            print(f"skip (incomplete): {path}")
            continue
        records.append((path, record))
    kept = [(p, read_results(p.parent)) for p in sorted(dst.glob(RECORDS))]  # replaced or not: one grid
    if records:
        first, reference = records[0]
        mixed = []
        for path, record in records[1:] + kept:
            diffs = grid_differences(reference["config"], record["config"])
            if diffs:
                mixed.append(f"{path} ({'; '.join(diffs)})")
        if mixed:
            raise UserError(
                f"{len(mixed)} run record(s) were trained with another configuration than "
                f"{first} "
                f"(its value -> theirs): {', '.join(mixed)}; one results folder holds one grid: "
                "collect each configuration into a folder of its own"
            )
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument(
        "--predictions", nargs="*", default=[], help="run folders (relative to SRC) whose test predictions to keep"
    )
    args = parser.parse_args(argv)
    try:
        return collect(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def test_annotations(record: dict):
    """LLP's test annotations for the videos of the run's test split: the split list of its feature
    folder (``llp:DIR`` with a ``splits/`` override) when it has one, else LLP's whole test split."""
    from linkpaper.data.annotations import SplitAnnotations, dense_ground_truth, read_dense_events, read_weak_labels
    from linkpaper.data.features import split_csv_path
    from linkpaper.data.files import annotation_path

    root = record.get("data", {}).get("source", {}).get("root")
    if not root:
        return load_annotations("test")
    weak = read_weak_labels(split_csv_path(root, "test"))
    return SplitAnnotations(
        split="test",
        filenames=weak.filenames,
        weak=weak.labels,
        gt_audio=dense_ground_truth(weak.filenames, read_dense_events(annotation_path("eval_audio"))),
        gt_visual=dense_ground_truth(weak.filenames, read_dense_events(annotation_path("eval_visual"))),
    )


def collect(args) -> int:
    """Copy the records, decisions and chosen predictions of ``args.src`` into ``args.dst``;
    returns 0 (problems raise a UserError)."""
    for run in args.predictions:
        _check_run_name(run, args.src)
    records = _complete_records(args.src, args.dst)
    created = check_writable_dir(args.dst, "DST")  # a file, under a file or read-only: one line
    try:
        return _copy(args, records)
    except UserError:  # e.g. LLP's test annotations missing (a FileNotFoundError too): its own message
        remove_created_dirs(created)
        raise
    except OSError as err:  # a folder that cannot be created (disk full); the files are atomic
        remove_created_dirs(created)
        raise UserError(
            f"DST {args.dst}: cannot write ({err.strerror or err}); free disk space or "
            "choose another DST, then run the same command again"
        ) from None
    except BaseException:
        remove_created_dirs(created)  # (only if still empty)
        raise


def _check_run_name(run: str, src: Path) -> None:
    """A ``--predictions`` run must name a folder inside ``src``: a relative path that stays there."""
    if Path(run).is_absolute():
        raise UserError(f"--predictions {run}: an absolute path; name the run relative to SRC (e.g. link/seed87)")
    if ".." in Path(run).parts or not (src / run).resolve().is_relative_to(src.resolve()):
        raise UserError(f"--predictions {run}: leaves SRC {src}; name a run folder inside it (e.g. link/seed87)")


def _copy(args, records: list[tuple[Path, dict]]) -> int:
    by_folder = {path.parent: record for path, record in records}
    for run in args.predictions:
        if args.src / run not in by_folder:
            raise UserError(f"--predictions {run}: no complete run record at {args.src / run / 'results.json'}")
    copied = decided = 0
    test = None
    for record_path, record in records:
        target = args.dst / record_path.relative_to(args.src)
        # the decisions come from the test predictions or (a copy of a results folder) its decisions
        source = next(
            (
                record_path.parent / name
                for name in ("test_predictions.npz", DECISIONS_FILE)
                if (record_path.parent / name).is_file()
            ),
            None,
        )
        if source is not None:
            if test is None:
                test = test_annotations(record)
            write_decisions(source, target.parent / DECISIONS_FILE, record, test)
            decided += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        # after its decisions: a record is never copied without them
        atomic_write_bytes(target, record_path.read_bytes())
        copied += 1
    for name in ("summary.json", "summary.md"):
        if (args.src / name).is_file():
            atomic_write_bytes(args.dst / name, (args.src / name).read_bytes())

    for run in args.predictions:
        source = args.src / run / "test_predictions.npz"
        record = by_folder[args.src / run]
        predictions = load_predictions(source)
        frame16 = quantise_keeping_threshold(predictions.frame_prob)
        video16 = quantise_keeping_threshold(predictions.video_prob)
        if test is None:
            test = test_annotations(record)
        order = [test.filenames.index(name) for name in predictions.filenames]
        scores = evaluate_probs(frame16, video16, test.gt_audio[order], test.gt_visual[order])
        if not np.allclose(scores.row(), record["test_row"], atol=1e-9, rtol=0):
            raise UserError(f"{source}: its float16 copy does not reproduce the test scores of its run record")
        target = args.dst / run / "test_predictions.npz"
        write_npz_atomically(
            target, filename=np.array(predictions.filenames, dtype=str), frame_prob=frame16, video_prob=video16
        )
        print(f"predictions: {target} ({target.stat().st_size / 1e6:.2f} MB, scores identical)")
    print(f"copied {copied} run records into {args.dst} ({decided} with test decisions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
