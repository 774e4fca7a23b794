"""``python -m linkpaper download annotations|features|checkpoints [--only ...] [--data-dir DIR] [--force]``."""

from __future__ import annotations

HELP = "fetch the LLP annotations, the released features or the VALOR checkpoints (verified)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "what",
        choices=["annotations", "features", "checkpoints"],
        help="annotations: the LLP CSVs and the GloVe table (sha256-pinned); features: the released "
        "CLIP/CLAP (Hugging Face) and HAN (Google Drive) features, unpacked into "
        "DIR/valor_features; checkpoints: the released VALOR, VALOR+ and VALOR++ weights "
        "(needs the [download] extra)",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="features: a comma list of clip, clap, r2plus1d, han (default all); "
        "checkpoints: of valor++, valor+, valor (default all)",
    )
    parser.add_argument(
        "--data-dir", default=None, help="target folder (default: $LINKPAPER_DATA or ~/.cache/linkpaper/data)"
    )
    parser.add_argument("--force", action="store_true", help="download again even if a verified copy exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from linkpaper.data.download import download_annotations
    from linkpaper.data.files import ANNOTATION_FILES, resolve_data_dir
    from linkpaper.errors import ConfigError

    root = resolve_data_dir(args.data_dir)
    if args.what == "annotations":
        if args.only is not None:
            raise ConfigError("--only: annotations are fetched together (six CSVs and the GloVe table); drop --only")
        status = download_annotations(root, force=args.force)
        for key, state in status.items():
            print(f"{state:>10}  {root / ANNOTATION_FILES[key].relpath}")
        return 0
    from linkpaper.data import released

    if args.what == "features":
        only = released.parse_only(args.only, released.FEATURE_SETS)
        status = released.download_features(root, only, force=args.force, progress=not args.quiet)
        for name, line in status.items():
            print(f"{name:>9}  {line}")
        print(f"read them with: --data llp:{released.features_root(root)}")
        return 0
    only = released.parse_only(args.only, released.RELEASED_MODELS)
    status = released.download_checkpoints(root, only, force=args.force, progress=not args.quiet)
    for name, line in status.items():
        print(f"{name:>8}  {line}")
    return 0
