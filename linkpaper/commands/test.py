"""``python -m linkpaper test runs/NAME``: re-score a run's best checkpoint on test.

The data is checked against the run record first (annotation checksums and data fingerprint,
:mod:`linkpaper.training.inputs`): other data is refused. The scores are then compared with the ones the
record holds: a difference (a replaced or damaged checkpoint) is said plainly and exits with
status 1; an unfinished run is scored from its best checkpoint so far, and says so.

``python -m linkpaper test --checkpoint valor++ --data llp:DIR`` scores a released VALOR
checkpoint instead (``valor++``, ``valor+``, ``valor``; fetched by ``download checkpoints``).
"""

from __future__ import annotations

from typing import NamedTuple

HELP = "score a run's best checkpoint (compared with its record), or a released VALOR checkpoint, on the test split"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", nargs="?", default=None, help="a run folder written by 'python -m linkpaper train'")
    parser.add_argument(
        "--checkpoint",
        default=None,
        metavar="NAME[=PATH]",
        help="a released checkpoint instead of a run: valor++, valor+ or valor (from "
        "'download checkpoints'), or NAME=PATH for a file elsewhere",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="with --checkpoint: llp:DIR, the released features (default: llp:<data dir>/valor_features)",
    )
    parser.add_argument("--data-dir", default=None, help="LLP annotations and downloads (default $LINKPAPER_DATA)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: the run's device; cpu for --checkpoint)")
    parser.add_argument("--out", default=None, help="with --checkpoint: also write the scores to this JSON file")


class Comparison(NamedTuple):
    """What :func:`comparison` returns: ``(line, differs)``, the line to print and whether the scores
    differ."""

    line: str
    differs: bool


def comparison(scores, record) -> Comparison:
    """(a line comparing ``scores`` with the record's test scores, whether they differ)."""
    from linkpaper.evaluation.metrics import SCORE_LABELS

    epochs = f"{len(record.epochs)} of {record.config.get('epochs', '?')} epochs"
    if not record.complete or record.test_row is None:
        return Comparison(
            f"note: the run is unfinished ({epochs}); these are the scores of its best checkpoint so far "
            f"(epoch {record.best_epoch}), and its record holds no test scores to compare with",
            False,
        )
    now = scores.row()
    differing = [(label, old, new) for label, old, new in zip(SCORE_LABELS, record.test_row, now) if old != new]
    if not differing:
        return Comparison(f"the run is finished ({epochs}); these scores are the ones its record holds", False)
    shown = ", ".join(f"{label} {old:.2f} -> {new:.2f}" for label, old, new in differing[:4])
    return Comparison(
        f"WARNING: these scores differ from the ones the run record holds ({shown}"
        f"{', ...' if len(differing) > 4 else ''}): the checkpoint is not the one that produced the record "
        "(replaced or damaged?)",
        True,
    )


def run(args) -> int:
    from linkpaper.errors import ConfigError

    if (args.run_dir is None) == (args.checkpoint is None):
        raise ConfigError("test: give either a run folder or --checkpoint NAME (not both)")
    if args.checkpoint is None:
        if args.data or args.out:
            raise ConfigError("test: --data and --out go with --checkpoint; a run folder names its own data")
        from linkpaper.training.engine import test_run

        scores, record = test_run(args.run_dir, device=args.device)
        line, differs = comparison(scores, record)
        title = record.caption() + ("\n(NOT the recorded scores: see the warning below)" if differs else "")
        print(scores.format_table(title))
        print(line)
        return 1 if differs else 0
    return _score_released(args)


def _score_released(args) -> int:
    import json
    import os
    from pathlib import Path

    from linkpaper.data import released
    from linkpaper.data.sources import parse_spec
    from linkpaper.errors import ConfigError
    from linkpaper.training.scoring import scores_record

    if args.data is None:
        features = released.features_root(args.data_dir)
    else:
        parsed = parse_spec(args.data)
        if parsed["kind"] != "llp":
            raise ConfigError(
                f"--data {args.data!r}: a released checkpoint is scored on the released features; give llp:DIR"
            )
        features = parsed["root"]
    if not Path(features).is_dir():
        raise ConfigError(
            f"--data llp:{features}: no such folder; fetch the features with: python -m linkpaper download features"
        )
    scores, caption = released.score_checkpoint(
        args.checkpoint, Path(features), args.data_dir, device=args.device or "cpu"
    )
    print(scores.format_table(caption))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        tmp.write_text(
            json.dumps({"checkpoint": args.checkpoint, "caption": caption, "test": scores_record(scores)}, indent=1)
            + "\n"
        )
        os.replace(tmp, out)
    return 0
