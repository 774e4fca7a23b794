"""``python -m linkpaper grid --variants all --seeds 3 --data synth:small --out runs/grid``.

``--executor local --jobs N`` trains N runs at a time in separate processes; ``--executor slurm``
submits one SLURM job per run (a job array, through submitit) and, unless ``--no-wait``, waits
for them. Calling the same command again collects: complete runs are kept, interrupted ones
resume, runs a live job still holds are left to it, and the summary is rewritten.
"""

from __future__ import annotations

HELP = "train the ablation grid over variants and seeds, and summarise it"


def add_arguments(parser) -> None:
    from linkpaper.commands.train import add_config_arguments
    from linkpaper.training.cluster import add_executor_arguments

    parser.add_argument(
        "--variants",
        default="all",
        help="'all' (Table II's eight), 'controls', 'book' (the eight and the controls the book "
        "reads: +S/label, valor++/weak, +P/self), 'methods' (HAN, MM-Pyramid, JoMoLD, LEAP, "
        "each under its own recipe) or a comma list, e.g. valor++,link,han",
    )
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (default %(default)s)")
    parser.add_argument("--seed-base", type=int, default=87, help="first seed (default %(default)s: 87, 88, 89)")
    add_config_arguments(parser, single_run=False)
    parser.add_argument("--out", required=True, help="grid folder, e.g. runs/grid")
    parser.add_argument(
        "--summarise-only",
        action="store_true",
        help="train nothing: summarise the complete runs in --out, name the missing ones",
    )
    add_executor_arguments(parser, unit="run")


def run(args) -> int:
    import dataclasses
    from pathlib import Path

    from linkpaper import limits
    from linkpaper.commands.train import config_from_args
    from linkpaper.errors import ConfigError
    from linkpaper.training.cluster import options_from_args
    from linkpaper.training.grid import run_grid

    if args.seeds < 1:
        raise ConfigError(f"--seeds: expected a positive integer, got {args.seeds}")
    limits.check_int(args.seeds, 1, limits.MAX_SEEDS, "--seeds")
    limits.check_seed(args.seed_base, "--seed-base")
    limits.check_seed(args.seed_base + args.seeds - 1, "--seed-base + --seeds - 1 (the last seed)")
    options = options_from_args(args, device=args.device)
    device = args.device
    if options.kind == "slurm" and options.submitit_cluster == "slurm":
        args.device = "cpu"  # the submitting node may have no GPU: each job checks its own device
    config = dataclasses.replace(config_from_args(args), device=device)
    seeds = [args.seed_base + i for i in range(args.seeds)]
    recipe_given = {name for name in ("epochs", "batch_size", "warmup_epochs") if getattr(args, name) is not None}
    report = run_grid(
        config,
        args.variants,
        seeds,
        args.out,
        progress=not args.quiet,
        executor=options,
        train=not args.summarise_only,
        recipe_given=recipe_given,
    )

    total = len(report.runs)
    if not report.summary_written:  # submitted with --no-wait
        ids = sorted({r["job_id"].split("_")[0] for r in report.runs if r.get("job_id")})
        print(
            f"submitted {report.count('submitted')} of {total} runs (job array {', '.join(ids) or '-'}); "
            f"{report.count('complete')} already complete, {report.count('busy', 'queued')} running or queued "
            f"elsewhere. Logs: {Path(args.out) / 'submitit'}. Run the same command again to collect them "
            "(finished runs are kept, interrupted ones resume) and write the summary."
        )
        return 0
    print((Path(args.out) / "summary.md").read_text())
    finished = sum(bool(r.get("complete")) for r in report.runs)
    print(
        f"grid: {finished} of {total} runs complete ({report.count('trained')} trained, "
        f"{report.count('resumed')} resumed, {report.count('complete')} already complete)"
    )
    for run in report.runs:
        if run["status"] in ("busy", "queued"):
            print(f"  still running elsewhere: {run['message']}")
        elif run["status"] == "missing":
            print(f"  not trained (--summarise-only): {run['model']} seed {run['seed']}")
        elif run["status"] == "incomplete":
            print(f"  not finished: {run['model']} seed {run['seed']} in {run['run_dir']}")
    for message in report.failures:
        print(f"  FAILED: {message}")
    if finished < total:
        again = "without --summarise-only " if args.summarise_only else ""
        print(f"the summary covers the complete runs only; run the same command {again}again to finish the others")
        return 1
    return 0
