"""Training speed on LLP-sized random data: seconds per epoch, per validation pass, per run.

    python benchmarks/bench_train.py                      # CPU: both audio forms, VALOR++
    python benchmarks/bench_train.py --model link --max-batches 30

Prints, for 10,000 training and 649 validation videos (random tensors, LLP shapes):
* CPU: seconds per training epoch (batch 64, the engine's own loop ``fit``) and per
  validation pass (``predict`` + the vectorised metric), for pooled (10, 768) audio and the
  released (64, 768) maps;
* the arithmetic floor: matrix-product FLOPs per epoch and per validation pass (torch's
  FlopCounterMode) and what they take at this CPU's own large-sgemm speed;
* CUDA, when present: the seconds of a full 60-epoch ``linkpaper.engine.train`` run
  (validation every epoch and the final test pass included), for both audio forms.

``--max-batches K`` times K batches and scales to a whole epoch (ceil(N / 64) batches), which
keeps the maps measurement short on a slow machine; it is printed when used.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS  # noqa: E402
from linkpaper.data.split import AVVPData, AVVPSplit  # noqa: E402
from linkpaper.engine import (TrainConfig, evaluate_split, fit, forward, plsim_inputs, plsim_keys,  # noqa: E402
                              prepare_split, recipe_warmup, train)
from linkpaper.records import hardware  # noqa: E402

AUDIO_TOKENS = {"pooled": NUM_SEGMENTS, "maps": 64}
# VALOR's own code on the same 2-core machines, VALOR++ settings (issue 4, benchmarks/README.md):
# seconds per training epoch and per validation pass (batch size 1).
REFERENCE_EPOCH = {"pooled": 83.0, "maps": 360.0}
REFERENCE_VALIDATION = 14.0


def versus_reference(form: str, epoch: float, val: float) -> str:
    """The figures as speed-ups over the reference (only meaningful for 10,000 / 649 videos)."""
    if form == "pooled":
        whole = REFERENCE_EPOCH[form] + REFERENCE_VALIDATION
        return (f"vs reference: epoch incl. validation {whole / (epoch + val):.2f}x ({whole:.0f} s), "
                f"validation {REFERENCE_VALIDATION / val:.1f}x ({REFERENCE_VALIDATION:.0f} s)")
    return f"vs reference: training epoch {REFERENCE_EPOCH[form] / epoch:.2f}x (about {REFERENCE_EPOCH[form]:.0f} s)"


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
        weak=weak, pseudo_audio=pseudo_audio, pseudo_visual=pseudo_visual,
        pseudo_audio_ungated=labels(n, NUM_SEGMENTS, NUM_CLASSES),
        pseudo_visual_ungated=labels(n, NUM_SEGMENTS, NUM_CLASSES),
        gt_audio=pseudo_audio.numpy() > 0, gt_visual=pseudo_visual.numpy() > 0,
    )


def random_data(audio_form: str, n_train: int, n_val: int, n_test: int, seed: int = 0) -> AVVPData:
    g = torch.Generator().manual_seed(seed)
    return AVVPData(
        train=random_split("train", n_train, audio_form, g), val=random_split("val", n_val, audio_form, g),
        test=random_split("test", n_test, audio_form, g),
        text_audio=torch.randn(NUM_CLASSES, 512, generator=g), text_visual=torch.randn(NUM_CLASSES, 768, generator=g),
        text_source="random", source={"kind": "benchmark", "audio_form": audio_form},
    )


def time_cpu(model_name: str, audio_form: str, args, with_floor: bool) -> tuple[float, float, str, str | None]:
    """(seconds per training epoch, seconds per validation pass, note, arithmetic floor or None)
    on the CPU; the floor (``arithmetic_floor``) is measured only when ``with_floor``.

    The epoch is timed through the engine's own loop (``linkpaper.engine.fit``): ``on_step``
    notes the clock after every step; the first two steps warm up (allocator, kernels), the
    next ones (up to ``--max-batches``) are timed and scaled to ceil(N / 64) batches.
    """
    batches = math.ceil(args.train_videos / 64)
    timed = batches if not args.max_batches else min(args.max_batches, batches)
    warm = 2 if batches > 2 else 0
    data = random_data(audio_form, args.train_videos, args.val_videos, 8)
    config = TrainConfig(model=model_name, device="cpu", batch_size=64, epochs=1, warmup_epochs=recipe_warmup(1),
                         seed=0)
    stamps = [time.perf_counter()]
    model = fit(config, data=data, max_steps=min(timed + warm, batches), progress=False,
                on_step=lambda step: stamps.append(time.perf_counter())).model
    measured = len(stamps) - 1 - warm
    epoch_seconds = (stamps[-1] - stamps[warm]) * batches / measured
    tic = time.perf_counter()
    train_split, val_split = prepare_split(model, data.train, "cpu"), prepare_split(model, data.val, "cpu")
    prepare_seconds = time.perf_counter() - tic  # pooling (64, 768) maps once per run
    uses_plsim = model.config.use_plsim
    keys = plsim_keys("ungated") if uses_plsim else (None, None)
    val_plsim = plsim_inputs(val_split, "ungated") if uses_plsim else (None, None)
    evaluate_split(model, val_split, val_plsim, 1024)
    runs = []
    for _ in range(args.val_repeats):
        tic = time.perf_counter()
        evaluate_split(model, val_split, val_plsim, 1024)
        runs.append(time.perf_counter() - tic)
    note = "" if measured == batches else f" (timed {measured} of {batches} batches, scaled)"
    if audio_form == "maps":
        note += f"; pooling the maps once per run: {prepare_seconds:.2f} s"
    floor = None
    if with_floor:
        floor = arithmetic_floor(model, {k: v[:64] for k, v in train_split.tensor_fields().items()}, keys,
                                 args.train_videos, args.val_videos)
    return epoch_seconds, statistics.median(runs), note, floor


def time_cuda_run(model_name: str, audio_form: str, args) -> float:
    """Seconds of a full ``args.cuda_epochs``-epoch run on CUDA (validation and test included)."""
    data = random_data(audio_form, args.train_videos, args.val_videos, 1200)
    config = TrainConfig(model=model_name, device="cuda", epochs=args.cuda_epochs, data="benchmark")
    train(TrainConfig(model=model_name, device="cuda", epochs=1, data="benchmark"), None, data=data, progress=False)
    torch.cuda.synchronize()
    tic = time.perf_counter()
    train(config, None, data=data, progress=False)
    torch.cuda.synchronize()
    return time.perf_counter() - tic


def sgemm_peak() -> float:
    """FLOP/s of a 2048^3 fp32 matrix product on this CPU (3 warm-up products, 10 timed)."""
    x, y = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        x @ y
    tic = time.perf_counter()
    for _ in range(10):
        x @ y
    return 10 * 2 * 2048**3 / (time.perf_counter() - tic)


def arithmetic_floor(model, batch: dict, plsim_keys: tuple, n_train: int, n_val: int) -> str:
    """Matrix-product FLOPs of a training epoch and a validation pass (torch's FlopCounterMode on
    one batch of ``model``), and the seconds they take at this CPU's large (2048^3) sgemm speed."""
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
    peak = sgemm_peak()
    return (f"arithmetic: training epoch {train_flops / 1e12:.2f} TFLOP, validation pass {val_flops / 1e9:.1f} GFLOP "
            f"of matrix products; this CPU's 2048^3 sgemm runs at {peak / 1e9:.0f} GFLOP/s, so at that peak "
            f"an epoch takes at least {train_flops / peak:.1f} s and a validation pass {val_flops / peak:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="valor++")
    parser.add_argument("--forms", default="pooled,maps", help="audio forms to time")
    parser.add_argument("--train-videos", type=int, default=10000)
    parser.add_argument("--val-videos", type=int, default=649)
    parser.add_argument("--max-batches", type=int, default=0, help="time this many batches and scale (0: whole epoch)")
    parser.add_argument("--val-repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--cuda-epochs", type=int, default=60)
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU timings")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    info = hardware("cpu")
    print(f"CPU: {info['cpu']} ({info['cpu_count']} cores), torch {info['torch']}, {torch.get_num_threads()} threads")
    print(f"data: {args.train_videos} train / {args.val_videos} val videos (random), model {args.model}, batch 64")
    if not args.no_cpu:
        for i, form in enumerate(forms):
            epoch, val, note, floor = time_cpu(args.model, form, args, with_floor=i == 0)
            if floor:
                print(floor)
            print(f"cpu  {form:6s}  train epoch {epoch:8.2f} s{note}   validation pass {val:6.3f} s   "
                  f"epoch incl. validation {epoch + val:8.2f} s")
            if (args.train_videos, args.val_videos) == (10000, 649):
                print(f"     {form:6s}  {versus_reference(form, epoch, val)}")
    if torch.cuda.is_available():
        print(f"CUDA: {torch.cuda.get_device_name(0)}")
        for form in forms:
            seconds = time_cuda_run(args.model, form, args)
            print(f"cuda {form:6s}  full {args.cuda_epochs}-epoch run {seconds:8.2f} s "
                  f"({seconds / args.cuda_epochs:.3f} s/epoch incl. validation)")
    else:
        print("CUDA: not available here (the full-run timing needs a GPU)")


if __name__ == "__main__":
    main()
