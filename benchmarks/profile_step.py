"""Where the CPU time of a training step or a validation pass goes.

    python benchmarks/profile_step.py                     # VALOR++ training step, batch 64, pooled audio
    python benchmarks/profile_step.py --validation        # one validation pass (649 videos)
    python benchmarks/profile_step.py --model link --threads 1

Prints, on LLP-shaped random data, the median wall time of the workload (a training step is
split into forward, loss, backward, clipping and AdamW) and what it is made of:

* its matrix products alone: every ``mm`` / ``addmm`` / ``bmm`` call of the workload is
  recorded (sizes and strides, through a TorchDispatchMode) and replayed on its own, so the
  figure is wall time with no profiler overhead, with its GFLOP/s;
* its dropout masks alone (``linkpaper.models.dropout.dropout_mask``, same shapes);
* what is left: element-wise kernels, softmax, LayerNorm, copies, the metric, Python and dispatch;
* this CPU's large (2048^3) sgemm speed, and the matrix products at that speed.

The figures are measured in interleaved rounds (workload, products, masks, again), so each sees
the machine's speed of the moment. benchmarks/README.md uses them to say which CPU targets are
within reach.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_train import gemm_peak, random_data

import linkpaper.models.dropout as dropout_module
from linkpaper.losses import compute_losses
from linkpaper.models.plsim_labels import PLSIM_LABEL_MODES
from linkpaper.training.engine import make_optimizer, prepare_model
from linkpaper.training.recipe import TrainConfig
from linkpaper.training.scoring import evaluate_split, forward, prepare_split

aten = torch.ops.aten
PRODUCTS = {aten.mm.default: "mm", aten.addmm.default: "addmm", aten.bmm.default: "bmm"}


def product_flops(name: str, args) -> int:
    """2 * M * N * K (times the batch for bmm) of one call; ``args`` are tensors or Operands."""
    a, b = (args[1], args[2]) if name == "addmm" else (args[0], args[1])
    if name == "bmm":
        return 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    return 2 * a.shape[0] * a.shape[1] * b.shape[1]


@dataclass(frozen=True)
class Operand:
    """A recorded tensor operand: its sizes and strides."""

    shape: torch.Size
    stride: tuple

    def random(self) -> torch.Tensor:
        """A random tensor with these sizes and strides (broadcast strides of 0 included)."""
        storage = 1 + sum((size - 1) * step for size, step in zip(self.shape, self.stride))
        return torch.randn(storage).as_strided(self.shape, self.stride)


class RecordProducts(TorchDispatchMode):
    """Records (op, operand sizes and strides, scalar arguments) of every matrix product, and
    counts all aten operations and the views among them."""

    def __init__(self):
        super().__init__()
        self.calls: list = []
        self.operations = 0  # every aten operation (each a kernel launch on a GPU, unless a view)
        self.views = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.operations += 1
        self.views += func.is_view
        if func in PRODUCTS:
            layout = [Operand(a.shape, a.stride()) if isinstance(a, torch.Tensor) else a for a in args]
            self.calls.append((func, layout, dict(kwargs)))
        return func(*args, **kwargs)


def replay_products(calls: list, repeats: int) -> float:
    """Median seconds of running the recorded products alone (random operands with the
    recorded sizes and strides, so transposed operands stay transposed)."""
    prepared = [
        (func, [item.random() if isinstance(item, Operand) else item for item in layout], kwargs)
        for func, layout, kwargs in calls
    ]
    for func, args, kwargs in prepared:  # warm-up
        func(*args, **kwargs)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        for func, args, kwargs in prepared:
            func(*args, **kwargs)
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def record(workload) -> tuple[RecordProducts, list]:
    """Run ``workload`` once, recording its operations (a RecordProducts) and its dropout
    masks' shapes."""
    masks: list = []
    real_mask = dropout_module.dropout_mask

    def recording_mask(shape, p, dtype=torch.float32):
        masks.append((tuple(shape), p))
        return real_mask(shape, p, dtype)

    recorder = RecordProducts()
    dropout_module.dropout_mask = recording_mask
    try:
        with recorder:
            workload()
    finally:
        dropout_module.dropout_mask = real_mask
    return recorder, masks


def time_masks(masks: list) -> float:
    tic = time.perf_counter()
    for shape, p in masks:
        dropout_module.dropout_mask(shape, p)
    return time.perf_counter() - tic


def training_workload(model, optimizer, batch: dict, keys: tuple, clip_norm: float):
    """One engine step (as ``engine.training_step``) that returns the seconds of its parts."""
    names = ("forward", "loss", "backward", "clip", "AdamW")

    def step() -> dict:
        plsim = tuple(None if key is None else batch[key] for key in keys)
        marks = [time.perf_counter()]
        output = forward(model, batch, plsim)
        marks.append(time.perf_counter())
        losses = compute_losses(model, output, batch)
        marks.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        marks.append(time.perf_counter())
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        marks.append(time.perf_counter())
        optimizer.step()
        marks.append(time.perf_counter())
        return dict(zip(names, (b - a for a, b in zip(marks, marks[1:]))))

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="valor++")
    parser.add_argument("--audio", default="pooled", choices=["pooled", "maps"])
    parser.add_argument("--validation", action="store_true", help="profile a validation pass, not a training step")
    parser.add_argument("--batch-size", type=int, default=64, help="training batch size")
    parser.add_argument("--val-videos", type=int, default=649)
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of (workload, products alone, masks alone); medians over rounds"
    )
    parser.add_argument("--repeats", type=int, default=5, help="workload runs per round")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    B = args.batch_size
    data = random_data(args.audio, B, args.val_videos, 8)
    config = TrainConfig(model=args.model, device="cpu", batch_size=B).validate()
    torch.manual_seed(0)
    model, uses_plsim, _ = prepare_model(config, data, "cpu")
    if args.validation:
        val = prepare_split(model, data.val, "cpu")
        plsim = PLSIM_LABEL_MODES["ungated"].labels(val) if uses_plsim else (None, None)
        what = f"validation pass ({args.val_videos} videos, batches of 1,024, metric included)"

        def workload() -> dict:
            tic = time.perf_counter()
            evaluate_split(model, val, plsim, 1024)
            return {"pass": time.perf_counter() - tic}
    else:
        keys = PLSIM_LABEL_MODES["ungated"].fields if uses_plsim else (None, None)
        batch = prepare_split(model, data.train, "cpu").tensor_fields()
        workload = training_workload(model, make_optimizer(model, config, "cpu"), batch, keys, config.clip_norm)
        model.train()
        what = f"training step (batch {B})"
    workload()  # warm-up
    recorder, masks = record(workload)
    calls = recorder.calls
    kinds = sorted({PRODUCTS[func] for func, _, _ in calls})
    rounds: dict = {}
    for _ in range(args.rounds):  # interleaved, so every figure sees the machine's speed of the moment
        runs = [workload() for _ in range(args.repeats)]
        rounds.setdefault("total", []).append(statistics.median(sum(r.values()) for r in runs))
        for name in runs[0]:
            rounds.setdefault(name, []).append(statistics.median(r[name] for r in runs))
        rounds.setdefault("products", []).append(replay_products(calls, 3))
        for kind in kinds:
            rounds.setdefault(kind, []).append(replay_products([c for c in calls if PRODUCTS[c[0]] == kind], 3))
        rounds.setdefault("masks", []).append(statistics.median(time_masks(masks) for _ in range(3)))
    ms = {name: statistics.median(values) * 1e3 for name, values in rounds.items()}
    flops = {
        kind: sum(product_flops(kind, layout) for func, layout, _ in calls if PRODUCTS[func] == kind) for kind in kinds
    }
    total_flops = sum(flops.values())
    peak = gemm_peak()

    total = ms["total"]
    share = lambda x: f"{100 * x / total:.0f} %"  # noqa: E731
    print(
        f"model {args.model}, {args.audio} audio, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"medians of {args.rounds} rounds of {args.repeats}"
    )
    parts = [name for name in runs[0] if len(runs[0]) > 1]
    print(f"{what}: {total:.1f} ms" + (" = " + " + ".join(f"{name} {ms[name]:.1f}" for name in parts) if parts else ""))
    print(
        f"aten operations: {recorder.operations} ({recorder.views} views, {recorder.operations - recorder.views} "
        f"others: about one kernel launch each on a GPU)"
    )
    print(
        f"matrix products alone ({total_flops / 1e9:.1f} GFLOP): {ms['products']:.1f} ms = {share(ms['products'])}, "
        f"{total_flops / ms['products'] / 1e6:.0f} GFLOP/s"
    )
    for kind in kinds:
        count = sum(PRODUCTS[func] == kind for func, _, _ in calls)
        print(
            f"    {count:5d} {kind:6s} {ms[kind]:8.1f} ms  {flops[kind] / 1e9:6.2f} GFLOP  "
            f"{flops[kind] / ms[kind] / 1e6:4.0f} GFLOP/s"
        )
    elements = sum(torch.Size(shape).numel() for shape, _ in masks)
    print(
        f"dropout masks alone ({len(masks)} masks, {elements / 1e6:.1f} M elements): {ms['masks']:.1f} ms = "
        f"{share(ms['masks'])}"
    )
    rest = total - ms["products"] - ms["masks"]
    print(
        f"everything else (element-wise, softmax, LayerNorm, copies, metric, Python, dispatch): {rest:.1f} ms = "
        f"{share(rest)}"
    )
    print(
        f"this CPU's 2048^3 sgemm: {peak / 1e9:.0f} GFLOP/s; these matrix products at that speed: "
        f"{total_flops / peak * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
