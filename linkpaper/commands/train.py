"""``python -m linkpaper train --model valor++ --data synth:small --out runs/NAME [...]``.

``--model`` takes any name of the registry (``linkpaper.models.registry``): VALOR++, the LINK
variants, the controls and the field's methods (han, mm-pyramid, jomold, leap). Options left
out take the model's recipe (VALOR++'s for the grid; each method's its own).
"""

from __future__ import annotations

HELP = "train VALOR++, LINK, an ablation variant or one of the field's methods (HAN, MM-Pyramid, JoMoLD, LEAP)"


def add_config_arguments(parser, single_run: bool = True) -> None:
    """Options shared by ``train`` and ``grid`` (everything in TrainConfig)."""
    from linkpaper.models import list_controls, list_methods, list_models
    from linkpaper.models.plsim_labels import PLSIM_LABEL_MODES
    from linkpaper.training.precision import PRECISIONS
    from linkpaper.training.recipe import LOG_KINDS, TrainConfig

    defaults = TrainConfig()
    if single_run:
        parser.add_argument(
            "--model",
            default=defaults.model,
            help=f"a variant ({', '.join(list_models())}), a control ({', '.join(list_controls())}) "
            f"or a method of the field ({', '.join(list_methods())})",
        )
        parser.add_argument("--seed", type=int, default=defaults.seed, help="training seed (default %(default)s)")
    parser.add_argument(
        "--data",
        default=defaults.data,
        help="synth:PRESET[:SEED], llp:DIR (VALOR's layout) or han:DIR (HAN's features) (default %(default)s)",
    )
    parser.add_argument("--data-dir", default=None, help="LLP annotation folder (default $LINKPAPER_DATA)")
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"default: the model's recipe (VALOR++ and LINK: {defaults.epochs})"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"default: the model's recipe (VALOR++ and LINK: {defaults.batch_size})",
    )
    parser.add_argument(
        "--warmup-epochs",
        type=int,
        default=None,
        help="linear warm-up epochs before the cosine decay (default: the model's recipe, "
        f"VALOR++'s {defaults.warmup_epochs}; the field's step schedules have none)",
    )
    parser.add_argument("--device", default=defaults.device, help="cpu or cuda (default %(default)s)")
    parser.add_argument(
        "--plsim-labels",
        choices=list(PLSIM_LABEL_MODES),
        default=defaults.plsim_labels,
        help="labels PLSIM reads (book/decisions.md#decision-plsim-labels; default %(default)s)",
    )
    parser.add_argument(
        "--allow-label-leakage",
        action="store_true",
        help="permit --plsim-labels gated (results are marked as using ground-truth video labels)",
    )
    parser.add_argument("--text-table", default=None, help="(25, D) .npy/.pt class text table for PLSIM")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument(
        "--model-override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a ModelConfig field, e.g. hidden_dim=64 (repeatable)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults.precision,
        help="number format of the forward: fp32, or bf16 autocast (fast on CPUs with avx512_bf16 "
        "or amx_bf16 and on Ampere or newer GPUs; default %(default)s)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the model's forward (default off)")
    parser.add_argument(
        "--log",
        choices=[kind for kind in LOG_KINDS if kind],
        default=None,
        help="also write live training curves into the run folder (needs the [tracking] extra)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_overrides(items) -> dict:
    """``["hidden_dim=64", "dropout=0.0"]`` -> ``{"hidden_dim": 64, "dropout": 0.0}`` (JSON values)."""
    import json

    from linkpaper.errors import ConfigError

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--model-override {item!r}: expected KEY=VALUE, e.g. hidden_dim=64")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def config_from_args(args, model: str = "valor++", **extra):
    """The TrainConfig of the parsed options: the model's recipe, then every option given."""
    from linkpaper.errors import ConfigError
    from linkpaper.models import canonical_name
    from linkpaper.training.recipe import recipe_config

    try:
        model = canonical_name(model)
    except ConfigError as err:
        raise ConfigError(f"--model: {err}") from None
    return recipe_config(
        model,
        data=args.data,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        warmup_epochs=args.warmup_epochs,
        device=args.device,
        plsim_labels=args.plsim_labels,
        allow_label_leakage=args.allow_label_leakage,
        text_table=args.text_table,
        num_threads=args.threads,
        precision=args.precision,
        compile=args.compile,
        log=args.log,
        model_overrides=parse_overrides(args.model_override),
        **extra,
    ).validate()


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--out", required=True, help="run folder, e.g. runs/valorpp_seed87")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")


def run(args) -> int:
    import sys

    from linkpaper.evaluation.metrics import SCORE_LABELS
    from linkpaper.training.cluster import run_lock
    from linkpaper.training.engine import train

    config = config_from_args(args, model=args.model, seed=args.seed)
    try:
        with run_lock(args.out):  # never two writers in one run folder (a grid job, another train)
            record = train(config, args.out, resume=args.resume, progress=not args.quiet)
    except KeyboardInterrupt:
        print("\nthe last finished epoch is saved; continue with the same command plus --resume", file=sys.stderr)
        raise
    if not record.complete:
        return 1
    print(
        f"best epoch {record.best_epoch} (val segment Type@AV "
        f"{record.best_val['segment']['type']:.2f}); run folder {args.out}"
    )
    print(record.caption())
    print(" | ".join(f"{label} {value:.2f}" for label, value in zip(SCORE_LABELS, record.test_row)))
    return 0
