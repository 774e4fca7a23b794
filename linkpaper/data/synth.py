"""SynthLLP: an LLP-structured synthetic benchmark that runs the whole pipeline offline.

What is real and what is simulated
----------------------------------
* **Labels are LLP's.** Val and test use LLP's real weak labels and real dense audio and
  visual timelines, so SynthLLP's ground truth *is* LLP's ground truth and scores are computed
  on the same 649 / 1,200 videos. Train uses LLP's real weak labels. For every train
  (video, class) it copies the audio row and the visual row of that class from a randomly
  chosen **val** video that has the class among its weak labels ("donor sampling"), so the
  per-class modality split, durations, onsets and audio-visual misalignment follow LLP. Test
  timelines never influence training data.
* **Features are simulated** (``SynthConfig`` documents every knob). Each class has an audio
  prototype (768-d, like pooled CLAP), a visual prototype (768-d, like CLIP) and a 3-D visual
  prototype (512-d, like R(2+1)D), correlated across classes through the LEAP 25 x 300 GloVe
  table when it is present. A segment's audio feature is the amplitude-weighted sum of the
  prototypes of its *audible* classes, its visual features those of its *visible* classes,
  plus a per-video background (partly made of faint distractor classes) and per-segment noise.
  A class that is only visible therefore leaves no trace in the audio, as in LLP.
* **Teachers are simulated the way VALOR makes them** (``book/decisions.md#decision-synth-teachers``).
  The CLIP-like visual teacher scores the model's own visual features: its ungated label for
  (segment, class) is ``100 * cos(visual feature, text_visual[class]) > threshold[class]``
  (strict), from exactly the (10, 768) L2-normalised features written to ``CLIP/features``. The
  CLAP-like audio teacher does the same on a *separate* one-second embedding of the same audible
  events (512-d, the CLAP joint space; ``CLAP/segment_embeddings``), a second view of the audio
  with its own noise. No teacher reads the clean signal. Per-class thresholds are the ones that
  maximise gated cell-level F on the *donor half* of LLP val (never on test, never on the
  selection half). Ungated labels cover all 25 classes; gated labels are AND-ed with the weak
  labels, exactly like the released VALOR files (also for val and test).

Entry points: ``make_synth(preset, seed, data_dir, **knobs) -> AVVPData`` and
``write_valor_layout(data, out_dir)`` (the released VALOR on-disk layout, read back by
``linkpaper.data.features.load_llp``). ``generate`` returns everything, including the train
donor timelines used for the statistics report.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from linkpaper.classes import CLASSES, NUM_CLASSES, NUM_SEGMENTS
from linkpaper.data.annotations import LLP_FILENAME, check_llp_filename, load_annotations, video_id
from linkpaper.data.files import MissingDataError, annotation_path
from linkpaper.data.layout import (
    AUDIO_TEACHER_EMBEDDINGS,
    LABEL_STREAMS,
    SPLIT_CSV,
    SPLITS_DIR,
    TEXT_TABLE_FILES,
    TEXT_TABLES_DIR,
    VALOR_LAYOUT,
    feature_file,
)
from linkpaper.data.split import AVVPData, AVVPSplit
from linkpaper.errors import ConfigError, UserError
from linkpaper.evaluation.inference import is_active
from linkpaper.safe_io import parse_json

SPLITS = ("train", "val", "test")
DONOR_RULES = ("val-half", "val")
AUDIO_DIM, VISUAL_DIM, VISUAL3D_DIM = 768, 768, 512
TEXT_DIM_AUDIO, TEXT_DIM_VISUAL = 512, 768  # CLAP joint space, CLIP ViT-L/14 joint space


@dataclass
class SynthConfig:
    """Every SynthLLP knob, with its meaning. Defaults are the calibrated ``full`` settings.

    Sizes (None = every video of the real split):
      n_train, n_val, n_test: videos per split, drawn without replacement from the real split
        lists with ``subset_seed`` (independent of the generation seed, so two seeds of one
        preset share their video lists).

    Prototypes (one per class and stream, unit norm):
      glove_weight: share of a prototype's variance that comes from the class's GloVe vector
        (projected by a random Gaussian map), the rest is independent noise. 0 = unrelated
        classes; with 0.6 Cello/Violin prototypes have cosine ~0.5, unrelated classes ~0.1.
        Without the GloVe file the prototypes are purely random (recorded in ``source``).

    Features (segment = sum over active classes of amplitude x prototype, + background + noise):
      amplitude_jitter: log-normal sigma of the per-(video, class, modality) event amplitude
        (mean 1): some events are faint.
      segment_jitter: log-normal sigma of the per-segment amplitude of an active event.
      distractor_prob / distractor_level: each (video, class, modality) is, with probability
        distractor_prob, a faint distractor of amplitude distractor_level x |N(0, 1)| present in
        every segment (an unlabelled object in view, a background sound). The teachers see it
        too, so it drives correlated, whole-clip teacher false positives.
      class_noise: std of per-segment coefficients on the 25 prototypes (confusable noise that a
        classifier cannot average away).
      audio_noise / visual_noise / visual3d_noise: norm of the isotropic per-segment noise.
      background: norm of the per-video isotropic background vector (recording conditions).
      visual3d_scale: signal amplitude of the 3-D stream relative to the 2-D one (R(2+1)D is a
        weaker class signal than CLIP).
      normalize_visual: L2-normalise the 2-D visual features per segment, as the released CLIP
        features are.

    Teachers (label = TEACHER_LOGIT_SCALE x cos(embedding, text row) > threshold[class]):
      text_noise: how far the teacher's text embedding of a class is from the class's prototype
        (the image-text / audio-text gap); sets how much correlated classes are confused.
      The visual teacher's embedding is the visual feature itself; the audio teacher's is a
      one-second CLAP-like view of the same audible events (class prototypes mapped to 512-d),
      drawn with the audio stream's own noise knobs (``class_noise``, ``audio_noise``,
      ``background``) but independent draws. Thresholds are not knobs: they are chosen per
      class on the donor half of LLP val (:func:`choose_thresholds`).

    Donors and model selection:
      donors: which LLP val videos lend their timelines to train videos. "val-half" (default):
        LLP val is split once, stratified by class, into a *donor half* and a *selection half*;
        train timelines come from the donor half only, and SynthLLP's ``val`` split (the one that
        chooses the best epoch) is the selection half, so no training timeline is copied from a
        video that selects the model. "val": donors and selection both from all of LLP val, to
        measure what the split changes (``book/decisions.md#decision-synth-donors``).
      donor_fallback: rule for a train (video, class) whose class no val video carries:
        "full_av" (present in both modalities for all 10 s) or "audio" (audio only, 10 s).
        Never triggered with the real LLP files (every class has >= 8 val videos).

    The defaults were calibrated with VALOR++ alone under the paper's recipe (how and with
    which runs: ``results/README.md``, ``results/synth_calibration``).
    """

    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    subset_seed: int = 2024

    glove_weight: float = 0.6

    amplitude_jitter: float = 0.35
    segment_jitter: float = 0.25
    distractor_prob: float = 0.06
    distractor_level: float = 0.35
    class_noise: float = 0.40
    audio_noise: float = 1.0
    visual_noise: float = 1.0
    visual3d_noise: float = 1.0
    background: float = 0.5
    visual3d_scale: float = 0.6
    normalize_visual: bool = True

    text_noise: float = 0.5

    donors: str = "val-half"
    donor_fallback: str = "full_av"

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and value < 0:
                raise ConfigError(f"SynthConfig.{f.name} must be >= 0, got {value}")
        for name in ("n_train", "n_val", "n_test"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"SynthConfig.{name} must be >= 1 or None, got {value}")
        if not 0.0 <= self.glove_weight <= 1.0:
            raise ConfigError(f"SynthConfig.glove_weight must be in [0, 1], got {self.glove_weight}")
        if self.donors not in DONOR_RULES:
            raise ConfigError(f"SynthConfig.donors must be one of {', '.join(DONOR_RULES)}, got {self.donors!r}")
        if self.donor_fallback not in ("full_av", "audio"):
            raise ConfigError(f"SynthConfig.donor_fallback must be 'full_av' or 'audio', got {self.donor_fallback!r}")


PRESETS: dict[str, dict] = {
    "full": {},
    "small": {"n_train": 2000},
    "tiny": {"n_train": 64, "n_val": 32, "n_test": 32},
}
"""Preset name -> SynthConfig size overrides.

* ``full``: LLP sizes, 10,000 / 321 / 1,200 (val: the selection half of LLP's 649 val videos;
  the other half lends train timelines, ``SynthConfig.donors``).
* ``small``: 2,000 train videos (a fixed subset of the real train list) / 321 / 1,200; val and
  test stay LLP's real splits so metrics are comparable with ``full``. For CPU work.
* ``tiny``: 64 / 32 / 32, for unit tests only: val and test are *subsets* of the real splits,
  so its metrics are not comparable with the other presets.
"""


@dataclass
class SynthLLP:
    """Everything one generation produced.

    data: the AVVPData the trainer consumes. train_audio / train_visual: (N_train, T, C) bool
    donor timelines of the train split (the simulated ground truth that LLP does not have; used
    only for statistics). train_donors: (N_train, C) int, the val row each train (video, class)
    was copied from (a row of the full LLP val list; -1 where the class is not a weak label, -2
    where the fallback rule applied). donor_names: the LLP val videos that may lend timelines
    (the donor half, or all of val under ``donors="val"``).
    prototypes: {"audio": (C, 768), "visual": (C, 768), "visual_3d": (C, 512)} class prototypes.
    """

    data: AVVPData
    train_audio: np.ndarray
    train_visual: np.ndarray
    train_donors: np.ndarray
    config: SynthConfig
    prototypes: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    donor_names: list = field(default_factory=list)


def _rng(seed: int, part: str) -> np.random.Generator:
    """An independent, named random stream: same (seed, part) -> same numbers, on any machine."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(part.encode())])))


def _load_glove(data_dir) -> np.ndarray | None:
    """The LEAP (25, 300) GloVe class table, or None when the file is not there."""
    try:
        path = annotation_path("glove", data_dir)
    except MissingDataError:
        return None
    from linkpaper.safe_io import safe_torch_load

    remedy = "Download it again (python -m linkpaper download) or remove it to generate without it."
    table = safe_torch_load(path, what="GloVe class table", remedy=remedy)
    try:
        rows = np.stack([np.asarray(v, dtype=np.float64) for v in table.values()])  # position order
    except (AttributeError, TypeError, ValueError) as err:
        raise UserError(
            f"{path}: not a GloVe class table ({type(err).__name__}: {str(err)[:120]}); "
            f"expected a dict of {NUM_CLASSES} vectors. {remedy}"
        ) from None
    if rows.ndim != 2 or rows.shape[0] != NUM_CLASSES or not np.isfinite(rows).all():
        raise UserError(
            f"{path}: the GloVe class table has shape {rows.shape} (or non-finite values); "
            f"expected {NUM_CLASSES} finite vectors. {remedy}"
        )
    return rows


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def class_prototypes(rng: np.random.Generator, dim: int, glove: np.ndarray | None, weight: float) -> np.ndarray:
    """(C, dim) unit prototypes whose cosines follow GloVe's (scaled by ``weight``) if present."""
    noise = _unit_rows(rng.standard_normal((NUM_CLASSES, dim)))
    if glove is None or weight == 0.0:
        return noise
    projection = rng.standard_normal((glove.shape[1], dim))
    semantic = _unit_rows(_unit_rows(glove) @ projection)
    return _unit_rows(np.sqrt(weight) * semantic + np.sqrt(1.0 - weight) * noise)


def _subset(n_total: int, n_wanted: int | None, seed: int, split: str) -> np.ndarray:
    if n_wanted is None or n_wanted >= n_total:
        return np.arange(n_total)
    return np.sort(_rng(seed, f"subset/{split}").choice(n_total, size=n_wanted, replace=False))


def split_donors_and_selection(weak: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split LLP val into a donor half and a selection half, stratified by class.

    weak: (M, C) weak labels of LLP val. Classes are visited from the rarest to the most common;
    the not-yet-assigned videos carrying the class are shuffled (``seed``) and dealt alternately
    to the half that holds fewer of that class so far, so every class lands in both halves in
    about equal numbers (a class of 2k videos gives k and k). Returns (donor_rows, selection_rows),
    sorted index arrays that partition range(M).
    """
    rng = _rng(seed, "selection-split")
    m = weak.shape[0]
    half = np.full(m, -1, dtype=np.int64)  # 0 = donor, 1 = selection
    present = weak > 0
    for c in np.argsort(present.sum(axis=0), kind="stable"):
        rows = np.flatnonzero(present[:, c] & (half < 0))
        counts = [int((present[:, c] & (half == h)).sum()) for h in (0, 1)]
        for row in rows[rng.permutation(rows.size)]:
            h = 0 if counts[0] <= counts[1] else 1
            half[row] = h
            counts[h] += 1
    rest = np.flatnonzero(half < 0)  # videos without any weak label (none in LLP)
    half[rest] = rng.permutation(rest.size) % 2
    return np.flatnonzero(half == 0), np.flatnonzero(half == 1)


def sample_donor_timelines(
    weak: np.ndarray,
    donor_weak: np.ndarray,
    donor_audio: np.ndarray,
    donor_visual: np.ndarray,
    rng: np.random.Generator,
    fallback: str = "full_av",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train timelines by donor sampling (issue item 1).

    weak: (N, C) train weak labels; donor_*: the val split's weak labels (M, C) and dense GT
    (M, T, C). For every weak (n, c), a donor m is drawn uniformly among the val videos with c
    in their weak labels, and rows ``audio[n, :, c] = donor_audio[m, :, c]`` (same for visual)
    are copied. A donor's weak class may be in neither dense modality (1.1% in LLP): it is
    copied as is. Returns audio, visual (N, T, C) bool and donors (N, C) int.
    """
    n = weak.shape[0]
    audio = np.zeros((n, NUM_SEGMENTS, NUM_CLASSES), dtype=bool)
    visual = np.zeros_like(audio)
    donors = np.full((n, NUM_CLASSES), -1, dtype=np.int64)
    for c in range(NUM_CLASSES):
        rows = np.flatnonzero(weak[:, c] > 0)
        if rows.size == 0:
            continue
        pool = np.flatnonzero(donor_weak[:, c] > 0)
        if pool.size == 0:
            donors[rows, c] = -2
            audio[rows, :, c] = True
            visual[rows, :, c] = fallback == "full_av"
            continue
        chosen = pool[rng.integers(pool.size, size=rows.size)]
        donors[rows, c] = chosen
        audio[rows, :, c] = donor_audio[chosen, :, c]
        visual[rows, :, c] = donor_visual[chosen, :, c]
    return audio, visual, donors


@dataclass
class _World:
    """The per-generation constants shared by all splits: prototypes and the teachers' text tables."""

    proto_audio: np.ndarray  # (C, 768)
    proto_visual: np.ndarray  # (C, 768)
    proto_visual3d: np.ndarray  # (C, 512)
    proto_clap: np.ndarray  # (C, 512) the audio classes in the CLAP-like teacher's joint space
    text_audio: np.ndarray  # (C, 512) CLAP-like teacher text table
    text_visual: np.ndarray  # (C, 768) CLIP-like teacher text table


def _make_world(cfg: SynthConfig, seed: int, glove: np.ndarray | None) -> _World:
    rng = _rng(seed, "prototypes")
    proto_audio = class_prototypes(rng, AUDIO_DIM, glove, cfg.glove_weight)
    proto_visual = class_prototypes(rng, VISUAL_DIM, glove, cfg.glove_weight)
    proto_visual3d = class_prototypes(rng, VISUAL3D_DIM, glove, cfg.glove_weight)
    rng = _rng(seed, "teachers")
    # CLAP's joint space is not the 768-d feature space: a fixed random map takes the audio
    # prototypes there; CLIP's joint space is the visual feature space itself.
    proto_clap = _unit_rows(proto_audio @ rng.standard_normal((AUDIO_DIM, TEXT_DIM_AUDIO)))

    def text_table(key):
        gap = _unit_rows(rng.standard_normal(key.shape))
        return _unit_rows(np.sqrt(1 - cfg.text_noise**2 / 2) * key + cfg.text_noise / np.sqrt(2) * gap)

    return _World(
        proto_audio, proto_visual, proto_visual3d, proto_clap, text_table(proto_clap), text_table(proto_visual)
    )


def _amplitudes(rng, timeline: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """(N, T, C) float32 event amplitudes: timeline x per-(video, class) x per-segment log-normal."""
    n = timeline.shape[0]
    video = np.exp(
        cfg.amplitude_jitter * rng.standard_normal((n, 1, NUM_CLASSES), dtype=np.float32) - cfg.amplitude_jitter**2 / 2
    )
    segment = np.exp(
        cfg.segment_jitter * rng.standard_normal(timeline.shape, dtype=np.float32) - cfg.segment_jitter**2 / 2
    )
    return timeline * video * segment


def _stream(rng, coeff: np.ndarray, proto: np.ndarray, noise: float, background: float, cfg: SynthConfig) -> np.ndarray:
    """(N, T, D) float32 features: class coefficients (N, T, C) @ prototypes + background + noise."""
    n, t, _ = coeff.shape
    d = proto.shape[1]
    coeff = coeff + cfg.class_noise * rng.standard_normal(coeff.shape, dtype=np.float32)
    x = (coeff.reshape(n * t, NUM_CLASSES) @ proto.astype(np.float32)).reshape(n, t, d)
    x += (background / np.sqrt(d)) * rng.standard_normal((n, 1, d), dtype=np.float32)
    x += (noise / np.sqrt(d)) * rng.standard_normal((n, t, d), dtype=np.float32)
    return x


# --------------------------------------------------------------------------------------------
# Teachers: thresholded cosines, as VALOR computes them (book/decisions.md#decision-synth-teachers)

TEACHER_LOGIT_SCALE = 100.0
"""Both simulated teachers score ``100 x cosine`` (CLIP ViT-L/14's logit scale; VALOR's CLIP
thresholds are on this scale)."""


def teacher_logits(embeddings, text_table) -> np.ndarray:
    """``TEACHER_LOGIT_SCALE * cos(embedding, text row)``: (N, T, D) x (C, D) -> (N, T, C) float64.

    Computed in float64 from the float32 arrays, so labels recomputed from the written files
    (``CLIP/features`` or ``CLAP/segment_embeddings`` and ``text_tables/``) match bit for bit.
    """
    e = np.asarray(embeddings, dtype=np.float64)
    t = np.asarray(text_table, dtype=np.float64)
    e = e / np.linalg.norm(e, axis=-1, keepdims=True)
    t = t / np.linalg.norm(t, axis=-1, keepdims=True)
    return TEACHER_LOGIT_SCALE * (e @ t.T)


def teacher_labels(logits: np.ndarray, thresholds) -> np.ndarray:
    """Ungated (N, T, C) bool labels: ``logits > thresholds[class]`` (strict, as VALOR)."""
    return logits > np.asarray(thresholds, dtype=np.float64)


def choose_thresholds(logits: np.ndarray, weak: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per class, the threshold that maximises *gated* cell-level F on a calibration split.

    logits (N, T, C), weak (N, C), gt (N, T, C) bool. The gated label of a cell is
    ``logit > threshold AND weak``; F = 2 TP / (predicted + positive) over the split's (video,
    segment) cells of the class. The threshold is the midpoint between the last cell kept and
    the next (below every cell when all are kept); a class with no positive cell gets the
    largest logit (nothing fires); a class without any weak video gets +inf. Returns (C,) float64.
    """
    thresholds = np.full(NUM_CLASSES, np.inf)
    for c in range(NUM_CLASSES):
        rows = weak[:, c] > 0
        if not rows.any():
            continue
        scores = logits[rows, :, c].ravel()
        hits = gt[rows, :, c].ravel().astype(np.int64)
        positives = int(gt[:, :, c].sum())
        order = np.argsort(-scores, kind="stable")
        ranked, tp = scores[order], np.cumsum(hits[order])
        if positives == 0:
            thresholds[c] = ranked[0]
            continue
        f = 2.0 * tp / (np.arange(1, ranked.size + 1) + positives)
        k = int(np.argmax(f)) + 1  # cells kept
        thresholds[c] = (ranked[k - 1] + ranked[k]) / 2.0 if k < ranked.size else ranked[-1] - 1.0
    return thresholds


@dataclass
class _Views:
    """What one split's videos look like: the model's features and the audio teacher's view."""

    audio: np.ndarray  # (N, T, 768)
    visual: np.ndarray  # (N, T, 768), L2-normalised when cfg.normalize_visual
    visual3d: np.ndarray  # (N, T, 512)
    clap: np.ndarray  # (N, T, 512) L2-normalised one-second CLAP-like embeddings


def _make_views(name: str, audio_tl, visual_tl, world: _World, cfg: SynthConfig, seed: int) -> _Views:
    rng = _rng(seed, f"features/{name}")
    n = audio_tl.shape[0]
    amp_a = _amplitudes(rng, audio_tl, cfg)
    amp_v = _amplitudes(rng, visual_tl, cfg)
    distract_a, distract_v = (
        (rng.random((n, 1, NUM_CLASSES)) < cfg.distractor_prob)
        * (cfg.distractor_level * np.abs(rng.standard_normal((n, 1, NUM_CLASSES), dtype=np.float32)))
        for _ in range(2)
    )
    sig_a, sig_v = amp_a + distract_a, amp_v + distract_v  # what is really there, per class
    audio = _stream(rng, sig_a, world.proto_audio, cfg.audio_noise, cfg.background, cfg)
    visual = _stream(rng, sig_v, world.proto_visual, cfg.visual_noise, cfg.background, cfg)
    if cfg.normalize_visual:
        visual /= np.linalg.norm(visual, axis=2, keepdims=True)
    visual3d = _stream(rng, cfg.visual3d_scale * sig_v, world.proto_visual3d, cfg.visual3d_noise, cfg.background, cfg)
    # the audio teacher's own view of the same audible events: same signal, independent noise
    clap = _stream(_rng(seed, f"clap/{name}"), sig_a, world.proto_clap, cfg.audio_noise, cfg.background, cfg)
    clap /= np.linalg.norm(clap, axis=2, keepdims=True)
    return _Views(audio, visual, visual3d, clap)


def _make_split(
    name: str,
    filenames,
    weak,
    audio_tl,
    visual_tl,
    world: _World,
    thresholds: dict,
    cfg: SynthConfig,
    seed: int,
    gt: bool,
) -> AVVPSplit:
    views = _make_views(name, audio_tl, visual_tl, world, cfg, seed)
    ung_a = teacher_labels(teacher_logits(views.clap, world.text_audio.astype(np.float32)), thresholds["audio"])
    ung_v = teacher_labels(teacher_logits(views.visual, world.text_visual.astype(np.float32)), thresholds["visual"])
    weak_b = (weak > 0)[:, None, :]
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return AVVPSplit(
        name=name,
        filenames=list(filenames),
        audio=torch.from_numpy(views.audio),
        visual=torch.from_numpy(views.visual),
        visual_3d=torch.from_numpy(views.visual3d),
        weak=as_tensor(weak),
        pseudo_audio=as_tensor(ung_a & weak_b),
        pseudo_visual=as_tensor(ung_v & weak_b),
        pseudo_audio_ungated=as_tensor(ung_a),
        pseudo_visual_ungated=as_tensor(ung_v),
        gt_audio=audio_tl.copy() if gt else None,
        gt_visual=visual_tl.copy() if gt else None,
        audio_teacher_embeddings=views.clap,
    )


def calibrate_teachers(weak, audio_tl, visual_tl, world: _World, cfg: SynthConfig, seed: int) -> dict:
    """Per-class thresholds of both teachers, chosen on a calibration split (the donor half of
    LLP val with its real timelines; :func:`choose_thresholds`). Returns {"audio": (C,),
    "visual": (C,)} float64."""
    views = _make_views("calibration", audio_tl, visual_tl, world, cfg, seed)
    logits_a = teacher_logits(views.clap, world.text_audio.astype(np.float32))
    logits_v = teacher_logits(views.visual, world.text_visual.astype(np.float32))
    return {
        "audio": choose_thresholds(logits_a, weak, audio_tl.astype(bool)),
        "visual": choose_thresholds(logits_v, weak, visual_tl.astype(bool)),
    }


def generate(preset: str = "small", seed: int = 0, data_dir=None, **overrides) -> SynthLLP:
    """Generate SynthLLP from the LLP annotation files; see ``make_synth``."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown SynthLLP preset {preset!r}; expected one of {', '.join(PRESETS)}")
    known = {f.name for f in dataclasses.fields(SynthConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown SynthLLP knob(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    cfg = SynthConfig(**{**PRESETS[preset], **overrides})
    cfg.validate()
    timings = {}
    start = time.perf_counter()
    ann = {split: load_annotations(split, data_dir) for split in SPLITS}
    glove = _load_glove(data_dir)
    timings["annotations_s"] = time.perf_counter() - start

    start = time.perf_counter()
    val_full = ann["val"]
    if cfg.donors == "val-half":
        donor_rows, selection_rows = split_donors_and_selection(val_full.weak, cfg.subset_seed)
    else:
        donor_rows = selection_rows = np.arange(len(val_full.filenames))
    candidates = {
        "train": np.arange(len(ann["train"].filenames)),
        "val": selection_rows,
        "test": np.arange(len(ann["test"].filenames)),
    }
    pick = {
        split: candidates[split][_subset(len(candidates[split]), getattr(cfg, f"n_{split}"), cfg.subset_seed, split)]
        for split in SPLITS
    }
    train_weak = ann["train"].weak[pick["train"]]
    train_audio, train_visual, donor_choice = sample_donor_timelines(
        train_weak,
        val_full.weak[donor_rows],
        val_full.gt_audio[donor_rows],
        val_full.gt_visual[donor_rows],
        _rng(seed, "donors"),
        cfg.donor_fallback,
    )
    donors = np.where(donor_choice >= 0, donor_rows[np.maximum(donor_choice, 0)], donor_choice)
    world = _make_world(cfg, seed, glove)
    thresholds = calibrate_teachers(
        val_full.weak[donor_rows], val_full.gt_audio[donor_rows], val_full.gt_visual[donor_rows], world, cfg, seed
    )
    splits = {}
    for split in SPLITS:
        idx = pick[split]
        names = [ann[split].filenames[i] for i in idx]
        if split == "train":
            tl_a, tl_v = train_audio, train_visual
        else:
            tl_a, tl_v = ann[split].gt_audio[idx], ann[split].gt_visual[idx]
        splits[split] = _make_split(
            split, names, ann[split].weak[idx], tl_a, tl_v, world, thresholds, cfg, seed, gt=split != "train"
        )
    timings["generate_s"] = time.perf_counter() - start

    data = AVVPData(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        text_audio=torch.from_numpy(world.text_audio.astype(np.float32)),
        text_visual=torch.from_numpy(world.text_visual.astype(np.float32)),
        text_source="synthllp-teacher",
        source={
            "kind": "synth",
            "preset": preset,
            "seed": int(seed),
            "glove": glove is not None,
            "sizes": {split: len(splits[split]) for split in SPLITS},
            "donors": {
                "rule": cfg.donors,
                "val_videos": int(len(donor_rows)),
                "selection_videos": int(len(selection_rows)),
            },
            "config": dataclasses.asdict(cfg),
            "teachers": {
                "rule": "max gated cell F on the donor half of LLP val",
                "logit_scale": TEACHER_LOGIT_SCALE,
                "thresholds": {m: [float(x) for x in t] for m, t in thresholds.items()},
            },
        },
    )
    prototypes = {"audio": world.proto_audio, "visual": world.proto_visual, "visual_3d": world.proto_visual3d}
    return SynthLLP(
        data,
        train_audio,
        train_visual,
        donors,
        cfg,
        prototypes,
        timings,
        donor_names=[val_full.filenames[i] for i in donor_rows],
    )


def make_synth(preset: str = "small", seed: int = 0, data_dir=None, *, return_timelines: bool = False, **overrides):
    """SynthLLP as an ``AVVPData`` the trainer consumes directly.

    preset: "full" (10,000 / 321 / 1,200), "small" (2,000 / 321 / 1,200) or "tiny"
    (64 / 32 / 32, val/test subsampled; unit tests only). seed: generation seed; the same seed
    gives bit-identical arrays. data_dir: where the LLP annotation files are (default
    ``$LINKPAPER_DATA``); missing files raise ``MissingDataError`` saying how to fetch them.
    overrides: any ``SynthConfig`` knob. Shapes: audio (N, 10, 768) pooled, visual (N, 10, 768),
    visual_3d (N, 10, 512), pseudo labels (N, 10, 25); val/test carry the real dense GT.
    With ``return_timelines=True`` returns the full ``SynthLLP`` (data + train donor timelines).
    """
    result = generate(preset, seed, data_dir, **overrides)
    return result if return_timelines else result.data


# --------------------------------------------------------------------------------------------
# Reports


def train_statistics(result: SynthLLP) -> dict:
    """``label_statistics`` of the generated train split (donor timelines + real weak labels)."""
    from linkpaper.data.stats import label_statistics

    return label_statistics(result.train_audio, result.train_visual, result.data.train.weak.numpy())


def real_statistics(data_dir=None) -> dict:
    """``label_statistics`` of the real LLP val+test dense ground truth (book/decisions.md#llp-statistics)."""
    from linkpaper.data.stats import label_statistics

    val, test = load_annotations("val", data_dir), load_annotations("test", data_dir)
    return label_statistics(
        np.concatenate([val.gt_audio, test.gt_audio]),
        np.concatenate([val.gt_visual, test.gt_visual]),
        np.concatenate([val.weak, test.weak]),
    )


def _pair_codes(audio: np.ndarray, visual: np.ndarray) -> np.ndarray:
    """(N, T, C) bool audio and visual timelines -> (N, C) codes of each (audio row, visual row):
    the metric's row codes of the 2T-segment row that puts the visual row after the audio one."""
    from linkpaper.evaluation.metrics import row_codes

    return row_codes(np.concatenate([audio, visual], axis=1))


def timeline_overlap(result: SynthLLP) -> dict:
    """How many train (video, class) timelines equal a timeline of the selection set or of test.

    A train row is the pair (audio row, visual row) of one weak class of one train video; it
    "equals" a split's row when some video of that split carries the class among its weak labels
    with exactly the same two rows. Returns ``{"rows": n, "selection": share, "test": share}``
    (shares in [0, 1]). Under ``donors="val"`` every train row is copied from a selection video,
    so the selection share is 1; with the donor half it should be no higher than the test share.
    """
    data = result.data
    weak_rows = result.train_donors != -1  # (N, C): the weak classes of train videos
    train_codes = _pair_codes(result.train_audio, result.train_visual)
    shares = {}
    for name, split in (("selection", data.val), ("test", data.test)):
        codes = _pair_codes(split.gt_audio.astype(bool), split.gt_visual.astype(bool))
        carried = split.weak.numpy() > 0
        hits = 0
        for c in range(NUM_CLASSES):
            known = np.unique(codes[carried[:, c], c])
            hits += int(np.isin(train_codes[weak_rows[:, c], c], known).sum())
        shares[name] = hits / max(int(weak_rows.sum()), 1)
    return {"rows": int(weak_rows.sum()), **shares}


def _prf(pred: np.ndarray, gt: np.ndarray) -> dict:
    from linkpaper.evaluation.metrics import precision_recall_f

    return precision_recall_f((pred & gt).sum(), (pred & ~gt).sum(), (~pred & gt).sum())


def teacher_quality(data: AVVPData, splits=("val", "test")) -> dict:
    """Segment-level (cell) precision / recall / F of each teacher against the dense GT.

    Returns ``{"audio": {"gated": {...}, "ungated": {...}}, "visual": {...}}`` pooled over the
    (video, segment, class) cells of ``splits`` (those with GT). Audio labels are compared with
    the audio GT, visual labels with the visual GT.
    """
    result = {}
    for modality in ("audio", "visual"):
        gt = np.concatenate([getattr(getattr(data, s), f"gt_{modality}") for s in splits])
        result[modality] = {}
        for kind, suffix in (("gated", ""), ("ungated", "_ungated")):
            parts = [getattr(getattr(data, s), f"pseudo_{modality}{suffix}") for s in splits]
            if any(p is None for p in parts):
                continue
            pred = np.concatenate([is_active(p.numpy()) for p in parts])
            result[modality][kind] = _prf(pred, gt)
    return result


def teacher_report(data: AVVPData, splits=("val", "test")) -> dict:
    """Everything the book reports about a generation's teachers, pooled over ``splits``.

    Returns ``{"cells": teacher_quality(...), "videos": {modality: P/R/F of the gated labels at
    video level (a class is labelled when any segment is) against "audible anywhere" /
    "visible anywhere"}, "weak_visible": share of (video, weak label) pairs visible at all
    (the ceiling the visual gate cannot beat), "weak_audible": the same for audio,
    "as_predictions": the ten official scores (``metrics.SCORE_COLUMNS`` order) of the gated
    labels used as predictions (frames = gated labels, video = weak labels)}``.
    """
    from linkpaper.evaluation.metrics import evaluate_probs

    parts = [getattr(data, s) for s in splits]
    weak = np.concatenate([p.weak.numpy() > 0 for p in parts])
    gt = {m: np.concatenate([getattr(p, f"gt_{m}") for p in parts]).astype(bool) for m in ("audio", "visual")}
    gated = {
        m: np.concatenate([is_active(getattr(p, f"pseudo_{m}").numpy()) for p in parts]) for m in ("audio", "visual")
    }
    videos = {m: _prf(gated[m].any(axis=1), gt[m].any(axis=1)) for m in ("audio", "visual")}
    frame_prob = np.stack([gated["audio"], gated["visual"]], axis=2).astype(np.float32)
    scores = evaluate_probs(frame_prob, weak.astype(np.float32), gt["audio"], gt["visual"])
    return {
        "splits": list(splits),
        "cells": teacher_quality(data, splits),
        "videos": videos,
        "weak_visible": float(gt["visual"].any(axis=1)[weak].mean()),
        "weak_audible": float(gt["audio"].any(axis=1)[weak].mean()),
        "as_predictions": [float(x) for x in scores.row()],
    }


def format_teacher_quality(quality: dict) -> str:
    lines = [f"{'teacher':<18} {'labels':<9} {'P':>6} {'R':>6} {'F':>6}"]
    for modality, name in (("audio", "audio (CLAP-like)"), ("visual", "visual (CLIP-like)")):
        for kind, prf in quality[modality].items():
            lines.append(f"{name:<18} {kind:<9} {prf['precision']:>6.3f} {prf['recall']:>6.3f} {prf['f']:>6.3f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The released VALOR layout on disk

STREAMS = {
    **{
        stream: (folder, np.int64 if stream in LABEL_STREAMS else np.float32) for stream, folder in VALOR_LAYOUT.items()
    },
    "audio_teacher_embeddings": (AUDIO_TEACHER_EMBEDDINGS, np.float32),
}
"""AVVPSplit field -> (folder under the output root, dtype of the per-video .npy)."""


def _as_numpy(value) -> np.ndarray | None:
    return value.numpy() if isinstance(value, torch.Tensor) else value


PROVENANCE_FILE = "synthllp.json"
PARTIAL_FILE = "synthllp.partial.json"
"""Written first (the generation being written), replaced by ``synthllp.json`` when complete."""
TMP_SUFFIX = ".synthllp-tmp"
"""Temporary files of this writer end so; it never touches any other file name (a user's
``*.tmp.npy`` stays)."""


class SynthFolderError(UserError):
    """``--out`` holds something ``synth`` must not mix with or overwrite; the message says what."""


def _npy_size(shape, dtype) -> int:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(shape, dtype=dtype))
    return buffer.tell()


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + TMP_SUFFIX)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + TMP_SUFFIX)
    with open(tmp, "wb") as handle:  # a handle: np.save would append ".npy" to the name
        np.save(handle, array)
    os.replace(tmp, path)


def generation_identity(data: AVVPData) -> dict:
    """What identifies one generation on disk: its provenance plus a fingerprint of the arrays
    (file names, the first and last video of every stream, the text tables), so two generations
    that differ only through the code are told apart too."""
    import hashlib

    digest = hashlib.sha256()
    for split_name in SPLITS:
        split = getattr(data, split_name)
        digest.update("\n".join(split.filenames).encode())
        for field_name, (_, dtype) in STREAMS.items():
            array = _as_numpy(getattr(split, field_name))
            if array is not None and len(array):
                for row in (0, len(array) - 1):
                    digest.update(array[row].astype(dtype).tobytes())
    for table in (data.text_audio, data.text_visual):
        if table is not None:
            digest.update(table.numpy().astype(np.float32).tobytes())
    provenance = {
        **data.source,
        "text_source": data.text_source,
        "layout": "valor",
        "audio_form": "pooled",
        "fingerprint": digest.hexdigest()[:32],
    }
    return json.loads(json.dumps(provenance, sort_keys=True))


def _describe_generation(identity: dict) -> str:
    return f"SynthLLP preset={identity.get('preset')} seed={identity.get('seed')}"


def _read_marker(path: Path) -> dict:
    try:
        value = parse_json(path.read_bytes().decode("utf-8"))
        if isinstance(value, dict):
            return value
    except (OSError, ValueError):
        pass
    return {"unreadable": str(path)}


def check_synth_out(out) -> bool:
    """Whether ``out`` already holds a SynthLLP folder (False: absent or empty). Raises
    SynthFolderError when it is a file or a non-empty folder ``synth`` did not write."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SynthFolderError(f"--out {out}: is a file, not a folder; choose another --out")
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if not entries:
        return False
    if not (out / PROVENANCE_FILE).exists() and not (out / PARTIAL_FILE).exists():
        raise SynthFolderError(
            f"--out {out}: the folder is not empty ({', '.join(entries[:4])}{', ...' if len(entries) > 4 else ''}) "
            f"and has no {PROVENANCE_FILE}, so synth did not write it; it never writes into or deletes "
            "such files. Choose an empty or new --out folder"
        )
    return True


def _prepare_out(out: Path, identity: dict, overwrite: bool) -> tuple[bool, set[str]]:
    """Check ``out`` before writing. Returns (trust_existing, ids_of_another_generation).

    trust_existing: files already there belong to this generation (an interrupted write of the
    same data), so one of the expected size is kept. ids_of_another_generation: with
    ``overwrite``, the per-video ids the replaced generation wrote (from its split lists).
    """
    if not check_synth_out(out):
        return True, set()
    complete, partial = out / PROVENANCE_FILE, out / PARTIAL_FILE
    marker = _read_marker(partial if partial.exists() else complete)
    previous = marker.get("identity", marker) if partial.exists() else marker
    listed: set[str] = set()  # the videos the split lists (written by synth) name
    for csv in SPLIT_CSV.values():
        try:
            lines = (out / SPLITS_DIR / csv).read_text(encoding="utf-8").splitlines()[1:]
        except OSError:
            continue
        names = (line.split("\t", 1)[0].strip() for line in lines)
        # only names of the LLP form can be files synth wrote; anything else (``../../x``) is ignored,
        # so an edited split list never makes --overwrite delete a file outside --out
        listed.update(name[:11] for name in names if LLP_FILENAME.fullmatch(name))
    if previous == identity:
        return bool(marker.get("trust_existing", True)) if partial.exists() else True, listed
    if not overwrite:
        same = (
            "same preset and seed, but other generation settings or code"
            if {k: previous.get(k) for k in ("preset", "seed")} == {k: identity.get(k) for k in ("preset", "seed")}
            else _describe_generation(previous)
        )
        state = "an unfinished write of" if partial.exists() else ""
        raise SynthFolderError(
            f"--out {out}: holds {state + ' ' if state else ''}another SynthLLP generation ({same}); writing "
            f"{_describe_generation(identity)} there would mix the two. Pass --overwrite to replace it, "
            "or choose a new --out folder"
        )
    return False, listed


def precheck_out(out, preset: str, seed: int, overwrite: bool) -> None:
    """Before generating: refuse an ``out`` whose complete generation has another preset, seed or
    settings than (``preset``, ``seed``) unless ``overwrite`` (the same refusal as
    :func:`write_valor_layout`, minutes earlier). An unreadable or unfinished marker is left to it."""
    out = Path(out)
    if overwrite or not check_synth_out(out) or (out / PARTIAL_FILE).exists():
        return
    previous = _read_marker(out / PROVENANCE_FILE)
    wanted = json.loads(
        json.dumps(
            {"preset": preset, "seed": int(seed), "config": dataclasses.asdict(SynthConfig(**PRESETS[preset]))},
            sort_keys=True,
        )
    )
    if "unreadable" in previous or {k: previous.get(k) for k in wanted} == wanted:
        return
    raise SynthFolderError(
        f"--out {out}: holds another SynthLLP generation ({_describe_generation(previous)}); writing "
        f"{_describe_generation(wanted)} there would mix the two. Pass --overwrite to replace it, "
        "or choose a new --out folder"
    )


def write_valor_layout(data: AVVPData, out_dir, progress: bool = True, overwrite: bool = False) -> dict:
    """Write ``data`` in the released VALOR on-disk layout (``book/decisions.md#ref-feature-layout``).

    Per video ``<id11>.npy``: CLAP/features (10, 768) f32 (pooled), CLIP/features (10, 768) f32,
    feats/r2plus1d_18 (10, 512) f32, CLAP|CLIP/segment_pseudo_labels (10, 25) int64 (gated),
    CLAP|CLIP/segment_pseudo_labels_ungated (10, 25) int64, CLAP/segment_embeddings (10, 512) f32
    (the audio teacher's own view); plus text_tables/clap_text.npy,
    text_tables/clip_text.npy, splits/AVVP_{train,val_pd,test_pd}.csv (TAB, ``filename<TAB>
    event_labels``) and ``synthllp.json`` (provenance with a fingerprint of the arrays; a copy in
    ``text_tables/``, so a folder whose ``synthllp.json`` was removed is still known as synthetic).

    Safe to re-run: ``synthllp.partial.json`` names the generation being written until
    ``synthllp.json`` replaces it at the end. The same generation again resumes an interrupted
    write (a file of the exact expected size is kept); another generation (other preset, seed,
    knobs or code) is refused unless ``overwrite``, which rewrites every file and removes the
    per-video files of the replaced generation that the new one lacks. A non-empty folder without
    these markers is refused. Only files this writer names are ever written or deleted; each is
    written to ``<name>.synthllp-tmp`` and renamed. Returns {"written", "skipped", "seconds"}.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    start = time.perf_counter()
    for split_name in SPLITS:  # every name becomes a file name under --out: checked before any write
        for filename in getattr(data, split_name).filenames:
            check_llp_filename(filename, f"SynthLLP {split_name} split")
    identity = generation_identity(data)
    trust_existing, old_ids = _prepare_out(out, identity, overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(
            out / PARTIAL_FILE,
            json.dumps({"identity": identity, "trust_existing": trust_existing}, indent=1, sort_keys=True) + "\n",
        )
    except OSError as err:
        raise SynthFolderError(
            f"--out {out}: cannot write there ({err.strerror or err}); choose a writable folder"
        ) from None
    marker = out / PROVENANCE_FILE
    if marker.exists():
        marker.unlink()  # incomplete until rewritten at the end
    for folder, _ in STREAMS.values():
        (out / folder).mkdir(parents=True, exist_ok=True)
        for leftover in (out / folder).glob(f"*{TMP_SUFFIX}"):  # ours, from an interrupted write
            leftover.unlink()
    (out / TEXT_TABLES_DIR).mkdir(parents=True, exist_ok=True)
    (out / SPLITS_DIR).mkdir(parents=True, exist_ok=True)
    new_ids = {video_id(name) for split_name in SPLITS for name in getattr(data, split_name).filenames}
    for vid in sorted(old_ids - new_ids):  # the replaced generation's videos that this one lacks
        for folder, _ in STREAMS.values():
            (out / folder / feature_file(vid)).unlink(missing_ok=True)
    written = skipped = 0
    total = sum(len(getattr(data, s)) for s in SPLITS)
    bar = tqdm(total=total, desc=f"writing {out}", unit="video", disable=not progress)
    for split_name in SPLITS:
        split = getattr(data, split_name)
        arrays = {}
        for field_name, (folder, dtype) in STREAMS.items():
            array = _as_numpy(getattr(split, field_name))
            if array is not None:
                arrays[field_name] = (folder, array.astype(dtype, copy=False))
        sizes = {k: _npy_size(a.shape[1:], a.dtype) for k, (_, a) in arrays.items()}
        for i, filename in enumerate(split.filenames):
            vid = video_id(filename)
            for key, (folder, array) in arrays.items():
                path = out / folder / feature_file(vid)
                if trust_existing:
                    try:
                        if path.stat().st_size == sizes[key]:
                            skipped += 1
                            continue
                    except FileNotFoundError:
                        pass
                _atomic_save_npy(path, array[i])
                written += 1
            bar.update(1)
        weak = split.weak.numpy() > 0
        rows = ["filename\tevent_labels"]
        for filename, labels in zip(split.filenames, weak):
            rows.append(filename + "\t" + ",".join(CLASSES[c] for c in np.flatnonzero(labels)))
        _atomic_write_text(out / SPLITS_DIR / SPLIT_CSV[split_name], "\n".join(rows) + "\n")
    bar.close()
    for name, table in ((TEXT_TABLE_FILES["audio"], data.text_audio), (TEXT_TABLE_FILES["visual"], data.text_visual)):
        if table is not None:
            _atomic_save_npy(out / name, table.numpy().astype(np.float32))
    seconds = time.perf_counter() - start
    _atomic_write_text(out / TEXT_TABLES_DIR / PROVENANCE_FILE, json.dumps(identity, indent=1, sort_keys=True) + "\n")
    _atomic_write_text(marker, json.dumps(identity, indent=1, sort_keys=True) + "\n")
    (out / PARTIAL_FILE).unlink()
    return {"written": written, "skipped": skipped, "seconds": seconds}
