"""linkpaper.chapters.run_records, prediction_scores, gain_reading and seed_analysis: run records
with provenance, scores from predictions, figures."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")  # tests only: no display

import numpy as np
import pytest
from helpers_records import selection_record

from linkpaper.chapters import gain_reading, prediction_scores, run_records, seed_analysis, viz
from linkpaper.classes import CLASSES, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.errors import UserError
from linkpaper.evaluation import paper
from linkpaper.evaluation.metrics import evaluate_predictions
from linkpaper.evaluation.predictions import save_predictions

SCORE_KEYS = ("audio", "visual", "audio_visual", "type", "event")


def _scores(value: float) -> dict:
    return {level: {m: value for m in SCORE_KEYS} for level in ("segment", "event")}


def write_record(root, slug, model, seed, row, complete=True, epochs=6, commit="abcdef1234567890", dirty=False):
    """A minimal results.json as the engine writes it."""
    run = root / slug / f"seed{seed}"
    run.mkdir(parents=True)
    record = {
        "config": {"model": model, "epochs": epochs, "warmup_epochs": 1, "device": "cpu", "seed": seed},
        "data": {
            "spec": "synth:small",
            "source": {"kind": "synth", "preset": "small", "seed": 0},
            "description": "SynthLLP (synthetic) preset=small seed=0",
        },
        "seed": seed,
        "plsim": {"used": False, "labels": "none"},
        "label_leakage": False,
        "code": {"commit": commit, "dirty": dirty},
        "hardware": {"device": "cpu", "device_name": "AMD EPYC", "threads": 1, "torch": "2.13.0+cpu"},
        "epochs": [
            {
                "epoch": e,
                "lr": 3e-4 / e,
                "train_loss": {"video": 1.0 / e, "total": 3.0 / e},
                "val": _scores(40.0 + e),
                "val_type_av": 40.0 + (e if e != 2 else 10),
                "diagnostics": {"mu": 0.01 * e},
            }
            for e in range(1, 4)
        ],
        "best_epoch": 2,
        "complete": complete,
    }
    if complete:
        record["test_row"] = list(row)
    (run / "results.json").write_text(json.dumps(record))
    return run


@pytest.fixture
def grid(tmp_path):
    write_record(tmp_path, "link", "link", 88, [62.0] * 10)
    write_record(tmp_path, "link", "link", 87, [60.0] * 10)
    write_record(tmp_path, "valorpp", "valor++", 87, [float(i) for i in range(10)])
    write_record(tmp_path, "valorpp", "valor++", 89, [float(i) + 2 for i in range(10)])
    write_record(tmp_path, "valorpp", "valor++", 90, [0.0] * 10, complete=False)
    return tmp_path


# ---------------------------------------------------------------------------- run records


def test_find_run_dirs_registry_then_seed_order(grid):
    runs = run_records.find_run_dirs(grid)
    assert [(p.parent.name, p.name) for p in runs] == [
        ("valorpp", "seed87"),
        ("valorpp", "seed89"),
        ("valorpp", "seed90"),
        ("link", "seed87"),
        ("link", "seed88"),
    ]
    assert [p.parent.name for p in run_records.find_run_dirs(grid, ["link"])] == ["link", "link"]


def test_find_run_dirs_names_the_folder_when_empty(tmp_path):
    with pytest.raises(UserError, match=f"{tmp_path}: no run records"):
        run_records.find_run_dirs(tmp_path)
    with pytest.raises(UserError, match=f"{tmp_path / 'typo'}: no such folder"):
        run_records.find_run_dirs(tmp_path / "typo")


def test_measured_rows_mean_std_and_provenance(grid):
    rows = run_records.measured_rows(run_records.find_run_dirs(grid))
    valor, link = rows
    assert valor["model"] == "valor++" and valor["seeds"] == [87, 89] and valor["incomplete"] == 1
    assert valor["mean"] == [i + 1.0 for i in range(10)]
    assert valor["std"] == pytest.approx([np.sqrt(2.0)] * 10)  # sample std of (x, x + 2)
    assert link["mean"] == [61.0] * 10 and link["seeds"] == [87, 88]
    assert valor["label"] == "SynthLLP small (synthetic), 6 epochs, seeds 87/89"
    assert valor["provenance"] == "measured" and valor["commit"] == "abcdef123456"
    assert valor["hardware"] == "AMD EPYC (cpu, 1 thread(s))"


def test_measured_rows_flag_dirty_code_and_mixed_epochs(tmp_path):
    write_record(tmp_path, "valorpp", "valor++", 87, [1.0] * 10, epochs=6, dirty=True)
    write_record(tmp_path, "valorpp", "valor++", 88, [1.0] * 10, epochs=60, commit="0123456789abcdef")
    (row,) = run_records.measured_rows(run_records.find_run_dirs(tmp_path))
    assert row["commit"] == "0123456789ab / abcdef123456 (dirty)"
    assert row["epochs"] == "6 / 60"


def test_provenance_frame_lists_run_records(grid):
    frame = run_records.provenance_frame(run_records.measured_rows(run_records.find_run_dirs(grid)))
    assert list(frame.index) == ["valor++", "link"]
    assert frame.loc["link", "run records"] == "link/seed87/results.json, link/seed88/results.json"
    assert frame.loc["valor++", "seeds"] == "87/89"


def test_history_frame_columns_and_best_epoch(grid):
    record = json.loads((grid / "link" / "seed87" / "results.json").read_text())
    history = run_records.history_frame(record)
    assert list(history.index) == [1, 2, 3]
    assert list(history["best"]) == [False, True, False]
    assert history.loc[3, "loss total"] == pytest.approx(1.0)
    assert history.loc[2, "val segment type"] == 42.0 and history.loc[2, "mu"] == 0.02
    with pytest.raises(UserError, match="no finished epoch"):
        run_records.history_frame({"epochs": []})


# ---------------------------------------------------------------------------- predictions


def _gt():
    """Two videos: video 0 segment 0 aligned (dog heard and seen), 1 non-aligned (speech heard
    only), 2 non-aligned (dog heard, cat seen), rest empty; video 1 empty."""
    dog, cat, speech = (CLASSES.index(c) for c in ("Dog", "Cat", "Speech"))
    gt_a = np.zeros((2, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    gt_v = np.zeros_like(gt_a)
    gt_a[0, 0, dog] = gt_v[0, 0, dog] = True
    gt_a[0, 1, speech] = True
    gt_a[0, 2, dog] = gt_v[0, 2, cat] = True
    return gt_a, gt_v, (dog, cat, speech)


def test_segment_alignment_kinds():
    gt_a, gt_v, _ = _gt()
    kind = prediction_scores.segment_alignment(gt_a, gt_v)
    assert kind.shape == (2, NUM_SEGMENTS) and kind.dtype == np.int8
    assert kind[0, :4].tolist() == [
        prediction_scores.ALIGNED,
        prediction_scores.NON_ALIGNED,
        prediction_scores.NON_ALIGNED,
        prediction_scores.EMPTY,
    ]
    assert (kind[1] == prediction_scores.EMPTY).all()
    with pytest.raises(UserError, match="expected two equal"):
        prediction_scores.segment_alignment(gt_a, gt_v[:, :5])


def test_masked_segment_scores_exact_counts():
    gt_a, gt_v, (dog, cat, speech) = _gt()
    pred_a, pred_v = gt_a.copy(), np.zeros_like(gt_v)
    pred_v[0, 0, dog] = True  # aligned segment fully right
    pred_v[0, 2, dog] = True  # non-aligned: the dog is heard, the cat seen -> FP and FN
    kind = prediction_scores.segment_alignment(gt_a, gt_v)
    aligned = prediction_scores.masked_segment_scores(pred_a, pred_v, gt_a, gt_v, kind == prediction_scores.ALIGNED)
    assert aligned["segments"] == 1
    assert aligned["audio"] == {"tp": 1, "fp": 0, "fn": 0, "f": 100.0}
    assert aligned["audio_visual"]["f"] == 100.0
    other = prediction_scores.masked_segment_scores(pred_a, pred_v, gt_a, gt_v, kind == prediction_scores.NON_ALIGNED)
    assert other["segments"] == 2
    assert other["audio"]["f"] == 100.0
    assert other["visual"] == {"tp": 0, "fp": 1, "fn": 1, "f": 0.0}
    assert other["event"] == {"tp": 2, "fp": 1, "fn": 1, "f": pytest.approx(100 * 4 / 6)}
    assert other["audio_visual"] == {"tp": 0, "fp": 1, "fn": 0, "f": 0.0}  # dog heard and "seen": AV FP
    empty = prediction_scores.masked_segment_scores(pred_a, pred_v, gt_a, gt_v, kind == prediction_scores.EMPTY)
    assert empty["segments"] == 17 and np.isnan(empty["audio"]["f"])  # nothing to count


def test_masked_scores_over_all_segments_match_the_metric_counts():
    rng = np.random.default_rng(0)
    gt_a, gt_v, pred_a, pred_v = (rng.random((6, NUM_SEGMENTS, NUM_CLASSES)) < 0.1 for _ in range(4))
    everything = prediction_scores.masked_segment_scores(pred_a, pred_v, gt_a, gt_v, np.ones((6, NUM_SEGMENTS), bool))
    per_class = evaluate_predictions(pred_a, pred_v, gt_a, gt_v).per_class["segment"]
    for m in prediction_scores.MASKED_MODALITIES:
        assert [everything[m][k] for k in ("tp", "fp", "fn")] == [
            int(per_class[m].tp.sum()),
            int(per_class[m].fp.sum()),
            int(per_class[m].fn.sum()),
        ]


def test_load_run_predictions_reorders_and_gates(tmp_path):
    names = ["b.mp4", "a.mp4"]
    frame = np.zeros((2, NUM_SEGMENTS, 2, NUM_CLASSES), np.float32)
    video = np.zeros((2, NUM_CLASSES), np.float32)
    frame[0, :3, 0, 5] = 0.9  # video b: audio class 5 in segments 0-2
    video[0, 5] = 0.7
    frame[1, :, 1, 7] = 0.9  # video a: visual class 7 everywhere but gated out by the video label
    video[1, 7] = 0.2
    save_predictions(tmp_path / "test_predictions.npz", names, frame, video)
    pred_a, pred_v = prediction_scores.load_run_predictions(tmp_path, ["a.mp4", "b.mp4"])
    assert pred_a.shape == (2, NUM_SEGMENTS, NUM_CLASSES)
    assert pred_a[1, :, 5].tolist() == [True] * 3 + [False] * 7 and not pred_a[0].any()
    assert not pred_v.any()


def test_example_videos_are_deterministic():
    a = np.array([0.5, 0.5, 0.5, 0.5, 0.5])
    b = np.array([0.9, 0.5, 0.1, 0.6, 0.5])
    assert prediction_scores.example_videos(a, b, 4) == [
        (0, "largest gain"),
        (2, "largest loss"),
        (1, "typical"),
        (4, "typical"),
    ]
    eligible = np.array([False, True, True, True, False])
    assert prediction_scores.example_videos(a, b, 3, eligible) == [
        (3, "largest gain"),
        (2, "largest loss"),
        (1, "typical"),
    ]
    with pytest.raises(UserError, match="expected two equal"):
        prediction_scores.example_videos(a, b[:3])
    with pytest.raises(UserError, match="with one or more"):
        prediction_scores.example_videos(a, b, 2, np.zeros(5, bool))


# ---------------------------------------------------------------------------- figures


def test_history_figure_has_its_panels(grid):
    import matplotlib.pyplot as plt

    record = json.loads((grid / "link" / "seed87" / "results.json").read_text())
    fig = run_records.history_figure(run_records.history_frame(record), source="test data")
    assert len(fig.axes) == 3 and "[test data]" in fig._suptitle.get_text()
    plt.close("all")


def test_variant_colors_are_fixed_per_variant():
    from linkpaper.models import list_models

    colors = [run_records.variant_color(v) for v in list_models()]
    assert len(set(colors)) == len(colors) == 8
    assert run_records.variant_color("link") == colors[-1] and run_records.variant_color("unknown") == "#000000"


def _write_noisy_decisions(root, test, slug, model, seed, rng, audio_noise, visual_noise=0.05):
    """A run folder whose stored test decisions are ``test``'s ground truth with a share of
    cells flipped (audio and visual noise drawn from ``rng``), its record holding their scores."""
    from linkpaper.training.runs import DECISIONS_FILE

    pred_a = test.gt_audio ^ (rng.random(test.gt_audio.shape) < audio_noise)
    pred_v = test.gt_visual ^ (rng.random(test.gt_visual.shape) < visual_noise)
    scores = evaluate_predictions(pred_a, pred_v, test.gt_audio, test.gt_visual)
    folder = write_record(root, slug, model, seed, scores.row())
    frame = np.stack([pred_a, pred_v], axis=2).astype(np.float32)
    n = len(test.filenames)
    save_predictions(folder / DECISIONS_FILE, test.filenames, frame, np.ones((n, NUM_CLASSES), np.float32))


def test_gain_report_from_test_decisions(tmp_path):
    """Two seeds of a baseline and of a variant whose audio is better on every video; the report
    recovers the gain, its interval excludes zero, and a variant equal to the baseline does not."""
    from types import SimpleNamespace

    from linkpaper.training.runs import DECISIONS_FILE

    rng = np.random.default_rng(0)
    n = 60
    gt_a = rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85
    gt_v = rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85
    test = SimpleNamespace(filenames=[f"vid{i:08d}_0_10" for i in range(n)], gt_audio=gt_a, gt_visual=gt_v)

    def run(slug, model, seed, audio_noise):
        _write_noisy_decisions(tmp_path, test, slug, model, seed, rng, audio_noise)

    for seed in (87, 88):
        run("valorpp", "valor++", seed, 0.10)
        run("valorpp_T", "+T", seed, 0.01)
    # +P: the baseline's own decisions (same folder content), so the gain is exactly 0
    for seed in (87, 88):
        (tmp_path / "valorpp_P" / f"seed{seed}").mkdir(parents=True)
        for name in ("results.json", DECISIONS_FILE):
            source = (tmp_path / "valorpp" / f"seed{seed}" / name).read_bytes()
            if name == "results.json":
                source = source.replace(b'"model": "valor++"', b'"model": "+P"')
            (tmp_path / "valorpp_P" / f"seed{seed}" / name).write_bytes(source)
    measured = run_records.measured_rows(run_records.find_run_dirs(tmp_path))
    report = gain_reading.gain_report(measured, paper.reported_rows("II"), test, columns=(0, 3), resamples=400)
    better = report.loc[("+ T", "Seg a")]
    assert better["measured"] > 5 and better["distinct"]
    assert better["reported"] == pytest.approx(0.7)  # 68.8 - 68.1 in the paper's Table II
    low, high = (float(x) for x in better["95% interval, test videos"].strip("[]").split(","))
    assert 0 < low < better["measured"] < high
    wide_low, wide_high = (float(x) for x in better["95% interval, seeds and videos"].strip("[]").split(","))
    assert wide_low <= low and wide_high >= high and wide_low > 0  # seeds add spread; still above zero
    same = report.loc[("+ P", "Seg type")]
    assert same["measured"] == 0 and same["95% interval, test videos"] == "[+0.00, +0.00]" and not same["distinct"]
    # seeds needed: the paper's +0.7 on Seg a at the measured spread, with its range
    needed = better["seeds needed (95% range)"]
    point, low_high = needed.split(" (")
    low_n, high_n = (float(x.replace(",", "")) for x in low_high.rstrip(")").split("-"))
    assert low_n < float(point.replace(",", "")) < high_n
    with pytest.raises(UserError, match="baseline"):
        gain_reading.gain_report([row for row in measured if row["model"] != "valor++"], [], test)


def test_cross_modal_errors_counts_by_the_other_modality():
    gt_a = np.zeros((1, NUM_SEGMENTS, NUM_CLASSES), bool)
    gt_v = np.zeros_like(gt_a)
    gt_a[0, :4, 0] = True  # class 0 heard in segments 0-3, seen in 2-5
    gt_v[0, 2:6, 0] = True
    pred_v = np.zeros_like(gt_a)
    pred_v[0, :3, 0] = True  # seg 0, 1: heard only -> 2 "visual FP, heard"; seg 2: TP
    pred_v[0, 9, 0] = True  # neither -> 1 "visual FP, neither"
    pred_a = gt_a.copy()
    pred_a[0, 4, 0] = True  # seen only -> 1 "audio FP, seen"
    frame = prediction_scores.cross_modal_errors({"m": (pred_a, pred_v)}, gt_a, gt_v)
    row = frame.loc["m"]
    assert (row["visual TP"], row["visual FP, heard"], row["visual FP, neither"], row["visual FN"]) == (1, 2, 1, 3)
    assert (row["audio TP"], row["audio FP, seen"], row["audio FP, neither"], row["audio FN"]) == (4, 1, 0, 0)


def test_target_group_shares_partition_the_pairs():
    pl_a = np.zeros((1, 2, 3))
    pl_v = np.zeros((1, 2, 3))
    pl_a[0, 0, [0, 1]] = 1  # audio seg 0 {0, 1}, seg 1 {}
    pl_v[0, 0, 0] = 1  # visual seg 0 {0}, seg 1 {}
    shares = prediction_scores.target_group_shares(pl_a, pl_v)
    # pairs: (0,0) overlap (1/2), (0,1) disjoint, (1,0) disjoint, (1,1) empty
    assert shares == {"same": 0.0, "overlap": 0.25, "disjoint": 0.5, "empty": 0.25, "mean target": 0.125}


def test_gain_report_with_only_the_baseline_is_empty(tmp_path):
    from types import SimpleNamespace

    write_record(tmp_path, "valorpp", "valor++", 87, [50.0] * 10)
    measured = run_records.measured_rows(run_records.find_run_dirs(tmp_path))
    report = gain_reading.gain_report(measured, paper.reported_rows("II"), SimpleNamespace())
    assert report.empty and list(report.columns)[:2] == ["reported", "measured"]
    assert report.index.names == ["variant", "score"]
    # chapter 9 reads the numbers too: an empty frame keeps its numeric columns numeric
    data = gain_reading.gain_data(measured, paper.reported_rows("II"), SimpleNamespace())
    assert data.empty and data["seeds_needed"].dtype == float and data["distinct"].dtype == bool
    assert gain_reading.seeds_needed_notes(data) == ""
    assert "no gain to read" in gain_reading.gain_verdicts(data, "Seg type")


# ----------------------------------------------------------- gains and the prose that reads them


def _decisions_grid(tmp_path, n=40):
    """Baseline seeds 87/88, +T seeds 87/88 with much better audio, +S seed 87 equal to the
    baseline's seed 87, each with stored test decisions. Returns (test, measured)."""
    from types import SimpleNamespace

    rng = np.random.default_rng(1)
    gt_a = rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85
    gt_v = rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85
    gt_v[: n // 2] = gt_a[: n // 2]  # half the videos aligned: heard = seen
    weak = gt_a.any(axis=1) | gt_v.any(axis=1)
    test = SimpleNamespace(filenames=[f"vid{i:08d}_0_10" for i in range(n)], gt_audio=gt_a, gt_visual=gt_v, weak=weak)

    def run(slug, model, seed, audio_noise, noise_seed=None):
        local = np.random.default_rng(noise_seed if noise_seed is not None else seed)
        _write_noisy_decisions(tmp_path, test, slug, model, seed, local, audio_noise)

    for seed in (87, 88):
        run("valorpp", "valor++", seed, 0.10)
        run("valorpp_T", "+T", seed, 0.01)
    run("valorpp_S", "+S", 87, 0.10, noise_seed=87)  # the baseline's seed-87 decisions
    return test, run_records.measured_rows(run_records.find_run_dirs(tmp_path))


def test_gain_data_is_numeric_and_gain_report_formats_it(tmp_path):
    test, measured = _decisions_grid(tmp_path)
    data = gain_reading.gain_data(measured, paper.reported_rows("II"), test, columns=(0, 3), resamples=300)
    assert list(data.index) == [("+ T", "Seg a"), ("+ T", "Seg type"), ("+ S", "Seg a"), ("+ S", "Seg type")]
    better = data.loc[("+ T", "Seg a")]
    assert better["low"] < better["measured"] < better["high"] and better["distinct"] and not better["borrowed"]
    assert better["n"] == 2 and better["n_baseline"] == 2
    single = data.loc[("+ S", "Seg type")]
    assert single["borrowed"] and single["std"] == 0  # one seed: its spread is borrowed
    report = gain_reading.gain_report(measured, paper.reported_rows("II"), test, data=data)
    assert report.loc[("+ T", "Seg a"), "measured"] == round(better["measured"], 2)
    assert report.loc[("+ T", "Seg a"), "95% interval, test videos"] == f"[{better['low']:+.2f}, {better['high']:+.2f}]"
    assert report.loc[("+ T", "Seg a"), "95% interval, seeds and videos"] == (
        f"[{better['low_seeds']:+.2f}, {better['high_seeds']:+.2f}]"
    )


def test_seed_gain_points_and_gain_figure(tmp_path):
    import matplotlib.pyplot as plt

    test, measured = _decisions_grid(tmp_path)
    points = gain_reading.seed_gain_points(measured, columns=(3,))
    base = points[points["model"] == "valor++"]["gain"]
    assert len(points) == 5 and base.sum() == pytest.approx(0.0)  # baseline seeds around their mean
    data = gain_reading.gain_data(measured, paper.reported_rows("II"), test, columns=(3, 8), resamples=200)
    fig = gain_reading.gain_figure(data, gain_reading.seed_gain_points(measured), source="test data")
    assert len(fig.axes) == 2 and "[test data]" in fig._suptitle.get_text()
    ticks = [t.get_text() for t in fig.axes[-1].get_xticklabels()]  # panels stacked, labels at the bottom
    assert ticks == ["VALOR++ (its seeds)", "+ T", "+ S"]
    diamonds = [c for c in fig.axes[0].collections if c.get_gid() == "reported"]
    reported = sorted(float(c.get_offsets()[0, 1]) for c in diamonds)
    assert reported == pytest.approx(sorted([66.4 - 66.2, 66.2 - 66.2]))  # +T and +S, Table II
    assert "reported" in viz.figure_description(fig)["alt"]
    jittered = [c.get_offsets().copy() for c in fig.axes[0].collections]
    again = gain_reading.gain_figure(data, gain_reading.seed_gain_points(measured), source="test data")
    assert all(np.array_equal(a, b) for a, b in zip(jittered, [c.get_offsets() for c in again.axes[0].collections]))
    np.random.seed(5)
    before = np.random.random()
    np.random.seed(5)
    gain_reading.gain_figure(data, points, source="test data")
    assert np.random.random() == before  # the fixed jitter leaves numpy's global stream alone
    empty = gain_reading.gain_figure(data.iloc[:0], points, source="test data")
    assert "No variant" in empty.axes[0].texts[0].get_text()
    plt.close("all")


def test_prose_helpers_read_the_numbers(tmp_path):
    test, measured = _decisions_grid(tmp_path)
    status = gain_reading.grid_status(measured)
    assert "5 finished runs of 3 variants" in status and "Not trained yet: + P" in status
    data = gain_reading.gain_data(measured, paper.reported_rows("II"), test, columns=(3,), resamples=200)
    text = gain_reading.gain_verdicts(data, "Seg type")
    plus_t = data.loc[("+ T", "Seg type")]
    assert f"**{plus_t['measured']:+.2f}**".replace("-", "−") in text
    assert "**+ T** (2 seeds against 2 of VALOR++)" in text and "paper reports +0.2" in text
    assert "(provisional: + S has one seed, so the interval over seeds and test videos holds VALOR++'s" in text
    assert "no size to detect" in text  # +S: the paper's gain is 0.0
    assert "No variant besides" in gain_reading.gain_verdicts(data.iloc[:0])
    gains = gain_reading.modality_gains(measured)
    assert gains.loc["+ T", ("Audio", "n")] == 2 and gains.loc["+ T", ("Audio", "low")] > 0
    table = gain_reading.modality_gain_table(gains)
    assert " to " in table.loc["+ T", "Audio"] and " to " not in table.loc["+ S", "Audio"]
    reading = gain_reading.modality_reading(gains)
    assert "**+ T** (2 seeds): audio" in reading and "(every seed above)" in reading


def test_modality_reading_compares_the_controls_with_plus_s(tmp_path):
    write_record(tmp_path, "valorpp", "valor++", 87, [50.0] * 10)
    write_record(tmp_path, "valorpp_S", "+S", 87, [50.0, 40.0] + [50.0] * 8)
    write_record(tmp_path, "valorpp_S__label", "+S/label", 87, [50.0, 45.0] + [50.0] * 8)
    gains = gain_reading.modality_gains(
        run_records.measured_rows(run_records.find_run_dirs(tmp_path, ["valor++", "+S", "+S/label"]))
    )
    reading = gain_reading.modality_reading(gains)
    assert "visual change of + S (−10.0)" in reading and "+S/label −5.0" in reading
    assert "already gives 50 % of it (from single seeds)" in reading


# ----------------------------------------------------------------------- per-epoch records


def _epoch_records(tmp_path):
    from linkpaper.chapters.probe import grid_records

    for seed, drift in ((87, 0.001), (88, 0.002)):
        run = write_record(tmp_path, "link", "link", seed, [60.0] * 10)
        record = json.loads((run / "results.json").read_text())
        record["data"]["sizes"] = {"train": 2000, "val": 321, "test": 1200}
        record["config"].update({"batch_size": 64, "epochs": 3})
        for e in record["epochs"]:
            e["diagnostics"].update(
                {"alpha1": 1 + drift * e["epoch"], "beta1": 1 + drift * e["epoch"], "tsam_a_spatial_std": 0.002}
            )
        (run / "results.json").write_text(json.dumps(record))
    return grid_records(tmp_path, ["link"], [87, 88])


def test_epoch_endpoints_and_panels(tmp_path):
    import matplotlib.pyplot as plt

    records = _epoch_records(tmp_path)
    ends = seed_analysis.epoch_endpoints(records, ["alpha1", "mu", "nothing"], {"alpha1": "α₁"})
    assert list(ends.index) == [("α₁", "LINK (T, S, P)"), ("mu", "LINK (T, S, P)")]
    row = ends.loc[("α₁", "LINK (T, S, P)")]
    assert row["seeds"] == 2 and row["first epoch"] == pytest.approx(1.0015)
    assert row["change"] == pytest.approx(0.003) and row["change range"] == "+0.0020 to +0.0040"
    fig = seed_analysis.epoch_panels_figure(
        records,
        [
            {"key": "alpha1", "title": "α₁ − 1", "offset": 1.0, "scale": 1000},
            {"key": "nothing"},
            {"key": "val_type_av", "from_epoch": 2},
        ],
        source="test data",
        title="Diagnostics",
    )
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == ["α₁ − 1", "val_type_av"]
    mean_line = visible[0].lines[-1]  # seeds first (thin), then the mean (thick)
    assert list(mean_line.get_ydata()) == pytest.approx([1.5, 3.0, 4.5])
    assert list(visible[1].lines[-1].get_xdata()) == [2, 3]
    with pytest.raises(UserError, match="no run record has any of"):
        seed_analysis.epoch_panels_figure(records, [{"key": "nothing"}], source="x", title="x")
    fixed = seed_analysis.epoch_panels_figure(
        records, [{"key": "mu", "ylim": (0, 1.05), "hline": 1.0}], source="test data", title="mu"
    )
    assert fixed.axes[0].get_ylim() == (0, 1.05)
    assert fixed.axes[0].lines[-1].get_linestyle() == "--" and list(fixed.axes[0].lines[-1].get_ydata()) == [1, 1]
    plt.close("all")


def test_grid_limits_reads_the_schedule_and_the_modules(tmp_path):
    text = gain_reading.grid_limits(_epoch_records(tmp_path))
    assert "32 optimiser steps per epoch, 96 in 3 epochs" in text and "157 per epoch" in text
    assert "μ** starts at 0; after the last epoch it is between 0.03 and 0.03 in the 2 runs" in text
    assert "end within 0.006 of it in both runs with CMIM" in text
    assert "at most 0.0020" in text
    assert gain_reading.grid_limits({}) == "No run records."


# ------------------------------------------------------- two models over all their seeds


def test_seed_runs_per_class_and_zero_scores(tmp_path):
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    test, _ = _decisions_grid(tmp_path)
    runs = seed_analysis.seed_runs(tmp_path, ["valor++", "+T"], test)
    assert list(runs) == [("VALOR++", 87), ("VALOR++", 88), ("+ T", 87), ("+ T", 88)]
    # a class the +T seed-88 run never predicts scores 0 there
    pred_a, pred_v = runs[("+ T", 88)]["predictions"]
    pred_a[..., 0] = False
    runs[("+ T", 88)]["scores"] = evaluate_predictions(pred_a, pred_v, test.gt_audio, test.gt_visual)
    train = SimpleNamespace(
        weak=np.eye(NUM_CLASSES)[np.arange(60) % NUM_CLASSES],
        pseudo_audio=np.zeros((60, NUM_SEGMENTS, NUM_CLASSES)),
        pseudo_visual=np.ones((60, NUM_SEGMENTS, NUM_CLASSES)),
    )
    train.weak[:5, 0] = 0  # class 0: the rarest in training
    support = seed_analysis.class_support(test, train)
    assert support.loc[CLASSES[0], "test audio segments"] == test.gt_audio[..., 0].sum()
    assert support.loc[CLASSES[0], "train rank"] == 1 and support["teacher audio segments"].sum() == 0
    frame = seed_analysis.per_class_seed_frame(runs)
    assert len(frame) == 4 * 2 * NUM_CLASSES
    zeros = seed_analysis.zero_score_classes(frame, support)
    assert list(zeros.index) == [(CLASSES[0], "audio")]
    row = zeros.iloc[0]
    assert row["runs at 0"] == "+ T seed 88" and row["predicted segments in those runs"] == 0
    assert row["runs"] == 4 and row["train rank"] == 1 and row["teacher segments (this modality)"] == 0
    reading = seed_analysis.zero_score_reading(zeros, support, frame)
    assert "That run **never predicts it**" in reading and "never labels it in training" in reading
    assert "No class scores 0 in every run" in reading
    assert "No class scores 0 in any" in seed_analysis.zero_score_reading(zeros.iloc[:0], support, frame)
    differences = seed_analysis.class_differences(frame, support, ["VALOR++", "+ T"], count=3)
    assert len(differences) == 6 and differences["difference"].iloc[0] >= differences["difference"].iloc[-1]
    assert "VALOR++: F, 2 seed(s)" in differences.columns
    reading = seed_analysis.class_difference_reading(differences, support)
    assert "Of these 6 largest differences" in reading
    apart = int((~differences["seed ranges overlap"]).sum())
    assert (seed_analysis.RANGES_APART in reading) == (apart > 0)
    overlapping = differences.assign(**{"seed ranges overlap": True})
    assert seed_analysis.RANGES_APART not in seed_analysis.class_difference_reading(overlapping, support)
    apart_all = differences.assign(**{"seed ranges overlap": False})
    assert seed_analysis.RANGES_APART in seed_analysis.class_difference_reading(apart_all, support)
    single = seed_analysis.class_differences(frame[frame["seed"] == 87], support, ["VALOR++", "+ T"], count=3)
    reading = seed_analysis.class_difference_reading(single, support)  # one seed each: no ranges to overlap
    assert "With one seed of each model there is no seed range" in reading and "within the seed" not in reading
    mixed = seed_analysis.class_differences(
        frame[(frame["seed"] == 87) | (frame["model"] == "VALOR++")], support, ["VALOR++", "+ T"], count=3
    )
    assert "With one seed of a model there is no seed range" in seed_analysis.class_difference_reading(mixed, support)
    fig = seed_analysis.per_class_seed_figure(frame, support, source="test data")
    assert len(fig.axes) == 2 and "(" in fig.axes[0].get_yticklabels()[0].get_text()
    rows = [[t.get_text().rsplit(" (", 1)[0] for t in ax.get_yticklabels()] for ax in fig.axes]
    assert rows[0] == rows[1]  # one class order for both panels
    plt.close("all")


def test_alignment_over_seeds(tmp_path):
    import matplotlib.pyplot as plt

    test, _ = _decisions_grid(tmp_path)
    runs = seed_analysis.seed_runs(tmp_path, ["valor++", "+T"], test)
    frame = seed_analysis.alignment_seed_frame(runs, test.gt_audio, test.gt_visual)
    assert len(frame) == 4 * 2 * 4  # runs x kinds x modalities
    one = frame[(frame["model"] == "VALOR++") & (frame["seed"] == 87) & (frame["segments"] == "aligned")]
    kind = prediction_scores.segment_alignment(test.gt_audio, test.gt_visual)
    expected = prediction_scores.masked_segment_scores(
        *runs[("VALOR++", 87)]["predictions"], test.gt_audio, test.gt_visual, kind == prediction_scores.ALIGNED
    )
    assert one[one["modality"] == "Audio"]["F"].item() == pytest.approx(expected["audio"]["f"])
    table = seed_analysis.alignment_seed_table(frame)
    assert table.loc[("VALOR++", "aligned"), "Audio"].endswith("(2)")
    reading = seed_analysis.alignment_reading(frame, ["VALOR++", "+ T"], kind)
    assert "annotated test segments are non-aligned" in reading and "+ T minus VALOR++" in reading
    assert f"% of all {kind.size:,} test segments" in reading
    assert (seed_analysis.RANGES_APART in reading) == ("(seed ranges apart)" in reading)
    far = frame.assign(F=frame["F"] + np.where(frame["model"] == "+ T", 50.0, 0.0))  # every range apart
    assert seed_analysis.RANGES_APART in seed_analysis.alignment_reading(far, ["VALOR++", "+ T"], kind)
    near = frame.assign(F=np.where(frame["model"] == "+ T", 1.0, 1.0))  # identical: every range overlaps
    assert seed_analysis.RANGES_APART not in seed_analysis.alignment_reading(near, ["VALOR++", "+ T"], kind)
    fig = seed_analysis.alignment_seed_figure(frame, source="test data")
    assert [ax.get_title() for ax in fig.axes] == ["aligned segments", "non-aligned segments"]
    plt.close("all")


def test_gain_table_notes_one_seed_and_evidence_against(tmp_path):
    test, measured = _decisions_grid(tmp_path)
    data = gain_reading.gain_data(measured, paper.reported_rows("II"), test, columns=(3,), resamples=200)
    report = gain_reading.gain_report(measured, paper.reported_rows("II"), test, data=data)
    assert report.loc[("+ S", "Seg type"), "seed std"].startswith("n/a (1 seed) / ")
    assert "n/a" not in report.loc[("+ T", "Seg type"), "seed std"]
    notes = gain_reading.seeds_needed_notes(data)
    assert "**inf** seeds needed (+ S (Seg type))" in notes and "n/a (1 seed)" in notes
    # a gain the seeds in hand could detect, measured outside its interval: evidence against it
    fake = data.copy()
    fake.loc[("+ T", "Seg type"), ["measured", "low", "high", "reported"]] = [-0.7, -1.9, 0.6, 0.9]
    fake.loc[("+ T", "Seg type"), ["distinct", "seeds_needed"]] = [False, 2.0]
    text = gain_reading.gain_verdicts(fake, "Seg type")
    assert "no more than the 2 in hand" in text and "evidence against a gain of the paper's size" in text
    fake.loc[("+ T", "Seg type"), "seeds_needed"] = 5.0
    assert "evidence against" not in gain_reading.gain_verdicts(fake, "Seg type")


def test_one_seed_each_is_never_called_distinguishable_from_noise(tmp_path):
    """Baseline and +T with one seed each: the test videos separate them, the seeds cannot (no
    spread is measured), and the notes do not call the NaN seeds needed 'inf'."""
    from types import SimpleNamespace

    rng = np.random.default_rng(2)
    n = 40
    gt_a, gt_v = (rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85 for _ in range(2))
    test = SimpleNamespace(filenames=[f"vid{i:08d}_0_10" for i in range(n)], gt_audio=gt_a, gt_visual=gt_v)
    _write_noisy_decisions(tmp_path, test, "valorpp", "valor++", 87, rng, 0.10)
    _write_noisy_decisions(tmp_path, test, "valorpp_T", "+T", 87, rng, 0.01)
    measured = run_records.measured_rows(run_records.find_run_dirs(tmp_path))
    data = gain_reading.gain_data(measured, paper.reported_rows("II"), test, columns=(0,), resamples=200)
    row = data.loc[("+ T", "Seg a")]
    assert row["excludes_zero"] and not row["distinct"]
    assert np.isnan(row["stderr"]) and np.isnan(row["seeds_needed"])
    text = gain_reading.gain_verdicts(data, "Seg a")
    assert "**not distinguishable from noise**" in text and "seed spread is not measured" in text
    notes = gain_reading.seeds_needed_notes(data)
    assert "**inf**" not in notes and "n/a (1 seed)" in notes


def test_teacher_label_frame_and_commit_reading(tmp_path):
    from types import SimpleNamespace

    test, measured = _decisions_grid(tmp_path)
    runs = seed_analysis.seed_runs(tmp_path, ["valor++", "+T"], test)
    # teachers that mark every class everywhere: kept to the baseline's classes they are the
    # baseline's video-level classes over every segment
    everything = np.ones_like(test.gt_audio, dtype=np.float32)
    split = SimpleNamespace(
        filenames=list(reversed(test.filenames)), pseudo_audio_ungated=everything, pseudo_visual_ungated=everything
    )
    frame = seed_analysis.teacher_label_frame(split, test, runs)
    assert list(frame.index) == [
        *seed_analysis.TEACHER_ROWS[:1],
        "teacher labels within VALOR++'s predicted classes",
        "VALOR++",
        "+ T",
    ]
    assert list(frame.columns) == ["Audio", "Visual", "Audio-visual", "Type@AV", "seeds"]
    assert frame.loc["VALOR++", "seeds"] == 2
    expected = np.mean([run["scores"].row()[0] for (m, _), run in runs.items() if m == "VALOR++"])
    assert frame.loc["VALOR++", "Audio"] == pytest.approx(expected)
    reading = seed_analysis.teacher_label_reading(frame)
    assert "Kept to the classes VALOR++ predicts" in reading and "+ T: audio" in reading
    assert "nothing to compare" in seed_analysis.teacher_label_reading(frame.loc[["VALOR++"]])
    with pytest.raises(UserError):
        seed_analysis.teacher_label_frame(
            SimpleNamespace(pseudo_audio_ungated=None, pseudo_visual_ungated=None), test, runs
        )
    assert seed_analysis.commit_reading(measured) == (
        "The 5 runs started from 1 commit: abcdef1 (5 runs), none with uncommitted changes."
    )


def test_replay_regression_recovers_a_known_slope_and_refuses_no_spread():
    from linkpaper.chapters.seed_analysis import replay_regression

    rng = np.random.default_rng(0)
    advantage = rng.normal(0, 10, 500)
    r, slope, n = replay_regression(advantage, 0.5 * advantage + 3.0)
    assert r == pytest.approx(1.0) and slope == pytest.approx(0.5) and n == 500
    noisy = 0.5 * advantage + rng.normal(0, 5, 500)
    r, slope, _ = replay_regression(advantage, noisy)
    assert 0.6 < r < 0.8 and 0.4 < slope < 0.6  # r = 5 / sqrt(5^2 + 5^2) ~ 0.71
    r, _, _ = replay_regression(advantage, -advantage)
    assert r == pytest.approx(-1.0)
    with_nan = advantage.copy()
    with_nan[:10] = np.nan
    assert replay_regression(with_nan, advantage)[2] == 490
    assert np.isnan(replay_regression(advantage, np.zeros(500))[0])


def test_stored_teacher_labels_are_refused_for_runs_of_another_generation(tmp_path):
    from linkpaper.chapters.seed_analysis import StoredTeacherLabels, teacher_test_split
    from linkpaper.training.runs import RunRecord

    source = {"kind": "synth", "preset": "tiny", "seed": 0, "config": {"class_noise": 0.37}}
    path = tmp_path / "labels.npz"
    labels = np.zeros((2, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    labels[0, 3, 4] = True
    np.savez_compressed(
        path, filenames=np.array(["a", "b"]), audio=labels, visual=~labels, source=np.array(json.dumps(source))
    )
    stored = StoredTeacherLabels.read(path)
    assert stored.filenames == ["a", "b"] and stored.pseudo_audio_ungated[0, 3, 4] and stored.source == source
    # a record of synth:tiny with other knobs than the present generator's -> the stored labels
    record = RunRecord(data={"spec": "synth:tiny", "source": source, "description": "SynthLLP tiny"})
    split, where = teacher_test_split(record, path)
    assert split.filenames == ["a", "b"] and "earlier generation" in where
    other = RunRecord(
        data={
            "spec": "synth:tiny",
            "description": "SynthLLP tiny",
            "source": {**source, "config": {"class_noise": 0.5}},
        }
    )
    with pytest.raises(UserError, match="belong to another generation"):
        teacher_test_split(other, path)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="cannot read stored teacher labels"):
        StoredTeacherLabels.read(tmp_path / "bad.npz")


def test_trained_on_recognises_the_present_generation():
    from linkpaper.chapters.seed_analysis import teacher_test_split, trained_on
    from linkpaper.data.sources import load_data
    from linkpaper.training.runs import RunRecord

    data = load_data("synth:tiny")
    record = RunRecord(data={"spec": "synth:tiny", "source": json.loads(json.dumps(data.source))})
    assert trained_on(record, data)
    split, where = teacher_test_split(record)
    assert where == "regenerated from synth:tiny" and split.filenames == data.test.filenames
    assert not trained_on(RunRecord(data={"spec": "synth:tiny", "source": {**data.source, "seed": 1}}), data)


def test_selection_frame_compares_the_selected_and_the_last_epoch(tmp_path):
    def record(slug, model, seed, selected, last, best_epoch):
        selection_record(tmp_path, slug, model, seed, selected, last, best_epoch)

    record("valorpp", "valor++", 87, 66.0, 65.0, 12)
    record("valorpp", "valor++", 88, 68.0, 67.0, 30)
    record("valorpp_T", "+T", 87, 67.0, 68.0, 50)
    record("valorpp_T", "+T", 88, 69.0, None, 41)  # recorded before last-epoch scores were kept
    frame = run_records.selection_frame(run_records.measured_rows(run_records.find_run_dirs(tmp_path)))
    base, t = frame.loc["VALOR++"], frame.iloc[1]
    assert base["selected epochs"] == "12, 30" and base["last epoch recorded"] == 2
    assert base["test at the selected epoch"] == 67.0 and base["test at the last epoch"] == 66.0
    assert base["selection moved"] == 1.0 and base["gain, selected"] == 0.0
    assert t["last epoch recorded"] == 1 and t["test at the last epoch"] == 68.0
    assert t["gain, selected"] == 1.0 and t["gain, last"] == 2.0


def test_gains_before_after_aligns_variants_of_two_grids():
    import pandas as pd

    def frame(rows):
        index = pd.MultiIndex.from_tuples([(v, s) for v, s, *_ in rows], names=["variant", "score"])
        return pd.DataFrame(
            [{"measured": g, "low_seeds": lo, "high_seeds": hi, "n": n} for _, _, g, lo, hi, n in rows], index=index
        )

    before = frame(
        [
            ("+ P", "Seg type", 0.5, -0.5, 1.5, 3),
            ("+ T", "Seg type", -0.5, -1.0, 0.1, 3),
            ("+ T", "Event type", 9.0, 8.0, 10.0, 3),
        ]
    )
    after = frame([("+ P", "Seg type", -1.25, -2.0, -0.5, 3), ("VALOR++ (weak)", "Seg type", -8.0, -9.0, -7.0, 1)])
    table = gain_reading.gains_before_after(before, after)
    assert table.loc["+ P", ("", "change")] == -1.75
    assert table.loc["+ P", ("after", "interval (seeds and videos)")] == "[−2.00, −0.50]"
    assert np.isnan(table.loc["+ T", ("after", "gain")]) and np.isnan(table.loc["VALOR++ (weak)", ("before", "gain")])
    assert set(table.index) == {"+ P", "+ T", "VALOR++ (weak)"}  # Event type rows are not mixed in


def _before_after_table():
    import pandas as pd

    def frame(rows):
        index = pd.MultiIndex.from_tuples([(v, s) for v, s, *_ in rows], names=["variant", "score"])
        return pd.DataFrame(
            [{"measured": g, "low_seeds": lo, "high_seeds": hi, "n": n} for _, _, g, lo, hi, n in rows], index=index
        )

    before = frame([("+ P", "Seg type", 0.5, -0.5, 1.5, 3), ("+ T", "Seg type", -0.5, -1.0, 0.1, 3)])
    after = frame([("+ P", "Seg type", -1.25, -2.0, -0.5, 1), ("+ T", "Seg type", -0.25, -1.0, 0.5, 1)])
    after = pd.concat([after, frame([("VALOR++ (weak)", "Seg type", -8.0, -9.0, -7.0, 1)])])
    return gain_reading.gains_before_after(before, after)


def test_before_after_reading_flags_sign_changes_and_one_grid_variants():
    text = gain_reading.before_after_reading(_before_after_table())
    assert "* **+ P**: +0.50 → −1.25 (**sign changed**); after: 1 seed(s), interval [−2.00, −0.50]" in text
    assert "* **+ T**: −0.50 → −0.25; after" in text  # same sign: no flag
    assert "Largest moves: + P −1.75; + T +0.25 points" in text
    assert "On one grid only: VALOR++ (weak)." in text


def test_before_after_reading_with_no_common_variant():
    table = _before_after_table().loc[["VALOR++ (weak)"]]
    assert gain_reading.before_after_reading(table) == "No variant has runs on both the first grid and this grid yet."


def _replay(rows):
    import pandas as pd

    frame = pd.DataFrame.from_dict(
        {
            m: {
                ("audio", "r"): a,
                ("audio", "slope"): 0.1,
                ("visual", "r"): v,
                ("visual", "slope"): 0.1,
                ("", "seeds"): n,
            }
            for m, (a, v, n) in rows.items()
        },
        orient="index",
    )
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def test_replay_reading_compares_readers_with_the_controls_per_modality():
    from linkpaper.chapters.seed_analysis import replay_reading

    replay = _replay({"+ P": (0.55, 0.10, 3), "LINK": (0.40, 0.30, 3), "+ T": (0.20, 0.25, 3), "+ S": (0.1, 0.2, 3)})
    text = replay_reading(replay, ["+ P", "LINK", "+ P (self)"], ["+ T", "+ S"])
    assert "+ P: audio 0.55, visual 0.10; LINK: audio 0.40, visual 0.30; against + T: audio 0.20" in text
    assert "In audio, every reader's r exceeds every control's (0.20 at most)." in text
    assert "In visual, LINK exceed every control's r (0.25 at most); the others do not." in text
    assert "One training run" not in text and "that part is not PLSIM's doing" in text
    both = replay_reading(replay, ["LINK"], ["+ T"])
    assert "In visual, every reader's r exceeds" in both and "PLSIM passing on the teachers'" in both
    one_seed = _replay({"+ P": (0.1, 0.1, 1), "+ T": (0.3, 0.3, 1)})
    text = replay_reading(one_seed, ["+ P"], ["+ T"])
    assert "In audio, no reader's r exceeds the controls' (0.30 at most)." in text
    assert text.endswith("One training run each behind + P; + T: their r may move with more seeds.")
    assert "nothing is concluded" in replay_reading(one_seed, ["+ P"], ["+ T+S"])


def test_replay_before_after_aligns_r_columns():
    from linkpaper.chapters.seed_analysis import replay_before_after

    before = _replay({"+ P": (0.55, 0.82, 3), "+ T": (0.13, 0.0, 3)})
    after = _replay({"+ P": (0.29, 0.22, 1), "+ S": (0.2, 0.1, 1)})
    table = replay_before_after(before, after, ["+ P", "+ T", "+ S"])
    assert table.loc["+ P", ("before", "r visual")] == 0.82 and table.loc["+ P", ("after", "r audio")] == 0.29
    assert np.isnan(table.loc["+ T", ("after", "r audio")]) and table.loc["+ S", ("after", "seeds")] == 1
