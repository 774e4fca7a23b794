"""Paths, records and files from data are never trusted (issue 23): video ids are validated
before they become file names, nothing is written or deleted outside the folder a command was
given, changed inputs are named on resume and test, and odd input is one clear line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from linkpaper.cli import main
from linkpaper.data.annotations import AnnotationError, read_weak_labels, video_id
from linkpaper.errors import UserError

ESCAPING = "../../../VV_0_10"  # 11 characters before "_0_10", as a video id would be cut


def _llp_copy(llp_data_dir: Path, dst: Path) -> Path:
    """A writable copy of the annotation folder (llp/ and leap/)."""
    shutil.copytree(llp_data_dir / "llp", dst / "llp", ignore=shutil.ignore_patterns("demo_frames"))
    shutil.copytree(llp_data_dir / "leap", dst / "leap")
    return dst


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- 1. ids become file names


def test_a_weak_file_with_a_path_for_a_filename_is_refused_with_its_line(tmp_path):
    path = tmp_path / "AVVP_train.csv"
    path.write_text(f"filename\tevent_labels\nabcdefghijk_0_10\tDog\n{ESCAPING}\tDog\n")
    with pytest.raises(AnnotationError, match=rf"AVVP_train.csv, line 3: filename '{re.escape(ESCAPING)}' is not an "
                                              "LLP filename"):
        read_weak_labels(path)
    for good in ("-0BKyt8iZ1I_30_40", "AP0061o0Nvk_101.8_111.8", "a_b-c_d_e_f_0_10"):
        path.write_text(f"filename\tevent_labels\n{good}\tDog\n")
        assert read_weak_labels(path).filenames == [good]
    with pytest.raises(AnnotationError, match="not a YouTube id"):
        video_id("../../etc/passwd")


def test_synth_from_a_data_dir_with_escaping_ids_writes_nothing(tmp_path, capsys, llp_data_dir):
    data = _llp_copy(llp_data_dir, tmp_path / "data")
    train = data / "llp" / "AVVP_train.csv"
    lines = train.read_text().splitlines()
    lines[1] = ESCAPING + "\t" + lines[1].split("\t", 1)[1]
    train.write_text("\n".join(lines) + "\n")
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    before = _files(tmp_path)
    status = main(["synth", "--preset", "tiny", "--out", str(work / "out"), "--data-dir", str(data), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert f"{train}, line 2: filename '{ESCAPING}' is not an LLP filename" in err
    assert _files(tmp_path) == before


def test_overwrite_never_deletes_files_named_by_an_edited_split_list(tmp_path, llp_data_dir):
    from linkpaper.data.synth import make_synth, write_valor_layout

    out = tmp_path / "a" / "b" / "c" / "synth"
    write_valor_layout(make_synth("tiny", seed=0, data_dir=llp_data_dir), out, progress=False)
    victim = tmp_path / "VV_0_10.npy"  # what '../../../VV' + '.npy' from a stream folder reaches
    victims = [victim, out.parent.parent / "VV.npy", out.parent / "VV.npy", out / "VV.npy"]
    for path in victims:
        np.save(path, np.zeros(3))
    csv = out / "splits" / "AVVP_train.csv"
    csv.write_text(csv.read_text() + f"{ESCAPING}\tDog\n../../../VV\tDog\n")
    write_valor_layout(make_synth("tiny", seed=1, data_dir=llp_data_dir), out, progress=False, overwrite=True)
    assert all(path.is_file() for path in victims)


def test_write_valor_layout_refuses_names_that_are_not_llp_filenames(tmp_path, llp_data_dir):
    from linkpaper.data.synth import make_synth, write_valor_layout

    data = make_synth("tiny", seed=0, data_dir=llp_data_dir)
    data.train.filenames[0] = ESCAPING
    with pytest.raises(AnnotationError, match=r"SynthLLP train split: filename '\.\./\.\./\.\./VV_0_10' is not"):
        write_valor_layout(data, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not list(tmp_path.parent.glob("*.npy"))


def test_synth_refuses_another_generation_before_generating(tmp_path, capsys, llp_data_dir, monkeypatch):
    from linkpaper.data import synth as synth_module

    out = tmp_path / "synth"
    argv = ["synth", "--preset", "tiny", "--out", str(out), "--data-dir", str(llp_data_dir), "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()

    def no_generation(*args, **kwargs):
        raise AssertionError("generated before refusing")

    monkeypatch.setattr(synth_module, "generate", no_generation)
    assert main([*argv, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "holds another SynthLLP generation (SynthLLP preset=tiny seed=0)" in err and "--overwrite" in err


def test_a_corrupt_or_foreign_glove_table_is_one_line(tmp_path, capsys, llp_data_dir):
    data = _llp_copy(llp_data_dir, tmp_path / "data")
    glove = data / "leap" / "llp_label_glove_embeddings.pt"
    full = glove.read_bytes()
    for payload, problem in ((full[: len(full) // 2], "truncated or corrupt"), (b"\x80\x04garbage", "cannot read"),
                             (None, "not a GloVe class table")):
        if payload is None:
            torch.save([1, 2, 3], glove)
        else:
            glove.write_bytes(payload)
        status = main(["synth", "--preset", "tiny", "--stats", "--data-dir", str(data), "--no-progress"])
        err = capsys.readouterr().err
        assert status == 2 and err.startswith(f"error: {glove}: ") and problem in err and err.count("\n") == 1
