"""SynthLLP: determinism, label structure, statistics agreement, teacher quality, round trip, CLI."""

import json

import numpy as np
import pytest
import torch

from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.files import MissingDataError
from linkpaper.errors import ConfigError


@pytest.fixture(scope="module")
def tiny(llp_data_dir):
    from linkpaper.data.synth import make_synth

    return make_synth("tiny", seed=0, data_dir=llp_data_dir, return_timelines=True)


@pytest.fixture(scope="module")
def small(llp_data_dir):
    """The small preset (2,000 / 649 / 1,200), generated once for the module (~3 s)."""
    from linkpaper.data.synth import make_synth

    return make_synth("small", seed=0, data_dir=llp_data_dir, return_timelines=True)


def test_tiny_shapes_dtypes_and_provenance(tiny):
    data = tiny.data
    assert [len(data.train), len(data.val), len(data.test)] == [64, 32, 32]
    for split in (data.train, data.val, data.test):
        n = len(split)
        assert split.audio.shape == (n, NUM_SEGMENTS, 768) and split.audio.dtype == torch.float32
        assert split.visual.shape == (n, NUM_SEGMENTS, 768)
        assert split.visual_3d.shape == (n, NUM_SEGMENTS, 512)
        assert split.pseudo_audio.shape == (n, NUM_SEGMENTS, NUM_CLASSES)
        assert split.audio_form == "pooled"
        assert torch.allclose(split.visual.norm(dim=-1), torch.ones(n, NUM_SEGMENTS), atol=1e-5)
    assert data.train.gt_audio is None and data.train.gt_visual is None
    assert data.val.gt_audio.dtype == bool and data.test.gt_visual.shape == (32, NUM_SEGMENTS, NUM_CLASSES)
    assert data.text_audio.shape == (NUM_CLASSES, 512) and data.text_visual.shape == (NUM_CLASSES, 768)
    assert data.text_source == "synthllp-teacher"
    src = data.source
    assert src["kind"] == "synth" and src["preset"] == "tiny" and src["seed"] == 0
    assert src["config"]["n_train"] == 64 and "text_noise" in src["config"]
    assert set(src["teachers"]["thresholds"]) == {"audio", "visual"}
    json.dumps(src)  # JSON-serialisable


def test_val_test_ground_truth_is_llp_ground_truth(tiny, llp_data_dir):
    from linkpaper.data.annotations import load_annotations

    for name in ("val", "test"):
        split = getattr(tiny.data, name)
        real = load_annotations(name, llp_data_dir)
        rows = [real.filenames.index(f) for f in split.filenames]
        assert np.array_equal(split.gt_audio, real.gt_audio[rows])
        assert np.array_equal(split.gt_visual, real.gt_visual[rows])
        assert np.array_equal(split.weak.numpy(), real.weak[rows])


def test_train_uses_real_weak_labels_and_val_donor_rows(tiny, llp_data_dir):
    from linkpaper.data.annotations import load_annotations

    train = load_annotations("train", llp_data_dir)
    val = load_annotations("val", llp_data_dir)
    rows = [train.filenames.index(f) for f in tiny.data.train.filenames]
    assert np.array_equal(tiny.data.train.weak.numpy(), train.weak[rows])
    weak = tiny.data.train.weak.numpy() > 0
    assert ((tiny.train_donors >= 0) == weak).all()  # a donor for every weak label, none elsewhere
    n, c = np.nonzero(weak)
    donors = tiny.train_donors[n, c]
    assert (val.weak[donors, c] > 0).all()  # donors carry the class
    assert np.array_equal(tiny.train_audio[n, :, c], val.gt_audio[donors, :, c])
    assert np.array_equal(tiny.train_visual[n, :, c], val.gt_visual[donors, :, c])
    assert not tiny.train_audio[~weak[:, None, :].repeat(NUM_SEGMENTS, 1)].any()


def test_donor_fallback_rule():
    from linkpaper.data.synth import sample_donor_timelines

    weak = np.zeros((2, NUM_CLASSES), np.float32)
    weak[:, 5] = 1
    donor_weak = np.zeros((3, NUM_CLASSES), np.float32)
    empty = np.zeros((3, NUM_SEGMENTS, NUM_CLASSES), bool)
    rng = np.random.default_rng(0)
    audio, visual, donors = sample_donor_timelines(weak, donor_weak, empty, empty, rng, "full_av")
    assert (donors[:, 5] == -2).all() and audio[:, :, 5].all() and visual[:, :, 5].all()
    audio, visual, _ = sample_donor_timelines(weak, donor_weak, empty, empty, rng, "audio")
    assert audio[:, :, 5].all() and not visual.any()


def test_same_seed_is_bit_identical_other_seed_differs(tiny, llp_data_dir):
    from linkpaper.data.synth import make_synth

    again = make_synth("tiny", seed=0, data_dir=llp_data_dir, return_timelines=True)
    other = make_synth("tiny", seed=1, data_dir=llp_data_dir)
    for name in ("train", "val", "test"):
        a, b, c = (getattr(d, name).tensor_fields() for d in (tiny.data, again.data, other))
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)
        assert not torch.equal(a["audio"], c["audio"])
        assert not torch.equal(a["pseudo_visual_ungated"], c["pseudo_visual_ungated"])
        assert getattr(tiny.data, name).filenames == getattr(other, name).filenames  # same videos
    assert np.array_equal(tiny.train_audio, again.train_audio)
    assert torch.equal(tiny.data.text_visual, again.data.text_visual)


def test_gated_labels_are_teacher_and_weak(tiny):
    for split in (tiny.data.train, tiny.data.val):
        weak = split.weak[:, None, :]
        for m in ("audio", "visual"):
            gated, ungated = getattr(split, f"pseudo_{m}"), getattr(split, f"pseudo_{m}_ungated")
            assert torch.equal(gated, ungated * weak)
            assert set(torch.unique(ungated).tolist()) <= {0.0, 1.0}
        assert (split.pseudo_audio_ungated * (1 - weak)).sum() > 0  # ungated covers all 25 classes


def test_modality_specific_features(small):
    """Audio carries audible classes only: a class that is only visible leaves no trace in it."""
    val = small.data.val
    for stream, gt_same, gt_other in (("audio", val.gt_audio, val.gt_visual), ("visual", val.gt_visual, val.gt_audio)):
        proto = torch.from_numpy(small.prototypes[stream]).float()
        score = torch.einsum("ntd,cd->ntc", getattr(val, stream), proto).numpy()
        present = score[gt_same].mean()
        other_only = score[gt_other & ~gt_same].mean()  # the class is there, in the other modality
        absent = score[~gt_other & ~gt_same].mean()
        scale = present - absent
        assert scale > 0.1, (stream, present, absent)
        assert abs(other_only - absent) < 0.15 * scale, (stream, other_only, absent)


def test_bad_knobs_and_preset_raise_config_errors(llp_data_dir):
    from linkpaper.data.synth import make_synth

    with pytest.raises(ConfigError, match="unknown SynthLLP preset 'huge'"):
        make_synth("huge", data_dir=llp_data_dir)
    with pytest.raises(ConfigError, match="unknown SynthLLP knob"):
        make_synth("tiny", data_dir=llp_data_dir, noize=1.0)
    with pytest.raises(ConfigError, match="audio_noise must be >= 0"):
        make_synth("tiny", data_dir=llp_data_dir, audio_noise=-1.0)


def test_missing_annotations_raise_missing_data_error(tmp_path):
    from linkpaper.data.synth import make_synth

    with pytest.raises(MissingDataError, match="download annotations"):
        make_synth("tiny", data_dir=tmp_path)


# Tolerances for the train statistics (donor sampling reproduces LLP's per-class structure; the
# train label mix differs from val+test: fewer labels per video, less Clapping, so the shares
# move by a few points; book/decisions.md#llp-statistics).
STAT_TOLERANCES = {
    "mismatch_all": 0.03,
    "seg_cell_shares.0": 0.03,
    "seg_cell_shares.1": 0.03,
    "seg_cell_shares.2": 0.03,
    "weak_label_shares.0": 0.03,
    "weak_label_shares.1": 0.03,
    "weak_label_shares.2": 0.015,
    "weak_label_shares.3": 0.01,
    "videos_ge1_single_modality": 0.06,
    "mean_duration.audio": 0.4,
    "mean_duration.visual": 0.4,
}


def test_train_statistics_agree_with_real_llp(small, llp_data_dir):
    from linkpaper.data.stats import stat_value
    from linkpaper.data.synth import real_statistics, train_statistics

    synth, real = train_statistics(small), real_statistics(llp_data_dir)
    assert synth["n_videos"] == 2000
    for key, tol in STAT_TOLERANCES.items():
        assert abs(stat_value(synth, key) - stat_value(real, key)) <= tol, (key, stat_value(synth, key))


def test_teacher_quality_is_imperfect_but_useful(small):
    from linkpaper.data.synth import teacher_quality

    q = teacher_quality(small.data)
    for m in ("audio", "visual"):
        gated, ungated = q[m]["gated"], q[m]["ungated"]
        assert 0.6 < gated["f"] < 0.97, (m, gated)
        assert gated["precision"] > ungated["precision"]  # the weak-label AND removes false positives
        assert ungated["recall"] >= gated["recall"]
        assert 0.05 < ungated["precision"] < 0.9


def test_small_preset_keeps_real_test_and_the_selection_half_of_val(small, llp_data_dir):
    from linkpaper.data.annotations import load_annotations

    val = load_annotations("val", llp_data_dir)
    assert [len(small.data.train), len(small.data.test)] == [2000, 1200]
    selection, donors = set(small.data.val.filenames), set(small.donor_names)
    assert not selection & donors and selection | donors == set(val.filenames)  # a partition of LLP val
    assert abs(len(selection) - len(donors)) < 20
    weak = val.weak > 0
    in_selection = np.array([f in selection for f in val.filenames])
    assert (weak[in_selection].sum(0) >= 1).all() and (weak[~in_selection].sum(0) >= 1).all()  # every class in both


def test_no_train_timeline_comes_from_a_selection_video(small, llp_data_dir):
    from linkpaper.data.annotations import load_annotations
    from linkpaper.data.synth import timeline_overlap

    val = load_annotations("val", llp_data_dir)
    donor_rows = small.train_donors[small.train_donors >= 0]
    assert {val.filenames[i] for i in np.unique(donor_rows)} <= set(small.donor_names)
    overlap = timeline_overlap(small)
    assert overlap["rows"] == int((small.data.train.weak.numpy() > 0).sum())
    assert overlap["selection"] <= overlap["test"]  # the criterion
    assert 0.3 < overlap["selection"] < 1.0


def test_the_old_donor_rule_copies_every_row_from_the_selection_set(llp_data_dir):
    from linkpaper.data.synth import generate, timeline_overlap

    old = generate("tiny", 0, llp_data_dir, donors="val", n_val=None)
    assert len(old.data.val) == 649
    assert timeline_overlap(old)["selection"] == 1.0


def test_round_trip_through_the_llp_loader(tiny, tmp_path, llp_data_dir):
    from linkpaper.data.features import load_llp
    from linkpaper.data.synth import PROVENANCE_FILE, TMP_SUFFIX, write_valor_layout

    summary = write_valor_layout(tiny.data, tmp_path, progress=False)
    assert summary["written"] == 8 * 128  # 7 VALOR streams + the audio teacher's embeddings
    loaded = load_llp(tmp_path, data_dir=llp_data_dir, cache=False, progress=False)
    for name in ("train", "val", "test"):
        a, b = getattr(tiny.data, name), getattr(loaded, name)
        assert a.filenames == b.filenames
        assert a.tensor_fields().keys() == b.tensor_fields().keys()
        for key, value in a.tensor_fields().items():
            assert torch.equal(value, b.tensor_fields()[key]), (name, key)
        if a.gt_audio is not None:
            assert np.array_equal(a.gt_audio, b.gt_audio) and np.array_equal(a.gt_visual, b.gt_visual)
    assert torch.equal(loaded.text_audio, tiny.data.text_audio)
    assert torch.equal(loaded.text_visual, tiny.data.text_visual)
    provenance = json.loads((tmp_path / PROVENANCE_FILE).read_text())
    assert provenance["kind"] == "synth" and provenance["preset"] == "tiny"
    header = (tmp_path / "splits" / "AVVP_val_pd.csv").read_text().splitlines()[0]
    assert header == "filename\tevent_labels"
    label = np.load(tmp_path / "CLIP" / "segment_pseudo_labels" / f"{a.filenames[0][:11]}.npy")
    assert label.dtype == np.int64 and label.shape == (NUM_SEGMENTS, NUM_CLASSES)
    again = write_valor_layout(tiny.data, tmp_path, progress=False)  # resumable: nothing to redo
    assert again["written"] == 0 and again["skipped"] == 8 * 128
    broken = tmp_path / "CLAP" / "features" / f"{a.filenames[1][:11]}.npy"
    broken.write_bytes(broken.read_bytes()[:100])  # an interrupted write
    users = tmp_path / "CLAP" / "features" / "xxxxxxxxxxx.tmp.npy"
    users.write_bytes(b"a user's file")  # not the writer's: kept
    ours = tmp_path / "CLAP" / "features" / f"yyyyyyyyyyy.npy{TMP_SUFFIX}"
    ours.write_bytes(b"partial")  # the writer's own leftover from an interrupted write: removed
    resumed = write_valor_layout(tiny.data, tmp_path, progress=False)
    assert resumed["written"] == 1
    assert np.array_equal(np.load(broken), a.audio[1].numpy())
    assert users.read_bytes() == b"a user's file" and not ours.exists()


def test_cli_writes_and_reports(tmp_path, llp_data_dir, capsys):
    from linkpaper.cli import main

    assert (
        main(
            [
                "synth",
                "--preset",
                "tiny",
                "--out",
                str(tmp_path / "out"),
                "--data-dir",
                str(llp_data_dir),
                "--stats",
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "segment label-set mismatch" in out and "0.4679" in out and "visual (CLIP-like)" in out
    assert (tmp_path / "out" / "synthllp.json").is_file()
    assert main(["synth", "--preset", "tiny", "--out", str(tmp_path / "x"), "--data-dir", str(tmp_path / "none")]) == 2
    assert "download annotations" in capsys.readouterr().err


def test_teacher_labels_recompute_from_the_written_files(tiny, tmp_path):
    """Every ungated label is 100 x cos(written embedding, written text row) > threshold, bit for
    bit: visual from the model's own CLIP/features, audio from CLAP/segment_embeddings; gated =
    ungated AND weak, for every split."""
    from linkpaper.classes import CLASSES
    from linkpaper.data.synth import PROVENANCE_FILE, TEACHER_LOGIT_SCALE, write_valor_layout

    write_valor_layout(tiny.data, tmp_path, progress=False)
    teachers = json.loads((tmp_path / PROVENANCE_FILE).read_text())["teachers"]
    assert teachers["logit_scale"] == TEACHER_LOGIT_SCALE == 100.0
    tables = {
        m: np.load(tmp_path / "text_tables" / f"{name}_text.npy") for m, name in (("audio", "clap"), ("visual", "clip"))
    }
    folders = {"audio": "CLAP/segment_embeddings", "visual": "CLIP/features"}
    teacher = {"audio": "CLAP", "visual": "CLIP"}
    checked = 0
    for split, csv in (("train", "AVVP_train.csv"), ("val", "AVVP_val_pd.csv"), ("test", "AVVP_test_pd.csv")):
        lines = (tmp_path / "splits" / csv).read_text().splitlines()[1:]
        for line in lines:
            name, labels = line.split("\t")
            weak = np.isin(np.arange(NUM_CLASSES), [CLASSES.index(c) for c in labels.split(",") if c])
            for m in ("audio", "visual"):
                emb = np.load(tmp_path / folders[m] / f"{name[:11]}.npy").astype(np.float64)
                text = tables[m].astype(np.float64)
                cos = (emb / np.linalg.norm(emb, axis=1, keepdims=True)) @ (
                    text / np.linalg.norm(text, axis=1, keepdims=True)
                ).T
                ungated = 100.0 * cos > np.asarray(teachers["thresholds"][m])
                stored = np.load(tmp_path / teacher[m] / "segment_pseudo_labels_ungated" / f"{name[:11]}.npy")
                gated = np.load(tmp_path / teacher[m] / "segment_pseudo_labels" / f"{name[:11]}.npy")
                assert np.array_equal(stored, ungated.astype(np.int64)), (split, name, m)
                assert np.array_equal(gated, (ungated & weak).astype(np.int64)), (split, name, m)
                checked += 1
    assert checked == 2 * 128
    # the visual teacher scores exactly the features the model reads
    assert np.array_equal(
        np.load(tmp_path / "CLIP/features" / f"{tiny.data.val.filenames[0][:11]}.npy"), tiny.data.val.visual[0].numpy()
    )


def test_thresholds_maximise_gated_f_on_a_hand_made_split():
    from linkpaper.data.synth import choose_thresholds

    logits = np.zeros((2, NUM_SEGMENTS, NUM_CLASSES))
    gt = np.zeros((2, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    weak = np.zeros((2, NUM_CLASSES))
    weak[:, 0] = 1
    logits[0, :, 0] = np.arange(10)  # segments 6..9 are the event: best threshold between 5 and 6
    gt[0, 6:, 0] = True
    logits[1, :, 0] = -5.0
    thr = choose_thresholds(logits, weak, gt)
    assert thr[0] == 5.5
    assert np.isinf(thr[1:]).all()  # no weak video: the class never fires
    weak[:, 1] = 1  # a weak class with no positive cell: the largest logit, so nothing fires
    logits[:, :, 1] = 3.0
    assert choose_thresholds(logits, weak, gt)[1] == 3.0
