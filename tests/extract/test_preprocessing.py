"""Frame sampling, the CLIP image transform, audio chunks, CLAP's mel front end, the HTS-AT map
regrouping and the pseudo-label rule (book/decisions.md#ref-teachers). Light: runs in the main venv
too (librosa-based checks skip there)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import write_frames

from linkpaper.classes import CLAP_THRESHOLDS, CLIP_THRESHOLDS
from linkpaper.teachers import audio, frames, labels


def test_frame_indices_match_the_reference():
    assert frames.frame_indices(80).tolist() == [0, 9, 18, 26, 35, 44, 53, 61, 70, 79]
    assert frames.frame_indices(82).tolist() == [0, 9, 18, 27, 36, 45, 54, 63, 72, 81]
    assert frames.frame_indices(1).tolist() == [0] * 10
    assert frames.frame_indices(5).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # halves round to even


@pytest.mark.parametrize("count", [80, 82])
def test_load_clip_frames_picks_the_indexed_frames_and_squashes(tmp_path, count):
    pytest.importorskip("PIL")
    folder = write_frames(tmp_path / "clip", count, size=(40, 30))
    images, indices = frames.load_clip_frames(folder, size=32)
    assert images.shape == (10, 3, 32, 32) and images.dtype == torch.float32
    assert indices.tolist() == frames.frame_indices(count).tolist()
    # frame i has red = 3 i everywhere: undo the normalisation and read the index back
    red = images[:, 0] * frames.CLIP_STD[0] + frames.CLIP_MEAN[0]
    recovered = (red.mean(dim=(1, 2)) * 255 / 3).round().long()
    assert recovered.tolist() == indices.tolist()


def test_llp_demo_frames_when_present():
    """The LLP demo clip (82 frames at 8 fps, from $LINKPAPER_DATA; never committed)."""
    pytest.importorskip("PIL")
    from linkpaper.data.files import resolve_data_dir

    folder = resolve_data_dir() / "llp" / "demo_frames" / "BjCEufrlXm4"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    assert len(frames.list_frames(folder)) == 82
    images, indices = frames.load_clip_frames(folder)
    assert images.shape == (10, 3, 224, 224) and torch.isfinite(images).all()
    assert indices.tolist() == [0, 9, 18, 27, 36, 45, 54, 63, 72, 81]


def test_to_clip_tensor_squashes_the_whole_frame_and_normalises():
    Image = pytest.importorskip("PIL.Image")

    pixels = np.zeros((20, 60, 3), np.uint8)
    pixels[:, :30] = (255, 0, 0)  # left half red, right half black: a centre crop would lose the split
    tensor = frames.to_clip_tensor(Image.fromarray(pixels), size=8)
    assert tensor.shape == (3, 8, 8)
    red = tensor[0] * frames.CLIP_STD[0] + frames.CLIP_MEAN[0]
    assert torch.allclose(red[:, :4], torch.ones(8, 4), atol=1e-6)
    assert torch.allclose(red[:, 4:], torch.zeros(8, 4), atol=1e-6)
    green = tensor[1, 0, 0].item()
    assert green == pytest.approx((0 - frames.CLIP_MEAN[1]) / frames.CLIP_STD[1], abs=1e-6)


def test_empty_frame_folder_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(frames.FrameError, match=r"empty: no frame images"):
        frames.list_frames(tmp_path / "empty")


def test_segment_chunks_follow_the_reference_starts():
    wave = np.arange(480_000, dtype=np.float32)
    chunks = audio.segment_chunks(wave)
    assert chunks.shape == (10, 48_000)
    assert chunks[:, 0].tolist() == [48_000 * i for i in range(10)]
    odd = np.arange(480_007, dtype=np.float32)
    chunks = audio.segment_chunks(odd)
    starts = np.round(np.linspace(0, 480_007, 11)).astype(int)[:10]
    assert chunks.shape == (10, 48_000) and chunks[:, 0].tolist() == starts.tolist()


def test_resample_and_repeat_pad():
    wave = np.arange(1000, dtype=np.float32)
    clip = audio.resample_to_clip(wave, 4000)
    assert clip.shape == (4000,) and clip[0] == 0 and clip[-1] == 999
    assert np.all(np.diff(clip) >= 0)
    padded = audio.repeat_pad(np.arange(1, 301, dtype=np.float32), 1000)  # 3 whole copies + 100 zeros
    assert padded.shape == (1000,)
    assert np.array_equal(padded[:900], np.tile(np.arange(1, 301), 3)) and not padded[900:].any()
    with pytest.raises(audio.AudioError, match="longer than CLAP's 10-s window"):
        audio.repeat_pad(np.ones(1001, np.float32), 1000)


def test_clap_log_mel_matches_librosa_htk():
    librosa = pytest.importorskip("librosa")
    cfg = audio.CLAP_AUDIO_CFG
    wave = np.random.default_rng(0).standard_normal(48_000).astype(np.float32) * 0.1
    ours = audio.clap_log_mel(torch.from_numpy(wave)).numpy()
    power = librosa.feature.melspectrogram(
        y=wave,
        sr=cfg["sample_rate"],
        n_fft=cfg["window_size"],
        hop_length=cfg["hop_size"],
        win_length=cfg["window_size"],
        center=True,
        pad_mode="reflect",
        power=2.0,
        n_mels=cfg["mel_bins"],
        fmin=cfg["fmin"],
        fmax=cfg["fmax"],
        htk=True,
        norm=None,
    )
    reference = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None).T
    assert ours.shape == (101, 64) == reference.shape
    assert np.abs(ours - reference).max() < 1e-3  # dB


def test_regroup_htsat_tokens_orders_frequency_groups_then_time():
    from linkpaper.teachers.clap_teacher import regroup_htsat_tokens

    tokens = torch.arange(64, dtype=torch.float32).view(1, 64, 1).expand(2, 64, 3)  # value = Swin token index
    out = regroup_htsat_tokens(tokens)
    assert out.shape == (2, 64, 3)
    # output token g*32 + chunk*8 + t comes from grid row F = chunk*2 + g, column t (row-major)
    expected = [(chunk * 2 + g) * 8 + t for g in range(2) for chunk in range(4) for t in range(8)]
    assert out[0, :, 0].long().tolist() == expected
    assert torch.equal(out[1], out[0])


def test_threshold_is_strict_and_per_class():
    for name, thresholds in (("CLIP", CLIP_THRESHOLDS), ("CLAP", CLAP_THRESHOLDS)):
        thr = np.asarray(thresholds, dtype=np.float32)
        assert np.array_equal(labels.THRESHOLDS[name], thr)
        logits = np.stack([thr - 0.01, thr, thr + 0.01] + [thr] * 7)  # (10, 25)
        ungated = labels.ungated_labels(logits, labels.THRESHOLDS[name])
        assert ungated.dtype == np.int64 and ungated.shape == (10, 25)
        assert ungated[0].sum() == 0 and ungated[1].sum() == 0  # equal is not enough
        assert ungated[2].sum() == 25 and ungated[3:].sum() == 0


def test_gated_is_ungated_and_weak():
    rng = np.random.default_rng(0)
    logits = rng.normal(15, 5, size=(10, 25))
    weak = (rng.random(25) < 0.3).astype(np.float32)
    ungated, gated = labels.pseudo_labels(logits, labels.THRESHOLDS["CLIP"], weak)
    assert gated.dtype == np.int64
    assert np.array_equal(gated, ungated * weak[None, :].astype(np.int64))
    assert gated[:, weak == 0].sum() == 0 and 0 < gated.sum() < ungated.sum()
    assert labels.pseudo_labels(logits, labels.THRESHOLDS["CLIP"])[1] is None
    with pytest.raises(ValueError, match=r"\(\.\.\., 25\)"):
        labels.ungated_labels(np.zeros((10, 24)), labels.THRESHOLDS["CLIP"])


def test_find_clips_keys_on_the_11_char_id_and_refuses_clashes(tmp_path):
    from linkpaper.errors import UserError
    from linkpaper.teachers.extract import find_clips

    (tmp_path / "frames/aaaaaaaaaaa_30_40").mkdir(parents=True)
    (tmp_path / "frames/bbbbbbbbbbb").mkdir()
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio/aaaaaaaaaaa_30_40.flac").write_bytes(b"")
    (tmp_path / "audio/notes.txt").write_text("not audio")
    clips = find_clips(tmp_path / "frames", tmp_path / "audio")
    assert list(clips) == ["aaaaaaaaaaa", "bbbbbbbbbbb"]
    assert clips["aaaaaaaaaaa"].audio.name == "aaaaaaaaaaa_30_40.flac" and clips["bbbbbbbbbbb"].audio is None
    (tmp_path / "frames/aaaaaaaaaaa_0_10").mkdir()
    with pytest.raises(UserError, match=r"aaaaaaaaaaa_0_10 and .*aaaaaaaaaaa_30_40 give the same clip id"):
        find_clips(tmp_path / "frames", None)
    with pytest.raises(UserError, match=r"--audio .*nowhere: not a directory"):
        find_clips(None, tmp_path / "nowhere")
