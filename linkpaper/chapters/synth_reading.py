"""Chapter 3's computed sentences: how many classes SynthLLP's ungated teacher labels flag, and
what the difficulty calibration's run records say, written so that they read correctly for any
number of seeds and for probes that were stopped early.

:func:`ungated_counts` / :func:`ungated_reading` (the ungated labels of one split against its
ground truth), :func:`epochs_run` (a calibration table's "epochs run" cell) and
:func:`calibration_reading` (the text under the calibration table).
"""

from __future__ import annotations

import numpy as np

from linkpaper.classes import NUM_CLASSES
from linkpaper.errors import UserError

MODALITIES = ("audio", "visual")


def _active(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32) > 0.5


def ungated_counts(ungated, gt) -> dict:
    """What one teacher's ungated labels flag: ungated (N, T, C) 0/1 labels, gt (N, T, C) the
    dense ground truth of the same modality. Returns ``per_video`` (classes flagged in at least
    one segment, mean over videos), ``per_segment`` (classes flagged per segment, mean over
    segments) and ``precision`` (share of the flagged (video, segment, class) cells that the
    ground truth marks; NaN when nothing is flagged)."""
    flagged, truth = _active(ungated), _active(gt)
    if flagged.shape != truth.shape or flagged.ndim != 3:
        raise UserError(f"ungated labels {flagged.shape} and ground truth {truth.shape} must be equal (N, T, C)")
    total = int(flagged.sum())
    return {
        "per_video": float(flagged.any(axis=1).sum(axis=1).mean()),
        "per_segment": float(flagged.sum(axis=2).mean()),
        "precision": float((flagged & truth).sum() / total) if total else float("nan"),
    }


def ungated_reading(split, source: str) -> str:
    """Markdown: how many classes per video and per segment each teacher's ungated labels flag
    on ``split`` (an ``AVVPSplit`` with dense ground truth, e.g. SynthLLP's validation split),
    against its weak labels, and the share of flagged cells that are right."""
    if split.gt_audio is None or split.gt_visual is None:
        raise UserError(f"split {getattr(split, 'name', '?')!r} has no dense ground truth to score its teachers")
    counts = {m: ungated_counts(getattr(split, f"pseudo_{m}_ungated"), getattr(split, f"gt_{m}")) for m in MODALITIES}
    weak = float(_active(split.weak).sum(axis=1).mean())
    audio, visual = counts["audio"], counts["visual"]
    return (
        f"**How much the ungated labels flag.** On the {len(split)} videos of the validation split "
        f"of {source} (LLP's real labels: {weak:.1f} weak labels per video on average), the "
        f"ungated audio labels flag {audio['per_video']:.1f} of the {NUM_CLASSES} classes per "
        f"video and {audio['per_segment']:.1f} per segment, the ungated visual labels "
        f"{visual['per_video']:.1f} and {visual['per_segment']:.1f}. Of the (segment, class) cells "
        f"they flag, {audio['precision']:.2f} (audio) and {visual['precision']:.2f} (visual) are "
        "in the ground truth of their modality. Gating keeps only the classes of the weak label; "
        "PLSIM reads the ungated labels as they are (chapter 7)."
    )


def epochs_run(cell) -> tuple[int, bool]:
    """(epochs trained, stopped early) from a calibration table's "epochs run" cell: ``"60"``
    or ``"18 (stopped)"``."""
    text = str(cell).strip()
    try:
        return int(text.split()[0]), "(stopped)" in text
    except (ValueError, IndexError):
        raise UserError(f"cannot read the epochs run from {cell!r}") from None


def _seeds(values) -> str:
    seeds = sorted({int(s) for s in values})
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def _probe(row) -> str:
    run, stopped = epochs_run(row["epochs run"])
    text = f"class_noise {row['class_noise']:.2f} gives {row['test Type@AV']:.2f}"
    if stopped:
        text += f" (stopped after {run} of {int(row['epochs'])} epochs: its best checkpoint so far)"
    return text


def calibration_reading(calibration, chosen: dict, reported: dict, ceiling: float, source: str) -> str:
    """Markdown under the calibration table.

    calibration: one row per run with the columns ``teachers``, ``class_noise``, ``seed``,
    ``epochs`` (planned), ``epochs run`` (:func:`epochs_run`), ``val Type@AV`` and ``test
    Type@AV``; only runs planned for the recipe's 60 epochs are read. chosen: {teachers: the
    class_noise chosen for them}, in the order to report. reported: {score: VALOR++'s reported
    LLP test score} (A, V, AV, Type@AV). ceiling: the present teachers' gated labels scored as
    test predictions (segment Type@AV). source: the SynthLLP generation's label.

    Per teachers: every probe at another value (its test Type@AV, and for a probe stopped early
    when it stopped), then the chosen value's mean over its seeds, or that it has no finished
    recipe run yet; and how many probes were stopped early.
    """
    recipe = calibration[calibration["epochs"] == 60]
    lines = [
        "**What to look at.** The last column. Reported VALOR++ on the real LLP test set: "
        f"{' / '.join(f'{v:.1f}' for v in reported.values())} ({' / '.join(reported)}); the "
        f"present teachers' gated labels of {source}, used directly as test predictions, score "
        f"{ceiling:.2f} segment Type@AV (they read the test weak labels: a ceiling of sorts, not "
        "a legal model)."
    ]
    for teachers, value in chosen.items():
        rows = recipe[recipe["teachers"] == teachers]
        probes = rows[~np.isclose(rows["class_noise"], value)]
        picked = rows[np.isclose(rows["class_noise"], value)]
        text = f"**{teachers[0].upper() + teachers[1:]} teachers**: "
        if len(probes):
            text += "probes " + ", ".join(_probe(row) for _, row in probes.iterrows()) + "; "
        if len(picked):
            text += (
                f"the chosen class_noise {value:.2f} gives {picked['test Type@AV'].mean():.2f} over "
                f"{_seeds(picked['seed'])} (val {picked['val Type@AV'].mean():.2f} on the selection half)."
            )
        else:
            text += f"the chosen class_noise {value:.2f} has no finished recipe run yet."
        stopped = [epochs_run(cell)[1] for cell in probes["epochs run"]]
        if len(stopped) == 1 and stopped[0]:
            text += " The probe was stopped early, once clearly off target."
        elif any(stopped):
            text += (
                f" {sum(stopped)} of these {len(stopped)} probes "
                f"{'was' if sum(stopped) == 1 else 'were'} stopped early, once clearly off target."
            )
        lines.append(text)
    lines.append("The balance between the columns was not tuned (compare test A and V with the reported ones).")
    return "\n\n".join(lines)
