"""The cost of one epoch of each method of the field, through the engine (``linkpaper.training.engine.fit``).

    python benchmarks/bench_methods.py                          # synth:small, every method, 1 thread
    python benchmarks/bench_methods.py --max-batches 10         # time 10 steps, scale to the epoch
    python benchmarks/bench_methods.py --methods han,leap --threads 2

Each method trains under its own recipe (its batch size, optimiser and loss; JoMoLD's final
stage with its label dropping) on data generated once, from a fresh seeded model, then runs one
validation pass. Printed per method: the optimiser steps of one epoch, the process CPU seconds
and the wall-clock seconds of the training steps (scaled from ``--max-batches`` steps when
given; the first step, set-up included, is not timed) and of the validation pass. CPU seconds
are what a loaded machine distorts least; on a
quiet machine with one thread they equal wall-clock time. JoMoLD's epoch is counted once: its
estimator epoch costs about as much as a HAN epoch at batch 128 (no label dropping, no second
forward pass). Measured figures live in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from linkpaper.data.sources import load_data
from linkpaper.models import list_methods
from linkpaper.training.engine import fit
from linkpaper.training.recipe import recipe_config
from linkpaper.training.scoring import predict, prepare_split


def _clocks():
    return time.process_time(), time.perf_counter()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(["valor++", *list_methods()]))
    parser.add_argument("--data", default="synth:small")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-batches", type=int, default=None, help="time this many steps and scale to the epoch")
    parser.add_argument("--seed", type=int, default=87)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_data(args.data)
    print(
        f"{args.data}: {len(data.train)} training, {len(data.val)} validation videos; {args.threads} thread(s); "
        f"torch {torch.__version__}",
        flush=True,
    )
    for name in args.methods.split(","):
        config = recipe_config(name, data=args.data, epochs=1, seed=args.seed, num_threads=args.threads)
        steps = math.ceil(len(data.train) / config.batch_size)
        timed = min(steps, args.max_batches or steps)
        prepare = None
        if name == "jomold":  # the final stage as trained: noise ratios handed over (values of a typical run)
            from linkpaper.methods.jomold import begin_denoising

            def prepare(model, record):
                begin_denoising(model, torch.full((25,), 0.1), torch.full((25,), 0.2), warmup_steps=1)

        marks = [_clocks()]  # then the clocks after each step: steps 2..K are timed (no set-up, no warm-up)
        fitted = fit(
            config,
            None,
            data,
            max_steps=timed + 1 if timed < steps else timed,
            progress=False,
            evaluate_test=False,
            prepare=prepare,
            on_step=lambda step, marks=marks: marks.append(_clocks()),
        )
        first = 1 if len(marks) > 2 else 0  # an epoch of one step is timed with its set-up
        timed = len(marks) - 1 - first
        train_cpu, train_wall = (end - start for end, start in zip(marks[-1], marks[first]))
        model = fitted.model
        val = prepare_split(model, data.val, "cpu")
        cpu, wall = _clocks()
        predict(model, val, batch_size=config.eval_batch_size)
        val_cpu, val_wall = (clock - start for clock, start in zip(_clocks(), (cpu, wall)))
        scale = steps / timed
        print(
            f"{name:11s} batch {config.batch_size:4d}, {steps:4d} steps/epoch ({timed} timed): "
            f"train CPU {train_cpu * scale:7.1f} s, wall {train_wall * scale:7.1f} s | "
            f"validation forward CPU {val_cpu:5.1f} s, wall {val_wall:5.1f} s | "
            f"{sum(p.numel() for p in model.parameters()):,} parameters",
            flush=True,
        )


if __name__ == "__main__":
    main()
