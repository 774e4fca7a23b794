"""``python -m linkpaper grid --variants all --seeds 3 --data synth:small --out runs/grid``."""

from __future__ import annotations

HELP = "train the ablation grid over variants and seeds, and summarise it"


def add_arguments(parser) -> None:
    from linkpaper.commands.train import add_config_arguments

    parser.add_argument("--variants", default="all", help="'all' or a comma list, e.g. valor++,link")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (default %(default)s)")
    parser.add_argument("--seed-base", type=int, default=87, help="first seed (default %(default)s: 87, 88, 89)")
    add_config_arguments(parser, single_run=False)
    parser.add_argument("--out", required=True, help="grid folder, e.g. runs/grid")


def run(args) -> int:
    from pathlib import Path

    from linkpaper.commands.train import config_from_args
    from linkpaper.errors import ConfigError
    from linkpaper.grid import run_grid

    if args.seeds < 1:
        raise ConfigError(f"--seeds: expected a positive integer, got {args.seeds}")
    config = config_from_args(args)
    seeds = [args.seed_base + i for i in range(args.seeds)]
    run_grid(config, args.variants, seeds, args.out, progress=not args.quiet)
    print((Path(args.out) / "summary.md").read_text())
    return 0
