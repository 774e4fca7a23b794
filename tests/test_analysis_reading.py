"""Chapter 10's computed sentences (linkpaper.chapters.analysis_reading), on fabricated runs,
alignment frames and per-epoch records whose numbers are known."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from linkpaper.chapters import analysis_reading as reading
from linkpaper.errors import UserError

MODELS = ["VALOR++", "LINK"]
SCORES = ("audio", "visual", "audio_visual", "type", "event")


def _runs(values: dict) -> dict:
    """{(model, seed): run} whose segment-level scores are ``values[(model, seed)]`` (a dict
    of some score modalities; the others 50.0)."""
    runs = {}
    for key, given in values.items():
        table = {m: given.get(m, 50.0) for m in SCORES}
        runs[key] = {"scores": SimpleNamespace(table={"segment": table})}
    return runs


def test_signed_never_writes_minus_zero():
    assert reading.signed(1.234) == "+1.2"
    assert reading.signed(-1.25, 2) == "−1.25"
    assert reading.signed(-0.04) == "0.0"


def test_seed_note_one_seed_overlap_and_apart():
    assert reading.seed_note([60.0], [70.0]) == reading.ONE_SEED
    assert reading.seed_note([60.0, 61.0, 62.0], [70.0]) == reading.ONE_SEED  # a point against a range
    assert reading.seed_note([60.0, 65.0], [64.0, 70.0]) == reading.OVERLAP
    assert reading.seed_note([60.0, 61.0], [64.0, 70.0]) == reading.APART


def test_score_difference_reading_with_one_seed():
    runs = _runs({("VALOR++", 87): {"audio": 60.0, "visual": 70.0}, ("LINK", 87): {"audio": 62.0, "visual": 65.0}})
    text = reading.score_difference_reading(runs, MODELS)
    assert "Segment-level F, LINK (1 seed(s)) minus VALOR++ (1 seed(s)), seed means" in text
    assert "Audio +2.0 (one seed: spread unknown)" in text
    assert "Visual −5.0" in text and "Type@AV 0.0" in text
    assert "largest difference is in **Visual** (−5.0 points)" in text
    assert "cannot be told apart from seed noise" in text
    assert "opposite directions (+2.0 and −5.0)" in text
    assert "segment-level Event@AV 0.0 (one seed: spread unknown)" in text
    assert reading.TEST_VIDEO_NOISE not in text  # no seed ranges to be apart


def test_score_difference_reading_with_three_seeds_apart_and_overlapping():
    base = {87: 60.0, 88: 61.0, 89: 62.0}
    runs = _runs(
        {
            **{("VALOR++", s): {"audio": v, "visual": v} for s, v in base.items()},
            **{("LINK", s): {"audio": v + 10, "visual": v + 1} for s, v in base.items()},
        }
    )
    text = reading.score_difference_reading(runs, MODELS)
    assert "LINK (3 seed(s)) minus VALOR++ (3 seed(s))" in text
    assert "Audio +10.0 (seed ranges apart)" in text
    assert "Visual +1.0 (seed ranges overlap)" in text
    assert "largest difference is in **Audio** (+10.0 points); the seed ranges are apart (3 and 3 seeds)" in text
    assert "opposite directions" not in text
    assert text.endswith("\n" + reading.TEST_VIDEO_NOISE)  # ranges apart: the test videos' noise is named


def test_score_difference_reading_names_event_at_av_level_and_the_test_video_noise():
    base = {87: 60.0, 88: 61.0, 89: 62.0}
    runs = _runs(
        {
            **{("VALOR++", s): {"audio": v, "visual": v, "event": v} for s, v in base.items()},
            **{("LINK", s): {"audio": v + 2, "visual": v - 3, "event": v + 5} for s, v in base.items()},
        }
    )
    assert reading.score_difference_reading(runs, MODELS) == "\n".join(
        [
            "* Segment-level F, LINK (3 seed(s)) minus VALOR++ (3 seed(s)), seed means, in points: "
            "Audio +2.0 (seed ranges overlap); Visual −3.0 (seed ranges apart); Audio-visual 0.0 "
            "(seed ranges overlap); Type@AV 0.0 (seed ranges overlap); segment-level Event@AV +5.0 "
            "(seed ranges apart).",
            "* The largest difference is in **segment-level Event@AV** (+5.0 points); the seed ranges "
            "are apart (3 and 3 seeds).",
            "* Audio and visual move in opposite directions (+2.0 and −3.0): the per-modality panels "
            "below say more than the averages that mix them.",
            "* Seed ranges compare training seeds only: every seed is scored on the same test videos, "
            "so ranges that are apart leave out how much a difference depends on which test videos "
            "were drawn. Chapter 9's intervals (paired bootstrap over the test videos, and two-level "
            "over seeds and test videos, for segment- and event-level Type@AV) add that noise: a "
            "difference whose seed ranges are apart can still be one they do not distinguish from "
            "noise.",
        ]
    )


def test_score_difference_reading_names_a_missing_model():
    with pytest.raises(UserError, match="LINK"):
        reading.score_difference_reading(_runs({("VALOR++", 87): {}}), MODELS)


def _alignment(values: dict):
    """Long alignment frame from {(model, seed): {modality: (aligned F, non-aligned F)}}."""
    rows = []
    for (model, seed), by_modality in values.items():
        for modality, (aligned, non_aligned) in by_modality.items():
            rows.append({"model": model, "seed": seed, "segments": "aligned", "modality": modality, "F": aligned})
            rows.append(
                {"model": model, "seed": seed, "segments": "non-aligned", "modality": modality, "F": non_aligned}
            )
    return pd.DataFrame(rows)


def test_alignment_gaps_and_reading_with_one_seed():
    frame = _alignment(
        {
            ("VALOR++", 87): {"Audio": (90.0, 70.0), "Visual": (90.0, 80.0)},
            ("LINK", 87): {"Audio": (88.0, 78.0), "Visual": (90.0, 75.0)},
        }
    )
    gaps = reading.alignment_gaps(frame, MODELS)
    assert list(gaps.columns) == ["Audio", "Visual"]
    assert gaps.loc[("VALOR++", 87)].tolist() == [20.0, 10.0]
    assert gaps.loc[("LINK", 87)].tolist() == [10.0, 15.0]
    text = reading.alignment_gap_reading(frame, MODELS)
    assert "LINK's gap is narrower than VALOR++'s in 1 of 2 columns (Audio)" in text
    assert "no gap difference is established" in text
    assert "**Audio**: VALOR++ 20.0, LINK 10.0 points; LINK's gap −10.0 (one seed: spread unknown)" in text
    assert "**Visual**: VALOR++ 10.0, LINK 15.0 points; LINK's gap +5.0" in text


def test_alignment_gap_reading_with_several_seeds():
    frame = _alignment(
        {
            ("VALOR++", 87): {"Audio": (90.0, 70.0)},
            ("VALOR++", 88): {"Audio": (90.0, 72.0)},
            ("LINK", 87): {"Audio": (90.0, 80.0)},
            ("LINK", 88): {"Audio": (90.0, 81.0)},
        }
    )
    text = reading.alignment_gap_reading(frame, MODELS)
    assert "narrower than VALOR++'s in 1 of 1 columns" in text
    assert "only where the seed ranges are apart" in text
    assert "(seed ranges apart)" in text  # gaps 18-20 against 9-10


def test_alignment_gap_reading_when_never_narrower_and_missing_kind():
    frame = _alignment({("VALOR++", 87): {"Audio": (90.0, 80.0)}, ("LINK", 87): {"Audio": (90.0, 70.0)}})
    assert "not narrower than VALOR++'s in any of the 1 columns" in reading.alignment_gap_reading(frame, MODELS)
    with pytest.raises(UserError, match="non-aligned"):
        reading.alignment_gaps(frame[frame["segments"] == "aligned"], MODELS)


def _grid(runs: dict) -> dict:
    """{(variant, seed): results.json dict} whose epochs carry ``runs[key]`` = {diagnostic:
    [value per epoch]}."""
    grid = {}
    for (variant, seed), series in runs.items():
        epochs = len(next(iter(series.values())))
        grid[(variant, seed)] = {
            "config": {"model": variant},
            "seed": seed,
            "epochs": [
                {"epoch": e + 1, "diagnostics": {key: values[e] for key, values in series.items()}}
                for e in range(epochs)
            ],
        }
    return grid


def test_module_reading_ends_and_absences():
    grid = _grid(
        {
            ("+T", 87): {"alpha1": [1.0, 0.96], "alpha2": [1.0, 1.01]},
            ("link", 87): {"alpha1": [1.0, 0.99], "alpha2": [1.0, 1.02], "mu": [0.0, 0.25]},
            ("+S", 87): {"mu": [0.0, 0.1, 0.2]},  # a longer run: its own last epoch counts
        }
    )
    text = reading.module_reading(grid)
    assert "CMIM, last epoch (2 run(s) of 2 variant(s)): α₁ between 0.960 and 0.990; α₂ between 1.010 and 1.020" in text
    assert "largest change from the initial 1 is 0.040 (4.0 %)" in text
    assert "μ, last epoch (2 run(s) of 2 variant(s)): between 0.200 and 0.250, at most 25 % of the way" in text
    none = reading.module_reading(_grid({("valor++", 87): {"other": [1.0]}}))
    assert "records CMIM's scalars yet" in none and "records S-LOSS's μ yet" in none


def test_tsam_reading_trend_and_ratio():
    both = {
        "tsam_a_temporal_std": [0.12, 0.10],
        "tsam_a_spatial_std": [0.002, 0.0025],
        "tsam_a_spatial_mean": [0.5, 0.48],
        "tsam_v_temporal_std": [0.10, 0.11],
        "tsam_v_spatial_std": [0.002, 0.005],
        "tsam_v_spatial_mean": [0.5, 0.5],
    }
    other = dict(both, tsam_v_temporal_std=[0.10, 0.09])
    text = reading.tsam_reading(_grid({("+T", 87): both, ("link", 87): other}))
    audio, visual = text.splitlines()
    assert "**Audio** (2 run(s) of 2 variant(s))" in audio
    assert "from 0.120 at the first epoch to 0.100 at the last (falls in every run)" in audio
    assert "average 0.480 with a spread of 0.0025; the temporal spread is at least 40 times larger" in audio
    assert "grows in some runs and falls in others" in visual
    assert "at least 18 times larger" in visual  # 0.09 / 0.005
    assert "records TSAM's audio weights yet" in reading.tsam_reading(_grid({("valor++", 87): {"mu": [0.1]}}))


def test_summary_reading_one_seed_and_several():
    frame = _alignment(
        {
            ("VALOR++", 87): {"Audio": (90.0, 70.0), "Visual": (90.0, 80.0)},
            ("LINK", 87): {"Audio": (88.0, 78.0), "Visual": (90.0, 75.0)},
        }
    )
    runs = _runs({("VALOR++", 87): {}, ("LINK", 87): {}})
    grid = _grid({("link", 87): {"alpha1": [1.0, 0.99], "alpha2": [1.0, 1.03], "mu": [0.0, 0.2]}})
    text = reading.summary_reading(runs, MODELS, frame, grid)
    assert "compared 1 seed(s) of VALOR++ with 1 of LINK" in text and "no seed spread is known yet" in text
    assert "Every model scores lower on non-aligned segments in every column" in text
    assert "narrower than VALOR++'s in 1 of 2 columns (one seed on at least one side: spread unknown)" in text
    assert "CMIM's scalars end at most 3.0 % from their initial 1 and S-LOSS's μ at most 20 % of the way" in text
    more = _runs({("VALOR++", 87): {}, ("VALOR++", 88): {}, ("LINK", 87): {}, ("LINK", 88): {}})
    worse = _alignment({("VALOR++", 87): {"Audio": (70.0, 80.0)}, ("LINK", 87): {"Audio": (90.0, 80.0)}})
    text = reading.summary_reading(more, MODELS, worse, _grid({("valor++", 87): {"other": [1.0]}}))
    assert "no seed spread" not in text and "2 seed(s) of VALOR++ with 2 of LINK" in text
    assert "Not every model scores lower" in text
    assert "training records" not in text
    assert "in 0 of 1 columns (seed means)" in text
    apart = _alignment(
        {
            ("VALOR++", 87): {"Audio": (90.0, 70.0), "Visual": (90.0, 80.0)},
            ("VALOR++", 88): {"Audio": (90.0, 71.0), "Visual": (90.0, 81.0)},
            ("LINK", 87): {"Audio": (90.0, 80.0), "Visual": (90.0, 81.0)},
            ("LINK", 88): {"Audio": (90.0, 81.0), "Visual": (90.0, 80.5)},
        }
    )
    text = reading.summary_reading(more, MODELS, apart, grid)
    assert "narrower than VALOR++'s in 2 of 2 columns (with seed ranges apart in 1 of them)" in text
