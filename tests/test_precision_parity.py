"""The bf16/fp32 parity reading of chapter 8 (linkpaper.chapters.precision_parity), on
fabricated run records whose scores are known."""

from __future__ import annotations

import json

import pytest

from linkpaper.chapters import precision_parity as parity
from linkpaper.errors import UserError
from linkpaper.models import variant_slug


def _run(root, model, seed, precision, seg_type, event_type, seconds=10.0, best=5, complete=True, last=None):
    """A run folder whose test_row holds ``seg_type`` and ``event_type`` at the two judged
    columns (others 50.0) and whose last_epoch_test_row holds ``last`` (seg, event) there when
    given; ``precision=None`` writes a record from before the option existed."""
    row = [50.0] * 10
    row[3], row[8] = seg_type, event_type
    config = {"model": model, "seed": seed, "epochs": 60}
    if precision is not None:
        config["precision"] = precision
    record = {
        "config": config,
        "data": {"spec": "synth:small", "description": "SynthLLP (synthetic) preset=small seed=0"},
        "seed": seed,
        "plsim": {"used": False, "labels": "none"},
        "label_leakage": False,
        "code": {"commit": "abcdef1234567890", "dirty": False},
        "hardware": {"device": "cpu", "device_name": "CPU", "threads": 1, "torch": "2"},
        "epochs": [{"epoch": e, "seconds": {"train": seconds + e % 2, "val": seconds / 10}} for e in (1, 2, 3)],
        "best_epoch": best,
        "complete": complete,
        "test_row": row,
    }
    if last is not None:
        last_row = [40.0] * 10
        last_row[3], last_row[8] = last
        record["last_epoch_test_row"] = last_row
    run = root / variant_slug(model) / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps(record))
    return run


@pytest.fixture
def folders(tmp_path):
    fp32, bf16 = tmp_path / "fp32", tmp_path / "bf16"
    # VALOR++: fp32 seg 66/67/68, event 60/61/62 (records from before --precision: fp32)
    for seed, seg, event in ((87, 66.0, 60.0), (88, 67.0, 61.0), (89, 68.0, 62.0)):
        _run(fp32, "valor++", seed, None, seg, event, seconds=20.0)
    # bf16 seg mean 67.5 (inside), event mean 63.0 (outside [60, 62])
    for seed, seg, event in ((87, 67.0, 63.0), (88, 67.5, 63.0), (89, 68.0, 63.0)):
        _run(bf16, "valor++", seed, "bf16", seg, event, seconds=10.0, best=7)
    # LINK: one seed in both, one seed only in fp32, one unfinished bf16 run
    _run(fp32, "link", 87, "fp32", 65.0, 59.0)
    _run(fp32, "link", 88, "fp32", 66.0, 60.0)
    _run(bf16, "link", 87, "bf16", 65.5, 59.5)
    _run(bf16, "link", 88, "bf16", 70.0, 70.0, complete=False)
    return fp32, bf16


def test_pairs_match_variant_and_seed_and_skip_unfinished(folders):
    pairs = parity.parity_runs(*folders)
    keys = [(fp.variant, fp.seed, bf.seed) for fp, bf in pairs]
    assert keys == [("valor++", 87, 87), ("valor++", 88, 88), ("valor++", 89, 89), ("link", 87, 87)]
    assert {fp.precision for fp, _ in pairs} == {"fp32"} and {bf.precision for _, bf in pairs} == {"bf16"}


def test_frame_values_and_parity_rule(folders):
    frame = parity.parity_frame(parity.parity_runs(*folders))
    seg = frame.loc[("valor++", "Seg Type@AV")]
    assert seg["fp32 range"] == "[66.00, 68.00]" and seg["bf16 mean"] == 67.5 and seg["at parity"] is True
    assert seg["bf16 − fp32 (paired)"] == pytest.approx((1.0 + 0.5 + 0.0) / 3, abs=0.005)
    event = frame.loc[("valor++", "Event Type@AV")]
    assert event["at parity"] is False and event["bf16 − fp32 (paired)"] == 2.0
    assert seg["selected epochs fp32 / bf16"] == "5 / 5 / 5 | 7 / 7 / 7"
    assert frame.loc[("link", "Seg Type@AV")]["at parity"] is None  # one seed: not judged


def test_verdict_names_the_cells_outside_and_the_unjudged(folders):
    pairs = parity.parity_runs(*folders)
    frame = parity.parity_frame(pairs)
    speed = parity.speed_frame(pairs)
    text = parity.parity_verdict(frame, speed)
    assert "1 of 2 variant-score cells judged are at parity" in text
    assert "valor++ Event Type@AV (bf16 mean 63.00, fp32 range [60.00, 62.00])" in text
    assert "Not judged (one seed in both precisions, so no fp32 range): link." in text
    assert "from +0.50 to +2.00 points" in text
    assert "a bf16 training epoch was 1.00x to 1.91x as fast as the fp32 epoch of the same variant and seed" in text


def test_speed_frame_is_the_ratio_of_median_epoch_seconds(folders):
    speed = parity.speed_frame(parity.parity_runs(*folders))
    # median train seconds over epochs 1..3 of seconds + e % 2: 20+1, 20, 21 -> 21; 11, 10, 11 -> 11
    assert speed.loc["valor++", "fp32 epoch s"] == 21.0 and speed.loc["valor++", "bf16 epoch s"] == 11.0
    assert speed.loc["valor++", "epoch speed-up"] == round(21 / 11, 2)
    assert speed.loc["valor++", "validation speed-up"] == 2.0
    assert speed.loc["valor++", "epoch speed-up per seed"] == " / ".join([f"{21 / 11:.2f}"] * 3)


def test_a_run_of_the_other_precision_is_refused_with_its_folder(folders):
    fp32, bf16 = folders
    _run(fp32, "+T", 87, "bf16", 60.0, 55.0)
    with pytest.raises(UserError, match=r"valorpp_T/seed87: trained in bf16, but this folder is read as the fp32"):
        parity.parity_runs(fp32, bf16, variants=("valor++", "+T"))
    with pytest.raises(UserError, match=r"bf16/valorpp/seed87: trained in bf16, but this folder is read as the fp32"):
        parity.parity_runs(bf16, fp32)  # the folders swapped


def test_no_common_run_and_missing_folder_are_clear_errors(folders, tmp_path):
    fp32, bf16 = folders
    with pytest.raises(UserError, match="no variant and seed finished in both precisions"):
        parity.parity_runs(fp32, bf16, variants=("+P",))
    with pytest.raises(UserError, match="nowhere: no such folder"):
        parity.parity_runs(tmp_path / "nowhere", bf16)


def test_caption_names_data_epochs_and_seeds_from_the_records(folders):
    caption = parity.parity_caption(parity.parity_runs(*folders))
    assert caption == (
        "SynthLLP (synthetic) preset=small seed=0, 60 epochs, VALOR++ seeds 87/88/89 and LINK (T, S, P) seeds 87"
    )


def test_last_epoch_scores_leave_selection_out(tmp_path):
    fp32, bf16 = tmp_path / "fp32", tmp_path / "bf16"
    for seed, last in ((87, (64.0, 56.0)), (88, (64.5, 57.0))):
        _run(fp32, "valor++", seed, "fp32", 67.0 + seed - 87, 61.0, last=last)
        _run(bf16, "valor++", seed, "bf16", 60.0, 50.0, last=(last[0] + 0.1, last[1] - 0.1))
    pairs = parity.parity_runs(fp32, bf16)
    selected = parity.parity_frame(pairs)
    assert selected.loc[("valor++", "Seg Type@AV"), "at parity"] == False  # noqa: E712 (numpy bool); 60 vs [67, 68]
    last = parity.parity_frame(pairs, epoch="last")
    row = last.loc[("valor++", "Seg Type@AV")]
    assert row["fp32 range"] == "[64.00, 64.50]" and row["bf16 mean"] == 64.35 and row["at parity"] == True  # noqa: E712
    assert last.loc[("valor++", "Event Type@AV"), "bf16 − fp32 (paired)"] == -0.1
    with pytest.raises(UserError, match="epoch 'best': choose one of selected, last"):
        parity.parity_frame(pairs, epoch="best")


def test_last_epoch_parity_needs_the_scores_in_every_record(folders):
    pairs = parity.parity_runs(*folders)  # the fixture's records keep no last-epoch scores
    with pytest.raises(UserError, match=r"no last-epoch test scores in the records of valor\+\+ seed 87 \(fp32\)"):
        parity.parity_frame(pairs, epoch="last")


def test_summary_separates_rounding_from_model_selection(tmp_path):
    fp32, bf16 = tmp_path / "fp32", tmp_path / "bf16"
    for seed, last in ((87, (64.0, 56.0)), (88, (64.5, 57.0))):
        _run(fp32, "valor++", seed, "fp32", 67.0 + seed - 87, 61.0 + seed - 87, last=last)
        _run(bf16, "valor++", seed, "bf16", 67.5, 65.0, last=(last[0] + 0.1, last[1] - 0.1))
    pairs = parity.parity_runs(fp32, bf16)
    text = parity.parity_summary(parity.parity_frame(pairs), parity.parity_frame(pairs, epoch="last"))
    assert "at the last epoch bf16 is at parity on every score judged" in text
    assert "at the selected epoch valor++ Event Type@AV fall outside" in text
    both = parity.parity_summary(parity.parity_frame(pairs, epoch="last"), parity.parity_frame(pairs, epoch="last"))
    assert "at parity at the selected and at the last epoch" in both
    selected = parity.parity_frame(pairs)
    lost = parity.parity_summary(selected, selected)
    assert lost.startswith("**Verdict:** bf16 is not at parity at the last epoch on valor++ Event Type@AV")


def test_summary_waits_for_two_seeds(folders):
    pairs = [pair for pair in parity.parity_runs(*folders) if pair[0].variant == "link"]
    frame = parity.parity_frame(pairs)
    assert parity.parity_summary(frame, frame) == "Too few seeds in both precisions for a verdict yet."
