"""The released VALOR layout loader: round trips, the cache, and one clear error per bad input."""

from __future__ import annotations

import os
import shutil
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_layout import fake_filenames, feature_path, write_layout, write_split_csv

from linkpaper.classes import GLOVE_KEYS
from linkpaper.data import features
from linkpaper.data.annotations import AnnotationError, load_annotations, read_weak_labels
from linkpaper.data.features import VALOR_LAYOUT, FeatureError, load_llp, load_split
from linkpaper.data.files import (
    ANNOTATION_FILES,
    MissingDataError,
    annotation_path,
    resolve_data_dir,
)
from linkpaper.data.text_tables import TextTableError, glove_table, load_text_table
from linkpaper.errors import UserError

STREAMS = (
    "audio",
    "visual",
    "visual_3d",
    "pseudo_audio",
    "pseudo_visual",
    "pseudo_audio_ungated",
    "pseudo_visual_ungated",
)


@pytest.fixture
def real_data() -> Path:
    """The real LLP annotation folder (``$LINKPAPER_DATA``); skip when it is not on this machine."""
    root = resolve_data_dir()
    if not all((root / spec.relpath).is_file() for spec in ANNOTATION_FILES.values()):
        pytest.skip(f"LLP annotations not found under {root} (set LINKPAPER_DATA)")
    return root


def train_layout(root, count=6, **kwargs):
    names = fake_filenames(count)
    return write_layout(root, names, splits={"train": names}, **kwargs)


def load_train(root, **kwargs):
    return load_split(root, "train", progress=False, **kwargs)


def count_reads(monkeypatch) -> list:
    """Record every per-video .npy the loader opens."""
    calls = []
    original = features._load_npy

    def counting(path):
        calls.append(Path(path))
        return original(path)

    monkeypatch.setattr(features, "_load_npy", counting)
    return calls


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("audio_form,audio_shape", [("pooled", (10, 768)), ("maps", (64, 768))])
@pytest.mark.parametrize("requested", ["auto", "exact"])
def test_round_trip_every_stream(tmp_path, audio_form, audio_shape, requested):
    written = train_layout(tmp_path, audio_form=audio_form)
    split = load_train(tmp_path, audio_form=audio_form if requested == "exact" else "auto")
    assert split.name == "train" and split.filenames == written["filenames"]
    assert split.audio.shape == (6, *audio_shape) and split.audio_form == audio_form
    for stream in STREAMS:
        tensor = getattr(split, stream)
        assert tensor.dtype == torch.float32, stream
        np.testing.assert_array_equal(tensor.numpy(), written[stream].astype(np.float32), err_msg=stream)
    np.testing.assert_array_equal(split.weak.numpy(), written["weak"])
    assert split.gt_audio is None and split.gt_visual is None  # train has no dense labels


def test_ungated_streams_are_optional(tmp_path):
    train_layout(tmp_path, ungated=False)
    split = load_train(tmp_path)
    assert split.pseudo_audio_ungated is None and split.pseudo_visual_ungated is None
    assert split.pseudo_audio.shape == (6, 10, 25)


def test_val_ground_truth_comes_from_the_eval_csvs(tmp_path, real_data):
    official = load_annotations("val", real_data)
    names, weak = official.filenames[:8], official.weak[:8]
    write_layout(tmp_path, names, weak=weak, splits={"val": names})
    split = load_split(tmp_path, "val", data_dir=real_data, progress=False)
    assert split.filenames == names
    np.testing.assert_array_equal(split.weak.numpy(), weak)
    np.testing.assert_array_equal(split.gt_audio, official.gt_audio[:8])
    np.testing.assert_array_equal(split.gt_visual, official.gt_visual[:8])
    assert split.gt_audio.dtype == bool and split.gt_audio.any()


def _small_llp_copy(real_data: Path, target: Path, per_split: int = 4) -> dict[str, list[str]]:
    """A data dir with the real eval CSVs and GloVe table, and the first rows of each split CSV."""
    names = {}
    for key in ("eval_audio", "eval_visual", "glove"):
        dest = target / ANNOTATION_FILES[key].relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real_data / ANNOTATION_FILES[key].relpath, dest)
    for split in ("train", "val", "test"):
        weak = read_weak_labels(real_data / ANNOTATION_FILES[split].relpath)
        names[split] = weak.filenames[:per_split]
        write_split_csv(target / ANNOTATION_FILES[split].relpath, names[split], weak.labels[:per_split])
    return names


def test_load_llp_uses_the_llp_split_lists_and_glove_without_splits_folder(tmp_path, real_data):
    data_dir = tmp_path / "data"
    names = _small_llp_copy(real_data, data_dir)
    everyone = names["train"] + names["val"] + names["test"]
    weak = np.concatenate([read_weak_labels(annotation_path(s, data_dir)).labels for s in names])
    write_layout(tmp_path / "feats", everyone, weak=weak, text_tables=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the gated labels respect the real weak labels
        data = load_llp(tmp_path / "feats", data_dir=data_dir, progress=False)
    assert data.train.filenames == names["train"] and data.test.filenames == names["test"]
    assert data.val.gt_audio.shape == (4, 10, 25)
    glove, _ = glove_table(real_data)
    np.testing.assert_array_equal(data.text_audio.numpy(), glove)
    np.testing.assert_array_equal(data.text_visual.numpy(), glove)
    assert "GloVe" in data.text_source and data.source["text_source"] == data.text_source
    assert data.source["kind"] == "llp" and data.source["audio_form"] == "pooled"
    checksums = data.source["checksums"]
    assert set(checksums) == {
        "AVVP_train.csv",
        "AVVP_val_pd.csv",
        "AVVP_test_pd.csv",
        "AVVP_eval_audio.csv",
        "AVVP_eval_visual.csv",
    }
    assert checksums["AVVP_eval_audio.csv"] == ANNOTATION_FILES["eval_audio"].sha256
    assert data.source["official_annotations"] is False  # the split CSVs are cut down
    assert "LLP (real features)" in data.describe()


def test_load_llp_prefers_the_layout_text_tables_and_splits_folder(tmp_path, real_data):
    names = fake_filenames(9)
    written = write_layout(tmp_path, names, splits={"train": names[:3], "val": names[3:6], "test": names[6:]})
    data = load_llp(tmp_path, data_dir=real_data, progress=False)
    np.testing.assert_array_equal(data.text_audio.numpy(), written["text_audio"])
    np.testing.assert_array_equal(data.text_visual.numpy(), written["text_visual"])
    assert data.text_audio.shape == (25, 512) and data.text_visual.shape == (25, 768)
    assert "clap_text.npy" in data.text_source
    assert "splits/AVVP_val_pd.csv" in data.source["checksums"]
    np.testing.assert_array_equal(data.test.visual.numpy(), written["visual"][6:])
    assert not data.val.gt_audio.any()  # made-up names have no dense rows
    # only one of the two tables -> the GloVe fallback for both
    (tmp_path / "text_tables" / "clip_text.npy").unlink()
    assert "GloVe" in load_llp(tmp_path, data_dir=real_data, progress=False).text_source
    assert load_llp(tmp_path, data_dir=real_data, progress=False, text_table="none").text_audio is None


# --------------------------------------------------------------------------- cache


def test_second_load_reads_the_cache_not_the_video_files(tmp_path, monkeypatch):
    written = train_layout(tmp_path, count=8)
    reads = count_reads(monkeypatch)
    first = load_train(tmp_path)
    assert len(reads) == 8 * len(STREAMS)
    reads.clear()
    second = load_train(tmp_path)
    assert reads == []
    for stream in STREAMS:
        np.testing.assert_array_equal(getattr(second, stream).numpy(), getattr(first, stream).numpy())
    np.testing.assert_array_equal(second.audio.numpy(), written["audio"])
    caches = list((tmp_path / ".linkpaper-cache").iterdir())
    assert len(caches) == 1 and caches[0].name.startswith("train-")
    assert sorted(p.name for p in caches[0].iterdir()) == sorted([f"{s}.npy" for s in STREAMS] + ["meta.json"])
    second.visual[0, 0, 0] = 123.0  # copy-on-write: the cache file is untouched
    assert load_train(tmp_path).visual[0, 0, 0].item() == written["visual"][0, 0, 0]


def test_changing_a_file_invalidates_the_cache(tmp_path, monkeypatch):
    written = train_layout(tmp_path)
    load_train(tmp_path)
    path = feature_path(tmp_path, "visual", written["filenames"][2])
    replacement = np.full((10, 768), 7.0, np.float32)
    np.save(path, replacement)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a different mtime for sure
    reads = count_reads(monkeypatch)
    split = load_train(tmp_path)
    assert len(reads) == 6 * len(STREAMS)
    np.testing.assert_array_equal(split.visual[2].numpy(), replacement)
    assert len(list((tmp_path / ".linkpaper-cache").iterdir())) == 1  # the stale cache is gone
    reads.clear()
    load_train(tmp_path, audio_form="pooled")  # another requested form is another key
    assert len(reads) == 6 * len(STREAMS)


def test_no_cache_when_disabled_and_a_user_cache_dir(tmp_path):
    train_layout(tmp_path / "feats")
    load_train(tmp_path / "feats", cache=False)
    assert not (tmp_path / "feats" / ".linkpaper-cache").exists()
    load_train(tmp_path / "feats", cache_dir=tmp_path / "mine")
    load_split(tmp_path / "feats", "train", cache_dir=tmp_path / "mine", progress=False)
    assert len(list((tmp_path / "mine").glob("feats-*/train-*/meta.json"))) == 1
    train_layout(tmp_path / "other")  # a second features folder sharing the cache dir
    load_train(tmp_path / "other", cache_dir=tmp_path / "mine")
    assert len(list((tmp_path / "mine").glob("*/train-*/meta.json"))) == 2


def test_read_only_root_falls_back_to_the_user_cache(tmp_path, monkeypatch):
    root = tmp_path / "feats"
    written = train_layout(root)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    writable = features._writable_dir
    monkeypatch.setattr(features, "_writable_dir", lambda p: root not in Path(p).parents and writable(p))
    with pytest.warns(UserWarning, match="read-only"):
        split = load_train(root)
    np.testing.assert_array_equal(split.audio.numpy(), written["audio"])
    assert not (root / ".linkpaper-cache").exists()
    assert list((home / ".cache" / "linkpaper" / "features").glob("feats-*/train-*/meta.json"))
    monkeypatch.setattr(features, "_writable_dir", lambda p: False)
    with pytest.warns(UserWarning, match="without a cache"):
        split = load_train(root)
    np.testing.assert_array_equal(split.visual_3d.numpy(), written["visual_3d"])


def test_a_failed_load_leaves_no_cache_behind(tmp_path):
    written = train_layout(tmp_path)
    feature_path(tmp_path, "visual_3d", written["filenames"][-1]).unlink()
    with pytest.raises(FeatureError):
        load_train(tmp_path)
    assert list((tmp_path / ".linkpaper-cache").iterdir()) == []


# --------------------------------------------------------------------------- bad files


def _break(root, stream, name, how):
    path = feature_path(root, stream, name)
    if how == "missing":
        path.unlink()
    elif how == "wrong shape":
        np.save(path, np.zeros((9, 768), np.float32))
    elif how == "wrong dtype":
        np.save(path, np.zeros((10, 768), np.float64))
    elif how == "non-finite":
        array = np.load(path)
        array[3, 5] = np.nan
        np.save(path, array)
    elif how == "corrupt":
        path.write_bytes(path.read_bytes()[:200])  # truncated download
    elif how == "not npy":
        path.write_bytes(b"<html>404</html>")
    elif how == "a folder":
        path.unlink()
        path.mkdir()
    elif how == "labels outside {0,1}":
        np.save(path, np.full((10, 25), 2, np.int64))
    elif how == "float labels":
        np.save(path, np.zeros((10, 25), np.float32))
    return path


@pytest.mark.parametrize(
    "stream,how,expected",
    [
        ("audio", "missing", "1 file missing"),
        ("visual", "wrong shape", "has (9, 768), expected (10, 768)"),
        ("visual", "wrong dtype", "has float64, expected float32"),
        ("visual_3d", "non-finite", "1 NaN/inf values"),
        ("visual", "corrupt", "1 file corrupt"),
        ("visual_3d", "not npy", "not a .npy file"),
        ("visual", "a folder", "1 file unreadable"),
        ("pseudo_audio", "labels outside {0,1}", "has values [2]"),
        ("pseudo_visual_ungated", "float labels", "has float32, expected integer or bool labels"),
    ],
)
def test_each_bad_file_is_named_with_its_problem(tmp_path, stream, how, expected):
    written = train_layout(tmp_path)
    path = _break(tmp_path, stream, written["filenames"][1], how)
    with pytest.raises(FeatureError) as caught:
        load_train(tmp_path)
    message = str(caught.value)
    assert str(path) in message and expected in message and VALOR_LAYOUT[stream] in message
    assert "1 problem in the train features (6 videos)" in message
    assert isinstance(caught.value, UserError)


def test_all_problems_are_reported_at_once(tmp_path):
    written = train_layout(tmp_path, count=10)
    names = written["filenames"]
    for name in names[:5]:
        feature_path(tmp_path, "visual", name).unlink()
    _break(tmp_path, "visual", names[7], "wrong dtype")
    _break(tmp_path, "audio", names[9], "wrong shape")
    with pytest.raises(FeatureError) as caught:
        load_train(tmp_path)
    message = str(caught.value)
    assert "7 problems in the train features (10 videos)" in message
    assert "CLIP/features: 5 files missing" in message and "... 2 more" in message
    assert all(str(feature_path(tmp_path, "visual", n)) in message for n in names[:3])
    assert str(feature_path(tmp_path, "visual", names[4])) not in message  # only the first few
    assert "1 file wrong dtype" in message and "CLAP/features: 1 file wrong shape" in message


def test_a_missing_stream_folder_is_one_problem(tmp_path):
    train_layout(tmp_path)
    shutil.rmtree(tmp_path / "feats" / "r2plus1d_18")
    with pytest.raises(FeatureError, match=r"feats/r2plus1d_18: 1 file missing \(first: the whole folder"):
        load_train(tmp_path)


def test_audio_forms_are_checked(tmp_path):
    written = train_layout(tmp_path, audio_form="pooled")
    with pytest.raises(FeatureError, match=r"6 files wrong shape .*expected \(64, 768\)"):
        load_train(tmp_path, audio_form="maps")
    np.save(feature_path(tmp_path, "audio", written["filenames"][3]), np.zeros((64, 768), np.float32))
    with pytest.raises(FeatureError, match="one form per split"):
        load_train(tmp_path)
    with pytest.raises(FeatureError, match="audio_form='wide'"):
        load_train(tmp_path, audio_form="wide")


def test_missing_root_and_unknown_split(tmp_path):
    with pytest.raises(FeatureError, match="does not exist"):
        load_train(tmp_path / "nowhere")
    train_layout(tmp_path)
    with pytest.raises(FeatureError, match="unknown split 'dev'"):
        load_split(tmp_path, "dev")


def test_gated_labels_outside_the_weak_labels_warn(tmp_path):
    written = train_layout(tmp_path)
    name = written["filenames"][0]
    outside = int(np.flatnonzero(written["weak"][0] == 0)[0])
    labels = written["pseudo_audio"][0].copy()
    labels[4, outside] = 1
    np.save(feature_path(tmp_path, "pseudo_audio", name), labels)
    with pytest.warns(UserWarning, match="1 of 6 train videos have gated pseudo labels outside"):
        load_train(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.save(feature_path(tmp_path, "pseudo_audio", name), written["pseudo_audio"][0])
        load_train(tmp_path)


@pytest.mark.parametrize(
    "content,expected",
    [
        ("filename\tevent_labels\nvid-0000_xa_0_10\tSpeech,Helicoptr\n", r"line 2.*Helicoptr"),
        ("filename\tevent_labels\nvid-0000_xa_0_10\tSpeech\t3\n", r"line 2: 3 TAB-separated fields"),
        ("filename\tevent_labels\n", "the split is empty"),
        ("filename,event_labels\nvid-0000_xa_0_10,Speech\n", "TAB-separated"),
    ],
)
def test_bad_split_csv_names_the_file_and_line(tmp_path, content, expected):
    train_layout(tmp_path)
    csv = tmp_path / "splits" / "AVVP_train.csv"
    csv.write_text(content)
    with pytest.raises(AnnotationError, match=expected) as caught:
        load_train(tmp_path)
    assert str(csv) in str(caught.value)


def test_without_split_lists_the_annotations_are_required(tmp_path):
    names = fake_filenames(3)
    write_layout(tmp_path / "feats", names)
    with pytest.raises(MissingDataError, match="python -m linkpaper download annotations"):
        load_split(tmp_path / "feats", "train", data_dir=tmp_path / "empty", progress=False)


# --------------------------------------------------------------------------- text tables


def test_text_tables_from_npy_and_pt(tmp_path):
    table = np.random.default_rng(0).standard_normal((25, 16)).astype(np.float32)
    np.save(tmp_path / "t.npy", table.astype(np.float64))
    loaded, source = load_text_table(tmp_path / "t.npy")
    assert loaded.dtype == np.float32 and source == "t.npy (25, 16)"
    np.testing.assert_allclose(loaded, table)
    torch.save(torch.from_numpy(table), tmp_path / "t.pt")
    np.testing.assert_array_equal(load_text_table(tmp_path / "t.pt")[0], table)
    # LEAP format: an OrderedDict keyed by GloVe names; the names decide the row, not the order
    mapping = OrderedDict((key, torch.from_numpy(table[i])) for i, key in reversed(list(enumerate(GLOVE_KEYS))))
    torch.save(mapping, tmp_path / "leap.pt")
    np.testing.assert_array_equal(load_text_table(tmp_path / "leap.pt")[0], table)


def test_glove_table_is_the_leap_file(real_data):
    table, source = glove_table(real_data)
    raw = torch.load(annotation_path("glove", real_data), weights_only=True)
    assert table.shape == (25, 300) and table.dtype == np.float32 and "GloVe" in source
    np.testing.assert_array_equal(table[0], raw["Speech"].numpy())
    np.testing.assert_array_equal(table[22], raw["Baby cry infancy cry"].numpy())


@pytest.mark.parametrize(
    "payload,expected",
    [
        (np.zeros((24, 8), np.float32), r"shape \(24, 8\), expected \(25, D\)"),
        (np.full((25, 8), np.nan, np.float32), "200 non-finite values"),
        (np.zeros(25, np.float32), r"shape \(25,\)"),
        (b"garbage", "cannot read the text table"),
    ],
)
def test_bad_text_tables_name_the_file(tmp_path, payload, expected):
    path = tmp_path / "clap_text.npy"
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        np.save(path, payload)
    with pytest.raises(TextTableError, match=expected) as caught:
        load_text_table(path)
    assert str(path) in str(caught.value)
    with pytest.raises(TextTableError, match="not found"):
        load_text_table(tmp_path / "absent.npy")
