"""Issue 15: safe files, no silent mix-ups, one clear message for every bad input.

One test (or a few) per item: SynthLLP folders that hold another generation, ``llp:`` on a
SynthLLP folder, unusable ``--out`` folders, divergence, malformed records / checkpoints /
headers, the smaller CLI checks, and the ungated-label leakage guard.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_sizes import SMALL_RUN as SMALL
from helpers_sizes import tiny_run_config

from linkpaper.cli import main
from linkpaper.data.sources import load_data
from linkpaper.errors import ConfigError, UserError
from linkpaper.evaluation.predictions import PredictionsError, load_predictions, save_predictions
from linkpaper.training.divergence import DivergenceError
from linkpaper.training.engine import train
from linkpaper.training.runs import CHECKPOINT_LAST

PACKAGE = Path(__file__).resolve().parent.parent / "linkpaper"


@pytest.fixture(scope="module")
def tiny():
    return load_data("synth:tiny")


config = tiny_run_config


class _Marker:
    """Unpickling this object would create a marker file (what a malicious checkpoint does)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


# --------------------------------------------------------------------------- 1. safe loading


def test_every_torch_load_in_the_package_is_weights_only():
    calls = []
    for path in PACKAGE.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\btorch\.load\(", code) and "``" not in code and '"' not in code.split("torch.load(")[0]:
                calls.append((path.relative_to(PACKAGE), n, code.strip()))
    assert calls, "expected to find the package's torch.load calls"
    unsafe = [c for c in calls if "weights_only=True" not in c[2]]
    assert not unsafe, unsafe


def test_load_valor_checkpoint_refuses_code_and_names_the_file(tmp_path):
    from linkpaper.models import build_model
    from linkpaper.models.registry import load_valor_checkpoint

    model = build_model("valor++", **SMALL)
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint_best.pt"
    torch.save({"model": model.state_dict(), "extra": _Marker(marker)}, path)
    with pytest.raises(UserError, match=r"checkpoint_best\.pt: refused to load.*could run code"):
        load_valor_checkpoint(model, path)
    assert not marker.exists()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(
        UserError, match=r"checkpoint_best\.pt: cannot read this VALOR checkpoint \(Unsupported operand"
    ):
        load_valor_checkpoint(model, path)
    torch.save([1, 2, 3], path)
    with pytest.raises(ConfigError, match=r"checkpoint_best\.pt: expected a state dict of tensors.*found list"):
        load_valor_checkpoint(model, path)


# --------------------------------------------------------------------------- 2. synth folders


@pytest.fixture(scope="module")
def tiny_seeds(llp_data_dir):
    from linkpaper.data.synth import make_synth

    return make_synth("tiny", seed=0, data_dir=llp_data_dir), make_synth("tiny", seed=1, data_dir=llp_data_dir)


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synth_refuses_another_generation_and_overwrite_replaces_it(tmp_path, tiny_seeds, llp_data_dir):
    from linkpaper.data.features import load_llp
    from linkpaper.data.synth import SynthFolderError, write_valor_layout

    seed0, seed1 = tiny_seeds
    out = tmp_path / "synth"
    write_valor_layout(seed0, out, progress=False)
    before = _snapshot(out)
    with pytest.raises(
        SynthFolderError,
        match=r"--out .*synth: holds another SynthLLP generation \(SynthLLP "
        r"preset=tiny seed=0\); writing SynthLLP preset=tiny seed=1 .*--overwrite",
    ):
        write_valor_layout(seed1, out, progress=False)
    assert _snapshot(out) == before  # nothing touched
    summary = write_valor_layout(seed1, out, progress=False, overwrite=True)
    assert summary["skipped"] == 0 and summary["written"] == 8 * 128  # every file rewritten
    loaded = load_llp(out, data_dir=llp_data_dir, cache=False, progress=False)
    for name in ("train", "val", "test"):
        a, b = getattr(seed1, name), getattr(loaded, name)
        assert a.filenames == b.filenames
        for key, value in a.tensor_fields().items():
            assert torch.equal(value, b.tensor_fields()[key]), (name, key)
    assert loaded.source["seed"] == 1 and loaded.source["kind"] == "synth"
    # The replaced generation's videos that the new one lacks are gone; nothing else is left over.
    ids = {n[:11] for s in ("train", "val", "test") for n in getattr(seed1, s).filenames}
    assert {p.stem for p in (out / "CLIP" / "features").glob("*.npy")} == ids
    assert not (out / "synthllp.partial.json").exists()


def test_synth_never_writes_into_a_folder_it_did_not_write(tmp_path, tiny_seeds, capsys, llp_data_dir):
    from linkpaper.data.synth import SynthFolderError, write_valor_layout

    foreign = tmp_path / "features"
    (foreign / "CLAP" / "features").mkdir(parents=True)
    mine = foreign / "CLAP" / "features" / "abcdefghijk.npy"
    np.save(mine, np.zeros((64, 768), np.float32))
    before = _snapshot(foreign)
    for overwrite in (False, True):
        with pytest.raises(
            SynthFolderError, match=r"not empty \(CLAP\) and has no synthllp\.json, so synth did not write it"
        ):
            write_valor_layout(tiny_seeds[0], foreign, progress=False, overwrite=overwrite)
    assert _snapshot(foreign) == before
    # The CLI refuses before generating anything, and names a file given as --out.
    assert (
        main(["synth", "--preset", "tiny", "--out", str(foreign), "--data-dir", str(llp_data_dir), "--no-progress"])
        == 2
    )
    captured = capsys.readouterr()
    assert "synth did not write it" in captured.err and "generated" not in captured.out
    (tmp_path / "file").write_text("x")
    assert main(["synth", "--preset", "tiny", "--out", str(tmp_path / "file"), "--no-progress"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_an_interrupted_overwrite_is_finished_without_trusting_old_files(tmp_path, tiny_seeds):
    from linkpaper.data import synth as synth_module

    seed0, seed1 = tiny_seeds
    out = tmp_path / "synth"
    synth_module.write_valor_layout(seed0, out, progress=False)
    calls = {"n": 0}
    original = synth_module._atomic_save_npy

    def crash_after_ten(path, array):
        calls["n"] += 1
        if calls["n"] > 10:
            raise KeyboardInterrupt
        original(path, array)

    synth_module._atomic_save_npy = crash_after_ten
    try:
        with pytest.raises(KeyboardInterrupt):
            synth_module.write_valor_layout(seed1, out, progress=False, overwrite=True)
    finally:
        synth_module._atomic_save_npy = original
    assert (out / "synthllp.partial.json").exists() and not (out / "synthllp.json").exists()
    # Same generation again, no --overwrite needed: every old file of the right size is rewritten.
    summary = synth_module.write_valor_layout(seed1, out, progress=False)
    assert summary["skipped"] == 0
    vid = seed1.train.filenames[-1][:11]
    assert np.array_equal(np.load(out / "CLIP" / "features" / f"{vid}.npy"), seed1.train.visual[-1].numpy())


# --------------------------------------------------------------------------- 3. llp: on SynthLLP


def test_llp_spec_on_a_synth_folder_is_recorded_and_captioned_as_synthetic(tmp_path, tiny_seeds, llp_data_dir):
    from linkpaper.chapters.run_records import data_label
    from linkpaper.data.synth import write_valor_layout
    from linkpaper.training.runs import caption

    out = tmp_path / "synth_tiny"
    write_valor_layout(tiny_seeds[0], out, progress=False)
    data = load_data(f"llp:{out}", data_dir=llp_data_dir)
    assert data.source["kind"] == "synth" and data.source["preset"] == "tiny" and data.source["seed"] == 0
    assert data.source["read_from"] == f"llp:{out}" and "checksums" in data.source
    assert data.describe() == f"SynthLLP (synthetic) preset=tiny seed=0, read from {out.resolve()}"
    record = train(config(epochs=1, data=f"llp:{out}", data_dir=str(llp_data_dir)), tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["data"]["source"]["kind"] == "synth"
    assert "LLP released" not in caption(record) and "SynthLLP (synthetic)" in caption(record)
    assert data_label(saved) == "SynthLLP tiny (synthetic)"
    (out / "synthllp.json").rename(out / "synthllp.partial.json")
    with pytest.raises(UserError, match=r"an unfinished SynthLLP write"):
        load_data(f"llp:{out}", data_dir=llp_data_dir)


# --------------------------------------------------------------------------- 4. --out folders


def test_out_that_is_a_file_or_under_a_file_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import linkpaper.data.sources as sources

    monkeypatch.setattr(sources, "load_data", lambda *a, **k: pytest.fail("data loaded before --out was checked"))
    (tmp_path / "file").write_text("keep me")
    with pytest.raises(UserError, match=r"--out .*file: is a file, not a folder"):
        train(config(), tmp_path / "file", progress=False)
    with pytest.raises(UserError, match=r"--out .*file/run: lies under .*file, which is a file"):
        train(config(), tmp_path / "file" / "run", progress=False)
    assert (tmp_path / "file").read_text() == "keep me"
    argv = ["train", "--data", "synth:tiny", "--epochs", "1", "--quiet", "--out", str(tmp_path / "file" / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and "Traceback" not in err


def test_grid_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
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
                "--quiet",
                "--out",
                str(tmp_path / "file"),
            ]
        )
        == 2
    )
    assert (
        capsys.readouterr().err
        == f"error: --out {tmp_path / 'file'}: is a file, not a folder; choose another --out path\n"
    )


def test_unwritable_out_is_refused(tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc")  # root writes anywhere else; nobody can create files here
        if not target.is_dir():
            pytest.skip("no /proc")
    else:
        target = tmp_path / "readonly"
        target.mkdir()
        target.chmod(0o500)
    with pytest.raises(UserError, match=r"--out .*: the folder is not writable|--out .*: cannot create"):
        train(config(), target / "run" if os.geteuid() != 0 else target, progress=False)


def test_a_failed_run_removes_the_empty_folders_it_created(tmp_path):
    out = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(ConfigError, match="does not exist"):
        train(config(data=f"llp:{tmp_path / 'nowhere'}"), out, progress=False)
    assert not (tmp_path / "new").exists()
    existing = tmp_path / "mine"
    existing.mkdir()
    with pytest.raises(ConfigError):
        train(config(data=f"llp:{tmp_path / 'nowhere'}"), existing, progress=False)
    assert existing.is_dir()  # not created by the run: kept


def test_a_failed_save_names_the_file(tmp_path, monkeypatch):
    from linkpaper import safe_io

    def full_disk(obj, handle):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safe_io.torch, "save", full_disk)
    with pytest.raises(UserError, match=r"x\.pt: cannot write \(No space left on device\)"):
        safe_io.atomic_torch_save({}, tmp_path / "x.pt")
    assert not list(tmp_path.iterdir())  # no temporary file left


# --------------------------------------------------------------------------- 5. divergence


def _poisoned_losses(monkeypatch, epoch_step: tuple[int, int], steps_per_epoch: int):
    """The grid variants' loss (the registry resolves ``linkpaper.losses.compute_losses`` when a run
    starts), returning a NaN total at (epoch, step), counting calls from the start."""
    import linkpaper.losses as losses

    original = losses.compute_losses
    calls = {"n": 0}
    target = (epoch_step[0] - 1) * steps_per_epoch + epoch_step[1]

    def poisoned(model, output, batch):
        result = original(model, output, batch)
        calls["n"] += 1
        if calls["n"] == target:
            result = {**result, "total": result["total"] * float("nan")}
        return result

    monkeypatch.setattr(losses, "compute_losses", poisoned)


@pytest.mark.parametrize("check_each_step", [True, False], ids=["cpu-per-step", "deferred-like-cuda"])
def test_a_nan_loss_stops_with_epoch_and_step_and_keeps_the_last_good_checkpoint(
    tmp_path, tiny, monkeypatch, check_each_step
):
    import linkpaper.training.divergence as divergence

    if not check_each_step:  # the CUDA path: flags on the device, one read per epoch
        monkeypatch.setattr(divergence, "CHECK_EACH_STEP", ())
    healthy = train(config(epochs=1), None, data=tiny, progress=False)
    steps = -(-len(tiny.train) // 16)
    _poisoned_losses(monkeypatch, (2, 3), steps)
    run = tmp_path / "nan"
    with pytest.raises(
        DivergenceError,
        match=rf"stopped at epoch 2, step 3 of {steps}: the training loss is NaN or "
        r"infinite; the inputs are finite, so the model diverged.*"
        r"checkpoint_last\.pt keeps epoch 1, the last finite one",
    ):
        train(config(), run, data=tiny, progress=False)
    state = torch.load(run / CHECKPOINT_LAST, weights_only=True)
    assert state["epoch"] == 1
    record = json.loads((run / "results.json").read_text())
    assert record["stopped"] == {"reason": "non-finite loss", "epoch": 2, "step": 3}
    assert record["epochs"][0]["train_loss"] == healthy["epochs"][0]["train_loss"]  # numbers unchanged


def test_nan_features_are_named_as_the_cause(tmp_path, tiny):
    poisoned_train = dataclasses.replace(tiny.train, audio=tiny.train.audio.clone())
    poisoned_train.audio[:, 0, 0] = float("nan")
    data = dataclasses.replace(tiny, train=poisoned_train)
    with pytest.raises(
        DivergenceError,
        match=r"epoch 1, step 1 of \d+: the model's probabilities are NaN.*"
        r"input features hold non-finite values \(audio: 16 value\(s\)\).*"
        r"no epoch finished, so nothing was saved",
    ):
        train(config(), tmp_path / "run", data=data, progress=False)
    assert not (tmp_path / "run").exists()  # the empty folder the run created is removed
    poisoned_val = dataclasses.replace(tiny.val, visual=tiny.val.visual.clone())
    poisoned_val.visual[3] = float("inf")
    with pytest.raises(
        DivergenceError,
        match=r"epoch 1, validation: the model's val predictions hold NaN.*"
        r"visual: 7680 value",
    ):
        train(config(), None, data=dataclasses.replace(tiny, val=poisoned_val), progress=False)


def test_cudnn_is_deterministic_after_seeding(monkeypatch):
    from linkpaper.training.runs import seed_everything

    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    seed_everything(3)
    assert torch.backends.cudnn.deterministic is True and torch.backends.cudnn.benchmark is False


# --------------------------------------------------------------------------- 6. malformed structure


@pytest.mark.parametrize(
    "payload, problem",
    [
        ("[1, 2]", "a JSON list, expected an object"),
        ('{"config": {}}', "no 'data' entry"),
        (
            '{"config": {"model": "link"}, "data": {"description": "x"}, "seed": "87", "plsim": {}, "epochs": [], '
            '"complete": false}',
            "'seed' is a str, expected int",
        ),
    ],
)
def test_results_json_that_is_not_a_record_is_named(tmp_path, capsys, payload, problem):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(payload)
    assert main(["test", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"results.json: not a linkpaper run record ({problem})" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def _forge_shape(npy: bytes, old: bytes, new: bytes) -> bytes:
    """A .npy payload whose header claims ``new`` instead of ``old`` (same header length, same data)."""
    header_len = int.from_bytes(npy[8:10], "little")
    header = npy[10 : 10 + header_len].replace(old, new).rstrip(b"\n").rstrip(b" ")
    assert len(header) < header_len
    return npy[:10] + header + b" " * (header_len - len(header) - 1) + b"\n" + npy[10 + header_len :]


def _npz_with_forged_header(path: Path, rows: int) -> None:
    save_predictions(path, ["a" * 11 + "_0_10"], np.zeros((1, 10, 2, 25)), np.zeros((1, 25)))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["frame_prob.npy"] = _forge_shape(
        members["frame_prob.npy"], b"(1, 10, 2, 25)", f"({rows}, 10, 2, 25)".encode()
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)


def test_npz_header_claiming_huge_rows_is_refused_without_allocating(tmp_path, capsys):
    path = tmp_path / "forged.npz"
    _npz_with_forged_header(path, 10**11)
    with pytest.raises(
        PredictionsError,
        match=r"forged\.npz: frame_prob: the header claims shape "
        r"\(100000000000, 10, 2, 25\) float32 .* truncated or forged",
    ):
        load_predictions(path)
    assert main(["evaluate", str(path), "--split", "test"]) == 2
    assert "header claims shape" in capsys.readouterr().err


def test_feature_file_header_claiming_huge_rows_is_refused(tmp_path):
    from helpers_layout import fake_filenames, feature_path, write_layout

    from linkpaper.data.features import FeatureError, load_split

    names = fake_filenames(3)
    write_layout(tmp_path, names, splits={"train": names})
    path = feature_path(tmp_path, "visual", names[1])
    path.write_bytes(_forge_shape(path.read_bytes(), b"(10, 768)", b"(100000000000, 768)"))
    with pytest.raises(
        FeatureError,
        match=r"1 file corrupt \(first: .*\.npy \(the header claims shape "
        r"\(100000000000, 768\) float32",
    ):
        load_split(tmp_path, "train", progress=False, cache=False)


# --------------------------------------------------------------------------- 7. smaller items


def test_byte_string_filenames_are_decoded(tmp_path):
    path = tmp_path / "bytes.npz"
    names = np.array([b"aaaaaaaaaaa_0_10", b"bbbbbbbbbbb_0_10"], dtype="S")
    np.savez(
        path, filename=names, frame_prob=np.zeros((2, 10, 2, 25), np.float32), video_prob=np.zeros((2, 25), np.float32)
    )
    assert load_predictions(path).filenames == ["aaaaaaaaaaa_0_10", "bbbbbbbbbbb_0_10"]
    np.savez(
        path,
        filename=np.array([b"\xff\xfe"], dtype="S"),
        frame_prob=np.zeros((1, 10, 2, 25), np.float32),
        video_prob=np.zeros((1, 25), np.float32),
    )
    with pytest.raises(PredictionsError, match=r"bytes\.npz: filename b'\\xff\\xfe' is not UTF-8 text"):
        load_predictions(path)


def test_threads_zero_names_the_threads_flag(capsys):
    with pytest.raises(ConfigError, match=r"^--threads: expected a positive integer, got 0$"):
        config(num_threads=0).validate()
    assert main(["train", "--data", "synth:tiny", "--threads", "0", "--out", "/nonexistent/x"]) == 2
    assert capsys.readouterr().err.startswith("error: --threads: expected a positive integer")


def test_feature_problems_of_all_splits_are_reported_together(tmp_path, llp_data_dir):
    from helpers_layout import feature_path

    from linkpaper.data.features import FeatureError, load_llp
    from linkpaper.data.synth import make_synth, write_valor_layout

    data = make_synth("tiny", data_dir=llp_data_dir)
    write_valor_layout(data, tmp_path, progress=False)
    feature_path(tmp_path, "visual", data.train.filenames[0]).unlink()
    np.save(feature_path(tmp_path, "audio", data.test.filenames[2]), np.zeros((9, 768), np.float32))
    with pytest.raises(FeatureError) as caught:
        load_llp(tmp_path, data_dir=llp_data_dir, cache=False, progress=False)
    message = str(caught.value)
    assert "1 problem in the train features" in message and "1 problem in the test features" in message
    assert "val features" not in message and message.count("Fix or re-extract") == 1


@pytest.fixture(scope="module")
def subset_predictions(tmp_path_factory, llp_data_dir):
    from linkpaper.data.annotations import load_annotations

    test = load_annotations("test", llp_data_dir)
    rows = np.arange(0, 320, 10)  # 32 of the 1200 test videos, like a synth:tiny run
    frame = np.stack([test.gt_audio[rows], test.gt_visual[rows]], axis=2).astype(np.float32)
    video = (test.gt_audio[rows] | test.gt_visual[rows]).any(axis=1).astype(np.float32)
    path = tmp_path_factory.mktemp("subset") / "tiny_predictions.npz"
    save_predictions(path, [test.filenames[i] for i in rows], frame, video)
    return path


def test_evaluate_scores_a_subset_only_when_asked(subset_predictions, llp_data_dir, capsys):
    argv = ["evaluate", str(subset_predictions), "--split", "test", "--data-dir", str(llp_data_dir)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "1168 video(s) of the test split have no prediction" in err and "pass --subset" in err
    assert main(argv + ["--subset"]) == 0
    out = capsys.readouterr().out
    assert "SUBSET: scored on 32 of the 1200 videos of the test split (--subset)" in out
    assert "(32 videos;" in out and "100.00" in out
    assert main(argv + ["--subset", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["segment"]["audio"] == pytest.approx(100.0)
    assert "SUBSET: scored on 32 of the 1200" in captured.err


def test_evaluate_warns_about_modified_annotations(subset_predictions, llp_data_dir, tmp_path, capsys):
    copy = tmp_path / "data"
    shutil.copytree(llp_data_dir / "llp", copy / "llp")
    with open(copy / "llp" / "AVVP_eval_audio.csv", "a") as f:
        f.write("\n")
    assert main(["evaluate", str(subset_predictions), "--split", "test", "--subset", "--data-dir", str(copy)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"warning: .*AVVP_eval_audio\.csv: sha256 \w+\.\.\. is not the pinned official", err)
    assert "AVVP_test_pd.csv" not in err and "AVVP_eval_visual.csv" not in err


def test_only_jpg_frames_are_read_and_the_ffmpeg_call_is_the_references(tmp_path):
    from linkpaper.teachers.frames import FrameError, ffmpeg_frames_command, is_frame_file, list_frames

    clip = tmp_path / "clip"
    clip.mkdir()
    for name in ("000001.jpg", "000002.jpg", "000003.png", "000004.jpeg", "000005.JPG", "notes.txt"):
        (clip / name).write_bytes(b"")
    (clip / "000006.jpg").mkdir()  # a folder, not a frame
    assert [p.name for p in list_frames(clip)] == ["000001.jpg", "000002.jpg"]
    assert not is_frame_file(clip / "000003.png")
    only_png = tmp_path / "png"
    only_png.mkdir()
    (only_png / "000001.png").write_bytes(b"")
    with pytest.raises(FrameError, match=r"png: no frame images \(\*\.jpg\).*ffmpeg .* -r 8 .*%06d\.jpg"):
        list_frames(only_png)
    command = ffmpeg_frames_command("v.mp4", tmp_path / "out")
    assert command[0] == "ffmpeg" and command[command.index("-i") + 1] == "v.mp4"
    assert command[command.index("-r") + 1] == "8" and command[-1] == str(tmp_path / "out" / "%06d.jpg")


def test_laion_clap_is_pinned_to_the_reference_release():
    import re

    import tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    extract = {
        Requirement(r).name.replace("-", "_"): Requirement(r) for r in project["optional-dependencies"]["extract"]
    }
    assert extract["laion_clap"].specifier.contains("1.1.4")  # the extra admits the reference release
    assert any(Requirement(r).name == "hypothesis" for r in project["optional-dependencies"]["dev"])
    script = (PACKAGE.parent / "scripts" / "setup_extract_env.sh").read_text()
    # ... and the extraction environment installs exactly it (without its numpy==1.23.5 pin)
    assert re.search(r'pip install --quiet --no-deps "laion_clap==\$\{LAION_CLAP_VERSION:-1\.1\.4\}"', script)


# --------------------------------------------------------------------------- 8. leakage guard


def test_ungated_labels_that_look_gated_warn_and_are_recorded(tmp_path, llp_data_dir):
    from linkpaper.data.features import VALOR_LAYOUT, load_llp
    from linkpaper.data.synth import make_synth, write_valor_layout

    data = make_synth("tiny", data_dir=llp_data_dir)
    write_valor_layout(data, tmp_path, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # real ungated labels: no warning
        clean = load_llp(tmp_path, data_dir=llp_data_dir, cache=False, progress=False)
    assert clean.source["ungated_labels"]["looks_gated"] == []
    assert all(
        n > 0 for split in clean.source["ungated_labels"]["videos_outside_weak"].values() for n in split.values()
    )
    for name in data.val.filenames:  # the released gated labels copied over the ungated folder
        shutil.copy(
            tmp_path / VALOR_LAYOUT["pseudo_audio"] / f"{name[:11]}.npy",
            tmp_path / VALOR_LAYOUT["pseudo_audio_ungated"] / f"{name[:11]}.npy",
        )
    with pytest.warns(
        UserWarning,
        match=r"segment_pseudo_labels_ungated: no val video has an ungated label outside "
        r"its weak labels .* look gated",
    ):
        leaky = load_llp(tmp_path, data_dir=llp_data_dir, cache=False, progress=False)
    assert leaky.source["ungated_labels"]["looks_gated"] == ["val: CLAP/segment_pseudo_labels_ungated"]
    assert leaky.source["ungated_labels"]["videos_outside_weak"]["val"]["CLAP/segment_pseudo_labels_ungated"] == 0
