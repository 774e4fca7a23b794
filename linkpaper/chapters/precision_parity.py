"""bf16 against fp32 under the recipe: the parity runs read by the recipe page (chapter 8).

The same variants and seeds are trained twice, once in each precision, in two grid folders
(``results/synth_small_valor_teachers`` in fp32, ``results/synth_small_bf16`` in bf16).
:func:`parity_runs` pairs their finished runs by variant and seed and checks that each folder
holds one precision; :func:`parity_frame` sets the scores side by side (each seed, the fp32 seed
range, the bf16 mean, the paired same-seed difference) with the runs' own epoch seconds;
:func:`parity_verdict` says in words whether bf16 lands within the fp32 seed spread.

The rule (ours): bf16 is *at parity* on a score when the mean of its seeds lies within the
fp32 seeds' range [min, max] for that score. Only the seeds finished in both precisions count,
and a variant needs two of them to be judged.
Nothing here trains or changes a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linkpaper.errors import UserError

SCORES = {"Seg Type@AV": 3, "Event Type@AV": 8}
"""The scores the parity is judged on, with their index in a record's ``test_row``
(``linkpaper.evaluation.metrics.SCORE_COLUMNS``: segment-level and event-level Type@AV)."""


@dataclass(frozen=True)
class ParityRun:
    """One finished run of a parity pair: its scores (``test_row``, ten values), the epoch the
    recipe selected, the median seconds of its training epochs and validation passes, its data
    (``RunRecord.data_label``), its schedule's epochs and the test scores of its last epoch
    (``last_row``; None in records from before they were kept)."""

    variant: str
    seed: int
    precision: str
    test_row: tuple
    best_epoch: int | None
    train_seconds: float
    val_seconds: float
    data: str = ""
    epochs: int | None = None
    last_row: tuple | None = None


def _precision(record) -> str:
    from linkpaper.training.runs import ADDED_CONFIG_KEYS

    return record.config.get("precision", ADDED_CONFIG_KEYS["precision"])


def _read(run_dir: Path, variant: str) -> ParityRun | None:
    from linkpaper.training.runs import RunRecord

    record = RunRecord.read(run_dir)
    if not record.complete or record.test_row is None:
        return None
    seconds = [e.get("seconds", {}) for e in record.epochs]
    train = [s["train"] for s in seconds if "train" in s]
    val = [s["val"] for s in seconds if "val" in s]
    return ParityRun(
        variant=variant,
        seed=int(record.seed),
        precision=_precision(record),
        test_row=tuple(float(x) for x in record.test_row),
        best_epoch=record.best_epoch,
        train_seconds=float(np.median(train)) if train else float("nan"),
        val_seconds=float(np.median(val)) if val else float("nan"),
        data=record.data_label(),
        epochs=record.config.get("epochs"),
        last_row=tuple(float(x) for x in record.last_epoch_test_row) if record.last_epoch_test_row else None,
    )


def _folder_runs(folder: str | Path, variants, expected: str) -> dict[tuple[str, int], ParityRun]:
    """The finished runs of ``variants`` in ``folder``, keyed by (variant, seed); refuses a run
    trained in another precision than ``expected``."""
    from linkpaper.models import variant_slug

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder (relative paths start in notebooks/)")
    runs = {}
    for variant in variants:
        for run_dir in sorted((folder / variant_slug(variant)).glob("seed*")):
            if not (run_dir / "results.json").is_file():
                continue
            run = _read(run_dir, variant)
            if run is None:
                continue
            if run.precision != expected:
                raise UserError(
                    f"{run_dir}: trained in {run.precision}, but this folder is read as the {expected} side "
                    "of the parity; point the parameter at the folder of that precision"
                )
            runs[(variant, run.seed)] = run
    return runs


def parity_runs(fp32_dir, bf16_dir, variants=("valor++", "link")) -> list[tuple[ParityRun, ParityRun]]:
    """The (fp32, bf16) run pairs of the same variant and seed, in ``variants`` then seed order.

    fp32_dir, bf16_dir: grid folders (``<variant>/seed<N>/results.json``). Runs present in only
    one folder, or not finished, are left out. Raises UserError when a folder is missing, holds a
    run of the other precision, or when no pair is finished.
    """
    fp32 = _folder_runs(fp32_dir, variants, "fp32")
    bf16 = _folder_runs(bf16_dir, variants, "bf16")
    pairs = [
        (fp32[key], bf16[key]) for key in sorted(fp32, key=lambda k: (list(variants).index(k[0]), k[1])) if key in bf16
    ]
    if not pairs:
        raise UserError(
            f"{fp32_dir} and {bf16_dir}: no variant and seed finished in both precisions "
            f"(variants {', '.join(variants)}); train them with 'python -m linkpaper grid --precision bf16'"
        )
    return pairs


EPOCHS = ("selected", "last")
"""Which test scores :func:`parity_frame` compares: those of the epoch each run selected on
validation (the recipe's, ``test_row``) or those of its last epoch (no selection)."""


def parity_frame(pairs, digits: int = 2, epoch: str = "selected"):
    """One row per variant and score: the seeds, each precision's per-seed scores, the fp32
    seed range, the bf16 mean, the mean paired difference (bf16 − fp32, same seed), whether
    the bf16 mean lies in the fp32 range (``at parity``), and the selected epochs.

    pairs: :func:`parity_runs`; epoch: ``"selected"`` (the recipe's test scores) or ``"last"``
    (the last epoch's, which leaves model selection out). Returns a pandas DataFrame indexed by
    (variant, score). Raises UserError for another ``epoch`` or, with ``"last"``, a run whose
    record holds no last-epoch scores.
    """
    import pandas as pd

    if epoch not in EPOCHS:
        raise UserError(f"epoch {epoch!r}: choose one of {', '.join(EPOCHS)}")
    if epoch == "last":
        lacking = [
            f"{run.variant} seed {run.seed} ({run.precision})" for pair in pairs for run in pair if run.last_row is None
        ]
        if lacking:
            raise UserError(f"no last-epoch test scores in the records of {', '.join(lacking)}")

    def row_of(run):
        return run.test_row if epoch == "selected" else run.last_row

    rows = []
    variants = list(dict.fromkeys(fp.variant for fp, _ in pairs))
    for variant in variants:
        mine = [(fp, bf) for fp, bf in pairs if fp.variant == variant]
        seeds = [fp.seed for fp, _ in mine]
        for score, column in SCORES.items():
            fp32 = np.array([row_of(fp)[column] for fp, _ in mine])
            bf16 = np.array([row_of(bf)[column] for _, bf in mine])
            low, high = fp32.min(), fp32.max()
            rows.append(
                {
                    "variant": variant,
                    "score": score,
                    "seeds": "/".join(map(str, seeds)),
                    "fp32 per seed": " / ".join(f"{x:.{digits}f}" for x in fp32),
                    "bf16 per seed": " / ".join(f"{x:.{digits}f}" for x in bf16),
                    "fp32 range": f"[{low:.{digits}f}, {high:.{digits}f}]",
                    "fp32 mean": round(float(fp32.mean()), digits),
                    "bf16 mean": round(float(bf16.mean()), digits),
                    "bf16 − fp32 (paired)": round(float((bf16 - fp32).mean()), digits),
                    "at parity": bool(low <= bf16.mean() <= high) if len(mine) > 1 else None,
                    "selected epochs fp32 / bf16": " / ".join(str(fp.best_epoch) for fp, _ in mine)
                    + " | "
                    + " / ".join(str(bf.best_epoch) for _, bf in mine),
                }
            )
    return pd.DataFrame(rows).set_index(["variant", "score"])


def speed_frame(pairs, digits: int = 1):
    """The runs' own median seconds per training epoch and validation pass, per variant and
    precision, and bf16's speed-up (fp32 seconds / bf16 seconds), also seed by seed. Each run
    shared the machine with another run, and runs of different sessions met different loads,
    so these are the conditions a grid meets, not a benchmark: the per-seed column shows how
    much they vary."""
    import pandas as pd

    rows = []
    for variant in dict.fromkeys(fp.variant for fp, _ in pairs):
        mine = [(fp, bf) for fp, bf in pairs if fp.variant == variant]
        fp_train = float(np.median([fp.train_seconds for fp, _ in mine]))
        bf_train = float(np.median([bf.train_seconds for _, bf in mine]))
        fp_val = float(np.median([fp.val_seconds for fp, _ in mine]))
        bf_val = float(np.median([bf.val_seconds for _, bf in mine]))
        rows.append(
            {
                "variant": variant,
                "runs per precision": len(mine),
                "fp32 epoch s": round(fp_train, digits),
                "bf16 epoch s": round(bf_train, digits),
                "epoch speed-up": round(fp_train / bf_train, 2),
                "epoch speed-up per seed": " / ".join(f"{fp.train_seconds / bf.train_seconds:.2f}" for fp, bf in mine),
                "fp32 validation s": round(fp_val, 2),
                "bf16 validation s": round(bf_val, 2),
                "validation speed-up": round(fp_val / bf_val, 2),
            }
        )
    return pd.DataFrame(rows).set_index("variant")


def parity_caption(pairs) -> str:
    """What the parity runs trained on, from their records: e.g. ``"SynthLLP small (synthetic),
    60 epochs, VALOR++ seeds 87/88/89 and LINK seeds 87/88"``."""
    from linkpaper.evaluation.paper import VARIANT_LABELS

    data = " / ".join(sorted({run.data for pair in pairs for run in pair}))
    epochs = " / ".join(sorted({str(run.epochs) for pair in pairs for run in pair}))
    variants = dict.fromkeys(fp.variant for fp, _ in pairs)
    seeds = []
    for variant in variants:
        held = "/".join(str(fp.seed) for fp, _ in pairs if fp.variant == variant)
        seeds.append(f"{VARIANT_LABELS.get(variant, variant)} seeds {held}")
    return f"{data}, {epochs} epochs, {' and '.join(seeds)}"


def speed_reading(speed) -> str:
    """One sentence from :func:`speed_frame`: the range of bf16's per-seed epoch speed-up."""
    ups = [float(x) for text in speed["epoch speed-up per seed"] for x in text.split(" / ")]
    if min(ups) == max(ups):
        return f"In these runs a bf16 training epoch was {min(ups):.2f}x as fast as fp32."
    return (
        f"In these runs a bf16 training epoch was {min(ups):.2f}x to {max(ups):.2f}x as fast as the fp32 "
        "epoch of the same variant and seed (median epoch seconds; the runs met different loads)."
    )


def parity_verdict(frame, speed=None) -> str:
    """The verdict in words, computed from :func:`parity_frame` (and :func:`speed_frame`)."""
    held = frame[frame["at parity"].eq(True)]
    missed = frame[frame["at parity"].eq(False)]
    unjudged = frame[frame["at parity"].isna()]
    seeds = sorted({s for text in frame["seeds"] for s in text.split("/")})
    parts = []
    if held.empty and missed.empty:
        parts.append("No variant has two seeds in both precisions yet, so no score can be judged.")
    elif missed.empty:
        parts.append(
            f"On every score judged ({', '.join(SCORES)}) and every variant judged, the bf16 mean lies within "
            f"the fp32 seeds' range (seeds {', '.join(seeds)}): bf16 is at parity."
        )
    else:
        names = "; ".join(
            f"{variant} {score} (bf16 mean {row['bf16 mean']:.2f}, fp32 range {row['fp32 range']})"
            for (variant, score), row in missed.iterrows()
        )
        judged = len(held) + len(missed)
        parts.append(
            f"{len(held)} of {judged} variant-score cells judged are at parity; outside the fp32 seed range: {names}."
        )
    diffs = frame["bf16 − fp32 (paired)"]
    parts.append(f"Paired by seed, bf16 minus fp32 ranges from {diffs.min():+.2f} to {diffs.max():+.2f} points.")
    if speed is not None and len(speed):
        parts.append(speed_reading(speed))
    if not unjudged.empty:
        names = ", ".join(dict.fromkeys(variant for variant, _ in unjudged.index))
        parts.append(f"Not judged (one seed in both precisions, so no fp32 range): {names}.")
    return " ".join(parts)


def parity_summary(selected, last) -> str:
    """The verdict over both readings (:func:`parity_frame` at the selected and at the last
    epoch): whether bf16's rounding moves the trained model's scores, and whether model
    selection explains the cells that miss at the selected epoch."""

    def judged(frame):
        return frame[frame["at parity"].notna()]

    sel, fin = judged(selected), judged(last)
    if sel.empty or fin.empty:
        return "Too few seeds in both precisions for a verdict yet."
    sel_ok, fin_ok = bool(sel["at parity"].astype(bool).all()), bool(fin["at parity"].astype(bool).all())
    missed = ", ".join(f"{v} {s}" for (v, s), ok in sel["at parity"].items() if not ok)
    if sel_ok and fin_ok:
        return (
            "**Verdict:** bf16 is at parity at the selected and at the last epoch on every score judged: "
            "on these runs it gives the recipe's answer within fp32's seed noise."
        )
    if fin_ok:
        return (
            f"**Verdict:** at the last epoch bf16 is at parity on every score judged; at the selected epoch "
            f"{missed} fall outside the fp32 seed range. The trained models agree; what differs is which epoch "
            "validation selects, a noise that three seeds of fp32 do not span. bf16 gives the recipe's answer "
            "within the noise of training and model selection, but a comparison of single runs across the two "
            "precisions inherits that selection noise."
        )
    lost = ", ".join(f"{v} {s}" for (v, s), ok in fin["at parity"].items() if not ok)
    return (
        f"**Verdict:** bf16 is not at parity at the last epoch on {lost}: its rounding moves the trained "
        "model's scores beyond fp32's seed range; compare runs of one precision only."
    )
