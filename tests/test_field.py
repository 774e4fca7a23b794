"""linkpaper.chapters.field (chapter 11) and the Table I constants of linkpaper.evaluation.paper."""

from __future__ import annotations

import json

import numpy as np
import pytest

from linkpaper.chapters import field
from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import SplitAnnotations
from linkpaper.errors import UserError
from linkpaper.evaluation import paper
from linkpaper.evaluation.metrics import evaluate_predictions
from linkpaper.evaluation.predictions import save_predictions
from linkpaper.models import variant_slug
from linkpaper.training.runs import DECISIONS_FILE

SOURCE = {"kind": "synth", "preset": "small", "seed": 0}


# ------------------------------------------------------------------------- Table I, reported


def test_every_table_i_row_names_its_features():
    assert list(paper.TABLE_I_FEATURES) == [row.method for row in paper.TABLE_I]
    clip_clap = [m for m, f in paper.TABLE_I_FEATURES.items() if f.startswith("CLAP, CLIP")]
    assert clip_clap == ["VALOR++", "LINK"]  # the only rows on CLIP / CLAP input features
    assert paper.table_i_features("HAN") == paper.FEATURES_LLP
    assert "pseudo labels" in paper.table_i_features("LEAP")
    with pytest.raises(UserError, match="no row 'HAN2'"):
        paper.table_i_features("HAN2")


def test_table_i_methods_are_the_lineage_and_registry_names():
    from linkpaper.models import canonical_name

    assert set(paper.TABLE_I_METHODS.values()) == set(field.LINEAGE)
    assert all(canonical_name(name) == name for name in paper.TABLE_I_METHODS.values())
    assert set(paper.TABLE_I_METHODS) <= {row.method for row in paper.TABLE_I}


def test_reported_frame_has_features_and_the_paper_numbers():
    frame = field.reported_frame("segment")
    assert list(frame.index) == [row.method for row in paper.TABLE_I]
    assert list(frame.columns[:3]) == ["venue", "features", "trained here"]
    assert frame.shape == (11, 8)
    assert frame.loc["HAN", "Type@AV"] == 54.0 and frame.loc["LINK", "venue"] == "(this paper)"
    assert frame.loc["MGN", "trained here"] == "" and frame.loc["MM-Pyr", "trained here"] == "mm-pyramid"
    event = field.reported_frame("event")
    assert event.loc["LEAP", "Type@AV"] == 60.2
    with pytest.raises(UserError, match="level 'frame'"):
        field.reported_frame("frame")


def test_reported_with_methods_maps_rows_without_touching_the_constants():
    rows = {row["method"]: row for row in field.reported_with_methods()}
    assert rows["JoMoLD"]["variant"] == "jomold" and rows["MGN"]["variant"] is None
    assert rows["VALOR++"]["variant"] == "valor++"
    assert [r.method for r in paper.TABLE_I if r.variant] == ["VALOR++", "LINK"]


# ----------------------------------------------------------------------------- the lineage


def test_lineage_frame_reads_the_registry():
    frame = field.lineage_frame(count_parameters=False)
    assert list(frame.index) == ["HAN", "MM-Pyramid", "JoMoLD", "VALOR++", "LEAP", "LINK"]
    han = frame.loc["HAN"]
    assert (han["optimiser"], han["schedule"], han["epochs"], han["batch"]) == (
        "Adam, lr 0.0003",
        "×0.1 every 10 epochs",
        40,
        16,
    )
    assert frame.loc["JoMoLD", "stages"] == "jomold/estimator first"
    assert frame.loc["JoMoLD", "published selection"] == "val event audio"
    valor = frame.loc["VALOR++"]
    assert valor["optimiser"] == "AdamW, lr 0.0003" and valor["epochs"] == 60 and valor["batch"] == 64
    assert valor["schedule"].startswith("10 warm-up epochs")
    assert valor["published selection"].endswith("(the common rule)")
    assert frame.loc["LEAP", "loss"] == "linkpaper.methods.leap.leap_losses"
    assert "LINK" in frame.loc["LINK", "paper"] and "VALOR" not in frame.loc["LINK", "paper"]


def test_lineage_frame_counts_parameters_of_the_built_networks():
    from linkpaper.models import build_model

    frame = field.lineage_frame(count_parameters=True)
    valor = build_model("valor++")  # the small one: built for real, its count must agree
    assert frame.loc["VALOR++", "parameters"] == sum(p.numel() for p in valor.parameters())
    assert frame.loc["HAN", "parameters"] == frame.loc["JoMoLD", "parameters"]  # JoMoLD is HAN's network
    assert frame.loc["HAN", "network"] == "HAN" and frame.loc["LINK", "network"] == "LINK"
    assert frame.loc["MM-Pyramid", "parameters"] > frame.loc["VALOR++", "parameters"]


def _example(x):
    """A docstring."""
    y = x + 1

    def inner(z):
        return z * 2

    return inner(y)


def test_source_block_is_the_source_or_one_definition_of_it():
    block = field.source_block(_example)
    assert block.startswith("```python\ndef _example(x):") and block.endswith("return inner(y)\n```")
    inner = field.source_block(_example, start="def inner")
    assert inner == "```python\ndef inner(z):\n    return z * 2\n```"  # dedented, stops at the next line
    with pytest.raises(UserError, match="'def nothing' is not in the source"):
        field.source_block(_example, start="def nothing")


# ----------------------------------------------------------------------- measured records


def _test_split(n=40):
    rng = np.random.default_rng(3)
    gt_a = rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85
    gt_v = rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85
    return SplitAnnotations(
        split="test",
        filenames=[f"vid{i:08d}_0_10" for i in range(n)],
        gt_audio=gt_a,
        gt_visual=gt_v,
        weak=(gt_a.any(axis=1) | gt_v.any(axis=1)).astype(np.float32),
    )


def _run(root, model, seed, test, noise, source=SOURCE, device="cpu", videos=None):
    """A finished run folder of ``model``: its decisions are the ground truth with a share
    ``noise`` of audio cells flipped, its record holds their scores."""
    rng = np.random.default_rng(seed * 7 + int(noise * 1000))
    keep = slice(None) if videos is None else slice(0, videos)
    gt_a, gt_v = test.gt_audio[keep], test.gt_visual[keep]
    pred_a = gt_a ^ (rng.random(gt_a.shape) < noise)
    pred_v = gt_v ^ (rng.random(gt_v.shape) < 0.05)
    row = evaluate_predictions(pred_a, pred_v, gt_a, gt_v).row()
    run = root / variant_slug(model) / f"seed{seed}"
    run.mkdir(parents=True)
    record = {
        "config": {"model": model, "epochs": 1, "warmup_epochs": 0, "device": device, "seed": seed},
        "data": {"spec": "synth:small", "source": source, "description": "SynthLLP (synthetic) preset=small seed=0"},
        "seed": seed,
        "plsim": {"used": False, "labels": "none"},
        "label_leakage": False,
        "code": {"commit": "abcdef1234567890", "dirty": False},
        "hardware": {"device": device, "device_name": "CPU", "threads": 1, "torch": "2"},
        "epochs": [{"epoch": 1, "val_type_av": 50.0}],
        "best_epoch": 1,
        "complete": True,
        "test_row": list(row),
    }
    (run / "results.json").write_text(json.dumps(record))
    names = test.filenames[keep]
    frame = np.stack([pred_a, pred_v], axis=2).astype(np.float32)
    save_predictions(run / DECISIONS_FILE, names, frame, np.ones((len(names), NUM_CLASSES), np.float32))
    return run


@pytest.fixture
def records(tmp_path):
    """The field's folder: HAN seeds 87/88 (noisy audio), JoMoLD seed 87 (clean audio); the
    grid's folder: VALOR++ seeds 87/88 (clean audio), LINK seed 87, and a +T run the chapter
    ignores. MM-Pyramid and LEAP have no run."""
    test = _test_split()
    field_dir, grid_dir = tmp_path / "field", tmp_path / "grid"
    for seed in (87, 88):
        _run(field_dir, "han", seed, test, 0.30)
        _run(grid_dir, "valor++", seed, test, 0.02)
    _run(field_dir, "jomold", 87, test, 0.02)
    _run(grid_dir, "link", 87, test, 0.02)
    _run(grid_dir, "+T", 87, test, 0.02)
    return test, field_dir, grid_dir


def test_field_rows_in_lineage_order_from_both_folders(records):
    _, field_dir, grid_dir = records
    runs, notes = field.field_run_dirs(field_dir, grid_dir)
    assert [(p.parent.name, p.name) for p in runs] == [
        ("han", "seed87"),
        ("han", "seed88"),
        ("jomold", "seed87"),
        ("valorpp", "seed87"),
        ("valorpp", "seed88"),
        ("link", "seed87"),
    ]
    assert notes == []
    rows = field.field_rows(field_dir, grid_dir)
    assert [row["model"] for row in rows] == ["han", "jomold", "valor++", "link"]
    assert rows[0]["seeds"] == [87, 88] and rows[1]["n"] == 1


def test_missing_folders_are_notes_not_errors(records, tmp_path):
    _, _, grid_dir = records
    runs, notes = field.field_run_dirs(tmp_path / "absent", grid_dir)
    assert [p.parent.name for p in runs] == ["valorpp", "valorpp", "link"]
    assert notes == [f"`{tmp_path / 'absent'}` is not there yet: no run of HAN, MM-Pyramid, JoMoLD, LEAP is committed"]
    (tmp_path / "empty").mkdir()
    assert field.field_run_dirs(tmp_path / "empty", grid_dir)[1] == [
        f"`{tmp_path / 'empty'}` holds no finished run of HAN, MM-Pyramid, JoMoLD, LEAP yet"
    ]
    assert field.field_rows(tmp_path / "absent", tmp_path / "gone") == []
    status = field.field_status([], notes=notes)
    assert "no finished run" in status and "Not trained yet" in status and "absent" in status


def test_field_status_names_held_and_missing_runs(records):
    _, field_dir, grid_dir = records
    rows = field.field_rows(field_dir, grid_dir)
    status = field.field_status(rows)
    assert "**6 finished runs**" in status
    assert "HAN (2 seeds: 87, 88, cpu)" in status and "JoMoLD (1 seed: 87, cpu)" in status
    assert "MM-Pyramid (seeds 87-89)" in status and "LEAP (seeds 87-89)" in status
    assert "HAN seed 89" in status and "JoMoLD seeds 88, 89" in status and "LINK seeds 88, 89" in status
    assert "the same benchmark" in status


def test_field_status_flags_runs_on_different_benchmarks(tmp_path):
    test = _test_split()
    _run(tmp_path / "field", "han", 87, test, 0.1)
    _run(tmp_path / "grid", "valor++", 87, test, 0.1, source={**SOURCE, "seed": 1})
    rows = field.field_rows(tmp_path / "field", tmp_path / "grid")
    assert "2 different benchmarks** (grouped: HAN; VALOR++)" in field.field_status(rows)


def test_measured_frame_has_a_row_per_method(records):
    _, field_dir, grid_dir = records
    rows = field.field_rows(field_dir, grid_dir)
    frame = field.measured_frame(rows, "segment")
    assert list(frame.index) == ["HAN", "MM-Pyramid", "JoMoLD", "VALOR++", "LEAP", "LINK"]
    assert frame.loc["MM-Pyramid", "seeds"] == "not trained yet" and frame.loc["LEAP", "Type@AV"] == ""
    han = rows[0]
    assert frame.loc["HAN", "Type@AV"] == f"{han['mean'][3]:.1f} ± {han['std'][3]:.1f}"
    assert frame.loc["JoMoLD", "Type@AV"] == f"{rows[1]['mean'][3]:.1f}"  # one seed: no ± std
    assert frame.loc["HAN", "seeds"] == "87, 88" and frame.loc["HAN", "device"] == "cpu"


def test_decisions_test_split_restricts_to_the_covered_videos(tmp_path):
    test = _test_split(40)
    run = _run(tmp_path / "field", "han", 87, test, 0.1, videos=30)
    rows = field.field_rows(tmp_path / "field", tmp_path / "grid")
    split = field.decisions_test_split(rows, test)
    assert split.filenames == test.filenames[:30] and split.gt_audio.shape == (30, NUM_SEGMENTS, NUM_CLASSES)
    assert np.array_equal(split.weak, test.weak[:30])
    full = _test_split(40)
    _run(tmp_path / "other", "han", 87, full, 0.1)
    assert field.decisions_test_split(field.field_rows(tmp_path / "other", tmp_path / "x"), full) is full
    _run(tmp_path / "field", "jomold", 87, test, 0.1)  # all 40 videos, HAN's run 30
    rows = field.field_rows(tmp_path / "field", tmp_path / "grid")
    with pytest.raises(UserError, match="other test videos"):
        field.decisions_test_split(rows, test)
    (run / DECISIONS_FILE).unlink()
    with pytest.raises(UserError, match="no test decisions"):
        field.decisions_test_split(rows, test)


def test_field_gains_over_han_and_over_valor(records):
    test, field_dir, grid_dir = records
    rows = field.field_rows(field_dir, grid_dir)
    over_han = field.field_gains(rows, test, "han", resamples=300)
    assert list(dict.fromkeys(over_han.index.get_level_values("variant"))) == ["JoMoLD", "VALOR++", "LINK"]
    valor = over_han.loc[("VALOR++", "Seg type")]
    assert valor["reported"] == pytest.approx(66.2 - 54.0)  # Table I, across different features
    means = {row["model"]: row["mean"][3] for row in rows}
    assert valor["measured"] == pytest.approx(means["valor++"] - means["han"])
    assert valor["measured"] > 0 and valor["low"] > 0  # much cleaner audio on every video
    over_link = field.field_gains(rows, test, "link", methods=["jomold"], resamples=300)
    assert list(dict.fromkeys(over_link.index.get_level_values("variant"))) == ["JoMoLD"]
    assert field.field_gains(rows, test, "mm-pyramid") is None  # no run of the baseline


def test_gain_frame_leaves_the_seed_interval_empty_for_one_seed_each(records):
    test, field_dir, grid_dir = records
    rows = field.field_rows(field_dir, grid_dir)
    table = field.gain_frame(field.field_gains(rows, test, "link", resamples=300))
    jomold = table.loc[("JoMoLD", "Seg type")]
    assert jomold["seeds"] == "1 / 1" and jomold["95% interval, seeds and videos"] == "one seed each: not measured"
    han = table.loc[("HAN", "Seg type")]
    assert han["seeds"] == "2 / 1" and han["95% interval, seeds and videos"].startswith("[")
    assert han["reported (Table I, own features)"] == pytest.approx(54.0 - 66.9)
    assert table.index.names == ["method", "score"]


def test_ordering_reading_compares_the_two_orders(records):
    test, field_dir, grid_dir = records
    rows = field.field_rows(field_dir, grid_dir)
    over_han = field.field_gains(rows, test, "han", resamples=300)
    text = field.ordering_reading(rows, over_han=over_han)
    assert text.startswith("**Measured order** by segment-level Type@AV")
    assert "HAN" in text.split(". **The paper's order**")[0].rsplit(">", 1)[1]  # HAN measured last
    paper_part = text.split("**The paper's order**")[1]
    assert paper_part.index("LINK 66.9") < paper_part.index("VALOR++ 66.2") < paper_part.index("JoMoLD 60.8")
    assert "agree on" in text and "of the 6 pairs" in text
    assert "JoMoLD, LINK have one seed" in text
    assert "Over HAN, " in text
    assert "no measured order" in field.ordering_reading(rows[:1])


def test_field_verdicts_read_each_gain(records):
    test, field_dir, grid_dir = records
    rows = field.field_rows(field_dir, grid_dir)
    over_han = field.field_gains(rows, test, "han", resamples=300)
    text = field.field_verdicts(over_han, "Seg type", baseline="HAN")
    lines = text.splitlines()
    assert [line.split("**")[1] for line in lines] == ["JoMoLD", "VALOR++", "LINK"]
    valor = over_han.loc[("VALOR++", "Seg type")]
    assert f"gain **{valor['measured']:+.2f}** points" in lines[1]
    assert "2 seeds against 2 of HAN" in lines[1] and "over seeds and test videos [" in lines[1]
    assert ("**Distinguishable from noise**" in lines[1]) == bool(valor["distinct"])
    assert "Table I's gain between the same rows is +12.2 on LLP, with other features" in lines[1]
    assert "only the other's seed noise" in lines[0]  # JoMoLD: one seed against two
    jomold = over_han.loc[("JoMoLD", "Seg type")]
    assert "**Distinguishable from noise**" not in lines[0]  # never the unqualified verdict with one seed
    assert ("**Distinguishable from the noise measured**" in lines[0]) == bool(jomold["distinct"])
    over_link = field.field_gains(rows, test, "link", methods=["jomold"], resamples=300)
    one_each = field.field_verdicts(over_link, "Seg type", baseline="LINK")
    assert "One seed each: the interval covers the test videos only" in one_each
    assert "over seeds and test videos" not in one_each
    assert field.field_verdicts(None, baseline="HAN") == (
        "HAN has no finished run yet, so there is no gain over it to read."
    )
    assert "No method besides LINK" in field.field_verdicts(over_link.iloc[:0], baseline="LINK")


def test_gain_figure_names_the_methods_and_refuses_an_empty_comparison(records):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    test, field_dir, grid_dir = records
    rows = field.field_rows(field_dir, grid_dir)
    over_han = field.field_gains(rows, test, "han", columns=(3,), resamples=200)
    fig = field.gain_figure(rows, over_han, "han", source="test data")
    ticks = [t.get_text() for t in fig.axes[-1].get_xticklabels()]
    assert ticks == ["HAN (its seeds)", "JoMoLD", "VALOR++", "LINK"]
    assert "Gains over HAN" in fig._suptitle.get_text() and "[test data]" in fig._suptitle.get_text()
    diamonds = sorted(float(c.get_offsets()[0, 1]) for c in fig.axes[0].collections if c.get_gid() == "reported")
    assert diamonds == pytest.approx(sorted([60.8 - 54.0, 66.2 - 54.0, 66.9 - 54.0]))
    with pytest.raises(UserError, match="no gain over HAN to draw"):
        field.gain_figure(rows, over_han.iloc[:0], "han", source="test data")
    plt.close("all")


def test_counting_parameters_on_meta_leaves_training_on_the_cpu_unharmed():
    import torch

    from linkpaper.models.audio_pooling import audio_pooling_matrix, pool_audio_maps

    field.lineage_frame(count_parameters=True)  # builds every network under torch.device("meta")
    matrix = audio_pooling_matrix()
    assert matrix.device.type == "cpu" and torch.allclose(matrix.sum(dim=1), torch.ones(10))
    pooled = pool_audio_maps(torch.ones(2, 64, 3))  # what training on the maps form calls
    assert pooled.device.type == "cpu" and torch.allclose(pooled, torch.ones(2, 10, 3))


# ------------------------------------------------------------------------- one seed's stray


def _seg_type_runs(tmp_path, values: dict) -> list[dict]:
    """Field rows of VALOR++ (from the grid folder) whose segment-level Type@AV per seed is
    ``values[seed]``."""
    test = _test_split()
    for seed, value in values.items():
        run = _run(tmp_path / "grid", "valor++", seed, test, 0.02)
        record = json.loads((run / "results.json").read_text())
        record["test_row"][field.SEG_TYPE] = value
        (run / "results.json").write_text(json.dumps(record))
    return field.field_rows(tmp_path / "field", tmp_path / "grid")


def test_seed_stray_reading_against_the_papers_gains(tmp_path):
    rows = _seg_type_runs(tmp_path, {87: 66.0, 88: 66.9})
    assert field.seed_stray_reading(rows) == (
        f"**How far one seed strays.** On {rows[0]['data']}, one seed of VALOR++ lies up to 0.45 "
        "points of segment-level Type@AV from the mean of its 2 seeds (87, 88). The paper's Table II "
        "gains over VALOR++ in that score (LLP, reported): 3 of 7 are no larger (+0.2 for + T, 0.0 "
        "for + S, 0.0 for + P), 4 are larger (+0.6 for + T, S, +0.5 for + S, P, +0.5 for + T, P, "
        "+0.7 for LINK (T, S, P)). One seed alone can thus stray by as much as the paper's smaller "
        "ablation gains, not by its larger ones."
    )
    assert "SynthLLP" in rows[0]["data"]


def test_seed_stray_reading_when_every_gain_or_none_is_within(tmp_path, monkeypatch):
    rows = _seg_type_runs(tmp_path, {87: 66.0, 88: 68.0, 89: 67.0})
    text = field.seed_stray_reading(rows)
    assert "lies up to 1.00 points of segment-level Type@AV from the mean of its 3 seeds (87, 88, 89)" in text
    assert text.endswith(
        "every one of them is no larger (+0.2 for + T, 0.0 for + S, 0.0 for + P, +0.6 for + T, S, "
        "+0.5 for + S, P, +0.5 for + T, P, +0.7 for LINK (T, S, P)), so one seed alone can stray by "
        "as much as any of the paper's ablation gains."
    )
    table_ii = {v: paper.reported_scores(v, "II") for v in paper.VARIANT_LABELS}
    shifted = {v: [x + (2.0 if v != "valor++" else 0.0) for x in row] for v, row in table_ii.items()}
    monkeypatch.setattr(paper, "reported_scores", lambda v, table="II": shifted[v])
    assert "every one of them is larger (+2.2 for + T, +2.0 for + S" in field.seed_stray_reading(rows)


def test_seed_stray_reading_with_one_seed_or_none(tmp_path):
    rows = _seg_type_runs(tmp_path, {87: 66.0})
    assert field.seed_stray_reading(rows) == (
        "VALOR++ has one seed in these records (seed 87): how far one of its seeds strays from its "
        "seed mean is unknown, and so is whether a row measured with one seed is within seed noise."
    )
    assert field.seed_stray_reading([]) == (
        "No run of VALOR++ is in these records yet, so how far one of its seeds strays is unknown."
    )
