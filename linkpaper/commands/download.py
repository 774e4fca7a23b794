"""``python -m linkpaper download annotations [--data-dir DIR] [--force]``."""

from __future__ import annotations

HELP = "fetch the LLP annotation CSVs and the GloVe class table (sha256-verified)"


def add_arguments(parser) -> None:
    parser.add_argument("what", choices=["annotations"], help="what to download")
    parser.add_argument("--data-dir", default=None, help="target folder (default: $LINKPAPER_DATA or ~/.cache/linkpaper/data)")
    parser.add_argument("--force", action="store_true", help="download again even if a verified copy exists")


def run(args) -> int:
    from linkpaper.data.download import ANNOTATION_FILES, download_annotations, resolve_data_dir

    root = resolve_data_dir(args.data_dir)
    status = download_annotations(root, force=args.force)
    for key, state in status.items():
        print(f"{state:>10}  {root / ANNOTATION_FILES[key].relpath}")
    return 0
