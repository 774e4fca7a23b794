"""``python -m linkpaper synth [--preset full|small|tiny] [--seed S] --out DIR [--data-dir DIR] [--stats]``.

Generates SynthLLP from the LLP annotation files alone (offline) and writes it in the released
VALOR on-disk layout, which ``linkpaper.data.features.load_llp`` (and ``train --features DIR``)
reads like real LLP features. ``--stats`` prints the generated train split's label statistics
beside the real val+test ones and the simulated teachers' precision / recall / F.
"""

from __future__ import annotations

HELP = "generate SynthLLP and write it in the released VALOR feature layout"


def add_arguments(parser) -> None:
    from linkpaper.data.synth import PRESETS

    parser.add_argument(
        "--preset",
        choices=list(PRESETS),
        default="full",
        help="train/val/test videos: full 10000/321/1200; small 2000/321/1200 (val: the selection half "
        "of LLP's 649 val videos); tiny 64/32/32 (tests)",
    )
    parser.add_argument("--seed", type=int, default=0, help="generation seed (same seed -> identical files)")
    parser.add_argument(
        "--out", default=None, help="output folder for the VALOR layout (omit with --stats to only report)"
    )
    parser.add_argument("--data-dir", default=None, help="folder with llp/ and leap/ (default: $LINKPAPER_DATA)")
    parser.add_argument(
        "--stats", action="store_true", help="print label statistics (synthetic train vs real) and teacher quality"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace another SynthLLP generation already in --out (otherwise refused); "
        "a folder synth did not write is always refused",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def report(result, data_dir=None) -> str:
    """The text report: statistics table (synthetic train vs real val+test) and teacher P/R/F."""
    from linkpaper.data.stats import format_comparison
    from linkpaper.data.synth import format_teacher_quality, real_statistics, teacher_quality, train_statistics

    data = result.data
    parts = [
        format_comparison(
            {"synth train": train_statistics(result), "real val+test": real_statistics(data_dir)},
            title=f"Label statistics: {data.describe()} (train timelines from val donors) vs real LLP",
        ),
        "",
        "Simulated teachers vs dense ground truth (val+test cells):",
        format_teacher_quality(teacher_quality(data)),
    ]
    return "\n".join(parts)


def check_out_folder(out) -> None:
    """Refuse an --out that is a file, under a file, or not writable, before any work."""
    from pathlib import Path

    from linkpaper.data.synth import check_synth_out
    from linkpaper.safe_io import check_writable_dir, remove_created_dirs

    check_synth_out(out)  # not a file, not a folder of someone else's files
    remove_created_dirs(check_writable_dir(Path(out), "--out"))  # probe only; write_valor_layout creates it


def run(args) -> int:
    from linkpaper.data.synth import generate, precheck_out, write_valor_layout
    from linkpaper.errors import UserError
    from linkpaper.limits import check_seed

    check_seed(args.seed)
    if args.out is None and not args.stats:
        raise UserError("synth: give --out DIR (where to write the dataset) and/or --stats (report only)")
    if args.out is not None:  # a file, a folder synth did not write or of another generation: refuse first
        check_out_folder(args.out)
        precheck_out(args.out, args.preset, args.seed, args.overwrite)
    result = generate(args.preset, args.seed, args.data_dir)
    sizes = result.data.source["sizes"]
    print(
        f"generated {result.data.describe()}: train {sizes['train']}, val {sizes['val']}, "
        f"test {sizes['test']} videos in {result.timings['generate_s']:.1f} s"
    )
    if not result.data.source["glove"]:
        print("note: the GloVe class table is missing; class prototypes are uncorrelated random vectors")
    if args.stats:
        print(report(result, args.data_dir))
    if args.out is not None:
        summary = write_valor_layout(result.data, args.out, progress=not args.no_progress, overwrite=args.overwrite)
        print(
            f"wrote {summary['written']} files ({summary['skipped']} already present) to {args.out} "
            f"in {summary['seconds']:.1f} s"
        )
    return 0
