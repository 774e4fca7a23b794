"""Chapter 3's computed sentences (linkpaper.chapters.synth_reading), on fabricated labels and
calibration tables whose numbers are known."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from linkpaper.chapters import synth_reading as reading
from linkpaper.errors import UserError

REPORTED = {"A": 68.1, "V": 68.4, "AV": 61.9, "Type@AV": 66.2}
SOURCE = "SynthLLP small, seed 0 (synthetic)"


def _labels(flags: dict, n: int = 2) -> np.ndarray:
    """(n, 10, 25) 0/1 labels with 1 at {(video, segment, class)}."""
    out = np.zeros((n, 10, 25), dtype=np.float32)
    for video, segment, cls in flags:
        out[video, segment, cls] = 1.0
    return out


def test_ungated_counts_per_video_per_segment_and_precision():
    ungated = _labels({(0, 0, 1), (0, 0, 2), (0, 5, 1), (1, 3, 4)})
    gt = _labels({(0, 0, 1), (1, 3, 4), (1, 9, 9)})
    counts = reading.ungated_counts(ungated, gt)
    assert counts["per_video"] == pytest.approx(1.5)  # video 0: classes 1, 2; video 1: class 4
    assert counts["per_segment"] == pytest.approx(4 / 20)
    assert counts["precision"] == pytest.approx(2 / 4)


def test_ungated_counts_refuses_mismatched_shapes_and_handles_nothing_flagged():
    with pytest.raises(UserError, match="must be equal"):
        reading.ungated_counts(np.zeros((2, 10, 25)), np.zeros((3, 10, 25)))
    assert np.isnan(reading.ungated_counts(np.zeros((1, 10, 25)), np.ones((1, 10, 25)))["precision"])


class _Split(SimpleNamespace):
    """An AVVPSplit-like object: the attributes ungated_reading reads, and a length."""

    def __len__(self):
        return len(self.weak)


def _split(with_gt: bool = True) -> _Split:
    weak = np.zeros((2, 25), dtype=np.float32)
    weak[0, [1, 2]] = 1.0
    weak[1, 4] = 1.0
    return _Split(
        name="val",
        weak=weak,
        pseudo_audio_ungated=_labels({(0, 0, 1), (0, 0, 2), (0, 5, 1), (1, 3, 4)}),
        pseudo_visual_ungated=_labels({(0, s, c) for s in range(10) for c in range(25)} | {(1, 0, 0), (1, 1, 0)}),
        gt_audio=_labels({(0, 0, 1), (1, 3, 4)}) if with_gt else None,
        gt_visual=_labels({(0, s, 1) for s in range(5)}) if with_gt else None,
    )


def test_ungated_reading_states_both_teachers():
    text = reading.ungated_reading(_split(), SOURCE)
    assert text == (
        "**How much the ungated labels flag.** On the 2 videos of the validation split of "
        "SynthLLP small, seed 0 (synthetic) (LLP's real labels: 1.5 weak labels per video on "
        "average), the ungated audio labels flag 1.5 of the 25 classes per video and 0.2 per "
        "segment, the ungated visual labels 13.0 and 12.6. Of the (segment, class) cells they "
        "flag, 0.50 (audio) and 0.02 (visual) are in the ground truth of their modality. Gating "
        "keeps only the classes of the weak label; PLSIM reads the ungated labels as they are "
        "(chapter 7)."
    )


def test_ungated_reading_needs_dense_ground_truth():
    with pytest.raises(UserError, match="no dense ground truth"):
        reading.ungated_reading(_split(with_gt=False), SOURCE)


def test_epochs_run_reads_finished_and_stopped_cells():
    assert reading.epochs_run("60") == (60, False)
    assert reading.epochs_run("18 (stopped)") == (18, True)
    with pytest.raises(UserError, match="epochs run"):
        reading.epochs_run("")


def _row(teachers, noise, seed, run="60", test=66.0, val=67.0, epochs=60):
    return {
        "teachers": teachers,
        "class_noise": noise,
        "seed": seed,
        "epochs": epochs,
        "epochs run": run,
        "val Type@AV": val,
        "test Type@AV": test,
    }


def test_calibration_reading_names_stopped_probes_and_seeds():
    table = pd.DataFrame(
        [
            _row("first (clean signal)", 0.25, 87, run="6", epochs=6),  # short schedule: not read
            _row("first (clean signal)", 0.45, 87, test=63.49),
            _row("first (clean signal)", 0.37, 87, test=66.0, val=66.0),
            _row("first (clean signal)", 0.37, 88, test=67.0, val=67.0),
            _row("VALOR-like", 0.30, 87, run="18 (stopped)", test=71.21),
            _row("VALOR-like", 0.45, 87, test=63.07),
            _row("VALOR-like", 0.55, 87, run="47 (stopped)", test=61.17),
            _row("VALOR-like", 0.40, 87, test=66.96, val=68.45),
        ]
    )
    chosen = {"first (clean signal)": 0.37, "VALOR-like": 0.40}
    text = reading.calibration_reading(table, chosen, REPORTED, 74.06, SOURCE)
    assert text == "\n\n".join(
        [
            "**What to look at.** The last column. Reported VALOR++ on the real LLP test set: "
            "68.1 / 68.4 / 61.9 / 66.2 (A / V / AV / Type@AV); the present teachers' gated labels "
            "of SynthLLP small, seed 0 (synthetic), used directly as test predictions, score 74.06 "
            "segment Type@AV (they read the test weak labels: a ceiling of sorts, not a legal model).",
            "**First (clean signal) teachers**: probes class_noise 0.45 gives 63.49; the chosen "
            "class_noise 0.37 gives 66.50 over seeds 87, 88 (val 66.50 on the selection half).",
            "**VALOR-like teachers**: probes class_noise 0.30 gives 71.21 (stopped after 18 of 60 "
            "epochs: its best checkpoint so far), class_noise 0.45 gives 63.07, class_noise 0.55 "
            "gives 61.17 (stopped after 47 of 60 epochs: its best checkpoint so far); the chosen "
            "class_noise 0.40 gives 66.96 over seed 87 (val 68.45 on the selection half). 2 of "
            "these 3 probes were stopped early, once clearly off target.",
            "The balance between the columns was not tuned (compare test A and V with the reported ones).",
        ]
    )


def test_calibration_reading_without_a_chosen_run_and_with_one_stopped_probe():
    table = pd.DataFrame([_row("VALOR-like", 0.30, 87, run="18 (stopped)", test=71.21)])
    text = reading.calibration_reading(table, {"VALOR-like": 0.40}, REPORTED, 74.0, SOURCE)
    assert (
        "**VALOR-like teachers**: probes class_noise 0.30 gives 71.21 (stopped after 18 of 60 "
        "epochs: its best checkpoint so far); the chosen class_noise 0.40 has no finished recipe "
        "run yet. The probe was stopped early, once clearly off target."
    ) in text
