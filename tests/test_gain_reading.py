"""linkpaper.chapters.gain_reading (chapter 9's sentences): one-seed verdicts marked provisional,
the model-selection reading and its caveats, the data the records name, and what changed between
two grids. Every sentence is checked exactly, on fabricated records and frames."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers_records import selection_record as record

from linkpaper.chapters import gain_reading, run_records, seed_analysis

NAN = float("nan")

# ------------------------------------------------------------------ fabricated gain_data frames

GAIN_COLUMNS = {
    "model": "x",
    "reported": NAN,
    "measured": 0.0,
    "low": -1.0,
    "high": 1.0,
    "low_seeds": -1.0,
    "high_seeds": 1.0,
    "std": 0.0,
    "std_baseline": 0.0,
    "n": 3,
    "n_baseline": 3,
    "stderr": NAN,
    "excludes_zero": False,
    "distinct": False,
    "seeds_needed": NAN,
    "seeds_needed_low": NAN,
    "seeds_needed_high": NAN,
    "borrowed": False,
}


def gains(*rows: dict, score: str = "Seg type"):
    """A gain_data-like frame: one row per dict (``variant`` plus the columns that differ)."""
    index = pd.MultiIndex.from_tuples([(r["variant"], score) for r in rows], names=["variant", "score"])
    frame = pd.DataFrame([{**GAIN_COLUMNS, **{k: v for k, v in r.items() if k != "variant"}} for r in rows])
    frame.index = index
    frame.attrs["level"] = 0.95
    return frame


def test_verdict_of_a_one_seed_variant_is_provisional_and_says_whose_noise_is_in_it():
    data = gains(
        {
            "variant": "+ S",
            "measured": -2.56,
            "low": -3.5,
            "high": -1.6,
            "low_seeds": -3.6,
            "high_seeds": -1.4,
            "n": 1,
            "borrowed": True,
            "distinct": True,
            "excludes_zero": True,
            "reported": 0.5,
            "seeds_needed": 10.0,
            "seeds_needed_low": 3.0,
            "seeds_needed_high": 390.0,
        }
    )
    assert gain_reading.gain_verdicts(data) == (
        "* **+ S** (1 seed against 3 of VALOR++): segment-level Type@AV gain **−2.56** points, 95% interval "
        "over test videos [−3.50, −1.60], over seeds and test videos [−3.60, −1.40]; the paper reports +0.5. "
        "**Distinguishable from noise**: its interval over seeds and test videos excludes zero (provisional: "
        "+ S has one seed, so the interval over seeds and test videos holds VALOR++'s seed noise but not + S's "
        "own); a gain of the paper's size would need about **10 seeds per model** at VALOR++'s seed spread, "
        "assumed for + S too (3 to 390 over the 95 % interval of that spread, measured on so few seeds)."
    )


def test_verdict_with_a_one_seed_baseline_names_the_baseline():
    data = gains({"variant": "+ T", "measured": 0.3, "n_baseline": 1, "n": 2, "borrowed": True})
    assert gain_reading.gain_verdicts(data) == (
        "* **+ T** (2 seeds against 1 of VALOR++): segment-level Type@AV gain **+0.30** points, 95% interval "
        "over test videos [−1.00, +1.00], over seeds and test videos [−1.00, +1.00]; the paper reports no such "
        "variant. **Not distinguishable from noise** (provisional: VALOR++ has one seed, so the interval over "
        "seeds and test videos holds + T's seed noise but not VALOR++'s own)."
    )


def test_verdict_with_one_seed_each_and_with_several_seeds_each():
    one_each = gains(
        {"variant": "+ T", "measured": 2.0, "low": 1.0, "high": 3.0, "low_seeds": 1.0, "high_seeds": 3.0}
        | {"n": 1, "n_baseline": 1, "borrowed": True, "excludes_zero": True}
    )
    assert gain_reading.gain_verdicts(one_each).endswith(
        "The test videos alone separate it from zero, the seed noise is unknown: **not distinguishable from "
        "noise** (provisional: one seed per model, so the seed spread is not measured and neither interval "
        "holds any seed noise)."
    )
    several = gains({"variant": "+ T", "measured": 2.0, "low_seeds": 0.5, "high_seeds": 3.5, "distinct": True})
    text = gain_reading.gain_verdicts(several)
    assert "provisional" not in text and text.endswith(
        "**Distinguishable from noise**: its interval over seeds and test videos excludes zero."
    )


def test_evidence_against_is_never_claimed_from_a_borrowed_spread():
    row = {"variant": "LINK", "measured": -0.7, "low": -1.6, "high": 0.2, "reported": 0.9}
    row |= {"seeds_needed": 1.0, "seeds_needed_low": 1.0, "seeds_needed_high": 5.0}
    assert "**evidence against a gain of the paper's size**" in gain_reading.gain_verdicts(gains(row))
    one_seed = gain_reading.gain_verdicts(gains(row | {"n": 1, "borrowed": True}))
    assert "evidence against" not in one_seed and "(provisional: LINK has one seed" in one_seed


def test_verdict_notes_are_appended_to_their_variant_only():
    data = gains({"variant": "+ T", "measured": 0.3}, {"variant": "LINK", "measured": -0.7})
    lines = gain_reading.gain_verdicts(data, notes={"LINK": "A note."}).splitlines()
    assert lines[0].endswith("**Not distinguishable from noise**.")
    assert lines[1].endswith("**Not distinguishable from noise**. A note.")


def test_seeds_needed_notes_say_what_a_one_seed_model_gets_and_how_far_spreads_differ():
    data = gains(
        {"variant": "+ T", "n": 2, "std": 2.46, "std_baseline": 0.4},
        {"variant": "+ S", "n": 1, "std": 0.0, "std_baseline": 0.4, "borrowed": True},
        {"variant": "LINK", "n": 3, "std": 0.15, "std_baseline": 0.4},
    )
    assert gain_reading.seeds_needed_notes(data) == (
        "**n/a (1 seed)**: a model with one seed has no measured spread. Its interval over seeds and test "
        "videos redraws that one seed every time, so it holds the other model's seed noise only, not the "
        "one-seed model's own, and its verdict below is **provisional**; its seeds needed assume it strays "
        "as much as the other model's seeds do. How far off that can be: the seed standard deviations of "
        "segment-level Type@AV measured here run from 0.15 (LINK) to 2.46 (+ T)."
    )
    only_one = gains({"variant": "+ S", "n": 1, "n_baseline": 3, "std_baseline": 0.4, "borrowed": True})
    assert gain_reading.seeds_needed_notes(only_one).endswith("as much as the other model's seeds do.")
    assert gain_reading.seeds_needed_notes(gains({"variant": "+ T"})) == ""


# ----------------------------------------------------------------------- fabricated run records


def measured(root, variants=None):
    return run_records.measured_rows(run_records.find_run_dirs(root, variants))


@pytest.fixture
def selection_grid(tmp_path):
    """VALOR++ peaks early and loses 2 points by the last epoch; LINK's gain flips sign, +S's
    moves by 2.5 points without flipping, +T's barely moves, +P has one seed without a last epoch."""
    record(tmp_path, "valorpp", "valor++", 87, 67.0, 65.0, best_epoch=15)
    record(tmp_path, "valorpp", "valor++", 88, 67.0, 65.0, best_epoch=25)
    record(tmp_path, "link", "link", 87, 66.5, 66.0, best_epoch=35)
    record(tmp_path, "link", "link", 88, 66.0, 66.0, best_epoch=37)
    record(tmp_path, "valorpp_S", "+S", 87, 64.5, 65.0, best_epoch=32)
    record(tmp_path, "valorpp_T", "+T", 87, 67.5, 65.3, best_epoch=20)
    record(tmp_path, "valorpp_P", "+P", 87, 68.0, None, best_epoch=19)
    return run_records.selection_frame(measured(tmp_path))


def test_selection_reading_names_sign_changes_and_large_moves(selection_grid):
    assert gain_reading.selection_reading(selection_grid) == (
        "**What to look at.** The last two columns. VALOR++ (2 seeds, selected epochs 15, 25) scores 2.00 "
        "points lower in segment-level Type@AV at the last epoch than at its selected epochs, so every gain "
        "over it shifts with the rule. Over all the variants, the selection changes the mean test score by "
        "−0.50 to +2.20 points (selected minus last). The gain over VALOR++ **changes sign** between the two "
        "rules for **LINK (T, S, P)** (2 seeds, selected epochs 35, 37): −0.75 at the selected, +1.00 at the "
        "last epoch. It moves by more than 1 point without changing sign for **+ S** (1 seed, selected epoch "
        "32): −2.50 at the selected, +0.00 at the last epoch. For + T it moves by 1 point or less. A gain "
        "whose sign depends on the selection rule is within the noise of model selection alone; its verdict "
        "above says so. Not compared (a seed's last epoch was not recorded): + P."
    )


def test_selection_reading_with_no_move_beyond_the_threshold(selection_grid):
    calm = selection_grid.loc[["VALOR++", "+ T"]]
    assert gain_reading.selection_reading(calm, threshold=0.5, score="Event type").endswith(
        "For + T it moves by 0.5 points or less. No gain changes sign or moves by more than 0.5 points "
        "between the two rules."
    )


def test_selection_reading_without_last_epochs_gives_the_selected_epochs(tmp_path):
    record(tmp_path, "valorpp", "valor++", 87, 67.0, None, best_epoch=12)
    record(tmp_path, "link", "link", 87, 66.0, 66.0, best_epoch=40)
    frame = run_records.selection_frame(measured(tmp_path))
    assert gain_reading.selection_reading(frame) == (
        "**What to look at.** The selected epochs: from 12 to 40. The runs of VALOR++ here were recorded "
        "before the last epoch's test scores were kept, so how much the selection rule moves each gain cannot "
        "be read from this folder."
    )
    assert gain_reading.selection_caveats(frame) == {}
    assert gain_reading.selection_reading(frame.iloc[:0]) == (
        "No run of VALOR++, so there is no gain to compare between the two rules."
    )


def test_selection_caveats_only_for_a_sign_that_depends_on_the_rule(selection_grid):
    assert gain_reading.selection_caveats(selection_grid, where="below") == {
        "LINK (T, S, P)": "**Its sign depends on the selection rule**: scored at the last epoch instead of the "
        "best validation epoch, the gain is +1.00, so this verdict holds for the best-validation rule only "
        "(below)."
    }


# --------------------------------------------------------------------- the data the records name


SYNTH_FIRST = {
    "kind": "synth",
    "preset": "small",
    "seed": 0,
    "config": {"class_noise": 0.37, "text_noise": 0.5, "teacher_threshold": 0.6},
}
SYNTH_NOW = {
    "kind": "synth",
    "preset": "small",
    "seed": 0,
    "config": {"class_noise": 0.4, "text_noise": 0.5},
    "teachers": {"rule": "max gated cell F"},
}


def test_data_sentence_kinds_and_teachers_name(tmp_path):
    record(tmp_path / "synth", "valorpp", "valor++", 87, source=SYNTH_NOW)
    record(tmp_path / "llp", "valorpp", "valor++", 87, source={"kind": "llp"})
    synth, llp = measured(tmp_path / "synth"), measured(tmp_path / "llp")
    assert gain_reading.data_kinds(synth) == {"synth"} and gain_reading.data_kinds(llp) == {"llp"}
    assert gain_reading.data_sentence(synth) == (
        "The measured rows below come from **SynthLLP small (synthetic)** (read from the run records): "
        "synthetic features scored against LLP's real test annotations, so only their gains over VALOR++ are "
        "set beside the paper's."
    )
    assert gain_reading.data_sentence(llp) == (
        "The measured rows below come from **LLP (real features)** (read from the run records): their "
        "absolute numbers answer the paper's."
    )
    assert gain_reading.data_sentence(synth + llp) == (
        "The run records name more than one kind of data: **SynthLLP small (synthetic); LLP (real features)**. "
        "Rows trained on different data are not comparable; point the results folder at one grid."
    )
    assert gain_reading.teachers_name(synth) == "SynthLLP's simulated teachers'"
    assert gain_reading.teachers_name(llp) == "The CLAP and CLIP teachers'"
    assert gain_reading.teachers_name(synth + llp) == "The teachers'"


def test_data_changes_names_every_knob_and_the_teachers(tmp_path):
    record(tmp_path / "first", "valorpp", "valor++", 87, source=SYNTH_FIRST)
    record(tmp_path / "first", "link", "link", 87, source=SYNTH_FIRST)
    record(tmp_path / "now", "valorpp", "valor++", 87, source=SYNTH_NOW)
    first, now = measured(tmp_path / "first"), measured(tmp_path / "now")
    assert gain_reading.data_changes(first, now) == (
        "Read from their run records, the data of the first grid and this grid differ in these ways at once: "
        "**class_noise** 0.37 → 0.4; the knob teacher_threshold (the first grid's data only); the teachers, "
        "set by fixed knobs in the first grid's data and by the rule \"max gated cell F\" in this grid's."
    )
    assert gain_reading.data_changes(now, now) == (
        "Read from their run records, the data of the first grid and this grid are the same."
    )
    record(tmp_path / "now", "link", "link", 87, source=SYNTH_FIRST)  # one grid, two data
    assert gain_reading.data_changes(first, measured(tmp_path / "now")) == (
        "The runs of this grid were trained on 2 different versions of the data; their gains are not one grid's."
    )


def test_before_after_lesson_counts_a_move_only_beyond_both_grids_noise():
    before = gains(
        {"variant": "+ T, P", "measured": -0.17, "low_seeds": -1.6, "high_seeds": 1.25},
        {"variant": "+ S", "measured": -2.28, "low_seeds": -3.35, "high_seeds": -1.18},
        {"variant": "LINK", "measured": 0.14, "low_seeds": -0.5, "high_seeds": 0.8},
    )
    after = gains(
        {"variant": "+ T, P", "measured": 1.59, "low_seeds": 1.3, "high_seeds": 2.7},
        {"variant": "+ S", "measured": -2.56, "low_seeds": -3.6, "high_seeds": -1.4, "n": 1},
        # outside the first grid's interval, but the first grid's gain is inside this one's
        {"variant": "LINK", "measured": -0.72, "low_seeds": -1.8, "high_seeds": 0.43},
    )
    assert gain_reading.before_after_lesson(before, after) == (
        "Beyond the noise of both grids (neither grid's interval over seeds and test videos holds the other "
        "grid's gain): + T, P (−0.17 → +1.59). A gain that moves this far with the simulation is a property "
        "of how the benchmark was simulated (what changed is listed above), not of the module alone: on "
        "simulated data, a module's verdict is only as good as the simulation of what that module reads. "
        "Within the noise of at least one grid, so no evidence that the change of data moved them: + S "
        "(−2.28 → −2.56, provisional); LINK (+0.14 → −0.72). Provisional: a grid holds one seed of the "
        "variant or of the baseline, so its interval lacks that model's own seed noise and may hold too little."
    )
    quiet = gain_reading.before_after_lesson(before.iloc[1:], after.iloc[1:])
    assert quiet.startswith("No gain moved beyond the noise of both grids")
    assert gain_reading.before_after_lesson(before.iloc[:1], after.iloc[1:]) == (
        "No variant has runs on both the first grid and this grid yet."
    )


# ---------------------------------------------------------------- grid limits and teacher labels


def test_grid_limits_joins_variants_by_semicolons_and_reads_cmim_products(tmp_path):
    from linkpaper.chapters.probe import grid_records
    from linkpaper.training.runs import RunRecord

    for slug, model in (("valorpp_T_S", "+T+S"), ("link", "link")):
        record(tmp_path, slug, model, 87)
        path = tmp_path / slug / "seed87"
        data = RunRecord.read(path).to_dict()
        data["epochs"] = [
            {"epoch": e, "diagnostics": {"mu": 0.1 * e, "alpha1": 1 + 0.02 * e, "beta1": 1 + 0.02 * e}}
            | {"lr": 1e-4, "train_loss": {"total": 1.0}, "val": {}}
            for e in (1, 2)
        ]
        RunRecord.coerce(data).write(path)
    text = gain_reading.grid_limits(grid_records(tmp_path, ["+T+S", "link"], [87]))
    assert "in the 2 runs that train it (+ T, S; LINK (T, S, P))." in text
    assert (
        "* **CMIM's scalars** α₁ and α₂ start at 1 and end within 0.040 of it in both runs with CMIM. What "
        "CMIM adds from the other stream is scaled by the product α₁·β₁ (chapter 5), which ends between "
        "1.082 and 1.082: a change of up to 8 % from 1."
    ) in text


def test_teacher_label_reading_names_whose_labels_they_are():
    frame = pd.DataFrame(
        {"Audio": [6.3, 69.0, 66.7], "Visual": [4.7, 67.6, 69.6]},
        index=[seed_analysis.TEACHER_ROWS[0], "teacher labels within VALOR++'s predicted classes", "VALOR++"],
    )
    text = seed_analysis.teacher_label_reading(frame, teachers="SynthLLP's simulated teachers'")
    assert text == (
        "* SynthLLP's simulated teachers' ungated labels, as they are, score audio 6.3 and visual 4.7: they "
        "mark many classes a video does not have. Kept to the classes VALOR++ predicts for the video, they "
        "score audio **69.0** and visual **67.6**, against 66.7 and 69.6 for VALOR++ itself: +2.3 audio, "
        "−2.0 visual."
    )
    assert seed_analysis.teacher_label_reading(frame).startswith("* The teachers' ungated labels, as they are,")
