"""The cost of one epoch of each method of the field, through the engine (``linkpaper.engine.train``).

    python benchmarks/bench_methods.py                          # synth:small, every method, 1 thread
    python benchmarks/bench_methods.py --methods han,leap --threads 2

Each method trains one epoch under its own recipe (its batch size, optimiser, loss; JoMoLD: one
epoch of the estimator, the hand-over, one epoch of the final network) on data generated once;
the line printed per method gives the engine's wall-clock seconds for training and validation
(``results.json``'s ``seconds``) and the process CPU seconds of the whole run (test pass and
JoMoLD's hand-over included), which a loaded machine distorts less than wall-clock time.
Measured figures live in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import time

import torch

from linkpaper.data.sources import load_data
from linkpaper.engine import train
from linkpaper.models import list_methods, list_models
from linkpaper.recipe import method_recipe, recipe_config


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(["valor++", *list_methods()]))
    parser.add_argument("--data", default="synth:small")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=87)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_data(args.data)
    print(f"{args.data}: {len(data.train)} training, {len(data.val)} validation videos; {args.threads} thread(s); "
          f"torch {torch.__version__}", flush=True)
    for name in args.methods.split(","):
        config = recipe_config(name, data=args.data, epochs=1, seed=args.seed, num_threads=args.threads,
                               warmup_epochs=1 if name in list_models() else None)
        cpu, wall = time.process_time(), time.perf_counter()
        record = train(config, None, data=data, progress=False)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        seconds = record.epochs[0]["seconds"]
        stages = record.extra.get("method", {}).get("stages")
        print(f"{name:12s} batch {method_recipe(name)['batch_size']:4d}  train {seconds['train']:7.1f} s  "
              f"val {seconds['val']:5.1f} s  | whole run: wall {wall:7.1f} s, CPU {cpu:7.1f} s"
              f"{'  (estimator epoch + hand-over included)' if stages else ''}  params {record.parameters:,}",
              flush=True)


if __name__ == "__main__":
    main()
