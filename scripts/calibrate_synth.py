"""Calibrate SynthLLP's difficulty with VALOR++ alone under the paper's recipe.

    LINKPAPER_DATA=DIR python scripts/calibrate_synth.py --out runs/calib/cn045 class_noise=0.45

Trains VALOR++ (60 epochs, 10 warm-up, batch 64: ``TrainConfig``'s defaults) on SynthLLP
``small`` generated with the given knob overrides (any ``SynthConfig`` field, ``NAME=VALUE``),
and writes an ordinary run folder (``results.json`` records the knobs in its data source).
No LINK variant is ever trained here: the knobs are set before any LINK run sees the data.

    python scripts/calibrate_synth.py --out runs/calib/cn037 --score-only class_noise=0.37

scores the best checkpoint a run folder holds so far on the test split of the same generation
(a probe stopped early, once it was clearly off target), says how many epochs it had, and
writes it to ``best_so_far.json`` beside the run's ``results.json`` (chapter 3 reads it).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from linkpaper.data.synth import SynthConfig, make_synth
from linkpaper.training.engine import train
from linkpaper.training.recipe import TrainConfig

BEST_SO_FAR = "best_so_far.json"
"""Where ``--score-only`` writes the test scores of a stopped probe's best checkpoint."""


def parse_knob(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    kinds = {f.name: f.type for f in dataclasses.fields(SynthConfig)}
    if name not in kinds or not value:
        raise SystemExit(f"knob {text!r}: expected NAME=VALUE with NAME one of {', '.join(kinds)}")
    return name, float(value) if kinds[name] == "float" else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("knobs", nargs="*", help="SynthConfig overrides, NAME=VALUE")
    parser.add_argument("--out", required=True)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=87, help="training seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument(
        "--score-only", action="store_true", help="train nothing: score the best checkpoint of --out so far on test"
    )
    args = parser.parse_args()
    knobs = dict(parse_knob(k) for k in args.knobs)
    data = make_synth(args.preset, 0, **knobs)
    if args.score_only:
        from linkpaper.training.engine import load_run
        from linkpaper.training.scoring import evaluate_split, prepare_split

        record, config, model, data = load_run(args.out, device="cpu", data=data)
        if record.data["source"].get("config") != data.source["config"]:
            raise SystemExit(f"{args.out}: trained on other knobs than {knobs}")
        scores, _, _ = evaluate_split(model, prepare_split(model, data.test, "cpu"))
        test = scores.table["segment"]
        from linkpaper.safe_io import atomic_write_json
        from linkpaper.training.provenance import git_commit
        from linkpaper.training.scoring import scores_record

        atomic_write_json(
            Path(args.out) / BEST_SO_FAR,
            {
                "epochs_run": len(record.epochs),
                "best_epoch": record.best_epoch,
                "test": scores_record(scores),
                "scored_by": git_commit(),
            },
        )
        print(
            f"{knobs} {len(record.epochs)} of {config.epochs} epochs, best epoch {record.best_epoch}: val Type@AV "
            f"{record.best_val['segment']['type']:.2f}, test A/V/AV/Type@AV {test['audio']:.2f} / "
            f"{test['visual']:.2f} / {test['audio_visual']:.2f} / {test['type']:.2f}"
        )
        return
    config = TrainConfig(
        model="valor++", data=f"synth:{args.preset}", seed=args.seed, num_threads=args.threads, epochs=args.epochs
    )
    record = train(config, args.out, data=data, resume=True)
    val, test = record["best_val"]["segment"], record["test"]["segment"]
    print(
        f"{knobs} best epoch {record['best_epoch']}: val Type@AV {val['type']:.2f}, "
        f"test A/V/AV/Type@AV {test['audio']:.2f} / {test['visual']:.2f} / "
        f"{test['audio_visual']:.2f} / {test['type']:.2f}"
    )


if __name__ == "__main__":
    main()
