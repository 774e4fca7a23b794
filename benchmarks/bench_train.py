"""Training speed on LLP-sized random data, fp32 and bf16 side by side: seconds per epoch, per
validation pass, per run.

    python benchmarks/bench_train.py                        # CPU: both audio forms, VALOR++, fp32 and bf16
    python benchmarks/bench_train.py --max-batches 25 --rounds 3 --threads 1
    python benchmarks/bench_train.py --reference ~/VALOR    # and VALOR's own loop, timed in the same run
    python benchmarks/bench_train.py --compile              # also torch.compile'd, compile time apart

Prints, for 10,000 training and 649 validation videos (random tensors, LLP shapes):
* the CPU model and its bf16 flags (``avx512_bf16``, ``amx_bf16``; without them bf16 is
  emulated and the line says so), printed again with every bf16 figure;
* CPU: seconds per training epoch (batch 64, the engine's own loop ``fit``) and per
  validation pass (``predict`` + the vectorised metric), for pooled (10, 768) audio and the
  released (64, 768) maps, in each precision (``--precisions``); ``--rounds N`` repeats the
  whole set alternating the precisions (fp32, bf16, fp32, bf16, ...) and prints the medians,
  so the two share the machine's speed of the moment, and bf16's speed-up over fp32;
* the arithmetic floor: matrix-product FLOPs per epoch and per validation pass (torch's
  FlopCounterMode) and what they take at this CPU's own large-product speed in fp32 and bf16;
* the reference: with ``--reference PATH`` (a checkout of VALOR's code, github.com/Franklin905/VALOR)
  its own training and evaluation functions (``main_avvp.train`` / ``main_avvp.eval`` with
  ``main_network.MMIL_Net`` at VALOR++'s size) timed on the same preloaded tensors in the same
  run, and the speed-ups over it; without it, the stored figure with the machine and date it
  was measured on, and no ratio (a ratio against another machine's figure means nothing);
* ``--compile``: the same with the model's forward ``torch.compile``'d; the compilation (the
  first steps, the first validation pass) is printed apart from the steady-state figures;
* CUDA, when present: the seconds of a full 60-epoch ``linkpaper.training.engine.train`` run
  (validation every epoch and the final test pass included), for both audio forms and each
  precision.

``--clock cpu`` measures this process's CPU seconds instead of elapsed ones: on a machine that
other processes load, they do not inflate it (use it with ``--threads 1``).
``--max-batches K`` times K batches and scales to a whole epoch (ceil(N / 64) batches), which
keeps the measurement short on a slow machine; it is printed when used.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import math
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from linkpaper.classes import CLASSES, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.split import AVVPData, AVVPSplit
from linkpaper.models.plsim_labels import PLSIM_LABEL_MODES
from linkpaper.training.engine import fit, train
from linkpaper.training.precision import PRECISIONS, bf16_support
from linkpaper.training.provenance import hardware
from linkpaper.training.recipe import TrainConfig, recipe_warmup
from linkpaper.training.scoring import evaluate_split, forward, prepare_split

AUDIO_TOKENS = {"pooled": NUM_SEGMENTS, "maps": 64}
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
"""``--clock``: elapsed seconds, or this process's CPU seconds (all its threads), which other
processes on a loaded machine do not inflate (with ``--threads 1``: the work's own compute time)."""
clock = CLOCKS["wall"]
LLP_SIZE = (10000, 649)  # training, validation videos: the only size the reference figures are for

STORED_REFERENCE = {
    "pooled": {"epoch": 125.0, "validation": 20.0},
    "maps": {"epoch": None, "validation": None},
    "machine": "2 vCPUs of an Intel Xeon with AMX and avx512_bf16, torch 2.13.0+cpu, heavily loaded",
    "date": "2026-12-07",
    "how": "--reference on preloaded tensors, 1 thread, CPU seconds (--clock cpu), median of 3 rounds",
}
"""VALOR's own loop, timed by ``--reference`` on the same preloaded tensors (benchmarks/README.md)."""


def random_split(name: str, n: int, audio_form: str, generator: torch.Generator) -> AVVPSplit:
    """An AVVPSplit of ``n`` random videos with LLP shapes (labels ~3 classes per video)."""

    def labels(*shape):
        return (torch.rand(*shape, generator=generator) < 0.12).float()

    weak = labels(n, NUM_CLASSES)
    pseudo_audio = labels(n, NUM_SEGMENTS, NUM_CLASSES) * weak[:, None]
    pseudo_visual = labels(n, NUM_SEGMENTS, NUM_CLASSES) * weak[:, None]
    return AVVPSplit(
        name=name,
        filenames=[f"{i:011d}_0_10.mp4" for i in range(n)],
        audio=torch.randn(n, AUDIO_TOKENS[audio_form], 768, generator=generator),
        visual=torch.randn(n, NUM_SEGMENTS, 768, generator=generator),
        visual_3d=torch.randn(n, NUM_SEGMENTS, 512, generator=generator),
        weak=weak,
        pseudo_audio=pseudo_audio,
        pseudo_visual=pseudo_visual,
        pseudo_audio_ungated=labels(n, NUM_SEGMENTS, NUM_CLASSES),
        pseudo_visual_ungated=labels(n, NUM_SEGMENTS, NUM_CLASSES),
        gt_audio=pseudo_audio.numpy() > 0,
        gt_visual=pseudo_visual.numpy() > 0,
    )


def random_data(audio_form: str, n_train: int, n_val: int, n_test: int, seed: int = 0) -> AVVPData:
    g = torch.Generator().manual_seed(seed)
    return AVVPData(
        train=random_split("train", n_train, audio_form, g),
        val=random_split("val", n_val, audio_form, g),
        test=random_split("test", n_test, audio_form, g),
        text_audio=torch.randn(NUM_CLASSES, 512, generator=g),
        text_visual=torch.randn(NUM_CLASSES, 768, generator=g),
        text_source="random",
        source={"kind": "benchmark", "audio_form": audio_form},
    )


def time_cpu(
    model_name: str,
    audio_form: str,
    precision: str,
    args,
    with_floor: bool = False,
    compile: bool = False,
    data: AVVPData | None = None,
) -> dict:
    """One CPU measurement: ``{"epoch", "val"}`` seconds, ``"note"``, ``"floor"`` (the arithmetic
    floor, only when ``with_floor``) and, when ``compile``, ``"compile"`` (seconds the first calls
    took beyond the steady state: the training steps and the first validation pass).

    The epoch is timed through the engine's own loop (``linkpaper.training.engine.fit``): ``on_step``
    notes the clock after every step; the first two steps warm up (allocator, kernels,
    compilation), the next ones (up to ``--max-batches``) are timed and scaled to ceil(N / 64)
    batches. The validation pass is the median of ``--val-repeats`` passes after one warm-up.
    """
    batches = math.ceil(args.train_videos / 64)
    timed = batches if not args.max_batches else min(args.max_batches, batches)
    warm = 2 if batches > 2 else 0
    data = data or random_data(audio_form, args.train_videos, args.val_videos, 8)
    config = TrainConfig(
        model=model_name,
        device="cpu",
        batch_size=64,
        epochs=1,
        warmup_epochs=recipe_warmup(1),
        seed=0,
        precision=precision,
        compile=compile,
        data="benchmark",
    )
    stamps = [clock()]
    model = fit(
        config,
        data=data,
        max_steps=min(timed + warm, batches),
        progress=False,
        on_step=lambda step: stamps.append(clock()),
    ).model
    measured = len(stamps) - 1 - warm
    step_seconds = (stamps[-1] - stamps[warm]) / measured
    result = {"epoch": step_seconds * batches}
    tic = clock()
    train_split, val_split = prepare_split(model, data.train, "cpu"), prepare_split(model, data.val, "cpu")
    prepare_seconds = clock() - tic  # pooling (64, 768) maps once per run
    uses_plsim = model.config.use_plsim
    keys = PLSIM_LABEL_MODES["ungated"].fields if uses_plsim else (None, None)
    val_plsim = PLSIM_LABEL_MODES["ungated"].labels(val_split) if uses_plsim else (None, None)
    tic = clock()
    evaluate_split(model, val_split, val_plsim, 1024)
    first_val = clock() - tic
    runs = []
    for _ in range(args.val_repeats):
        tic = clock()
        evaluate_split(model, val_split, val_plsim, 1024)
        runs.append(clock() - tic)
    result["val"] = statistics.median(runs)
    if compile:
        result["compile"] = (stamps[warm] - stamps[0] - warm * step_seconds) + (first_val - result["val"])
    note = "" if measured == batches else f" (timed {measured} of {batches} batches, scaled)"
    if audio_form == "maps":
        note += f"; pooling the maps once per run: {prepare_seconds:.2f} s"
    result["note"] = note
    if with_floor:
        result["floor"] = arithmetic_floor(
            model, {k: v[:64] for k, v in train_split.tensor_fields().items()}, keys, args.train_videos, args.val_videos
        )
    return result


def time_cuda_run(model_name: str, audio_form: str, precision: str, args) -> float:
    """Seconds of a full ``args.cuda_epochs``-epoch run on CUDA (validation and test included)."""
    data = random_data(audio_form, args.train_videos, args.val_videos, 1200)
    config = TrainConfig(
        model=model_name,
        device="cuda",
        epochs=args.cuda_epochs,
        data="benchmark",
        precision=precision,
        compile=args.compile,
    )
    warm_up = TrainConfig(
        model=model_name, device="cuda", epochs=1, data="benchmark", precision=precision, compile=args.compile
    )
    train(warm_up, None, data=data, progress=False)
    torch.cuda.synchronize()
    tic = time.perf_counter()
    train(config, None, data=data, progress=False)
    torch.cuda.synchronize()
    return time.perf_counter() - tic


def gemm_peak(dtype: torch.dtype = torch.float32) -> float:
    """FLOP/s of a 2048^3 matrix product in ``dtype`` on this CPU (3 warm-up products, 10 timed)."""
    x, y = torch.randn(2048, 2048).to(dtype), torch.randn(2048, 2048).to(dtype)
    for _ in range(3):
        x @ y
    tic = clock()
    for _ in range(10):
        x @ y
    return 10 * 2 * 2048**3 / (clock() - tic)


def arithmetic_floor(model, batch: dict, plsim_keys: tuple, n_train: int, n_val: int) -> str:
    """Matrix-product FLOPs of a training epoch and a validation pass (torch's FlopCounterMode on
    one batch of ``model``), and the seconds they take at this CPU's large (2048^3) product speed
    in fp32 and in bf16."""
    from torch.utils.flop_counter import FlopCounterMode

    size = next(iter(batch.values())).shape[0]
    plsim = tuple(None if key is None else batch[key] for key in plsim_keys)
    was_training = model.training
    model.train()
    with FlopCounterMode(display=False) as counter:
        forward(model, batch, plsim).global_prob.sum().backward()
    model.zero_grad(set_to_none=True)
    train_flops = counter.get_total_flops() * n_train / size  # forward + backward
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        forward(model, batch, plsim)
    val_flops = counter.get_total_flops() * n_val / size
    model.train(was_training)
    lines = [
        f"arithmetic: training epoch {train_flops / 1e12:.2f} TFLOP, validation pass {val_flops / 1e9:.1f} GFLOP "
        "of matrix products"
    ]
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        peak = gemm_peak(dtype)
        lines.append(
            f"  {name}: this CPU's 2048^3 product runs at {peak / 1e9:.0f} GFLOP/s, so at that peak an epoch "
            f"takes at least {train_flops / peak:.1f} s and a validation pass {val_flops / peak:.2f} s"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The reference: VALOR's own training and evaluation functions, from a checkout the user names
# --------------------------------------------------------------------------------------------


def import_reference(path: str | Path):
    """(main_avvp, main_network) imported from the VALOR checkout at ``path``.

    Their module-level imports include wandb and prettytable, which the timed functions never
    call (``use_wandb`` is off and no result table is printed); where they are not installed, an
    empty module stands in for them."""
    path = Path(path).expanduser().resolve()
    missing = [name for name in ("main_avvp.py", "main_network.py") if not (path / name).is_file()]
    if missing:
        raise SystemExit(
            f"bench_train: --reference {path}: no {', '.join(missing)} there; "
            "give the folder of a checkout of github.com/Franklin905/VALOR"
        )
    for name in ("wandb", "prettytable"):
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    sys.path.insert(0, str(path))
    try:
        return importlib.import_module("main_avvp"), importlib.import_module("main_network")
    except ImportError as err:
        raise SystemExit(
            f"bench_train: --reference {path}: cannot import VALOR's code ({err}); "
            "install what it needs into this environment"
        ) from None


def write_reference_annotations(split: AVVPSplit, folder: Path) -> None:
    """The split's dense ground truth as the reference's ``AVVP_eval_audio.csv`` /
    ``AVVP_eval_visual.csv`` (tab-separated filename, event_labels, onset, offset), one row per
    run of consecutive active segments."""
    for modality, gt in (("audio", split.gt_audio), ("visual", split.gt_visual)):
        with open(folder / f"AVVP_eval_{modality}.csv", "w", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t")
            writer.writerow(["filename", "event_labels", "onset", "offset"])
            for name, video in zip(split.filenames, np.asarray(gt, dtype=bool)):
                for c in np.flatnonzero(video.any(axis=0)):
                    edges = np.diff(np.concatenate([[0], video[:, c].astype(np.int8), [0]]))
                    for onset, offset in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
                        writer.writerow([name, CLASSES[c], int(onset), int(offset)])


def _reference_batch(split: AVVPSplit, index) -> dict:
    return {
        "audio": split.audio[index],
        "video_s": split.visual[index],
        "video_st": split.visual_3d[index],
        "label": split.weak[index],
        "audio_pseudo_labels": split.pseudo_audio[index],
        "visual_pseudo_labels": split.pseudo_visual[index],
    }


def time_reference(path: str | Path, data: AVVPData, args) -> dict:
    """``{"epoch", "val"}`` seconds of VALOR's own ``train`` (scaled from ``--max-batches``
    batches after two warm-up batches, as ours) and ``eval`` (the whole validation split, batch 1,
    its per-video ground truth read from CSV files as the reference does) on ``data``'s tensors,
    already in memory: batches are gathered from them, so no file is read during the epoch."""
    main_avvp, main_network = import_reference(path)
    settings = types.SimpleNamespace(
        input_a_dim=768,
        input_v_dim=768,
        hidden_dim=256,
        nhead=8,
        ff_dim=1024,
        num_layers=4,
        norm_where="post_norm",
        grad_norm=1.0,
        use_wandb=False,  # scripts/train_valor++.sh
    )
    torch.manual_seed(0)
    model = main_network.MMIL_Net(settings)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1e-3, betas=(0.5, 0.999), eps=1e-8)
    criterion = torch.nn.BCELoss()
    train_split, val_split = data.train, data.val
    n = len(train_split)
    batches = math.ceil(n / 64)
    timed = batches if not args.max_batches else min(args.max_batches, batches)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))

    def loader(first: int, count: int):
        for b in range(first, first + count):
            yield _reference_batch(train_split, order[b * 64 : (b + 1) * 64])

    warm = 2 if batches > 2 else 0
    if warm:
        main_avvp.train(settings, model, list(loader(0, warm)), optimizer, criterion, 1, "cpu")
    count = min(timed, batches - warm)
    tic = clock()
    main_avvp.train(settings, model, loader(warm, count), optimizer, criterion, 1, "cpu")
    epoch = (clock() - tic) * batches / count
    val_loader = [
        {"video_name": [name], **_reference_batch(val_split, slice(i, i + 1))}
        for i, name in enumerate(val_split.filenames)
    ]
    with tempfile.TemporaryDirectory() as folder:
        write_reference_annotations(val_split, Path(folder))
        tic = clock()
        main_avvp.eval(settings, model, val_loader, folder, criterion, "cpu")
        val = clock() - tic
    return {"epoch": epoch, "val": val}


def stored_reference_text(form: str) -> str:
    """The stored reference figure of ``form`` with its machine and date (no ratio), or a line
    saying there is none."""
    figure = STORED_REFERENCE[form]
    if figure["epoch"] is None:
        return f"reference {form}: no stored figure; time it with --reference PATH (a checkout of VALOR)"
    val = f" + validation pass {figure['validation']:.1f} s" if figure["validation"] is not None else ""
    return (
        f"reference {form}: training epoch {figure['epoch']:.1f} s{val}, measured {STORED_REFERENCE['date']} "
        f"on {STORED_REFERENCE['machine']} ({STORED_REFERENCE['how']}); not this run, so no ratio: "
        "pass --reference PATH to time it here"
    )


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def median_of(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def spread(results: list[dict], key: str) -> str:
    values = [r[key] for r in results]
    return f" [{min(values):.2f}-{max(values):.2f}]" if len(values) > 1 else ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="valor++")
    parser.add_argument("--forms", default="pooled,maps", help="audio forms to time")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="default %(default)s")
    parser.add_argument("--train-videos", type=int, default=LLP_SIZE[0])
    parser.add_argument("--val-videos", type=int, default=LLP_SIZE[1])
    parser.add_argument("--max-batches", type=int, default=0, help="time this many batches and scale (0: whole epoch)")
    parser.add_argument("--val-repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="repeat every measurement, alternating the precisions")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--reference",
        metavar="PATH",
        default=None,
        help="a checkout of VALOR's code (github.com/Franklin905/VALOR): time its loop in this run",
    )
    parser.add_argument("--compile", action="store_true", help="also time the torch.compile'd forward")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall: elapsed seconds (default); cpu: this process's CPU seconds, for a loaded machine",
    )
    parser.add_argument("--cuda-epochs", type=int, default=60)
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU timings")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown:
        raise SystemExit(
            f"bench_train: --precisions: unknown {', '.join(unknown)}; choose from {', '.join(PRECISIONS)}"
        )
    info = hardware("cpu")
    support = bf16_support("cpu")
    cpu_line = f"{info['cpu']} ({info['cpu_count']} cores; {support['text']})"
    print(f"CPU: {cpu_line}, torch {info['torch']}, {torch.get_num_threads()} threads")
    print(
        f"data: {args.train_videos} train / {args.val_videos} val videos (random), model {args.model}, batch 64, "
        f"{args.rounds} round(s) alternating {', '.join(precisions)}; {args.clock} seconds"
    )
    variants = [(p, False) for p in precisions] + ([(p, True) for p in precisions] if args.compile else [])
    llp_size = (args.train_videos, args.val_videos) == LLP_SIZE
    if not args.no_cpu:
        for i, form in enumerate(forms):
            data = random_data(form, args.train_videos, args.val_videos, 8)
            results = {variant: [] for variant in variants}
            reference = []
            for round_index in range(args.rounds):
                for j, (precision, compiled) in enumerate(variants):
                    result = time_cpu(
                        args.model,
                        form,
                        precision,
                        args,
                        compile=compiled,
                        data=data,
                        with_floor=i == 0 and j == 0 and round_index == 0,
                    )
                    if "floor" in result:
                        print(result["floor"])
                    results[(precision, compiled)].append(result)
                    print(
                        f"cpu  {form:6s} {label(precision, compiled):13s} train epoch {result['epoch']:8.2f} s"
                        f"{result['note']}   validation pass {result['val']:6.3f} s   "
                        f"epoch incl. validation {result['epoch'] + result['val']:8.2f} s"
                        + (f"   compilation {result['compile']:.1f} s" if compiled else ""),
                        flush=True,
                    )
                if args.reference:
                    reference.append(time_reference(args.reference, data, args))
                    print(
                        f"reference {form:6s} (VALOR's loop) train epoch {reference[-1]['epoch']:8.2f} s   "
                        f"validation pass {reference[-1]['val']:6.3f} s",
                        flush=True,
                    )
            summarise(form, results, reference, cpu_line, args.rounds)
            if not args.reference and llp_size:
                print(f"     {stored_reference_text(form)}")
    if torch.cuda.is_available():
        print(f"CUDA: {torch.cuda.get_device_name(0)} ({bf16_support('cuda')['text']})")
        for form in forms:
            for precision in precisions:
                seconds = time_cuda_run(args.model, form, precision, args)
                print(
                    f"cuda {form:6s} {label(precision, args.compile):13s} full {args.cuda_epochs}-epoch run "
                    f"{seconds:8.2f} s ({seconds / args.cuda_epochs:.3f} s/epoch incl. validation)"
                )
    else:
        print("CUDA: not available here (the full-run timing needs a GPU)")


def label(precision: str, compiled: bool) -> str:
    return precision + (" compiled" if compiled else "")


def summarise(form: str, results: dict, reference: list, cpu_line: str, rounds: int) -> None:
    """The medians over the rounds, bf16 (and compiled) against fp32, and against the reference
    when it was timed in this run."""
    what = "median of " + str(rounds) + " rounds" if rounds > 1 else "one round"
    print(f"     {form} ({what}; CPU: {cpu_line}):")
    base = results.get(("fp32", False))
    for (precision, compiled), runs in results.items():
        epoch, val = median_of(runs, "epoch"), median_of(runs, "val")
        line = (
            f"       {label(precision, compiled):13s} epoch {epoch:8.2f} s{spread(runs, 'epoch')}  "
            f"validation {val:6.3f} s{spread(runs, 'val')}  incl. validation {epoch + val:8.2f} s"
        )
        if base is not None and (precision, compiled) != ("fp32", False):
            line += (
                f"  vs fp32: epoch {median_of(base, 'epoch') / epoch:.2f}x, "
                f"incl. validation {(median_of(base, 'epoch') + median_of(base, 'val')) / (epoch + val):.2f}x"
            )
        if compiled:
            line += f"  (compilation {median_of(runs, 'compile'):.1f} s, not included)"
        if reference:
            ref_epoch, ref_val = median_of(reference, "epoch"), median_of(reference, "val")
            line += (
                f"  vs reference: epoch {ref_epoch / epoch:.2f}x, incl. validation "
                f"{(ref_epoch + ref_val) / (epoch + val):.2f}x, validation {ref_val / val:.1f}x"
            )
        print(line)
    if reference:
        print(
            f"       reference     epoch {median_of(reference, 'epoch'):8.2f} s{spread(reference, 'epoch')}  "
            f"validation {median_of(reference, 'val'):6.3f} s{spread(reference, 'val')}  (VALOR's loop, this run)"
        )


if __name__ == "__main__":
    main()
