"""``python -m linkpaper evaluate PRED.npz --split {val,test} [--json] [--data-dir DIR]``.

Scores a predictions file (``linkpaper.evaluation.predictions``: ``filename``, ``frame_prob`` (N, 10, 2, 25),
``video_prob`` (N, 25)) against the split's dense ground truth with the official AVVP metric.
Rows are matched by filename; the file must hold each video of the split exactly once, unless
``--subset`` is given: then it may cover part of the split (e.g. a ``synth:tiny`` run), it is
scored on those videos only, and the output says so. A warning goes to stderr when the
annotation CSVs used differ from the pinned official files (sha256).
"""

from __future__ import annotations

HELP = "score a predictions .npz with the official AVVP metric"


def add_arguments(parser) -> None:
    parser.add_argument("predictions", help="a .npz with filename (N,), frame_prob (N,10,2,25), video_prob (N,25)")
    parser.add_argument("--split", choices=["val", "test"], required=True, help="split whose dense ground truth to use")
    parser.add_argument("--json", action="store_true", help="print the ten scores (percent) as JSON")
    parser.add_argument(
        "--subset",
        action="store_true",
        help="allow predictions for part of the split (scored on those videos only; "
        "the output says how many); names outside the split are still refused",
    )
    parser.add_argument(
        "--data-dir", default=None, help="folder holding llp/ (default: $LINKPAPER_DATA or ~/.cache/linkpaper/data)"
    )


def run(args) -> int:
    import json
    import sys

    from linkpaper.data.annotations import load_annotations
    from linkpaper.evaluation.metrics import evaluate_probs
    from linkpaper.evaluation.predictions import load_predictions

    predictions = load_predictions(args.predictions)
    annotations = load_annotations(args.split, args.data_dir)
    for warning in annotation_warnings(args.split, args.data_dir):
        print(f"warning: {warning}", file=sys.stderr)
    aligned = predictions.aligned_to(annotations.filenames, split=args.split, allow_subset=args.subset)
    total = len(annotations.filenames)
    gt_audio, gt_visual = annotations.gt_audio, annotations.gt_visual
    subset_note = None
    if len(aligned) < total:
        covered = set(aligned.filenames)
        rows = [i for i, name in enumerate(annotations.filenames) if name in covered]
        gt_audio, gt_visual = gt_audio[rows], gt_visual[rows]
        subset_note = (
            f"SUBSET: scored on {len(aligned)} of the {total} videos of the {args.split} split "
            "(--subset); not comparable with scores on the whole split"
        )
    scores = evaluate_probs(aligned.frame_prob, aligned.video_prob, gt_audio, gt_visual)
    if args.json:
        if subset_note:
            print(subset_note, file=sys.stderr)
        print(json.dumps(scores.table, indent=2))
    else:
        title = f"{args.predictions} on {args.split}"
        if subset_note:
            title += f"\n{subset_note}"
        print(scores.format_table(title))
    return 0


def annotation_warnings(split: str, data_dir=None) -> list[str]:
    """One line per annotation CSV (the split's and the two eval files) whose sha256 is not the
    pinned official one: scores against edited ground truth are not the benchmark's."""
    from linkpaper.data.download import sha256_of
    from linkpaper.data.files import ANNOTATION_FILES, annotation_path

    warnings = []
    for key in (split, "eval_audio", "eval_visual"):
        path = annotation_path(key, data_dir)
        found = sha256_of(path)
        if found != ANNOTATION_FILES[key].sha256:
            warnings.append(
                f"{path}: sha256 {found[:16]}... is not the pinned official {ANNOTATION_FILES[key].sha256[:16]}...; "
                "these scores use modified annotations (restore them with: python -m linkpaper download "
                "annotations --force)"
            )
    return warnings
