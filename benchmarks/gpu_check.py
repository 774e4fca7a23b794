"""The GPU check: what a session lent a GPU runs as is, in under 10 minutes on one H100.

    python benchmarks/gpu_check.py                          # on the GPU; writes benchmarks/gpu_check.json
    python benchmarks/gpu_check.py --device cpu --tiny      # the same code paths at tiny sizes (the tests)

Two measurements, each printed as it finishes and written to the JSON file (rewritten after
each, so a run cut short keeps what it measured):

1. **One full run**: VALOR++ at the paper's size for 60 epochs on LLP-sized random tensors
   (10,000 train, 649 validation, 1,200 test videos; validation every epoch, the final test
   pass included), through ``linkpaper.training.engine.train``, after a one-epoch warm-up, in each
   precision (``--precisions``, default fp32 and bf16). Target: under 30 s.
2. **The grid, several runs at a time on one GPU**: ``linkpaper.training.grid.run_grid`` over the
   eight Table II variants x 3 seeds on ``synth:full`` with the recipe (60 epochs), ``--jobs``
   runs at a time as separate processes sharing the GPU (``--executor local``), in
   ``--grid-precision``. Target: the whole grid in under 5 minutes. Its run folders go to a
   temporary folder unless ``--grid-out`` names one.

The JSON file holds the hardware (GPU, driver and CUDA as torch sees them, CPU), the commit,
the date, every figure and whether each target was met: commit it with the figures (and
copy them into benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_train import random_data

from linkpaper.training.cluster import ExecutorOptions
from linkpaper.training.engine import train
from linkpaper.training.grid import resolve_variants, run_grid
from linkpaper.training.precision import PRECISIONS, bf16_support
from linkpaper.training.provenance import git_commit, hardware
from linkpaper.training.recipe import TrainConfig

TARGETS = {"full_run_s": 30.0, "grid_s": 300.0}
"""Issue 27: a 60-epoch LLP-size run under 30 s on one H100; the Table II grid on synth:full under 5 min."""

FULL = {
    "train": 10000,
    "val": 649,
    "test": 1200,
    "epochs": 60,
    "model_overrides": {},
    "grid_data": "synth:full",
    "variants": "all",
    "seeds": 3,
}
TINY = {
    "train": 96,
    "val": 32,
    "test": 32,
    "epochs": 2,
    "model_overrides": {"hidden_dim": 16, "num_layers": 1, "ff_dim": 32},
    "grid_data": "synth:tiny",
    "variants": "valor++,link",
    "seeds": 1,
}
"""``--tiny``: the same code paths in seconds on a CPU (what the tests run)."""


def full_run(precision: str, size: dict, args) -> dict:
    """Seconds of one ``size["epochs"]``-epoch VALOR++ run on random LLP-shaped tensors (after a
    one-epoch warm-up run), and its best validation and test segment-level Type@AV."""
    data = random_data("pooled", size["train"], size["val"], size["test"])
    config = TrainConfig(
        model="valor++",
        model_overrides=dict(size["model_overrides"]),
        device=args.device,
        epochs=size["epochs"],
        data="benchmark",
        precision=precision,
        compile=args.compile,
        num_threads=args.threads,
    )
    train(dataclasses.replace(config, epochs=1, warmup_epochs=1), None, data=data, progress=False)
    _sync(args.device)
    tic = time.perf_counter()
    record = train(config, None, data=data, progress=False)
    _sync(args.device)
    seconds = time.perf_counter() - tic
    return {
        "precision": precision,
        "compile": args.compile,
        "epochs": size["epochs"],
        "videos": f"{size['train']:,} / {size['val']:,} / {size['test']:,} videos",
        "seconds": seconds,
        "seconds_per_epoch": seconds / size["epochs"],
        "best_epoch": record.best_epoch,
        "val_segment_type": record.best_val["segment"]["type"],
        "test_segment_type": record.test["segment"]["type"],
        "target_met": seconds < TARGETS["full_run_s"],
    }


def grid(size: dict, args) -> dict:
    """Seconds of the whole grid (``run_grid`` with ``--jobs`` local processes) and its runs."""
    variants = resolve_variants(size["variants"])
    seeds = [87 + i for i in range(size["seeds"])]
    config = TrainConfig(
        data=size["grid_data"],
        epochs=size["epochs"],
        model_overrides=dict(size["model_overrides"]),
        device=args.device,
        precision=args.grid_precision,
        compile=args.compile,
        num_threads=args.threads,
    )
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.grid_out) if args.grid_out else Path(scratch) / "grid"
        tic = time.perf_counter()
        report = run_grid(
            config,
            variants,
            seeds,
            out,
            progress=False,
            executor=ExecutorOptions(kind="local", jobs=args.jobs).validate(),
        )
        seconds = time.perf_counter() - tic
    complete = sum(bool(run.get("complete")) for run in report.runs)
    return {
        "data": size["grid_data"],
        "variants": variants,
        "seeds": seeds,
        "runs": len(report.runs),
        "complete": complete,
        "jobs": args.jobs,
        "precision": args.grid_precision,
        "epochs": size["epochs"],
        "seconds": seconds,
        "seconds_per_run": seconds / max(1, len(report.runs)),
        "failures": list(report.failures),
        "target_met": complete == len(report.runs) and seconds < TARGETS["grid_s"],
    }


def _sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def describe_hardware(device: str) -> dict:
    info = hardware(device)
    info["bf16"] = bf16_support(device)["text"]
    if torch.device(device).type == "cuda":
        info["cuda"] = torch.version.cuda
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1)
    return info


def table(result: dict) -> str:
    """The figures as a Markdown table (what benchmarks/README.md takes)."""
    lines = [
        "| measurement | precision | seconds | per epoch / run | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for run in result["full_run"]:
        lines.append(
            f"| {run['epochs']}-epoch run, VALOR++, {run['videos']} | {run['precision']}"
            f"{' compiled' if run['compile'] else ''} | {run['seconds']:.1f} | {run['seconds_per_epoch']:.3f} s/epoch"
            f" | < {TARGETS['full_run_s']:.0f} s | {'yes' if run['target_met'] else 'no'} |"
        )
    if result.get("grid"):
        g = result["grid"]
        lines.append(
            f"| grid: {len(g['variants'])} variants x {len(g['seeds'])} seeds on {g['data']}, {g['jobs']} at a time"
            f" ({g['complete']}/{g['runs']} complete) | {g['precision']} | {g['seconds']:.1f} | "
            f"{g['seconds_per_run']:.1f} s/run | < {TARGETS['grid_s']:.0f} s | {'yes' if g['target_met'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="default %(default)s")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the tests run this on the CPU)")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="of the full run (default %(default)s)")
    parser.add_argument("--grid-precision", default="bf16", choices=PRECISIONS, help="default %(default)s")
    parser.add_argument("--jobs", type=int, default=8, help="grid runs at a time on the one GPU (default %(default)s)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads per run (default: torch's / the grid's)"
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the forward (compilation counts in the time)"
    )
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-grid", action="store_true")
    parser.add_argument(
        "--grid-out", default=None, help="keep the grid's run folders here (default: a temporary folder)"
    )
    parser.add_argument("--json", default=str(HERE / "gpu_check.json"), help="default %(default)s")
    args = parser.parse_args(argv)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print(
            "gpu_check: CUDA is not available here; run it on a GPU machine, "
            "or with --device cpu --tiny to try the code",
            file=sys.stderr,
        )
        return 2
    size = TINY if args.tiny else FULL
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "code": git_commit(),
        "hardware": describe_hardware(args.device),
        "tiny": args.tiny,
        "targets": TARGETS,
        "full_run": [],
        "grid": None,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    hw = result["hardware"]
    print(
        f"device: {hw['device_name']} ({hw['device']}; {hw['bf16']}), torch {hw['torch']}"
        + (f", CUDA {hw['cuda']}" if "cuda" in hw else "")
        + f"; CPU {hw['cpu']}"
    )
    started = time.perf_counter()
    if not args.skip_full:
        for precision in precisions:
            run = full_run(precision, size, args)
            result["full_run"].append(run)
            out.write_text(json.dumps(result, indent=1) + "\n")
            print(
                f"full run {precision}: {run['seconds']:.1f} s ({run['seconds_per_epoch']:.3f} s/epoch), "
                f"val segment Type@AV {run['val_segment_type']:.2f}",
                flush=True,
            )
    if not args.skip_grid:
        result["grid"] = grid(size, args)
        out.write_text(json.dumps(result, indent=1) + "\n")
        g = result["grid"]
        print(
            f"grid: {g['complete']} of {g['runs']} runs complete in {g['seconds']:.1f} s, {g['jobs']} at a time",
            flush=True,
        )
        for failure in g["failures"]:
            print(f"  FAILED: {failure}")
    result["seconds_total"] = time.perf_counter() - started
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    print(f"total {result['seconds_total']:.0f} s; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
