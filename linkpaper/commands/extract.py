"""``python -m linkpaper extract --frames DIR --audio DIR --out DIR``: CLIP / CLAP teachers (extra).

Needs the optional extra, installed in its own environment (it brings the CUDA torch build,
torchvision, open_clip_torch and laion_clap): ``scripts/setup_extract_env.sh`` or
``pip install 'linkpaper[extract]'``. See README, "Teacher extraction".
"""

from __future__ import annotations

import os
from pathlib import Path

from linkpaper.errors import UserError

HELP = "extract CLIP/CLAP features and pseudo labels from frames and audio (extra)"

INSTALL_HINT = (
    "Install the extraction extra in a separate environment (it pulls the CUDA torch build, "
    "torchvision, open_clip_torch and laion_clap, about 6 GB):\n"
    "    python3 -m venv .venv-extract && .venv-extract/bin/pip install torch torchvision && "
    ".venv-extract/bin/pip install 'linkpaper[extract]'\n"
    "or run scripts/setup_extract_env.sh from a checkout; then use .venv-extract/bin/python -m linkpaper extract ..."
)


def add_arguments(parser) -> None:
    parser.add_argument("--frames", type=Path, default=None, metavar="DIR",
                        help="folder of frame folders DIR/<name>/000001.jpg ... (8 fps JPEGs) -> CLIP")
    parser.add_argument("--audio", type=Path, default=None, metavar="DIR",
                        help="folder of audio files DIR/<name>.wav|.flac|.mp4 -> CLAP (loaded at 48 kHz mono)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output root (the released VALOR layout)")
    parser.add_argument("--labels", type=Path, default=None, metavar="FILE",
                        help="LLP weak-label file (TAB) that gates the pseudo labels "
                             "(default: AVVP_dataset_full.csv from --data-dir / LINKPAPER_DATA)")
    parser.add_argument("--no-labels", action="store_true",
                        help="write ungated pseudo labels only (no weak-label gating)")
    parser.add_argument("--data-dir", default=None, metavar="DIR", help="data folder holding llp/ (default: $LINKPAPER_DATA)")
    parser.add_argument("--device", default="cpu", metavar="DEVICE", help="torch device: cpu, cuda, cuda:1, ... (default cpu)")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="clips per forward pass (default 8)")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="DataLoader workers decoding frames/audio (default 2)")
    parser.add_argument("--clip-checkpoint", default=None, metavar="PATH",
                        help="local CLIP ViT-L/14 (OpenAI) weights; default: open_clip's pretrained='openai' download/cache")
    parser.add_argument("--clap-checkpoint", default=None, metavar="PATH",
                        help="local LAION-CLAP 630k-fusion-best.pt; default: laion_clap's own download/cache")
    parser.add_argument("--allow-download", action="store_true",
                        help="let open_clip / laion_clap / transformers fetch missing weights from the "
                             "internet (otherwise HF_HUB_OFFLINE=1 unless you set it yourself)")
    parser.add_argument("--overwrite", action="store_true", help="redo clips whose files already exist")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="at most this many new clips per teacher")


def _require(modules: list[str]) -> None:
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UserError(f"`extract` needs {', '.join(missing)}, which is not installed here.\n{INSTALL_HINT}")


def _weak_labels_path(args) -> Path | None:
    from linkpaper.data.download import MissingDataError, annotation_path

    if args.no_labels:
        print("--no-labels: writing ungated pseudo labels only")
        return None
    if args.labels is not None:
        if not args.labels.is_file():
            raise UserError(f"--labels {args.labels}: no such file")
        return args.labels
    try:
        return annotation_path("full", args.data_dir)
    except MissingDataError as err:
        print(f"note: no weak labels, so only ungated pseudo labels are written ({err}; "
              "or pass --labels FILE in the LLP TAB format)")
        return None


def run(args) -> int:
    # laion_clap loads three Hugging Face tokenizers at import time; online retries make the
    # import hang ~11 minutes without a network. Offline unless the user decides otherwise.
    os.environ.setdefault("HF_HUB_OFFLINE", "0" if args.allow_download else "1")
    if args.frames is None and args.audio is None:
        raise UserError("give --frames DIR (CLIP), --audio DIR (CLAP), or both")
    needed = ["torchvision", "PIL", "open_clip"] if args.frames is not None else []
    needed += ["librosa", "laion_clap"] if args.audio is not None else []
    _require(needed)
    if args.batch_size < 1 or args.workers < 0:
        raise UserError("--batch-size must be >= 1 and --workers >= 0")

    from linkpaper.teachers.extract import ExtractConfig, find_clips, run_extraction

    config = ExtractConfig(out=args.out, frames=args.frames, audio=args.audio, labels=_weak_labels_path(args),
                           batch_size=args.batch_size, workers=args.workers, overwrite=args.overwrite,
                           limit=args.limit)
    clips = find_clips(config.frames, config.audio)
    if not clips:
        raise UserError(f"no clips found under {args.frames or ''} {args.audio or ''}: expected frame folders "
                        "DIR/<name>/000001.jpg and/or audio files DIR/<name>.wav|.flac|.mp4")
    device = _device(args.device)
    clip_teacher = clap_teacher = None
    if config.frames is not None:
        from linkpaper.teachers.clip_teacher import load_clip_teacher

        print(f"loading CLIP ViT-L/14 (OpenAI) from {args.clip_checkpoint or 'the open_clip cache'} ...")
        clip_teacher = load_clip_teacher(args.clip_checkpoint, device=device)
    if config.audio is not None:
        from linkpaper.teachers.clap_teacher import load_clap_teacher

        print(f"loading LAION-CLAP (HTSAT-tiny, fusion) from {args.clap_checkpoint or 'the laion_clap package folder'} ...")
        clap_teacher = load_clap_teacher(args.clap_checkpoint, device=device)
    reports = run_extraction(config, clip_teacher, clap_teacher)
    failed = 0
    for r in reports:
        print(f"{r.teacher}: {r.found} clips, {r.extracted} extracted, {r.skipped_done} already done, "
              f"{r.gated} gated by weak labels, {r.regated} done clips newly gated, {len(r.failed)} failed")
        if r.extracted and r.gated < r.extracted:
            print(f"  {r.extracted - r.gated} clips have no weak label: only ungated pseudo labels written")
        failed += len(r.failed)
    print(f"wrote {args.out}")
    return 1 if failed else 0


def _device(name: str):
    import torch

    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise UserError(f"--device {name}: {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available in this environment (torch {torch.__version__})")
    return device
