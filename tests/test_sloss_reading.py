"""Chapter 6's reading of a recipe grid (linkpaper.chapters.sloss_reading), on fabricated run
records and tables whose numbers are known."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from linkpaper.chapters import sloss_reading as reading
from linkpaper.chapters.probe import find_grid_records
from linkpaper.models import variant_slug


def _record(model, seed, visual, type_av=60.0, complete=True, last_visual=None, best_epoch=None):
    """A results.json dict whose segment test scores are 50 (audio), ``visual``, 40
    (audio-visual), ``type_av`` (Type@AV) and 30 (Event@AV); with ``last_visual``, the last
    epoch's test scores are the same but for the visual F (``last_visual``)."""
    segment = {"audio": 50.0, "visual": visual, "audio_visual": 40.0, "type": type_av, "event": 30.0}
    record = {
        "config": {"model": model, "seed": seed, "epochs": 3},
        "seed": seed,
        "epochs": [{"epoch": e, "val_type_av": 10.0} for e in (1, 2, 3)],
        "best_epoch": best_epoch,
        "complete": complete,
        "test": {"segment": segment, "event": segment} if complete else None,
    }
    if complete and last_visual is not None:
        last = {**segment, "visual": last_visual}
        record["last_epoch_test"] = {"segment": last, "event": last}
    return record


def _scores(entries):
    """segment_scores of records made from (variant, seed, visual[, type_av]) tuples."""
    return reading.segment_scores({(e[0], e[1]): _record(*e) for e in entries})


def test_segment_scores_reads_finished_runs_only():
    records = {("+S", 87): _record("+S", 87, 65.5, 64.4), ("+S", 88): _record("+S", 88, 60.0, complete=False)}
    scores = reading.segment_scores(records)
    assert list(scores.columns) == ["A", "V", "AV", "Type@AV"]
    assert list(scores.index) == [("+S", 87)]
    assert scores.loc[("+S", 87), "V"] == pytest.approx(65.5)
    assert scores.loc[("+S", 87), "Type@AV"] == pytest.approx(64.4)
    assert reading.seeds_of(scores, "+S") == [87]
    assert reading.seeds_of(scores, "+S/label") == []
    empty = reading.segment_scores({})
    assert empty.empty and reading.seeds_of(empty, "+S") == []


def test_difference_words_one_seed_and_several():
    assert reading.difference_words([-4.14]) == "−4.14 (one seed: the seed spread is unknown)"
    assert reading.difference_words([-4.14], spread_note=False) == "−4.14"
    assert reading.difference_words([-5.0, -3.0, -4.0]) == (
        "−4.00 on average over 3 seeds, every seed below 0 (−5.00 to −3.00)"
    )
    assert reading.difference_words([0.2, 0.9]).endswith("every seed above 0 (+0.20 to +0.90)")
    assert reading.difference_words([-0.3, 0.6, 0.3]).endswith("seeds from −0.30 to +0.60, signs differ")
    with pytest.raises(ValueError):
        reading.difference_words([])


def test_s_effect_with_one_seed_says_the_spread_is_unknown():
    scores = _scores(
        [("valor++", 87, 69.69), ("+S", 87, 65.55), ("+T", 87, 71.0), ("+T+S", 87, 66.0), ("+P", 88, 60.0)]
    )
    text = reading.s_effect_reading(scores)
    assert "`+S` − `valor++` (seed 87): −4.14;" in text
    assert "`+T+S` − `+T` (seed 87): −5.00." in text
    assert "S lowered it in 2 of the 2 pairs and raised it in 0." in text
    assert "Each pair shares one seed, so the seed spread of the differences is unknown" in text
    assert "Not paired yet (no finished seed shared): +S+P − +P, link − +T+P." in text
    frame = reading.s_pair_frame(scores)
    assert list(frame.index) == ["+S − valor++", "+T+S − +T"]
    assert frame.loc["+S − valor++", "difference"] == pytest.approx(-4.14)
    assert frame.loc["+S − valor++", "seeds"] == "87"


def test_s_effect_with_three_seeds_reads_the_signs():
    scores = _scores(
        [("valor++", s, 70.0) for s in (87, 88, 89)]
        + [("+S", s, v) for s, v in ((87, 65.0), (88, 66.0), (89, 67.0))]
        + [("+P", s, 69.0) for s in (87, 88, 89)]
        + [("+S+P", s, v) for s, v in ((87, 68.0), (88, 70.0), (89, 69.3))]
    )
    text = reading.s_effect_reading(scores)
    assert "`+S` − `valor++` (seeds 87-89): −4.00 on average over 3 seeds, every seed below 0" in text
    assert "`+S+P` − `+P` (seeds 87-89): +0.10 on average over 3 seeds, seeds from −1.00 to +1.00" in text
    assert "S lowered it in 1 of the 2 pairs and raised it in 1 (seed means)." in text
    assert "unknown" not in text
    assert reading.spread_words(scores).endswith("segment visual F is 0.00 over 3 seeds.")
    assert (
        reading.spread_words(scores, "+S")
        == "`+S`'s seed standard deviation of the segment visual F is 1.00 over 3 seeds."
    )


def test_s_effect_without_pairs_and_with_a_single_pair():
    assert "No variant with S has a finished partner" in reading.s_effect_reading(_scores([("+S", 87, 60.0)]))
    text = reading.s_effect_reading(_scores([("+S", 87, 60.0), ("valor++", 87, 61.0)]))
    assert "The pair shares one seed, so the seed spread is unknown" in text
    assert "of the 1 pairs" not in text


def test_label_share_absent_is_said_not_raised():
    scores = _scores([("valor++", 87, 69.69), ("+S", 87, 65.55)])
    text = reading.label_share_reading(scores)
    assert text.startswith("`+S/label` (L_label alone, no similarity term) is not in the folder yet")


def test_label_share_reads_the_split():
    scores = _scores([("valor++", 87, 70.0), ("+S", 87, 66.0), ("+S/label", 87, 67.0)])
    text = reading.label_share_reading(scores)
    assert "L_label alone (`+S/label` − `valor++`) changes the segment visual F by −3.00" in text
    assert "the whole of S (`+S` − `valor++`) by −4.00." in text
    assert "L_label alone brings 75% of the whole of S's drop: most of it arrives with L_label" in text
    assert "With one seed the seed spread is unknown" in text

    small = _scores([("valor++", s, 70.0) for s in (87, 88)] + [("+S", s, 66.0) for s in (87, 88)])
    small = pd.concat([small, _scores([("+S/label", 87, 69.0), ("+S/label", 88, 69.5)])])
    text = reading.label_share_reading(small)
    assert "brings 19% of the whole of S's drop: most of it comes with the similarity term." in text
    assert "unknown" not in text

    rising = _scores([("valor++", 87, 70.0), ("+S", 87, 71.0), ("+S/label", 87, 69.0)])
    assert "no drop to split" in reading.label_share_reading(rising)
    helps = _scores([("valor++", 87, 70.0), ("+S", 87, 66.0), ("+S/label", 87, 70.5)])
    assert "the drop comes with the similarity term" in reading.label_share_reading(helps)
    worse = _scores([("valor++", 87, 70.0), ("+S", 87, 66.0), ("+S/label", 87, 65.0)])
    assert "at least as much as the whole of S" in reading.label_share_reading(worse)
    apart = _scores([("valor++", 87, 70.0), ("+S", 87, 66.0), ("+S/label", 88, 65.0)])
    assert "none shared with both" in reading.label_share_reading(apart)


def test_weight_form_and_controls():
    scores = _scores([("valor++", 87, 70.0, 67.0), ("+S", 87, 66.0, 64.0)])
    assert reading.weight_form_reading(scores).startswith("None of the controls")
    text = reading.controls_reading(scores)
    assert "`valor++` seed 87; `+S` seed 87." in text
    assert "Not in the folder: `+S/label`, `+S/paper-mu1`, `+S/leap-mu1`, `+S/leap` and `link/leap`." in text
    assert "seed spread they must be read against is unknown" in text

    scores = _scores(
        [("valor++", s, 70.0, t) for s, t in ((87, 67.0), (88, 68.0))]
        + [("+S", s, 66.0, 64.0) for s in (87, 88)]
        + [("+S/paper-mu1", s, 66.0, 63.5) for s in (87, 88)]
        + [("+S/leap", s, 66.0, 64.5) for s in (87, 88)]
    )
    text = reading.weight_form_reading(scores)
    assert "`+S` − `+S/paper-mu1` (the adaptive weight against λ = 1, paper's form; seeds 87, 88): +0.50 on" in text
    assert "`valor++`'s seed standard deviation of the segment Type@AV is 0.71 over 2 seeds." in text
    assert "here it does, so `link/leap` is still to be trained." in text
    text = reading.controls_reading(scores)
    assert "controls `+S/paper-mu1` seeds 87, 88; `+S/leap` seeds 87, 88." in text
    one = reading.controls_reading(pd.concat([scores, _scores([("+S/label", 87, 60.0)])]))
    assert "; controls `+S/label` seed 87; `+S/paper-mu1`" in one
    alone = reading.controls_reading(_scores([("valor++", 87, 70.0), ("+S/label", 87, 60.0)]))
    assert "`+S` none; control `+S/label` seed 87." in alone
    assert "unknown" not in text


def _errors(rows, n=1):
    columns = ["visual TP", "visual FP, heard", "visual FP, neither", "visual FN"]
    frame = pd.DataFrame({m: dict(zip(columns, v)) for m, v in rows.items()}).T
    return frame.assign(n=n)


def test_visual_errors_read_precision_and_recall():
    errors = _errors({"valor++": (9385, 802, 647, 2404), "+S": (8878, 725, 703, 2911)})
    text = reading.visual_error_reading(errors)
    assert "Against `valor++` (1 seed), `+S` (1 seed) has −507 visual true-positive cells and −21 visual" in text
    assert "(−77 heard but not seen, +56 neither)" in text
    assert "precision goes from 0.866 to 0.861 and its recall from 0.796 to 0.753." in text
    assert "Both fall, recall more" in text
    assert "`valor++` and `+S` have one seed each here, so the seed spread of these counts is unknown." in text
    mixed = errors.assign(n=[2, 1])
    assert "`+S` has one seed here, so" in reading.visual_error_reading(mixed)
    leak = _errors({"valor++": (100, 10, 10, 20), "+S": (100, 30, 10, 20)}, n=3)
    text = reading.visual_error_reading(leak)
    assert "Precision falls and recall does not" in text and "unknown" not in text
    assert "is not in the folder" in reading.visual_error_reading(errors, model="+S/label")


def test_mu_reading():
    mu = pd.DataFrame({("+S", 87): [0.01, 0.1, 0.2], ("link", 87): [0.01, 0.12, 0.25], ("+T+S", 87): [0.01, 0.2, 0.19]})
    text = reading.mu_reading(mu, 0.29)
    assert text.startswith("μ rises at every epoch in 2 of the 3 runs.")
    assert "between 0.190 and 0.250, against their schedule's budget of 0.290 at the middle of the last epoch" in text
    assert "where the logged epoch mean sits (66% to 86% of it)." in text
    weight = math.exp(0.75)
    assert f"between {weight:.2f} and {math.exp(0.81):.2f}" in text
    assert f"{(math.e - math.exp(0.81)) / (math.e - 1):.0%} to {(math.e - weight) / (math.e - 1):.0%}" in text
    one = reading.mu_reading(pd.DataFrame({("+S", 87): [0.0, 0.1]}), 0.2)
    assert one.startswith("μ rises at every epoch in the one run. At the last epoch it is 0.100")
    assert "differ by" not in one
    assert "The band weight e^|1−μ| ends at 2.46" in one and "covered 15% of its way" in one
    alike = reading.mu_reading(pd.DataFrame({("+S", 87): [0.0, 0.0335], ("link", 87): [0.0, 0.0336]}), 0.029, 4)
    assert "ends at 2.63 " in alike and "covered 5% of its way from e to 1." in alike
    assert "lies between 0.0335 and 0.0336" in alike
    assert reading.mu_reading(mu, 0.29, kind="finished").startswith(
        "μ rises at every epoch in 2 of the 3 finished runs."
    )


def test_alignment_reading():
    last = pd.DataFrame(
        {
            "cos_same": [0.906, 0.885],
            "cos_overlap": [0.760, 0.543],
            "cos_disjoint": [0.723, 0.094],
            "cos_empty": [0.793, 0.016],
            "visual_prob_on_audio_only": [0.094, 0.061],
        },
        index=["valor++", "+S"],
    )
    text = reading.alignment_reading(last, seeds={"valor++": 1, "+S": 1})
    assert "`valor++` (no similarity term) ends between 0.72 and 0.91 over the four target groups" in text
    assert "`+S` ends at 0.89 on same-label pairs, 0.09 on disjoint ones and 0.02 on both-empty ones." in text
    assert "ends at 0.094 for `valor++`, against 0.061 for `+S`. None ends above" in text
    assert "unknown" in text
    last.loc["+S/label"] = [0.9, 0.8, 0.7, 0.8, 0.2]
    text = reading.alignment_reading(last, seeds={"valor++": 3, "+S": 3, "+S/label": 3})
    assert "`+S/label` (no similarity term)" in text
    assert "against 0.061 for `+S` and 0.200 for `+S/label`. It ends above `valor++`'s for `+S/label`" in text
    assert "unknown" not in text


def test_teacher_precision_reading():
    prf = pd.DataFrame(
        {"precision": [0.948, 0.801], "recall": [0.98, 0.97]},
        index=pd.MultiIndex.from_tuples([("test", "audio"), ("test", "visual")]),
    )
    text = reading.teacher_precision_reading(prf)
    assert text.startswith("On test, 20% of the gated visual video labels name a class never seen in the clip")
    assert "5% of the audio ones" in text
    assert "less precise of the two" in text


def test_reads_records_from_a_grid_folder(tmp_path):
    for model, seed, visual in (("valor++", 87, 69.69), ("+S", 87, 65.55), ("+S", 88, 66.0)):
        run = tmp_path / variant_slug(model) / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "results.json").write_text(json.dumps(_record(model, seed, visual)))
    scores = reading.segment_scores(find_grid_records(tmp_path, ["valor++", "+S", "+S/label"]))
    assert reading.seeds_of(scores, "+S") == [87, 88]
    assert np.allclose(reading.seed_differences(scores, "+S", "valor++").to_numpy(), [-4.14])
    assert reading.has_similarity_term("+S") and not reading.has_similarity_term("+S/label")


# --------------------------------------------------------------------------------------------
# The last epoch against the selected one
# --------------------------------------------------------------------------------------------


def _both(entries):
    """(selected, last) segment_scores of (variant, seed, selected visual, last visual) tuples."""
    records = {(v, s): _record(v, s, sel, last_visual=end) for v, s, sel, end in entries}
    return reading.segment_scores(records), reading.segment_scores(records, epoch="last")


def test_segment_scores_of_the_last_epoch():
    records = {
        ("+S", 87): _record("+S", 87, 65.5, last_visual=66.3),
        ("+S", 88): _record("+S", 88, 65.0),  # recorded before last-epoch scores were kept
    }
    last = reading.segment_scores(records, epoch="last")
    assert list(last.index) == [("+S", 87)]
    assert last.loc[("+S", 87), "V"] == pytest.approx(66.3)
    assert reading.segment_scores(records).loc[("+S", 88), "V"] == pytest.approx(65.0)
    with pytest.raises(ValueError):
        reading.segment_scores(records, epoch="best")


def test_selected_epochs():
    records = {
        ("+S", 87): _record("+S", 87, 65.5, best_epoch=2),
        ("+S", 88): _record("+S", 88, 65.0, complete=False, best_epoch=1),
    }
    epochs = reading.selected_epochs(records)
    assert list(epochs.index) == [("+S", 87)]
    assert epochs.loc[("+S", 87)].tolist() == [2, 3]


def test_s_effect_with_the_last_epoch_one_seed():
    seg, last = _both([("valor++", 87, 69.69, 66.56), ("+S", 87, 65.55, 66.34)])
    text = reading.s_effect_reading(seg, last=last)
    assert text == (
        "Adding S (L_label and the similarity term) changes the segment visual F, at the epoch each run "
        "selected on validation, by: `+S` − `valor++` (seed 87): −4.14. Read at each run's last epoch "
        "instead, on the same seed, `+S` − `valor++` is −0.22. The pair shares one seed, so the seed "
        "spread is unknown: the difference is one draw. Not paired yet (no finished seed shared): "
        "+T+S − +T, +S+P − +P, link − +T+P."
    )
    frame = reading.s_pair_frame(seg, last=last)
    assert frame.loc["+S − valor++", "difference, last epoch"] == pytest.approx(-0.22)


def test_s_effect_with_the_last_epoch_counts_the_pairs():
    seg, last = _both(
        [("valor++", s, 70.0, 66.0) for s in (87, 88)]
        + [("+S", s, 66.0, v) for s, v in ((87, 66.5), (88, 65.5))]
        + [("+T", 87, 71.0, 66.0), ("+T+S", 87, 66.0, 67.0)]
    )
    text = reading.s_effect_reading(seg, last=last)
    assert "S lowered it in 2 of the 2 pairs and raised it in 0 (seed means)." in text
    assert (
        "Read at each run's last epoch instead, on the same seeds, S lowered it in 0 of the 2 pairs and "
        "raised it in 1 (seed means)." in text
    )
    assert "+T+S − +T shares one seed, so its seed spread is unknown." in text
    # a run without last-epoch scores: the pair is named, not counted, and NaN in the table
    records = {
        ("valor++", 87): _record("valor++", 87, 70.0),
        ("+S", 87): _record("+S", 87, 66.0, last_visual=66.0),
    }
    seg, last = reading.segment_scores(records), reading.segment_scores(records, epoch="last")
    text = reading.s_effect_reading(seg, last=last)
    assert "Without last-epoch test scores for both partners: +S − valor++." in text
    assert "Read at each run's last epoch" not in text
    assert math.isnan(reading.s_pair_frame(seg, last=last).loc["+S − valor++", "difference, last epoch"])
    assert reading.selection_reading(seg, last).startswith("No pair has test scores of the last epoch")


def test_selection_reading_splits_the_drop():
    entries = [
        ("valor++", 87, 69.69, 66.56),
        ("+S", 87, 65.55, 66.34),
        ("+T", 87, 71.12, 65.63),
        ("+T+S", 87, 66.15, 65.38),
    ]
    records = {
        (v, s): _record(v, s, sel, last_visual=end, best_epoch=b) for (v, s, sel, end), b in zip(entries, (1, 2, 1, 3))
    }
    seg, last = reading.segment_scores(records), reading.segment_scores(records, epoch="last")
    text = reading.selection_reading(seg, last, epochs=reading.selected_epochs(records))
    assert text == (
        "The same differences of the segment visual F read at the epoch validation selected and at each "
        "run's last epoch: `+S` − `valor++` (seed 87): −4.14 at the selected epoch, −0.22 at the last; "
        "`+T+S` − `+T` (seed 87): −4.97 at the selected epoch, −0.25 at the last. Validation selected "
        "epochs 2 to 3 for the runs with S and 1 for their partners (the last epoch: 3). Averaged over "
        "the 2 pairs, the drop is −4.55 at the selected epoch and −0.23 at the last: 95% of it depends "
        "on which epoch is selected, and 5% remains when every run is read at its last epoch. Each pair "
        "rests on one seed, so the seed spread is unknown and this split is one draw per pair."
    )


def test_selection_reading_other_cases():
    gone, last = _both([("valor++", s, 70.0, 66.0) for s in (87, 88)] + [("+S", s, 66.0, 66.5) for s in (87, 88)])
    text = reading.selection_reading(gone, last)
    assert "(seed means): `+S` − `valor++` (seeds 87, 88): −4.00 at the selected epoch, +0.50 at the last." in text
    assert "For this pair, the drop of −4.00 at the selected epoch is gone at the last epoch (+0.50): all of it" in text
    assert "unknown" not in text
    kept, last = _both([("valor++", 87, 70.0, 70.0), ("+S", 87, 66.0, 65.0)])
    text = reading.selection_reading(kept, last)
    assert "the drop is −4.00 at the selected epoch and −5.00 at the last: none of it depends" in text
    assert text.endswith("The pair rests on one seed, so the seed spread is unknown and this split is one draw.")
    rising, last = _both([("valor++", 87, 66.0, 66.0), ("+S", 87, 67.0, 65.0)])
    assert "S does not lower the segment visual F at the selected epoch (+1.00), so there is no drop" in (
        reading.selection_reading(rising, last)
    )


# --------------------------------------------------------------------------------------------
# μ by variant, the teachers' names and the data a grid was trained on
# --------------------------------------------------------------------------------------------


def test_mu_variant_reading():
    mu = pd.DataFrame(
        {
            ("+S", 87): [0.1, 0.233],
            ("+T+S", 87): [0.1, 0.260],
            ("+T+S", 88): [0.1, 0.2605],
            ("link", 87): [0.1, 0.232],
            ("link", 88): [0.1, 0.2315],
            ("link", 89): [0.1, 0.2264],
            ("+S+P", 87): [0.1, 0.199],
        }
    )
    assert reading.mu_variant_reading(mu) == (
        "By variant, μ's last value goes from 0.199 (`+S+P`) to 0.260 (`+T+S`) (seed means). The seeds of "
        "one variant end within 0.006 of each other (the widest: `link`, 3 seeds); `+S` and `+S+P` have one "
        "seed each here. The variants differ by more (0.061): where μ ends depends on the model it trains in, "
        "so in these runs the adaptive weight is not set by the schedule alone."
    )
    alike = pd.DataFrame({("+S", 87): [0.0, 0.0336], ("+S", 88): [0.0, 0.0326], ("link", 87): [0.0, 0.0333]})
    text = reading.mu_variant_reading(alike, 4)
    assert text.endswith(
        "The variants differ by no more (0.0002): where μ ends is set by the schedule and the optimiser, not by "
        "the model, and the adaptive weight is a schedule in disguise here."
    )
    singles = pd.DataFrame({("+S", 87): [0.0, 0.2], ("link", 87): [0.0, 0.25]})
    assert reading.mu_variant_reading(singles) == (
        "By variant, μ's last value goes from 0.200 (`+S`) to 0.250 (`link`). Every variant has one seed here, "
        "so whether the variants differ by more than the seeds of one variant is unknown."
    )
    one = pd.DataFrame({("+S", 87): [0.0, 0.2]})
    assert "Only `+S` is here, with one seed" in reading.mu_variant_reading(one)
    both = pd.DataFrame({("+S", 87): [0.0, 0.2], ("+S", 88): [0.0, 0.21]})
    assert reading.mu_variant_reading(both).startswith("Only `+S` is here: its 2 seeds end within 0.010")


def test_teachers_name():
    assert reading.teachers_name({"kind": "synth"}) == "SynthLLP's simulated teachers"
    assert reading.teachers_name({"kind": "synth"}, "visual") == "SynthLLP's simulated visual teacher"
    assert reading.teachers_name({"kind": "llp"}) == "the CLAP and CLIP teachers"
    assert reading.teachers_name({"kind": "llp"}, "audio") == "the CLAP audio teacher"


def test_teacher_precision_names_the_simulated_teachers():
    prf = pd.DataFrame(
        {"precision": [0.948, 0.801], "recall": [0.98, 0.97]},
        index=pd.MultiIndex.from_tuples([("test", "audio"), ("test", "visual")]),
    )
    text = reading.teacher_precision_reading(prf, source={"kind": "synth"})
    assert text.startswith(
        "On test, 20% of the gated visual video labels of SynthLLP's simulated teachers (not CLIP's and "
        "CLAP's) name a class never seen in the clip (precision 0.801)"
    )
    real = reading.teacher_precision_reading(prf, source={"kind": "llp"})
    assert "video labels of the CLAP and CLIP teachers name a class" in real


def test_data_difference_reading():
    def runs(source):
        return {("+S", 87): {"config": {"model": "+S"}, "data": {"source": source}, "complete": True}}

    page = {"kind": "synth", "sizes": {"val": 321}, "config": {"class_noise": 0.4}}
    assert reading.data_difference_reading(runs(page), page) == "They were trained on the data loaded on this page."
    other = {"kind": "synth", "sizes": {"val": 649}, "config": {"class_noise": 0.25}}
    assert reading.data_difference_reading(runs(other), page) == (
        "Their data was generated with other settings than the data loaded on this page: 649 validation "
        "videos for model selection (this page: 321); feature noise 0.25 (this page: 0.4). They therefore "
        "describe the modules' behaviour, not this page's models."
    )
    assert reading.data_difference_reading(runs(other), page, shown=1) == (
        "Their data was generated with other settings than the data loaded on this page: 2 settings differ, "
        "among them 649 validation videos for model selection (this page: 321) (the other 1 is left out "
        "here). They therefore describe the modules' behaviour, not this page's models."
    )
