"""End to end: generated frames + waveforms -> the released VALOR layout, resumable, readable
by ``linkpaper.data.features``. Small random-weight teachers (see conftest). Needs the extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_frames, write_wave

from linkpaper.classes import CLASSES
from linkpaper.teachers import labels

pytestmark = pytest.mark.extract
ROOT = Path(__file__).resolve().parents[2]

# clip a: frames + audio; clip b: frames only (82 of them); clip c: 7 frames and no weak label.
# One audio clip keeps the test fast: the real HTS-AT-tiny runs 11 ten-second inputs per clip.
WEAK = {"aaaaaaaaaaa": ["Dog", "Speech"], "b-b_bbbbbbb": ["Violin_fiddle", "Cello", "Clapping"]}


def _make_inputs(tmp_path):
    frames_dir, audio_dir = tmp_path / "frames", tmp_path / "audio"
    write_frames(frames_dir / "aaaaaaaaaaa_30_40", 80, seed=0)
    write_frames(frames_dir / "b-b_bbbbbbb_0_10", 82, seed=1)
    write_frames(frames_dir / "ccccccccccc", 7, seed=2)
    write_wave(audio_dir / "aaaaaaaaaaa_30_40.wav", seconds=2.0, freq=440, seed=0)
    label_file = tmp_path / "weak.csv"
    rows = [f"{cid}_0_10\t{','.join(names)}" for cid, names in WEAK.items()]
    label_file.write_text("filename\tevent_labels\n" + "\n".join(rows) + "\n")
    return frames_dir, audio_dir, label_file


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, request):
    tiny_clip = request.getfixturevalue("tiny_clip_model")
    clap_module = request.getfixturevalue("random_clap_module")
    import open_clip
    from conftest import TINY_CLIP

    from linkpaper.teachers.clap_teacher import CLAPTeacher
    from linkpaper.teachers.clip_teacher import CLIPTeacher
    from linkpaper.teachers.extract import ExtractConfig, run_extraction

    tmp_path = tmp_path_factory.mktemp("extract")
    frames_dir, audio_dir, label_file = _make_inputs(tmp_path)
    teachers = (
        CLIPTeacher(tiny_clip, open_clip.get_tokenizer(TINY_CLIP), source="random (test)"),
        CLAPTeacher(clap_module, source="random (test)"),
    )
    config = ExtractConfig(
        out=tmp_path / "out", frames=frames_dir, audio=audio_dir, labels=label_file, batch_size=2, workers=0
    )
    reports = run_extraction(config, *teachers)
    return config, teachers, reports


def test_reports_count_every_clip(extracted):
    _, _, reports = extracted
    clip, clap = reports
    assert (clip.teacher, clip.found, clip.extracted, clip.gated, clip.skipped_done) == ("CLIP", 3, 3, 2, 0)
    assert (clap.teacher, clap.found, clap.extracted, clap.gated, clap.skipped_done) == ("CLAP", 1, 1, 1, 0)
    assert not clip.failed and not clap.failed


def test_layout_shapes_dtypes_and_normalisation(extracted):
    config, _, _ = extracted
    out = config.out
    for cid in ("aaaaaaaaaaa", "b-b_bbbbbbb", "ccccccccccc"):
        feats = np.load(out / "CLIP/features" / f"{cid}.npy")
        assert feats.shape == (10, 32) and feats.dtype == np.float32  # tiny CLIP: D = 32 (ViT-L/14: 768)
        assert np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    maps = np.load(out / "CLAP/features/aaaaaaaaaaa.npy")
    assert maps.shape == (64, 768) and maps.dtype == np.float32 and np.isfinite(maps).all()
    for teacher, cids in (("CLIP", WEAK), ("CLAP", ["aaaaaaaaaaa"])):
        for cid in cids:
            for kind in ("segment_pseudo_labels", "segment_pseudo_labels_ungated"):
                array = np.load(out / teacher / kind / f"{cid}.npy")
                assert array.shape == (10, 25) and array.dtype == np.int64 and set(np.unique(array)) <= {0, 1}
    assert np.load(out / "text_tables/clip_text.npy").shape == (25, 32)
    assert np.load(out / "text_tables/clap_text.npy").shape == (25, 512)
    assert not (out / "CLAP/features/b-b_bbbbbbb.npy").exists()  # no audio for that clip
    assert not list(out.rglob("*.tmp.npy"))


def test_labels_follow_the_reference_rule(extracted):
    config, (clip_teacher, clap_teacher), _ = extracted
    out = config.out
    for teacher, model in (("CLIP", clip_teacher), ("CLAP", clap_teacher)):
        table = np.load(out / "text_tables" / f"{teacher.lower()}_text.npy")
        for cid, names in WEAK.items():
            if teacher == "CLAP" and cid != "aaaaaaaaaaa":
                continue
            logits = np.load(out / teacher / "segment_logits" / f"{cid}.npy")
            ungated = np.load(out / teacher / "segment_pseudo_labels_ungated" / f"{cid}.npy")
            gated = np.load(out / teacher / "segment_pseudo_labels" / f"{cid}.npy")
            assert logits.shape == (10, 25) and logits.dtype == np.float32
            assert np.array_equal(ungated, (logits.astype(np.float64) > labels.THRESHOLDS[teacher]).astype(np.int64))
            weak = np.isin(CLASSES, names)
            assert np.array_equal(gated, ungated & weak[None, :])
            if teacher == "CLIP":  # logits = logit_scale x cosine(image, prompt)
                feats = np.load(out / "CLIP/features" / f"{cid}.npy")
                assert np.allclose(logits, model.logit_scale * feats @ table.T, atol=1e-4)
    # the clip without a weak label has ungated labels only
    assert (out / "CLIP/segment_pseudo_labels_ungated/ccccccccccc.npy").is_file()
    assert not (out / "CLIP/segment_pseudo_labels/ccccccccccc.npy").exists()


def test_second_run_skips_done_clips_and_redoes_missing_ones(extracted):
    from linkpaper.teachers.extract import run_extraction

    config, teachers, _ = extracted
    out = config.out
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.npy") if "text_tables" not in p.parts}
    reports = run_extraction(config, *teachers)
    assert [(r.extracted, r.skipped_done) for r in reports] == [(0, 3), (0, 1)]
    assert {p: p.stat().st_mtime_ns for p in before} == before
    # an interrupted clip (features missing) is redone, alone, and identically
    victim = out / "CLIP/features/b-b_bbbbbbb.npy"
    expected = np.load(victim)
    victim.unlink()
    config_clip_only = type(config)(**{**vars(config), "audio": None, "workers": 2})  # DataLoader workers
    (report,) = run_extraction(config_clip_only, teachers[0], None)
    assert (report.extracted, report.skipped_done, report.regated) == (1, 2, 0)
    assert np.allclose(np.load(victim), expected, atol=1e-6)
    # a done clip without gated labels (say, extracted with --no-labels) is gated from its saved labels
    gated = out / "CLIP/segment_pseudo_labels/aaaaaaaaaaa.npy"
    expected = np.load(gated)
    gated.unlink()
    (report,) = run_extraction(config_clip_only, teachers[0], None)
    assert (report.extracted, report.skipped_done, report.regated) == (0, 3, 1)
    assert np.array_equal(np.load(gated), expected)


def test_outputs_load_with_the_feature_loader(extracted):
    features = pytest.importorskip("linkpaper.data.features")
    config, _, _ = extracted
    out = config.out
    # the loader needs the R(2+1)D stream (from the HAN release, not a teacher) and a split list
    (out / "splits").mkdir(exist_ok=True)
    (out / "splits/AVVP_train.csv").write_text(
        config.labels.read_text().splitlines(keepends=True)[0] + "aaaaaaaaaaa_0_10\tDog,Speech\n"
    )
    r21d = out / "feats/r2plus1d_18"
    r21d.mkdir(parents=True, exist_ok=True)
    for cid in ["aaaaaaaaaaa"]:
        np.save(r21d / f"{cid}.npy", np.zeros((10, 512), np.float32))
        # the loader's visual stream is ViT-L/14's (10, 768): pad the tiny model's 32-d features
        tiny = np.load(out / "CLIP/features" / f"{cid}.npy")
        np.save(out / "CLIP/features" / f"{cid}.npy", np.pad(tiny, ((0, 0), (0, 768 - 32))))
    split = features.load_split(out, "train", cache=False, progress=False)
    assert split.filenames == ["aaaaaaaaaaa_0_10"]
    assert tuple(split.audio.shape) == (1, 64, 768)
    assert np.array_equal(split.audio[0].numpy(), np.load(out / "CLAP/features/aaaaaaaaaaa.npy"))
    assert np.array_equal(split.pseudo_visual[0].numpy(), np.load(out / "CLIP/segment_pseudo_labels/aaaaaaaaaaa.npy"))
    assert np.array_equal(
        split.pseudo_audio_ungated[0].numpy(), np.load(out / "CLAP/segment_pseudo_labels_ungated/aaaaaaaaaaa.npy")
    )


def test_clap_map_matches_htsat_own_pooling(extracted):
    """The (64, 768) map averaged over its 2 frequency groups is HTS-AT's own time-ordered
    fine-grained embedding (32 steps); averaged over all 64 tokens, HTS-AT's clip embedding."""
    import torch

    from linkpaper.teachers.audio import load_waveform, resample_to_clip

    config, (_, clap_teacher), _ = extracted
    maps = np.load(config.out / "CLAP/features/aaaaaaaaaaa.npy")
    wave = load_waveform(config.audio / "aaaaaaaaaaa_30_40.wav")
    inputs = clap_teacher._audio_inputs([resample_to_clip(wave)])
    batch = {k: torch.stack([d[k] for d in inputs]) for k in inputs[0]}
    with torch.inference_mode():
        out = clap_teacher.module.model.encode_audio(batch, device="cpu")
    fine = out["fine_grained_embedding"][0]  # (32 r, 768): each time step repeated r times
    step = fine.shape[0] // 32
    assert np.allclose(maps.reshape(2, 32, 768).mean(axis=0), fine[::step].numpy(), atol=1e-4)
    assert np.allclose(maps.mean(axis=0), out["embedding"][0].numpy(), atol=1e-4)


def test_clap_logits_are_scale_times_cosine_of_each_one_second_chunk(extracted):
    """Segment 3's logits come from chunk 3 alone (repeat-padded to 10 s), through the projection."""
    from linkpaper.teachers.audio import load_waveform, segment_chunks

    config, (_, clap_teacher), _ = extracted
    logits = np.load(config.out / "CLAP/segment_logits/aaaaaaaaaaa.npy")
    table = np.load(config.out / "text_tables/clap_text.npy")
    assert table.shape == (25, 512) and np.allclose(np.linalg.norm(table, axis=1), 1.0, atol=1e-5)
    chunk3 = segment_chunks(load_waveform(config.audio / "aaaaaaaaaaa_30_40.wav"))[3]
    emb = clap_teacher.module.model.get_audio_embedding(clap_teacher._audio_inputs([chunk3]))[0].numpy()
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(logits[3], clap_teacher.logit_scale * emb @ table.T, atol=1e-3)


def _run_cli(args, env_extra=None, pythonpath_first=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    paths = [str(pythonpath_first)] if pythonpath_first else []
    env["PYTHONPATH"] = os.pathsep.join(paths + [str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "linkpaper", "extract", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def test_cli_without_weights_exits_2_and_says_how_to_get_them(tmp_path):
    pytest.importorskip("open_clip")
    frames_dir, _, label_file = _make_inputs(tmp_path)
    result = _run_cli(["--frames", str(frames_dir), "--out", str(tmp_path / "out"), "--labels", str(label_file)])
    assert result.returncode == 2, result.stderr
    assert "\nerror: cannot load the CLIP ViT-L/14 (OpenAI) weights" in result.stderr  # after open_clip's log line
    assert "--clip-checkpoint PATH" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out/CLIP/features").exists()  # nothing written with random weights


def test_shards_extract_every_clip_exactly_once_into_the_one_layout(extracted, tmp_path):
    """Three shards (a job array of three) on the generated clips: every clip is extracted by
    exactly one of them, the files equal an unsharded run's, each shard has its own manifest.

    Both runs encode one clip per forward pass (``batch_size=1``): a matrix product over a
    different number of images may round differently in the last bit (BLAS picks its blocking
    by size, and the choice differs between CPUs), so only equal batches give equal bits."""
    from linkpaper.teachers.extract import run_extraction

    config, teachers, _ = extracted
    clip_only = {**vars(config), "audio": None, "batch_size": 1}
    (whole,) = run_extraction(type(config)(**{**clip_only, "out": tmp_path / "whole"}), teachers[0], None)
    out = tmp_path / "sharded"
    owner = {}
    for i in range(3):
        (report,) = run_extraction(type(config)(**{**clip_only, "out": out, "shard": (i, 3)}), teachers[0], None)
        assert report.found == report.extracted == report.done and report.missing == 0 and not report.failed
        assert (
            report.summary((i, 3))
            == f"CLIP: {report.found} clips in shard {i}/3: {report.found} done, 0 missing, 0 failed"
        )
        manifest = json.loads((out / f"extract_manifest.shard-{i}-of-3.json").read_text())
        assert manifest["shard"] == [i, 3] and manifest["reports"][0]["extracted"] == report.extracted
        for path in (out / "CLIP/features").glob("*.npy"):
            owner.setdefault(path.stem, i)  # the shard in which its file first appeared
        new = [stem for stem, shard in owner.items() if shard == i]
        assert len(new) == report.extracted  # this shard wrote exactly the clips it reports
    assert sorted(owner) == ["aaaaaaaaaaa", "b-b_bbbbbbb", "ccccccccccc"] and whole.extracted == 3
    files = sorted(p.relative_to(tmp_path / "whole") for p in (tmp_path / "whole/CLIP").rglob("*.npy"))
    assert files == sorted(p.relative_to(out) for p in (out / "CLIP").rglob("*.npy"))
    for rel in files:
        assert np.array_equal(np.load(tmp_path / "whole" / rel), np.load(out / rel))
    assert not (out / "extract_manifest.json").exists()


def test_cli_submits_shards_through_submitit_and_reports_each_job(tmp_path):
    """``--executor slurm --shards 2`` through submitit's LocalExecutor (real subprocesses, the
    SLURM code path without sbatch): both jobs run and, without weights, each says so."""
    pytest.importorskip("open_clip")
    pytest.importorskip("submitit")
    frames_dir, _, label_file = _make_inputs(tmp_path)
    result = _run_cli(
        [
            "--frames",
            str(frames_dir),
            "--out",
            str(tmp_path / "out"),
            "--labels",
            str(label_file),
            "--executor",
            "slurm",
            "--submitit-cluster",
            "local",
            "--shards",
            "2",
            "--time",
            "5",
        ]
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("submitted 2 extraction shards (job array ")
    failed = [line for line in lines if line.startswith("FAILED: ")]
    assert [line.split(" (job ")[0] for line in failed] == ["FAILED: shard 0/2", "FAILED: shard 1/2"]
    assert all(": cannot load the CLIP ViT-L/14 (OpenAI) weights" in line for line in failed)
    assert len(list((tmp_path / "out/submitit").glob("*/*_result.pkl"))) == 2
    assert not (tmp_path / "out/CLIP/features").exists()
