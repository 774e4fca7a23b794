"""Paths, records and files from data are never trusted (issue 23): video ids are validated
before they become file names, nothing is written or deleted outside the folder a command was
given, changed inputs are named on resume and test, and odd input is one clear line."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import warnings
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
    with pytest.raises(
        AnnotationError,
        match=rf"AVVP_train.csv, line 3: filename '{re.escape(ESCAPING)}' is not an "
        "LLP filename",
    ):
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
    for payload, problem in (
        (full[: len(full) // 2], "truncated or corrupt"),
        (b"\x80\x04garbage", "cannot read"),
        (None, "not a GloVe class table"),
    ):
        if payload is None:
            torch.save([1, 2, 3], glove)
        else:
            glove.write_bytes(payload)
        with warnings.catch_warnings(record=True) as caught:  # a warning would be a second stderr line
            warnings.simplefilter("always")
            status = main(["synth", "--preset", "tiny", "--stats", "--data-dir", str(data), "--no-progress"])
        err = capsys.readouterr().err
        assert status == 2 and err.startswith(f"error: {glove}: ") and problem in err and err.count("\n") == 1
        assert not [w for w in caught if "pickle protocol" in str(w.message)]


# --------------------------------------------------------------------------- 4. no traceback, no partial file


def test_a_full_disk_in_save_predictions_leaves_the_old_file_and_no_partial(tmp_path, monkeypatch):
    import errno

    from linkpaper.evaluation import predictions as predictions_module

    path = tmp_path / "test_predictions.npz"
    names = ["abcdefghijk_0_10"]
    predictions_module.save_predictions(path, names, np.zeros((1, 10, 2, 25)), np.zeros((1, 25)))
    before = path.read_bytes()

    def full_disk(handle, **arrays):
        handle.write(b"PK" + b"\0" * 1000)  # part of the archive, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(predictions_module.np, "savez_compressed", full_disk)
    with pytest.raises(UserError, match=r"test_predictions\.npz: cannot write \(No space left on device\)"):
        predictions_module.save_predictions(path, names, np.ones((1, 10, 2, 25)), np.ones((1, 25)))
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["grid", "--seed-base", "-1"], "--seed-base: -1 is out of range; expected an integer from 0 to 4294967295"),
        (["grid", "--seed-base", str(2**32 - 1), "--seeds", "2"], "the last seed): 4294967296 is out of range"),
        (["grid", "--seeds", "5000"], "--seeds: 5000 is out of range; expected an integer from 1 to 1000"),
        (
            ["grid", "--executor", "local", "--jobs", "100000"],
            "--jobs: 100000 is out of range; expected an integer from 1",
        ),
        (
            ["train", "--seed", str(2**32)],
            "--seed: 4294967296 is out of range; expected an integer from 0 to 4294967295",
        ),
        (["train", "--threads", "100000"], "--threads: 100000 is out of range; expected an integer from 1 to"),
        (["train", "--threads", "10000"], "--threads: 10000 is out of range"),
        (
            ["train", "--epochs", str(10**9)],
            "--epochs: 1000000000 is out of range; expected an integer from 1 to 100000",
        ),
        (["train", "--batch-size", str(10**12)], "--batch-size: 1000000000000 is out of range"),
        (["train", "--data", "synth:tiny:-3"], "the seed -3 is out of range; expected an integer from 0 to 4294967295"),
        (["synth", "--seed", "-1", "--stats"], "--seed: -1 is out of range"),
    ],
)
def test_counts_out_of_range_are_one_line_before_any_work(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    command = argv[0]
    extra = [] if command == "synth" else ["--data", "synth:tiny"] if "--data" not in argv else []
    full = [*argv, *extra, "--out", str(out)] + (["--model", "valor++"] if command == "train" else [])
    assert main(full) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not out.exists()  # a refused grid leaves no empty --out behind


@pytest.mark.parametrize(
    "payload, problem",
    [
        ("[" * 200_000 + "]" * 200_000, "nested more than 64 levels deep"),
        ('{"config": {"model": "link"}, "seed": ' + "9" * 5000 + "}", "Exceeds the limit"),
        ('{"a": ' * 70 + "1" + "}" * 70, "nested more than 64 levels deep"),
        (b"\xff\xfe{}", "can't decode byte"),
    ],
)
def test_a_record_too_deep_or_with_a_huge_integer_is_one_line_everywhere(tmp_path, capsys, payload, problem):
    run = tmp_path / "grid" / "valorpp" / "seed87"
    run.mkdir(parents=True)
    (run / "results.json").write_bytes(payload if isinstance(payload, bytes) else payload.encode())
    commands = [
        ["test", str(run)],
        [
            "grid",
            "--variants",
            "valor++",
            "--seeds",
            "1",
            "--data",
            "synth:tiny",
            "--out",
            str(tmp_path / "grid"),
            "--summarise-only",
        ],
        ["train", "--data", "synth:tiny", "--seed", "87", "--epochs", "1", "--out", str(run), "--resume"],
    ]
    for argv in commands:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"error: {run / 'results.json'}: not valid JSON (") and problem in err, err
        assert err.count("\n") == 1


def test_a_record_with_nan_huge_or_boolean_scores_is_refused(tmp_path, capsys):
    from linkpaper.training.runs import read_results

    recipe = Path(__file__).resolve().parent.parent / "results" / "synth_small_recipe" / "link" / "seed87"
    record = json.loads((recipe / "results.json").read_text())
    for bad in (float("nan"), 1e308, True):
        record["test_row"][0] = bad
        (tmp_path / "results.json").write_text(json.dumps(record))
        with pytest.raises(UserError, match=r"'test_row' (is not ten numbers|holds a value that is not an F-score)"):
            read_results(tmp_path)


def test_a_corrupt_jobs_file_is_one_line_even_with_the_sequential_executor(tmp_path, capsys):
    out = tmp_path / "grid"
    (out / "submitit").mkdir(parents=True)
    (out / "submitit" / "jobs.json").write_text('{"valorpp/seed87": ')
    assert (
        main(
            [
                "grid",
                "--variants",
                "valor++",
                "--seeds",
                "1",
                "--data",
                "synth:tiny",
                "--out",
                str(out),
                "--summarise-only",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out / 'submitit' / 'jobs.json'}: not a readable list of submitted jobs")
    assert err.count("\n") == 1


def test_an_llp_folder_whose_path_is_not_utf8_loads(tmp_path, llp_data_dir):
    from linkpaper.data.features import load_llp
    from linkpaper.data.synth import make_synth, write_valor_layout

    folder = tmp_path / os.fsdecode(b"caf\xe9-features")  # latin-1 bytes: not UTF-8
    write_valor_layout(make_synth("tiny", seed=0, data_dir=llp_data_dir), folder, progress=False)
    data = load_llp(folder, data_dir=llp_data_dir, progress=False)  # with its cache
    assert len(data.train) == 64


def test_download_into_a_data_dir_that_cannot_be_created_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["download", "annotations", "--data-dir", str(tmp_path / "file" / "data")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --data-dir {tmp_path / 'file' / 'data'}: cannot create") and err.count("\n") == 1


def test_a_zip_bomb_predictions_file_is_refused_from_its_headers(tmp_path):
    import tracemalloc
    import zipfile

    from linkpaper.evaluation.predictions import PredictionsError, load_predictions

    rows = 32_000  # 64 MB of zeros, about 60 kB compressed
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("filename.npy", _npy(np.array(["abcdefghijk_0_10"])))
        archive.writestr("video_prob.npy", _npy(np.zeros((1, 25), np.float32)))
        with archive.open("frame_prob.npy", "w", force_zip64=True) as member:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f4", "fortran_order": False, "shape": (rows, 10, 2, 25)}
            )
            member.write(header.getvalue())  # magic, length and header
            chunk = bytes(2**20)
            for _ in range(rows * 500 * 4 // 2**20):
                member.write(chunk)
            member.write(bytes(rows * 500 * 4 % 2**20))
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(PredictionsError, match=r"bomb\.npz: frame_prob has 32000 videos but video_prob has 1"):
            load_predictions(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


# --------------------------------------------------------------------------- 5. messages that say what happened


def test_a_pickle_that_would_run_code_is_named_as_such(tmp_path):
    import pickle

    from linkpaper.safe_io import safe_torch_load

    class Runs:
        def __reduce__(self):
            return (os.system, ("true",))

    path = tmp_path / "checkpoint_best.pt"
    path.write_bytes(pickle.dumps({"model": Runs()}, protocol=2))
    with pytest.raises(
        UserError,
        match=r"refused to load: the file holds Python objects .*GLOBAL posix\.system "
        r"\(module posix is blocked\).*could run code",
    ):
        safe_torch_load(path)


def test_a_data_description_with_markup_stays_text_in_summary_md(tmp_path):
    from helpers_sizes import tiny_run_config

    from linkpaper.training.grid import write_summary

    description = "<script>alert(1)</script> **bold** | cell"
    row = {
        "model": "valor++",
        "n": 1,
        "mean": [1.0] * 10,
        "std": [0.0] * 10,
        "runs": [],
        "label_leakage": False,
        "data": description,
    }
    write_summary(tmp_path, [row], tiny_run_config(), [87])
    text = (tmp_path / "summary.md").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text and r"\*\*bold\*\* \| cell" in text


def test_model_override_of_plsim_labels_is_refused(capsys):
    from helpers_sizes import tiny_run_config

    from linkpaper.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--model-override plsim_labels: .* pass --plsim-labels gated instead"):
        tiny_run_config(model="link", model_overrides={"plsim_labels": "gated"}).validate()


def test_huge_but_finite_features_are_named_not_blamed_on_the_learning_rate(tmp_path):
    import dataclasses

    from helpers_sizes import tiny_run_config

    from linkpaper.data.sources import load_data
    from linkpaper.training.divergence import DivergenceError
    from linkpaper.training.engine import train

    tiny = load_data("synth:tiny")
    huge = dataclasses.replace(tiny, train=dataclasses.replace(tiny.train, audio=tiny.train.audio * 3e37))
    with pytest.raises(
        DivergenceError, match=r"input features are finite but reach [0-9.]+e\+3[78].*not usable features"
    ):
        train(tiny_run_config(epochs=1), tmp_path / "run", data=huge, progress=False)


def test_resume_from_a_checkpoint_with_nan_weights_is_refused(tmp_path):
    from helpers_sizes import tiny_run_config

    from linkpaper.training.engine import train
    from linkpaper.training.runs import CHECKPOINT_LAST

    config = tiny_run_config(epochs=2)
    train(config, tmp_path / "run", stop_after=1, progress=False)
    path = tmp_path / "run" / CHECKPOINT_LAST
    state = torch.load(path, weights_only=True)
    first = next(iter(state["model"]))
    state["model"][first] = torch.full_like(state["model"][first], float("nan"))
    torch.save(state, path)
    with pytest.raises(UserError, match=r"checkpoint_last\.pt: the weights of epoch 1 hold NaN or infinite values"):
        train(config, tmp_path / "run", resume=True, progress=False)


def test_synth_help_gives_the_real_val_size(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "small 2000/321/1200" in out and "649/1200" not in out


def test_only_evaluate_is_told_to_pass_subset():
    from linkpaper.evaluation.predictions import Predictions, PredictionsError

    predictions = Predictions(["abcdefghijk_0_10"], np.zeros((1, 10, 2, 25)), np.zeros((1, 25)), Path("p.npz"))
    split = ["abcdefghijk_0_10", "bcdefghijkl_0_10"]
    with pytest.raises(PredictionsError, match="pass --subset"):
        predictions.aligned_to(split, "test")
    with pytest.raises(PredictionsError) as caught:
        predictions.aligned_to(split, "test", subset_hint=False)  # collect_results has no such flag
    assert "--subset" not in str(caught.value)
