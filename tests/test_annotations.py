"""linkpaper.data.annotations on the real LLP CSVs (every quirk listed in
book/decisions.md#ref-llp-files) and on small malformed files."""

import numpy as np
import pytest

from linkpaper.classes import CLASS_INDEX, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import (
    AnnotationError,
    dense_ground_truth,
    load_annotations,
    read_dense_events,
    read_weak_labels,
    video_id,
)
from linkpaper.data.files import MissingDataError, annotation_path
from linkpaper.errors import UserError


@pytest.fixture(scope="module")
def llp(llp_data_dir):
    root = llp_data_dir
    return root, {split: load_annotations(split, root) for split in ("train", "val", "test")}


# ------------------------------------------------------------------------------------------
# The real CSVs
# ------------------------------------------------------------------------------------------


def test_split_sizes_and_shapes(llp):
    _, splits = llp
    assert {name: len(a.filenames) for name, a in splits.items()} == {"train": 10000, "val": 649, "test": 1200}
    assert splits["train"].weak.shape == (10000, NUM_CLASSES) and splits["train"].weak.dtype == np.float32
    assert splits["train"].gt_audio is None and splits["train"].gt_av is None
    for split in ("val", "test"):
        a = splits[split]
        assert a.gt_audio.shape == a.gt_visual.shape == (len(a.filenames), NUM_SEGMENTS, NUM_CLASSES)
        assert a.gt_audio.dtype == bool
        assert np.array_equal(a.gt_av, a.gt_audio & a.gt_visual)
    all_names = [n for a in splits.values() for n in a.filenames]
    assert len(set(all_names)) == 11849  # disjoint splits


def test_weak_label_counts(llp):
    _, splits = llp
    train = splits["train"].weak
    assert int(train[:, CLASS_INDEX["Speech"]].sum()) == 4988
    assert np.bincount(train.sum(axis=1).astype(int)).tolist() == [0, 4032, 5879, 89]
    assert set(np.unique(train).tolist()) == {0.0, 1.0}


def test_duplicated_label_collapses_to_one(llp):
    _, splits = llp
    test = splits["test"]
    row = test.weak[test.filenames.index("LcFWKgFphXI_20_30")]  # "Clapping,Clapping"
    assert np.flatnonzero(row).tolist() == [CLASS_INDEX["Clapping"]] and row.sum() == 1.0


def test_fractional_time_names_are_kept_verbatim(llp):
    _, splits = llp
    fractional = [n for n in splits["train"].filenames if "." in n]
    assert sorted(fractional) == sorted([
        "AP0061o0Nvk_101.8_111.8", "AKVyIQoSyBA_131.8_141.8", "ApKgnUPayqU_8.5_18.5",
        "BYEc9L5kGKQ_48.7_58.7", "Br4mum2rWtY_9.3_19.3",
    ])  # fmt: skip
    assert video_id("AP0061o0Nvk_101.8_111.8") == "AP0061o0Nvk"
    assert video_id("-0BKyt8iZ1I_30_40") == "-0BKyt8iZ1I"


def test_orphan_dense_rows_are_ignored(llp):
    root, splits = llp
    val = splits["val"]
    # The typo row "19jWnmYnlD8_30_400 0 10 Clapping" is ignored; the video keeps its own
    # Violin_fiddle rows (so its GT is NOT all-zero, unlike a first reading of the files suggests).
    n = val.filenames.index("19jWnmYnlD8_30_40")
    for gt in (val.gt_audio[n], val.gt_visual[n]):
        assert np.flatnonzero(gt.any(axis=0)).tolist() == [CLASS_INDEX["Violin_fiddle"]]
        assert gt[:, CLASS_INDEX["Violin_fiddle"]].all()
    audio_rows = read_dense_events(annotation_path("eval_audio", root))
    assert any(e.filename == "19jWnmYnlD8_30_400" for e in audio_rows)
    known = set(val.filenames) | set(splits["test"].filenames)
    orphans = {e.filename for e in audio_rows if e.filename not in known}
    assert len(orphans) == 8
    # the orphans paint nothing: GT from all rows == GT from the matching rows only
    matching = [e for e in audio_rows if e.filename in known]
    assert np.array_equal(dense_ground_truth(val.filenames, matching), val.gt_audio)


def test_zero_length_rows_paint_nothing(llp):
    root, splits = llp
    rows = read_dense_events(annotation_path("eval_audio", root))
    empty = [e for e in rows if e.onset >= e.offset]
    assert len(empty) == 6 and any(e.onset > e.offset for e in empty)  # incl. a reversed 9 -> 0
    test = splits["test"]
    non_empty = [e for e in rows if e.onset < e.offset]
    assert np.array_equal(dense_ground_truth(test.filenames, non_empty), test.gt_audio)
    # one test video has only a zero-length audio row: 5 have no row, 6 have no audio GT
    assert int((~test.gt_audio.any(axis=(1, 2))).sum()) == 6


def test_dense_classes_outside_the_weak_labels_are_kept(llp):
    _, splits = llp

    def videos_with_dense_classes_outside_weak(a, gt):
        return int((gt.any(axis=1) & ~a.weak.astype(bool)).any(axis=1).sum())

    outside = {
        split: (
            videos_with_dense_classes_outside_weak(a, a.gt_audio),
            videos_with_dense_classes_outside_weak(a, a.gt_visual),
        )
        for split, a in splits.items()
        if split != "train"
    }
    assert outside == {"val": (20, 14), "test": (24, 20)}  # book/decisions.md#ref-llp-files


def test_painting_rules_on_hand_made_events(tmp_path):
    path = tmp_path / "dense.csv"
    path.write_text(
        "filename\tonset\toffset\tevent_labels\n"
        "aaaaaaaaaaa_0_10\t2\t5\tDog\n"
        "aaaaaaaaaaa_0_10\t4\t7\tDog\n"  # overlap merges
        "aaaaaaaaaaa_0_10\t9\t9\tCat\n"  # zero-length
        "aaaaaaaaaaa_0_10\t9\t0\tCar\n"  # reversed
        "aaaaaaaaaaa_0_10\t8\t10\tSpeech\n"
        "aaaaaaaaaaa_0_100\t0\t10\tBanjo\n"  # orphan (typo)
    )
    gt = dense_ground_truth(["aaaaaaaaaaa_0_10", "bbbbbbbbbbb_0_10"], read_dense_events(path))
    assert np.flatnonzero(gt[0, :, CLASS_INDEX["Dog"]]).tolist() == [2, 3, 4, 5, 6]
    assert np.flatnonzero(gt[0, :, CLASS_INDEX["Speech"]]).tolist() == [8, 9]
    assert gt[0].sum() == 7 and not gt[1].any()


# ------------------------------------------------------------------------------------------
# Malformed files
# ------------------------------------------------------------------------------------------

WEAK_HEADER = "filename\tevent_labels\n"
DENSE_HEADER = "filename\tonset\toffset\tevent_labels\n"


@pytest.mark.parametrize(
    "kind, text, message",
    [
        ("weak", WEAK_HEADER + "aaaaaaaaaaa_0_10\tSpeech,Dgo\n", "Dgo"),
        ("dense", DENSE_HEADER + "aaaaaaaaaaa_0_10\t0\t3\tDgo\n", "line 2: unknown class name 'Dgo'"),
        ("weak", WEAK_HEADER + "aaaaaaaaaaa_0_10\tSpeech\textra\n", "line 2: 3 TAB-separated fields, expected 2"),
        ("dense", DENSE_HEADER + "aaaaaaaaaaa_0_10\t0\tDog\n", "line 2: 3 TAB-separated fields, expected 4"),
        ("weak", "filename,event_labels\naaaaaaaaaaa_0_10,Speech\n", "line 1: header .* TAB-separated"),
        (
            "dense",
            DENSE_HEADER + "aaaaaaaaaaa_0_10\t0.5\t3\tDog\n",
            "line 2: onset/offset must be integer seconds, found '0.5'",
        ),
        ("weak", WEAK_HEADER, "the split is empty"),
        ("weak", "", "the file is empty"),
        (
            "weak",
            WEAK_HEADER + "aaaaaaaaaaa_0_10\tSpeech\naaaaaaaaaaa_0_10\tDog\n",
            "line 3: filename 'aaaaaaaaaaa_0_10' repeats line 2",
        ),
        ("weak", WEAK_HEADER + "aaaaaaaaaaa_0_10\t\n", "line 2: no event labels"),
    ],
)
def test_malformed_files_raise_errors_naming_file_and_problem(tmp_path, kind, text, message):
    path = tmp_path / f"bad_{kind}.csv"
    path.write_text(text)
    reader = read_weak_labels if kind == "weak" else read_dense_events
    with pytest.raises(AnnotationError, match=message) as info:
        reader(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, UserError)


def test_missing_file_names_the_file_and_the_download_command(tmp_path):
    with pytest.raises(MissingDataError) as info:
        load_annotations("val", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "llp" / "AVVP_val_pd.csv") in message
    assert "python -m linkpaper download annotations" in message
    assert isinstance(info.value, UserError)


def test_missing_dense_file_is_reported_after_the_weak_file_is_found(tmp_path):
    (tmp_path / "llp").mkdir()
    (tmp_path / "llp" / "AVVP_test_pd.csv").write_text(WEAK_HEADER + "aaaaaaaaaaa_0_10\tDog\n")
    with pytest.raises(MissingDataError, match="AVVP_eval_audio.csv is missing"):
        load_annotations("test", tmp_path)
    (tmp_path / "llp" / "AVVP_eval_audio.csv").write_text(DENSE_HEADER + "aaaaaaaaaaa_0_10\t1\t3\tDog\n")
    (tmp_path / "llp" / "AVVP_eval_visual.csv").write_text(DENSE_HEADER)
    small = load_annotations("test", tmp_path)
    assert small.filenames == ["aaaaaaaaaaa_0_10"]
    assert np.flatnonzero(small.gt_audio[0, :, CLASS_INDEX["Dog"]]).tolist() == [1, 2]
    assert not small.gt_visual.any()
