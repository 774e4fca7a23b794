"""``python -m linkpaper extract --frames DIR --audio DIR --out DIR``: CLIP / CLAP teachers (extra).

Needs the optional extra, installed in its own environment (it brings the CUDA torch build,
torchvision, open_clip_torch and laion_clap): ``scripts/setup_extract_env.sh`` or
``pip install 'linkpaper[extract]'``. See README, "Teacher extraction".

``--shard I/N`` processes shard I of N of the clips (``linkpaper.training.cluster.in_shard``), so N jobs
of a job array cover every clip exactly once, writing into the one layout. ``--executor slurm
--shards N`` submits that array through submitit (``linkpaper[cluster]``, installed in the same
environment) and, unless ``--no-wait``, waits and adds the shards' counts up.
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
    parser.add_argument(
        "--frames",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of frame folders DIR/<name>/000001.jpg ... (8 fps JPEGs) -> CLIP",
    )
    parser.add_argument(
        "--audio",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of audio files DIR/<name>.wav|.flac|.mp4 -> CLAP (loaded at 48 kHz mono)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output root (the released VALOR layout)"
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        metavar="FILE",
        help="LLP weak-label file (TAB) that gates the pseudo labels "
        "(default: AVVP_dataset_full.csv from --data-dir / LINKPAPER_DATA)",
    )
    parser.add_argument(
        "--no-labels", action="store_true", help="write ungated pseudo labels only (no weak-label gating)"
    )
    parser.add_argument(
        "--data-dir", default=None, metavar="DIR", help="data folder holding llp/ (default: $LINKPAPER_DATA)"
    )
    parser.add_argument(
        "--device", default="cpu", metavar="DEVICE", help="torch device: cpu, cuda, cuda:1, ... (default cpu)"
    )
    parser.add_argument("--batch-size", type=int, default=8, metavar="N", help="clips per forward pass (default 8)")
    parser.add_argument(
        "--workers", type=int, default=2, metavar="N", help="DataLoader workers decoding frames/audio (default 2)"
    )
    parser.add_argument(
        "--clip-checkpoint",
        default=None,
        metavar="PATH",
        help="local CLIP ViT-L/14 (OpenAI) weights; default: open_clip's pretrained='openai' download/cache",
    )
    parser.add_argument(
        "--clap-checkpoint",
        default=None,
        metavar="PATH",
        help="local LAION-CLAP 630k-fusion-best.pt; default: laion_clap's own download/cache",
    )
    parser.add_argument(
        "--allow-download",
        action="store_true",
        help="let open_clip / laion_clap / transformers fetch missing weights from the "
        "internet (otherwise HF_HUB_OFFLINE=1 unless you set it yourself)",
    )
    parser.add_argument("--overwrite", action="store_true", help="redo clips whose files already exist")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="at most this many new clips per teacher")
    parser.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="only shard I of N of the clips (0 <= I < N; in a SLURM array: $SLURM_ARRAY_TASK_ID/N); "
        "the N shards cover every clip exactly once",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=None,
        metavar="N",
        help="with --executor slurm: submit N jobs, shards 0/N ... N-1/N, as one job array",
    )
    from linkpaper.training.cluster import add_executor_arguments

    add_executor_arguments(parser, unit="shard")


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
    from linkpaper.data.files import MissingDataError, annotation_path

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
        print(
            f"note: no weak labels, so only ungated pseudo labels are written ({err}; "
            "or pass --labels FILE in the LLP TAB format)"
        )
        return None


def run(args) -> int:
    # laion_clap loads three Hugging Face tokenizers at import time; online retries make the
    # import hang ~11 minutes without a network. Offline unless the user decides otherwise.
    os.environ.setdefault("HF_HUB_OFFLINE", "0" if args.allow_download else "1")
    from linkpaper.errors import ConfigError
    from linkpaper.training.cluster import options_from_args, parse_shard

    if args.frames is None and args.audio is None:
        raise UserError("give --frames DIR (CLIP), --audio DIR (CLAP), or both")
    options = options_from_args(args, device=args.device)
    if options.kind == "local":
        raise ConfigError(
            "--executor local is for `grid`; to run extraction shards as processes here, use "
            "--executor slurm --submitit-cluster local --shards N (one GPU job each on a cluster)"
        )
    shard = parse_shard(args.shard) if args.shard is not None else None
    if options.kind == "slurm":
        if shard is not None:
            raise ConfigError("--shard I/N is for one job; with --executor slurm give --shards N (all of them)")
        if args.shards is None or args.shards < 1:
            raise ConfigError("--executor slurm needs --shards N (N >= 1): the number of array jobs")
    elif args.shards is not None:
        raise ConfigError(f"--shards {args.shards} needs --executor slurm (or run one shard here with --shard I/N)")
    needed = ["torchvision", "PIL", "open_clip"] if args.frames is not None else []
    needed += ["librosa", "laion_clap"] if args.audio is not None else []
    _require(needed)
    if args.batch_size < 1 or args.workers < 0:
        raise UserError("--batch-size must be >= 1 and --workers >= 0")
    if options.kind == "slurm":
        return _submit_shards(args, options)
    reports = extract_shard(args, shard)
    return 1 if any(r["failed"] for r in reports) else 0


def extract_shard(args, shard: tuple[int, int] | None) -> list[dict]:
    """Load the teachers and extract the clips of ``shard`` (None: all); print what happened and
    return the teachers' reports as dicts (what a SLURM job sends back)."""
    from linkpaper.teachers.extract import ExtractConfig, find_clips, run_extraction

    config = ExtractConfig(
        out=args.out,
        frames=args.frames,
        audio=args.audio,
        labels=_weak_labels_path(args),
        batch_size=args.batch_size,
        workers=args.workers,
        overwrite=args.overwrite,
        limit=args.limit,
        shard=shard,
    )
    clips = find_clips(config.frames, config.audio)
    if not clips:
        raise UserError(
            f"no clips found under {args.frames or ''} {args.audio or ''}: expected frame folders "
            "DIR/<name>/000001.jpg and/or audio files DIR/<name>.wav|.flac|.mp4"
        )
    device = _device(args.device)
    clip_teacher = clap_teacher = None
    if config.frames is not None:
        from linkpaper.teachers.clip_teacher import load_clip_teacher

        print(f"loading CLIP ViT-L/14 (OpenAI) from {args.clip_checkpoint or 'the open_clip cache'} ...")
        clip_teacher = load_clip_teacher(args.clip_checkpoint, device=device)
    if config.audio is not None:
        from linkpaper.teachers.clap_teacher import load_clap_teacher

        print(
            "loading LAION-CLAP (HTSAT-tiny, fusion) from "
            f"{args.clap_checkpoint or 'the laion_clap package folder'} ..."
        )
        clap_teacher = load_clap_teacher(args.clap_checkpoint, device=device)
    reports = run_extraction(config, clip_teacher, clap_teacher)
    for r in reports:
        print(
            f"{r.teacher}: {r.found} clips, {r.extracted} extracted, {r.skipped_done} already done, "
            f"{r.gated} gated by weak labels, {r.regated} done clips newly gated, {len(r.failed)} failed"
        )
        if r.extracted and r.gated < r.extracted:
            print(f"  {r.extracted - r.gated} clips have no weak label: only ungated pseudo labels written")
    print(f"wrote {args.out}")
    for r in reports:
        print(r.summary(shard))
    return [{**vars(r), "missing": r.missing} for r in reports]


class ExtractShardJob:
    """One shard of ``extract`` as a submitit job; ``checkpoint`` requeues it after a timeout or a
    preemption (finished clips are skipped, so it picks up where it stopped)."""

    def __call__(self, args, shard: tuple[int, int]) -> list[dict] | dict:
        """The shard's reports, or ``{"error": message}`` for a UserError (missing weights, bad input)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "0" if args.allow_download else "1")
        try:
            return extract_shard(args, shard)
        except UserError as err:
            return {"error": str(err)}

    def checkpoint(self, *args, **kwargs):
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def _submit_shards(args, options) -> int:
    """Submit shards 0/N ... N-1/N as one job array; wait (unless --no-wait) and add them up."""
    import copy

    from linkpaper.training.cluster import failure_text, make_submitit_executor, wait_for_jobs

    count = args.shards
    options.name = "linkpaper-extract"
    folder = Path(args.out) / "submitit"
    executor = make_submitit_executor(options, folder)
    job_args = copy.copy(args)
    job_args.executor, job_args.shards = "sequential", None
    jobs = executor.map_array(ExtractShardJob(), [job_args] * count, [(i, count) for i in range(count)])
    print(f"submitted {count} extraction shards (job array {jobs[0].job_id.split('_')[0]}); logs in {folder}")
    if not options.wait:
        print(
            "when they have finished, the same command without --no-wait resubmits only what is missing "
            "(done clips are skipped) and prints the totals"
        )
        return 0
    totals: dict[str, dict] = {}
    failed_jobs = []
    shard_of_job = {job.job_id: i for i, job in enumerate(jobs)}
    for job in wait_for_jobs(jobs, "extraction shards"):
        where = f"shard {shard_of_job[job.job_id]}/{count} (job {job.job_id})"
        try:
            reports = job.result()
        except Exception as err:
            failed_jobs.append(f"{where}: {failure_text(err, job)}")
            continue
        if isinstance(reports, dict):
            failed_jobs.append(f"{where}: {reports['error']}")
            continue
        for r in reports:
            total = totals.setdefault(r["teacher"], {"found": 0, "done": 0, "missing": 0, "failed": 0})
            for key in ("found", "done", "missing"):
                total[key] += r[key]
            total["failed"] += len(r["failed"])
    for name, t in totals.items():
        print(
            f"{name}: {t['found']} clips in {count - len(failed_jobs)} of {count} shards: {t['done']} done, "
            f"{t['missing']} missing, {t['failed']} failed"
        )
    for message in sorted(failed_jobs):
        print(f"FAILED: {message}")
    return 1 if failed_jobs or any(t["failed"] or t["missing"] for t in totals.values()) else 0


def _device(name: str):
    import torch

    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise UserError(f"--device {name}: {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available in this environment (torch {torch.__version__})")
    return device
