"""Chapter 7's reading of a grid (linkpaper.chapters.plsim_reading), on fabricated run
records whose test scores are known."""

from __future__ import annotations

import json

import pytest

from linkpaper.chapters import plsim_reading as reading
from linkpaper.chapters.probe import find_grid_records
from linkpaper.models import variant_slug

SCORES = ("audio", "visual", "audio_visual", "type", "event")


def _record(model, seed, seg_type, audio=50.0, complete=True):
    """A results.json dict whose segment test scores are ``audio`` (audio), 40 (visual), 30
    (audio-visual), ``seg_type`` (Type@AV) and 20 (Event@AV)."""
    segment = dict(zip(SCORES, (audio, 40.0, 30.0, seg_type, 20.0)))
    return {
        "config": {"model": model, "seed": seed, "epochs": 3},
        "seed": seed,
        "epochs": [{"epoch": 1, "val_type_av": 10.0}],
        "complete": complete,
        "test": {"segment": segment, "event": segment} if complete else None,
    }


def _grid(entries):
    """{(variant, seed): record} from (variant, seed, seg_type[, audio]) tuples."""
    return {(e[0], e[1]): _record(*e) for e in entries}


def test_differences_pair_seeds_both_partners_finished():
    records = _grid(
        [
            ("+P", 87, 61.0, 52.0),
            ("valor++", 87, 60.0, 50.0),
            ("+P", 88, 58.0),
            ("valor++", 88, 59.5),
            ("+P", 89, 70.0),  # no partner with seed 89
            ("link", 87, 65.0),  # no +T+S at all
        ]
    )
    diffs = reading.test_differences(records)
    assert list(diffs.index) == [("+P − valor++", 87), ("+P − valor++", 88)]
    assert list(diffs.columns) == ["Audio", "Visual", "Audio-visual", "Type@AV", "Event@AV"]
    assert diffs.loc[("+P − valor++", 87), "Type@AV"] == pytest.approx(1.0)
    assert diffs.loc[("+P − valor++", 87), "Audio"] == pytest.approx(2.0)
    assert diffs.loc[("+P − valor++", 88), "Type@AV"] == pytest.approx(-1.5)
    assert diffs.loc[("+P − valor++", 88), "Visual"] == pytest.approx(0.0)


def test_unfinished_runs_are_left_out():
    records = _grid([("+P", 87, 61.0), ("valor++", 87, 60.0)])
    records[("valor++", 87)] = _record("valor++", 87, 60.0, complete=False)
    assert reading.shared_seeds(records, "+P", "valor++") == []
    diffs = reading.test_differences(records)
    assert diffs.empty and "Type@AV" in diffs.columns
    assert "No pair" in reading.test_difference_reading(diffs)


def test_difference_words_one_seed_and_several():
    assert reading.difference_words([0.5]) == "+0.50 (one seed: the seed spread is unknown)"
    assert reading.difference_words([0.2, 0.9]) == (
        "+0.55 on average over 2 seeds, every seed above 0 (+0.20 to +0.90)"
    )
    assert "every seed below 0 (−1.00 to −0.50)" in reading.difference_words([-1.0, -0.5])
    assert reading.difference_words([-0.3, 0.6, 0.3]).endswith("seeds from −0.30 to +0.60, signs differ")
    with pytest.raises(ValueError):
        reading.difference_words([])


def test_reading_with_one_seed_says_the_spread_is_unknown():
    records = _grid([("+P", 87, 61.0), ("valor++", 87, 60.0), ("link", 87, 55.0), ("+T+S", 87, 57.0)])
    text = reading.test_difference_reading(reading.test_differences(records))
    assert "**+P − valor++** (seed 87): Type@AV +1.00 (one seed" in text
    assert "**link − +T+S** (seed 87): Type@AV −2.00" in text
    assert "raised the test Type@AV in 1 of the 2 pairs and lowered it in 1." in text
    assert "Each pair has one seed, so the seed spread is unknown" in text
    assert "mean " not in text  # one seed: no mean to speak of


def test_reading_with_three_seeds_reads_the_signs():
    records = _grid(
        [(v, s, t) for s, t in ((87, 61.0), (88, 62.0), (89, 60.5)) for v in ("+P",)]
        + [("valor++", s, 60.0) for s in (87, 88, 89)]
        + [("+T+P", s, t) for s, t in ((87, 59.0), (88, 61.0), (89, 60.0))]
        + [("+T", s, 60.0) for s in (87, 88, 89)]
    )
    text = reading.test_difference_reading(reading.test_differences(records))
    assert "**+P − valor++** (seeds 87-89): Type@AV +1.17 on average over 3 seeds, every seed above 0" in text
    assert "**+T+P − +T** (seeds 87-89): Type@AV +0.00 on average over 3 seeds, seeds from −1.00" in text
    assert "raised the test Type@AV in 1 of the 2 pairs and lowered it in 0 (seed means)." in text
    assert "unknown" not in text and "differ in sign" in text


def test_reading_with_mixed_seed_counts_names_the_single_seed_pair():
    records = _grid(
        [("+P", s, 61.0) for s in (87, 88)]
        + [("valor++", s, 60.0) for s in (87, 88)]
        + [("+S+P", 87, 50.0), ("+S", 87, 52.0)]
    )
    text = reading.test_difference_reading(reading.test_differences(records))
    assert "+S+P − +S has one seed, so its seed spread is unknown." in text


def test_self_control_absent_is_said_not_raised():
    records = _grid([("+P", 87, 61.0), ("valor++", 87, 60.0)])
    text = reading.self_control_reading(records)
    assert "`+P/self` is not trained yet" in text


def test_self_control_present():
    records = _grid([("+P", 87, 61.0), ("valor++", 87, 60.0), ("+P/self", 87, 60.5), ("+P/self", 88, 59.0)])
    text = reading.self_control_reading(records)
    assert "has finished seeds 87, 88" in text
    assert "`+P` − `+P/self` (what the teachers' labels add as PLSIM's input; seed 87): +0.50" in text
    assert "`+P/self` − `valor++` (what the module adds reading only the model's own labels; seed 87): +0.50" in text


def test_self_control_without_partner_waits():
    records = _grid([("+P/self", 88, 59.0), ("+P", 87, 61.0), ("valor++", 87, 60.0)])
    text = reading.self_control_reading(records)
    assert "`+P` − `+P/self` (what the teachers' labels add as PLSIM's input) waits" in text


def test_reads_records_from_a_grid_folder(tmp_path):
    for model, seed, seg_type in (("+P", 87, 61.0), ("valor++", 87, 60.0), ("+P/self", 87, 59.0)):
        run = tmp_path / variant_slug(model) / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "results.json").write_text(json.dumps(_record(model, seed, seg_type)))
    records = find_grid_records(tmp_path, ["+P", "valor++", "+P/self"])
    diffs = reading.test_differences(records, [("+P", "valor++"), ("+P", "+P/self")])
    assert diffs["Type@AV"].tolist() == pytest.approx([1.0, 2.0])
    assert "`+P/self` − `valor++`" in reading.self_control_reading(records)


def test_reading_names_the_pairing_and_chapter_9s_measure():
    records = _grid(
        [("+P", 87, 61.0, 52.0), ("+P", 88, 60.0, 50.0)]
        + [("valor++", s, t) for s, t in ((87, 60.0), (88, 60.0), (89, 57.0))]
        + [("+T+P", 87, 62.0), ("+T", 87, 61.0), ("+T", 88, 63.0)]
    )
    diffs = reading.test_differences(records)
    text = reading.test_difference_reading(diffs, records=records)
    assert text.startswith(
        "Each difference is paired: a run with PLSIM minus its partner without it trained with the same "
        "seed, over the seeds both have finished (in brackets). Left out because the partner lacks them: "
        "`valor++` seed 89 (in +P − valor++); `+T` seed 88 (in +T+P − +T). Chapter 9 measures each gain as "
        "a variant's mean over all its seeds minus VALOR++'s mean over all of VALOR++'s, unpaired: for "
        "+P − valor++ it gives Type@AV +1.50; audio +1.0, visual +0.0, audio-visual +0.0 (`+P` seeds 87, 88, "
        "`valor++` seeds 87-89), against the paired +0.50 here.\n\n* **+P − valor++** (seeds 87, 88)"
    )
    same = _grid([("+P", 87, 61.0), ("valor++", 87, 60.0)])
    text = reading.test_difference_reading(reading.test_differences(same), records=same)
    assert "Each pair's partners hold the same seeds, so these means equal the differences of the variants' " in text
    assert "Chapter 9 measures" not in text
    assert reading.test_difference_reading(reading.test_differences(same)).startswith("* **+P − valor++**")


def test_teachers_name_is_read_from_the_source():
    assert reading.teachers_name({"kind": "synth"}, "audio") == "SynthLLP's simulated audio teacher"
