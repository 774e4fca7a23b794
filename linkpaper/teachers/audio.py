"""Audio -> 48 kHz mono waveform, its 10 one-second chunks and the 10-s map input (book/decisions.md#ref-teachers).

* Loading: librosa (any format ffmpeg/soundfile reads, including the LLP ``.mp4``), resampled
  to 48 kHz mono, as VALOR does.
* Pseudo-label chunks: a waveform of N samples is cut into 10 chunks starting at
  ``round(linspace(0, N, 11))[i]``, each ``N // 10`` samples long.
* Feature-map input: the whole clip index-resampled to exactly 480,000 samples (nearest
  index on a linspace), so the map always sees 10 s.
* CLAP quantises every input to int16 and back (done in ``clap_teacher`` with laion_clap's functions).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from linkpaper.classes import NUM_SEGMENTS
from linkpaper.errors import UserError

SAMPLE_RATE = 48_000
CLIP_SAMPLES = 480_000  # 10 s at 48 kHz: CLAP's max_len
AUDIO_SUFFIXES = (".wav", ".flac", ".mp4", ".m4a", ".mp3", ".ogg")


class AudioError(UserError):
    """An audio file that cannot be used; the message names it."""


def load_waveform(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(N,) float32 mono waveform at ``sample_rate`` Hz."""
    import librosa

    try:
        wave, _ = librosa.load(str(path), sr=sample_rate, mono=True)
    except Exception as err:  # librosa raises many kinds; the user needs the file name
        raise AudioError(f"{path}: cannot load the audio ({type(err).__name__}: {err})") from err
    if wave.size < NUM_SEGMENTS:
        raise AudioError(f"{path}: only {wave.size} samples at {sample_rate} Hz; expected a ~10-s clip")
    return wave.astype(np.float32)


def segment_chunks(wave: np.ndarray, count: int = NUM_SEGMENTS) -> np.ndarray:
    """(N,) waveform -> (count, N // count) chunks starting at ``round(linspace(0, N, count + 1))``."""
    n = len(wave)
    starts = np.round(np.linspace(0, n, count + 1)).astype(np.int64)[:count]
    length = n // count
    return np.stack([wave[s : s + length] for s in starts])


def resample_to_clip(wave: np.ndarray, samples: int = CLIP_SAMPLES) -> np.ndarray:
    """(N,) -> (samples,) by nearest-index resampling on ``linspace(0, N - 1, samples)``."""
    index = np.round(np.linspace(0, len(wave) - 1, samples)).astype(np.int64)
    return wave[index]


def find_audio(folder: str | os.PathLike) -> list[Path]:
    """Audio files directly in ``folder`` (by suffix), sorted."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


# --- CLAP's mel front end -------------------------------------------------------------------
# laion_clap computes it with torchaudio, which is not a laion_clap dependency and has no wheel
# for our torch (2.14); this is the same computation in plain torch (checked against torchaudio
# 2.11 MelSpectrogram + AmplitudeToDB and against librosa with htk=True, norm=None).

CLAP_AUDIO_CFG = {
    "sample_rate": 48_000,
    "window_size": 1024,
    "hop_size": 480,
    "mel_bins": 64,
    "fmin": 50,
    "fmax": 14_000,
}
"""HTSAT-tiny's ``audio_cfg`` (laion_clap ``model_configs/HTSAT-tiny.json``); the model's own is used at run time."""


def _hz_to_mel(freq):
    return 2595.0 * np.log10(1.0 + np.asarray(freq, dtype=np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int) -> torch.Tensor:
    """(n_freqs, n_mels) triangular HTK-scale filters, unnormalised (torchaudio ``melscale_fbanks``)."""
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    f_pts = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    f_diff = np.diff(f_pts)
    slopes = f_pts[None, :] - all_freqs[:, None]  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.from_numpy(np.maximum(0.0, np.minimum(down, up))).float()


def clap_log_mel(wave: torch.Tensor, audio_cfg: dict = CLAP_AUDIO_CFG) -> torch.Tensor:
    """(N,) waveform -> (frames, mel_bins) log-mel in dB, as laion_clap's ``get_mel``.

    Power STFT (periodic Hann, centred, reflect padding), HTK mel filters without
    normalisation, then ``10 log10(max(x, 1e-10))``. 480,000 samples -> (1001, 64).
    """
    n_fft, hop = audio_cfg["window_size"], audio_cfg["hop_size"]
    window = torch.hann_window(n_fft, device=wave.device)
    spec = (
        torch.stft(
            wave.float(),
            n_fft,
            hop_length=hop,
            win_length=n_fft,
            window=window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        .abs()
        .pow(2)
    )
    fbank = mel_filterbank(
        n_fft // 2 + 1, audio_cfg["fmin"], audio_cfg["fmax"], audio_cfg["mel_bins"], audio_cfg["sample_rate"]
    ).to(wave.device)
    mel = fbank.T @ spec  # (mel_bins, frames)
    return (10.0 * torch.log10(mel.clamp(min=1e-10))).T


def repeat_pad(wave: np.ndarray, samples: int = CLIP_SAMPLES) -> np.ndarray:
    """laion_clap's ``repeatpad``: tile ``int(samples / N)`` whole copies, then zero-pad to ``samples``."""
    if len(wave) > samples:
        raise AudioError(f"a {len(wave)}-sample segment is longer than CLAP's 10-s window ({samples} samples)")
    tiled = np.tile(wave, samples // len(wave))
    return np.pad(tiled, (0, samples - len(tiled)))
