"""``python -m linkpaper test runs/NAME``: re-score a run's best checkpoint on test.

The data is checked against the run record first (annotation checksums and data fingerprint,
:mod:`linkpaper.inputs`): other data is refused. The scores are then compared with the ones the
record holds: a difference (a replaced or damaged checkpoint) is said plainly and exits with
status 1; an unfinished run is scored from its best checkpoint so far, and says so.
"""

from __future__ import annotations

HELP = "score a run's best checkpoint on the test split and compare with its record"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a run folder written by 'python -m linkpaper train'")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: the run's device)")


def comparison(scores, record) -> tuple[str, bool]:
    """(a line comparing ``scores`` with the record's test scores, whether they differ)."""
    from linkpaper.metrics import SCORE_LABELS

    epochs = f"{len(record.epochs)} of {record.config.get('epochs', '?')} epochs"
    if not record.complete or record.test_row is None:
        return (f"note: the run is unfinished ({epochs}); these are the scores of its best checkpoint so far "
                f"(epoch {record.best_epoch}), and its record holds no test scores to compare with", False)
    now = scores.row()
    differing = [(label, old, new) for label, old, new in zip(SCORE_LABELS, record.test_row, now) if old != new]
    if not differing:
        return f"the run is finished ({epochs}); these scores are the ones its record holds", False
    shown = ", ".join(f"{label} {old:.2f} -> {new:.2f}" for label, old, new in differing[:4])
    return (f"WARNING: these scores differ from the ones the run record holds ({shown}"
            f"{', ...' if len(differing) > 4 else ''}): the checkpoint is not the one that produced the record "
            "(replaced or damaged?)", True)


def run(args) -> int:
    from linkpaper.engine import test_run

    scores, record = test_run(args.run_dir, device=args.device)
    line, differs = comparison(scores, record)
    title = record.caption() + ("\n(NOT the recorded scores: see the warning below)" if differs else "")
    print(scores.format_table(title))
    print(line)
    return 1 if differs else 0
