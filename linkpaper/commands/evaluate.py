"""``python -m linkpaper evaluate PRED.npz --split {val,test} [--json] [--data-dir DIR]``.

Scores a predictions file (``linkpaper.predictions``: ``filename``, ``frame_prob`` (N, 10, 2, 25),
``video_prob`` (N, 25)) against the split's dense ground truth with the official AVVP metric.
Rows are matched by filename; the file must hold each video of the split exactly once.
"""

from __future__ import annotations

HELP = "score a predictions .npz with the official AVVP metric"


def add_arguments(parser) -> None:
    parser.add_argument("predictions", help="a .npz with filename (N,), frame_prob (N,10,2,25), video_prob (N,25)")
    parser.add_argument("--split", choices=["val", "test"], required=True, help="split whose dense ground truth to use")
    parser.add_argument("--json", action="store_true", help="print the ten scores (percent) as JSON")
    parser.add_argument("--data-dir", default=None, help="folder holding llp/ (default: $LINKPAPER_DATA or ~/.cache/linkpaper/data)")


def run(args) -> int:
    import json

    from linkpaper.data.annotations import load_annotations
    from linkpaper.metrics import evaluate_probs
    from linkpaper.predictions import load_predictions

    predictions = load_predictions(args.predictions)
    annotations = load_annotations(args.split, args.data_dir)
    aligned = predictions.aligned_to(annotations.filenames, split=args.split)
    scores = evaluate_probs(aligned.frame_prob, aligned.video_prob, annotations.gt_audio, annotations.gt_visual)
    if args.json:
        print(json.dumps(scores.table, indent=2))
    else:
        print(scores.format_table(f"{args.predictions} on {args.split}"))
    return 0
