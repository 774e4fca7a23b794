"""``python -m linkpaper test runs/NAME``: re-score a finished run's best checkpoint on test."""

from __future__ import annotations

HELP = "score a finished run's best checkpoint on the test split"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a run folder written by 'python -m linkpaper train'")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: the run's device)")


def run(args) -> int:
    from linkpaper.engine import test_run

    scores, record = test_run(args.run_dir, device=args.device)
    print(scores.format_table(record.caption()))
    return 0
